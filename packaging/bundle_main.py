"""The desktop bundle's `plait`: the window with no command, the command line with one.

The local executor starts its worker processes with multiprocessing's spawn,
which in a frozen program runs this same executable again with
`--multiprocessing-fork` (and with `-c` for spawn's resource tracker).
`freeze_support()` takes those runs over before anything reads the arguments,
and before the command line's own imports, so a worker starts quickly.
"""

import multiprocessing

if __name__ == "__main__":
    multiprocessing.freeze_support()

    from plait.app.cli import entry

    entry()

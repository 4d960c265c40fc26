"""The open flow's objects are set aside from Python's garbage collector.

A full collection walks every object the process holds: with a 5,000-node flow
open that is about 45 ms on the GUI thread, and it comes back whenever enough
new objects have piled up (a run's log lines, a history refresh), a stall in
the middle of whatever the person is doing. The objects a flow's opening made
live until another flow replaces it, so once it is shown they are frozen out
of the collector's walks (`gc.freeze`). Opening the next flow thaws them and
collects once, which frees the old flow's cycles at a moment the person chose.
"""

from __future__ import annotations

import gc

SETTLE_AFTER_MS = 300  # after the opened flow's first frames


def settle() -> None:
    """Collect what the last flow left behind, then freeze everything alive now."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()

"""Plait: a desktop workflow designer for Python data work.

This folder is the `plait` import package itself (its `__init__` only); the layers map into it
(app/ as `plait.app`, widgets/ as `plait.widgets`, runtime/ as
`plait.runtime`, resources/ as `plait.resources`; see pyproject.toml).
`__version__` is the one place Plait's version is written: the package
metadata and `plait --version` both read it.
"""

__version__ = "0.1.0"

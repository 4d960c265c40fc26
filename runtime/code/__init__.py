"""Flows in code: `@flow` builds a flow by tracing a function's calls, `load` reads results.

`tracing` turns a flow function's body into a `Flow`; `sources` saves the node
functions a script or notebook defines into a library file of the workspace;
`layout` places the traced nodes; `runs` runs a flow from Python (also inside
Jupyter's running event loop) and shows its progress and logs; `flows` is the
`@flow` decorator; `results` is `load()`. It sits above the engine, beside
schedules and export.
"""

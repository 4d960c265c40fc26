"""The workspace: a folder with its SQLite store, and what is kept there.

`store` (Workspace: flows and their immutable versions, settings), `sqlite`
and `migrations` (the connection and numbered schema changes), `records`
(the run recorder: runs, node runs and logs written in batches),
`documents` (flows as JSON files) and `examples` (the shipped examples).
"""

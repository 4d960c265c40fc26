"""The workspace: a folder with its SQLite store, and what is kept there.

`store` (Workspace: flows and their immutable versions, settings), `sqlite`
and `migrations` (the connection and numbered schema changes), `records`
(the run history: runs, node runs and logs, written and read), `catalog`
(the workspace's node types with its flows as subflows), `documents`
(flows as JSON files) and `examples` (the shipped examples).
"""

"""The workspace: a folder with its SQLite store, and what is kept there.

`store` (Workspace: the connection, flows and their immutable versions,
settings), `sqlite` (sqlite-utils, imported without the data libraries it
would drag in), `migrations` (numbered schema changes), `trust` (which
folders' code the window may run), `history`
(the run history: runs, node runs, logs, cache entries and schedules, the one
place their SQL lives), `catalog`
(the workspace's node types with its flows as subflows), `documents`
(flows as JSON files) and `examples` (the shipped examples).
"""

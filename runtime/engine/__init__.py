"""Running a flow: plan, schedule, execute, and the events a run sends.

`plan` (what a run covers, how each cache key is made, and what the cache
will answer), `explain` (why each node of the next run is reused or runs),
`scheduler` (Engine and Run: nodes start as their inputs are ready and are
keyed as their inputs' values become known), `events`, `recorder` (the
subscriber that writes a run to the history), the node runners for mapped
nodes and subflows (`mapping`, `subflows`), the executors (`executors`:
local processes and inline; `dask_executor`), which local worker takes a
task (`placement`: beside its large inputs), and what runs inside a worker
(`worker`, `capture` of prints and logs, `progress`).
"""

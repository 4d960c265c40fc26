"""Running a flow: plan, schedule, execute, and the events a run sends.

`plan` (what a run covers and its cache keys), `scheduler` (Engine and Run:
nodes start as their inputs are ready), `events`, the node runners for mapped
nodes and subflows (`mapping`, `subflows`), the executors (`executors`: local
processes and inline; `dask_executor`), and what runs inside a worker
(`worker`, `capture` of prints and logs, `context`, `progress`).
"""

"""`load()`: a node's stored value from a past run, so code can pick up what a run computed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from plait.runtime.results.blobs import OutputRef, ResultStore
from plait.runtime.workspace.store import DATA_DIR, DB_NAME, Workspace


class ResultNotFound(LookupError):
    """No stored value for that flow, node, port or run; the message says which and what there is."""


def _run_row(workspace: Workspace, flow_id: str, flow_name: str, run: str | None) -> tuple[str, str]:
    if run is None:
        rows = workspace.history.flow_runs(flow_id)
        if not rows:
            raise ResultNotFound(f"flow '{flow_name}' has not run yet in {workspace.folder}")
        return rows[0]
    rows = workspace.history.flow_runs(flow_id, run)
    if not rows:
        raise ResultNotFound(f"flow '{flow_name}' has no run '{run}' (plait runs {flow_name} lists them)")
    if len(rows) > 1:
        raise ResultNotFound(f"more than one run of '{flow_name}' starts with '{run}': give more of its id")
    return rows[0]


def load(
    flow: str,
    node: str,
    port: str = "result",
    workspace: str | os.PathLike[str] | None = None,
    run: str | None = None,
) -> Any:
    """The value `node` (id or title) gave on `port` in the last run of `flow` (or run `run`).

    `workspace` defaults to the current folder; `run` is a run id or its start
    (as `plait runs` shows it). A node with one output gives it whatever its name.
    """
    folder = Path(workspace if workspace is not None else os.getcwd()).expanduser().resolve()
    if not (folder / DB_NAME).is_file():
        raise ResultNotFound(f"{folder} is not a Plait workspace (it has no {DB_NAME}); give workspace=...")
    with Workspace(folder, create=False) as ws:
        info = ws.flow_info(flow)
        run_id, run_state = _run_row(ws, info.id, info.name, run)
        rows = ws.history.node_results(run_id)
        wanted = node.casefold()
        found = next((r for r in rows if r[0] == node), None) or next(
            (r for r in rows if wanted in (r[0].casefold(), (r[1] or "").casefold())), None
        )
        if found is None:
            titles = ", ".join(sorted(r[1] or r[0] for r in rows)) or "none"
            raise ResultNotFound(
                f"run {run_id[:8]} of flow '{info.name}' has no node '{node}' (its nodes: {titles})"
            )
        node_id, title, state, cache_key, result_ref = found
        metas = json.loads(result_ref) if result_ref else {}
        if not metas:
            raise ResultNotFound(
                f"node '{title}' has no stored value in run {run_id[:8]} of flow '{info.name}' "
                f"(the node ended {state}, the run {run_state})"
            )
        if port not in metas and port == "result" and len(metas) == 1:
            port = next(iter(metas))
        if port not in metas:
            raise ResultNotFound(f"node '{title}' has no output '{port}'; its outputs are {', '.join(metas)}")
        meta = metas[port]
        data = None
        if meta.get("file") is None and cache_key:
            data = ws.history.inline_value(cache_key, port)
        ref = OutputRef.from_meta(meta, data)
        if ref.file is None and ref.data is None:
            raise ResultNotFound(
                f"the value of '{port}' of node '{title}' from run {run_id[:8]} is no longer stored "
                "(the cache let it go); run the flow again"
            )
        return ResultStore(folder / DATA_DIR / "cache").read(ref)

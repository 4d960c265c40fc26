"""Past runs and stored values, read off the GUI thread.

Functions here are plain Python meant for `asyncio.to_thread`: each reads
the run history on a connection of its own (`RunHistory.opened`; the window's
stays on the GUI thread) and turns a run's records into what the docks show,
or writes a value to a file.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.app.live_runs import first_line
from plait.runtime.results.blobs import OutputRef
from plait.runtime.workspace.history import RunHistory
from plait.widgets.canvas.status import NodeStatus
from plait.widgets.gantt import Bar
from plait.widgets.logs_dock import KEPT_LINES, traceback_lines

LOG_LIMIT = KEPT_LINES  # lines of one past run loaded into the logs dock: its latest


@dataclass
class PastRun:
    """A finished (or elsewhere running) run, as its records tell."""

    id: str
    flow_id: str
    flow_name: str
    version: int
    state: str
    started: float | None
    ended: float | None
    parameters: dict[str, Any]
    error: str | None
    statuses: dict[str, NodeStatus] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, OutputRef]] = field(default_factory=dict)
    cache_keys: dict[str, str] = field(default_factory=dict)
    lines: list[tuple] = field(default_factory=list)  # the latest `LOG_LIMIT` of its log lines
    earlier_lines: int = 0  # the lines before those, left in the run history
    bars: list[Bar] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state != "running"


def _refs(history: RunHistory, cache_key: str | None, result_ref: str | None) -> dict[str, OutputRef]:
    if not result_ref:
        return {}
    refs = {}
    for port, meta in json.loads(result_ref).items():
        data = None
        if meta.get("file") is None and cache_key:
            data = history.inline_value(cache_key, port)
        refs[port] = OutputRef.from_meta(meta, data)
    return refs


def load_past_run(db_path: str | Path, run_id: str, with_logs: bool = True) -> PastRun | None:
    """Read a run's records: node states, output references, timeline and log lines."""
    with RunHistory.opened(db_path) as history:
        row = history.run(run_id)
        if row is None:
            return None
        past = PastRun(
            row["id"],
            row["flow_id"],
            row["flow_name"],
            row["flow_version"],
            row["state"],
            row["started"],
            row["ended"],
            row["parameters"],
            row["error"],
        )
        for (
            node_id,
            title,
            state,
            attempts,
            started,
            ended,
            cache_key,
            result_ref,
            error_type,
            error_message,
            tb,
        ) in (tuple(n.values()) for n in history.node_runs(run_id)):
            error = first_line(error_message)
            if error and error_type and state != "skipped" and not error.startswith(error_type):
                error = f"{error_type}: {error}"
            duration = (ended - started) if started and ended else None
            past.statuses[node_id] = NodeStatus(
                state, attempt=attempts or 0, started=started, duration=duration, error=error, traceback=tb
            )
            past.titles[node_id] = title
            if cache_key:
                past.cache_keys[node_id] = cache_key
            past.outputs[node_id] = _refs(history, cache_key, result_ref)
            past.bars.append(Bar(node_id, title, state, started, ended))
            if tb and state in ("failed", "timed_out"):
                past.lines.extend(traceback_lines(ended or started or 0, node_id, tb))
        if with_logs:
            logs = history.log_lines(run_id, limit=LOG_LIMIT, latest=True)
            if len(logs) == LOG_LIMIT:
                past.earlier_lines = history.log_count(run_id) - LOG_LIMIT
            past.lines = sorted(logs + past.lines, key=lambda line: line[0])
        return past


def latest_outputs(
    db_path: str | Path, flow_id: str, node_id: str
) -> tuple[str | None, str | None, dict[str, OutputRef]]:
    """The newest stored result of a node in a flow: (run id, state, refs)."""
    with RunHistory.opened(db_path) as history:
        row = history.latest_result(flow_id, node_id)
        if row is None:
            return None, None, {}
        return row["run_id"], row["state"], _refs(history, row["cache_key"], row["result_ref"])


def maker_of(db_path: str | Path, cache_key: str) -> tuple[str, float] | None:
    """(run id, time) of the run that computed the value cached under a key."""
    with RunHistory.opened(db_path) as history:
        return history.maker_of(cache_key)


# -- saving values ----------------------------------------------------------------


class SaveError(Exception):
    """A value that cannot be written in the format asked for."""


def save_value(value: Any, path: str | Path) -> Path:
    """Write a value to a file, the format chosen by the extension."""
    path = Path(path)
    ext = path.suffix.lower()
    cls = type(value)
    module = cls.__module__.split(".")[0]
    if module == "pandas" and cls.__name__ in ("DataFrame", "Series"):
        frame = value
        writers = {
            ".csv": lambda: frame.to_csv(path),
            ".tsv": lambda: frame.to_csv(path, sep="\t"),
            ".parquet": lambda: frame.to_parquet(path),
            ".json": lambda: frame.to_json(path, orient="records", indent=1),
            ".xlsx": lambda: frame.to_excel(path),
            ".html": lambda: frame.to_html(path),
            ".feather": lambda: frame.to_feather(path),
            ".pkl": lambda: frame.to_pickle(path),
        }
        if ext not in writers:
            raise SaveError(f"a table is saved as {', '.join(writers)}; not '{ext or path.name}'")
        try:
            writers[ext]()
        except ImportError as exc:
            raise SaveError(f"saving as {ext} needs a package that is not installed: {exc}") from None
        return path
    if module == "numpy" and cls.__name__ == "ndarray":
        import numpy

        if ext == ".npy":
            numpy.save(path, value)
        elif ext in (".csv", ".txt") and value.ndim <= 2:
            numpy.savetxt(path, value, delimiter="," if ext == ".csv" else " ", fmt="%s")
        elif ext == ".png" and value.ndim in (2, 3):
            from PIL import Image

            Image.fromarray(value).save(path)
        else:
            raise SaveError("an array is saved as .npy, or .csv / .txt when it has one or two dimensions")
        return path
    if module == "matplotlib" and hasattr(value, "savefig"):
        value.savefig(path)
        return path
    if module == "PIL" and hasattr(value, "save"):
        value.save(path)
        return path
    if ext == ".json":
        try:
            path.write_text(json.dumps(value, indent=1, default=str), encoding="utf-8")
        except (TypeError, ValueError) as exc:
            raise SaveError(f"this value cannot be written as JSON: {exc}") from None
    elif ext in (".pkl", ".pickle"):
        import cloudpickle

        with open(path, "wb") as fh:
            cloudpickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        path.write_text(value if isinstance(value, str) else repr(value), encoding="utf-8")
    return path

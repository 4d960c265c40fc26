"""Persisted outputs: a node's result saved to a file a person can open, and read back.

A node option "save output to" takes a path template such as
`outputs/{flow}/{node}-{date:%Y-%m-%d}.parquet`; the format comes from the
extension. In "checkpoint" mode a node whose file already exists is not run:
its output is read from the file.
"""

from __future__ import annotations

import datetime
import json
import os
import pickle
import re
import string
from pathlib import Path
from typing import Any


class SavePathError(ValueError):
    """A save-to template that cannot be rendered, or a value it cannot hold."""


_UNSAFE = re.compile(r"[\\/:*?\"<>|\x00-\x1f]+")


def _safe(value: Any) -> str:
    text = str(value)
    return _UNSAFE.sub("_", text)[:120] or "_"


class _Context(dict):
    def __init__(self, values: dict[str, Any], node: str) -> None:
        super().__init__(values)
        self.node = node

    def __missing__(self, key: str) -> Any:
        names = ", ".join(sorted(k for k in self if not k.startswith("_"))) or "none"
        raise SavePathError(
            f"the save-to path of node '{self.node}' uses {{{key}}}, which is "
            f"not a parameter, an input or a known name (known: {names})"
        )


class _Formatter(string.Formatter):
    """Renders a template's fields, refusing a value that would move the file elsewhere.

    Separators in values are replaced, so a value names a file or a folder and no more;
    what is left to refuse is a value of exactly `..`, one that is an absolute path or
    starts with `~` (a home folder).
    """

    def __init__(self, template: str, node: str) -> None:
        self.template = template
        self.node = node

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        value, used = super().get_field(field_name, args, kwargs)
        if not isinstance(value, (datetime.date, datetime.datetime)):
            text = str(value)
            why = None
            if text == "..":
                why = "climbs one folder up"
            elif os.path.isabs(text) or text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:[\\/]", text):
                why = "is an absolute path"
            elif text.startswith("~") and re.match(r"\{" + re.escape(field_name) + r"[}!:]", self.template):
                why = "starts with '~' (a home folder)"
            if why is not None:
                raise self.escape(f"{{{field_name}}} is {text!r}, which {why}")
        return value, used

    def escape(self, how: str) -> SavePathError:
        return SavePathError(
            f"the save-to path {self.template!r} of node '{self.node}' would leave the "
            f"workspace folder: {how}. Give it values that name files, or write the folder "
            "into the template itself"
        )

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (datetime.date, datetime.datetime)):
            return value.strftime(format_spec) if format_spec else value.isoformat()
        return _safe(super().format_field(value, format_spec))


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return path == folder or folder in path.parents


def render_path(
    template: str, context: dict[str, Any], node_title: str, base: str | os.PathLike[str] | None
) -> Path:
    """The file a template names; relative paths are under the workspace folder.

    A template may name any place itself (`/data/out.csv`, `~/out.csv`,
    `../shared/out.csv`); the values put into it may not move it out of the folder.
    """
    values = {"date": datetime.datetime.now(), **context}
    formatter = _Formatter(template, node_title)
    try:
        rendered = formatter.vformat(template, (), _Context(values, node_title))
        # The same template with a plain stand-in for every field: where the user put it.
        plain = "".join(
            literal + ("x" if field is not None else "") for literal, field, _, _ in formatter.parse(template)
        )
    except (ValueError, IndexError) as exc:
        if isinstance(exc, SavePathError):
            raise
        raise SavePathError(
            f"the save-to path {template!r} of node '{node_title}' is not a valid template: {exc}"
        ) from None
    path, intended = Path(rendered), Path(plain)
    if template.startswith("~"):
        path, intended = path.expanduser(), intended.expanduser()
    if base is not None:
        path, intended = Path(base) / path, Path(base) / intended
        # Values that join into an escape the checks above cannot see ("{a}.{b}" of "." and
        # "."): the file must stay inside the folder whenever the template's own text does.
        if _inside(intended, Path(base)) and not _inside(path, Path(base)):
            raise formatter.escape(f"its values make it {rendered!r}")
    if not path.suffix:
        raise SavePathError(
            f"the save-to path {rendered!r} of node '{node_title}' needs an "
            "extension (.csv, .parquet, .json, .npy, .pkl, .txt, ...) to pick "
            "a format"
        )
    return path


def _is_frame(value: Any) -> bool:
    cls = type(value)
    return cls.__module__.split(".")[0] == "pandas" and cls.__name__ in ("DataFrame", "Series")


def save(value: Any, path: Path) -> None:
    """Write a value in the format its path's extension names (to a temp name, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ext = path.suffix.lower()
    try:
        if _is_frame(value):
            frame = value.to_frame() if type(value).__name__ == "Series" else value
            writers = {
                ".csv": lambda p: frame.to_csv(p, index=False),
                ".parquet": lambda p: frame.to_parquet(p),
                ".json": lambda p: frame.to_json(p, orient="split", index=False),
                ".xlsx": lambda p: frame.to_excel(p, index=False),
                ".feather": lambda p: frame.to_feather(p),
                ".pkl": lambda p: frame.to_pickle(p),
            }
            if ext not in writers:
                raise SavePathError(f"a table cannot be saved as {ext}; use {', '.join(writers)}")
            writers[ext](tmp)
        elif ext == ".npy":
            import numpy

            numpy.save(tmp.open("wb"), numpy.asarray(value), allow_pickle=False)
        elif ext == ".json":
            tmp.write_text(json.dumps(value, indent=2, default=str))
        elif ext == ".txt":
            tmp.write_text(value if isinstance(value, str) else repr(value))
        elif ext in (".pkl", ".pickle"):
            import cloudpickle

            tmp.write_bytes(cloudpickle.dumps(value))
        elif ext in (".png", ".svg", ".pdf") and hasattr(value, "savefig"):
            value.savefig(tmp, format=ext[1:])
        else:
            raise SavePathError(
                f"Plait cannot save a {type(value).__name__} as {ext}; use "
                ".json, .pkl, .txt, .npy (arrays) or a table format"
            )
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load(path: Path) -> Any:
    """Read back a value saved by `save`, by its extension."""
    ext = path.suffix.lower()
    if ext in (".csv", ".parquet", ".xlsx", ".feather"):
        import pandas

        return {
            ".csv": pandas.read_csv,
            ".parquet": pandas.read_parquet,
            ".xlsx": pandas.read_excel,
            ".feather": pandas.read_feather,
        }[ext](path)
    if ext == ".npy":
        import numpy

        return numpy.load(path, allow_pickle=False)
    if ext == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict) and set(data) == {"columns", "data"}:
            import pandas

            return pandas.DataFrame(data["data"], columns=data["columns"])
        return data
    if ext == ".txt":
        return path.read_text()
    if ext in (".pkl", ".pickle"):
        return pickle.loads(path.read_bytes())
    raise SavePathError(f"Plait cannot read {path.name} back: unknown extension {ext}")

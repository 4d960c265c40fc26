"""Split by key: an output whose value is a dict, given one more output per key.

A node's `split` option names, per output, the keys it is split into
(`{"result": ["X_train", "y_train"]}`). Each key becomes an output of its own
that gives the item under that key, named by the key where that is a free port
name made of letters, digits and _ (else `<output>_<key>`), so wires are drawn
and saved like any other. The keys are the ones a run's value had when the
split was made; a later run whose value lacks one fails the node, naming the
node, the output and the key.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plait.runtime.nodes.hints import field_types
from plait.runtime.nodes.spec import Port

SPLIT_OPTION = "split"
MAX_KEYS = 64  # more keys than this are not offered as ports: a Get item node reads one


class MissingKey(LookupError):
    """A split output's value lacks a key it is split by (or is not a dict at all)."""


@dataclass(frozen=True)
class KeyPort:
    """One output made by splitting another output's dict: its port name, source and key."""

    name: str
    source: str
    key: str


def key_ports(outputs: Sequence[str], split: Mapping[str, Sequence[str]] | None) -> list[KeyPort]:
    """The outputs a `split` option adds to a node whose own outputs are `outputs`, in order."""
    if not split:
        return []
    taken = set(outputs)
    found: list[KeyPort] = []
    for source in outputs:  # the node's port order, whatever the option's order
        for key in split.get(source, ()):
            base = re.sub(r"\W+", "_", str(key)).strip("_") or "key"
            name = base if base not in taken else f"{source}_{base}"
            n = 2
            while name in taken:
                name, n = f"{source}_{base}_{n}", n + 1
            taken.add(name)
            found.append(KeyPort(name, source, str(key)))
    return found


def split_outputs(outputs: tuple[Port, ...], split: Mapping[str, Sequence[str]] | None) -> tuple[Port, ...]:
    """A node's output ports with those its `split` option adds, typed from the dict's hint."""
    made = key_ports([p.name for p in outputs], split)
    if not made:
        return outputs
    by_name = {p.name: p for p in outputs}
    extra = tuple(
        Port(
            k.name,
            _item_type(by_name[k.source].annotation, k.key),
            description=f"the item '{k.key}' of output '{k.source}' (split by key)",
        )
        for k in made
    )
    return outputs + extra


def _item_type(annotation: Any, key: str) -> Any:
    if typing.is_typeddict(annotation):
        return field_types(annotation).get(key, Any)
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Mapping) and len(args) == 2:
        return args[1]
    return Any


def check_split(value: Any) -> str | None:
    """Why `value` cannot be a `split` option (output name -> list of text keys), or None."""
    if not isinstance(value, dict) or not all(
        isinstance(port, str)
        and isinstance(keys, list)
        and all(isinstance(k, str) for k in keys)
        and len(set(keys)) == len(keys)
        for port, keys in value.items()
    ):
        return f"option 'split' maps an output's name to a list of distinct text keys, not {value!r}"
    return None


def take_keys(title: str, values: dict[str, Any], ports: Sequence[KeyPort]) -> dict[str, Any]:
    """The node's output values with each split key's item added; MissingKey names what is wrong."""
    for port in ports:
        value = values.get(port.source)
        if not isinstance(value, Mapping):
            raise MissingKey(
                f"node '{title}' is split by key on output '{port.source}', but this run gave "
                f"{_a(type(value).__name__)}, not a dict: choose Join keys on the port, or make "
                "the function return a dict there"
            )
        if port.key not in value:
            keys = [str(k) for k in list(value)[:10]]
            more = ", …" if len(value) > 10 else ""
            raise MissingKey(
                f"node '{title}' is split by key on output '{port.source}', but this run's dict "
                f"has no key '{port.key}' (its keys: {', '.join(keys) or 'none'}{more}): choose "
                "Split by key again on the port to take the keys it has now, or Join keys"
            )
        values[port.name] = value[port.key]
    return values


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def offered_keys(summary: Mapping[str, Any] | None, port: str) -> tuple[list[str] | None, str]:
    """The keys Split by key offers for an output, from its last stored value's summary.

    Returns (keys, "") or (None, why not). Only the summary is read, which the
    worker wrote: the value itself is never loaded (nor unpickled) to list them.
    """
    if summary is None:
        return None, f"Run the node first: Split by key takes the keys its last run gave on '{port}'"
    keys, length = summary.get("keys"), summary.get("length")
    if keys is None:
        kind = summary.get("type", "value")
        if kind == "dict":  # stored before summaries listed keys
            return None, f"Run the node again: the stored value of '{port}' does not list its keys"
        return None, f"The last run gave {_a(kind)} on '{port}', not a dict: only a dict is split by key"
    if isinstance(length, int) and length > MAX_KEYS:
        return None, (
            f"The dict on '{port}' has {length} keys; Split by key makes at most {MAX_KEYS} "
            "outputs: take the items you need with Get item nodes"
        )
    if isinstance(length, int) and len(keys) < length:
        return None, f"Only a dict whose keys are all text is split by key; the one on '{port}' has others"
    if not keys:
        return None, f"The dict on '{port}' was empty in the last run: there is no key to split by"
    return list(keys), ""

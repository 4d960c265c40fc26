"""Why a node runs: its key's parts now, compared with the last run's, in a user's words.

Every node run stores what its cache key was made of (code parts, constant
values, parameters, files, upstream digests, policy). Explaining the next
run plans it, asks the cache what it answers, and for each node that will
run names what differs from the last time it ran: "helper `_sigmoid` in
iris.py changed", "parameter test_data_ratio 0.2 → 0.3", "file
data/raw/iris.csv changed", "pandas 2.2.3 → 3.1.1", "never cached".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from plait.runtime.engine.plan import make_plan
from plait.runtime.engine.subflows import is_subflow
from plait.runtime.nodes.context import using_workspace

CACHED, WILL_RUN, WAITS = "cached", "will run", "waits"


@dataclass
class Explanation:
    node_id: str
    title: str
    state: str  # cached, will run, waits (its inputs are computed first)
    reasons: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)  # e.g. code that is not deterministic
    files: list[str] = field(default_factory=list)  # files its key reads, as its values name them
    tracks: list[str] = field(default_factory=list)  # what its key is made of, in words


def explain_plan(
    plan: Any, cache: Any, previous: dict[str, dict[str, Any]], now: float | None = None
) -> list[Explanation]:
    """Explain each node of `plan`; `previous` holds each node's last key parts and key."""
    now = now or time.time()
    states = plan.predict(cache)
    flow = plan.flow
    found = []
    for node_id in plan.order:
        node = flow.nodes[node_id]
        if node.is_parameter or node.is_output:
            continue
        state = states[node_id]
        parts = plan.predicted_parts.get(node_id) or plan.node_keys[node_id].parts
        item = Explanation(
            node_id, node.title, state, files=sorted(parts.get("files") or {}), tracks=_tracks(flow, parts)
        )
        spec = flow.spec(node)
        if spec is not None and spec.nondeterministic:
            item.hints.append(nondeterminism_hint(spec.nondeterministic))
        for note in parts.get("code_notes") or []:
            item.hints.append(f"counted by its whole module: {note}")
        if state == WAITS and node_id not in plan.forced and parts.get("policy") != "never":
            last = previous.get(node_id)
            own = _differences(flow, last["parts"], parts, with_inputs=False) if last else []
            if own:  # its own key changed: it runs whatever its inputs turn out to be
                item.state = WILL_RUN
                item.reasons = own
        if item.state != CACHED and not item.reasons:
            item.reasons = _reasons(
                plan, node_id, item.state, parts, previous.get(node_id), states, cache, now
            )
        found.append(item)
    return found


def explain_flow(
    workspace: Any,
    flow: Any,
    cache: Any,
    given: dict[str, Any] | None = None,
    from_text: Any = False,
    force: Any = (),
) -> list[Explanation]:
    """Plan the next run of `flow` in `workspace` and explain every node of it."""
    with using_workspace(workspace.folder):
        plan = make_plan(flow, given, from_text=from_text, force=force, folder=str(workspace.folder))
    return explain_plan(plan, cache, workspace.history.last_key_parts(flow.id))


def _tracks(flow: Any, parts: dict[str, Any]) -> list[str]:
    """What a node's key is made of, one line each: code, libraries, values, files, inputs."""
    code = parts.get("code_parts") or {}
    own = code.get("<node>")
    found: list[str] = []
    for label in sorted(code):
        if label in ("<node>", own) or (own and label.startswith(own + " ")):
            continue  # its own code (and defaults): said once, below
        if ":" not in label and not label.startswith("module "):
            line = f"library {label} {code[label]}"
        else:
            # `iris.py:Split.X_test (base)` is part of `Split`: name the top-level name once.
            file, _, name = label.partition(":")
            top = name.split(" ")[0].split(".")[0]
            line = _label(f"{file}:{top}", own) if name else _label(label, own)
        if line not in found:
            found.append(line)
    found.insert(0, "its own code and defaults")
    found += [f"parameter {v[0]} = {v[1]}" for v in (parts.get("parameters") or {}).values()]
    found += [f"input {k} = {v}" for k, v in sorted((parts.get("values") or {}).items())]
    found += [f"file {path}" for path in sorted(parts.get("files") or {})]
    params = {v[0] for v in (parts.get("parameters") or {}).values()}
    for source, port, _ in (parts.get("inputs") or {}).values():
        node = flow.nodes.get(source)
        if node is not None and not node.is_parameter:
            found.append(f"the value of {node.title}'s {port}")
        elif node is None or node.values.get("name") not in params:
            found.append(f"the value of {source}.{port}")
    return found


def nondeterminism_hint(calls: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(f"{c}()" for c in list(calls)[:3])
    return f"calls {shown}: results are reused by inputs; set cache to never if this should rerun each time"


def _reasons(
    plan: Any,
    node_id: str,
    state: str,
    parts: dict[str, Any],
    last: dict[str, Any] | None,
    states: dict[str, str],
    cache: Any,
    now: float,
) -> list[str]:
    flow = plan.flow
    if node_id in plan.forced:
        return ["asked to recompute it and what follows it"]
    if parts.get("policy") == "never":
        return ["never cached"]
    if is_subflow(flow.nodes[node_id].spec_key):
        child = plan.predicted_children.get(node_id)
        if child is None:
            return ["its flow could not be planned: running it will say why"]
        inner, inner_states = child
        running = [inner.flow.nodes[n].title for n in inner.order if inner_states.get(n) == WILL_RUN]
        if running:
            return [f"inside '{inner.flow.name}', {_names(running)} will run"]
        return [f"inside '{inner.flow.name}', nodes wait for others to run first"]
    if state == WAITS:
        waiting = sorted(flow.nodes[u].title for u in plan.upstream[node_id] if states.get(u) != CACHED)
        one = len(waiting) == 1
        return [
            f"upstream {_names(waiting)} run{'s' if one else ''} first; this node reruns "
            f"only if {'its' if one else 'their'} value changes"
        ]
    if last is None:
        return ["it has not run before"]
    reasons = _differences(flow, last["parts"], parts, with_inputs=True)
    if reasons:
        return reasons
    if last.get("state") in ("failed", "timed_out", "crashed", "cancelled", "skipped"):
        said = {"timed_out": "timed out", "skipped": "was skipped", "cancelled": "was cancelled"}.get(
            last["state"], last["state"]
        )
        return [f"it {said} last time"]
    entry = _entry(cache, last.get("key"))
    if entry is not None and entry[0] is not None and entry[0] <= now:
        return [f"its cached result expired {_ago(now - entry[0])} ago"]
    if parts.get("code_notes"):
        return list(parts["code_notes"])
    return ["its cached result is gone (cleared, evicted or damaged)"]


def _differences(flow: Any, old: dict[str, Any], new: dict[str, Any], with_inputs: bool) -> list[str]:
    reasons: list[str] = []
    reasons += _code(old.get("code_parts", {}), new.get("code_parts", {}), old.get("code"), new.get("code"))
    old_params, new_params = old.get("parameters", {}), new.get("parameters", {})
    for port in sorted(set(old_params) | set(new_params)):
        before, after = old_params.get(port), new_params.get(port)
        if before != after and before is not None and after is not None:
            name = after[0] if isinstance(after, list) else port
            reasons.append(f"parameter {name} {_value(before)} → {_value(after)}")
    old_values, new_values = old.get("constants", {}), new.get("constants", {})
    shown_old, shown_new = old.get("values", {}), new.get("values", {})
    for name in sorted(set(old_values) | set(new_values)):
        if old_values.get(name) != new_values.get(name):
            if name not in new_values:
                reasons.append(f"input {name} is now wired (was {shown_old.get(name)})")
            elif name not in old_values:
                reasons.append(f"input {name} is now set to {shown_new.get(name)}")
            else:
                reasons.append(f"input {name} {shown_old.get(name)} → {shown_new.get(name)}")
    old_files, new_files = old.get("files", {}), new.get("files", {})
    for path in sorted(set(old_files) | set(new_files)):
        if old_files.get(path) != new_files.get(path):
            verb = (
                "is new"
                if path not in old_files
                else "is gone"
                if new_files.get(path, "missing") == "missing"
                else "changed"
            )
            reasons.append(f"file {path} {verb}")
    if with_inputs:
        old_inputs, new_inputs = old.get("inputs", {}), new.get("inputs", {})
        for port in sorted(set(old_inputs) | set(new_inputs)):
            before, after = old_inputs.get(port), new_inputs.get(port)
            if after is None or before is None:
                if before != after and port not in new_params and port not in old_params:
                    reasons.append(f"input {port} is {'now wired' if after else 'no longer wired'}")
                continue
            if before[2] != after[2] and port not in new_params:
                source = flow.nodes.get(after[0])
                title = source.title if source is not None else after[0]
                reasons.append(f"upstream {title} produced a different value")
            elif before[2] != after[2] and old_params.get(port) == new_params.get(port):
                name = new_params[port][0] if isinstance(new_params[port], list) else port
                if str(after[2]).startswith("json:") and ":" not in str(before[2]):
                    # Recorded when a parameter was keyed by its value's own digest, not yet by
                    # the one its value is stored with: the same value, keyed anew.
                    reasons.append(
                        f"parameter {name} is keyed anew by this version of Plait: it runs this once"
                    )
                else:  # the same as shown, but not the same value (a long one, shown cut)
                    reasons.append(f"parameter {name} changed")
    for option, words in (
        ("custom", "its cache key function gave a different value"),
        ("map_over", "the input it maps over changed"),
        ("track_files", "whether its files count changed"),
        ("expires", "its cache expiry changed"),
        ("split", "the keys its outputs are split by changed"),
        ("ports", "its inputs' or outputs' names or types changed"),
    ):
        if old.get(option) != new.get(option):
            reasons.append(words)
    if old.get("node") != new.get("node"):
        reasons.append("its node type changed")
    return reasons


def _code(old: dict[str, str], new: dict[str, str], old_digest: Any, new_digest: Any) -> list[str]:
    if old_digest == new_digest:
        return []
    reasons = []
    own = new.get("<node>") or old.get("<node>")
    for label in sorted(set(old) | set(new)):
        if label == "<node>" or old.get(label) == new.get(label):
            continue
        if label not in old:
            reasons.append(f"it now uses {_label(label, own)}")
        elif label not in new:
            reasons.append(f"it no longer uses {_label(label, own)}")
        elif ":" not in label and not label.startswith("module "):
            reasons.append(f"{label} {old[label]} → {new[label]}")  # a library's version
        else:
            reasons.append(f"{_label(label, own)} changed")
    return reasons or ["its code changed"]


def _label(label: str, own: str | None) -> str:
    if label == own:
        return "its code"
    if label.startswith("module "):
        return f"the module {label[len('module ') :]}"
    if ":" not in label:
        return label
    file, _, name = label.partition(":")
    name, _, detail = name.partition(" ")
    what = "helper" if not name[:1].isupper() or "." in name else "class"
    if name.isupper() or (name[:1] == "_" and name[1:].isupper()):
        what = "value"
    suffix = f" ({detail})" if detail else ""
    if own and label.startswith(own + " "):
        return f"its {detail}"
    return f"{what} `{name}` in {file}{suffix}"


def _value(shown: Any) -> str:
    return str(shown[1]) if isinstance(shown, list) and len(shown) == 2 else str(shown)


def _names(titles: list[str]) -> str:
    return ", ".join(titles[:3]) + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")


def _entry(cache: Any, key: str | None) -> tuple[float | None] | None:
    if not key:
        return None
    return cache.expiry(key)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"

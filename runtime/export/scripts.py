"""A flow as a plain Python script: its node functions called in order, parameters as options.

The script is what a person would have written by hand: it imports the node
functions from the workspace's files (the folder goes first on sys.path) or
their modules, calls them in dependency order, and prints the final outputs.
The flow's parameters become command-line options with their types and
defaults; a subflow's nodes are written in place. Plait's own built-in nodes
are copied into the script, so it runs where Plait is not installed; node
files that import Plait themselves still need it.
"""

from __future__ import annotations

import datetime
import keyword
import os
import re
import textwrap
from pathlib import Path
from typing import Any

from plait.runtime.engine.plan import call_layout, coercion
from plait.runtime.export.embedding import embedded_source
from plait.runtime.export.inlining import InlineError, inline_subflows
from plait.runtime.flow import graph
from plait.runtime.flow.model import Flow, Node
from plait.runtime.nodes.libraries import KEY_MODULES
from plait.runtime.nodes.loader import WORKSPACE_MODULE_PREFIX
from plait.runtime.nodes.spec import OUTPUT_ATTRIBUTES, OUTPUT_MAPPING, OUTPUT_NONE, OUTPUT_SEQUENCE
from plait.runtime.nodes.splitting import SPLIT_OPTION, key_ports

# How a parameter type is read from the command line, and the helper it needs.
_ARGUMENT_TYPES = {
    "str": "str",
    "int": "int",
    "float": "float",
    "path": "Path",
    "list": "_json",
    "dict": "_json",
    "any": "_any",
    "date": "datetime.date.fromisoformat",
    "datetime": "datetime.datetime.fromisoformat",
}

SUPPORT = "plait.runtime.export.script_support"  # helpers copied into scripts that use them


def _call_text(prefix: str, function: str, args: list[str]) -> str:
    """`prefix + function(args)`, with one argument per line when one line would be long."""
    flat = f"{prefix}{function}({', '.join(args)})"
    if len(flat) <= 100 or len(args) < 2:
        return flat
    inner = "".join(f"        {argument},\n" for argument in args)
    return f"{prefix}{function}(\n{inner}    )"


class ScriptError(ValueError):
    """A flow that cannot be written as a script; the message names the node and why."""


class _Names:
    """Unique Python identifiers for the script's variables and imported functions."""

    def __init__(self, reserved: set[str]) -> None:
        self.taken = set(reserved) | set(keyword.kwlist) | {"args", "results", "main"}

    def new(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted).strip("_") or "value"
        if base[0].isdigit():
            base = f"n_{base}"
        name, n = base, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name


def _order(flow: Flow) -> list[str]:
    """Dependency order; among ready nodes, the canvas's left-to-right order."""
    place = {n.id: (n.position[0], n.position[1], n.id) for n in flow.nodes.values()}
    return graph.order_by(flow.wiring, key=lambda n: place[n])


def _literal(value: Any) -> str:
    """A saved (JSON) value as Python source."""
    return repr(value)


def _import_target(key: str) -> tuple[str, str]:
    """(module to import, qualname) of a node key; workspace files import by their stem."""
    target, _, qualname = key.rpartition(":")
    if target.endswith(".py"):
        stem = Path(target).with_suffix("").as_posix().replace("/", ".")
        return stem, qualname
    return KEY_MODULES.get(target, target), qualname


def _enum_source(how: str) -> tuple[str, str]:
    _, module, qualname = how.split(":", 2)
    if module.startswith(WORKSPACE_MODULE_PREFIX):  # `_plait_ws_<hash>_<stem>` is the file's stem
        module = module[len(WORKSPACE_MODULE_PREFIX) :].split("_", 1)[1]
    return module, qualname


def _default_source(kind: str, value: Any) -> str:
    if value is None:
        return "None"
    if kind == "path":
        return f"Path({str(value)!r})"
    if kind in ("date", "datetime") and isinstance(value, str):
        return f"datetime.{kind}.fromisoformat({value!r})"
    if kind == "bool":
        return repr(bool(value))
    return _literal(value)


def export_script(
    flow: Flow, workspace_folder: str | os.PathLike[str], script_path: str | os.PathLike[str] | None = None
) -> str:
    """The flow as a runnable Python script (text); `flow.catalog` must know its node types.

    When `script_path` lies inside the workspace, the script finds the workspace
    relative to itself, so the folder can move; otherwise by absolute path.
    """
    folder = Path(workspace_folder).resolve()
    try:
        flow = inline_subflows(flow)  # a script has no engine to start a child run
    except InlineError as exc:
        raise ScriptError(str(exc)) from None
    order = _order(flow)
    imports: dict[str, list[tuple[str, str]]] = {}  # module -> [(qualname, local name)]
    embedded: dict[str, set[str]] = {}
    helpers: set[str] = set()
    reserved = {
        "argparse",
        "datetime",
        "json",
        "os",
        "sys",
        "time",
        "Path",
        "WORKSPACE",
        "parse_arguments",
        "item",
        "_json",
        "_any",
        "_sequence",
        "_as_path",
        "_retry",
        "_member",
    }
    names = _Names(reserved)
    functions: dict[str, str] = {}  # spec key -> local name
    for node_id in order:
        node = flow.nodes[node_id]
        if node.is_parameter or node.is_output:
            continue
        spec = flow.spec(node)
        if spec is None:
            raise ScriptError(
                f"node '{node.title}' has type '{node.spec_key}', which is not "
                "available: check that its library loads, then export again"
            )
        if spec.key in functions:
            continue
        module, qualname = _import_target(spec.key)
        if "<" in qualname or not all(p.isidentifier() for p in module.split(".")):
            raise ScriptError(
                f"node '{node.title}' calls {spec.key}, which cannot be "
                "imported by name; define it as a function in a module"
            )
        top = qualname.split(".")[0]
        if module.startswith("plait."):
            embedded.setdefault(module, set()).add(top)
            names.taken.add(top)
            functions[spec.key] = qualname
        else:
            local = names.new(top)
            imports.setdefault(module, []).append((top, local))
            functions[spec.key] = local + qualname[len(top) :]

    params = flow.parameters()
    variables: dict[tuple[str, str], str] = {}  # (node id, output port) -> variable
    parser_lines, body = [], []
    for param in params:
        var = names.new(param.name)
        variables[(param.node_id, "value")] = var
        flags = [f"--{param.name.replace('_', '-')}"]
        if "_" in param.name:
            flags.append(f"--{param.name}")
        help_text = (param.description or f"{param.type} parameter").replace("%", "%%")
        options = [*map(repr, flags), f"dest={var!r}", f"help={help_text!r}"]
        if param.type == "bool":
            options.append("action=argparse.BooleanOptionalAction")
        else:
            kind = _ARGUMENT_TYPES.get(param.type, "str")
            if kind.startswith("_"):
                helpers.add(kind)
            options.append(f"type={kind}")
            options.append(f"metavar={param.type.upper()!r}")
        if param.required:
            options.append("required=True")
        else:
            options.append(f"default={_default_source(param.type, param.default)}")
        parser_lines.append("    parser.add_argument(\n        " + ",\n        ".join(options) + ",\n    )")
        body.append(f"    {var} = args.{var}")

    consumed = {e.source for e in flow.edges}
    finals: list[tuple[str, str, str, str]] = []  # (node id, output, label, variable)
    for node_id in order:
        node = flow.nodes[node_id]
        if node.is_parameter:
            continue
        if node.is_output:
            edge = flow.edge_into(node_id, "value")
            if edge is not None:
                finals.append(
                    (
                        node_id,
                        "value",
                        node.values.get("name", node.title),
                        variables[(edge.source, edge.source_port)],
                    )
                )
            continue
        spec = flow.spec(node)
        assert spec is not None
        ports = [p.name for p in spec.outputs]
        function = functions[spec.key]
        if spec.output_style == OUTPUT_NONE or not ports:
            body.append(_call("    ", flow, node, spec, function, variables, helpers))
            continue
        result = names.new(node_id if node_id not in names.taken else f"{node_id}_result")
        body.append(_call(f"    {result} = ", flow, node, spec, function, variables, helpers))
        mapped = bool(flow.options(node).map_over)
        if len(ports) == 1 and spec.output_style not in (OUTPUT_SEQUENCE, OUTPUT_MAPPING, OUTPUT_ATTRIBUTES):
            variables[(node_id, ports[0])] = result
        else:
            for port in ports:
                var = names.new(f"{node_id}_{port}")
                variables[(node_id, port)] = var
            body += _split_lines(spec.output_style, result, ports, node_id, variables, mapped, helpers)
        for key in key_ports(ports, node.options.get(SPLIT_OPTION)):  # outputs split by key
            source, var = variables[(node_id, key.source)], names.new(f"{node_id}_{key.name}")
            item = f"[r[{key.key!r}] for r in {source}]" if mapped else f"{source}[{key.key!r}]"
            body.append(f"    {var} = {item}")
            variables[(node_id, key.name)] = var
        if node_id not in consumed:
            for port in ports:
                label = node.title if len(ports) == 1 else f"{node.title}.{port}"
                finals.append((node_id, port, label, variables[(node_id, port)]))
    return _assemble(flow, folder, script_path, imports, embedded, helpers, parser_lines, body, finals)


def _call(
    prefix: str,
    flow: Flow,
    node: Node,
    spec: Any,
    function: str,
    variables: dict[tuple[str, str], str],
    helpers: set[str],
) -> str:
    """The statement calling a node's function: wired inputs, constants, coercions,
    retries and mapping as Plait applies them."""
    provided: dict[str, str] = {}
    for edge in flow.edges_into(node.id):
        source = variables[(edge.source, edge.source_port)]
        port = spec.input(edge.target_port)
        how = coercion(port) if port is not None else None
        if how == "path":
            helpers.add("_as_path")
            source = f"_as_path({source})"
        provided[edge.target_port] = source
    for port in spec.inputs:
        if port.name in provided or port.name not in node.values or not port.wireable:
            continue
        value = node.values[port.name]
        how = coercion(port)
        if how == "path" and isinstance(value, str):
            provided[port.name] = f"Path({value!r})"
        elif how and how.startswith("enum:"):
            module, qualname = _enum_source(how)
            provided[port.name] = f"_member({module!r}, {qualname!r}, {_literal(value)})"
            helpers.add("_member")
        else:
            provided[port.name] = _literal(value)
    positional, fill = call_layout(spec, set(provided))
    for name, value in fill.items():
        provided[name] = _literal(value)
    rank = {port.name: index for index, port in enumerate(spec.inputs)}
    provided = dict(sorted(provided.items(), key=lambda item: rank.get(item[0], len(rank))))
    mapped = flow.options(node).map_over
    if mapped and mapped in provided:
        items, provided[mapped] = provided[mapped], "item"
    args = [provided.pop(name) for name in positional if name in provided]
    args += [f"{name}={value}" for name, value in provided.items()]
    options = flow.options(node)
    if not options.retries and not mapped:
        return _call_text(prefix, function, args)
    call = f"{function}({', '.join(args)})"
    if options.retries:
        helpers.add("_retry")
        call = (
            f"_retry(lambda: {call}, {options.retries}, {options.retry_delay!r}, {options.retry_backoff!r})"
        )
    if mapped:
        # As Plait runs a mapped node: once per item, the results in order.
        call = f"[{call} for item in {items}]"
    return prefix + call


def _split_lines(
    style: str,
    result: str,
    ports: list[str],
    node_id: str,
    variables: dict[tuple[str, str], str],
    mapped: bool,
    helpers: set[str],
) -> list[str]:
    """Unpack a node's return value into one variable per output, as the engine does."""
    targets = [variables[(node_id, p)] for p in ports]
    if mapped:
        pick = {OUTPUT_ATTRIBUTES: "r.{p}", OUTPUT_MAPPING: "r[{p!r}]"}.get(style)
        if pick is None:
            helpers.add("_sequence")
            return [
                f"    {t} = [_sequence(r, {tuple(ports)!r})[{i}] for r in {result}]"
                for i, t in enumerate(targets)
            ]
        return [
            f"    {t} = [{pick.format(p=p)} for r in {result}]" for t, p in zip(targets, ports, strict=True)
        ]
    if style == OUTPUT_ATTRIBUTES:
        return [f"    {t} = {result}.{p}" for t, p in zip(targets, ports, strict=True)]
    if style == OUTPUT_MAPPING:
        return [f"    {t} = {result}[{p!r}]" for t, p in zip(targets, ports, strict=True)]
    if style == OUTPUT_SEQUENCE:
        helpers.add("_sequence")
        return [
            f"    {', '.join(targets)}{',' if len(targets) == 1 else ''} = "
            f"_sequence({result}, {tuple(ports)!r})"
        ]
    return [f"    {targets[0]} = {result}"]


def _import_lines(lines: set[str]) -> list[str]:
    """Import statements merged per module and sorted: `import x`, then `from m import a, b`."""
    plain = sorted(line for line in lines if line.startswith("import "))
    grouped: dict[str, list[str]] = {}
    for line in lines:
        if line.startswith("from "):
            module, _, names = line[len("from ") :].partition(" import ")
            grouped.setdefault(module, []).append(names)
    return plain + [
        f"from {module} import {', '.join(sorted(set(names)))}" for module, names in sorted(grouped.items())
    ]


def _assemble(
    flow: Flow,
    folder: Path,
    script_path: Any,
    imports: dict,
    embedded: dict,
    helpers: set[str],
    parser_lines: list[str],
    body: list[str],
    finals: list[tuple[str, str, str, str]],
) -> str:
    if script_path is not None and Path(script_path).resolve().is_relative_to(folder):
        relative = os.path.relpath(folder, Path(script_path).resolve().parent)
        where = "Path(__file__).resolve().parent" + ("" if relative == "." else f" / {relative!r}")
    else:
        where = f"Path({str(folder)!r})"
    if helpers:
        embedded = {**embedded, SUPPORT: set(helpers)}
    needed = {"import argparse", "import os", "import sys", "from pathlib import Path"}
    if any("datetime." in line for line in parser_lines):
        needed.add("import datetime")
    blocks: list[str] = []
    type_only: set[str] = set()
    for module, wanted in sorted(embedded.items()):
        found = embedded_source(module, wanted)
        needed.update(found.imports)
        type_only.update(found.type_imports)
        what = "helpers" if module == SUPPORT else "Plait's built-in nodes"
        blocks += [f"# {what}, copied from {module} so that Plait is not needed", *found.blocks]
    if type_only:
        needed.add("from typing import TYPE_CHECKING")
    stamp = datetime.date.today().isoformat()
    summary = textwrap.wrap((flow.description or "").strip(), 76)
    workspace_imports = []
    for module in sorted(imports):
        names = sorted(name + (f" as {local}" if local != name else "") for name, local in imports[module])
        line = f"from {module} import {', '.join(names)}  # noqa: E402"
        if len(line) > 100:
            line = (
                f"from {module} import (  # noqa: E402\n" + "".join(f"    {name},\n" for name in names) + ")"
            )
        workspace_imports.append(line)
    out = [
        "#!/usr/bin/env python3",
        f'"""Flow {flow.name!r}, exported from Plait on {stamp} as a plain Python script.',
        "",
        *([*summary, ""] if summary else []),
        "It calls the flow's node functions in dependency order and prints the final",
        "outputs; the flow's parameters are command-line options (see --help).",
        "Relative file paths are relative to the workspace folder, as in Plait.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        *_import_lines(needed),
        "",
        *(
            ["if TYPE_CHECKING:", *(f"    {line}" for line in _import_lines(type_only)), ""]
            if type_only
            else []
        ),
        "# The Plait workspace: its .py files are the flow's node libraries.",
        f"WORKSPACE = {where}",
        "sys.path.insert(0, str(WORKSPACE))",
        "",
        *workspace_imports,
    ]
    for block in blocks:
        out += ["", "", block]
    results = [f"        {node_id!r}: {{}}," for node_id in dict.fromkeys(f[0] for f in finals)]
    out += [
        "",
        "",
        "def parse_arguments(argv=None):",
        f"    parser = argparse.ArgumentParser(description={f'Run the flow {flow.name!r}.'!r})",
        *parser_lines,
        "    return parser.parse_args(argv)",
        "",
        "",
        "def main(argv=None):",
        '    """Run the flow; returns {node id: {output: value}} of its final outputs."""',
        "    args = parse_arguments(argv)",
        "    os.chdir(WORKSPACE)",
        *body,
        "    results = {",
        *results,
        "    }",
    ]
    for node_id, port, label, var in finals:
        out.append(f"    results[{node_id!r}][{port!r}] = {var}")
        out.append(f"    print({label + ':'!r}, {var})")
    out += ["    return results", "", "", 'if __name__ == "__main__":', "    main()", ""]
    return "\n".join(out)

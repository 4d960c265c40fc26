"""Node types: what a node is, made from a Python function.

`spec` (NodeSpec, ports, options), `introspect` (a spec from any callable:
signature, hints, docstring), `decorator` (`@node`), `port_types` (which
values a port takes and which wires fit), `libraries` and `loader` (the
workspace files and modules that offer node types, imported fresh after an
edit), `context` (the workspace a node runs in, for relative paths) and
`tables`, the built-in data nodes.
"""

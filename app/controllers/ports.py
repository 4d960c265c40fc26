"""An output port's context menu on the canvas: Split by key, and Join keys.

The keys offered are those of the value the port gave in the last run: in the
run the canvas shows, else the node's newest stored result. They are read from
the value's summary, which the worker wrote when it stored the value, so a
pickled dict is never opened in the window, trusted workspace or not.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QMenu, QWidget

from plait.runtime.nodes.splitting import SPLIT_OPTION, key_ports, offered_keys


class PortMenuController(QObject):
    """Builds the menu of an output port; its edits go through the session's document."""

    def __init__(self, session, history, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.history = history  # whose shown run gives the last values first
        self.menu: QMenu | None = None

    def stored_summary(self, node_id: str, port: str) -> dict[str, Any] | None:
        """The summary of the value `port` gave in the last run, or None when none is stored."""
        session = self.session
        run = self.history.shown_run
        if run is not None and session.shows_flow(run.flow_id):
            ref = (run.outputs.get(node_id) or {}).get(port)
            if ref is not None:
                return ref.summary
        if session.workspace is None:
            return None
        row = session.workspace.history.latest_result(session.document.flow.id, node_id)
        if row is None or not row["result_ref"]:
            return None
        meta = json.loads(row["result_ref"]).get(port)
        return meta.get("summary") if meta else None

    def open(self, node_id: str, port: str, pos: QPoint) -> QMenu:
        """Show the menu of output `port` of a node at a screen position."""
        document = self.session.document
        flow = document.flow
        node = flow.nodes[node_id]
        spec = flow.spec(node)
        names = [p.name for p in spec.outputs] if spec is not None else []
        split = node.options.get(SPLIT_OPTION) or {}
        made = {k.name: k for k in key_ports(names, split)}
        source = made[port].source if port in made else port

        menu = QMenu(self.parent())
        menu.setObjectName("PortMenu")
        menu.setAttribute(Qt.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)
        split_action = menu.addAction("Split by key")
        split_action.setObjectName("split_keys")
        join_action = menu.addAction("Join keys")
        join_action.setObjectName("join_keys")

        if port in made:
            keys, why = None, f"'{port}' is the key '{made[port].key}' of '{source}'; it is not split again"
        elif spec is None or spec.builtin:
            keys, why = None, f"'{node.title}' runs a flow: split the dict inside that flow instead"
        else:
            keys, why = offered_keys(self.stored_summary(node_id, port), port)
        if keys is not None and split.get(port) == keys:
            keys, why = None, f"'{port}' is split by the keys its last run gave: {', '.join(keys)}"
        if keys is not None and document.read_only:
            keys, why = None, "This version is read-only: open the flow to edit it"
        split_action.setEnabled(keys is not None)
        if keys is not None:
            verb = "Adds" if port not in split else "Makes"
            tip = f"{verb} one output per key of the dict '{port}' gave in the last run: {', '.join(keys)}"
            split_action.triggered.connect(lambda: document.split_by_key(node_id, port, keys))
        else:
            tip = why
        split_action.setToolTip(tip)
        split_action.setStatusTip(tip)

        joinable = source in split and not document.read_only
        join_action.setEnabled(joinable)
        if joinable:
            join_action.setText(f"Join keys of '{source}'" if source != port else "Join keys")
            outputs = ", ".join(k.name for k in made.values() if k.source == source)
            tip = f"Removes the outputs {outputs} and their wires"
            join_action.triggered.connect(lambda: document.split_by_key(node_id, source, None))
        else:
            tip = f"'{port}' is not split by key" if not document.read_only else "This version is read-only"
        join_action.setToolTip(tip)
        join_action.setStatusTip(tip)
        self.menu = menu
        menu.popup(pos)
        return menu

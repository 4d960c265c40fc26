"""The inspector: the selected node's title, inputs, outputs, options and problems.

Every change goes through the flow editor (`set_value`, `set_option`,
`rename`), so it is undoable; the inspector follows the flow's events to
show values changed elsewhere (undo, another widget).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from plait.runtime.flow.model import (
    EdgeAdded,
    EdgeRemoved,
    FlowChanged,
    NodeAdded,
    NodeChanged,
    NodeRemoved,
)
from plait.runtime.nodes.port_types import PARAMETER_TYPES, parameter_type
from plait.runtime.nodes.spec import CACHE_POLICIES, REQUIRED, Port
from plait.runtime.nodes.splitting import SPLIT_OPTION
from plait.widgets.editors import FloatSpinBox, ValueEditor, make_editor
from plait.widgets.words import plural

NO_VALUE = ...  # "clear it": the editor's set_value called without a value


class Inspector(QScrollArea):
    """Shows one node of the editor's flow (or the flow's problems when none is chosen)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("Inspector")
        self.setWidgetResizable(True)
        self.editor = None
        self.node_id: str | None = None
        self.problems: list = []
        self.value_editors: dict[str, ValueEditor] = {}
        self.explanations: dict = {}  # node id -> what the next run does with it, and why
        self.why_label: QLabel | None = None
        self._unsubscribe = lambda: None
        self._rebuild()

    # -- wiring up ---------------------------------------------------------

    def set_editor(self, editor) -> None:
        """Follow a new flow editor (the document of the open flow)."""
        self._unsubscribe()
        self.editor = editor
        self.node_id = None
        self._unsubscribe = editor.flow.observe(self._on_event) if editor else (lambda: None)
        self._rebuild()

    def show_node(self, node_id: str | None) -> None:
        if node_id != self.node_id:
            self.node_id = node_id
            self._rebuild()

    def set_problems(self, problems: list) -> None:
        self.problems = problems
        self._fill_problems()
        self._fill_why()

    def refresh(self) -> None:
        self._rebuild()

    def set_explanations(self, explanations: dict) -> None:
        """What the next run does with each node (see plait.runtime.engine.explain)."""
        self.explanations = explanations
        self._fill_why()

    def _on_event(self, event: object) -> None:
        if self.node_id is None:
            if isinstance(event, (NodeAdded, NodeRemoved, EdgeAdded, EdgeRemoved, FlowChanged)):
                self._show_summary()
            return
        if isinstance(event, NodeRemoved) and event.node.id == self.node_id:
            self.node_id = None
            self._rebuild()
        elif isinstance(event, (EdgeAdded, EdgeRemoved)) and self.node_id in (
            event.edge.source,
            event.edge.target,
        ):
            self._rebuild()
        elif isinstance(event, NodeChanged) and event.node_id == self.node_id:
            if event.what == "value" and event.name == "type":
                self._rebuild()
            elif event.what == "option" and event.name == SPLIT_OPTION:
                self._rebuild()  # outputs split by key come and go
            elif event.what == "option":
                self._load_options()
            elif event.what in ("value", "title"):
                self._load_values()

    # -- building ----------------------------------------------------------

    def _rebuild(self) -> None:
        page = QWidget()
        page.setObjectName("InspectorPage")
        self.box = QVBoxLayout(page)
        self.box.setContentsMargins(6, 6, 6, 6)
        self.box.setSpacing(8)
        self.value_editors = {}
        self.option_fields = {}
        self.title_edit = None
        self.why_label = None
        self.param_fields: dict[str, QWidget] = {}
        self.summary: QLabel | None = None
        flow = self.editor.flow if self.editor else None
        if flow is None or self.node_id not in flow.nodes:
            self.node_id = None
            self.summary = QLabel(page)
            self.summary.setObjectName("FlowSummary")
            self.summary.setWordWrap(True)
            self.box.addWidget(self.summary)
            self._show_summary()
        else:
            self._build_node(page, flow)
        self.problem_box = QGroupBox("Problems", page)
        self.problem_list = QLabel(self.problem_box)
        self.problem_list.setObjectName("ProblemList")
        self.problem_list.setWordWrap(True)
        self.problem_list.setTextFormat(Qt.RichText)
        QVBoxLayout(self.problem_box).addWidget(self.problem_list)
        self.box.addWidget(self.problem_box)
        self.box.addStretch(1)
        page.setEnabled(not (self.editor and self.editor.read_only) or self.node_id is None)
        self._replace_page(page)
        self._fill_problems()

    def _show_summary(self) -> None:
        """The open flow's name and size, shown while no node is selected."""
        if self.summary is None:
            return
        flow = self.editor.flow if self.editor else None
        if flow is None:
            self.summary.setText("No flow open.")
            return
        self.summary.setText(
            f"<b>{_escape(flow.name)}</b><br>{plural(len(flow.nodes), 'node')}, "
            f"{plural(len(flow.edges), 'wire')}.<br><br>Select a node to edit its inputs and options."
        )

    def _replace_page(self, page: QWidget) -> None:
        # The rebuild often starts inside a signal of a widget on the old page (a
        # combo's `activated` when a parameter's type changes). Deleting that widget
        # now would pull it out from under its own signal and crash the process, so
        # the old page is detached and deleted once control is back in the event loop.
        old = self.takeWidget()
        self.setWidget(page)
        if old is not None:
            old.hide()
            old.deleteLater()

    def _build_node(self, page: QWidget, flow) -> None:
        node = flow.nodes[self.node_id]
        spec = flow.spec(node)
        head = QGroupBox("Node", page)
        form = QFormLayout(head)
        self.title_edit = QLineEdit(node.title, head)
        self.title_edit.editingFinished.connect(
            lambda: self.editor.rename(self.node_id, self.title_edit.text())
        )
        form.addRow("Title", self.title_edit)
        kind = QLabel(node.spec_key, head)
        kind.setTextInteractionFlags(Qt.TextSelectableByMouse)
        kind.setWordWrap(True)
        form.addRow("Type", kind)
        if spec is not None and spec.doc:
            doc = QLabel(spec.doc, head)
            doc.setWordWrap(True)
            doc.setObjectName("Doc")
            form.addRow(doc)
        if spec is not None and spec.nondeterministic:
            calls = ", ".join(f"{c}()" for c in list(spec.nondeterministic)[:3])
            hint = QLabel(
                f"⚠ Calls {_escape(calls)}: results are reused by inputs; set "
                "cache to never if this should rerun each time.",
                head,
            )
            hint.setWordWrap(True)
            hint.setObjectName("NondeterminismHint")
            form.addRow(hint)
        self.box.addWidget(head)
        if node.is_parameter:
            self._build_parameter(page, node)
            return
        inputs = QGroupBox("Inputs", page)
        form = QFormLayout(inputs)
        for port in flow.inputs(node):
            form.addRow(self._port_label(port), self._input_row(flow, port, inputs))
        if not flow.inputs(node):
            form.addRow(QLabel("This node takes no inputs.", inputs))
        self.box.addWidget(inputs)
        self._build_outputs(page, flow, node)
        self._build_options(page, flow, node)
        why = QGroupBox("Next run", page)
        self.why_label = QLabel(why)
        self.why_label.setObjectName("WhyItRuns")
        self.why_label.setWordWrap(True)
        self.why_label.setTextFormat(Qt.RichText)
        QVBoxLayout(why).addWidget(self.why_label)
        self.box.addWidget(why)
        self._fill_why()
        self._load_values()

    def _build_outputs(self, page: QWidget, flow, node) -> None:
        """Each output with its type: a tuple's items, keys split off a dict, where they go."""
        ports = flow.outputs(node)
        if not ports:
            return
        group = QGroupBox("Outputs", page)
        group.setObjectName("Outputs")
        form = QFormLayout(group)
        for port in ports:
            wired = [e for e in flow.edges_out_of(node.id) if e.source_port == port.name]
            shown = _escape(port.type_name) + (f" → {plural(len(wired), 'wire')}" if wired else "")
            text = QLabel(shown, group)
            text.setToolTip(port.description)
            form.addRow(self._port_label(port), text)
        self.box.addWidget(group)

    def _port_label(self, port: Port) -> QLabel:
        label = QLabel(port.name)
        label.setToolTip(f"{port.type_name}" + (f" — {port.description}" if port.description else ""))
        return label

    def _input_row(self, flow, port: Port, parent: QWidget) -> QWidget:
        edge = flow.edge_into(self.node_id, port.name)
        if edge is not None:
            source = flow.nodes[edge.source]
            return QLabel(f"← {source.title}.{edge.source_port}", parent)
        if not port.wireable:
            return QLabel("extra arguments (not editable here)", parent)
        editor = make_editor(port, parent)
        editor.edited.connect(lambda v, name=port.name: self.editor.set_value(self.node_id, name, v))
        editor.cleared.connect(lambda name=port.name: self.editor.set_value(self.node_id, name))
        self.value_editors[port.name] = editor
        return editor

    def _build_parameter(self, page: QWidget, node) -> None:
        group = QGroupBox("Parameter", page)
        form = QFormLayout(group)
        name = QLineEdit(group)
        name.editingFinished.connect(lambda: self._set_field("name", name.text().strip()))
        kind = QComboBox(group)
        kind.addItems(list(PARAMETER_TYPES))
        kind.activated.connect(lambda i: self._set_field("type", kind.itemText(i)))
        has_default = QCheckBox("has a default (else each run asks for it)", group)
        has_default.toggled.connect(self._toggle_default)
        port = Port("default", parameter_type(node.values.get("type", "any")))
        default = make_editor(port, group)
        default.reset.hide()
        default.edited.connect(lambda v: self._set_field("default", v))
        description = QLineEdit(group)
        description.editingFinished.connect(lambda: self._set_field("description", description.text()))
        form.addRow("Name", name)
        form.addRow("Type", kind)
        form.addRow(has_default)
        form.addRow("Default", default)
        form.addRow("Description", description)
        self.param_fields = {
            "name": name,
            "type": kind,
            "has_default": has_default,
            "default": default,
            "description": description,
        }
        self.box.addWidget(group)
        self._load_values()

    def _build_options(self, page: QWidget, flow, node) -> None:
        group = QGroupBox("Run options", page)
        form = QFormLayout(group)
        options = flow.options(node)
        retries = QSpinBox(group)
        retries.setRange(0, 100)
        retries.setValue(options.retries)
        retries.valueChanged.connect(lambda v: self._set_option("retries", int(v)))
        delay = FloatSpinBox(group)
        delay.setDecimals(3)  # to the millisecond
        delay.setRange(0, 86_400)
        delay.setSuffix(" s")
        delay.setValue(options.retry_delay)
        delay.valueChanged.connect(lambda v: self._set_option("retry_delay", float(v)))
        timeout = FloatSpinBox(group)
        timeout.setDecimals(3)  # to the millisecond
        timeout.setRange(0, 7 * 86_400)
        timeout.setSuffix(" s")
        timeout.setSpecialValueText("none")
        timeout.setValue(options.timeout or 0)
        timeout.valueChanged.connect(lambda v: self._set_option("timeout", float(v) or None))
        cache = QComboBox(group)
        cache.addItems(list(CACHE_POLICIES))
        cache.setCurrentText(options.cache)
        cache.activated.connect(lambda i: self._set_option("cache", cache.itemText(i)))
        expiry = FloatSpinBox(group)
        expiry.setDecimals(3)  # to the millisecond
        expiry.setRange(0, 365 * 86_400)
        expiry.setSuffix(" s")
        expiry.setSpecialValueText("never")
        expiry.setValue(options.cache_expiration or 0)
        expiry.valueChanged.connect(lambda v: self._set_option("cache_expiration", float(v) or None))
        for box in (retries, delay, timeout, expiry):
            box.setKeyboardTracking(False)
        form.addRow("Retries", retries)
        form.addRow("Retry delay", delay)
        form.addRow("Timeout", timeout)
        form.addRow("Cache", cache)
        form.addRow("Cache expires after", expiry)
        self.option_fields = {
            "retries": retries,
            "retry_delay": delay,
            "timeout": timeout,
            "cache": cache,
            "cache_expiration": expiry,
        }
        self.box.addWidget(group)

    # -- values ------------------------------------------------------------

    def _load_values(self) -> None:
        flow = self.editor.flow
        node = flow.nodes.get(self.node_id)
        if node is None:
            return
        if self.title_edit is not None and not self.title_edit.hasFocus():
            self.title_edit.setText(node.title)
        for name, editor in self.value_editors.items():
            is_set = name in node.values
            value = (
                node.values[name]
                if is_set
                else (None if editor.port.default is REQUIRED else editor.port.default)
            )
            editor.show_value(value, is_set)
        if self.param_fields:
            f, v = self.param_fields, node.values
            for key in ("name", "description"):
                if not f[key].hasFocus():
                    f[key].setText(str(v.get(key, "")))
            f["type"].setCurrentText(v.get("type", "any"))
            f["has_default"].blockSignals(True)
            f["has_default"].setChecked("default" in v)
            f["has_default"].blockSignals(False)
            f["default"].setEnabled("default" in v)
            f["default"].show_value(v.get("default"), "default" in v)

    def _load_options(self) -> None:
        options = self.editor.flow.options(self.node_id)
        for name, box in getattr(self, "option_fields", {}).items():
            value = getattr(options, name)
            box.blockSignals(True)
            if isinstance(box, QComboBox):
                box.setCurrentText(value)
            else:
                box.setValue(value or 0)
            box.blockSignals(False)

    def _set_field(self, name: str, value) -> None:
        if self.editor.set_value(self.node_id, name, value):
            self._load_values()  # refused: show the model's value again

    def _toggle_default(self, on: bool) -> None:
        if on:
            kind = self.editor.flow.nodes[self.node_id].values.get("type", "any")
            start = {
                "str": "",
                "int": 0,
                "float": 0.0,
                "bool": False,
                "list": [],
                "dict": {},
                "path": "",
            }.get(kind)
            self._set_field("default", start)
        else:
            self.editor.set_value(self.node_id, "default")

    def _set_option(self, name: str, value) -> None:
        if self.node_id is not None:
            self.editor.set_option(self.node_id, name, value)

    def _fill_why(self) -> None:
        if self.why_label is None:
            return
        found = self.explanations.get(self.node_id)
        if found is None:
            if self.explanations:
                text = "—"
            elif self.problems:
                text = "<i>Not known while the flow has problems.</i>"
            else:
                text = "<i>Working out what the next run reuses…</i>"
            self.why_label.setText(text)
            return
        head = {
            "cached": "↺ Reused from the cache",
            "will run": "▶ Will run",
            "waits": "… Waits for its inputs",
        }.get(found.state, found.state)
        lines = [f"<b>{head}</b>"] + [f"• {_escape(r)}" for r in found.reasons]
        self.why_label.setText("<br>".join(lines))

    def _fill_problems(self) -> None:
        mine = [p for p in self.problems if self.node_id is None or p.node_id == self.node_id]
        self.problem_box.setVisible(bool(mine))
        self.problem_list.setText("<br>".join(f"⚠ {_escape(p.message)}" for p in mine[:50]))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""The run dialog: one field per flow parameter, checked as it is typed, and run options.

Each field is the inspector's editor for the type where one fits (text,
paths, booleans, JSON for lists and dicts); numbers, dates and `any` are
typed as text, so a wrong value can be written, and is refused beside the
field with pydantic's reason. Run stays disabled until every field is valid.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from plait.runtime.nodes.spec import REQUIRED, Port
from plait.widgets.editors import BoolEditor, JsonEditor, TextEditor

EXECUTORS = (
    ("local", "Local worker processes"),
    ("inline", "Inline (this process, debugging)"),
    ("dask", "Dask cluster"),
)
_TEXT_KINDS = ("int", "float", "date", "datetime", "any")


@dataclass
class RunChoices:
    """How to run: the dialog's options, remembered between runs."""

    executor: str = "local"
    address: str = ""
    max_workers: int | None = None
    ignore_cache: bool = False


def check_value(param, raw: Any) -> tuple[Any, str | None]:
    """(the value as the parameter's type, None) or (None, why it does not fit)."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(param.annotation).validate_python(raw), None
    except ValidationError as exc:
        return None, exc.errors()[0].get("msg", str(exc))


def _from_text(text: str, kind: str) -> Any:
    """What typed text stands for: for `any`, a JSON or Python literal, else the text."""
    if kind != "any":
        return text
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=str)


class ParameterField(QWidget):
    """One parameter's editor, its error line and its help."""

    changed = Signal()

    def __init__(self, param, value: Any, parent=None) -> None:
        super().__init__(parent)
        self.param = param
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        port = Port(param.name, param.annotation, REQUIRED if param.required else param.default)
        kind = param.type
        self.line: QLineEdit | None = None
        if kind == "bool":
            self.editor = BoolEditor(port, self)
            self.editor.widget.toggled.connect(lambda _: self._check())
        elif kind in ("str", "path"):
            self.editor = TextEditor(port, path=kind == "path", parent=self)
            self.line = self.editor.widget
        elif kind in ("list", "dict"):
            self.editor = JsonEditor(port, self)
            self.editor.widget.textChanged.connect(self._check)
        else:
            self.editor = None
            self.line = QLineEdit(self)
            self.line.setPlaceholderText(
                {
                    "date": "YYYY-MM-DD",
                    "datetime": "YYYY-MM-DD HH:MM:SS",
                    "any": "a value, e.g. 3, 'text' or [1, 2]",
                }.get(kind, kind)
            )
        if self.editor is not None:
            self.editor.reset.hide()
            box.addWidget(self.editor)
        else:
            box.addWidget(self.line)
        if self.line is not None:
            self.line.textChanged.connect(lambda _: self._check())
            if not param.required and kind in _TEXT_KINDS:
                self.line.setPlaceholderText(f"default: {_as_text(param.default) or 'None'}")
        self.error = QLabel(self)
        self.error.setObjectName("FieldError")
        self.error.setStyleSheet("color: #d93838;")
        self.error.setWordWrap(True)
        box.addWidget(self.error)
        if param.description:
            help_text = QLabel(param.description, self)
            help_text.setObjectName("Dim")
            help_text.setWordWrap(True)
            box.addWidget(help_text)
            self.setToolTip(param.description)
        self.set_value(value)

    @property
    def input_widget(self) -> QWidget:
        """The widget a person types into or clicks."""
        return self.line if self.line is not None else self.editor.widget

    def set_value(self, value: Any) -> None:
        if self.param.type == "bool":
            self.editor.widget.setChecked(bool(value))
        elif self.param.type in ("list", "dict"):
            self.editor.show_value(value, True)
        else:
            self.line.setText(_as_text(value) if self.param.type != "any" or value is not None else "")
        self._check()

    def raw(self) -> tuple[Any, bool]:
        """(what is entered, whether anything is)."""
        kind = self.param.type
        if kind == "bool":
            return self.editor.widget.isChecked(), True
        if kind in ("list", "dict"):
            text = self.editor.widget.toPlainText().strip()
            if not text:
                return None, False
            try:
                return json.loads(text), True
            except ValueError as exc:
                return _Invalid(f"not valid JSON: {exc}"), True
        text = self.line.text()
        if kind in _TEXT_KINDS:
            text = text.strip()
        if text == "" and kind not in ("str",):
            return None, False
        return _from_text(text, kind), True

    def value(self) -> tuple[Any, str | None]:
        raw, given = self.raw()
        if isinstance(raw, _Invalid):
            return None, raw.reason
        if not given:
            if not self.param.required:  # empty: the default
                return check_value(self.param, self.param.default)
            return None, f"needs a value ({self.param.type})"
        return check_value(self.param, raw)

    def _check(self) -> None:
        _, error = self.value()
        self.error.setText(error or "")
        self.error.setVisible(bool(error))
        widget = self.input_widget
        widget.setProperty("invalid", bool(error))
        widget.style().unpolish(widget)
        widget.style().polish(widget)
        self.changed.emit()


@dataclass
class _Invalid:
    reason: str


class ParameterDialog(QDialog):
    """Ask for a run's parameter values and options; `values()` after it is accepted."""

    def __init__(
        self, flow_name: str, parameters: list, values: dict[str, Any], choices: RunChoices, parent=None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ParameterDialog")
        self.setWindowTitle(f"Run {flow_name}")
        self.parameters = parameters
        self.fields: dict[str, ParameterField] = {}
        form_page = QWidget(self)
        form = QFormLayout(form_page)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        for param in parameters:
            value = values.get(param.name, None if param.required else param.default)
            field = ParameterField(param, value, form_page)
            field.changed.connect(self._update_run_button)
            label = QLabel(f"{param.name}{' *' if param.required else ''}", form_page)
            label.setToolTip(
                f"{param.type}" + (" (required)" if param.required else f", default {param.default!r}")
            )
            label.setAlignment(Qt.AlignRight | Qt.AlignTop)
            form.addRow(label, field)
            self.fields[param.name] = field
        scroll = QScrollArea(self)
        scroll.setWidget(form_page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)

        options = QGroupBox("Options", self)
        options_form = QFormLayout(options)
        self.executor = QComboBox(options)
        for name, text in EXECUTORS:
            self.executor.addItem(text, name)
        self.executor.setCurrentIndex(
            max(
                0,
                [n for n, _ in EXECUTORS].index(choices.executor)
                if choices.executor in dict(EXECUTORS)
                else 0,
            )
        )
        self.address = QLineEdit(choices.address, options)
        self.address.setPlaceholderText("tcp://host:8786 (empty: a local cluster)")
        self.max_workers = QSpinBox(options)
        self.max_workers.setRange(0, 512)
        self.max_workers.setSpecialValueText("automatic")
        self.max_workers.setValue(choices.max_workers or 0)
        self.ignore_cache = QCheckBox("Ignore the cache (run every node)", options)
        self.ignore_cache.setChecked(choices.ignore_cache)
        options_form.addRow("Executor", self.executor)
        options_form.addRow("Dask address", self.address)
        options_form.addRow("Max workers", self.max_workers)
        options_form.addRow(self.ignore_cache)
        self.executor.currentIndexChanged.connect(self._executor_changed)
        self._executor_changed()

        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel, self)
        self.run_button = self.buttons.addButton("Run", QDialogButtonBox.AcceptRole)
        self.run_button.setObjectName("RunButton")
        self.run_button.setDefault(True)
        self.load_button = QPushButton("Load JSON…", self)
        self.load_button.setToolTip("Fill the fields from a JSON parameters file")
        self.buttons.addButton(self.load_button, QDialogButtonBox.ActionRole)
        self.load_button.clicked.connect(self._load_file)
        self.defaults_button = QPushButton("Defaults", self)
        self.defaults_button.setToolTip("Put every parameter back to its default")
        self.buttons.addButton(self.defaults_button, QDialogButtonBox.ResetRole)
        self.defaults_button.clicked.connect(self.reset_defaults)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.message = QLabel(self)
        self.message.setObjectName("FieldError")
        self.message.setStyleSheet("color: #d93838;")
        self.message.setWordWrap(True)
        self.message.hide()

        box = QVBoxLayout(self)
        if not parameters:
            box.addWidget(QLabel("This flow has no parameters.", self))
        box.addWidget(scroll, 1)
        box.addWidget(options)
        box.addWidget(self.message)
        box.addWidget(self.buttons)
        self.resize(520, min(760, 220 + 70 * len(parameters)))
        self._update_run_button()
        first = next(iter(self.fields.values()), None)
        if first is not None:
            first.input_widget.setFocus()

    # -- values ------------------------------------------------------------

    def errors(self) -> dict[str, str]:
        return {name: error for name, field in self.fields.items() for _, error in [field.value()] if error}

    def values(self) -> dict[str, Any]:
        """Every parameter's validated value, as plain JSON (to pass on and remember)."""
        from pydantic import TypeAdapter

        out = {}
        for name, field in self.fields.items():
            value, error = field.value()
            if error is None:
                out[name] = TypeAdapter(field.param.annotation).dump_python(value, mode="json")
        return out

    def choices(self) -> RunChoices:
        workers = self.max_workers.value()
        return RunChoices(
            self.executor.currentData(),
            self.address.text().strip(),
            workers or None,
            self.ignore_cache.isChecked(),
        )

    def set_values(self, values: dict[str, Any]) -> list[str]:
        """Fill fields from a dict; returns the names that are not parameters of the flow."""
        unknown = [n for n in values if n not in self.fields]
        for name, value in values.items():
            if name in self.fields:
                self.fields[name].set_value(value)
        return unknown

    def reset_defaults(self) -> None:
        for field in self.fields.values():
            field.set_value(None if field.param.required else field.param.default)

    def _load_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Parameters file", "", "JSON (*.json)")
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as fh:
                loaded = json.load(fh)
        except (OSError, ValueError) as exc:
            self._say(f"Cannot read {path}: {exc}")
            return
        if not isinstance(loaded, dict):
            self._say(f'{path} must hold a JSON object: {{"name": value, …}}')
            return
        unknown = self.set_values(loaded)
        self._say(f"Not parameters of this flow: {', '.join(unknown)}" if unknown else "")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _update_run_button(self) -> None:
        errors = self.errors()
        self.run_button.setEnabled(not errors)
        self.run_button.setToolTip("" if not errors else "Fix: " + ", ".join(errors))

    def _executor_changed(self) -> None:
        self.address.setEnabled(self.executor.currentData() == "dask")

    def _accept(self) -> None:
        if not self.errors():
            self.accept()

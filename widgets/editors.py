"""One editor per input type, for constant values in the inspector.

Each editor shows a value and emits `edited(value)` with a JSON-able value
when the person commits a change; it never touches the model. Invalid text
(bad JSON, not a Python literal) is marked and not emitted.
"""

from __future__ import annotations

import ast
import enum
import json
import pathlib
import typing
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from plait.runtime.nodes.spec import REQUIRED, Port

INT_LIMIT = 2_000_000_000


def base_type(annotation: Any) -> Any:
    """The annotation without Annotated and Optional wrappers."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return base_type(members[0])
    return annotation


def editor_kind(port: Port) -> str:
    """Which editor fits a port: choice, bool, int, float, str, path, json or expression."""
    if port.choices:
        return "choice"
    tp = base_type(port.annotation)
    origin = typing.get_origin(tp) or tp
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is str:
        return "str"
    if isinstance(tp, type) and issubclass(tp, pathlib.PurePath):
        return "path"
    if origin in (list, dict, tuple, set) or typing.is_typeddict(tp):
        return "json"
    return "expression"


def choice_value(choice: Any) -> Any:
    """How a choice is stored: Enum members by name (names are always JSON-able)."""
    return choice.name if isinstance(choice, enum.Enum) else choice


class ValueEditor(QWidget):
    """Base: a row with the editor and a reset button (back to the type's default)."""

    edited = Signal(object)
    cleared = Signal()

    def __init__(self, port: Port, parent=None) -> None:
        super().__init__(parent)
        self.port = port
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(3)
        self.reset = QToolButton(self)
        self.reset.setText("⟲")
        self.reset.setToolTip("Back to the default" if port.default is not REQUIRED else "Clear the value")
        self.reset.clicked.connect(self.cleared.emit)
        self._loading = False

    def finish(self, widget: QWidget) -> None:
        self.widget = widget
        self.row.addWidget(widget, 1)
        self.row.addWidget(self.reset)
        self.setFocusProxy(widget)

    def show_value(self, value: Any, is_set: bool) -> None:
        self._loading = True
        try:
            self._show(value)
        finally:
            self._loading = False
        self.reset.setEnabled(is_set)

    def _emit(self, value: Any) -> None:
        if not self._loading:
            self.edited.emit(value)

    def _mark(self, error: str | None) -> None:
        self.widget.setProperty("invalid", bool(error))
        self.widget.setToolTip(error or "")
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)

    def _show(self, value: Any) -> None:
        raise NotImplementedError


class ChoiceEditor(ValueEditor):
    def __init__(self, port: Port, parent=None) -> None:
        super().__init__(port, parent)
        combo = QComboBox(self)
        self.values = [choice_value(c) for c in port.choices]
        for value in self.values:
            combo.addItem(repr(value) if not isinstance(value, str) else value)
        combo.activated.connect(lambda i: self._emit(self.values[i]))
        self.finish(combo)

    def _show(self, value: Any) -> None:
        value = choice_value(value)
        self.widget.setCurrentIndex(self.values.index(value) if value in self.values else -1)


class BoolEditor(ValueEditor):
    def __init__(self, port: Port, parent=None) -> None:
        super().__init__(port, parent)
        box = QCheckBox(self)
        box.toggled.connect(self._emit)
        self.finish(box)

    def _show(self, value: Any) -> None:
        self.widget.setChecked(bool(value))


class FloatSpinBox(QDoubleSpinBox):
    """A float box that shows a value as typed: 6.4, not 6.400000 (up to its decimals)."""

    def textFromValue(self, value: float) -> str:
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if point in text:
            whole, fraction = text.split(point, 1)
            text = f"{whole}{point}{fraction.rstrip('0') or '0'}"
        return text


class NumberEditor(ValueEditor):
    def __init__(self, port: Port, is_int: bool, parent=None) -> None:
        super().__init__(port, parent)
        box = QSpinBox(self) if is_int else FloatSpinBox(self)
        low = port.minimum if port.minimum is not None else -INT_LIMIT
        high = port.maximum if port.maximum is not None else INT_LIMIT
        if is_int:
            box.setRange(int(low), int(high))
        else:
            box.setDecimals(6)
            box.setRange(float(low), float(high))
            box.setSingleStep(0.1 if port.maximum is None or port.maximum - low > 2 else 0.01)
        if port.minimum is not None or port.maximum is not None:
            box.setToolTip(f"from {low:g} to {high:g}")
        box.setKeyboardTracking(False)
        box.valueChanged.connect(lambda v: self._emit(int(v) if is_int else float(v)))
        self.finish(box)

    def _show(self, value: Any) -> None:
        try:
            self.widget.setValue(value if value is not None else 0)
        except TypeError:
            self.widget.clear()


class TextEditor(ValueEditor):
    """A line of text; with `path`, a button to pick a file."""

    def __init__(self, port: Port, path: bool = False, parent=None) -> None:
        super().__init__(port, parent)
        line = QLineEdit(self)
        line.editingFinished.connect(lambda: self._emit(line.text()))
        self.finish(line)
        if path:
            pick = QToolButton(self)
            pick.setText("…")
            pick.setToolTip("Choose a file")
            pick.clicked.connect(self._pick)
            self.row.insertWidget(1, pick)

    def _pick(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, f"Choose {self.port.name}", self.widget.text())
        if name:
            self.widget.setText(name)
            self._emit(name)

    def _show(self, value: Any) -> None:
        self.widget.setText("" if value is None else str(value))


class JsonEditor(ValueEditor):
    """Lists and dicts as JSON, checked as typed and applied on focus out."""

    def __init__(self, port: Port, parent=None) -> None:
        super().__init__(port, parent)
        text = _CommitText(self)
        text.setFixedHeight(58)
        text.setPlaceholderText('JSON, e.g. [1, 2, 3] or {"a": 1}')
        text.textChanged.connect(self._check)
        text.committed.connect(self._commit)
        self.finish(text)

    def _parse(self) -> tuple[Any, str | None]:
        raw = self.widget.toPlainText().strip()
        if not raw:
            return None, "empty"
        try:
            return json.loads(raw), None
        except ValueError as exc:
            return None, f"not valid JSON: {exc}"

    def _check(self) -> None:
        if not self._loading:
            self._mark(self._parse()[1] if self.widget.toPlainText().strip() else None)

    def _commit(self) -> None:
        value, error = self._parse()
        if error is None:
            self._emit(value)

    def _show(self, value: Any) -> None:
        self.widget.setPlainText("" if value is None else json.dumps(value))
        self._mark(None)


class ExpressionEditor(ValueEditor):
    """Any other type: a Python literal (number, text in quotes, list, dict, None)."""

    def __init__(self, port: Port, parent=None) -> None:
        super().__init__(port, parent)
        line = QLineEdit(self)
        line.setPlaceholderText("a Python literal, e.g. 3, 'text', [1, 2]")
        line.editingFinished.connect(self._commit)
        line.textEdited.connect(lambda _: self._mark(self._parse()[1]))
        self.finish(line)

    def _parse(self) -> tuple[Any, str | None]:
        raw = self.widget.text().strip()
        try:
            value = ast.literal_eval(raw)
            json.dumps(value, allow_nan=False)
        except (ValueError, SyntaxError, TypeError) as exc:
            return None, f"not a value Plait can save: {exc}"
        return value, None

    def _commit(self) -> None:
        value, error = self._parse()
        self._mark(error)
        if error is None:
            self._emit(value)

    def _show(self, value: Any) -> None:
        self.widget.setText("" if value is None and self.port.default is REQUIRED else repr(value))


class _CommitText(QPlainTextEdit):
    committed = Signal()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.committed.emit()

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter) and event.modifiers() & Qt.ControlModifier:
            self.committed.emit()
            return
        super().keyPressEvent(event)


def make_editor(port: Port, parent=None) -> ValueEditor:
    kind = editor_kind(port)
    if kind == "choice":
        return ChoiceEditor(port, parent)
    if kind == "bool":
        return BoolEditor(port, parent)
    if kind in ("int", "float"):
        return NumberEditor(port, kind == "int", parent)
    if kind in ("str", "path"):
        return TextEditor(port, kind == "path", parent)
    if kind == "json":
        return JsonEditor(port, parent)
    return ExpressionEditor(port, parent)

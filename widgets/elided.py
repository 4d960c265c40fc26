"""Text that shortens itself to the room it has, the whole of it in a tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel, QSizePolicy

# Elide a little short of the room: text drawn under a zoom or with other hinting than the
# metrics assumed comes out a hair wider, and must not be cut through a glyph.
MARGIN = 2.0


def elide(metrics: QFontMetricsF, text: str, width: float, mode=Qt.ElideRight) -> str:
    """`text` shortened with "…" to fit `width`, whole letters only."""
    return metrics.elidedText(text, mode, max(0.0, width - MARGIN))


class ElidedLabel(QLabel):
    """One line that shortens itself to its width, the whole text in its tooltip when it is cut.

    A plain QLabel is as wide as its text: a long name would widen a whole dock or the status
    bar, or be clipped through a letter once the window has no room.
    """

    def __init__(self, parent=None, mode=Qt.ElideRight, grow: bool = False) -> None:
        super().__init__(parent)
        self.full_text = ""
        self.mode = mode
        self.grow = grow  # asks for its whole text's width (a status bar's label)
        self.setSizePolicy(QSizePolicy.Preferred if grow else QSizePolicy.Ignored, QSizePolicy.Fixed)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self._elide()
        self.updateGeometry()

    def text_is_cut(self) -> bool:
        return self.text() != self.full_text

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.grow:
            hint.setWidth(
                int(
                    self.fontMetrics().horizontalAdvance(self.full_text)
                    + 2 * MARGIN
                    + self.contentsMargins().left()
                    + self.contentsMargins().right()
                )
            )
        return hint

    def minimumSizeHint(self) -> QSize:
        return QSize(40, super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = elide(QFontMetricsF(self.font()), self.full_text, self.contentsRect().width(), self.mode)
        self.setText(shown)
        self.setToolTip(self.full_text if shown != self.full_text else "")

"""The banner over the canvas of a workspace whose code has not run here yet."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

MAX_LISTED = 8  # files and modules named before "and N more"


def _listing(names: list[str]) -> str:
    shown = ", ".join(html.escape(n) for n in names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


class TrustBanner(QFrame):
    """Says that the workspace is restricted, what its code is, and offers to trust it."""

    trust_requested = Signal()
    stay_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("TrustBanner")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet(
            "#TrustBanner { background: #fff4d6; border: 1px solid #e0b84c; border-radius: 4px; }"
            "#TrustBanner QLabel { color: #3d2f00; }"
        )
        self.title = QLabel("<b>This workspace's code has not run on this computer</b>", self)
        self.detail = QLabel(self)
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.RichText)
        self.trust_button = QPushButton("&Trust", self)
        self.trust_button.setObjectName("trust_button")
        self.trust_button.setToolTip("Run this folder's code: load its nodes, allow runs and previews")
        self.stay_button = QPushButton("Stay &restricted", self)
        self.stay_button.setObjectName("stay_restricted_button")
        self.stay_button.setToolTip(
            "Keep looking without running anything; File > Trust this workspace later"
        )
        self.trust_button.clicked.connect(self.trust_requested)
        self.stay_button.clicked.connect(self.stay_requested)
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addLayout(text, 1)
        layout.addWidget(self.trust_button, 0, Qt.AlignVCenter)
        layout.addWidget(self.stay_button, 0, Qt.AlignVCenter)
        self.hide()

    def show_for(self, files: list[str], modules: list[str]) -> None:
        """Name the folder's Python files and the modules they import, then show."""
        lines = [
            f"Its nodes are shown from their source, but nothing is imported, run or read from "
            f"its cache until you trust it. Python files: {_listing(files)}."
        ]
        if modules:
            lines.append(f"They import: {_listing(modules)}.")
        else:
            lines.append("They import only the standard library.")
        self.detail.setText(" ".join(lines))
        self.show()

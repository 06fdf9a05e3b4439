"""The window's status bar: passing messages in a place of their own that elides, never over the
cursor offset and selection.

QStatusBar draws a temporary message (showMessage, and the status tips Qt shows for menu items)
itself, clipped at the first permanent widget without any sign that text is missing. Here the
first permanent widget is an eliding label that takes the free width; every message the bar
receives (``messageChanged``) goes to it, and the bar no longer draws messages itself. The
permanent widgets after it (offset, selection, size, mode, INS/OVR …) keep their full width:
the message gives up width first.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QLabel,
    QSizePolicy,
    QStatusBar,
    QStyle,
    QStyleOption,
    QWidget,
)


class ElidedLabel(QLabel):
    """A one-line label that shows as much of its text as fits, then “…”; the tooltip has it all.

    ``shrink_first``: it asks for no width at all and takes what the others leave (the message
    place); otherwise it asks for its text's width but may shrink to a few characters, so a long
    text never holds the window wider than 640 pixels.
    """

    def __init__(self, parent: QWidget | None = None, *, shrink_first: bool = True) -> None:
        super().__init__(parent)
        self._full = ""
        self._shrink_first = shrink_first
        horizontal = QSizePolicy.Policy.Ignored if shrink_first else QSizePolicy.Policy.Preferred
        self.setSizePolicy(horizontal, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self.setTextFormat(Qt.TextFormat.PlainText)

    @property
    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = " ".join(text.split("\n"))
        self.setToolTip(self._full)
        self._elide()

    @property
    def elided(self) -> bool:
        return super().text() != self._full

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right()
        return QSize(min(width, self.maximumWidth()), hint.height())

    def minimumSizeHint(self) -> QSize:
        least = 0 if self._shrink_first else self.fontMetrics().horizontalAdvance("abcd…")
        return QSize(least, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        if shown != super().text():
            super().setText(shown)


class StatusBar(QStatusBar):
    """A QStatusBar whose messages live in ``message_label`` (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_label = ElidedLabel(self)
        self.message_label.setObjectName("statusMessage")
        self.message_label.setContentsMargins(0, 0, 12, 0)  # a gap before the cursor offset
        self.addPermanentWidget(self.message_label, 1)  # first: left of every other one
        self.messageChanged.connect(self.message_label.set_full_text)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The panel only: the message is the label's to draw, elided, not the bar's, clipped."""
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, option, painter, self)
        painter.end()

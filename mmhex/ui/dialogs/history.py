"""The undo history panel (Edit ▸ Undo History): Qt's QUndoView over the editing undo stack.

Clicking a line undoes or redoes up to it; the line whose state is on disk carries a mark.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QUndoStack
from PySide6.QtWidgets import QLabel, QUndoView, QVBoxLayout, QWidget

EMPTY_LABEL = "File as opened"


def saved_mark(size: int = 12) -> QIcon:
    """A small filled disc: marks the history line that matches the file on disk."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(40, 160, 80))
        painter.drawEllipse(QPointF(size / 2, size / 2), size / 2 - 1, size / 2 - 1)
    finally:
        painter.end()
    return QIcon(pixmap)


class HistoryPanel(QWidget):
    """Every undo step, oldest first; the current state is selected."""

    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QUndoView(stack, self)
        self.view.setEmptyLabel(EMPTY_LABEL)
        self.view.setCleanIcon(saved_mark())
        self.view.setAlternatingRowColors(True)
        hint = QLabel("Click a step to go back to it. ● = saved on disk.", self)
        hint.setWordWrap(True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addWidget(hint)

    def entries(self) -> list[str]:
        """The lines shown, top to bottom (for tests and screen readers)."""
        model = self.view.model()
        return [model.index(row, 0).data() for row in range(model.rowCount())]

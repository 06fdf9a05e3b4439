"""DifferenceBar: a thin strip beside a grid's scrollbar marking where differences lie in the file.

Each pixel row stands for ``size / height`` bytes and is marked when any differing range falls
in it; the rows on screen are framed. Marks are computed once per result (and extended as a
running compare adds ranges), not per paint. Clicking jumps there.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import QWidget

from mmhex.core.compare import DiffRange

BAR_WIDTH = 14


class DifferenceBar(QWidget):
    """Marks of differing ranges over the whole length of one side (A or B)."""

    offset_clicked = Signal(object)

    def __init__(self, side: str, color: QColor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side = side  # "a" or "b": which offsets of a DiffRange to draw
        self.color = QColor(color)
        self.color.setAlpha(255)
        self.setFixedWidth(BAR_WIDTH)
        self.setToolTip("Where the differences are in the whole file (click to jump)")
        self._size = 0
        self._ranges: Sequence[DiffRange] = ()
        self._counted = 0
        self._marks = bytearray()
        self._visible = (0, 0)

    def sizeHint(self) -> QSize:
        return QSize(BAR_WIDTH, 100)

    @property
    def marks(self) -> bytes:
        """One byte per pixel row, 1 where a difference lies (for tests)."""
        self._extend()
        return bytes(self._marks)

    def set_ranges(self, ranges: Sequence[DiffRange], size: int) -> None:
        """Show ``ranges`` (a list the caller may keep appending to) over ``size`` bytes."""
        self._ranges, self._size, self._counted = ranges, size, 0
        self._marks = bytearray(max(1, self.height()))
        self.update()

    def ranges_added(self) -> None:
        """The list given to set_ranges grew: mark the new ones at the next paint."""
        self.update()

    def set_visible_range(self, start: int, end: int) -> None:
        self._visible = (start, end)
        self.update()

    def _row(self, offset: int) -> int:
        return min(len(self._marks) - 1, offset * len(self._marks) // max(1, self._size))

    def _extend(self) -> None:
        ranges = self._ranges
        marks = self._marks
        for diff in ranges[self._counted :]:
            start = diff.a if self.side == "a" else diff.b
            first, last = self._row(start), self._row(start + diff.length - 1)
            marks[first : last + 1] = b"\x01" * (last - first + 1)
        self._counted = len(ranges)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._marks = bytearray(max(1, self.height()))
        self._counted = 0

    def paintEvent(self, event: QPaintEvent) -> None:
        self._extend()
        painter = QPainter(self)
        try:
            palette = self.palette()
            painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.AlternateBase))
            width = self.width()
            row = 0
            marks = self._marks
            while row < len(marks):
                if not marks[row]:
                    row += 1
                    continue
                end = row
                while end < len(marks) and marks[end]:
                    end += 1
                # At least 2 px, so a single differing byte in a terabyte stays visible.
                painter.fillRect(QRectF(1, row, width - 2, max(2, end - row)), self.color)
                row = end
            if self._size:
                top = self._row(self._visible[0])
                bottom = self._row(max(self._visible[0], self._visible[1] - 1))
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                painter.drawRect(QRectF(0.5, top + 0.5, width - 1, max(3, bottom - top + 1)))
        finally:
            painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._size:
            fraction = min(max(event.position().y() / max(1, self.height()), 0.0), 1.0)
            self.offset_clicked.emit(min(self._size - 1, int(fraction * self._size)))

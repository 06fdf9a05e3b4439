"""Find-all results: a table model that fills as the worker reports, a panel that shows it, and a
highlighter that shades every hit in the hex grid.

The model stores only match offsets; the hex/text context of a row is read from the document when
the row is first shown (a million results cost a few megabytes, not a million reads).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.formats import PRINTABLE
from mmhex.core.search import Match

CONTEXT = 8  # bytes of text shown on each side of a match
MAX_HEX = 16  # bytes of a match shown in hex ("…" beyond)
HIT_COLOR = QColor(255, 200, 0, 110)  # translucent amber: readable on light and dark themes
CURRENT_COLOR = QColor(255, 120, 0, 170)

Reader = Callable[[int, int], bytes]
Index = QModelIndex | QPersistentModelIndex


class SearchResultsModel(QAbstractTableModel):
    """Offset | Hex | Text rows for find-all matches, appended in batches while a search runs."""

    COLUMNS = ("Offset", "Hex", "Text")
    summary_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._read: Reader | None = None
        self._context: dict[int, tuple[str, str]] = {}
        self.truncated = False
        self.running = False
        self.description = ""
        self.current: Match | None = None  # the hit the cursor is on (painted stronger)

    # ----------------------------------------------------------------- filling
    def begin(self, read: Reader | None, description: str = "") -> None:
        """Forget old results; ``read(offset, n)`` supplies context bytes (Document.read)."""
        self.beginResetModel()
        self._starts, self._ends = [], []
        self._context.clear()
        self._read = read
        self.truncated = False
        self.running = True
        self.description = description
        self.current = None
        self.endResetModel()
        self.summary_changed.emit(self.summary())

    def add_batch(self, matches: list[Match]) -> None:
        if not matches:
            return
        first = len(self._starts)
        self.beginInsertRows(QModelIndex(), first, first + len(matches) - 1)
        self._starts.extend(m.start for m in matches)
        self._ends.extend(m.end for m in matches)
        self.endInsertRows()
        self.summary_changed.emit(self.summary())

    def finish(self, *, truncated: bool) -> None:
        self.running = False
        self.truncated = truncated
        self.summary_changed.emit(self.summary())

    def clear(self) -> None:
        self.begin(None)
        self.running = False
        self.summary_changed.emit(self.summary())

    # ----------------------------------------------------------------- reading
    def match_at(self, row: int) -> Match:
        return Match(self._starts[row], self._ends[row])

    def matches(self) -> list[Match]:
        return [Match(s, e) for s, e in zip(self._starts, self._ends, strict=True)]

    def row_of(self, offset: int) -> int | None:
        """The row of the match starting at ``offset`` (None if there is none)."""
        row = bisect.bisect_left(self._starts, offset)
        return row if row < len(self._starts) and self._starts[row] == offset else None

    def summary(self) -> str:
        count = len(self._starts)
        if self.running:
            return f"Searching… {count:,} found so far"
        if not self.description and not count:
            return ""
        if self.truncated:
            return f"{count:,}+ results (the list stops at {count:,})"
        if count == 0:
            return "No results"
        return f"{count:,} result" + ("" if count == 1 else "s")

    # ----------------------------------------------------------------- highlighting
    def highlights(self, start: int, end: int) -> Iterable[tuple[int, int, QColor]]:
        """HexView highlighter: the hits overlapping ``[start, end)``."""
        starts, ends = self._starts, self._ends
        # Matches are sorted by start and (for one pattern) never longer than the longest, so
        # look back from the first start ≥ end far enough to catch hits reaching into view.
        hi = bisect.bisect_left(starts, end)
        lo = bisect.bisect_left(starts, start)
        while lo > 0 and ends[lo - 1] > start:
            lo -= 1
        current = self.current
        for i in range(lo, hi):
            if ends[i] > start:
                color = CURRENT_COLOR if current and current.start == starts[i] else HIT_COLOR
                yield (starts[i], ends[i], color)

    # ----------------------------------------------------------------- Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._starts)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{self._starts[row]:#x}"
            hex_text, text = self._context_of(row)
            return hex_text if column == 1 else text
        if role == Qt.ItemDataRole.ToolTipRole and column == 0:
            start, end = self._starts[row], self._ends[row]
            return f"{start:,} (decimal), {end - start:,} bytes"
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _context_of(self, row: int) -> tuple[str, str]:
        cached = self._context.get(row)
        if cached is not None:
            return cached
        start, end = self._starts[row], self._ends[row]
        if self._read is None:
            return "", ""
        try:
            before_start = max(0, start - CONTEXT)
            data = self._read(
                before_start, (start - before_start) + min(end - start, MAX_HEX) + CONTEXT
            )
        except OSError:
            return "?", "(the bytes can no longer be read)"
        lead = start - before_start
        shown = data[lead : lead + min(end - start, MAX_HEX)]
        hex_text = shown.hex(" ").upper() + (" …" if end - start > MAX_HEX else "")
        text = data.translate(PRINTABLE).decode("ascii")
        marked = f"{text[:lead]}[{text[lead : lead + len(shown)]}]{text[lead + len(shown) :]}"
        result = (hex_text, marked)
        if len(self._context) > 50_000:
            self._context.clear()  # bounded memory for huge result lists
        self._context[row] = result
        return result


class SearchResultsPanel(QWidget):
    """The results list for a dock: a summary line over the table; click a row to jump."""

    activated = Signal(object)  # Match

    def __init__(self, model: SearchResultsModel | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model or SearchResultsModel(self)
        self.summary = QLabel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        self.table.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(1, 260)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.model.summary_changed.connect(self.summary.setText)
        self.table.clicked.connect(self._activate)
        self.table.activated.connect(self._activate)

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            match = self.model.match_at(index.row())
            self.model.current = match
            self.activated.emit(match)

    def select_offset(self, offset: int) -> None:
        """Follow the cursor: select the row of the match starting at ``offset`` if any."""
        row = self.model.row_of(offset)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

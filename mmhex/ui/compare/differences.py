"""The Differences list: one row per differing range (offsets, length, the bytes of A and B).

The model is a view over the compare's growing range list: rows are announced as the
background compare finds them, and the bytes are read only for the rows on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from mmhex.core.compare import DiffRange
from mmhex.core.document import Document
from mmhex.core.errors import SavingInProgressError
from mmhex.ui.hex_view import fixed_font

COLUMNS = ("Offset A", "Offset B", "Length", "Bytes of A", "Bytes of B")
# A side's bytes while an in-place save moves them (Document.reads_held): shown again after it.
SAVING_CELL = "Saving…"
SHOWN_BYTES = 8  # bytes shown per side; longer ranges end with "…"

Index = QModelIndex | QPersistentModelIndex


class DifferencesModel(QAbstractTableModel):
    """Rows over a list of DiffRange that may grow (``rows_added``) or be replaced (``reset``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ranges: Sequence[DiffRange] = ()
        self._shown = 0
        self.documents: tuple[Document | None, Document | None] = (None, None)

    def reset(self, ranges: Sequence[DiffRange]) -> None:
        self.beginResetModel()
        self._ranges = ranges
        self._shown = len(ranges)
        self.endResetModel()

    def rows_added(self) -> None:
        """The list grew: announce the new rows."""
        count = len(self._ranges)
        if count > self._shown:
            self.beginInsertRows(QModelIndex(), self._shown, count - 1)
            self._shown = count
            self.endInsertRows()

    def range_at(self, row: int) -> DiffRange:
        return self._ranges[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._shown

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= self._shown:
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() < 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        diff = self._ranges[index.row()]
        column = index.column()
        if column == 0:
            return f"{diff.a:#x}"
        if column == 1:
            return f"{diff.b:#x}"
        if column == 2:
            return f"{diff.length:,}"
        return self._bytes(diff, column == 3)

    def _bytes(self, diff: DiffRange, side_a: bool) -> str:
        document = self.documents[0 if side_a else 1]
        if document is None:
            return ""
        try:
            data = document.read(diff.a if side_a else diff.b, min(diff.length, SHOWN_BYTES))
        except SavingInProgressError:
            return SAVING_CELL
        except OSError:
            return "(unreadable)"
        text = data.hex(" ")
        return f"{text} …" if diff.length > SHOWN_BYTES else text


class DifferencesTable(QTableView):
    """The list widget; ``range_activated`` when a row is clicked or chosen with Enter."""

    range_activated = Signal(object)  # DiffRange

    def __init__(self, model: DifferencesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setFont(fixed_font())
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        # Widths from the font, not ResizeToContents: that would read the bytes of 1,000 rows.
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        char = self.fontMetrics().horizontalAdvance("0")
        for column, chars in enumerate((14, 14, 12, 3 * SHOWN_BYTES + 2)):
            self.setColumnWidth(column, chars * char + 12)
        self.clicked.connect(self._activate)
        self.activated.connect(self._activate)

    def _activate(self, index: QModelIndex) -> None:
        if index.isValid():
            model = self.model()
            assert isinstance(model, DifferencesModel)
            self.range_activated.emit(model.range_at(index.row()))

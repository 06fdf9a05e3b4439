"""File ▸ Open Process…: a searchable list of user processes (kernel threads excluded)."""

from __future__ import annotations

from PySide6.QtCore import (
    QObject,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.process import ProcessInfo, list_processes
from mmhex.ui.main_window import human_size
from mmhex.ui.process.table import RIGHT, ListTableModel, ModelIndex

COLUMNS = ("Name", "PID", "User", "RSS")
SORT_ROLE = Qt.ItemDataRole.UserRole


class ProcessModel(ListTableModel):
    COLUMNS = COLUMNS

    def __init__(self, processes: list[ProcessInfo], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows = processes

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        info = self.rows[index.row()]
        assert isinstance(info, ProcessInfo)
        values: tuple[object, ...] = (info.name, info.pid, info.user, info.rss)
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 3:
                return human_size(info.rss)
            return str(values[index.column()])
        if role == SORT_ROLE:
            return values[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (1, 3):
            return RIGHT
        return None


class ProcessDialog(QDialog):
    """Pick a process; ``pid`` is the chosen one after ``accepted``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open Process")
        self.pid: int | None = None
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Search by name, PID or user")
        self.filter_edit.setClearButtonEnabled(True)
        self.model = ProcessModel(list_processes(), self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        note = QLabel(
            "Kernel threads are not listed. Reading another program's memory may need "
            "privileges; File ▸ Run Program… starts one that mmhex may always read.",
            self,
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.filter_edit.textChanged.connect(self._filter)
        self.table.doubleClicked.connect(lambda _index: self.accept())
        self.resize(560, 480)
        self._select_first()

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._select_first()

    def _select_first(self) -> None:
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def shown_pids(self) -> list[int]:
        return [int(self.proxy.index(row, 1).data()) for row in range(self.proxy.rowCount())]

    def accept(self) -> None:
        rows = self.table.selectionModel().selectedRows(1)
        if not rows:
            return
        self.pid = int(rows[0].data())
        super().accept()

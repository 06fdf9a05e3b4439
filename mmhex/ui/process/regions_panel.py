"""The Regions dock: a process's /proc/PID/maps as a filterable table; a click jumps there.

Each row is one mapping: its address range, size, permissions, file offset, what backs it
([heap], [stack], [anon] or the file), how many of its pages are in memory (pagemap), and
for a region whose bytes cannot be shown, why. The panel only draws; the feature owns the
document and does the jumping.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.process import Region
from mmhex.core.process_residency import PageCounts
from mmhex.ui.main_window import human_size
from mmhex.ui.process.table import RIGHT, ListTableModel, ModelIndex

COLUMNS = ("Address range", "Size", "Perms", "Offset", "Resident", "Backing", "Note")
RESIDENT = COLUMNS.index("Resident")
REGION_ROLE = Qt.ItemDataRole.UserRole


class RegionsModel(ListTableModel):
    """The regions, in /proc/PID/maps order, with page counts where measured."""

    COLUMNS = COLUMNS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.regions: list[Region] = []
        self.rows = []
        self.counts: dict[int, PageCounts | None] = {}  # by region start

    def set_regions(self, regions: list[Region], counts: dict[int, PageCounts | None]) -> None:
        self.beginResetModel()
        self.regions = list(regions)
        self.rows = list(regions)
        self.counts = counts
        self.endResetModel()

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        region = self.regions[index.row()]
        column = index.column()
        if role == REGION_ROLE:
            return region
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(region, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if not region.readable:
                return f"Not shown: {region.unreadable}."
            counts = self.counts.get(region.start)
            if column == RESIDENT and counts is not None:
                return counts.details
            return region.as_maps_line()
        if role == Qt.ItemDataRole.ForegroundRole and not region.readable:
            return QBrush(QPalette().color(QPalette.ColorRole.PlaceholderText))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (1, 3, RESIDENT):
            return RIGHT
        return None

    def _text(self, region: Region, column: int) -> str:
        if column == 0:
            return f"{region.start:_x} – {region.end:_x}"
        if column == 1:
            return human_size(region.size)
        if column == 2:
            return region.perms
        if column == 3:
            return f"{region.offset:#x}" if region.file_backed else ""
        if column == RESIDENT:
            if not region.readable:
                return ""
            counts = self.counts.get(region.start)
            return counts.summary if counts is not None else "not counted"
        if column == 5:
            return region.kind
        return region.unreadable


class RegionFilter(QSortFilterProxyModel):
    """Rows whose text contains the filter (any column), optionally only writable ones."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.writable_only = False

    def set_filter(self, text: str, writable_only: bool) -> None:
        self.beginFilterChange()
        self.text = text.strip().lower()
        self.writable_only = writable_only
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: ModelIndex) -> bool:
        model = self.sourceModel()
        assert isinstance(model, RegionsModel)
        region = model.regions[row]
        if self.writable_only and "w" not in region.perms:
            return False
        if not self.text:
            return True
        words = (model._text(region, column) for column in range(len(COLUMNS)))
        haystack = " ".join(words).lower() + f" {region.start:x} {region.end:x}"
        return self.text in haystack


class RegionsPanel(QWidget):
    """Filter + table + the page state at the cursor; signals ask the feature to act."""

    region_activated = Signal(object)  # Region clicked
    open_file_requested = Signal(object)  # Region whose file to open at its offset

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RegionsModel(self)
        self.proxy = RegionFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: library, [heap], rw-p, address…")
        self.filter_edit.setClearButtonEnabled(True)
        self.writable_box = QCheckBox("Writable only", self)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.summary = QLabel(self)
        self.cursor_page = QLabel(self)
        self.cursor_page.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.writable_box)
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary)
        bottom.addStretch(1)
        bottom.addWidget(self.cursor_page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.filter_edit.textChanged.connect(self._refilter)
        self.writable_box.toggled.connect(self._refilter)
        self.table.clicked.connect(self._clicked)
        self.table.activated.connect(self._clicked)
        self.table.customContextMenuRequested.connect(self._context_menu)

    def set_regions(self, regions: list[Region], counts: dict[int, PageCounts | None]) -> None:
        self.model.set_regions(regions, counts)
        readable = [region for region in regions if region.readable]
        self.summary.setText(
            f"{len(regions)} regions, {len(readable)} readable "
            f"({human_size(sum(region.size for region in readable))})"
        )

    def visible_regions(self) -> list[Region]:
        """The rows shown now, top to bottom (after the filter)."""
        return [self.proxy.index(row, 0).data(REGION_ROLE) for row in range(self.proxy.rowCount())]

    def _refilter(self, *_args: object) -> None:
        self.proxy.set_filter(self.filter_edit.text(), self.writable_box.isChecked())

    def _clicked(self, index: QModelIndex) -> None:
        region = index.data(REGION_ROLE)
        if region is not None:
            self.region_activated.emit(region)

    def _context_menu(self, position: QPoint) -> None:
        index = self.table.indexAt(position)
        region = index.data(REGION_ROLE) if index.isValid() else None
        if region is None:
            return
        menu = QMenu(self)
        go = menu.addAction("Go to Region")
        go.triggered.connect(lambda: self.region_activated.emit(region))
        open_file = menu.addAction("Open Mapped File at This Offset")
        open_file.setEnabled(region.file_backed)
        open_file.triggered.connect(lambda: self.open_file_requested.emit(region))
        menu.exec(self.table.viewport().mapToGlobal(position))

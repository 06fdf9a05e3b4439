"""The bookmarks dock: named, coloured ranges of the open file, kept across sessions.

The list itself is mmhex.core.bookmarks.BookmarkList (saved after every change); this panel draws
it, edits names and colours, and asks the view to jump with ``jump_requested``. ``highlights`` is a
HexView highlighter that shades every bookmark in its colour.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.bookmarks import Bookmark, BookmarkError, BookmarkList

HIGHLIGHT_ALPHA = 90


class BookmarksPanel(QWidget):
    jump_requested = Signal(object)  # Bookmark
    changed = Signal()  # added, removed, renamed or recoloured (repaint the grid)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bookmarks: BookmarkList | None = None
        self.selection = (0, 0)
        self.cursor = 0
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Name", "Start", "Length"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.add_button = QPushButton("Add", self)
        self.add_button.setToolTip("Bookmark the selection (Ctrl+B)")
        self.remove_button = QPushButton("Remove", self)
        self.color_button = QPushButton("Colour…", self)
        self.previous_button = QPushButton("◀", self)
        self.previous_button.setToolTip("Previous bookmark (Shift+F2)")
        self.next_button = QPushButton("▶", self)
        self.next_button.setToolTip("Next bookmark (F2)")
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.color_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.previous_button)
        buttons.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)

        self.add_button.clicked.connect(self.add_from_selection)
        self.remove_button.clicked.connect(self.remove_selected)
        self.color_button.clicked.connect(self._choose_color)
        self.previous_button.clicked.connect(self.go_previous)
        self.next_button.clicked.connect(self.go_next)
        self.table.itemChanged.connect(self._renamed)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self._fill()

    # ----------------------------------------------------------------- file and view state
    def set_file(self, path: str | None) -> None:
        """Show the bookmarks saved for ``path`` (None: no file open)."""
        self.bookmarks = BookmarkList(path).load() if path else None
        problem = None
        if self.bookmarks is not None:
            problem = self.bookmarks.load_problem
            if self.bookmarks.identity_changed:
                problem = (
                    "These bookmarks were made on an earlier version of this file (it was "
                    "replaced since): their offsets may point at other bytes now."
                )
        self._say(problem or "", error=bool(problem))
        self._fill()
        self.changed.emit()

    def follow_splices(self, splices: Iterable[tuple[int, int, int]]) -> None:
        """Bytes were inserted or deleted: move the bookmarks with them (see apply_splice)."""
        if self.bookmarks is None:
            return
        moved = False
        for offset, removed, inserted in splices:
            moved = self.bookmarks.apply_splice(offset, removed, inserted) or moved
        if moved:
            self._save_and_refill()

    def set_selection(self, start: int, end: int) -> None:
        self.selection = (start, end)

    def set_cursor(self, offset: int) -> None:
        self.cursor = offset

    # ----------------------------------------------------------------- commands
    def add_from_selection(self, name: str = "") -> Bookmark | None:
        """Bookmark the selection, or the byte at the cursor when nothing is selected."""
        if self.bookmarks is None:
            self._say("Open a file first.", error=True)
            return None
        start, end = self.selection
        if end <= start:
            start, end = self.cursor, self.cursor + 1
        try:
            bookmark = self.bookmarks.add(start, end, name)
        except BookmarkError as exc:
            self._say(str(exc), error=True)
            return None
        self._save_and_refill(select=bookmark)
        return bookmark

    def remove_selected(self) -> None:
        bookmark = self.selected()
        if bookmark is not None and self.bookmarks is not None:
            self.bookmarks.remove(bookmark)
            self._save_and_refill()

    def set_color(self, bookmark: Bookmark, color: str) -> None:
        if self.bookmarks is not None:
            changed = self.bookmarks.update(bookmark, color=color)
            self._save_and_refill(select=changed)

    def rename(self, bookmark: Bookmark, name: str) -> None:
        if self.bookmarks is not None:
            changed = self.bookmarks.update(bookmark, name=name)
            self._save_and_refill(select=changed)

    def go_next(self) -> Bookmark | None:
        return self._jump(self.bookmarks.next_after(self.cursor) if self.bookmarks else None)

    def go_previous(self) -> Bookmark | None:
        return self._jump(self.bookmarks.previous_before(self.cursor) if self.bookmarks else None)

    def selected(self) -> Bookmark | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or self.bookmarks is None:
            return None
        return self.bookmarks.items[rows[0].row()]

    # ----------------------------------------------------------------- highlighting
    def highlights(self, start: int, end: int) -> Iterable[tuple[int, int, QColor]]:
        if self.bookmarks is None:
            return []
        result = []
        for bookmark in self.bookmarks.covering(start, end):
            color = QColor(bookmark.color)
            color.setAlpha(HIGHLIGHT_ALPHA)
            result.append((bookmark.start, bookmark.end, color))
        return result

    # ----------------------------------------------------------------- internals
    def _jump(self, bookmark: Bookmark | None) -> Bookmark | None:
        if bookmark is None:
            self._say("There are no bookmarks in this file.")
            return None
        self.cursor = bookmark.start
        self._select(bookmark)
        self.jump_requested.emit(bookmark)
        return bookmark

    def _save_and_refill(self, select: Bookmark | None = None) -> None:
        assert self.bookmarks is not None
        try:
            self.bookmarks.save()
        except OSError as exc:
            self._say(f"The bookmarks could not be saved: {exc.strerror or exc}.", error=True)
        else:
            self._say("")
        self._fill()
        if select is not None:
            self._select(select)
        self.changed.emit()

    def _fill(self) -> None:
        items = self.bookmarks.items if self.bookmarks is not None else []
        self.table.blockSignals(True)
        try:
            self.table.setRowCount(len(items))
            for row, bookmark in enumerate(items):
                name = QTableWidgetItem(bookmark.name)
                name.setData(Qt.ItemDataRole.DecorationRole, QColor(bookmark.color))
                name.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsEditable
                )
                start = QTableWidgetItem(f"{bookmark.start:#x}")
                length = QTableWidgetItem(f"{bookmark.length:,}")
                for item in (start, length):
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, 0, name)
                self.table.setItem(row, 1, start)
                self.table.setItem(row, 2, length)
        finally:
            self.table.blockSignals(False)
        self._update_buttons()

    def _select(self, bookmark: Bookmark) -> None:
        if self.bookmarks is not None and bookmark in self.bookmarks.items:
            self.table.selectRow(self.bookmarks.items.index(bookmark))

    def _renamed(self, item: QTableWidgetItem) -> None:
        if item.column() == 0 and self.bookmarks is not None:
            bookmark = self.bookmarks.items[item.row()]
            if item.text() != bookmark.name:
                self.rename(bookmark, item.text())

    def _double_clicked(self, row: int, column: int) -> None:
        if self.bookmarks is None:
            return
        if column == 0:
            self.table.editItem(self.table.item(row, 0))
        else:
            self._jump(self.bookmarks.items[row])

    def _choose_color(self) -> None:
        bookmark = self.selected()
        if bookmark is None:
            return
        color = QColorDialog.getColor(QColor(bookmark.color), self, "Bookmark colour")
        if color.isValid():
            self.set_color(bookmark, color.name())

    def _update_buttons(self) -> None:
        has_file = self.bookmarks is not None
        chosen = self.selected() is not None
        has_any = bool(self.bookmarks and len(self.bookmarks))
        self.add_button.setEnabled(has_file)
        self.remove_button.setEnabled(chosen)
        self.color_button.setEnabled(chosen)
        self.previous_button.setEnabled(has_any)
        self.next_button.setEnabled(has_any)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: rgb(210, 50, 50);" if error else "")
        self.message.setVisible(bool(text))

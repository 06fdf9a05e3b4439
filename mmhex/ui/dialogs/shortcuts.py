"""Help ▸ Keyboard Shortcuts: every action of the one action table, where it is and its keys.

Built from the rows the window actually has (features included) plus the grid's own keys, so the
list can never disagree with the menus.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmhex.ui.actions import ACTIONS, ActionSpec, key_sequences

ShortcutRow = tuple[str, str, str]  # action, where, keys


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def shortcut_rows(built: dict[str, ActionSpec]) -> list[ShortcutRow]:
    """(action, where, keys) for the built menu rows and the grid's key bindings."""
    rows: list[ShortcutRow] = []
    specs = list(built.values()) + [s for s in ACTIONS if not s.menu and s.key not in built]
    for spec in specs:
        where = " ▸ ".join(_plain(part) for part in spec.menu.split("/")) if spec.menu else "Grid"
        keys = ", ".join(
            sequence.toString(QKeySequence.SequenceFormat.NativeText)
            for sequence in key_sequences(spec)
        )
        rows.append((_plain(spec.text), where, keys))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, rows: list[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter: an action, a menu or a key")
        self.filter.setClearButtonEnabled(True)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Menu", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(value))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.sortItems(1, Qt.SortOrder.AscendingOrder)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.filter.textChanged.connect(self.apply_filter)
        self.resize(640, 520)

    def apply_filter(self, text: str) -> None:
        needle = text.casefold()
        for row in range(self.table.rowCount()):
            cells = (self.table.item(row, column).text() for column in range(3))
            self.table.setRowHidden(
                row, bool(needle) and not any(needle in c.casefold() for c in cells)
            )

    def visible_rows(self) -> list[ShortcutRow]:
        return [
            tuple(self.table.item(row, column).text() for column in range(3))  # type: ignore[misc]
            for row in range(self.table.rowCount())
            if not self.table.isRowHidden(row)
        ]

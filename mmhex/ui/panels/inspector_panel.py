"""The data inspector dock: the bytes at the cursor as every type mmhex.core.inspector knows.

In edit mode a value can be typed over: the panel encodes it and asks for the write through
``write_requested(offset, bytes)``; it never writes itself, so undo stays with the edit commands.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.inspector import FIELDS, MAX_FIELD_SIZE, InspectorError, encode_value, inspect
from mmhex.ui.coalesce import Coalescer

Reader = Callable[[int, int], bytes]


class InspectorPanel(QWidget):
    write_requested = Signal(object, bytes)  # offset, the bytes that make the typed value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stale = Coalescer(self.refresh, self)
        self.offset_label = QLabel(self)
        self.endian = QComboBox(self)
        self.endian.addItem("Little endian", True)
        self.endian.addItem("Big endian", False)
        self.table = QTableWidget(len(FIELDS), 2, self)
        self.table.setHorizontalHeaderLabels(["Type", "Value"])
        self.table.verticalHeader().hide()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for row, field in enumerate(FIELDS):
            label = QTableWidgetItem(field.label)
            label.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.table.setItem(row, 0, label)
            value = QTableWidgetItem("")
            value.setFont(fixed)
            self.table.setItem(row, 1, value)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.offset_label, 1)
        top.addWidget(self.endian)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)

        self._read: Reader | None = None
        self._size = 0
        self.offset: int | None = None
        self.origin = "At"
        # Names a position the user's way when the offset alone is not it (a process's address).
        self.describe: Callable[[int], str | None] | None = None
        self.data = b""
        self.editable = False
        self._edit_reason = "Editing needs edit mode."
        self.endian.currentIndexChanged.connect(self.refresh)
        self.table.itemChanged.connect(self._value_typed)
        self.refresh()

    # ----------------------------------------------------------------- inputs
    @property
    def little_endian(self) -> bool:
        return bool(self.endian.currentData())

    def set_little_endian(self, little: bool) -> None:
        self.endian.setCurrentIndex(0 if little else 1)

    def set_source(self, read: Reader | None, size: int) -> None:
        """Where the bytes come from (Document.read and its size); None when no file is open."""
        self._read = read
        self._size = size
        if read is None:
            self.offset = None
        self.refresh()

    def set_editable(self, editable: bool, reason: str = "") -> None:
        self.editable = editable
        self._edit_reason = reason or "Editing needs edit mode."
        self.refresh()

    def show_offset(self, offset: int, origin: str = "At") -> None:
        """Decode the bytes starting at ``offset``; ``origin`` names it ("Cursor at")."""
        self.offset = offset
        self.origin = origin
        self.refresh()

    def schedule_refresh(self) -> None:
        """The bytes may have changed: refresh once at the next event-loop turn (batch edits)."""
        self._stale.schedule()

    def refresh(self) -> None:
        """Re-read and redraw (call after the bytes under the cursor changed)."""
        self._stale.cancel()
        self.data = b""
        if self._read is not None and self.offset is not None and 0 <= self.offset < self._size:
            try:
                self.data = self._read(self.offset, MAX_FIELD_SIZE)
            except OSError as exc:
                self.message.setText(str(exc))
        if self.offset is None or self._read is None:
            self.offset_label.setText("No byte selected")
        else:
            named = self.describe(self.offset) if self.describe is not None else None
            self.offset_label.setText(
                f"{self.origin} {named}"
                if named
                else f"{self.origin} {self.offset:#x} ({self.offset:,})"
            )
        self.table.blockSignals(True)
        try:
            for row, reading in enumerate(inspect(self.data, self.little_endian)):
                item = self.table.item(row, 1)
                item.setText(reading.text if reading.text is not None else f"({reading.problem})")
                enabled = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                if self.editable and self.data:
                    enabled |= Qt.ItemFlag.ItemIsEditable
                item.setFlags(enabled)
                item.setToolTip(self._tip(reading))
        finally:
            self.table.blockSignals(False)

    def _tip(self, reading) -> str:
        field = reading.field
        size = f"{field.needs}–{field.size} bytes" if field.min_size else f"{field.size} bytes"
        tip = f"{field.label}: {size}"
        if field.endian_sensitive:
            tip += ", " + ("little" if self.little_endian else "big") + " endian"
        if not self.editable:
            tip += f". {self._edit_reason}"
        return tip

    # ----------------------------------------------------------------- editing
    def text_of(self, key: str) -> str:
        row = next(i for i, f in enumerate(FIELDS) if f.key == key)
        return self.table.item(row, 1).text()

    def type_value(self, key: str, text: str) -> None:
        """As if the user typed ``text`` into the row of ``key`` (used by tests and shortcuts)."""
        row = next(i for i, f in enumerate(FIELDS) if f.key == key)
        self.table.item(row, 1).setText(text)

    def _value_typed(self, item: QTableWidgetItem) -> None:
        if item.column() != 1 or self.offset is None:
            return
        field = FIELDS[item.row()]
        text = item.text()
        try:
            data = encode_value(field.key, text, self.little_endian)
        except InspectorError as exc:
            self.message.setText(str(exc))
            self.message.setStyleSheet("color: rgb(210, 50, 50);")
            self.refresh()
            return
        if self.offset + len(data) > self._size:
            self.message.setText(
                f"{field.label} needs {len(data)} bytes but the file ends "
                f"{self._size - self.offset} bytes after the cursor."
            )
            self.message.setStyleSheet("color: rgb(210, 50, 50);")
            self.refresh()
            return
        self.message.setText("")
        self.message.setStyleSheet("")
        self.write_requested.emit(self.offset, data)
        self.refresh()

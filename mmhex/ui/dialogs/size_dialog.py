"""Edit ▸ Insert Bytes… and Edit ▸ Resize File…: a count (go-to syntax) and a fill pattern.

The count accepts what Go to accepts (``4k``, ``0x100``, ``0x400*3``); the pattern is a byte or a
repeated pattern, in hex or Latin-1 text, as in Fill Selection. Both are explained as you type.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.edits import HexSyntaxError
from mmhex.core.expressions import parse_offset
from mmhex.ui.dialogs.fill_dialog import HEX, TEXT, parse_pattern
from mmhex.ui.widgets import entry_feedback, show_entry_state

INSERT = "insert"
RESIZE = "resize"


def human(n: int) -> str:
    return f"{n:,} byte{'s' if n != 1 else ''} (0x{n:x})"


class SizeDialog(QDialog):
    """Asks for a count (INSERT: bytes to insert; RESIZE: the new size) and a fill pattern.

    After accept(): ``count`` and ``pattern`` hold the answer.
    """

    def __init__(self, purpose: str, offset: int, size: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.purpose = purpose
        self._size = size
        self.count: int | None = None
        self.pattern: bytes | None = None
        self.setWindowTitle("Insert Bytes" if purpose == INSERT else "Resize File")
        self.amount = QLineEdit(self)
        self.amount.setPlaceholderText("16   4k   0x100   0x400*3")
        self.kind = QComboBox(self)
        self.kind.addItem("Hex bytes", HEX)
        self.kind.addItem("Text (Latin-1)", TEXT)
        self.fill = QLineEdit("00", self)
        self.message, self.buttons = entry_feedback(self)
        layout = QVBoxLayout(self)
        if purpose == INSERT:
            intro = f"Insert bytes before offset 0x{offset:x}; the file grows."
            amount_label = "Number of bytes:"
        else:
            intro = f"The file has {human(size)}. A smaller size cuts the end off; a larger one"
            intro += " adds bytes of the fill pattern."
            amount_label = "New size:"
            self.amount.setText(str(size))
        layout.addWidget(QLabel(intro, self))
        form = QFormLayout()
        form.addRow(amount_label, self.amount)
        row = QHBoxLayout()
        row.addWidget(self.kind)
        row.addWidget(self.fill, 1)
        form.addRow("Fill with:", row)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        for signal in (self.amount.textChanged, self.fill.textChanged):
            signal.connect(self._validate)
        self.kind.currentIndexChanged.connect(self._validate)
        self._validate()

    def _parse(self) -> tuple[int | None, bytes | None, str]:
        text = self.amount.text().strip()
        if not text:
            return None, None, "Type a number of bytes (16, 4k, 0x100)."
        try:
            count = parse_offset(text)
        except ValueError as exc:
            return None, None, str(exc)
        if count < 0:
            return None, None, "The number cannot be negative."
        if self.purpose == INSERT and count == 0:
            return None, None, "Insert at least one byte."
        if self.purpose == RESIZE and count == self._size:
            return None, None, f"The file already has {human(count)}."
        try:
            pattern = parse_pattern(self.fill.text(), self.kind.currentData())
        except (HexSyntaxError, ValueError) as exc:
            return None, None, f"Fill: {exc}"
        if self.purpose == INSERT:
            line = f"→ inserts {human(count)}"
        elif count < self._size:
            line = f"→ removes the last {human(self._size - count)}"
        else:
            line = f"→ adds {human(count - self._size)} at the end"
        return count, pattern, line

    def _validate(self, *_args: object) -> None:
        count, _pattern, line = self._parse()
        show_entry_state(
            self.message,
            self.buttons.button(QDialogButtonBox.StandardButton.Ok),
            line,
            valid=count is not None,
            error=count is None and bool(self.amount.text().strip()),
        )

    @property
    def error_text(self) -> str:
        return self.message.text() if self.message.property("error") else ""

    def accept(self) -> None:
        count, pattern, line = self._parse()
        if count is None:
            self.message.setText(line)
            return
        self.count, self.pattern = count, pattern
        super().accept()

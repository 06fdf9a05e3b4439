"""The Fill Selection dialog: a byte or a pattern (hex or text), explained as you type."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.edits import HexSyntaxError, parse_hex_bytes
from mmhex.ui.widgets import entry_feedback, show_entry_state

HEX = "hex"
TEXT = "text"
HEX_HINT = "00   or   de ad be ef"


def parse_pattern(text: str, kind: str) -> bytes:
    """The fill pattern from the dialog's field; ValueError says what is wrong."""
    if kind == HEX:
        return parse_hex_bytes(text)
    if not text:
        raise ValueError("no characters given")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise ValueError(
            f"{bad!r} is not a Latin-1 character (one byte each); use hex for other values"
        ) from exc


def describe_fill(pattern: bytes, length: int) -> str:
    """'4-byte pattern × 256' — how the pattern covers ``length`` bytes."""
    if len(pattern) == 1:
        return f"→ {length:,} byte{'s' if length != 1 else ''} of 0x{pattern[0]:02x}"
    copies, rest = divmod(length, len(pattern))
    text = f"→ {len(pattern)}-byte pattern × {copies:,}"
    if rest:
        text += f", then its first {rest} byte{'s' if rest != 1 else ''}"
    return text


class FillDialog(QDialog):
    """Asks for the fill; ``pattern`` holds the bytes after accept()."""

    def __init__(self, start: int, length: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Fill Selection")
        self._length = length
        self.pattern: bytes | None = None
        self.kind = QComboBox(self)
        self.kind.addItem("Hex bytes", HEX)
        self.kind.addItem("Text (Latin-1)", TEXT)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(HEX_HINT)
        self.edit.setMinimumWidth(self.fontMetrics().horizontalAdvance(HEX_HINT) * 2)
        self.message, self.buttons = entry_feedback(self)
        end = start + length - 1
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel(f"Fill {length:,} selected bytes (0x{start:x} to 0x{end:x}) with:", self)
        )
        row = QHBoxLayout()
        row.addWidget(self.kind)
        row.addWidget(self.edit, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._validate)
        self.kind.currentIndexChanged.connect(self._validate)
        self._validate()

    def _parse(self) -> tuple[bytes | None, str]:
        text = self.edit.text()
        kind = self.kind.currentData()
        if not text.strip() and kind == HEX:
            return None, "Type one byte (00) or a pattern that repeats (de ad be ef)."
        try:
            pattern = parse_pattern(text, kind)
        except (HexSyntaxError, ValueError) as exc:
            return None, str(exc)
        return pattern, describe_fill(pattern, self._length)

    def _validate(self, *_args: object) -> None:
        pattern, line = self._parse()
        show_entry_state(
            self.message,
            self.buttons.button(QDialogButtonBox.StandardButton.Ok),
            line,
            valid=pattern is not None,
            error=pattern is None and bool(self.edit.text()),
        )

    @property
    def error_text(self) -> str:
        return self.message.text() if self.message.property("error") else ""

    def accept(self) -> None:
        pattern, line = self._parse()
        if pattern is None:
            self.message.setText(line)
            return
        self.pattern = pattern
        super().accept()

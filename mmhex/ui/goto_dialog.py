"""The Go to offset dialog: an expression field that explains, as you type, where it leads."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.expressions import ExpressionError, resolve_goto
from mmhex.ui.widgets import entry_feedback, show_entry_state

HINT = "0x1F4, 500, +0x10 or -16 (from the cursor), end-0x100, 0x400*3+2"


class GotoDialog(QDialog):
    """Asks for an offset expression; ``offset`` holds the resolved target after accept()."""

    def __init__(self, cursor: int, size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Go to Offset")
        self._cursor = cursor
        self._size = size
        self.offset: int | None = None
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText(HINT)
        self.edit.setMinimumWidth(self.fontMetrics().horizontalAdvance(HINT) + 24)
        self.message, self.buttons = entry_feedback(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Offset (cursor at {cursor:#x}, file size {size:#x}):", self))
        layout.addWidget(self.edit)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._validate)
        self._validate("")

    def _resolve(self, text: str) -> tuple[int | None, str]:
        """The target and the line to show under the field."""
        if not text.strip():
            return None, f"Examples: {HINT}"
        try:
            target = resolve_goto(text, cursor=self._cursor, size=self._size)
        except ExpressionError as exc:
            return None, str(exc)
        return target, f"→ {target:#x} ({target:,})"

    def _validate(self, text: str) -> None:
        target, line = self._resolve(text)
        show_entry_state(
            self.message,
            self.buttons.button(QDialogButtonBox.StandardButton.Ok),
            line,
            valid=target is not None,
            error=target is None and bool(text.strip()),
        )

    @property
    def error_text(self) -> str:
        """The inline error shown now ("" when the entry is valid or empty)."""
        return self.message.text() if self.message.property("error") else ""

    def accept(self) -> None:
        target, line = self._resolve(self.edit.text())
        if target is None:
            self.message.setText(line)
            return  # stay open: the inline message says what is wrong
        self.offset = target
        super().accept()

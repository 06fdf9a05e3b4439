"""The Resynchronize dialog: after an insertion or deletion, which offset of A matches B's."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.expressions import ExpressionError, parse_offset
from mmhex.ui.widgets import ok_cancel_buttons, show_entry_state


class ResyncDialog(QDialog):
    """Two offset fields (prefilled with the cursors); ``offset_a``/``offset_b`` after accept."""

    def __init__(
        self, cursor_a: int, cursor_b: int, size_a: int, size_b: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Resynchronize")
        self._sizes = (size_a, size_b)
        self.offset_a = cursor_a
        self.offset_b = cursor_b
        self.edit_a = QLineEdit(f"{cursor_a:#x}", self)
        self.edit_b = QLineEdit(f"{cursor_b:#x}", self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.buttons = ok_cancel_buttons(self)
        explanation = QLabel(
            "From these offsets on, byte A[x + i] is compared with B[y + i] (use it after an "
            "insertion or deletion). Offsets accept 0x1F4, 500, 4k, 0x400*3.",
            self,
        )
        explanation.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Offset in A (x):", self.edit_a)
        form.addRow("Offset in B (y):", self.edit_b)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.edit_a.textChanged.connect(self._validate)
        self.edit_b.textChanged.connect(self._validate)
        self._validate()

    def _parse(self) -> tuple[tuple[int, int] | None, str]:
        values = []
        for name, edit, size in (
            ("A", self.edit_a, self._sizes[0]),
            ("B", self.edit_b, self._sizes[1]),
        ):
            try:
                value = parse_offset(edit.text())
            except ExpressionError as exc:
                return None, f"{name}: {exc}"
            if value >= size:
                return None, f"{name}: {value:#x} is past the end ({size:,} bytes)."
            values.append(value)
        shift = values[1] - values[0]
        return (values[0], values[1]), f"B is compared {shift:+,} bytes away from A from there."

    def _validate(self) -> None:
        offsets, line = self._parse()
        show_entry_state(
            self.message,
            self.buttons.button(QDialogButtonBox.StandardButton.Ok),
            line,
            valid=offsets is not None,
            error=offsets is None,
        )

    def accept(self) -> None:
        offsets, line = self._parse()
        if offsets is None:
            self.message.setText(line)
            return
        self.offset_a, self.offset_b = offsets
        super().accept()

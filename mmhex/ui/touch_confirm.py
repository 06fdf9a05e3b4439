"""Ask before a Touch / Read ahead that would read more than a set size or the free memory."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from mmhex.core.touch_guard import touch_question


def confirm_touch(parent: QWidget, document: Any, start: int, end: int) -> bool:
    """True to go ahead: the range is small enough, or the user said yes."""
    question = touch_question(document, start, end)
    if question is None:
        return True
    answer = QMessageBox.question(
        parent,
        "Touch a large range?",
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes

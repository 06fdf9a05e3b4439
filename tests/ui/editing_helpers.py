"""Shared set-up for the editing tests: a window with editing installed and scripted questions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from mmhex.ui import editing
from mmhex.ui.dialogs import questions as question_dialogs
from mmhex.ui.editing import EditController

Button = QMessageBox.StandardButton


@dataclass
class Questions:
    """Answers QMessageBox questions in order, and remembers what was asked.

    Never raises: questions are often asked inside Qt's closeEvent, where an exception cannot
    travel. Without a scripted answer, the unsaved-edits question is answered Discard (pytest-qt
    closes each test's windows before fixtures tear down) and anything else is recorded in
    ``unexpected`` and answered Cancel; the ``editor`` fixture fails the test on those.
    """

    answers: list[QMessageBox.StandardButton] = field(default_factory=list)
    asked: list[tuple[str, list[str]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def exec(self, box: QMessageBox) -> QMessageBox.StandardButton:
        labels = [button.text() for button in box.buttons()]
        self.asked.append((box.text(), labels))
        if self.answers:
            return self.answers.pop(0)
        if "has unsaved edits" in box.text():
            return Button.Discard
        self.unexpected.append(box.text())
        return Button.Cancel


@pytest.fixture
def questions(monkeypatch: pytest.MonkeyPatch) -> Questions:
    """Every question is answered from ``questions.answers`` (none left: the test fails)."""
    scripted = Questions()
    monkeypatch.setattr(question_dialogs, "run_box", scripted.exec)
    return scripted


@pytest.fixture
def editor(window, questions) -> Iterator[EditController]:
    """The editing feature on the shown test window; unsaved edits are dropped at the end."""
    controller = editing.install(window)
    yield controller
    assert not questions.unexpected, f"unexpected questions: {questions.unexpected}"


def open_for_editing(window, controller: EditController, path: Path) -> bytearray:
    """Open ``path`` in edit mode; returns its bytes as the reference model."""
    assert window.open_path(str(path)) is None
    assert controller.enable_editing()
    return bytearray(path.read_bytes())

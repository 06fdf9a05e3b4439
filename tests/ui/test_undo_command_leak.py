"""Typed edits leave no undo commands behind once the stack has merged them away.

PySide6 6.11.3 keeps a reference to every command ``QUndoStack.push`` deletes at once (a typed
key merged into the step before it): each keystroke kept its EditCommand, its Edit and the
document alive. 100,000 typed edits left ~450,000 objects that every later full garbage
collection walked (0.3 s each), so Replace all of 10,000 places after a typing session took
2.7x the core's time instead of 1.3x. Counted here without timing: the live EditCommand objects
after many typed keys must be the steps the stack really holds.
"""

from __future__ import annotations

import gc
import os
import weakref

from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtTest import QTest

from mmhex.ui.undo import EditCommand, push_command
from tests.ui.editing_helpers import open_for_editing

EDITS = int(os.environ.get("MMHEX_LEAK_EDITS", "2000"))


class Merging(QUndoCommand):
    """Merges every later command into itself, as a run of typing does."""

    def id(self) -> int:
        return 7

    def mergeWith(self, other: QUndoCommand) -> bool:
        return True


def pushed_and_alive(push) -> int:
    stack = QUndoStack()
    alive = []
    for _ in range(200):
        command = Merging("step")
        alive.append(weakref.ref(command))
        push(stack, command)
        del command
    gc.collect()
    assert stack.count() == 1
    return sum(ref() is not None for ref in alive)


def test_the_pyside_leak_this_guards_against_is_still_real(qtbot) -> None:
    """The reference: a plain push of a command that merges keeps all 200 alive here.

    If a PySide release fixes the leak this test fails; ``push_command`` then drops nothing.
    """
    assert pushed_and_alive(lambda stack, command: stack.push(command)) == 200


def test_push_command_keeps_only_the_step_on_the_stack(qtbot) -> None:
    assert pushed_and_alive(push_command) == 1


def test_typed_edits_keep_only_the_commands_on_the_stack(qtbot, window, editor, tmp_path) -> None:
    path = tmp_path / "typing.bin"
    path.write_bytes(bytes(EDITS))
    open_for_editing(window, editor, path)
    for index in range(EDITS):
        QTest.keyClick(window.view, "a" if index % 2 else "5")
    gc.collect()
    alive = [obj for obj in gc.get_objects() if isinstance(obj, EditCommand)]
    steps = editor.stack.count()
    assert 1 <= steps < EDITS // 100  # runs merge (a step holds up to MAX_TYPED_EDITS keys)
    assert len(alive) == steps, f"{len(alive):,} EditCommands alive for {steps} undo steps"
    # The typing really happened and undoes as the merged steps.
    assert window.document.read(0, 2) == b"\x5a\x5a"
    while editor.stack.canUndo():
        editor.stack.undo()
    assert window.document.read(0, EDITS) == bytes(EDITS)

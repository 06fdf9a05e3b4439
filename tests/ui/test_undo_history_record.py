"""The undo stack's own record of its commands is exactly the stack, and Save never walks it.

Save needs every step's edit; asking QUndoStack for each (``command(i)``, one PySide call a step)
froze the window for a second or more at Save after 100,000 steps. ``HistoryStack`` keeps the
list as pushes change the stack. The reference here is the slow walk itself, after random pushes
(merging, obsolete, plain), undos, redos, jumps, clean marks, clears and an undo limit.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoCommand
from PySide6.QtTest import QTest

from mmhex.ui.undo import EditBatchCommand, EditCommand, HistoryStack, push_command
from tests.ui.editing_helpers import open_for_editing

MERGING = 5


class Step(QUndoCommand):
    """``delta`` added to a counter; merging steps sum, and a sum of 0 is obsolete (dropped)."""

    def __init__(self, delta: int, merging: bool, obsolete: bool = False) -> None:
        super().__init__(f"{delta:+}")
        self.delta = delta
        self.merging = merging
        self.setObsolete(obsolete)

    def id(self) -> int:
        return MERGING if self.merging else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, Step) or abs(self.delta) > 6:
            return False  # a full step stops merging, as typing does past its limit
        self.delta += other.delta
        self.setObsolete(self.delta == 0)
        return True


class CountingStack(HistoryStack):
    """Counts ``command(i)`` calls: the slow way the record exists to avoid."""

    asked = 0

    def command(self, index: int) -> QUndoCommand:
        self.asked += 1
        return super().command(index)


def same(record: list[QUndoCommand], walked: list[QUndoCommand]) -> bool:
    return len(record) == len(walked) and all(a is b for a, b in zip(record, walked, strict=True))


operation = st.one_of(
    st.tuples(
        st.just("push"), st.integers(-3, 3), st.booleans(), st.sampled_from([False] * 5 + [True])
    ),
    st.tuples(st.just("undo")),
    st.tuples(st.just("redo")),
    st.tuples(st.just("jump"), st.integers(0, 40)),
    st.tuples(st.just("clean")),
    st.tuples(st.just("clear")),
    st.tuples(st.just("limit"), st.integers(0, 6)),
)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 8), st.lists(operation, max_size=80))
def test_the_record_is_the_stack_after_any_mix(qapp, limit: int, operations) -> None:
    stack = CountingStack()
    stack.setUndoLimit(limit)
    for op in operations:
        if op[0] == "push":
            push_command(stack, Step(op[1], op[2], op[3]))
        elif op[0] == "undo":
            stack.undo()
        elif op[0] == "redo":
            stack.redo()
        elif op[0] == "jump":
            stack.setIndex(min(op[1], stack.count()))
        elif op[0] == "clean":
            stack.setClean()  # no merge into the step saved last
        elif op[0] == "clear":
            stack.clear()
        else:
            stack.clear()
            stack.setUndoLimit(op[1])  # the only time Qt lets the limit change
        assert not stack.undoLimit() or stack.count() <= stack.undoLimit()
        asked = stack.asked
        fast = stack.commands()
        # In step with the stack without asking it for each command (only its two ends).
        assert stack.asked - asked <= 2
        assert same(fast, stack.walk())
    stack.deleteLater()


def test_a_stack_changed_behind_the_record_is_walked_again(qapp) -> None:
    """Someone pushing through the C++ method directly cannot make the record lie."""
    stack = HistoryStack()
    for delta in (1, 2, 3):
        stack.push(Step(delta, merging=False))
    stack.undo()
    ghost = Step(9, merging=False)
    type(stack).__mro__[1].push(stack, ghost)  # QUndoStack.push: the record does not see it
    assert same(stack.commands(), stack.walk())
    assert stack.commands()[-1] is ghost
    stack.deleteLater()


def counting(stack) -> list[int]:
    """Counts ``stack.command`` calls from now on (works on a plain QUndoStack too)."""
    calls: list[int] = []
    ask = stack.command

    def command(index: int) -> QUndoCommand:
        calls.append(index)
        return ask(index)

    stack.command = command
    return calls


def edits_walked(stack) -> list:
    """The history as the stack holds it, asked command by command (the reference)."""
    edits = []
    for index in range(stack.count()):
        command = stack.command(index)
        if isinstance(command, EditCommand):
            edits.append(command.edit)
        elif isinstance(command, EditBatchCommand):
            edits.extend(command.edits)
    return edits


def type_steps(view, count: int, digits: str = "5a") -> None:
    """``count`` undo steps through the grid's keys: a byte's digits, then Right."""
    for _ in range(count):
        for digit in digits:
            QTest.keyClick(view, digit)
        QTest.keyClick(view, Qt.Key.Key_Right)


def test_save_after_many_steps_asks_the_stack_for_no_step(
    window, editor, questions, tmp_path
) -> None:
    """Fails where Save walked the stack: one ``command(i)`` per step on the window's thread."""
    path = tmp_path / "steps.bin"
    path.write_bytes(bytes(4096))
    model = open_for_editing(window, editor, path)
    steps = 150
    type_steps(window.view, steps, "5aa5")  # two bytes merged into each step
    for _ in range(20):
        editor.undo()
    type_steps(window.view, 10, "c3")  # drops the 20 undone steps
    assert editor.apply_edits([(3000, b"\xee"), (3010, b"\xdd\xdd")], "Replace all")
    assert editor.stack.count() == steps - 20 + 10 + 1
    expected = edits_walked(editor.stack)
    calls = counting(editor.stack)
    assert editor._history_edits() == expected
    assert editor.save()
    assert len(calls) <= 4, f"Save asked the stack for {len(calls):,} steps"
    assert editor.stack.isClean() and not window.document.modified
    saved = path.read_bytes()
    # Undo across the save still goes back step by step to the file as it was opened.
    while editor.stack.canUndo():
        editor.undo()
    assert window.document.read(0, len(model)) == bytes(model)
    while editor.stack.canRedo():
        editor.redo()
    assert window.document.read(0, len(saved)) == saved
    assert not window.document.modified


def test_inserted_steps_keep_undoing_across_a_save_with_the_record(
    window, editor, questions, tmp_path
) -> None:
    """Insert mode (a re-laid-out save keeps the history): the history Save keeps comes from
    the record and still undoes every step, then redoes back to the saved file."""
    path = tmp_path / "inserts.bin"
    original = bytes(range(256)) * 8
    path.write_bytes(original)
    open_for_editing(window, editor, path)
    editor.toggle_insert_mode()
    type_steps(window.view, 40)
    calls = counting(editor.stack)
    assert editor.save()
    assert len(calls) <= 4
    saved = path.read_bytes()
    assert len(saved) == len(original) + 40
    while editor.stack.canUndo():
        editor.undo()
    assert window.document.read(0, len(original) + 1) == original
    while editor.stack.canRedo():
        editor.redo()
    assert window.document.read(0, len(saved) + 1) == saved
    assert not window.document.modified

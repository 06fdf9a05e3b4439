"""QUndoCommands over the core's Edit values: undo applies the inverse edit, redo the edit.

The commands hold no bytes of their own beyond the Edit (old and new bytes), so the undo logic is
the core's and is tested without Qt. Consecutive typing merges into one step through
``edits.coalesce``; a paste, a fill or a zero-fill is always a step of its own. A command never
raises into Qt: an undo or redo the document refuses (the file was truncated under the edit)
is reported through ``on_error`` with one sentence.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

from mmhex.core.document import Document, EditError
from mmhex.core.edits import AnyEdit, Batch, Edit, Splice, coalesce
from mmhex.core.errors import describe_error

# Commands with this id may merge (QUndoStack asks mergeWith only when the ids are equal).
TYPING_ID = 0x6D6D
NOT_MERGEABLE = -1

ErrorReporter = Callable[[str], None]


# Typing in insert mode merges inserts and nibble overwrites into one step up to this many edits.
MAX_TYPED_EDITS = 4096


def batch_of(document: object) -> contextlib.AbstractContextManager[object]:
    """One notification for many edits where the document can batch (a process cannot)."""
    batch = getattr(document, "batch", None)
    return batch() if batch is not None else contextlib.nullcontext()


def push_command(stack: QUndoStack, command: QUndoCommand) -> None:
    """``stack.push(command)``, without leaking the command when the stack deletes it at once.

    PySide6 6.11.3 takes a reference for C++ ownership *after* ``push`` returns, also when the
    stack already deleted the command inside ``push`` (merged into the step before — every
    typed key — or obsolete). Nothing ever drops that reference, so each keystroke kept its
    command, its Edit and the document alive: 100,000 typed edits left ~450,000 objects that
    every later full garbage collection walks (0.3 s each, inside the next Replace all). A
    command the stack deleted has no C++ side left, so the one reference ``push`` added is that
    leak and is dropped here; where a PySide release adds none, nothing is dropped.
    """
    if isinstance(stack, HistoryStack):
        stack.push(command)  # records the command, and drops the leak through _push
    else:
        _push(stack, command)


def _push(stack: QUndoStack, command: QUndoCommand) -> bool:
    """The C++ push, then the leaked reference dropped (see push_command); True if the stack
    kept ``command`` (not merged away or obsolete)."""
    before = sys.getrefcount(command)
    QUndoStack.push(stack, command)
    kept = shiboken6.isValid(command)
    if not kept and sys.getrefcount(command) == before + 1:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(command))
    return kept


class HistoryStack(QUndoStack):
    """A QUndoStack that keeps its own Python list of the commands it holds.

    Save needs every step's edit (done and undone) to keep the history usable; asking the stack
    for each with ``command(i)`` is one PySide call per step, on the window's thread. This list
    follows the stack as each push changes it (redo steps dropped, a keystroke merged into the
    step before, an obsolete step removed, the oldest step dropped at the undo limit) and as
    ``clear`` empties it; undo, redo and ``setIndex`` only move the index. ``commands`` checks it
    against the stack in O(1) (count, first, last) and falls back to the walk if someone changed
    the stack behind it, so it is always exactly the walk.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._commands: list[QUndoCommand] = []

    def push(self, command: QUndoCommand) -> None:
        """``QUndoStack.push`` without PySide's reference leak (see ``push_command``), recorded."""
        kept = self.index()
        commands = self._commands
        if len(commands) != self.count():
            commands[:] = self.walk()
        added = _push(self, command)
        del commands[kept:]  # pushing after undo drops the undone steps
        if added:
            commands.append(command)
        excess = len(commands) - self.count()
        if excess > 0:
            if added:
                del commands[:excess]  # past the undo limit: the oldest steps go
            else:
                del commands[len(commands) - excess :]  # merged into an obsolete step: removed

    def clear(self) -> None:
        QUndoStack.clear(self)
        self._commands.clear()

    def walk(self) -> list[QUndoCommand]:
        """The stack's commands asked one by one (the slow, authoritative way)."""
        return [self.command(index) for index in range(self.count())]

    def commands(self) -> list[QUndoCommand]:
        """Every command on the stack, oldest first (done and undone), without walking it."""
        commands = self._commands
        count = self.count()
        if len(commands) != count or (
            count
            and (self.command(0) is not commands[0] or self.command(count - 1) is not commands[-1])
        ):
            commands[:] = self.walk()
        return list(commands)


def describe_edit(label: str, edit: AnyEdit) -> str:
    """'Typing: 3 bytes at 0x1f', 'Insert 4 bytes at 0x10' — the history's and Undo's text."""
    if isinstance(edit, Splice):
        if not label:
            return edit.describe()
        if edit.inserted_length and not edit.removed_length:
            count = edit.inserted_length
            return (
                f"{label}: {count:,} byte{'s' if count != 1 else ''} inserted at 0x{edit.offset:x}"
            )
        if edit.removed_length and not edit.inserted_length:
            count = edit.removed_length
            return f"{label}: {count:,} byte{'s' if count != 1 else ''} at 0x{edit.offset:x}"
    if isinstance(edit, Batch):
        inserted = sum(e.inserted_length for e in edit.edits if isinstance(e, Splice))
        count = len(edit.edits)
        what = (
            f"{inserted:,} byte{'s' if inserted != 1 else ''} inserted"
            if inserted
            else f"{count:,} edit{'s' if count != 1 else ''}"
        )
        return f"{label}: {what} at 0x{edit.offset:x}"
    count = len(edit)
    return f"{label}: {count:,} byte{'s' if count != 1 else ''} at 0x{edit.offset:x}"


def merge_typing(previous: AnyEdit, later: AnyEdit) -> AnyEdit | None:
    """One undo step for a run of typing: overwrites coalesce; inserts join a Batch."""
    if isinstance(previous, Edit) and isinstance(later, Edit):
        return coalesce(previous, later)
    parts = previous.edits if isinstance(previous, Batch) else (previous,)
    if len(parts) >= MAX_TYPED_EDITS:
        return None
    last = parts[-1]
    # Typing continues where the last keystroke left off (same byte, or the next one).
    if not last.offset <= later.offset <= last.offset + max(len(last), 1):
        return None
    if isinstance(later, Edit) and isinstance(last, Edit):
        joined = coalesce(last, later)
        if joined is not None:
            return Batch((*parts[:-1], joined)) if len(parts) > 1 else joined
    return Batch((*parts, later))


def _changes_nothing(edit: AnyEdit) -> bool:
    return isinstance(edit, Edit) and edit.old == edit.new


class EditCommand(QUndoCommand):
    """One undo step: ``edit`` written over the document.

    ``typing`` commands of the same ``run`` (no cursor move in between) merge. ``applied`` says
    the controller already wrote the edit (so that a refusal reached the user before anything
    was pushed); the stack's first redo() then does nothing.
    """

    def __init__(
        self,
        document: Document,
        edit: AnyEdit,
        label: str,
        *,
        typing: bool = False,
        run: int = 0,
        applied: bool = True,
        on_error: ErrorReporter | None = None,
    ) -> None:
        super().__init__(describe_edit(label, edit))
        self.document = document
        self.edit = edit
        self.label = label
        self.typing = typing
        self.run = run
        self._skip_next_redo = applied
        self._on_error = on_error

    def id(self) -> int:
        return TYPING_ID if self.typing else NOT_MERGEABLE

    def redo(self) -> None:
        if self._skip_next_redo:
            self._skip_next_redo = False
            return
        self._run(self.document.apply, "redo")

    def undo(self) -> None:
        self._run(self.document.revert, "undo")

    def _run(self, step: Callable[[AnyEdit], None], verb: str) -> None:
        try:
            step(self.edit)
        except (EditError, OSError, ValueError) as exc:
            if self._on_error is not None:
                reason = str(exc) if isinstance(exc, EditError) else describe_error(exc)
                self._on_error(f"Cannot {verb} “{self.text()}”: {reason}")

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb the next keystroke when it continues this run of typing."""
        if not isinstance(other, EditCommand) or not (self.typing and other.typing):
            return False
        if other.document is not self.document or other.run != self.run:
            return False
        merged = merge_typing(self.edit, other.edit)
        if merged is None:
            return False
        self.edit = merged
        self.setText(describe_edit(self.label, merged))
        # Typed back exactly what was there: the step changes nothing, the stack drops it.
        self.setObsolete(_changes_nothing(merged))
        return True


class EditBatchCommand(QUndoCommand):
    """One undo step made of many edits (Replace all): redo in order, undo in reverse order."""

    def __init__(
        self,
        document: Document,
        edits: list[AnyEdit],
        label: str,
        *,
        applied: bool = True,
        on_error: ErrorReporter | None = None,
    ) -> None:
        changed = sum(len(edit) for edit in edits)
        places = f"{len(edits):,} place{'s' if len(edits) != 1 else ''}"
        super().__init__(f"{label}: {changed:,} byte{'s' if changed != 1 else ''} in {places}")
        self.document = document
        self.edits = edits
        self._skip_next_redo = applied
        self._on_error = on_error

    @property
    def first_offset(self) -> int:
        return min(edit.offset for edit in self.edits)

    def redo(self) -> None:
        if self._skip_next_redo:
            self._skip_next_redo = False
            return
        self._run(self.edits, self.document.apply, "redo")

    def undo(self) -> None:
        self._run(list(reversed(self.edits)), self.document.revert, "undo")

    def _run(self, edits: list[AnyEdit], step: Callable[[AnyEdit], None], verb: str) -> None:
        failed: list[str] = []
        # Listeners hear of the whole step once (issue 10: not once per place).
        with batch_of(self.document):
            for edit in edits:
                try:
                    step(edit)
                except (EditError, OSError, ValueError) as exc:
                    failed.append(str(exc) if isinstance(exc, EditError) else describe_error(exc))
        if failed and self._on_error is not None:
            more = f" (and {len(failed) - 1:,} more)" if len(failed) > 1 else ""
            self._on_error(f"Cannot {verb} all of “{self.text()}”: {failed[0]}{more}")

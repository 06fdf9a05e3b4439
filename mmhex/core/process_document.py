"""ProcessDocument: a running process's memory behind the reading interface of Document.

The grid, the panels, search and checksums read a document through ``read``/``size``/
``generation`` and listen for ``Change`` values; this class offers exactly that over a
``ProcessMemory`` (the readable regions folded end to end), so none of them needs a special
case. It is read-only until ``enable_editing`` (which the window confirms first through
``confirm_editing``); writes then go straight into the live process through ``/proc/PID/mem``,
one ``Edit`` at a time, so there is never anything to save. Never imports Qt.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable

from mmhex.core import save as saving
from mmhex.core.document import Change, ChangeKind, EditError, Listener, PreparedSave
from mmhex.core.edits import Edit, EditLog
from mmhex.core.errors import MmhexError
from mmhex.core.mapping import OpenMode
from mmhex.core.process import AddressSpace, ProcessAccessError, ProcessMemory, Region
from mmhex.core.progress import CancelToken
from mmhex.core.read_through import ReadThrough

# Asked before edit mode starts on a process; False keeps it read-only.
EditConfirmation = Callable[["ProcessDocument"], bool]
SAVE_AS_CHUNK = 1 << 20


class NoPageCacheError(MmhexError, AttributeError):
    """Raised for ``.mapped``: a process has no file of its own whose page cache could be shown.

    An AttributeError, so ``getattr(document, "mapped", document)`` (search, checksums) falls
    back to the document itself; a MmhexError, so a panel that asks shows this sentence.
    """


def process_label(pid: int, name: str) -> str:
    """What the title bar and messages call the process: 'python3 (PID 1234)'."""
    return f"{name.replace('/', '∕')} (PID {pid})"


class ProcessDocument:
    """The folded readable memory of process ``pid`` as a document (see module docstring)."""

    def __init__(self, memory: ProcessMemory) -> None:
        self.memory = memory
        self.pid = memory.pid
        self.name = memory.name
        self.generation = 0
        self._listeners: list[Listener] = []
        self.readonly_reason: str | None = None
        self.recovery = None  # no interrupted saves for a process
        self.edit_log = EditLog()  # stays empty: writes are live, there is nothing to save
        self.confirm_editing: EditConfirmation | None = None
        self._editing = False
        self._exit_reported = False

    @classmethod
    def open(cls, pid: int) -> ProcessDocument:
        """Open ``pid`` read-only; raises ProcessAccessError whose str says why it is refused."""
        return cls(ProcessMemory(pid))

    # ----------------------------------------------------------------- reading
    @property
    def path(self) -> str:
        """A label, not a file path (there is no file): used for the title and messages."""
        return process_label(self.pid, self.name)

    @property
    def mapped(self) -> object:
        # Short: the Residency panel shows it on one line. The Regions dock has the pages.
        raise NoPageCacheError("a process has no page cache; see the Regions dock")

    @property
    def scan_source(self) -> ReadThrough:
        """What search and checksums walk: this document through its fault-free ``read``."""
        return ReadThrough(self)

    @property
    def space(self) -> AddressSpace:
        return self.memory.space

    @property
    def regions(self) -> list[Region]:
        return self.memory.space.regions

    @property
    def size(self) -> int:
        return self.memory.size

    @property
    def mode(self) -> OpenMode:
        return OpenMode.PRIVATE if self._editing else OpenMode.READ_ONLY

    def read(self, offset: int, length: int) -> bytes:
        """Bytes at document offsets; pages that vanished read as zeros (never faults)."""
        return self.memory.read(offset, length)

    read_original = read

    def address_of(self, offset: int) -> int:
        return self.memory.space.address_of(offset)

    def offset_of(self, address: int) -> int | None:
        return self.memory.space.offset_of(address)

    # ----------------------------------------------------------------- listeners
    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, change: Change) -> None:
        self.generation += 1
        for listener in list(self._listeners):
            listener(change)

    # ----------------------------------------------------------------- refresh
    @property
    def alive(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stream:
                state = stream.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in (b"Z", b"X")

    def check_outside_change(self) -> Change | None:
        """Polled by the window: reports once that the process has exited; otherwise None.

        Mappings change all the time in a live process; they are re-read on ``refresh`` (F5),
        never under the user's cursor.
        """
        if self._exit_reported or self.alive:
            return None
        self._exit_reported = True
        change = Change(
            ChangeKind.RELOAD,
            0,
            self.size,
            f"Process {self.pid} has exited: its memory can no longer be read.",
        )
        self.notify(change)
        return change

    def refresh(self) -> Change:
        """Re-read the maps and the bytes (F5); the RELOAD says what changed, if anything."""
        old_size = self.size
        try:
            changed = self.memory.refresh()
        except ProcessAccessError as exc:
            change = Change(ChangeKind.RELOAD, 0, self.size, str(exc))
            self.notify(change)
            return change
        message = ""
        if changed:
            count = len(self.memory.space.readable)
            message = (
                f"The mappings of process {self.pid} changed: {count} readable regions, "
                f"{self.size:,} bytes (was {old_size:,})."
            )
        change = Change(ChangeKind.RELOAD, 0, self.size, message)
        self.notify(change)
        return change

    # ----------------------------------------------------------------- editing
    @property
    def editing(self) -> bool:
        return self._editing

    @property
    def modified(self) -> bool:
        """Always False: every write is already in the process, nothing waits to be saved."""
        return False

    def enable_editing(self) -> None:
        """Re-open /proc/PID/mem for writing after ``confirm_editing`` agreed."""
        if self._editing:
            return
        if self.confirm_editing is not None and not self.confirm_editing(self):
            raise EditError(f"Editing was not confirmed: process {self.pid} stays read-only.")
        writable = ProcessMemory(self.pid, writable=True)
        self.memory.close()
        self.memory = writable
        self._editing = True
        self.notify(
            Change(
                ChangeKind.MODE,
                0,
                self.size,
                f"Writing into process {self.pid}: each change takes effect at once "
                "(Undo writes the old bytes back).",
            )
        )

    def disable_editing(self) -> None:
        if not self._editing:
            return
        readonly = ProcessMemory(self.pid)
        self.memory.close()
        self.memory = readonly
        self._editing = False
        self.notify(Change(ChangeKind.MODE, 0, self.size, "Read-only: writing disabled."))

    def write(self, offset: int, data: bytes) -> Edit:
        """Write ``data`` into the process now; returns the Edit (old bytes) for undo."""
        data = bytes(data)
        self._check_range(offset, len(data))
        old = self.read(offset, len(data))
        edit = Edit(offset, old, data)
        self._put(edit)
        return edit

    def apply(self, edit: Edit) -> None:
        self._check_range(edit.offset, len(edit.new))
        self._put(edit)

    def revert(self, edit: Edit) -> None:
        self.apply(edit.inverse())

    def revert_all(self) -> None:
        """Nothing to discard: writes went into the process as they were made."""

    def dirty_ranges(self) -> list[tuple[int, int]]:
        return []

    def dirty_ranges_in(self, start: int, end: int) -> list[tuple[int, int]]:
        return []

    def _check_range(self, offset: int, length: int) -> None:
        if not self._editing:
            raise EditError(f"Process {self.pid} is shown read-only: enable editing first.")
        if length <= 0:
            raise EditError("There are no bytes to write.")
        if offset < 0 or offset + length > self.size:
            raise EditError(
                f"Writing {length:,} bytes at {offset:#x} would run past the readable memory "
                f"({self.size:,} bytes)."
            )

    def _put(self, edit: Edit) -> None:
        try:
            self.memory.write(edit.offset, edit.new)
        except ProcessAccessError as exc:
            raise EditError(str(exc)) from None
        self.notify(Change(ChangeKind.EDIT, edit.offset, edit.end))

    # ----------------------------------------------------------------- saving
    def save_blocker(self) -> str | None:
        return "Writes into a process take effect at once: there is nothing to save."

    def prepare_save(self, **_options: object) -> PreparedSave:
        empty = saving.SaveResult(self.path, 0, 0, 0.0)
        return PreparedSave(self.path, lambda _progress, _cancel: empty, lambda result: result)

    def prepare_save_as(self, target: str) -> PreparedSave:
        """Save As writes a snapshot of the readable memory (folded) to ``target``.

        The process stays open: unlike a file, it does not become the copy.
        """
        target = os.path.realpath(target)
        size = self.size

        def run(
            on_progress: saving.ProgressCallback | None, cancel: CancelToken | None
        ) -> saving.SaveResult:
            started = time.monotonic()
            temporary = f"{target}.mmhex-tmp"
            with open(temporary, "wb") as out:
                pos = 0
                while pos < size:
                    if cancel is not None:
                        cancel.check()
                    chunk = self.read(pos, min(SAVE_AS_CHUNK, size - pos))
                    if not chunk:
                        raise ProcessAccessError(errno.EIO, f"Process {self.pid} has exited.")
                    out.write(chunk)
                    pos += len(chunk)
                    if on_progress is not None:
                        on_progress(pos, size)
            os.replace(temporary, target)
            return saving.SaveResult(target, size, 1, time.monotonic() - started)

        def finish(result: saving.SaveResult) -> saving.SaveResult:
            return result

        return PreparedSave(target, run, finish)

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        self.memory.close()
        self._listeners.clear()

"""Saving one block-aligned insert or delete in place: the file system moves the tail.

``fallocate(FALLOC_FL_INSERT_RANGE)`` / ``FALLOC_FL_COLLAPSE_RANGE`` (ext4, XFS; EOPNOTSUPP on
tmpfs and btrfs, EINVAL when unaligned) shift every later extent of the file in the extent tree:
a 4 KiB insert at offset 0 of a 4 GiB file costs milliseconds instead of rewriting 4 GiB.
``shift_of(plan, block)`` says whether a layout plan is exactly one such shift (plus, for an
insert, the new bytes inside the gap); ``save_shift`` carries it out, crash-safe:

1. a small *shift journal* beside the file records the shift and both sizes (fsynced);
2. the one fallocate call; for an insert, the new bytes are written into the gap, fsync;
3. the journal is removed (fsync of the folder): the save is complete.

``recover_shift`` (run at open and by ``mmhex recover``) uses the file's size to tell where an
interrupted save stopped: an insert whose gap exists but may be half-filled is collapsed again
(exactly the old file); a delete either happened (exactly the new file) or did not (the old).
Nothing here touches bytes outside the gap, so there is nothing else to undo.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from mmhex.core._libc import _libc, raise_errno
from mmhex.core.errors import MmhexError
from mmhex.core.journal import (
    fsync_directory,
    open_locked_for_recovery,
    open_trusted,
    unlink_durably,
)
from mmhex.core.journal_place import journal_location
from mmhex.core.layout_save import (
    LayoutPlan,
    free_space_problem,
    open_for_saving_in_place,
    write_document_range,
)
from mmhex.core.mapping import FileIdentity
from mmhex.core.progress import CancelToken, Progress
from mmhex.core.save import (
    ProgressCallback,
    SaveError,
    SaveResult,
    _pwrite_all,
    _reason,
)

FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_INSERT_RANGE = 0x20
SHIFT_SUFFIX = ".mmhex-shift"
INSERT = "insert"
COLLAPSE = "collapse"

_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
_libc.fallocate.restype = ctypes.c_int


def fallocate(fd: int, mode: int, offset: int, length: int) -> None:
    if _libc.fallocate(fd, mode, offset, length) != 0:
        raise_errno("fallocate")


@dataclass(frozen=True)
class Shift:
    kind: str  # INSERT or COLLAPSE
    offset: int
    length: int
    old_size: int

    @property
    def new_size(self) -> int:
        return self.old_size + (self.length if self.kind == INSERT else -self.length)


def shift_of(plan: LayoutPlan, block: int) -> Shift | None:
    """The one aligned fallocate shift that turns the old file into the new one, or None."""
    delta = plan.final_size - plan.old_size
    copies = list(plan.copies)
    if not delta or not copies or block <= 0 or abs(delta) % block:
        return None
    head = copies.pop(0) if copies[0].shift == 0 and copies[0].source == 0 else None
    if len(copies) != 1:
        return None
    tail = copies[0]
    start = head.length if head else 0
    if tail.shift != delta or start % block or tail.source + tail.length != plan.old_size:
        return None
    if delta > 0:
        if tail.source != start or plan.writes != ((start, start + delta),):
            return None
        return Shift(INSERT, start, delta, plan.old_size)
    if tail.source != start - delta or plan.writes or not tail.length:
        return None
    return Shift(COLLAPSE, start, -delta, plan.old_size)


def shift_journal_path(path: str, *, writing: os.stat_result | None = None) -> str:
    """Named after the file's device and inode, like every journal (journal_place)."""
    return journal_location(path, SHIFT_SUFFIX, writing=writing)


def save_shift(
    path: str,
    shift: Shift,
    read: Callable[[int, int], bytes],
    expected: FileIdentity | None,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint: Callable[[str], None] | None = None,
) -> SaveResult | None:
    """Carry out ``shift`` in place; None when the file system cannot shift (use another way).

    ``read(offset, length)`` reads the document (the inserted bytes). Raises SaveError (file
    unchanged), FileChangedOnDiskError, or Cancelled (rolled back).
    """
    started = time.monotonic()
    token = cancel or CancelToken()
    step = checkpoint or (lambda _name: None)
    fd, st = open_for_saving_in_place(path, expected, token)
    try:
        if st.st_size != shift.old_size:
            return None
        if shift.kind == INSERT:
            problem = free_space_problem(os.path.dirname(os.path.realpath(path)), shift.length)
            if problem:
                raise SaveError(problem, errno.ENOSPC)
        jpath = shift_journal_path(path, writing=st)
        _write_journal(jpath, shift, st)
        step("journal-written")
        mode = FALLOC_FL_INSERT_RANGE if shift.kind == INSERT else FALLOC_FL_COLLAPSE_RANGE
        try:
            fallocate(fd, mode, shift.offset, shift.length)
        except OSError as exc:
            unlink_durably(jpath)
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                return None  # this file system cannot shift here: the caller copies instead
            raise SaveError(
                f"Saving {path} failed ({_reason(exc)}); the file is unchanged.", exc.errno
            ) from exc
        step("shifted")
        if shift.kind == INSERT:
            try:
                _fill_gap(fd, shift, read, Progress(shift.length, on_progress, token), step)
            except BaseException as exc:
                _undo_insert(fd, shift)
                unlink_durably(jpath)
                if isinstance(exc, OSError):
                    raise SaveError(
                        f"Saving {path} failed ({_reason(exc)}); the file was restored.", exc.errno
                    ) from exc
                raise
        os.fsync(fd)
        step("file-fsynced")
        unlink_durably(jpath)
    finally:
        os.close(fd)
    changed = shift.length
    return SaveResult(path, changed, 1, time.monotonic() - started)


def _write_journal(jpath: str, shift: Shift, st: os.stat_result) -> None:
    """Written whole under another name, then renamed: a journal that exists is complete."""
    record = {"format": "mmhex-shift-1", **asdict(shift), "device": st.st_dev, "inode": st.st_ino}
    partial = jpath + ".new"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(partial)  # left by a killed save (we hold the save lock): never follow it
    fd = os.open(
        partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
    )
    try:
        _pwrite_all(fd, json.dumps(record).encode(), 0)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, jpath)
    fsync_directory(os.path.dirname(jpath))


def _fill_gap(
    fd: int,
    shift: Shift,
    read: Callable[[int, int], bytes],
    progress: Progress,
    step: Callable[[str], None],
) -> None:
    lo, hi = shift.offset, shift.offset + shift.length
    write_document_range(read, fd, lo, hi, progress, after_chunk=lambda: step("gap-chunk"))


def _undo_insert(fd: int, shift: Shift) -> None:
    """Collapse the gap again: the file is exactly what it was."""
    fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, shift.offset, shift.length)
    os.fsync(fd)


@dataclass(frozen=True)
class ShiftRecovery:
    completed: bool  # True: the file holds the saved version; False: the old one
    message: str


def has_shift_journal(path: str) -> bool:
    return os.path.lexists(shift_journal_path(path))


def recover_shift(path: str) -> ShiftRecovery | None:
    """Finish or undo an interrupted shift save of ``path`` (None: there was none).

    Under the file's save lock (never racing a live save), and only from a journal that passes
    the journal trust checks (journal.open_trusted: regular, ours, 0600, one link)."""
    jpath = shift_journal_path(path)
    opened = open_locked_for_recovery(path, jpath, _reason)
    if isinstance(opened, str):
        return ShiftRecovery(False, opened)
    fd, st = opened
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(jpath + ".new")  # a journal killed while being written: nothing shifted
        try:
            jfd, _jst = open_trusted(jpath, owner=st.st_uid)
            try:
                record = json.loads(os.pread(jfd, 4096, 0))
            finally:
                os.close(jfd)
            shift = Shift(
                record["kind"],
                int(record["offset"]),
                int(record["length"]),
                int(record["old_size"]),
            )
            inode = (int(record["device"]), int(record["inode"]))
        except FileNotFoundError:
            return None
        except MmhexError as exc:
            return ShiftRecovery(False, f"The save journal {jpath} was not used: {exc}.")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return ShiftRecovery(
                False, f"The save journal {jpath} could not be read ({exc}); it was left in place."
            )
        if (st.st_dev, st.st_ino) != inode:
            return ShiftRecovery(False, f"{jpath} belongs to another file; it was left in place.")
        if shift.kind == INSERT and st.st_size == shift.new_size:
            _undo_insert(fd, shift)
            outcome = ShiftRecovery(
                False,
                f"An interrupted save of {path} was rolled back: the file is as it was before.",
            )
        elif shift.kind == COLLAPSE and st.st_size == shift.new_size:
            outcome = ShiftRecovery(
                True,
                f"An interrupted save of {path} had completed: the file holds the saved version.",
            )
        elif st.st_size == shift.old_size:
            outcome = ShiftRecovery(
                False, f"An interrupted save of {path} had not changed the file."
            )
        else:
            return ShiftRecovery(
                False,
                f"{path} has a size the interrupted save cannot explain ({st.st_size:,} "
                f"bytes); {jpath} was left in place.",
            )
        unlink_durably(jpath)  # still under the save lock
    finally:
        os.close(fd)
    return outcome

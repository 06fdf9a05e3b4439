"""Saving a resized document in place, in chunks, when the file system cannot shift extents.

A layout plan (core/layout_save.py) becomes a list of *steps*, each overwriting one range of the
file: first the moves of the kept ranges (those shifting left front to back, those shifting right
back to front, each move's chunks in that same direction, so no step overwrites bytes a later
step has yet to read), then the writes of bytes from memory (inserted, filled, overwritten).

Crash safety is an undo log beside the file (``.NAME.mmhex-move``): a header (magic, both sizes,
the file's identity, a digest of the plan) and, before each step overwrites the file, a record of
the bytes it is about to overwrite (only those inside the old size: the grown part is cut off on
roll back), checksummed and fsynced. After the last step the file is fsynced and a COMPLETE
record appended; then the file is cut to its new size and the journal removed. Recovery (at open
and ``mmhex recover``) reads the records up to the first incomplete one (a record cut short was
never acted on: its chunk is untouched), and either restores every recorded chunk, newest first,
and the old size (exactly the old file), or, after COMPLETE, finishes the truncation (the new).

Writes use ``pread``/``pwrite`` and ``fsync`` rather than ``MAP_SHARED`` windows and ``msync``.
Measured on tmpfs, moving a 1 GiB tail right by 16 bytes in 8 MiB chunks: MAP_SHARED ``move`` +
``msync`` 0.19 s, pread + pwrite + fsync 0.26-0.34 s (one memory copy more). The mapping was
not chosen all the same: a write through it into a hole of a full file system, or into a file
another program truncates meanwhile, is SIGBUS instead of an ENOSPC/EIO the save can roll back
from, and the undo journal's copy of each chunk (the larger cost: the whole save is 0.9 s) is
the same either way.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from mmhex.core.errors import MmhexError
from mmhex.core.journal import (
    RECOVERY_LOCK_WAIT,
    fsync_directory,
    lock_for_saving,
    open_trusted,
)
from mmhex.core.journal_place import journal_location
from mmhex.core.layout_save import LayoutPlan, open_for_saving_in_place
from mmhex.core.mapping import FileIdentity
from mmhex.core.progress import Cancelled, CancelToken, Progress
from mmhex.core.save import (
    FileChangedOnDiskError,
    ProgressCallback,
    SaveError,
    SaveResult,
    _pwrite_all,
    _reason,
)

MOVE_SUFFIX = ".mmhex-move"
MAGIC = b"MMHEXMOV"
# 4 MiB: on tmpfs the fastest of 0.5-32 MiB (bench (a'), the chunk stays in the CPU caches)
CHUNK = 4 << 20
_HEAD = struct.Struct("<8sQQQQ32s")  # magic, old size, new size, device, inode, plan digest
_REC = struct.Struct("<cQQ")  # kind, offset, length; then the old bytes, then a CRC-32
_CRC = struct.Struct("<I")  # of the record: it tells a record cut short, not tampering (the
# journal is trusted by its owner and mode, see journal.open_trusted); 2.7x faster than SHA-256
_DIGEST = 32  # the header's SHA-256
RANGE = b"R"
COMPLETE = b"K"


@dataclass(frozen=True)
class Step:
    """Overwrite ``[target, target + length)`` of the file with file bytes from ``source``, or,
    when ``source`` is None, with the document's bytes at ``target`` (a write from memory)."""

    target: int
    length: int
    source: int | None


def steps_of(plan: LayoutPlan, chunk: int = CHUNK) -> list[Step]:
    """The plan's overwrites in an order where none destroys bytes a later one reads."""
    steps: list[Step] = []
    for move in plan.moves:
        starts = range(0, move.length, chunk)
        for lo in reversed(starts) if move.shift > 0 else starts:
            n = min(chunk, move.length - lo)
            steps.append(Step(move.target + lo, n, move.source + lo))
    for lo, hi in plan.writes:
        steps.extend(Step(p, min(chunk, hi - p), None) for p in range(lo, hi, chunk))
    return steps


def plan_digest(plan: LayoutPlan) -> bytes:
    return hashlib.sha256(repr(plan).encode()).digest()


def journal_size(plan: LayoutPlan, chunk: int = CHUNK) -> int:
    """The undo log's size when complete: what a save needs free beside the growth."""
    steps = steps_of(plan, chunk)
    saved = sum(max(0, min(s.target + s.length, plan.old_size) - s.target) for s in steps)
    records = len(steps) + 1
    return _HEAD.size + _DIGEST + records * (_REC.size + _CRC.size) + saved


def space_needed(plan: LayoutPlan, chunk: int = CHUNK) -> int:
    return max(0, plan.final_size - plan.old_size) + journal_size(plan, chunk)


def move_journal_path(path: str, *, writing: os.stat_result | None = None) -> str:
    """Named after the file's device and inode, like every journal (journal_place)."""
    return journal_location(path, MOVE_SUFFIX, writing=writing)


def has_move_journal(path: str) -> bool:
    return os.path.lexists(move_journal_path(path))


def free_bytes(folder: str) -> int | None:
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


class _Journal:
    """The undo log being written: every append is fsynced before the file is touched."""

    def __init__(self, jpath: str, plan: LayoutPlan, st: os.stat_result, size: int) -> None:
        self.path = jpath
        with contextlib.suppress(FileNotFoundError):
            os.unlink(jpath)
        self.fd = os.open(jpath, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            # All of its space at once (zeros end the records): no ENOSPC in the middle.
            os.posix_fallocate(self.fd, 0, size)
            head = _HEAD.pack(
                MAGIC, plan.old_size, plan.final_size, st.st_dev, st.st_ino, plan_digest(plan)
            )
            self.pos = 0
            self._append(head, hashlib.sha256(head).digest())
            fsync_directory(os.path.dirname(jpath))
        except BaseException:
            self.remove()
            raise

    def record(self, kind: bytes, offset: int, data: bytes | memoryview) -> None:
        rec = _REC.pack(kind, offset, len(data))
        self._append(rec, data, _CRC.pack(zlib.crc32(data, zlib.crc32(rec))))

    def _append(self, *parts: bytes | memoryview) -> None:
        """One vectored write (no copy of a chunk into one buffer), then fsync."""
        total = sum(len(part) for part in parts)
        written = os.pwritev(self.fd, parts, self.pos)
        if written != total:  # short write (a signal, a full disk): finish it plainly
            _pwrite_all(self.fd, b"".join(parts)[written:], self.pos + written)
        self.pos += total
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def remove(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        fsync_directory(os.path.dirname(self.path))


def save_in_place(
    path: str,
    plan: LayoutPlan,
    read: Callable[[int, int], bytes],
    expected: FileIdentity | None,
    *,
    chunk: int = CHUNK,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint: Callable[[str], None] | None = None,
) -> SaveResult:
    """Carry out ``plan`` inside the file at ``path`` (see the module docstring).

    Raises SaveError (the file is unchanged: not enough space, ENOSPC, an I/O error, all rolled
    back), FileChangedOnDiskError, or Cancelled (rolled back).
    """
    started = time.monotonic()
    token = cancel or CancelToken()
    step = checkpoint or (lambda _name: None)
    fd, st = open_for_saving_in_place(path, expected, token)
    try:
        if st.st_size != plan.old_size:
            raise FileChangedOnDiskError(path, f"its size is {st.st_size:,} bytes now")
        folder = os.path.dirname(os.path.realpath(path))
        needed = space_needed(plan, chunk)
        free = free_bytes(folder)
        if free is not None and free < needed:
            raise SaveError(
                f"Not enough free space in {folder} to save {path} in place: it needs "
                f"{needed:,} bytes ({max(0, plan.final_size - plan.old_size):,} for the growth, "
                f"{needed - max(0, plan.final_size - plan.old_size):,} for the undo journal) "
                f"and {free:,} are free; nothing was changed.",
                errno.ENOSPC,
            )
        steps = steps_of(plan, chunk)
        total = max(1, sum(s.length for s in steps))
        progress = Progress(total, on_progress, token)
        try:
            log = _Journal(move_journal_path(path, writing=st), plan, st, journal_size(plan, chunk))
        except OSError as exc:
            raise SaveError(
                f"Cannot write the save journal beside {path} ({_why(exc)}); nothing was changed.",
                exc.errno,
            ) from exc
        step("journal-written")
        try:
            if plan.final_size > plan.old_size:
                # Allocate the growth now: ENOSPC here, before a byte of the file moved.
                os.posix_fallocate(fd, plan.old_size, plan.final_size - plan.old_size)
                step("grown")
            for s in steps:
                data, saved = _read_step(fd, s, plan.old_size, read)
                log.record(RANGE, s.target, saved)
                step("chunk-journaled")
                _pwrite_all(fd, data, s.target)
                step("chunk-written")
                progress.advance(s.length)
            os.fsync(fd)
            step("file-fsynced")
            log.record(COMPLETE, 0, b"")
        except BaseException as exc:
            log.close()
            outcome = _roll_back(fd, log.path, plan.old_size)
            if isinstance(exc, Cancelled):
                raise
            if isinstance(exc, OSError):
                raise SaveError(
                    f"Saving {path} in place failed ({_why(exc)}); {outcome}", exc.errno
                ) from exc
            raise
        step("completed")
        os.ftruncate(fd, plan.final_size)
        os.fsync(fd)
        step("truncated")
        log.remove()
    finally:
        os.close(fd)
    changed = sum(s.length for s in steps) + abs(plan.final_size - plan.old_size)
    return SaveResult(path, changed, len(plan.writes), time.monotonic() - started)


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the file system ran out of space"
    return _reason(exc)


def _read_step(
    fd: int, s: Step, old_size: int, read: Callable[[int, int], bytes]
) -> tuple[bytes | memoryview, bytes | memoryview]:
    """The bytes step ``s`` writes, and the old bytes it overwrites inside the old size (those
    past it are cut off on roll back). A move whose source and target overlap (a small shift)
    is read in one pread covering both."""
    keep = max(0, min(s.target + s.length, old_size) - s.target)
    if s.source is None:
        data: bytes | memoryview = read(s.target, s.length)
        saved: bytes | memoryview = os.pread(fd, keep, s.target) if keep else b""
    elif keep and max(s.source, s.target) < min(s.source + s.length, s.target + keep):
        lo = min(s.source, s.target)
        hi = max(s.source + s.length, s.target + keep)
        view = memoryview(os.pread(fd, hi - lo, lo))
        if len(view) != hi - lo:
            raise OSError(errno.EIO, f"could not read {hi - lo:,} bytes to move")
        data = view[s.source - lo : s.source - lo + s.length]
        saved = view[s.target - lo : s.target - lo + keep]
    else:
        data = os.pread(fd, s.length, s.source)
        saved = os.pread(fd, keep, s.target) if keep else b""
    if len(data) != s.length or len(saved) != keep:
        raise OSError(errno.EIO, f"could not read {s.length:,} bytes to move")
    return data, saved


def _roll_back(fd: int, jpath: str, old_size: int) -> str:
    """Undo an unfinished save in this process; the sentence saying how it ended."""
    try:
        jfd = os.open(jpath, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _restore(fd, jfd, scan(jfd).records, old_size)
        finally:
            os.close(jfd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(jpath)
        fsync_directory(os.path.dirname(jpath))
    except (OSError, ValueError) as exc:
        return f"rolling back failed too ({exc}); run mmhex recover on the file."
    return "the file was restored as it was."


def _restore(fd: int, jfd: int, records: list[Record], old_size: int) -> None:
    """Write every recorded chunk's old bytes back, newest first, one piece at a time (memory
    stays one chunk whatever the journal's size); then the old size. Rerunning it after a
    crash in the middle does the same again: recovery itself can be killed."""
    for record in reversed(records):
        done = 0
        while done < record.length:
            piece = os.pread(jfd, min(CHUNK, record.length - done), record.position + done)
            if not piece:
                raise OSError(errno.EIO, "the journal ended early")
            _pwrite_all(fd, piece, record.target + done)
            done += len(piece)
    os.ftruncate(fd, old_size)
    os.fsync(fd)


@dataclass(frozen=True)
class Record:
    target: int  # where in the file the old bytes belong
    position: int  # where in the journal they are
    length: int


@dataclass(frozen=True)
class Parsed:
    old_size: int
    new_size: int
    inode: tuple[int, int]
    records: list[Record]
    complete: bool


def scan(jfd: int) -> Parsed:
    """The journal's header and its whole records, read in pieces (ValueError: the header is
    not whole). Records end at the first one cut short (or the preallocated zeros)."""
    end = _HEAD.size + _DIGEST
    head = os.pread(jfd, end, 0)
    if len(head) < end or hashlib.sha256(head[: _HEAD.size]).digest() != head[_HEAD.size :]:
        raise ValueError("the journal header is cut short or damaged")
    magic, old, new, dev, ino, _digest = _HEAD.unpack_from(head)
    if magic != MAGIC:
        raise ValueError("not an mmhex move journal")
    size = os.fstat(jfd).st_size
    records: list[Record] = []
    complete = False
    pos = end
    while pos + _REC.size + _CRC.size <= size:
        rec = os.pread(jfd, _REC.size, pos)
        kind, offset, length = _REC.unpack(rec)
        body_end = pos + _REC.size + length
        # A chunk wholly past the old size records no bytes (it is cut off on roll back).
        outside = length and offset + length > old
        if kind not in (RANGE, COMPLETE) or body_end + _CRC.size > size or outside:
            break
        crc = zlib.crc32(rec)
        at = pos + _REC.size
        while at < body_end:
            piece = os.pread(jfd, min(CHUNK, body_end - at), at)
            if not piece:
                break
            crc = zlib.crc32(piece, crc)
            at += len(piece)
        if at != body_end or crc != _CRC.unpack(os.pread(jfd, _CRC.size, body_end))[0]:
            break
        if kind == COMPLETE:
            complete = True
            break
        records.append(Record(offset, pos + _REC.size, length))
        pos = body_end + _CRC.size
    return Parsed(old, new, (dev, ino), records, complete)


@dataclass(frozen=True)
class MoveRecovery:
    completed: bool  # True: the file holds the saved version; False: the old one
    message: str


def recover_move(path: str) -> MoveRecovery | None:
    """Finish or roll back an interrupted chunked in-place save of ``path`` (None: none)."""
    jpath = move_journal_path(path)
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        return MoveRecovery(False, f"{path} cannot be opened to recover it ({_reason(exc)}).")
    try:
        st = os.fstat(fd)
        if not lock_for_saving(fd, RECOVERY_LOCK_WAIT):
            return MoveRecovery(
                False,
                f"{path}: another mmhex is saving this file right now (journal {jpath}); it "
                "was left alone. Open it again when that save has finished.",
            )
        try:
            # The hardened checks of issue 9 (regular file, no link, owner, 0600, one link);
            # then it is read in pieces, never whole (it may hold a whole tail).
            jfd, _jst = open_trusted(jpath, owner=st.st_uid)
        except FileNotFoundError:
            return None
        except (OSError, MmhexError) as exc:
            return MoveRecovery(False, f"The save journal {jpath} was not used: {exc}.")
        try:
            outcome = _recover_with(path, jpath, fd, jfd, st)
        finally:
            os.close(jfd)
        if outcome is None:
            return MoveRecovery(False, f"{jpath} belongs to another file; it was left in place.")
        os.unlink(jpath)  # still under the save lock: no save of ours can start meanwhile
        fsync_directory(os.path.dirname(jpath))
    finally:
        os.close(fd)
    return outcome


def _recover_with(
    path: str, jpath: str, fd: int, jfd: int, st: os.stat_result
) -> MoveRecovery | None:
    """Roll back or finish from the open journal ``jfd`` (None: it is another file's)."""
    try:
        parsed = scan(jfd)
    except ValueError:
        # Killed while writing the header: the file was not touched yet.
        return MoveRecovery(False, f"An interrupted save of {path} had not changed it.")
    if parsed.inode != (st.st_dev, st.st_ino):
        return None
    if parsed.complete:
        os.ftruncate(fd, parsed.new_size)
        os.fsync(fd)
        return MoveRecovery(
            True, f"An interrupted save of {path} had completed: the file holds the saved version."
        )
    _restore(fd, jfd, parsed.records, parsed.old_size)
    return MoveRecovery(
        False, f"An interrupted save of {path} was rolled back: the file is as it was before."
    )


def prefer_in_place(plan: LayoutPlan, st: os.stat_result, folder: str, copy_needs: int) -> bool:
    """Whether a same-file save should move the tail in place rather than copy and rename.

    The copy is the default (the old file stays whole until one rename, and it needs one fsync
    instead of one per chunk); in place is chosen when a rename would cut the file off from its
    other hard links, or when free space is short for the copy but enough for the growth and
    the undo journal.
    """
    if st.st_nlink > 1:
        return True
    free = free_bytes(folder)
    return free is not None and free < copy_needs and free >= space_needed(plan)

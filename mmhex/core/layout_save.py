"""Saving a document whose size or layout changed: plan (copies, moves, writes, size), then write.

``plan_layout`` turns the piece table into a value tests inspect without I/O: which ranges of the
file land where (``copies``; those that shift are ``moves``), which document ranges must be
written from memory (inserted and filled bytes, overwrites of file bytes), and the final size.
``write_layout`` executes it into a new file beside the target (``copy_file_range`` for file
ranges, so holes and reflinks survive; the rest from the document), fsyncs it and its folder,
and renames it over the target: a crash at any instant leaves exactly the old or the new file.
It serves Save As, and a resized Save only where the in-place tail move (core/tail_move.py,
the default: ``tail_move.prefer_in_place``) lacks the space for its journal but a copy fits.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmhex.core.journal import lock_for_saving
from mmhex.core.mapping import FileIdentity
from mmhex.core.pieces import FIRST_FILL, ORIGINAL, Piece
from mmhex.core.progress import CancelToken, Progress
from mmhex.core.save import (
    COPY_CHUNK,
    SAVE_LOCK_WAIT,
    FileChangedOnDiskError,
    ProgressCallback,
    SaveError,
    SaveResult,
    _difference,
    _open_failure,
    _pwrite_all,
    copy_range,
    data_extents,
    write_replacement,
)


@dataclass(frozen=True)
class Move:
    """``length`` bytes of the file at ``source`` belong at ``target`` in the saved file."""

    source: int
    target: int
    length: int

    @property
    def shift(self) -> int:
        return self.target - self.source


@dataclass(frozen=True)
class Fill:
    """Document range ``[lo, hi)`` holds ``pattern`` repeated from ``phase`` (a FILL piece): a
    save regenerates these bytes instead of keeping a copy (100 GiB of fill stores nothing)."""

    lo: int
    hi: int
    pattern: bytes
    phase: int


@dataclass(frozen=True)
class LayoutPlan:
    old_size: int
    final_size: int
    copies: tuple[Move, ...]  # every range of the file that is kept, in document order
    writes: tuple[tuple[int, int], ...]  # document ranges whose bytes come from memory
    fills: tuple[Fill, ...] = ()  # the parts of ``writes`` that are a repeated pattern

    @property
    def fill_bytes(self) -> int:
        return sum(f.hi - f.lo for f in self.fills)

    @property
    def moves(self) -> tuple[Move, ...]:
        """The kept ranges that shift, in an order safe for moving them inside one file.

        Edits never reorder file bytes (only insert and delete between them), so the ranges
        shifting left can be moved first to last and those shifting right last to first: no
        move then overwrites a range another move has yet to read.
        """
        left = [m for m in self.copies if m.shift < 0]
        right = [m for m in self.copies if m.shift > 0]
        return tuple(left + right[::-1])

    @property
    def moved_bytes(self) -> int:
        return sum(m.length for m in self.copies if m.shift)

    @property
    def written_bytes(self) -> int:
        return sum(hi - lo for lo, hi in self.writes)


def plan_layout(
    pieces: Iterable[tuple[int, Piece]],
    dirty_file_ranges: Callable[[int, int], list[tuple[int, int]]],
    old_size: int,
    pattern_of: Callable[[int], bytes] | None = None,
) -> LayoutPlan:
    """The plan for ``pieces`` (``(document offset, piece)`` in order) over a file of ``old_size``.

    ``dirty_file_ranges(lo, hi)`` lists the overwritten file ranges inside ``[lo, hi)``;
    ``pattern_of(source)`` the pattern of a FILL piece (None: fills are plain writes).
    """
    copies: list[Move] = []
    writes: list[tuple[int, int]] = []
    fills: list[Fill] = []
    end = 0

    def write(lo: int, hi: int) -> None:
        if writes and writes[-1][1] == lo:
            writes[-1] = (writes[-1][0], hi)
        else:
            writes.append((lo, hi))

    for pos, piece in pieces:
        end = pos + piece.length
        if piece.source != ORIGINAL:
            write(pos, end)
            if piece.source >= FIRST_FILL and pattern_of is not None:
                fills.append(Fill(pos, end, pattern_of(piece.source), piece.start))
            continue
        copies.append(Move(piece.start, pos, piece.length))
        shift = pos - piece.start
        for lo, hi in dirty_file_ranges(piece.start, piece.start + piece.length):
            write(lo + shift, hi + shift)
    return LayoutPlan(old_size, end, tuple(copies), tuple(writes), tuple(fills))


def check_unchanged(path: str, expected: FileIdentity) -> None:
    """Raise FileChangedOnDiskError unless ``path`` is still the file the edits belong to."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _open_failure(path, exc) from exc
    detail = _difference(expected, st)
    if detail:
        raise FileChangedOnDiskError(path, detail)


def free_space_problem(folder: str, needed: int) -> str | None:
    """A sentence when ``folder``'s file system has less than ``needed`` bytes free."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    free = st.f_bavail * st.f_frsize
    if free >= needed:
        return None
    return (
        f"Not enough free space in {folder}: saving needs {needed:,} bytes and "
        f"{free:,} are free; nothing was changed."
    )


def write_layout(
    plan: LayoutPlan,
    source_fd: int,
    read: Callable[[int, int], bytes],
    target: str,
    *,
    mode: int = 0o644,
    owner: tuple[int, int] | None = None,
    check_before_rename: Callable[[], None] | None = None,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SaveResult:
    """Write ``plan`` to a new file and rename it onto ``target`` (see the module docstring).

    ``read(offset, length)`` reads the document; ``source_fd`` is the original file.
    ``check_before_rename`` may raise to abandon the save (the file changed meanwhile).
    An existing ``target`` is held under the save lock meanwhile (no other mmhex saves it).
    """
    lock_fd = _lock_existing(os.path.abspath(target), cancel or CancelToken())
    try:
        return _write_layout(
            plan, source_fd, read, target, mode, owner, check_before_rename, on_progress, cancel
        )
    finally:
        if lock_fd >= 0:
            os.close(lock_fd)


def _lock_existing(target: str, token: CancelToken) -> int:
    """The save lock of ``target`` if it exists (-1 if not), or SaveError if another holds it."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return -1
    try:
        lock_or_refuse(fd, target, token)
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock_or_refuse(fd: int, path: str, token: CancelToken) -> None:
    """Take the save lock of ``fd`` (the file at ``path``) or raise SaveError."""
    if not lock_for_saving(fd, SAVE_LOCK_WAIT, token.check):
        raise SaveError(
            f"Another mmhex is saving {path} right now; nothing was saved.",
            errno.EAGAIN,
            "Your edits are kept: save again when that save has finished.",
        )


def open_for_saving_in_place(
    path: str, expected: FileIdentity | None, token: CancelToken
) -> tuple[int, os.stat_result]:
    """Open ``path`` for writing in place under the save lock, checked to be the file the edits
    belong to (``expected``; None: overwrite outside changes). The caller closes the fd."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_failure(path, exc) from exc
    try:
        lock_or_refuse(fd, path, token)
        st = os.fstat(fd)
        detail = _difference(expected, st) if expected is not None else ""
        if detail:
            raise FileChangedOnDiskError(path, detail)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _write_layout(
    plan: LayoutPlan,
    source_fd: int,
    read: Callable[[int, int], bytes],
    target: str,
    mode: int,
    owner: tuple[int, int] | None,
    check_before_rename: Callable[[], None] | None,
    on_progress: ProgressCallback | None,
    cancel: CancelToken | None,
) -> SaveResult:
    started = time.monotonic()
    target = os.path.abspath(target)
    folder = os.path.dirname(target)
    extents = data_extents(source_fd, plan.old_size) if plan.copies else []
    kept = sum(_overlap(extents, m.source, m.source + m.length) for m in plan.copies)
    problem = free_space_problem(folder, kept + plan.written_bytes)
    if problem:
        raise SaveError(problem, errno.ENOSPC)
    total = max(1, sum(m.length for m in plan.copies) + plan.written_bytes)
    progress = Progress(total, on_progress, cancel or CancelToken())

    def fill(tmp_fd: int) -> None:
        os.ftruncate(tmp_fd, plan.final_size)
        for move in plan.copies:
            _copy_kept(source_fd, tmp_fd, move, extents, progress)
        for lo, hi in plan.writes:
            write_document_range(read, tmp_fd, lo, hi, progress)

    write_replacement(
        target,
        fill,
        mode=mode,
        owner=owner,
        check_before_rename=check_before_rename,
        failure=lambda reason: f"Saving {target} failed ({reason}); the file is unchanged.",
    )
    changed = plan.moved_bytes + plan.written_bytes  # new bytes are the growth: count them once
    return SaveResult(
        target,
        changed,
        len(plan.writes),
        time.monotonic() - started,
        moved_bytes=plan.moved_bytes,
    )


def write_document_range(
    read: Callable[[int, int], bytes],
    fd: int,
    lo: int,
    hi: int,
    progress: Progress,
    after_chunk: Callable[[], None] | None = None,
) -> None:
    """Write the document's bytes ``[lo, hi)`` (``read``) at the same offsets of ``fd``, in
    chunks; a short read is an error, never a silent hole."""
    while lo < hi:
        count = min(COPY_CHUNK, hi - lo)
        data = read(lo, count)
        if len(data) != count:
            raise OSError(errno.EIO, f"could not read offset {lo:#x} of the document")
        _pwrite_all(fd, data, lo)
        lo += count
        if after_chunk is not None:
            after_chunk()
        progress.advance(count)


def _overlap(extents: list[tuple[int, int]], lo: int, hi: int) -> int:
    return sum(max(0, min(hi, e) - max(lo, s)) for s, e in extents)


def _copy_kept(
    source_fd: int, target_fd: int, move: Move, extents: list[tuple[int, int]], progress: Progress
) -> None:
    """Copy the data of one kept range (holes stay holes) to its new place."""
    lo, hi = move.source, move.source + move.length
    for start, end in extents:
        start, end = max(start, lo), min(end, hi)
        while start < end:
            count = min(COPY_CHUNK, end - start)
            copied = copy_range(source_fd, target_fd, start, start + move.shift, count)
            if copied <= 0:
                raise OSError(errno.EIO, "the file ended early while copying")
            start += copied
            progress.advance(copied)
    progress.advance(move.length - _overlap(extents, lo, hi))

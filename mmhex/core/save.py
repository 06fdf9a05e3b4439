"""Saving edits: in place through a rollback journal and MAP_SHARED + msync, or as a new file.

A save is planned first (``plan_save``: which page-aligned ranges, in which order, holding which
new bytes; inspectable without any I/O) and then executed (``execute``): journal the original
bytes, copy the new bytes into a shared mapping of each merged range and msync it, mark the
journal complete and remove it. The cost follows the changed pages, never the file size; a crash
at any moment leaves the file recoverable to exactly its old or exactly its new bytes.
``save_copy`` writes a new file (sparse-aware copy to a temporary file, the edits, fsync, atomic
rename). Failures raise SaveError carrying one sentence; the file and the edits stay intact.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import itertools
import mmap
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mmhex.core._libc import cachestat, mapping_address
from mmhex.core.edits import page_ranges
from mmhex.core.errors import MmhexError, describe_errno
from mmhex.core.journal import (
    NAME_MAX,
    Checkpoint,
    JournalRange,
    JournalWriter,
    fsync_directory,
    journal_path,
    lock_for_saving,
    no_checkpoint,
    roll_back_into,
    short_name,
)
from mmhex.core.mapping import FileIdentity, open_process_memory, write_process_memory
from mmhex.core.progress import Cancelled, CancelToken, Progress

PAGE_SIZE = mmap.PAGESIZE
# One shared mapping and one msync ("span") may cover several dirty page ranges and the clean
# pages between them: msync writes only the dirty pages of its range, but every msync ends in a
# disk cache flush that costs milliseconds (about 3 ms each on the test machine: 100 scattered
# one-page msyncs took 290 ms, one msync over the same pages 10 ms). A span stops growing at
# MAX_SPAN_LENGTH of address space (mapping it costs nothing until a page is touched) or
# MAX_SPAN_DIRTY bytes of new data, so a huge fill is synced in parts with progress in between.
MAX_SPAN_LENGTH = 1 << 40
MAX_SPAN_DIRTY = 64 * 1024 * 1024
# Sparse-aware copies move data in pieces of this size between progress reports.
COPY_CHUNK = 16 * 1024 * 1024

ProgressCallback = Callable[[int, int], None]


# What a window user can still do after a failed save; the command line has no edits to keep.
KEEP_EDITS = "Your edits are kept."
SAVE_AS = "Your edits are kept; use Save As to write them to another file."


class SaveError(MmhexError):
    """Saving did not happen (or was undone); ``str`` is the sentence for the window user.

    ``fact`` is what happened to the file, true wherever the save ran; ``advice`` is what the
    window's user can do next (Save As, edits kept), which a command-line tool must not print.
    """

    def __init__(self, fact: str, err: int | None = None, advice: str = KEEP_EDITS) -> None:
        super().__init__(f"{fact} {advice}".strip())
        self.fact = fact
        self.advice = advice
        self.errno = err


class FileChangedOnDiskError(SaveError):
    """The file on disk is not the one the edits were made against; ask before overwriting."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"{path} was changed on disk by another program since it was opened ({detail}); "
            "saving now would overwrite those changes.",
            advice="",
        )
        self.path = path
        self.question = (
            f"{os.path.basename(path)} was changed on disk by another program ({detail}). "
            "Overwrite it with your edits?"
        )


class JournalPendingError(SaveError):
    """A journal already exists: an earlier save was interrupted, or another save is running."""


@dataclass(frozen=True)
class Patch:
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


@dataclass(frozen=True)
class SyncSpan:
    """One MAP_SHARED mapping and one msync: ``[start, end)``, start page-aligned."""

    start: int
    end: int
    pages: tuple[tuple[int, int], ...]  # the dirty page ranges inside (end clipped to the size)
    patches: tuple[Patch, ...]

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def changed_bytes(self) -> int:
        return sum(len(p.data) for p in self.patches)


@dataclass(frozen=True)
class SavePlan:
    """What a save in place will do, in execution order; built without touching the file."""

    path: str
    size: int
    expected: FileIdentity | None  # the file the edits were made against (None: do not check)
    spans: tuple[SyncSpan, ...]
    page_size: int = PAGE_SIZE

    @property
    def journal_path(self) -> str:
        return journal_path(self.path)

    @property
    def page_ranges(self) -> tuple[tuple[int, int], ...]:
        """The merged, page-aligned ranges that will be written, in order."""
        return _merge_touching([r for span in self.spans for r in span.pages])

    @property
    def patches(self) -> tuple[Patch, ...]:
        return tuple(p for span in self.spans for p in span.patches)

    @property
    def changed_bytes(self) -> int:
        return sum(span.changed_bytes for span in self.spans)

    @property
    def dirty_page_bytes(self) -> int:
        """Bytes of the pages written back: what the save costs, whatever the file size."""
        return sum(end - start for start, end in self.page_ranges)

    @property
    def is_empty(self) -> bool:
        return not self.spans


def plan_save(
    path: str,
    patches: Iterable[tuple[int, bytes]],
    *,
    size: int,
    expected: FileIdentity | None = None,
    page_size: int = PAGE_SIZE,
    max_span_length: int | None = None,
    max_span_dirty: int | None = None,
) -> SavePlan:
    """Group ``(offset, new bytes)`` patches into merged page ranges and msync spans, in order.

    Patches must not overlap (an EditLog's never do). Raises SaveError for a patch past ``size``:
    a save in place overwrites and never changes the size.
    """
    max_span_length = MAX_SPAN_LENGTH if max_span_length is None else max_span_length
    max_span_dirty = MAX_SPAN_DIRTY if max_span_dirty is None else max_span_dirty
    ordered = sorted((Patch(o, bytes(d)) for o, d in patches if d), key=lambda p: p.offset)
    for before, after in itertools.pairwise(ordered):
        if after.offset < before.end:
            raise ValueError("patches overlap")
    beyond = [p for p in ordered if p.offset < 0 or p.end > size]
    if beyond:
        raise SaveError(
            f"Edits at {beyond[0].offset:#x} lie past the end of {path} as it is now "
            f"({size:,} bytes), so they cannot be saved in place.",
            errno.EFBIG,
            SAVE_AS,
        )
    piece = max(page_size, max_span_dirty - max_span_dirty % page_size)
    pieces = [
        (start, min(start + piece, min(hi, size)))
        for lo, hi in page_ranges(((p.offset, p.end) for p in ordered), page_size)
        for start in range(lo, min(hi, size), piece)
    ]
    groups: list[list[tuple[int, int]]] = []
    dirty = 0
    for start, end in pieces:
        if groups and (
            end - groups[-1][0][0] > max_span_length or dirty + end - start > max_span_dirty
        ):
            groups.append([])
            dirty = 0
        if not groups:
            groups.append([])
        groups[-1].append((start, end))
        dirty += end - start
    spans: list[SyncSpan] = []
    index = 0
    for group in groups:
        start, end = group[0][0], group[-1][1]
        inside: list[Patch] = []
        while index < len(ordered) and ordered[index].offset < end:
            patch = ordered[index]
            first, last = max(patch.offset, start), min(patch.end, end)
            inside.append(Patch(first, patch.data[first - patch.offset : last - patch.offset]))
            if patch.end > end:
                break  # the rest of this patch belongs to the next span
            index += 1
        spans.append(SyncSpan(start, end, _merge_touching(group), tuple(inside)))
    return SavePlan(os.path.abspath(path), size, expected, tuple(spans), page_size)


def _merge_touching(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


@dataclass(frozen=True)
class SaveResult:
    path: str
    changed_bytes: int
    ranges: int  # merged page ranges written
    seconds: float
    msyncs: int = 0
    journal_bytes: int = 0
    moved_bytes: int = 0  # of changed_bytes: kept bytes moved to their new offset (a resize)

    @property
    def message(self) -> str:
        if not self.changed_bytes:
            return f"Nothing to save in {self.path}."
        if self.moved_bytes:
            written = self.changed_bytes - self.moved_bytes
            return (
                f"Saved {self.path}: {written:,} new byte{'s' if written != 1 else ''} written, "
                f"{self.moved_bytes:,} of the file's bytes moved to their new place."
            )
        return (
            f"Saved {self.changed_bytes:,} changed byte{'s' if self.changed_bytes != 1 else ''} "
            f"to {self.path}."
        )


# --------------------------------------------------------------------------- save in place
def execute(
    plan: SavePlan,
    *,
    overwrite_outside_changes: bool = False,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    checkpoint: Checkpoint | None = None,
) -> SaveResult:
    """Carry out ``plan``: journal, MAP_SHARED copy + msync per range, mark complete, remove.

    ``checkpoint`` is called with a step name between steps (the fault-injection tests stop the
    process there). Cancelling before the file is touched removes the journal; cancelling while
    it is written rolls the file back. Either way Cancelled is raised and the file is unchanged.
    """
    started = time.monotonic()
    checkpoint = checkpoint or no_checkpoint
    if plan.is_empty:
        return SaveResult(plan.path, 0, 0, 0.0)
    progress = Progress(2 * plan.changed_bytes, on_progress, cancel or CancelToken())
    fd, identity = _open_for_saving(plan, overwrite_outside_changes, progress)
    try:  # closing fd at the end drops the save lock
        journal = JournalWriter(plan.path, identity, checkpoint, os.fstat(fd))
        originals = _write_journal(journal, fd, plan, progress)
        try:
            _copy_and_sync(fd, plan, progress, checkpoint)
            os.fsync(fd)
            checkpoint("file-fsynced")
            _check_still_whole(fd, plan)
        except BaseException as exc:
            _undo_partial_write(fd, journal, originals, plan.path, exc)
            raise
        _commit(fd, journal, originals, plan.path)
    finally:
        os.close(fd)
    return SaveResult(
        plan.path,
        plan.changed_bytes,
        len(plan.page_ranges),
        time.monotonic() - started,
        len(plan.spans),
        journal.size,
    )


# How long a save waits for another process's save of the same file to finish.
SAVE_LOCK_WAIT = 10.0


def _open_for_saving(
    plan: SavePlan, overwrite_outside_changes: bool, progress: Progress
) -> tuple[int, FileIdentity]:
    """Open the file read-write, take its save lock, then check it is still the file the edits
    belong to (checked under the lock: another save may have just changed it)."""
    path = plan.path
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_failure(path, exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SaveError(f"{path} is not a regular file.", errno.EINVAL, SAVE_AS)
        if not lock_for_saving(fd, SAVE_LOCK_WAIT, progress.token.check):
            raise SaveError(
                f"Another mmhex is saving {path} right now; nothing was saved.",
                errno.EAGAIN,
                "Your edits are kept: save again when that save has finished.",
            )
        st = os.fstat(fd)
        if plan.expected is not None and not overwrite_outside_changes:
            detail = _difference(plan.expected, st)
            if detail:
                raise FileChangedOnDiskError(path, detail)
        if st.st_size < max(p.end for p in plan.patches):
            raise SaveError(
                f"{path} is now shorter ({st.st_size:,} bytes) than the edits reach, so they "
                "cannot be saved in place; nothing was saved.",
                errno.EFBIG,
                SAVE_AS,
            )
        try:
            named = os.stat(path)
        except OSError:
            named = None
        if named is None or (named.st_dev, named.st_ino) != (st.st_dev, st.st_ino):
            raise FileChangedOnDiskError(path, "it was replaced while saving started")
    except BaseException:
        os.close(fd)
        raise
    return fd, FileIdentity.from_stat(st)


def _difference(expected: FileIdentity, st: os.stat_result) -> str:
    if (st.st_dev, st.st_ino) != (expected.device, expected.inode):
        return "it was replaced by another file"
    if st.st_size != expected.size:
        return f"its size changed from {expected.size:,} to {st.st_size:,} bytes"
    if st.st_mtime_ns != expected.mtime_ns:
        return "its modification time changed"
    return ""


# Why a write failed, as a clause inside a sentence (errors.describe_errno speaks of reading).
_WRITE_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "an input/output error occurred",
    errno.EFBIG: "the file would be larger than this file system allows",
    errno.ENOENT: "the folder does not exist",
    errno.EISDIR: "it is a directory",
    errno.ETXTBSY: "the file is a running program",
}


def _reason(exc: OSError) -> str:
    return _WRITE_REASONS.get(exc.errno or 0) or describe_errno(exc.errno).rstrip(".").lower()


def _open_failure(path: str, exc: OSError) -> SaveError:
    sentences = {
        errno.EACCES: f"You do not have permission to write {path}.",
        errno.EPERM: f"Writing {path} is not permitted (it may be immutable or sealed).",
        errno.EROFS: f"{path} is on a read-only file system.",
        errno.ETXTBSY: f"{path} is a program that is running right now, so it cannot be written "
        "(text file busy).",
        errno.ENOENT: f"{path} no longer exists.",
    }
    sentence = sentences.get(
        exc.errno or 0, f"{path} cannot be opened for writing ({_reason(exc)})."
    )
    return SaveError(sentence, exc.errno, SAVE_AS)


def _write_journal(
    journal: JournalWriter, fd: int, plan: SavePlan, progress: Progress
) -> list[JournalRange]:
    """Journal the bytes on disk now under every patch; nothing is touched if this fails."""
    originals: list[JournalRange] = []
    try:
        journal.create(len(plan.patches))
        for patch in plan.patches:
            original = _read_exact(fd, patch.offset, len(patch.data), plan.path)
            journal.add(patch.offset, original)
            originals.append(JournalRange(patch.offset, original))
            progress.advance(len(original))
        journal.seal()
    except FileExistsError as exc:
        raise JournalPendingError(
            f"An earlier save of {plan.path} was interrupted or another save is running "
            f"(journal {journal.path}); nothing was saved. Run `mmhex recover {plan.path}` "
            "first.",
            exc.errno,
            "Your edits are kept.",
        ) from exc
    except Cancelled:
        journal.abandon()
        raise
    except OSError as exc:
        journal.abandon()
        where = os.path.dirname(plan.path)
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f"the folder {where} is not writable"
        else:
            reason = _reason(exc)
        raise SaveError(
            f"The safety journal for {plan.path} could not be written ({reason}); nothing was "
            "saved and the file is unchanged.",
            exc.errno,
        ) from exc
    except BaseException:
        journal.abandon()
        raise
    return originals


def _read_exact(fd: int, offset: int, length: int, path: str) -> bytes:
    parts: list[bytes] = []
    done = 0
    while done < length:
        chunk = os.pread(fd, length - done, offset + done)
        if not chunk:
            raise OSError(errno.EIO, f"{path} became shorter while saving")
        parts.append(chunk)
        done += len(chunk)
    return b"".join(parts)


def _copy_and_sync(fd: int, plan: SavePlan, progress: Progress, checkpoint: Checkpoint) -> None:
    """Map each span MAP_SHARED, copy its new bytes in, msync it once, unmap it.

    Before a span is touched, the clean cached folios its edits cover only sparsely are dropped
    (or split, where a mapping holds them), and the mapping is advised MADV_RANDOM: each edited
    page then faults in alone, as a small folio, so a one-byte edit dirties (and writes back)
    one page, not a 2 MiB folio.
    """
    mem_fd = open_process_memory(writable=True)
    try:
        for index, span in enumerate(plan.spans):
            progress.token.check()
            sparse = sparse_folios(span.pages)
            drop_sparse_folios(fd, sparse)
            mm = _map_shared(fd, span, plan.path)
            try:
                with contextlib.suppress(OSError, AttributeError):  # advice only
                    mm.madvise(mmap.MADV_RANDOM)
                split_held_folios(fd, mm, span, sparse)
                _copy_into(mm, mem_fd, span)
                checkpoint(f"span-{index}-copied")
                mm.flush(0, span.length)  # msync(MS_SYNC) from a page-aligned start
                checkpoint(f"span-{index}-msynced")
            finally:
                mm.close()
            progress.advance(span.changed_bytes)
    finally:
        if mem_fd >= 0:
            os.close(mem_fd)


# The largest folio the page cache builds for a file here (Linux 6.x on ext4/xfs/tmpfs: 2 MiB).
LARGE_FOLIO = 2 * 1024 * 1024
# A folio whose dirty pages fill less than this share of it is written back whole for a few
# pages: worth dropping (each edited page is then read back alone). Denser edits keep the cache:
# writing the whole folio costs at most 8× their bytes, less than re-reading their pages.
SPARSE_SHARE = 8
# madvise advice values the mmap module may not name (Linux 5.4 / 5.14).
MADV_PAGEOUT = 21
MADV_POPULATE_READ = 22


def sparse_folios(
    pages: Iterable[tuple[int, int]], folio: int = LARGE_FOLIO
) -> list[tuple[int, int]]:
    """The folio-aligned regions in which the dirty page ranges cover less than 1/SPARSE_SHARE,
    as ``(start, end)`` in order: the ones where a whole-folio write-back would multiply the
    bytes written."""
    dirty: dict[int, int] = {}
    for lo, hi in pages:
        start = lo - lo % folio
        while start < hi:
            dirty[start] = dirty.get(start, 0) + min(hi, start + folio) - max(lo, start)
            start += folio
    return [
        (start, start + folio) for start in sorted(dirty) if dirty[start] * SPARSE_SHARE < folio
    ]


def drop_sparse_folios(fd: int, regions: list[tuple[int, int]]) -> None:
    """Drop the clean cached pages of ``regions`` (posix_fadvise DONTNEED).

    The kernel keeps dirty, mapped and locked pages, so this never loses data; mapped ones are
    handled by ``split_held_folios``.
    """
    for start, end in _merge_touching(regions):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, start, end - start, os.POSIX_FADV_DONTNEED)


def split_held_folios(
    fd: int, mm: mmap.mmap, span: SyncSpan, regions: list[tuple[int, int]]
) -> None:
    """Split the large folios of ``regions`` that fadvise could not drop because a mapping
    holds them (the document's own windows map the pages around an edit).

    Mapping an edited page here (MADV_POPULATE_READ: no I/O, the page is cached) and paging it
    out (MADV_PAGEOUT) makes the kernel split its folio and reclaim that clean page from every
    mapping; the store then faults it in alone. Each step is advice: where the kernel refuses,
    the save stays correct, only larger.
    """
    sparse = {start for start, _end in regions}
    for lo, hi in span.pages:
        for page in sorted({lo, hi - PAGE_SIZE}):
            if page - page % LARGE_FOLIO not in sparse:
                continue
            try:
                if cachestat(fd, page, PAGE_SIZE)[0] == 0:
                    continue  # not cached: it will fault in as a small folio
            except OSError:
                pass  # no cachestat here: advise anyway
            with contextlib.suppress(OSError, ValueError):
                mm.madvise(MADV_POPULATE_READ, page - span.start, PAGE_SIZE)
                mm.madvise(MADV_PAGEOUT, page - span.start, PAGE_SIZE)


def _map_shared(fd: int, span: SyncSpan, path: str) -> mmap.mmap:
    try:
        return mmap.mmap(
            fd,
            span.length,
            flags=mmap.MAP_SHARED,
            prot=mmap.PROT_READ | mmap.PROT_WRITE,
            offset=span.start,
        )
    except ValueError as exc:  # the file shrank below the span since the check
        raise OSError(errno.EIO, f"{path} became shorter while saving") from exc


def _copy_into(mm: mmap.mmap, mem_fd: int, span: SyncSpan) -> None:
    if mem_fd < 0:
        for patch in span.patches:
            mm[patch.offset - span.start : patch.end - span.start] = patch.data
        return
    # Through /proc/self/mem a page the file lost (truncated meanwhile, or no disk block for a
    # hole) ends the copy with an error instead of SIGBUS killing the process mid-save.
    address = mapping_address(mm)
    for patch in span.patches:
        written = write_process_memory(mem_fd, address + patch.offset - span.start, patch.data)
        if written < len(patch.data):
            raise OSError(errno.EIO, f"writing offset {patch.offset + written:#x} failed")


def _check_still_whole(fd: int, plan: SavePlan) -> None:
    """A file truncated by another program after its pages were written loses them silently
    (msync and fsync succeed): never call such a save a success."""
    size = os.fstat(fd).st_size
    if size < max(p.end for p in plan.patches):
        raise OSError(errno.EIO, f"{plan.path} became shorter while saving")


def _commit(fd: int, journal: JournalWriter, originals: list[JournalRange], path: str) -> None:
    """The file holds every new byte: mark the journal complete and remove it.

    Either step alone commits the save (a complete journal only tells recovery to keep the new
    bytes). If both fail, the pending journal would make recovery undo the save later, so undo it
    now while the edits are still in memory.
    """
    committed = False
    with contextlib.suppress(OSError):
        journal.mark_complete()
        committed = True
    try:
        journal.remove()
    except OSError as exc:
        if not committed:
            _undo_partial_write(fd, journal, originals, path, exc)


def _undo_partial_write(
    fd: int,
    journal: JournalWriter,
    originals: list[JournalRange],
    path: str,
    exc: BaseException,
) -> None:
    """The file may be half written: put the original bytes back, then drop the journal.

    If another program truncated the file meanwhile, only the bytes inside its new size go
    back (it is never grown back with zeros); the journal, which holds the rest, is kept.
    """
    try:
        missing = roll_back_into(fd, originals, journal.identity.mtime_ns)
        if missing:
            journal.close()
        else:
            journal.remove()
    except OSError as rollback_exc:
        raise SaveError(
            f"Saving {path} failed and the original bytes could not be put back "
            f"({_reason(rollback_exc)}); the journal {journal.path} holds them: run "
            f"`mmhex recover {path}` (or open the file again) to put them back.",
            rollback_exc.errno,
        ) from exc
    if missing:
        raise SaveError(
            f"Saving {path} failed: another program truncated it to "
            f"{os.fstat(fd).st_size:,} bytes during the save. The original bytes inside that "
            f"size were put back; {missing:,} bytes past its new end were not (the file was not "
            f"grown back), and the journal {journal.path} keeps them.",
            errno.EIO,
            SAVE_AS,
        ) from exc
    if isinstance(exc, OSError):
        raise SaveError(
            f"Saving {path} failed ({_reason(exc)}); the file "
            "was restored to its previous contents.",
            exc.errno,
        ) from exc


# --------------------------------------------------------------------------- save as
def save_copy(
    source_fd: int,
    source_size: int,
    target: str,
    patches: Iterable[tuple[int, bytes]],
    *,
    mode: int = 0o644,
    on_progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SaveResult:
    """Write ``source`` plus ``patches`` to ``target`` atomically (temp file, fsync, rename).

    Holes in the source stay holes (SEEK_DATA/SEEK_HOLE, copy_file_range). Patches past
    ``source_size`` extend the copy: they are edits whose original bytes another program
    truncated away, and the user's bytes are never dropped.
    """
    started = time.monotonic()
    target = os.path.abspath(target)
    items = [Patch(o, bytes(d)) for o, d in patches if d]
    final_size = max([source_size] + [p.end for p in items])
    progress = Progress(
        max(1, source_size + sum(len(p.data) for p in items)), on_progress, cancel or CancelToken()
    )

    def fill(tmp_fd: int) -> None:
        os.ftruncate(tmp_fd, final_size)
        copy_sparse(source_fd, tmp_fd, source_size, progress)
        for patch in items:
            _pwrite_all(tmp_fd, patch.data, patch.offset)
            progress.advance(len(patch.data))

    write_replacement(
        target,
        fill,
        mode=mode,
        failure=lambda reason: f"Saving as {target} failed ({reason}); nothing was written there.",
    )
    return SaveResult(
        target, sum(len(p.data) for p in items), len(items), time.monotonic() - started
    )


def write_replacement(
    target: str,
    fill: Callable[[int], None],
    *,
    mode: int,
    owner: tuple[int, int] | None = None,
    check_before_rename: Callable[[], None] | None = None,
    failure: Callable[[str], str],
) -> None:
    """Write a new ``target`` atomically: ``fill(fd)`` writes a hidden temporary file beside it
    (its name kept within NAME_MAX), which is fsynced, renamed over ``target``, and the folder
    fsynced. Whatever fails, the temporary file goes and ``target`` is as it was; an OSError
    becomes a SaveError with ``failure(reason)`` as its sentence."""
    folder = os.path.dirname(target)
    remove_stale_temporaries(target)
    try:
        tmp_fd, tmp_path = tempfile.mkstemp(
            prefix=_temporary_prefix(target), suffix=TEMPORARY_SUFFIX, dir=folder
        )
    except OSError as exc:
        raise SaveError(
            f"Cannot create a file in {folder} ({_reason(exc)}); nothing was saved.",
            exc.errno,
        ) from exc
    try:
        # Held until the rename is done (the descriptor stays open): a writer that is alive
        # keeps it, so remove_stale_temporaries never takes a live save's file.
        _lock_temporary(tmp_fd)
        fill(tmp_fd)
        os.fchmod(tmp_fd, mode & 0o7777)
        if owner is not None:
            with contextlib.suppress(OSError):
                os.fchown(tmp_fd, *owner)
        os.fsync(tmp_fd)
        if check_before_rename is not None:
            check_before_rename()
        os.replace(tmp_path, target)
        os.close(tmp_fd)
        tmp_fd = -1
        fsync_directory(folder)
    except BaseException as exc:
        if tmp_fd >= 0:
            os.close(tmp_fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        if isinstance(exc, OSError):
            raise SaveError(failure(_reason(exc)), exc.errno) from exc
        raise


TEMPORARY_SUFFIX = ".mmhex-tmp"
# mkstemp adds this many random characters between the prefix and the suffix.
_RANDOM_LENGTH = 8


def _temporary_prefix(target: str) -> str:
    """``.NAME.`` for the temporary files of ``target``, kept within NAME_MAX for long names."""
    limit = NAME_MAX - _RANDOM_LENGTH - len(TEMPORARY_SUFFIX)
    return short_name(os.path.basename(target), ".", ".", limit)


def _lock_temporary(fd: int) -> None:
    """Mark a temporary file as having a live writer (a new file: nobody else holds it)."""
    with contextlib.suppress(OSError):  # no flock on this file system: it is never cleaned
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_stale_temporaries(target: str) -> list[str]:
    """Remove the temporary files (``.NAME.XXXXXXXX.mmhex-tmp``) that a killed copy-and-rename
    save of ``target`` (a layout save or Save As) left in its folder; returns their paths.

    Only files that are provably ours and dead go: a regular file (opened O_NOFOLLOW |
    O_NONBLOCK, never a link, FIFO or device), owned by the caller, with one link, whose writer
    is gone (its ``flock``, held by a live writer until the rename, can be taken). Anything else
    is left alone; errors are ignored (this only tidies up).
    """
    folder = os.path.dirname(os.path.abspath(target))
    prefix = _temporary_prefix(os.path.abspath(target))
    length = len(prefix) + _RANDOM_LENGTH + len(TEMPORARY_SUFFIX)
    removed: list[str] = []
    try:
        with os.scandir(folder) as entries:
            names = [
                e.name
                for e in entries
                if len(e.name) == length
                and e.name.startswith(prefix)
                and e.name.endswith(TEMPORARY_SUFFIX)
            ]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(folder, name)
        with contextlib.suppress(OSError):
            if _remove_if_abandoned(path):
                removed.append(path)
    return removed


def remove_stale_temporaries_of(path: str) -> list[str]:
    """``remove_stale_temporaries`` for the name as given and for the real file behind it (a
    save through a symbolic link replaces the link or the file, depending on the path used)."""
    if not os.path.isfile(path):
        return []
    names = dict.fromkeys((os.path.abspath(path), os.path.realpath(path)))
    return [removed for name in names for removed in remove_stale_temporaries(name)]


def _remove_if_abandoned(path: str) -> bool:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it (or no flock here: cannot tell, keep it)
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False  # renamed into place or replaced meanwhile
        os.unlink(path)
        return True
    finally:
        os.close(fd)


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of the parts of the file that hold data (holes left out).

    The one hole walk of core/holes.py: where the file system cannot say (no SEEK_DATA) or the
    file has too many runs to list, the rest counts as data (copied, never assumed zero).
    """
    from mmhex.core.holes import walk

    return list(walk(fd, size).data)


def copy_sparse(source_fd: int, target_fd: int, size: int, progress: Progress) -> None:
    """Copy the data extents of ``source`` into ``target`` (already sized), keeping holes."""
    pos = 0
    for start, end in data_extents(source_fd, size):
        progress.advance(start - pos)
        while start < end:
            count = min(COPY_CHUNK, end - start)
            copied = copy_range(source_fd, target_fd, start, start, count)
            if copied == 0:
                raise OSError(errno.EIO, "the source ended early while copying")
            start += copied
            progress.advance(copied)
        pos = end
    progress.advance(size - pos)


def copy_range(source_fd: int, target_fd: int, src: int, dst: int, count: int) -> int:
    """Copy up to ``count`` bytes from ``src`` of one file to ``dst`` of another: copy_file_range
    where the kernel can (reflinks, no user-space copy), else pread+pwrite. Returns how many."""
    try:
        return os.copy_file_range(source_fd, target_fd, count, src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    data = os.pread(source_fd, count, src)
    if data:
        _pwrite_all(target_fd, data, dst)
    return len(data)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.EIO, "a write made no progress")
        view = view[written:]
        offset += written

"""Where a file has data and where it has holes (``SEEK_DATA``/``SEEK_HOLE``), as a plain value.

A hole reads as zeros without any storage behind it: scans skip it instead of faulting in
gigabytes of zero pages. The walk costs two ``lseek`` calls per data run, so it is bounded (a
file fragmented into millions of runs stops at ``max_runs`` and the rest counts as data, which
is always safe: data is read, never assumed). Maps are cached per open file and refreshed when
the file's size, mtime or ctime change (``fallocate`` punching a hole changes ctime).
Never imports Qt.
"""

from __future__ import annotations

import bisect
import errno
import os
import stat
import weakref

from mmhex.core.record import record

TYPE_CHECKING = False  # typing and dataclasses cost start-up time on the command line's path
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

# A hole walk stops after this many data runs (about 0.1 s of lseek calls); the rest is "data".
DEFAULT_MAX_RUNS = 65536

Range = tuple[int, int]


@record(frozen=True)
class HoleMap:
    """Data runs of a file of ``size`` bytes; everything else below ``size`` is a hole.

    ``exact`` is False when the walk stopped early (``max_runs``) or the file system cannot say:
    then every byte from ``known_end`` on is listed as data.
    """

    size: int
    data: tuple[Range, ...]
    exact: bool = True
    known_end: int = 0

    @classmethod
    def all_data(cls, size: int) -> HoleMap:
        return cls(size, ((0, size),) if size > 0 else (), False, 0)

    @property
    def data_bytes(self) -> int:
        return sum(end - start for start, end in self.data)

    @property
    def hole_bytes(self) -> int:
        return self.size - self.data_bytes

    def holes(self) -> list[Range]:
        """The holes, in order (the complement of ``data`` below ``size``)."""
        return complement(self.data, 0, self.size)

    def data_in(self, lo: int, hi: int) -> list[Range]:
        """Data runs clipped to ``[lo, hi)``."""
        return clip(self.data, lo, hi)

    def holes_in(self, lo: int, hi: int) -> list[Range]:
        return complement(self.data_in(lo, hi), lo, hi)

    def is_hole(self, offset: int) -> bool:
        if not 0 <= offset < self.size:
            return False
        index = bisect.bisect_right(self.data, (offset, float("inf"))) - 1
        return index < 0 or self.data[index][1] <= offset

    def ranges(self) -> list[tuple[int, int, bool]]:
        """Every run in order as ``(start, end, is_data)``."""
        out = [(s, e, True) for s, e in self.data] + [(s, e, False) for s, e in self.holes()]
        return sorted(out)


def clip(ranges: tuple[Range, ...] | list[Range], lo: int, hi: int) -> list[Range]:
    """Sorted disjoint ``ranges`` cut to ``[lo, hi)``."""
    if lo >= hi:
        return []
    first = max(0, bisect.bisect_right(ranges, (lo, float("inf"))) - 1)
    out = []
    for start, end in ranges[first:]:
        if start >= hi:
            break
        if end > lo:
            out.append((max(start, lo), min(end, hi)))
    return out


def complement(ranges: list[Range] | tuple[Range, ...], lo: int, hi: int) -> list[Range]:
    """The parts of ``[lo, hi)`` that sorted disjoint ``ranges`` do not cover."""
    out = []
    pos = lo
    for start, end in ranges:
        if start > pos:
            out.append((pos, min(start, hi)))
        pos = max(pos, end)
        if pos >= hi:
            break
    if pos < hi:
        out.append((pos, hi))
    return [(s, e) for s, e in out if s < e]


def union(ranges: list[Range]) -> list[Range]:
    """Merge overlapping or touching ranges (any order in, sorted out)."""
    out: list[Range] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def walk(fd: int, size: int, *, max_runs: int = DEFAULT_MAX_RUNS) -> HoleMap:
    """Walk ``fd``'s data runs below ``size`` with ``SEEK_DATA``/``SEEK_HOLE``.

    A file system without hole support reports the whole file as one run (that is what lseek
    does there); a descriptor that refuses the calls (EINVAL: block devices, pipes) gets an
    inexact all-data map.
    """
    data: list[Range] = []
    pos = 0
    try:
        while pos < size:
            if len(data) >= max_runs:
                data.append((pos, size))
                return HoleMap(size, tuple(data), False, pos)
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no data at or after pos: the rest is a hole
                    break
                raise
            if start >= size:
                break
            end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
            if end <= start:  # the file shrank under the walk
                break
            data.append((start, end))
            pos = end
    except OSError:
        return HoleMap.all_data(size)
    return HoleMap(size, tuple(data), True, size)


def walk_path(path: str, *, max_runs: int = DEFAULT_MAX_RUNS) -> HoleMap:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return HoleMap.all_data(os.lseek(fd, 0, os.SEEK_END))
        return walk(fd, st.st_size, max_runs=max_runs)
    finally:
        os.close(fd)


# ----------------------------------------------------------------- cache per open file
@record
class _Cached:
    key: tuple[int, ...]
    holes: HoleMap


# Keyed weakly by the MappedFile, so a closed document's map goes with it.
_CACHE: weakref.WeakKeyDictionary[Any, _Cached] = weakref.WeakKeyDictionary()


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def hole_map(mapped: Any, *, refresh: bool = False) -> HoleMap:
    """The (cached) hole map of a MappedFile's descriptor; re-walked when the file changed."""
    from mmhex.core.mapping import FileKind

    size = mapped.size
    if mapped.kind is not FileKind.REGULAR:
        return HoleMap.all_data(size)
    try:
        st = os.fstat(mapped.fd)
    except OSError:
        return HoleMap.all_data(size)
    key = (*_stat_key(st), size)
    cached = _CACHE.get(mapped)
    if cached is not None and cached.key == key and not refresh:
        return cached.holes
    holes = walk(mapped.fd, min(size, st.st_size))
    if st.st_size < size:  # the mapping believes in more bytes than the file has: read them
        holes = HoleMap(size, (*holes.data, (st.st_size, size)), False, st.st_size)
    _CACHE[mapped] = _Cached(key, holes)
    return holes


def readable_runs(source: Any, lo: int, hi: int) -> list[Range]:
    """The parts of ``[lo, hi)`` of a Document or MappedFile whose bytes may be non-zero.

    Holes of the file are zeros unless edited: a Document's unsaved edits count as data. A bare
    MappedFile in private-edit mode may hold writes nobody listed, so all of it is data.
    """
    from mmhex.core.mapping import FileKind, MappedFile, OpenMode

    if lo >= hi:
        return []
    from mmhex.core import piece_map

    document = piece_map.document_of(source)
    if document is not None:
        return _readable_through_pieces(document, lo, hi)
    mapped = getattr(source, "scan_source", None) or getattr(source, "mapped", source)
    if not isinstance(mapped, MappedFile) or mapped.kind is not FileKind.REGULAR:
        # Not a regular file (a device, a process's memory, a read-through source): all data.
        return [(lo, hi)]
    edited: list[Range] = []
    if mapped.mode is not OpenMode.READ_ONLY:
        dirty = getattr(source, "dirty_ranges_in", None)
        if dirty is None:
            return [(lo, hi)]
        edited = [(s, e) for s, e in dirty(lo, hi)]
    runs = hole_map(mapped).data_in(lo, hi)
    return union(runs + edited) if edited else runs


def _readable_through_pieces(document: Any, lo: int, hi: int) -> list[Range]:
    """``readable_runs`` of a document whose bytes were inserted or deleted.

    A FILE piece has the file's holes (shifted to where the piece now sits) except where its
    bytes were overwritten; inserted bytes are data; a fill of zeros is a hole, any other fill
    is data (read like the rest: a pattern is rendered, not stored, so that costs no I/O).
    """
    from mmhex.core import piece_map
    from mmhex.core.mapping import FileKind

    mapped = document.mapped
    file_runs: list[Range] | tuple[Range, ...] | None = None
    if mapped.kind is FileKind.REGULAR:
        file_runs = hole_map(mapped).data
        if document.edit_log.modified:  # overwritten bytes of the file count as data
            file_runs = union([*file_runs, *document.edit_log.dirty_ranges()])
        if len(file_runs) == 1 and file_runs[0] == (0, mapped.size):
            file_runs = None  # no holes: every FILE piece is data
    out: list[Range] = []
    for part in piece_map.parts(document, lo, hi):
        if part.origin is not piece_map.Origin.FILE:
            if not part.zeros:
                out.append((part.start, part.end))
            continue
        if file_runs is None:
            if out and out[-1][1] == part.start:
                out[-1] = (out[-1][0], part.end)
            else:
                out.append((part.start, part.end))
            continue
        shift = part.shift
        out.extend((s + shift, e + shift) for s, e in clip(file_runs, part.at, part.end - shift))
    return union(out)


def iter_runs(source: Any, lo: int, hi: int) -> Iterator[tuple[int, int, bool]]:
    """``[lo, hi)`` cut into ``(start, end, is_data)`` runs in order (holes are zeros)."""
    runs = readable_runs(source, lo, hi)
    pos = lo
    for start, end in runs:
        if start > pos:
            yield pos, start, False
        yield start, end, True
        pos = end
    if pos < hi:
        yield pos, hi, False


def next_data(fd: int, position: int, end: int) -> int:
    """The first offset at or after ``position`` (below ``end``) that is not in a hole.

    One ``lseek(SEEK_DATA)``: for loops that read a descriptor (Touch) and want to step over
    holes instead of faulting zero pages into the cache. Where the call fails, ``position``.
    """
    try:
        return min(end, os.lseek(fd, position, os.SEEK_DATA))
    except OSError as exc:
        return end if exc.errno == errno.ENXIO else position


def reader_skipping_holes(source: Any) -> Callable[[int, int], bytes]:
    """A ``read(offset, length)`` like the source's that makes hole bytes instead of reading them.

    For consumers that want bytes (dump, compare): a hole costs a ``bytes(n)``, not faults that
    fill the page cache with zero pages.
    """

    def read(offset: int, length: int) -> bytes:
        end = min(offset + length, source.size)
        parts = [
            source.read(start, stop - start) if is_data else bytes(stop - start)
            for start, stop, is_data in iter_runs(source, offset, end)
        ]
        return b"".join(parts)

    return read

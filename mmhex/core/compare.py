"""Compare two documents byte by byte at memory speed; the result is sorted, disjoint ranges.

Equal data costs one libc ``memcmp`` per piece over ``pread`` buffers or views of both documents
(read through ``scan.SafeReader``: leased or copied, never SIGBUS); only a piece that differs is
narrowed, by splitting it into parts compared the same way and XOR-ing the few small parts that
still differ. Holes (the one hole map of core/holes.py, through the pieces of an edited document)
that both sides have at the same place are skipped without reading, and a hole facing data is
compared with zeros instead of being faulted in. Unsaved edits count, inserted and deleted bytes
included: offsets are document offsets, edited ranges are never taken for holes. No Qt here.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from mmhex.core import holes, piece_map
from mmhex.core._libc import buffer_address, memcmp
from mmhex.core.errors import FileTruncatedError
from mmhex.core.mapping import FileKind, MappedFile
from mmhex.core.progress import Cancelled, Progress
from mmhex.core.read_through import scannable
from mmhex.core.scan import SafeReader, view_region

# A piece is compared BLOCK bytes per memcmp; a differing block is split into FANOUT parts per
# level until parts are LEAF bytes long; a leaf is screened in SCREEN-byte blocks and only the
# differing ones are XOR-ed.
BLOCK = 256 * 1024
FANOUT = 16
LEAF = 64 * 1024
SCREEN = 4096
# More differing screen blocks than this in a leaf: XOR the whole leaf in one go.
DENSE_SCREENS = 8
DEFAULT_MAX_RANGES = 1_000_000
# Bytes compared per step: large enough that per-call costs vanish, small enough that the two
# read buffers stay near the CPU caches (4 MiB beat 1 and 16 MiB on a cached 1 GiB pair).
COMPARE_CHUNK = 4 * 1024 * 1024

_NONZERO = re.compile(rb"[^\x00]+")


@dataclass(frozen=True, order=True)
class Anchor:
    """From offset ``a`` of A on, A[a + i] is compared with B[b + i] (a resynchronization)."""

    a: int
    b: int


@dataclass(frozen=True)
class Segment:
    """A stretch of ``length`` bytes compared with one shift: A from ``a``, B from ``b``."""

    a: int
    b: int
    length: int


@dataclass(frozen=True)
class DiffRange:
    """``length`` consecutive differing bytes: A from ``a``, B from ``b``."""

    a: int
    b: int
    length: int

    @property
    def a_end(self) -> int:
        return self.a + self.length

    @property
    def b_end(self) -> int:
        return self.b + self.length


def plan_segments(size_a: int, size_b: int, anchors: list[Anchor] | None = None) -> list[Segment]:
    """The stretches to compare: each anchor holds until the next one's A offset or an end."""
    points = sorted(set(anchors or []))
    if not points or points[0].a > 0:
        points.insert(0, Anchor(0, 0))
    segments = []
    for index, anchor in enumerate(points):
        if anchor.a < 0 or anchor.b < 0:
            raise ValueError("resynchronization offsets must not be negative")
        limit = points[index + 1].a - anchor.a if index + 1 < len(points) else size_a
        length = max(0, min(limit, size_a - anchor.a, size_b - anchor.b))
        segments.append(Segment(anchor.a, anchor.b, length))
    return segments


@dataclass
class CompareResult:
    """What differs between A and B: the value both the compare window and ``mmhex cmp`` use."""

    size_a: int
    size_b: int
    segments: list[Segment]
    ranges: list[DiffRange] = field(default_factory=list)  # sorted by A offset, disjoint
    range_count: int = 0  # may exceed len(ranges) when the list was capped
    differing_bytes: int = 0
    compared: int = 0  # bytes compared (holes skipped count as compared)
    complete: bool = False  # False while running or after Cancel

    @property
    def listed_all(self) -> bool:
        return self.range_count == len(self.ranges)

    @property
    def equal(self) -> bool:
        return self.complete and self.range_count == 0 and self.size_a == self.size_b

    def size_relation(self) -> str:
        """'sizes equal', or which file is longer and by how much."""
        if self.size_a == self.size_b:
            return "sizes equal"
        longer, extra = ("A", self.size_a - self.size_b)
        if extra < 0:
            longer, extra = ("B", -extra)
        return f"{longer} is {extra:,} byte{'s' if extra != 1 else ''} longer"

    def summary(self) -> str:
        """One line for the window, e.g. '3 ranges differ, 1,234 bytes; sizes equal'."""
        if self.range_count == 0:
            head = "No differences" if self.complete else "No differences so far"
        else:
            plural = "range differs" if self.range_count == 1 else "ranges differ"
            head = f"{self.range_count:,} {plural}, {self.differing_bytes:,} bytes"
        if not self.complete:
            head = f"{head} (stopped at {self.compared:,} bytes)"
        return f"{head}; {self.size_relation()}"

    def ranges_between(self, start: int, end: int) -> list[DiffRange]:
        """Listed ranges overlapping A offsets ``[start, end)`` (for highlighting the screen)."""
        return self._overlapping(start, end, "a")

    def ranges_between_b(self, start: int, end: int) -> list[DiffRange]:
        """Listed ranges overlapping B offsets ``[start, end)``."""
        if len(self.segments) > 1:
            # Resynchronized: B offsets need not rise with A offsets; look at each range.
            return [r for r in self.ranges if r.b < end and r.b_end > start]
        return self._overlapping(start, end, "b")

    def _overlapping(self, start: int, end: int, side: str) -> list[DiffRange]:
        """Ranges overlapping ``[start, end)`` on a side along which they are sorted."""
        first = (lambda r: r.a) if side == "a" else (lambda r: r.b)
        index = bisect.bisect_right(self.ranges, start, key=lambda r: first(r) + r.length)
        found = []
        while index < len(self.ranges) and first(self.ranges[index]) < end:
            found.append(self.ranges[index])
            index += 1
        return found

    def index_of(self, diff: DiffRange) -> int | None:
        """The position of ``diff`` in the list (None if it is not listed)."""
        index = bisect.bisect_left(self.ranges, diff.a, key=lambda r: r.a)
        if index < len(self.ranges) and self.ranges[index] == diff:
            return index
        return None

    def next_range(self, a_offset: int) -> DiffRange | None:
        """The first listed range starting after A offset ``a_offset``."""
        index = bisect.bisect_right(self.ranges, a_offset, key=lambda r: r.a)
        return self.ranges[index] if index < len(self.ranges) else None

    def previous_range(self, a_offset: int) -> DiffRange | None:
        """The last listed range starting before A offset ``a_offset``."""
        index = bisect.bisect_left(self.ranges, a_offset, key=lambda r: r.a)
        return self.ranges[index - 1] if index > 0 else None


class _Side:
    """One document being compared: how to read a piece of it, and where its holes are.

    Offsets are document offsets: an edited document whose bytes were inserted or deleted is
    read through its pieces (``scan.SafeReader`` over its scan source, pieces cut by
    ``scan.view_region``). Holes come from the one hole map (core/holes.py: the file's
    SEEK_DATA runs, shifted through the pieces; unsaved edits and inserted bytes are data).
    Unedited bytes of the file are ``preadv``-ed into one reused buffer: measured on a cached
    1 GiB pair, that costs 0.56 s where mapping both files (page tables filled, then torn
    down) cost 1.0 s; pread never faults, so it is as safe as the leased views. Pieces holding
    unsaved edits go through ``SafeReader.view``, which sees the private pages.
    """

    def __init__(self, source: Any, use_lease: bool, use_pread: bool, chunk_size: int) -> None:
        self.scan: MappedFile = scannable(source)
        self.size = self.scan.size
        # The file behind the scan (for an edited document: the one its FILE pieces show).
        self.file: MappedFile = getattr(self.scan, "file", self.scan)
        self.dirty = source.dirty_ranges() if hasattr(source, "dirty_ranges") else []
        self.edited = bool(self.dirty) or piece_map.document_of(source) is not None
        self.reader = SafeReader(self.scan, use_lease=use_lease)
        self._data = holes.readable_runs(source, 0, self.size)
        self._through_pieces = self.file is not self.scan
        has_fd = self.file.kind in (FileKind.REGULAR, FileKind.BLOCK_DEVICE)
        self._buffer = bytearray(chunk_size) if use_pread and has_fd else None

    def at(self, pos: int) -> tuple[bool, int]:
        """(whether ``pos`` lies in a hole, where that hole or data run ends)."""
        data = self._data
        index = bisect.bisect_right(data, pos, key=lambda r: r[0]) - 1
        if index >= 0 and data[index][1] > pos:
            return False, data[index][1]
        return True, data[index + 1][0] if index + 1 < len(data) else self.size

    def window_end(self, pos: int) -> int:
        return view_region(self.scan, pos)[1]

    def _edited_within(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.dirty, start, key=lambda r: r[1])
        return index < len(self.dirty) and self.dirty[index][0] < end

    def view(self, start: int, end: int, hole: bool, zeros: bytes) -> AbstractContextManager:
        if hole:
            return nullcontext(memoryview(zeros)[: end - start])
        if self._buffer is None or self._edited_within(start, end):
            return self.reader.view(start, end)
        file_start: int | None = start
        if self._through_pieces:
            file_start, added = self.scan.view_target(start, end)
            if added is not None:  # inserted bytes (never here: they count as edited)
                added.release()
                file_start = None
        if file_start is None:  # across pieces: a copy through them
            return self.reader.view(start, end)
        return nullcontext(self._pread(file_start, file_start + end - start))

    def _pread(self, start: int, end: int) -> memoryview:
        view = memoryview(self._buffer)[: end - start]
        done = 0
        while done < len(view):
            count = os.preadv(self.file.fd, [view[done:]], start + done)
            if count <= 0:  # the file ends early now: another program truncated it
                old = self.file.size
                self.file.refresh()
                raise FileTruncatedError(self.file.path, old, self.file.current_size())
            done += count
        return view


def _same_file(a: _Side, b: _Side) -> bool:
    ia, ib = getattr(a.file, "identity", None), getattr(b.file, "identity", None)
    if ia is None or ib is None:
        return False
    return (ia.device, ia.inode) == (ib.device, ib.inode) and not (a.edited or b.edited)


def _xor_runs(va: memoryview, vb: memoryview, off: int, n: int, out: list[tuple[int, int]]) -> None:
    """Append the runs of differing bytes in ``[off, off + n)`` (one XOR, then a C regex scan)."""
    x = int.from_bytes(va[off : off + n], "little") ^ int.from_bytes(vb[off : off + n], "little")
    for match in _NONZERO.finditer(x.to_bytes(n, "little")):
        out.append((off + match.start(), off + match.end()))


def _narrow(
    va: memoryview, vb: memoryview, aa: int, ab: int, off: int, n: int, out: list[tuple[int, int]]
) -> None:
    """Runs of differing bytes in ``[off, off + n)``, known to differ somewhere."""
    if n > LEAF:
        part = max(LEAF, -(-n // FANOUT))
        for start in range(off, off + n, part):
            length = min(part, off + n - start)
            if memcmp(aa + start, ab + start, length):
                _narrow(va, vb, aa, ab, start, length, out)
        return
    blocks = [
        start
        for start in range(off, off + n, SCREEN)
        if memcmp(aa + start, ab + start, min(SCREEN, off + n - start))
    ]
    if len(blocks) > DENSE_SCREENS:
        _xor_runs(va, vb, off, n, out)
        return
    for start in blocks:
        _xor_runs(va, vb, start, min(SCREEN, off + n - start), out)


def piece_runs(va: memoryview, vb: memoryview) -> list[tuple[int, int]]:
    """Sorted ``[start, end)`` runs where two equally long buffers differ."""
    n = len(va)
    if n != len(vb):
        raise ValueError("pieces of different lengths")
    aa, ab = buffer_address(va), buffer_address(vb)
    out: list[tuple[int, int]] = []
    # Blocks of BLOCK bytes, not the whole piece in one call: a difference then costs
    # re-reading one block while narrowing, not the whole piece (16 calls per 4 MiB: ~30 µs).
    for start in range(0, n, BLOCK):
        length = min(BLOCK, n - start)
        if memcmp(aa + start, ab + start, length):
            _narrow(va, vb, aa, ab, start, length, out)
    return out


def iter_differences(
    source_a: Any,
    source_b: Any,
    anchors: list[Anchor] | None = None,
    *,
    progress: Progress | None = None,
    chunk_size: int = COMPARE_CHUNK,
    use_lease: bool = True,
    use_pread: bool = True,
    segments: list[Segment] | None = None,
) -> Iterator[DiffRange]:
    """Differing ranges in A order, adjacent runs merged, as the compare proceeds.

    ``source_a``/``source_b`` are Documents (edits included) or MappedFiles; ``segments``
    (default: planned from ``anchors``) restricts the compare. Raises Cancelled through
    ``progress``, FileTruncatedError if a file shrinks meanwhile.
    """
    if segments is None:
        segments = plan_segments(source_a.size, source_b.size, anchors)
    # A small compare (an edit's neighbourhood) needs no 4 MiB buffers.
    chunk_size = max(1, min(chunk_size, sum(segment.length for segment in segments)))
    a = _Side(source_a, use_lease, use_pread, chunk_size)
    b = _Side(source_b, use_lease, use_pread, chunk_size)
    zeros = bytes(chunk_size)  # calloc'd: untouched pages cost nothing
    pending: DiffRange | None = None
    try:
        for segment in segments:
            if segment.a == segment.b and _same_file(a, b):
                if progress is not None:
                    progress.advance(segment.length)
                continue
            for run in _segment_runs(a, b, segment, zeros, chunk_size, progress):
                if pending is not None and pending.a_end == run.a and pending.b_end == run.b:
                    pending = DiffRange(pending.a, pending.b, pending.length + run.length)
                    continue
                if pending is not None:
                    yield pending
                pending = run
        if pending is not None:
            yield pending
    except Cancelled:
        if pending is not None:
            yield pending  # found before the Cancel: worth showing
        raise
    finally:
        a.reader.close()
        b.reader.close()


def _segment_runs(
    a: _Side,
    b: _Side,
    segment: Segment,
    zeros: bytes,
    chunk_size: int,
    progress: Progress | None,
) -> Iterator[DiffRange]:
    a0, b0, length = segment.a, segment.b, segment.length
    rel = 0
    while rel < length:
        hole_a, until_a = a.at(a0 + rel)
        hole_b, until_b = b.at(b0 + rel)
        stop = min(length, until_a - a0, until_b - b0)
        if not (hole_a and hole_b):
            stop = min(
                stop,
                rel + chunk_size,
                a.window_end(a0 + rel) - a0,
                b.window_end(b0 + rel) - b0,
            )
            pa, pb = a0 + rel, b0 + rel
            n = stop - rel
            with (
                a.view(pa, pa + n, hole_a, zeros) as va,
                b.view(pb, pb + n, hole_b, zeros) as vb,
            ):
                runs = piece_runs(va, vb)
            for start, end in runs:
                yield DiffRange(pa + start, pb + start, end - start)
        if progress is not None:
            progress.advance(stop - rel)
        rel = stop


def compare(
    source_a: Any,
    source_b: Any,
    anchors: list[Anchor] | None = None,
    *,
    progress: Progress | None = None,
    on_range: Callable[[DiffRange], None] | None = None,
    max_ranges: int = DEFAULT_MAX_RANGES,
    chunk_size: int = COMPARE_CHUNK,
    use_lease: bool = True,
    use_pread: bool = True,
) -> CompareResult:
    """Compare A with B; a Cancel (through ``progress``) returns what was found so far.

    At most ``max_ranges`` ranges are kept in the list; all of them are counted.
    """
    size_a = getattr(source_a, "size", 0)
    size_b = getattr(source_b, "size", 0)
    segments = plan_segments(size_a, size_b, anchors)
    result = CompareResult(size_a, size_b, segments)
    total = sum(segment.length for segment in segments)
    if progress is None:
        progress = Progress(total)
    progress.total = total
    try:
        for diff in iter_differences(
            source_a,
            source_b,
            anchors,
            progress=progress,
            chunk_size=chunk_size,
            use_lease=use_lease,
            use_pread=use_pread,
        ):
            result.range_count += 1
            result.differing_bytes += diff.length
            if len(result.ranges) < max_ranges:
                result.ranges.append(diff)
            if on_range is not None:
                on_range(diff)
    except Cancelled:
        result.compared = progress.done
        return result
    result.compared = total
    result.complete = True
    return result


def clip_segments(segments: list[Segment], start: int, end: int) -> list[Segment]:
    """The parts of ``segments`` whose A offsets lie in ``[start, end)``."""
    clipped = []
    for segment in segments:
        low, high = max(segment.a, start), min(segment.a + segment.length, end)
        if low < high:
            clipped.append(Segment(low, segment.b + low - segment.a, high - low))
    return clipped


def a_span_of_b(segments: list[Segment], start: int, end: int) -> tuple[int, int] | None:
    """The A offsets compared with B offsets ``[start, end)`` (one span covering them all)."""
    spans = []
    for segment in segments:
        low, high = max(segment.b, start), min(segment.b + segment.length, end)
        if low < high:
            spans.append((segment.a + low - segment.b, segment.a + high - segment.b))
    if not spans:
        return None
    return min(low for low, _ in spans), max(high for _, high in spans)


def recompare_span(
    result: CompareResult, source_a: Any, source_b: Any, start: int, end: int
) -> CompareResult:
    """``result`` after bytes of A in ``[start, end)`` changed (an edit): only there re-read.

    The span grows to cover every listed range touching it, so the runs found inside cannot
    merge with runs outside (the bytes just outside a range are equal). Sizes must be those
    of ``result`` (edits overwrite); a capped or unfinished result needs a full compare.
    """
    if not (result.complete and result.listed_all):
        raise ValueError("only a complete, fully listed result can be updated in place")
    ranges = result.ranges
    low = bisect.bisect_left(ranges, start, key=lambda r: r.a_end)
    high = bisect.bisect_right(ranges, end, key=lambda r: r.a)
    if low < high:
        start, end = min(start, ranges[low].a), max(end, ranges[high - 1].a_end)
    fresh = list(
        iter_differences(source_a, source_b, segments=clip_segments(result.segments, start, end))
    )
    kept = ranges[:low] + fresh + ranges[high:]
    return CompareResult(
        result.size_a,
        result.size_b,
        result.segments,
        kept,
        len(kept),
        sum(r.length for r in kept),
        result.compared,
        True,
    )


def _segment_for(segments: list[Segment], offset: int, side: str) -> Segment | None:
    """The segment whose side ``side`` ('a' or 'b') holds ``offset``, else the nearest before."""
    best = None
    for segment in segments:
        start = segment.a if side == "a" else segment.b
        if start <= offset and (best is None or start >= (best.a if side == "a" else best.b)):
            best = segment
    return best


def a_to_b(segments: list[Segment], offset: int) -> int:
    """The B offset shown beside A offset ``offset`` (the shift of its segment)."""
    segment = _segment_for(segments, offset, "a")
    return offset if segment is None else offset + segment.b - segment.a


def b_to_a(segments: list[Segment], offset: int) -> int:
    """The A offset shown beside B offset ``offset``."""
    segment = _segment_for(segments, offset, "b")
    return offset if segment is None else offset + segment.a - segment.b


def uncompared(segments: list[Segment], size: int, side: str) -> list[tuple[int, int]]:
    """Ranges of side ``side`` ('a' or 'b') that no segment compares: a longer file's tail,
    bytes skipped by a resynchronization (an insertion)."""
    covered = sorted(
        ((s.a, s.a + s.length) if side == "a" else (s.b, s.b + s.length))
        for s in segments
        if s.length
    )
    gaps, pos = [], 0
    for start, end in covered:
        if start > pos:
            gaps.append((pos, start))
        pos = max(pos, end)
    if pos < size:
        gaps.append((pos, size))
    return gaps

"""Saving a resized document in place, in chunks, when the file system cannot shift extents.

The default for a same-file save whose sizes or layout changed when ``fallocate`` cannot shift
(tmpfs, btrfs, unaligned shifts): the file keeps its inode, hard links, owner, mode, xattrs and
ACLs, other programs' mappings of it stay valid, and it needs no second copy's worth of space.
Copy-and-rename (core/layout_save.py) stays for Save As, for files that are not regular, and
as the fallback where a copy fits and either this journal does not (a delete so large that its
overwritten bytes, kept for Cancel, no longer fit beside the file, see ``lost`` below) or the
moves are too scattered (10^6 inserts make 10^6 small steps, each a record and two flushes;
the copy streams: see ``too_scattered``). Measured (bench (a), 16 bytes inserted at 16, then
saved, against cp of the file): 4 GiB on ext4 0.67x cp; (a') 1 GiB on tmpfs 0.72x, on a
loop-mounted ext4 1.26x (the copy and rename costs about 1x cp plus a second copy's space).

The plan (core/layout_save.py) becomes *steps* (``steps_of``, a value tests inspect without I/O):
first the moves of the kept ranges (those shifting left front to back, those shifting right back
to front, each move's chunks in that same direction), so no step overwrites bytes a later step
has yet to read; then the writes of bytes from memory (inserted, filled, overwritten).

Crash safety: recovery ROLLS FORWARD (to exactly the new file) once a step has started, and
back (to exactly the old file) before that. Rolling forward was chosen because it needs far
less kept: a step's target held either bytes an earlier step already copied to their final
place, which nothing later overwrites (every final place is written once), or bytes the new
file does not keep (deleted, overwritten); so to redo the rest only two things can be missing:

- the bytes written from memory: they are copied into the journal before anything moves (the
  inserted bytes: 16 for bench (a));
- the source of the one step in progress, where its target overlaps its own source (a shift
  smaller than the step: bench (a) shifts 16 bytes in 4 MiB steps), torn by a kill or power
  loss in the middle of its write. Before such a step the journal gets a record with, for each
  512-byte sector of its target, a *witness*: the first offset where the sector's old and new
  bytes differ and the new byte there (found for all sectors at once by comparing strided
  slices); and the source bytes whose new place lies in another page (for a shift s < 4 KiB:
  s bytes per page, 0.4 % of the data for s = 16). A disk writes a sector whole or not at all,
  so recovery reads each sector new (its witness byte is new) or old, and rebuilds every
  source byte from its old place (old sector), its new place (new sector), or the record.
  A byte is lost only if its sector is new and its new place an old sector of the same page;
  the page cache writes pages whole (a kill stops a write between pages), so that takes a disk
  tearing a page in a power cut: recovery then names the byte and refuses (journal kept,
  nothing written) rather than write bytes it cannot prove. Witnesses instead of a CRC-32 per
  page: the CRCs cost 0.4 s per GiB (bench (a') on ext4: 1.65x cp with them, 1.07x without).
A roll back instead would need every deleted byte a move overwrites (1 GiB for bench (d)) and
the reverse moves journaled the same way: more bytes and the same machinery twice.

Cancel (and an I/O error in the middle) still rolls back, in the saving process, because the
user asked for the old file: the moves done so far are reversed, newest first (a reverse step
overwrites only bytes no earlier reverse step reads: the forward order's rule, mirrored), each
reverse step journaled as above so that a kill during the roll back is recovered by finishing
it. For that the journal also keeps ``lost``: the deleted bytes a move overwrites (none for an
insert). The roll back's reverse moves write only kept ranges, so those bytes are put back
last, from the journal.

The journal (``.NAME.mmhex-move``, preallocated once, so no ENOSPC midway): a header (magic,
sizes, the file's identity, page, chunk, the plan's copies and writes, CRC-32), the written
bytes, the lost bytes, and two fixed slots written alternately in place. A slot record names
the phase and step in progress and a counter; the newer whole record (CRC-32) wins, so a record
cut short leaves the previous one, whose step is finished. Order per step: record written and
fdatasynced, then the step's write, then fdatasync of the file, then the next record (the next
step's source is read and its record computed while the write goes back to the disk). Phases:
``F i`` (forward step i in progress), ``W`` (moves durable: redo the writes and cut to the new
size), ``R i`` (reverse step i of a roll back in progress), ``X`` (reverse moves durable: put the
lost bytes back, cut to the old size). No record at all: nothing was touched (the growth is cut
off). Journals of the previous version (``MMHEXMOV``: an undo log of every overwritten chunk)
are still recovered (rolled back or finished) by the code that wrote them, kept below.

Fills (FILL pieces, core/pieces.py) are not copied into the journal: its header lists each as
(range, pattern, phase) and the writes regenerate them (a zero fill of a chunk or more is
punched as a hole), so a 100 GiB fill costs the journal a few bytes, where it cost 100 GiB
(measured, 1 GiB fill of ``ab`` inserted at 16 of a 1 GiB file on tmpfs: journal 1.08 GB and
1.48 s before, 275 bytes and 0.63 s after). Bytes pasted or typed (the add-buffer, which is
memory) are journaled as they are: a 512 MiB paste takes 512 MiB of journal.

Sparse files: the file's data map (SEEK_DATA/SEEK_HOLE, core/holes.py) is walked once before
the first step; it stays true for every step not yet run (no step writes what a later one
reads, every target is written once). A step whose source is a hole punches its target
(record ``H``/``Q``: nothing read, nothing saved, its source reads as zeros throughout) or is
skipped when its target is a hole too; a step with data writes its data and punches its
source's long holes. The growth is a hole, allocated only where data will land. Deleted holes
are listed in the header instead of their zeros being kept as ``lost`` bytes; a roll back
punches them again (2 GiB of holes deleted from a 16 GiB sparse file: journal 2.1 GB and
0.89 s before, 250 bytes and 0.01 s now). Measured on tmpfs: 64 MiB inserted near the start
of a 16 GiB sparse file with 2 MiB of data took 37.5 s
and left the file using 16 GiB; now 0.07 s and 66 MiB; 10 GiB of zeros into 1 TiB: 0.67 s.

Writes use ``pread``/``pwrite`` and ``fdatasync``, not ``MAP_SHARED`` windows and ``msync``:
measured on tmpfs for a 1 GiB tail in 4 MiB chunks the two cost the same (0.81 vs 0.86 s with
per-page CRCs; a fresh window faults each page in), and a store through a mapping into a hole
of a full file system, or into a file another program truncates meanwhile, is SIGBUS instead of
an error the save can roll back from.
"""

from __future__ import annotations

import array
import bisect
import contextlib
import errno
import hashlib
import os
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mmhex.core._libc import RAMFS_MAGIC, TMPFS_MAGIC, fs_type
from mmhex.core.errors import MmhexError
from mmhex.core.holes import HoleMap, walk
from mmhex.core.journal import (
    fsync_directory,
    open_locked_for_recovery,
    open_trusted,
    unlink_durably,
)
from mmhex.core.journal_place import journal_location
from mmhex.core.layout_save import Fill, LayoutPlan, Move, open_for_saving_in_place
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
from mmhex.core.shift_save import fallocate
from mmhex.core.sources import fill_bytes

MOVE_SUFFIX = ".mmhex-move"
MAGIC = b"MMHEXMV3"
MAGIC_V2 = b"MMHEXMV2"  # the same without fills (their bytes were journaled)
MAGIC_V1 = b"MMHEXMOV"
# 4 MiB: on tmpfs the fastest of 0.5-32 MiB (bench (a'), the chunk stays in the CPU caches)
CHUNK = 4 << 20
# On a disk every step costs two flushes (its record, then its bytes): 16x fewer steps. Bench
# (a') on a loop-mounted ext4: 515 fdatasyncs took 4.3-5.8 s of a 4.9-6.3 s save with 4 MiB.
DISK_CHUNK = 64 << 20
PAGE = 4096  # the unit a write tears at (see the module docstring)
# A shift at least this fraction of the chunk (at most MIN_STEP) moves in steps of the shift
# itself (no step then overlaps its own source); a smaller one uses whole chunks and the page
# records: a shift under a page saves its size per page; a larger one its whole overlap, so it
# keeps to CHUNK-sized steps (its records are as large as its steps).
_STEP_DIVISOR = 16
MIN_STEP = 256 << 10

_HEAD = struct.Struct("<8sQQQQQQQQQIQQ")  # magic, old, new, dev, ino, page, chunk, copies,
# writes, written bytes, CRC-32 of the journaled bytes, fills, deleted holes; then the copies
# (3 x Q each), the writes (2 x Q each), the fills (_FILL each, then its pattern), the deleted
# holes (2 x Q each), and a CRC-32 of all that
_HEAD_V2 = struct.Struct("<8sQQQQQQQQQI")  # MAGIC_V2: no fills
_FILL = struct.Struct("<QQQQ")  # lo, hi, phase, pattern length
PUNCH_HOLE = 0x02 | 0x01  # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
_COPY = struct.Struct("<QQQ")
_WRITE = struct.Struct("<QQ")
_CRC = struct.Struct("<I")
_SLOT = struct.Struct("<4sQcQQII")  # tag, counter, phase, step, cancel point, sectors, saved
# bytes; then per sector of the step's target a witness offset (u16), then the witness bytes,
# then the saved bytes, then a CRC-32 of the record
SAME = 0xFFFF  # the witness offset of a piece whose old and new bytes are equal
SLOT_TAG = b"MVS2"
FORWARD, WRITES, REVERSE, RESTORE = b"F", b"W", b"R", b"X"
# A forward / reverse step whose source is a hole: its target is punched (no bytes read, none
# saved: its source reads as zeros before, during and after it)
FORWARD_HOLE, REVERSE_HOLE = b"H", b"Q"
SPARSE_PUNCH = 64 << 10  # holes of a step's source at least this long are punched, not written
SECTOR = 512  # what a disk writes whole, even in a power cut


@dataclass(frozen=True)
class Step:
    """Overwrite ``[target, target + length)`` of the file with file bytes from ``source``, or,
    when ``source`` is None, with the document's bytes at ``target`` (a write from memory)."""

    target: int
    length: int
    source: int | None

    @property
    def overlap(self) -> tuple[int, int]:
        """The part of the target that is also this step's own source (empty: lo >= hi)."""
        if self.source is None:
            return (0, 0)
        return max(self.source, self.target), min(self.source, self.target) + self.length

    def reversed(self) -> Step:
        assert self.source is not None
        return Step(self.source, self.length, self.target)


def step_length(shift: int, chunk: int = CHUNK) -> int:
    """How many bytes one step of a move by ``shift`` carries (see _STEP_DIVISOR)."""
    if abs(shift) >= min(chunk // _STEP_DIVISOR, MIN_STEP):
        return max(1, min(chunk, abs(shift)))
    return chunk if abs(shift) < PAGE else min(chunk, CHUNK)


def steps_of(plan: LayoutPlan, chunk: int = CHUNK) -> list[Step]:
    """The plan's overwrites in an order where none destroys bytes a later one reads."""
    steps: list[Step] = []
    for move in plan.moves:
        size = step_length(move.shift, chunk)
        starts = range(0, move.length, size)
        for lo in reversed(starts) if move.shift > 0 else starts:
            n = min(size, move.length - lo)
            steps.append(Step(move.target + lo, n, move.source + lo))
    for lo, hi in journaled_ranges(plan):
        steps.extend(Step(p, min(chunk, hi - p), None) for p in range(lo, hi, chunk))
    return steps


def journaled_ranges(plan: LayoutPlan) -> list[tuple[int, int]]:
    """The written ranges whose bytes the journal must hold: ``plan.writes`` less its fills
    (a fill is regenerated from its pattern, so its length costs the journal nothing)."""
    if not plan.fills:
        return list(plan.writes)
    fills = sorted((f.lo, f.hi) for f in plan.fills)
    out = []
    k = 0
    for lo, hi in plan.writes:
        while k < len(fills) and fills[k][1] <= lo:
            k += 1
        j = k
        at = lo
        while j < len(fills) and fills[j][0] < hi:
            if fills[j][0] > at:
                out.append((at, fills[j][0]))
            at = max(at, fills[j][1])
            j += 1
        if at < hi:
            out.append((at, hi))
    return out


def page_pieces(lo: int, hi: int, page: int = PAGE) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut at the file's page boundaries."""
    pieces = []
    while lo < hi:
        end = min(hi, (lo // page + 1) * page)
        pieces.append((lo, end))
        lo = end
    return pieces


def saved_ranges(step: Step, page: int = PAGE) -> list[tuple[int, int]]:
    """The source bytes of ``step`` that its own write may overwrite before their new place is
    written: those inside the overlap whose new place lies in another page of the file."""
    lo, hi = step.overlap
    if lo >= hi or step.source is None:
        return []
    shift = step.target - step.source
    if abs(shift) >= page:
        return [(lo, hi)]
    # q crosses the page boundary B when B - below <= q < B + above (|shift| < page: the
    # ranges of neighbouring boundaries never touch, and only the first and last are clipped)
    below, above = (shift, 0) if shift > 0 else (0, -shift)
    first = ((lo - above) // page + 1) * page
    ranges = [(b - below, b + above) for b in range(first, hi + below, page)]
    if ranges:
        ranges[0] = (max(lo, ranges[0][0]), ranges[0][1])
        ranges[-1] = (ranges[-1][0], min(hi, ranges[-1][1]))
    return ranges


def deleted_ranges(plan: LayoutPlan) -> list[tuple[int, int]]:
    """The old file's ranges the new file does not keep (copies come in file order)."""
    gaps = []
    at = 0
    for copy in sorted(plan.copies, key=lambda c: c.source):
        if copy.source > at:
            gaps.append((at, copy.source))
        at = max(at, copy.source + copy.length)
    if at < plan.old_size:
        gaps.append((at, plan.old_size))
    return gaps


def lost_ranges(step: Step, deleted: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The deleted bytes ``step`` overwrites (kept in the journal only for a roll back)."""
    lo, hi = step.target, step.target + step.length
    starts = [a for a, _b in deleted]
    out = []
    for a, b in deleted[max(0, bisect.bisect_right(starts, lo) - 1) :]:
        if a >= hi:
            break
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class MovePlan:
    """Everything the executor and recovery derive from a layout plan: a value, no I/O."""

    plan: LayoutPlan
    chunk: int
    page: int
    moves: tuple[Step, ...]  # the move steps, in order
    writes: tuple[Step, ...]  # the write steps of journaled bytes (source None), in order
    lost: tuple[tuple[tuple[int, int], ...], ...]  # per move step
    lost_starts: tuple[int, ...]  # per move step: where its lost bytes go in the journal
    head_size: int
    data_at: int  # the written bytes, in the plan's order
    lost_at: int  # the lost bytes, in move-step order
    slots_at: int
    slot_size: int
    holes: tuple[tuple[int, int], ...] = ()  # deleted holes of the old file (no lost bytes)

    @property
    def size(self) -> int:
        return self.slots_at + 2 * self.slot_size

    @property
    def sector(self) -> int:
        """The unit a record proves new or old (a disk sector; never more than a page)."""
        return min(SECTOR, self.page)

    @property
    def data_size(self) -> int:
        """The journaled new bytes (the written ones less the fills)."""
        return sum(s.length for s in self.writes)

    @property
    def fills(self) -> tuple[Fill, ...]:
        return self.plan.fills

    @property
    def lost_size(self) -> int:
        return sum(b - a for ranges in self.lost for a, b in ranges)

    def write_offsets(self) -> Iterator[tuple[Step, int]]:
        """Each write step with the place of its bytes in the journal."""
        at = self.data_at
        for step in self.writes:
            yield step, at
            at += step.length


def _slot_bound(length: int, shift: int, page: int) -> int:
    """The largest record of a step of ``length`` bytes moving by ``shift``: a step at least as
    long as its shift overlaps its own source (witnesses and saved bytes); a shorter one does
    not and its record is just a head (it was 2 x 64 MiB of slots for any large shift)."""
    if abs(shift) >= length:
        return _SLOT.size + _CRC.size
    pages = length // page + 2
    sectors = length // min(SECTOR, page) + 2
    return _SLOT.size + 3 * sectors + min(length, pages * abs(shift)) + _CRC.size


def subtract(
    ranges: list[tuple[int, int]], holes: tuple[tuple[int, int], ...]
) -> list[tuple[int, int]]:
    """``ranges`` less ``holes`` (both sorted and disjoint)."""
    out = []
    for lo, hi in ranges:
        for a, b in lost_ranges(Step(lo, hi - lo, None), list(holes)):
            if a > lo:
                out.append((lo, a))
            lo = b
        if lo < hi:
            out.append((lo, hi))
    return out


def deleted_holes(plan: LayoutPlan, found: HoleMap) -> tuple[tuple[int, int], ...]:
    """The holes of the old file among its deleted bytes: a roll back punches them again
    instead of keeping their zeros in the journal (a 100 GiB hole deleted from a 1 TiB sparse
    file would otherwise take 100 GiB of journal)."""
    holes = found.holes()
    out: list[tuple[int, int]] = []
    for lo, hi in deleted_ranges(plan):
        out += lost_ranges(Step(lo, hi - lo, None), holes)
    return tuple(out)


def move_plan(
    plan: LayoutPlan,
    chunk: int = CHUNK,
    page: int = PAGE,
    holes: tuple[tuple[int, int], ...] = (),
) -> MovePlan:
    """The steps and the journal's layout of ``plan``; ``holes``: see deleted_holes."""
    steps = steps_of(plan, chunk)
    moves = tuple(s for s in steps if s.source is not None)
    writes = tuple(s for s in steps if s.source is None)
    deleted = subtract(deleted_ranges(plan), holes)
    lost = tuple(tuple(lost_ranges(s, deleted)) for s in moves)
    head = _HEAD.size + _COPY.size * len(plan.copies) + _WRITE.size * len(plan.writes)
    head += sum(_FILL.size + len(f.pattern) for f in plan.fills) + _CRC.size
    head += _WRITE.size * len(holes)
    slot = max(
        [_slot_bound(step_length(m.shift, chunk), m.shift, page) for m in plan.moves],
        default=_SLOT.size + _CRC.size,
    )
    data_at = head
    lost_at = data_at + sum(s.length for s in writes)
    starts = []
    at = lost_at
    for ranges in lost:
        starts.append(at)
        at += sum(b - a for a, b in ranges)
    return MovePlan(
        plan,
        chunk,
        page,
        moves,
        writes,
        lost,
        tuple(starts),
        head,
        data_at,
        lost_at,
        at,
        slot,
        holes,
    )


def journal_size(plan: LayoutPlan, chunk: int = CHUNK) -> int:
    """The journal's size: what a save needs free beside the growth."""
    return move_plan(plan, chunk).size


def growth_data(plan: LayoutPlan) -> list[tuple[int, int]]:
    """The parts of the growth ``[old_size, final_size)`` that end up holding data: kept file
    bytes, journaled bytes and fills other than zeros (a zero fill is punched, so inserting
    10 GiB of zeros at the start of a small file asks for and allocates none of it)."""
    lo, hi = plan.old_size, plan.final_size
    if hi <= lo:
        return []
    spans = [(c.target, c.target + c.length) for c in plan.copies]
    spans += journaled_ranges(plan)
    spans += [(f.lo, f.hi) for f in plan.fills if f.pattern.strip(b"\0")]
    merged: list[tuple[int, int]] = []
    for a, b in sorted((max(a, lo), min(b, hi)) for a, b in spans):
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def space_needed(plan: LayoutPlan, chunk: int = CHUNK) -> int:
    return sum(b - a for a, b in growth_data(plan)) + journal_size(plan, chunk)


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


def _pread_exact(fd: int, length: int, offset: int) -> bytes:
    data = os.pread(fd, length, offset)
    if len(data) != length:
        raise OSError(errno.EIO, f"could not read {length:,} bytes at {offset:#x}")
    return data


def chunk_for(fd: int) -> int:
    """The step size for the file system of ``fd``: CHUNK on tmpfs, DISK_CHUNK elsewhere."""
    try:
        kind = fs_type(fd)
    except OSError:
        return DISK_CHUNK
    return CHUNK if kind in (TMPFS_MAGIC, RAMFS_MAGIC) else DISK_CHUNK


def space_needed_in(folder: str, plan: LayoutPlan) -> int:
    """space_needed for a save in ``folder``, with the chunk its file system gets."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return space_needed(plan, DISK_CHUNK)
    try:
        return space_needed(plan, chunk_for(fd))
    finally:
        os.close(fd)


def _saved_grid(step: Step, page: int) -> tuple[list[tuple[int, int]], int, int, int]:
    """``saved_ranges(step, page)`` as (ranges at the edges, start, count, width): the others
    are ``[start + k * page, start + k * page + width)`` for ``k < count``, so they are copied
    as ``width`` strided slices (or ``count`` plain ones, whichever is fewer)."""
    lo, hi = step.overlap
    shift = step.target - (step.source or 0)
    if lo >= hi or abs(shift) >= page:
        return saved_ranges(step, page), 0, 0, 0
    below, above = (shift, 0) if shift > 0 else (0, -shift)
    bounds = range(((lo - above) // page + 1) * page, hi + below, page)
    if len(bounds) < 3:
        return saved_ranges(step, page), 0, 0, 0
    # Only the first and the last range may be clipped (see saved_ranges).
    first, last = bounds[0], bounds[-1]
    edges = []
    skip_head = first - below < lo
    if skip_head:
        edges.append((lo, first + above))
    skip_tail = last + above > hi
    if skip_tail:
        edges.append((last - below, hi))
    middle = bounds[int(skip_head) : len(bounds) - int(skip_tail)]
    return edges, middle[0] - below, len(middle), below + above


def _saved_bytes(step: Step, source: memoryview, page: int) -> bytes:
    """The saved bytes of ``step`` (its ``source`` bytes at saved_ranges), edges first, then
    the regular ranges column by column or range by range (see _saved_grid)."""
    assert step.source is not None
    base = step.source
    edges, start, count, width = _saved_grid(step, page)
    parts = [source[a - base : b - base] for a, b in edges]
    if count:
        at = start - base
        if width <= count:
            span = (count - 1) * page + 1
            parts += [bytes(source[at + j : at + j + span : page]) for j in range(width)]
        else:
            parts += [source[at + k * page : at + k * page + width] for k in range(count)]
    return b"".join(parts)


def _put_saved(step: Step, source: bytearray, saved: bytes, page: int) -> bool:
    """The inverse of _saved_bytes: put them back into ``source``; False if they do not fit."""
    assert step.source is not None
    base = step.source
    edges, start, count, width = _saved_grid(step, page)
    if len(saved) != sum(b - a for a, b in edges) + count * width:
        return False
    pos = 0
    for a, b in edges:
        source[a - base : b - base] = saved[pos : pos + b - a]
        pos += b - a
    if count:
        at = start - base
        if width <= count:
            span = (count - 1) * page + 1
            for j in range(width):
                source[at + j : at + j + span : page] = saved[pos : pos + count]
                pos += count
        else:
            for k in range(count):
                source[at + k * page : at + k * page + width] = saved[pos : pos + width]
                pos += width
    return True


def witnesses(
    new: bytes | memoryview, old: bytes | memoryview, target: int, page: int
) -> tuple[list[int], bytearray]:
    """For each piece of the target between the file's page boundaries (``new`` and ``old``
    are its bytes after and before the step, written at ``target``): the first offset where
    they differ and the new byte there (SAME and 0 where the piece does not change).

    One byte then tells a whole page new or old. The first bytes of all pages are compared at
    once (strided slices, one integer XOR); only pages whose first bytes agree are searched."""
    new, old = memoryview(new), memoryview(old)
    n = len(new)
    first = min(n, page - target % page)
    starts = [0, *range(first, n, page)]
    values = bytearray(new[:1]) + bytes(new[first::page])
    agree = (
        int.from_bytes(values, "big")
        ^ int.from_bytes(bytes(old[:1]) + bytes(old[first::page]), "big")
    ).to_bytes(len(values), "big")
    marks = [0] * len(starts)
    k = agree.find(0)
    while k >= 0:
        a = starts[k]
        b = first if k == 0 else min(n, a + page)
        differ = int.from_bytes(new[a:b], "big") ^ int.from_bytes(old[a:b], "big")
        if differ:
            marks[k] = (b - a) - (differ.bit_length() + 7) // 8
            values[k] = new[a + marks[k]]
        else:
            marks[k], values[k] = SAME, 0
        k = agree.find(0, k + 1)
    return marks, values


@dataclass(frozen=True)
class Slot:
    counter: int
    phase: bytes
    step: int
    cancel_at: int
    marks: tuple[int, ...]  # per sector of the step's target: where its old and new bytes differ
    values: bytes  # per sector: the new byte there
    saved: bytes


class _Run:
    """The file and its journal open for one execution: a save, a roll back, or a recovery.

    ``counter`` numbers the slot records; each goes to slot ``counter % 2``."""

    def __init__(self, fd: int, jfd: int, mp: MovePlan, counter: int = 0) -> None:
        self.fd, self.jfd, self.mp = fd, jfd, mp
        self.counter = counter
        self.buffer = bytearray()
        self.done = 0  # forward move steps durable
        self.writing = -1  # the forward step whose write is under way
        # Where the file has data, walked before the run's first step: it stays true for the
        # sources and targets of the steps not yet run (no step writes what a later one
        # reads, and every target is written once). None: all data.
        self.map: HoleMap | None = None

    def look(self, size: int | None = None) -> None:
        """Walk the file's holes now (below ``size``; the rest counts as a hole)."""
        end = os.fstat(self.fd).st_size
        found = walk(self.fd, end if size is None else min(size, end))
        self.map = HoleMap(max(end, found.size), found.data, found.exact, found.known_end)

    def is_hole(self, lo: int, length: int) -> bool:
        """Whether ``[lo, lo + length)`` reads as zeros without storage (per ``map``)."""
        return (
            self.map is not None
            and lo + length <= self.map.size
            and not self.map.data_in(lo, lo + length)
        )

    # ------------------------------------------------------------------ journal records
    def record(
        self,
        phase: bytes,
        step: int,
        cancel_at: int = 0,
        step_obj: Step | None = None,
        before: tuple[memoryview, memoryview] | None = None,
    ) -> None:
        """Make the record of ``phase``/``step`` durable; for a step whose write overlaps its own
        source, ``before`` = (its source, its target's bytes now) gives the page witnesses and
        the saved bytes (see the module docstring)."""
        marks: list[int] = []
        values = b""
        saved = b""
        if step_obj is not None and before is not None:
            source, old = before
            marks, values = witnesses(source, old, step_obj.target, self.mp.sector)
            saved = _saved_bytes(step_obj, source, self.mp.page)
        self.counter += 1
        body = array.array("H", marks)
        if sys.byteorder != "little":
            body.byteswap()
        head = _SLOT.pack(SLOT_TAG, self.counter, phase, step, cancel_at, len(marks), len(saved))
        record = b"".join((head, body.tobytes(), values, saved))
        record += _CRC.pack(zlib.crc32(record))
        assert len(record) <= self.mp.slot_size
        _pwrite_all(self.jfd, record, self.mp.slots_at + (self.counter % 2) * self.mp.slot_size)
        os.fdatasync(self.jfd)

    # ------------------------------------------------------------------ steps
    def source_of(self, step: Step) -> bytes:
        assert step.source is not None
        return _pread_exact(self.fd, step.length, step.source)

    def read_into(self, length: int, offset: int) -> memoryview:
        """``length`` bytes of the file at ``offset`` in the run's one reused buffer (a fresh
        64 MiB buffer per step costs its page faults: 0.9 s per GiB on ext4), valid until the
        next call."""
        if len(self.buffer) < length:
            self.buffer = bytearray(length)
        view = memoryview(self.buffer)[:length]
        done = 0
        while done < length:
            got = os.preadv(self.fd, [view[done:]], offset + done)
            if got <= 0:
                raise OSError(errno.EIO, f"could not read {length:,} bytes at {offset:#x}")
            done += got
        return view

    def read_step(self, step: Step) -> tuple[memoryview, tuple[memoryview, memoryview] | None]:
        """The source of a move step; and, when its target overlaps it, (source, the target's
        bytes now), both from one read of the two."""
        assert step.source is not None
        lo, hi = step.overlap
        if lo >= hi:
            return self.read_into(step.length, step.source), None
        start = min(step.source, step.target)
        both = self.read_into(step.length + abs(step.target - step.source), start)
        source = both[step.source - start : step.source - start + step.length]
        target = both[step.target - start : step.target - start + step.length]
        return source, (source, target)

    def write(self, step: Step, data: bytes | bytearray | memoryview, durable: bool = True) -> None:
        _pwrite_all(self.fd, data, step.target)
        if durable:
            os.fdatasync(self.fd)

    def put(self, step: Step, data: bytes | bytearray | memoryview | None, sparse: bool) -> None:
        """Write a move step: ``data`` None (its source is a hole) punches its target; with
        ``sparse`` the source's long holes (per ``map``) are punched and only its data written,
        so a sparse file's tail moves as its data extents, its holes staying holes."""
        if data is None:
            punch(self.fd, step.target, step.length)
            return
        holes = []
        if sparse and self.map is not None and step.source is not None:
            src = step.source
            holes = [
                (a, b)
                for a, b in self.map.holes_in(src, src + step.length)
                if b - a >= SPARSE_PUNCH
            ]
        if not holes:
            self.write(step, data, durable=False)
            return
        view = memoryview(data)
        at = step.source or 0
        shift = step.target - at
        for a, b in [*holes, (at + step.length, at + step.length)]:
            if a > at:
                _pwrite_all(self.fd, view[at - step.source : a - step.source], at + shift)
            if b > a:
                punch(self.fd, a + shift, b - a)
            at = b

    def forward(
        self,
        start: int,
        progress: Progress | None,
        checkpoint: Callable[[str], None],
        first: bytes | bytearray | memoryview | None = None,
        hole: bool = False,
    ) -> None:
        """Forward move steps from ``start`` (``first``: its source, already rebuilt and its
        record already durable; ``hole``: its source is a hole, its record durable), then the
        writes and the final size. Cancel raises Cancelled
        between steps with steps ``< i`` durable and step ``i`` untouched (``self.done = i``)."""
        self.done = start
        data: bytes | bytearray | memoryview | None
        for i in range(start, len(self.mp.moves)):
            step = self.mp.moves[i]
            resumed = i == start and (first is not None or hole)
            assert step.source is not None
            if resumed:
                data = None if hole else first
            elif self.is_hole(step.source, step.length):
                if self.is_hole(step.target, step.length):
                    # Zeros onto zeros (a sparse file's tail): nothing to read, write or
                    # record; its lost bytes, if any, are zeros the journal holds already.
                    self.done = i + 1
                    if progress is not None:
                        progress.advance(step.length)
                    continue
                data = None
                self.save_lost(i)
                os.fdatasync(self.fd)
                self.record(FORWARD_HOLE, i)
                checkpoint("chunk-journaled")
            else:
                # Read and weigh this step while the last one's bytes go to the disk (its
                # source is not the last step's target), then wait for them: only then may
                # this step's record say the last one is done.
                data, before = self.read_step(step)
                self.save_lost(i)
                if i > start or first is not None or hole:
                    os.fdatasync(self.fd)
                self.record(FORWARD, i, 0, step, before)
                checkpoint("chunk-journaled")
            self.writing = i
            self.put(step, data, sparse=not resumed)
            self.writing = -1
            self.done = i + 1
            # Start writing this step back now (the next step's read overlaps it).
            os.posix_fadvise(self.fd, step.target, step.length, os.POSIX_FADV_DONTNEED)
            checkpoint("chunk-written")
            if progress is not None:
                progress.advance(step.length)  # Cancel: raises with ``done`` steps to undo
        os.fdatasync(self.fd)
        self.record(WRITES, 0)
        checkpoint("moves-done")
        self.redo_writes(progress, checkpoint)
        checkpoint("file-fsynced")
        self.finish_size(self.mp.plan.final_size)
        checkpoint("truncated")

    def save_lost(self, i: int) -> None:
        """Copy the deleted bytes move ``i`` overwrites into the journal (its record's fdatasync
        makes them durable first)."""
        if not self.mp.lost[i]:
            return
        at = self.mp.lost_starts[i]
        for a, b in self.mp.lost[i]:
            _pwrite_all(self.jfd, _pread_exact(self.fd, b - a, a), at)
            at += b - a

    def redo_writes(
        self, progress: Progress | None, checkpoint: Callable[[str], None] | None = None
    ) -> None:
        """The new bytes: journaled ones copied back, fills regenerated (idempotent)."""

        def advance(count: int) -> None:
            if progress is not None:  # past the moves Cancel no longer applies: no check
                progress.done += count
                if progress.callback is not None:
                    progress.callback(progress.done, progress.total)

        for step, at in self.mp.write_offsets():
            self.write(step, _pread_exact(self.jfd, step.length, at), durable=False)
            advance(step.length)
        for fill in self.mp.fills:
            write_fill(self.fd, fill, self.mp.chunk, advance)
            if checkpoint is not None:
                checkpoint("fill-written")
        os.fdatasync(self.fd)

    def finish_size(self, size: int) -> None:
        os.ftruncate(self.fd, size)
        os.fsync(self.fd)

    def reverse(
        self,
        cancel_at: int,
        start: int,
        checkpoint: Callable[[str], None],
        first: bytes | bytearray | memoryview | None = None,
        hole: bool = False,
    ) -> None:
        """Undo forward steps ``< cancel_at``, newest first: reverse step ``r`` undoes forward
        step ``cancel_at - 1 - r``. Then the lost bytes and the old size."""
        data: bytes | bytearray | memoryview | None
        for r in range(start, cancel_at):
            step = self.mp.moves[cancel_at - 1 - r].reversed()
            assert step.source is not None
            resumed = r == start and (first is not None or hole)
            if resumed:
                data = None if hole else first
            elif self.is_hole(step.source, step.length):
                if self.is_hole(step.target, step.length):
                    continue
                data = None
                self.record(REVERSE_HOLE, r, cancel_at)
                checkpoint("reverse-journaled")
            else:
                data, before = self.read_step(step)
                self.record(REVERSE, r, cancel_at, step, before)
                checkpoint("reverse-journaled")
            self.put(step, data, sparse=not resumed)
            os.fdatasync(self.fd)
            checkpoint("reverse-written")
        self.record(RESTORE, 0, cancel_at)
        checkpoint("restore-journaled")
        self.restore_lost(cancel_at)

    def restore_lost(self, cancel_at: int) -> None:
        """Put back the deleted bytes forward steps ``< cancel_at`` overwrote, then the old size
        (idempotent: a kill here is recovered by doing it again)."""
        for i in range(cancel_at):
            at = self.mp.lost_starts[i]
            for a, b in self.mp.lost[i]:
                _pwrite_all(self.fd, _pread_exact(self.jfd, b - a, at), a)
                at += b - a
            step = self.mp.moves[i]
            for a, b in lost_ranges(step, list(self.mp.holes)):
                punch(self.fd, a, b - a)  # a hole of the old file, overwritten by the step
        self.finish_size(self.mp.plan.old_size)

    # ------------------------------------------------------------------ recovery
    def rebuild(self, step: Step, slot: Slot) -> bytearray:
        """The source of ``step`` as it was before its (possibly torn) write, from the file and
        ``slot``; OSError(EIO) if the pages do not prove it (see the module docstring)."""
        assert step.source is not None
        source = bytearray(self.source_of(step))
        lo, hi = step.overlap
        if lo >= hi:
            return source  # its source is untouched by its own write
        shift = step.target - step.source
        page, sector = self.mp.page, self.mp.sector
        pieces = page_pieces(step.target, step.target + step.length, sector)
        if len(slot.marks) != len(pieces) or len(slot.values) != len(pieces):
            raise OSError(errno.EIO, "the journal's record does not match its step")
        now = memoryview(_pread_exact(self.fd, step.length, step.target))
        base, target = step.source, step.target
        fresh = [
            mark != SAME and now[a - target + mark] == value
            for (a, _b), mark, value in zip(pieces, slot.marks, slot.values, strict=True)
        ]
        for (a, b), new, mark in zip(pieces, fresh, slot.marks, strict=True):
            if new or mark == SAME:
                # The source bytes whose new place is in a new sector (or in one whose bytes
                # the step does not change) are there.
                source[a - shift - base : b - shift - base] = now[a - target : b - target]
            # in an old sector a source byte of its own is still in place
        if not _put_saved(step, source, slot.saved, page):
            raise OSError(errno.EIO, "the journal's record does not match its step")
        lost = _lost_in_tear(step, pieces, fresh, slot.marks, page, sector)
        agree = all(
            mark == SAME or source[a - target + mark] == value
            for (a, _b), mark, value in zip(pieces, slot.marks, slot.values, strict=True)
        )
        if lost is not None or not agree:
            where = f"at {lost:#x}" if lost is not None else f"of the step at {target:#x}"
            raise OSError(
                errno.EIO,
                f"the bytes {where} were lost: a power cut tore a page inside (a new sector "
                "before an old one in one page); they cannot be proved",
            )
        return source


def _lost_in_tear(
    step: Step,
    pieces: list[tuple[int, int]],
    fresh: list[bool],
    marks: tuple[int, ...],
    page: int,
    sector: int,
) -> int | None:
    """The first source byte of ``step`` a tear inside a page destroyed (None: none): one in a
    new sector whose new place is in an old sector of the same page (so not saved, see
    saved_ranges). ``pieces`` are the target's sectors, ``fresh`` which of them are new."""
    assert step.source is not None
    shift = step.target - step.source
    lo, hi = step.overlap
    if abs(shift) >= page or len(pieces) < 2:
        return None  # every overlapping byte is saved, or the step is one sector
    first_end = pieces[0][1]

    def index(p: int) -> int:
        return 0 if p < first_end else 1 + (p - first_end) // sector

    for k, (a, b) in enumerate(pieces):
        if not fresh[k]:
            continue
        q, end = max(a, lo), min(b, hi)
        while q < end:  # runs of q whose new places share one sector
            t = index(q + shift)
            run_end = min(end, pieces[t][1] - shift)
            if not fresh[t] and marks[t] != SAME:
                for r in range(q, run_end):
                    if r // page == (r + shift) // page:
                        return r
            q = run_end
    return None


def read_slots(jfd: int, mp: MovePlan) -> Slot | None:
    """The newer whole slot record, or None (no step was ever started)."""
    best: Slot | None = None
    for k in range(2):
        raw = os.pread(jfd, mp.slot_size, mp.slots_at + k * mp.slot_size)
        if len(raw) < _SLOT.size + _CRC.size:
            continue
        tag, counter, phase, step, cancel_at, pieces, nsaved = _SLOT.unpack_from(raw)
        end = _SLOT.size + 3 * pieces + nsaved
        if tag != SLOT_TAG or end + _CRC.size > len(raw):
            continue
        (crc,) = _CRC.unpack_from(raw, end)
        if zlib.crc32(raw[:end]) != crc:
            continue
        marks = array.array("H")
        marks.frombytes(raw[_SLOT.size : _SLOT.size + 2 * pieces])
        if sys.byteorder != "little":
            marks.byteswap()
        values = raw[_SLOT.size + 2 * pieces : _SLOT.size + 3 * pieces]
        slot = Slot(counter, phase, step, cancel_at, tuple(marks), values, raw[end - nsaved : end])
        if best is None or slot.counter > best.counter:
            best = slot
    return best


# ---------------------------------------------------------------------- the journal header
def punch(fd: int, lo: int, length: int) -> None:
    """Make ``[lo, lo + length)`` zeros: a hole where the file system can, else written."""
    if length <= 0:
        return
    try:
        fallocate(fd, PUNCH_HOLE, lo, length)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
    zeros = bytes(min(length, CHUNK))
    for at in range(lo, lo + length, len(zeros)):
        _pwrite_all(fd, memoryview(zeros)[: min(len(zeros), lo + length - at)], at)


def write_fill(fd: int, fill: Fill, chunk: int, advance: Callable[[int], None]) -> None:
    """Write ``fill``'s bytes into ``fd`` in chunks of whole periods (one buffer built once);
    a zero fill of at least a chunk punches a hole instead, where the file system can (the
    bytes read as zeros and take no space)."""
    length = fill.hi - fill.lo
    if length >= chunk and not fill.pattern.strip(b"\0"):
        punch(fd, fill.lo, length)
        advance(length)
        return
    period = len(fill.pattern)
    step = max(period, chunk // period * period)
    block = fill_bytes(fill.pattern, fill.phase, min(step, length))
    for at in range(fill.lo, fill.hi, step):
        count = min(step, fill.hi - at)
        _pwrite_all(fd, memoryview(block)[:count], at)
        advance(count)


def _header(mp: MovePlan, st: os.stat_result, data_crc: int) -> bytes:
    plan = mp.plan
    parts = [
        _HEAD.pack(
            MAGIC,
            plan.old_size,
            plan.final_size,
            st.st_dev,
            st.st_ino,
            mp.page,
            mp.chunk,
            len(plan.copies),
            len(plan.writes),
            plan.written_bytes,
            data_crc,
            len(plan.fills),
            len(mp.holes),
        )
    ]
    parts.extend(_COPY.pack(c.source, c.target, c.length) for c in plan.copies)
    parts.extend(_WRITE.pack(lo, hi) for lo, hi in plan.writes)
    for f in plan.fills:
        parts += [_FILL.pack(f.lo, f.hi, f.phase, len(f.pattern)), f.pattern]
    parts.extend(_WRITE.pack(lo, hi) for lo, hi in mp.holes)
    head = b"".join(parts)
    return head + _CRC.pack(zlib.crc32(head))


@dataclass(frozen=True)
class Header:
    mp: MovePlan
    inode: tuple[int, int]
    data_crc: int


def read_header(jfd: int) -> Header:
    """The v2 journal's header (ValueError: cut short or damaged: nothing was touched yet)."""
    head = _HEAD if os.pread(jfd, len(MAGIC), 0) == MAGIC else _HEAD_V2
    fixed = os.pread(jfd, head.size, 0)
    if len(fixed) < head.size:
        raise ValueError("the journal header is cut short")
    magic, old, new, dev, ino, page, chunk, ncopies, nwrites, written, data_crc, *more = (
        head.unpack(fixed)
    )
    nfills, nholes = more if more else (0, 0)
    if magic not in (MAGIC, MAGIC_V2) or page <= 0 or chunk <= 0:
        raise ValueError("not an mmhex move journal")
    size = os.fstat(jfd).st_size
    rest = _COPY.size * ncopies + _WRITE.size * nwrites
    if head.size + rest + nfills * _FILL.size + _CRC.size > size:
        raise ValueError("the journal header is cut short")
    body = os.pread(jfd, rest, head.size)
    fills = []
    at = head.size + rest
    for _k in range(nfills):
        raw = os.pread(jfd, _FILL.size, at)
        if len(raw) != _FILL.size:
            raise ValueError("the journal header is cut short")
        lo, hi, phase, period = _FILL.unpack(raw)
        pattern = os.pread(jfd, period, at + _FILL.size) if 0 < period <= size else b""
        if len(pattern) != period or not pattern or not lo <= hi <= new:
            raise ValueError("the journal header is cut short or damaged")
        fills.append(Fill(lo, hi, pattern, phase))
        body += raw + pattern
        at += _FILL.size + period
    raw = os.pread(jfd, _WRITE.size * nholes, at) if nholes * _WRITE.size <= size else b""
    if len(raw) != _WRITE.size * nholes:
        raise ValueError("the journal header is cut short")
    holes = tuple(_WRITE.unpack_from(raw, k * _WRITE.size) for k in range(nholes))
    body += raw
    at += len(raw)
    tail = os.pread(jfd, _CRC.size, at)
    if len(body) != at - head.size or len(tail) != _CRC.size:
        raise ValueError("the journal header is cut short")
    (crc,) = _CRC.unpack(tail)
    if zlib.crc32(body, zlib.crc32(fixed)) != crc:
        raise ValueError("the journal header is cut short or damaged")
    copies = tuple(Move(*_COPY.unpack_from(body, k * _COPY.size)) for k in range(ncopies))
    at = _COPY.size * ncopies
    writes = tuple(_WRITE.unpack_from(body, at + k * _WRITE.size) for k in range(nwrites))
    plan = LayoutPlan(old, new, copies, writes, tuple(fills))
    if plan.written_bytes != written:
        raise ValueError("the journal header is damaged")
    return Header(move_plan(plan, chunk, page, holes), (dev, ino), data_crc)


def _create_journal(
    jpath: str, mp: MovePlan, st: os.stat_result, read: Callable[[int, int], bytes]
) -> int:
    """Create the journal with the written bytes and the header, all durable, and return its
    descriptor. Nothing of the file is touched yet: a crash here is recovered as 'unchanged'."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(jpath)
    jfd = os.open(jpath, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        # All of its space at once: no ENOSPC in the middle of the save.
        os.posix_fallocate(jfd, 0, mp.size)
        crc = 0
        for step, at in mp.write_offsets():
            data = read(step.target, step.length)
            if len(data) != step.length:
                raise OSError(errno.EIO, f"could not read offset {step.target:#x} of the document")
            crc = zlib.crc32(data, crc)
            _pwrite_all(jfd, data, at)
        os.fdatasync(jfd)  # the written bytes before the header that makes them count
        _pwrite_all(jfd, _header(mp, st, crc), 0)
        os.fsync(jfd)
        fsync_directory(os.path.dirname(jpath))
    except BaseException:
        os.close(jfd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(jpath)
        raise
    return jfd


# ---------------------------------------------------------------------- saving
def save_in_place(
    path: str,
    plan: LayoutPlan,
    read: Callable[[int, int], bytes],
    expected: FileIdentity | None,
    *,
    chunk: int | None = None,
    page: int = PAGE,
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
        holes = deleted_holes(plan, walk(fd, plan.old_size))
        mp = move_plan(plan, chunk or chunk_for(fd), page, holes)
        growth = sum(b - a for a, b in growth_data(plan))
        folder = os.path.dirname(os.path.realpath(path))
        needed = growth + mp.size
        free = free_bytes(folder)
        if free is not None and free < needed:
            raise SaveError(
                f"Not enough free space in {folder} to save {path} in place: it needs "
                f"{needed:,} bytes ({growth:,} for the growth, {mp.size:,} for the save "
                f"journal) and {free:,} are free; nothing was changed.",
                errno.ENOSPC,
            )
        total = max(1, sum(s.length for s in mp.moves) + mp.data_size + plan.fill_bytes)
        progress = Progress(total, on_progress, token)
        jpath = move_journal_path(path, writing=st)  # a hard link elsewhere is indexed
        try:
            jfd = _create_journal(jpath, mp, st, read)
        except OSError as exc:
            raise SaveError(
                f"Cannot write the save journal beside {path} ({_why(exc)}); nothing was changed.",
                exc.errno,
            ) from exc
        step("journal-written")
        run = _Run(fd, jfd, mp)
        try:
            run.look(plan.old_size)
            assert run.map is not None
            if plan.final_size > plan.old_size:
                # Grow as a hole, then allocate the parts that will hold data: ENOSPC here,
                # before a byte of the file moved. Not for a sparse file: its tail moves as
                # data extents and holes (see put), so most of those parts stay holes.
                os.ftruncate(fd, plan.final_size)
                if not run.map.hole_bytes:
                    for a, b in growth_data(plan):
                        os.posix_fallocate(fd, a, b - a)
                os.fsync(fd)
                run.map = HoleMap(plan.final_size, run.map.data, run.map.exact, run.map.known_end)
                step("grown")
            token.check()
            run.forward(0, progress, step)
        except BaseException as exc:
            outcome = _abort(run, st, jpath, exc, step)
            if isinstance(exc, Cancelled):
                raise
            if isinstance(exc, OSError):
                raise SaveError(
                    f"Saving {path} in place failed ({_why(exc)}); {outcome}", exc.errno
                ) from exc
            raise
        finally:
            os.close(jfd)
        unlink_durably(jpath)
    finally:
        os.close(fd)
    moved = sum(s.length for s in mp.moves)
    changed = moved + plan.written_bytes  # new bytes are the growth: count them once
    return SaveResult(
        path, changed, len(plan.writes), time.monotonic() - started, moved_bytes=moved
    )


def _abort(
    run: _Run, st: os.stat_result, jpath: str, exc: BaseException, step: Callable[[str], None]
) -> str:
    """Roll back in this process after Cancel or an error (see the module docstring); the
    sentence saying how it ended. The file gets its modification time back too, so the
    document still sees it as the file its edits belong to."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit)) and not isinstance(exc, Cancelled):
        return "the save journal was kept; run mmhex recover on the file."
    try:
        done = run.done
        slot = read_slots(run.jfd, run.mp)
        if slot is not None and slot.phase == WRITES:
            # Past the moves (an error while writing the new bytes): finish instead.
            run.redo_writes(None)
            run.finish_size(run.mp.plan.final_size)
            unlink_durably(jpath)
            return "the save was finished all the same: the file holds the saved version."
        if run.writing >= 0 and slot is not None and slot.phase in (FORWARD, FORWARD_HOLE):
            # The error hit step ``done`` in its write: finish that step, then undo it too.
            hole = slot.phase == FORWARD_HOLE
            data = None if hole else run.rebuild(run.mp.moves[done], slot)
            run.put(run.mp.moves[done], data, sparse=False)
            os.fdatasync(run.fd)
            done += 1
        if slot is None or done == 0:
            run.finish_size(run.mp.plan.old_size)
        else:
            run.look()  # the file now: true for the reverse steps' sources and targets
            run.reverse(done, 0, step)
        os.utime(run.fd, ns=(st.st_atime_ns, st.st_mtime_ns))
        unlink_durably(jpath)
    except (OSError, ValueError) as error:
        return f"rolling back failed too ({error}); run mmhex recover on the file."
    return "the file was restored as it was."


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the file system ran out of space"
    return _reason(exc)


# ---------------------------------------------------------------------- recovery
@dataclass(frozen=True)
class MoveRecovery:
    completed: bool  # True: the file holds the saved version; False: the old one
    message: str
    kept: bool = False  # the journal had to stay (the message says why)


def recover_move(path: str, checkpoint: Callable[[str], None] | None = None) -> MoveRecovery | None:
    """Finish or roll back an interrupted chunked in-place save of ``path`` (None: none).
    ``checkpoint`` names each step as the save's does (tests kill recovery there)."""
    jpath = move_journal_path(path)
    opened = open_locked_for_recovery(path, jpath, _reason)
    if isinstance(opened, str):
        return MoveRecovery(False, opened)
    fd, st = opened
    try:
        try:
            # The hardened checks of issue 9 (regular file, no link, owner, 0600, one link);
            # then it is read in pieces, never whole (it may hold a whole tail).
            jfd, jst = open_trusted(jpath, owner=st.st_uid)
        except FileNotFoundError:
            return None
        except (OSError, MmhexError) as exc:
            return MoveRecovery(False, f"The save journal {jpath} was not used: {exc}.")
        try:
            if os.pread(jfd, len(MAGIC_V1), 0) == MAGIC_V1:
                outcome = _recover_v1(path, fd, jfd, st)
            else:
                outcome = _recover_v2(path, jpath, fd, jfd, jst, st, checkpoint)
        except OSError as exc:
            return _failed(path, jpath, exc)
        finally:
            os.close(jfd)
        if outcome is None:
            return MoveRecovery(
                False, f"{jpath} belongs to another file; it was left in place.", kept=True
            )
        if outcome.kept:
            return outcome
        os.unlink(jpath)  # still under the save lock: no save of ours can start meanwhile
        fsync_directory(os.path.dirname(jpath))
    finally:
        os.close(fd)
    return outcome


def _failed(path: str, jpath: str, exc: OSError) -> MoveRecovery:
    return MoveRecovery(
        False,
        f"Recovering {path} failed ({exc.strerror or _reason(exc)}); its journal {jpath} was "
        "kept: nothing more was written. Free the cause and run mmhex recover on it again.",
        kept=True,
    )


def _recover_v2(
    path: str,
    jpath: str,
    fd: int,
    jfd: int,
    jst: os.stat_result,
    st: os.stat_result,
    checkpoint: Callable[[str], None] | None,
) -> MoveRecovery | None:
    try:
        header = read_header(jfd)
    except ValueError:
        # Killed while writing the journal: the file was not touched yet.
        return MoveRecovery(False, f"An interrupted save of {path} had not changed it.")
    if header.inode != (st.st_dev, st.st_ino):
        return None
    mp = header.mp
    slot = read_slots(jfd, mp)
    unchanged = MoveRecovery(False, f"An interrupted save of {path} had not changed it.")
    if slot is None:
        if st.st_size > mp.plan.old_size:
            os.ftruncate(fd, mp.plan.old_size)  # the growth only
            os.fsync(fd)
        return unchanged
    # Records are appended from here on: the journal is reopened for writing (the same file
    # that passed open_trusted's checks).
    wfd = os.open(jpath, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        if (os.fstat(wfd).st_dev, os.fstat(wfd).st_ino) != (jst.st_dev, jst.st_ino):
            raise OSError(errno.EIO, "the journal was replaced during recovery")
        run = _Run(fd, wfd, mp, slot.counter)
        quiet = checkpoint or (lambda _name: None)
        run.look()  # the file now: true for the steps after the one in progress
        if slot.phase == FORWARD:
            step = mp.moves[slot.step]
            run.forward(slot.step, None, quiet, run.rebuild(step, slot))
        elif slot.phase == FORWARD_HOLE:
            run.forward(slot.step, None, quiet, hole=True)
        elif slot.phase == REVERSE_HOLE:
            run.reverse(slot.cancel_at, slot.step, quiet, hole=True)
        elif slot.phase == WRITES:
            run.redo_writes(None, quiet)
            run.finish_size(mp.plan.final_size)
        elif slot.phase == REVERSE:
            step = mp.moves[slot.cancel_at - 1 - slot.step].reversed()
            run.reverse(slot.cancel_at, slot.step, quiet, run.rebuild(step, slot))
        elif slot.phase == RESTORE:
            run.restore_lost(slot.cancel_at)
        else:
            raise OSError(errno.EIO, "the journal's record is of an unknown kind")
    except OSError as exc:
        return _failed(path, jpath, exc)
    finally:
        os.close(wfd)
    if slot.phase in (FORWARD, FORWARD_HOLE, WRITES):
        return MoveRecovery(
            True, f"An interrupted save of {path} was completed: the file holds the saved version."
        )
    return MoveRecovery(
        False, f"An interrupted save of {path} was rolled back: the file is as it was before."
    )


# ---------------------------------------------------------------------- previous version
# Journals of the previous version: an undo log of every overwritten chunk (magic MMHEXMOV).
_HEAD_V1 = struct.Struct("<8sQQQQ32s")  # magic, old size, new size, device, inode, plan digest
_REC_V1 = struct.Struct("<cQQ")  # kind, offset, length; then the old bytes, then a CRC-32
_DIGEST_V1 = 32
RANGE_V1 = b"R"
COMPLETE_V1 = b"K"


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


def scan_v1(jfd: int) -> Parsed:
    """A previous version's journal: header and whole records (ValueError: header not whole)."""
    end = _HEAD_V1.size + _DIGEST_V1
    head = os.pread(jfd, end, 0)
    if len(head) < end or hashlib.sha256(head[: _HEAD_V1.size]).digest() != head[_HEAD_V1.size :]:
        raise ValueError("the journal header is cut short or damaged")
    magic, old, new, dev, ino, _digest = _HEAD_V1.unpack_from(head)
    if magic != MAGIC_V1:
        raise ValueError("not an mmhex move journal")
    size = os.fstat(jfd).st_size
    records: list[Record] = []
    complete = False
    pos = end
    while pos + _REC_V1.size + _CRC.size <= size:
        rec = os.pread(jfd, _REC_V1.size, pos)
        kind, offset, length = _REC_V1.unpack(rec)
        body_end = pos + _REC_V1.size + length
        outside = length and offset + length > old
        if kind not in (RANGE_V1, COMPLETE_V1) or body_end + _CRC.size > size or outside:
            break
        crc = zlib.crc32(rec)
        at = pos + _REC_V1.size
        while at < body_end:
            piece = os.pread(jfd, min(CHUNK, body_end - at), at)
            if not piece:
                break
            crc = zlib.crc32(piece, crc)
            at += len(piece)
        if at != body_end or crc != _CRC.unpack(os.pread(jfd, _CRC.size, body_end))[0]:
            break
        if kind == COMPLETE_V1:
            complete = True
            break
        records.append(Record(offset, pos + _REC_V1.size, length))
        pos = body_end + _CRC.size
    return Parsed(old, new, (dev, ino), records, complete)


def _restore_v1(fd: int, jfd: int, records: list[Record], old_size: int) -> None:
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


def _recover_v1(path: str, fd: int, jfd: int, st: os.stat_result) -> MoveRecovery | None:
    try:
        parsed = scan_v1(jfd)
    except ValueError:
        return MoveRecovery(False, f"An interrupted save of {path} had not changed it.")
    if parsed.inode != (st.st_dev, st.st_ino):
        return None
    if parsed.complete:
        os.ftruncate(fd, parsed.new_size)
        os.fsync(fd)
        return MoveRecovery(
            True, f"An interrupted save of {path} had completed: the file holds the saved version."
        )
    _restore_v1(fd, jfd, parsed.records, parsed.old_size)
    return MoveRecovery(
        False, f"An interrupted save of {path} was rolled back: the file is as it was before."
    )


def step_count(plan: LayoutPlan, chunk: int = CHUNK) -> int:
    """How many move steps ``plan`` takes (without listing them)."""
    return sum(-(-move.length // step_length(move.shift, chunk)) for move in plan.moves)


def too_scattered(plan: LayoutPlan, chunk: int = CHUNK) -> bool:
    """Whether the moves are so many and so small that their steps' records and flushes would
    cost more than copying the file: more than 1,024 steps averaging under 1 MiB (10^6
    scattered inserts into 4 GiB make 10^6 steps of 4 KiB, each a record and two flushes)."""
    steps = step_count(plan, chunk)
    return steps > max(1024, plan.moved_bytes >> 20)


def prefer_in_place(plan: LayoutPlan, st: os.stat_result, folder: str, copy_needs: int) -> bool:
    """Whether a same-file save of a regular file moves the tail in place (the default, see the
    module docstring) rather than copying and renaming.

    A file with other hard links always saves in place: a rename would cut it off from them.
    Otherwise the copy is taken only when the free space holds a copy (``copy_needs``) but not
    the growth and this journal (a delete whose overwritten bytes, kept for Cancel, outgrow the
    copy), or when the moves are too scattered (see too_scattered) and the copy fits.
    """
    if st.st_nlink > 1:
        return True
    free = free_bytes(folder)
    copy_fits = free is None or free >= copy_needs
    if copy_fits and too_scattered(plan):
        return False
    if free is None:
        return True
    return free >= space_needed_in(folder, plan) or not copy_fits

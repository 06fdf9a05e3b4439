"""Edit values and the edit log: what the user typed, kept apart from the pages that show it.

An ``Edit`` knows its old and new bytes, so it inverts itself: undo/redo (Qt's QUndoStack in the
UI) only ever applies an edit or its inverse. The ``EditLog`` is the net result of every edit since
the last save, with the bytes the file had before; it is the source of truth for saving, because
the private pages that display the edits can be thrown away by the kernel when another program
truncates the file. Nothing here touches a file or imports Qt.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mmhex.core.errors import MmhexError

# Consecutive typing merges into one undo step only up to this size, so a single undo never
# swallows a long session of typing.
MAX_COALESCED_BYTES = 4096

_HEX_DIGITS = re.compile(r"[0-9a-fA-F]*")


class HexSyntaxError(MmhexError, ValueError):
    """Text that is not a sequence of hex bytes; str says what is wrong."""


def parse_hex_bytes(text: str) -> bytes:
    """Bytes from hex digits, with optional whitespace anywhere (for paste and `mmhex patch`)."""
    digits = "".join(text.split())
    if not digits:
        raise HexSyntaxError("no bytes given (expected hex digits such as 'deadbeef')")
    if not _HEX_DIGITS.fullmatch(digits):
        bad = next(c for c in digits if c not in "0123456789abcdefABCDEF")
        raise HexSyntaxError(f"{bad!r} is not a hex digit in {text.strip()!r}")
    if len(digits) % 2:
        raise HexSyntaxError(
            f"{text.strip()!r} has an odd number of hex digits ({len(digits)}); each byte needs two"
        )
    return bytes.fromhex(digits)


@dataclass(frozen=True)
class Edit:
    """Bytes ``old`` at ``offset`` replaced by ``new`` (same length: overwrite only)."""

    offset: int
    old: bytes
    new: bytes

    def __post_init__(self) -> None:
        if len(self.old) != len(self.new):
            raise ValueError("an edit overwrites: old and new must have the same length")
        if self.offset < 0:
            raise ValueError("an edit's offset cannot be negative")

    @property
    def end(self) -> int:
        return self.offset + len(self.new)

    def __len__(self) -> int:
        return len(self.new)

    def inverse(self) -> Edit:
        """The edit that undoes this one."""
        return Edit(self.offset, self.new, self.old)

    def then(self, later: Edit) -> Edit | None:
        """One edit with the effect of this one followed by ``later``; None unless they touch.

        Where the two overlap, the old bytes are this edit's (they were there first) and the new
        bytes are ``later``'s (they were written last).
        """
        if later.offset > self.end or later.end < self.offset:
            return None
        start = min(self.offset, later.offset)
        end = max(self.end, later.end)
        old = bytearray(end - start)
        old[later.offset - start : later.end - start] = later.old
        old[self.offset - start : self.end - start] = self.old
        new = bytearray(end - start)
        new[self.offset - start : self.end - start] = self.new
        new[later.offset - start : later.end - start] = later.new
        return Edit(start, bytes(old), bytes(new))


def coalesce(previous: Edit, later: Edit, *, limit: int = MAX_COALESCED_BYTES) -> Edit | None:
    """Merge ``later`` into ``previous`` when it continues the same run of typing, else None.

    Typing continues a run when the new edit starts inside the previous one (the second nibble of
    a hex digit pair, overtyping the same byte again) or exactly at its end (the next character).
    Jumping elsewhere or moving backwards starts a new undo step, as does passing ``limit`` bytes.
    The UI decides which edits are typing at all (a paste or a fill never merges).
    """
    if not previous.offset <= later.offset <= previous.end:
        return None
    if max(previous.end, later.end) - previous.offset > limit:
        return None
    return previous.then(later)


# The log tracks which fixed-size chunks of the file differ from the file as saved, so "is it
# clean again?" costs a comparison of the chunks an edit touched, never of the whole run.
DIFF_CHUNK = 4096


@dataclass
class Segment:
    """A run of bytes touched since the last save: what the file has, and what the user sees."""

    start: int
    original: bytearray
    current: bytearray
    # Absolute chunk numbers (offset // chunk size) holding a byte where current != original;
    # empty means the run is back to clean.
    differing: set[int]

    @property
    def end(self) -> int:
        return self.start + len(self.current)


class EditLog:
    """The net effect of all edits since the last save, as sorted, disjoint, non-touching runs.

    ``record`` costs time proportional to the edit plus the runs it joins, never the file size.
    A run whose chunks all equal the file's again (typed back, or undone to the saved state) is
    dropped, so ``modified`` is exactly "some byte differs from the file as last saved".
    """

    def __init__(self, *, chunk_size: int = DIFF_CHUNK) -> None:
        self.chunk_size = chunk_size
        self._starts: list[int] = []
        self._segments: dict[int, Segment] = {}

    # ----------------------------------------------------------------- changes
    def record(self, edit: Edit) -> None:
        """Add ``edit``; ``edit.old`` must be what the document showed in that range."""
        if not edit.new:
            return
        first = bisect.bisect_left(self._starts, edit.offset)
        if first > 0 and self._segments[self._starts[first - 1]].end >= edit.offset:
            first -= 1
        last = first
        while last < len(self._starts) and self._starts[last] <= edit.end:
            last += 1
        touched = [self._segments[s] for s in self._starts[first:last]]
        if len(touched) == 1 and touched[0].start <= edit.offset and edit.end <= touched[0].end:
            segment = touched[0]  # inside one run: overwrite in place, cost = the edit
        elif len(touched) == 1 and touched[0].end == edit.offset:
            segment = touched[0]  # typing on at the end of a run: extend in place
            segment.original += edit.old
            segment.current += edit.old
        else:
            segment = self._join(touched, edit)
            for start in self._starts[first:last]:
                del self._segments[start]
            self._starts[first:last] = [segment.start]
            self._segments[segment.start] = segment
        lo = edit.offset - segment.start
        segment.current[lo : lo + len(edit.new)] = edit.new
        self._recount(segment, edit.offset, edit.end)
        if not segment.differing:
            index = bisect.bisect_left(self._starts, segment.start)
            del self._starts[index]
            del self._segments[segment.start]

    def _recount(self, segment: Segment, start: int, end: int) -> None:
        """Re-compare the chunks of ``segment`` that ``[start, end)`` touches."""
        size = self.chunk_size
        original, current = segment.original, segment.current
        for chunk in range(start // size, (end - 1) // size + 1):
            lo = max(chunk * size, segment.start) - segment.start
            hi = min((chunk + 1) * size, segment.end) - segment.start
            if current[lo:hi] == original[lo:hi]:
                segment.differing.discard(chunk)
            else:
                segment.differing.add(chunk)

    @staticmethod
    def _join(touched: list[Segment], edit: Edit) -> Segment:
        """One run covering ``edit`` and every run it overlaps or touches (before applying it)."""
        if not touched:
            return Segment(edit.offset, bytearray(edit.old), bytearray(edit.old), set())
        start = min(edit.offset, touched[0].start)
        end = max(edit.end, touched[-1].end)
        original = bytearray(end - start)
        current = bytearray(end - start)
        # Bytes of the edit's range outside any run are unmodified: the file has what was shown.
        original[edit.offset - start : edit.end - start] = edit.old
        current[edit.offset - start : edit.end - start] = edit.old
        differing: set[int] = set()
        for segment in touched:
            original[segment.start - start : segment.end - start] = segment.original
            current[segment.start - start : segment.end - start] = segment.current
            differing |= segment.differing
        return Segment(start, original, current, differing)

    def clear(self) -> None:
        """Forget everything (after a save or a revert: the file now has what is shown)."""
        self._starts.clear()
        self._segments.clear()

    # ----------------------------------------------------------------- queries
    @property
    def modified(self) -> bool:
        return bool(self._starts)

    def __len__(self) -> int:
        return len(self._starts)

    def segments(self) -> list[Segment]:
        """The runs in offset order (live objects: do not change them)."""
        return [self._segments[s] for s in self._starts]

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments())

    def dirty_ranges(self) -> list[tuple[int, int]]:
        """``(start, end)`` of every run holding unsaved bytes, sorted, disjoint, not touching."""
        return [(s, self._segments[s].end) for s in self._starts]

    def dirty_ranges_in(self, start: int, end: int) -> list[tuple[int, int]]:
        """The dirty ranges overlapping ``[start, end)``, clipped to it (for highlighting rows)."""
        return [
            (max(start, segment.start), min(end, segment.end))
            for segment in self.segments_in(start, end)
        ]

    def segments_in(self, start: int, end: int) -> list[Segment]:
        """The runs overlapping ``[start, end)``, in order (live objects: do not change them)."""
        if end <= start:
            return []
        index = bisect.bisect_right(self._starts, start)
        if index > 0 and self._segments[self._starts[index - 1]].end > start:
            index -= 1
        found: list[Segment] = []
        while index < len(self._starts) and self._starts[index] < end:
            found.append(self._segments[self._starts[index]])
            index += 1
        return found

    def overlay(self, start: int, data: bytearray) -> None:
        """Write the edited bytes of ``[start, start + len(data))`` over ``data`` (the file's)."""
        end = start + len(data)
        for segment in self.segments_in(start, end):
            lo, hi = max(start, segment.start), min(end, segment.end)
            data[lo - start : hi - start] = segment.current[lo - segment.start : hi - segment.start]

    def is_dirty(self, offset: int) -> bool:
        return bool(self.dirty_ranges_in(offset, offset + 1))

    @property
    def dirty_bytes(self) -> int:
        """Bytes in dirty ranges (what a save writes)."""
        return sum(len(s.current) for s in self._segments.values())

    @property
    def end(self) -> int:
        """One past the last dirty byte (0 when clean)."""
        return self._segments[self._starts[-1]].end if self._starts else 0

    def patches(self) -> list[tuple[int, bytes]]:
        """``(offset, new bytes)`` of every dirty range, in offset order: what a save writes."""
        return [(s, bytes(self._segments[s].current)) for s in self._starts]


def page_ranges(ranges: Iterable[tuple[int, int]], page_size: int) -> list[tuple[int, int]]:
    """Byte ranges widened to whole pages, then merged where they overlap or touch.

    ``msync`` needs a page-aligned start, and one msync over a merged range beats one per page.
    The end of the last page is not clipped to the file size here: the caller knows the size.
    """
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if end <= start:
            continue
        lo = start - start % page_size
        hi = -(-end // page_size) * page_size
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _count(n: int) -> str:
    """'4 bytes', '1.0 GiB' — sizes in history texts."""
    if n >= 1 << 30:
        return f"{n / (1 << 30):.1f} GiB"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.1f} MiB"
    return f"{n:,} byte{'s' if n != 1 else ''}"


def _offset(offset: int) -> str:
    """0x4000_0000 style, as in the history texts the issue asks for."""
    return f"0x{offset:_x}"


@dataclass(frozen=True)
class Splice:
    """The pieces ``removed`` at ``offset`` replaced by ``inserted``: insert, delete, resize.

    Pieces are ``(source, start, length)`` values (core/pieces.py) pointing into sources that
    never change under them (the file's bytes, the append-only add-buffer, fill patterns), so
    a splice holds no bytes and inverts itself by swapping its two sides.

    ``epoch`` counts the document's re-laid-out saves when the splice was made: its ORIGINAL
    pieces mean the file as it was then, which the document translates after a later save.
    """

    offset: int
    removed: tuple[tuple[int, int, int], ...]
    inserted: tuple[tuple[int, int, int], ...]
    epoch: int = 0

    @property
    def removed_length(self) -> int:
        return sum(p[2] for p in self.removed)

    @property
    def inserted_length(self) -> int:
        return sum(p[2] for p in self.inserted)

    @property
    def end(self) -> int:
        return self.offset + max(self.removed_length, self.inserted_length)

    def __len__(self) -> int:
        return max(self.removed_length, self.inserted_length)

    def inverse(self) -> Splice:
        return Splice(self.offset, self.inserted, self.removed, self.epoch)

    def describe(self) -> str:
        """'Insert 4 bytes at 0x10', 'Delete 1.0 GiB at 0x4000_0000', 'Replace ...'."""
        removed, inserted = self.removed_length, self.inserted_length
        at = _offset(self.offset)
        if not removed:
            return f"Insert {_count(inserted)} at {at}"
        if not inserted:
            return f"Delete {_count(removed)} at {at}"
        if removed == inserted:
            return f"Overwrite {_count(removed)} at {at}"
        return f"Replace {_count(removed)} by {_count(inserted)} at {at}"


@dataclass(frozen=True)
class Batch:
    """Many edits made as one step (Replace all): applied in order, undone in reverse."""

    edits: tuple[Edit | Splice, ...]

    @property
    def offset(self) -> int:
        return min((e.offset for e in self.edits), default=0)

    def __len__(self) -> int:
        return sum(len(e) for e in self.edits)

    def inverse(self) -> Batch:
        return Batch(tuple(e.inverse() for e in reversed(self.edits)))


AnyEdit = Edit | Splice | Batch

"""Row layout: which document bytes, or which separator, each row of the grid shows.

A file is rows of ``bytes_per_row`` bytes end to end (LinearLayout: plain arithmetic, nothing
stored). A process's readable regions are *segments*: each starts on a row of its own (its first
row shows its real start address; a short last row is padded on screen, never in offsets), and a
segment that follows a gap gets one separator row above it carrying a note. Rows and offsets are
exact Python ints (2^40 rows and more); every lookup is O(log segments). Never imports Qt.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Segment:
    """``length`` bytes from document offset ``start``; ``note`` asks for a separator row above."""

    start: int
    length: int
    note: str | None = None


@dataclass(frozen=True)
class Row:
    """One grid row: ``length`` bytes from ``offset``, or a separator (length 0, a note) whose
    ``offset`` is the first byte of the segment below it."""

    offset: int
    length: int
    note: str | None = None

    @property
    def is_separator(self) -> bool:
        return self.note is not None

    @property
    def end(self) -> int:
        return self.offset + self.length


class RowLayout(Protocol):
    """What the model and the view ask of a layout (LinearLayout, SegmentedLayout)."""

    bytes_per_row: int
    size: int
    total_rows: int
    longest_note: int

    def row(self, index: int) -> Row: ...
    def row_of(self, offset: int) -> int: ...
    def column_of(self, offset: int) -> int: ...


def rows(layout: RowLayout, top: int, count: int) -> list[Row]:
    """Rows ``top .. top+count-1`` that exist."""
    return [layout.row(index) for index in range(max(0, top), min(top + count, layout.total_rows))]


def span(layout: RowLayout, top: int, count: int) -> tuple[int, int]:
    """The document bytes ``[start, end)`` shown by rows ``top .. top+count-1``."""
    if count <= 0 or top >= layout.total_rows:
        return layout.size, layout.size
    first = layout.row(max(top, 0)).offset
    last_index = top + count - 1
    end = layout.size if last_index >= layout.total_rows - 1 else layout.row(last_index).end
    return first, end


def move_rows(layout: RowLayout, offset: int, count: int) -> int:
    """``offset`` moved ``count`` rows down (up when negative), keeping its column (clamped to a
    short row's last byte) and stepping over a separator; past either end: the first or last
    byte, as when an offset is clamped."""
    if layout.size == 0:
        return 0
    column = layout.column_of(offset)
    target = layout.row_of(offset) + count
    row = None
    if 0 <= target < layout.total_rows:
        row = layout.row(target)
        if row.is_separator:
            target += 1 if count > 0 else -1
            row = layout.row(target) if 0 <= target < layout.total_rows else None
    if row is None:
        return 0 if target < 0 else layout.size - 1
    return row.offset + min(column, row.length - 1)


class LinearLayout:
    """A file: row ``r`` holds bytes ``r*bytes_per_row ..``; the last row may be short."""

    def __init__(self, size: int, bytes_per_row: int) -> None:
        self.size = size
        self.bytes_per_row = bytes_per_row
        self.total_rows = -(-size // bytes_per_row)
        self.longest_note = 0

    def row(self, index: int) -> Row:
        offset = index * self.bytes_per_row
        return Row(offset, min(self.bytes_per_row, self.size - offset))

    def row_of(self, offset: int) -> int:
        return min(max(offset, 0), max(self.size - 1, 0)) // self.bytes_per_row

    def column_of(self, offset: int) -> int:
        return min(max(offset, 0), max(self.size - 1, 0)) % self.bytes_per_row


class SegmentedLayout:
    """Segments laid end to end in document offsets, each starting a row (see module docstring).

    ``segments`` must cover ``0 .. size`` in order without overlap; empty ones are dropped (a
    note on an empty segment moves to the next one).
    """

    def __init__(self, segments: Sequence[Segment], bytes_per_row: int) -> None:
        self.bytes_per_row = bytes_per_row
        self._starts: list[int] = []
        self._lengths: list[int] = []
        self._notes: list[str | None] = []
        self._first_rows: list[int] = []  # row of each segment's first byte
        expected = 0
        carried: str | None = None
        row = 0
        for segment in segments:
            if segment.start != expected or segment.length < 0:
                raise ValueError(
                    f"segments must be contiguous from offset 0: {segment} after offset {expected}"
                )
            note = segment.note if segment.note is not None else carried
            if segment.length == 0:
                carried = note
                continue
            carried = None
            if note is not None:
                row += 1
            self._starts.append(segment.start)
            self._lengths.append(segment.length)
            self._notes.append(note)
            self._first_rows.append(row)
            row += -(-segment.length // bytes_per_row)
            expected += segment.length
        self.size = expected
        self.total_rows = row
        # The widest separator note (the view makes room to scroll to its end).
        self.longest_note = max((len(note) for note in self._notes if note is not None), default=0)

    @property
    def separator_count(self) -> int:
        return sum(note is not None for note in self._notes)

    def _segment_of(self, offset: int) -> int:
        return max(bisect.bisect_right(self._starts, offset) - 1, 0)

    def row(self, index: int) -> Row:
        segment = bisect.bisect_right(self._first_rows, index) - 1
        if segment >= 0:
            within = index - self._first_rows[segment]
            start, length = self._starts[segment], self._lengths[segment]
            if within * self.bytes_per_row < length:
                offset = start + within * self.bytes_per_row
                return Row(offset, min(self.bytes_per_row, start + length - offset))
        # The row above segment + 1's first row: its separator.
        below = segment + 1
        return Row(self._starts[below], 0, self._notes[below])

    def row_of(self, offset: int) -> int:
        if not self._starts:
            return 0
        offset = min(max(offset, 0), self.size - 1)
        segment = self._segment_of(offset)
        return self._first_rows[segment] + (offset - self._starts[segment]) // self.bytes_per_row

    def column_of(self, offset: int) -> int:
        if not self._starts:
            return 0
        offset = min(max(offset, 0), self.size - 1)
        return (offset - self._starts[self._segment_of(offset)]) % self.bytes_per_row

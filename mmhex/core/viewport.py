"""Viewport maths: a 64-bit row space shown through a 32-bit scrollbar, and row/offset geometry.

Qt's scrollbar and item-model rows are 32-bit; a 16 TiB file has 2^40 rows. The top row is kept
as an exact Python int; the scrollbar is only a proportion of the row space when it must be.
"""

from __future__ import annotations

from dataclasses import dataclass

# Largest slider range we use; below QScrollBar's 2^31-1 so page steps cannot overflow.
SCROLL_STEPS = 1 << 30


def row_count(size: int, bytes_per_row: int) -> int:
    """Rows needed for ``size`` bytes (the last row may be partial)."""
    return -(-size // bytes_per_row)


def offset_digits(size: int, base: int = 16) -> int:
    """Digits in the offset column: at least 8, enough for the largest offset of the file."""
    largest = max(size - 1, 0)
    digits = len(f"{largest:x}") if base == 16 else len(str(largest))
    return max(8, digits)


@dataclass(frozen=True)
class RowSpace:
    """Rows ``0 .. total_rows-1`` of which ``visible_rows`` fit on screen."""

    total_rows: int
    visible_rows: int

    @property
    def max_top(self) -> int:
        return max(0, self.total_rows - self.visible_rows)

    @property
    def exact(self) -> bool:
        """True when each slider step is one row."""
        return self.max_top <= SCROLL_STEPS

    @property
    def slider_maximum(self) -> int:
        return self.max_top if self.exact else SCROLL_STEPS

    def clamp_top(self, top: int) -> int:
        return min(max(0, top), self.max_top)

    def top_for_slider(self, value: int) -> int:
        """The top row a slider position stands for; maximum maps to the very last page."""
        value = min(max(0, value), self.slider_maximum)
        if self.exact:
            return value
        return value * self.max_top // SCROLL_STEPS

    def slider_for_top(self, top: int) -> int:
        """The slider position closest to ``top`` (rounded, so end stays at maximum)."""
        top = self.clamp_top(top)
        if self.exact:
            return top
        return (top * SCROLL_STEPS + self.max_top // 2) // self.max_top

    def top_to_show(self, row: int, top: int) -> int:
        """The smallest scroll from ``top`` that brings ``row`` into view."""
        if row < top:
            return self.clamp_top(row)
        if row >= top + self.visible_rows:
            return self.clamp_top(row - self.visible_rows + 1)
        return top

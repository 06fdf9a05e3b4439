"""A residency map as one image: built once per snapshot, drawn with one call per paint.

The panel used to fill every cell with its own ``fillRect`` on every paint (574k calls over 500
scroll steps; a one-row scroll 3.2x slower with the panel shown). Now a snapshot's buckets become
ARGB32 pixel rows once: each distinct cell state is coloured once (by ``cell_color``, the one
definition of the colours) and each row of cells is one ``bytes.join``, repeated for the cell's
height. A few thousand cells take a few milliseconds, only when the snapshot changes. (numpy was
measured too: the same speed here, but its import cost 60-230 ms of the window's start-up.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Hashable, Iterable
from itertools import repeat
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QImage

from mmhex.core.residency import PageCounts

if TYPE_CHECKING:
    from mmhex.core.residency import Buckets

OPAQUE = 0xFF000000
_TRANSPARENT = bytes(4)

# (counts, private, touched) -> 0xRRGGBB
ColorRule = Callable[[PageCounts, int, int], int]


def argb_per_state(states: Iterable[Hashable], rule: Callable[[Any], int]) -> list[int]:
    """One opaque 0xAARRGGBB per state; ``rule(state) -> 0xRRGGBB`` runs once per distinct one."""
    memo: dict[Hashable, int] = {}
    out: list[int] = []
    for state in states:
        value = memo.get(state)
        if value is None:
            value = memo[state] = OPAQUE | (rule(state) & 0xFFFFFF)
        out.append(value)
    return out


def cell_argb(buckets: Buckets, rule: ColorRule) -> list[int]:
    """One 0xAARRGGBB value per bucket; ``rule(counts, private, touched)`` runs once per state."""
    count = len(buckets)
    layout = buckets.layout
    memo: dict[tuple[object, ...], int] = {}
    out: list[int] = []
    none = repeat(None, count)
    zeros = repeat(0, count)
    for index, resident, dirty, writeback, private, touched in zip(
        range(count),
        buckets.resident if buckets.resident is not None else none,
        buckets.dirty if buckets.dirty is not None else repeat(None, count),
        buckets.writeback if buckets.writeback is not None else repeat(None, count),
        buckets.private if buckets.private is not None else zeros,
        buckets.touched if buckets.touched is not None else repeat(0, count),
        strict=False,
    ):
        pages = layout.bucket_pages if index < count - 1 else layout.page_count(index)
        key = (pages, resident, dirty, writeback, private, touched)
        value = memo.get(key)
        if value is None:
            counts = PageCounts(pages, resident, dirty, writeback)
            value = memo[key] = OPAQUE | (rule(counts, private, touched) & 0xFFFFFF)
        out.append(value)
    return out


def grid_image(
    argb: list[int], recent: tuple[int, ...] | None, columns: int, cell: int, stripe: int
) -> tuple[QImage, bytes]:
    """The cells laid out ``columns`` to a row, ``cell`` px squares one px apart (transparent).

    ``recent`` (truthy per cell, or None) paints the lower quarter of a cell in ``stripe``
    (0xRRGGBB): recently evicted pages of a file, soft-dirty pages of a process. Returns the
    image and the bytes that hold its pixels (keep both alive together).
    """
    order = sys.byteorder  # Format_ARGB32 stores each pixel as a native-endian 0xAARRGGBB
    pitch = cell + 1
    rows = max(1, -(-len(argb) // columns))
    width = columns * pitch
    blocks = {value: value.to_bytes(4, order) * cell + _TRANSPARENT for value in set(argb)}
    blank = _TRANSPARENT * pitch
    stripe_block = (OPAQUE | stripe).to_bytes(4, order) * cell + _TRANSPARENT
    stripe_rows = max(1, cell // 4)
    gap_row = _TRANSPARENT * width
    lines: list[bytes] = []
    for row in range(rows):
        first = row * columns
        cells = argb[first : first + columns]
        padding = blank * (columns - len(cells))
        body = b"".join([blocks[value] for value in cells]) + padding
        marks = recent[first : first + len(cells)] if recent is not None else ()
        if any(marks):
            lower = (
                b"".join(
                    [
                        stripe_block if mark else blocks[value]
                        for value, mark in zip(cells, marks, strict=True)
                    ]
                )
                + padding
            )
            lines += [body] * (cell - stripe_rows) + [lower] * stripe_rows
        else:
            lines += [body] * cell
        lines.append(gap_row)
    pixels = b"".join(lines)
    image = QImage(
        pixels, width, rows * pitch, width * 4, QImage.Format.Format_ARGB32_Premultiplied
    )
    return image, pixels

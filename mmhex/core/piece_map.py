"""Document offsets ↔ file offsets through the piece table (scans, compare, the overview bar).

Once bytes are inserted or deleted, document offset ``d`` no longer is file offset ``d``. Every
ORIGINAL piece is still a run of the file, in file order, so whatever is known about the file by
file offset (its holes, extents, cached or private pages) holds for that piece shifted to where
the piece sits in the document; ADD pieces live in anonymous memory and FILL pieces are a pattern
repeated (zeros when the pattern is all zero bytes). This module is the one place that does that
translation; an unedited document (or a bare MappedFile) is one FILE part with no shift.
Never imports Qt.
"""

from __future__ import annotations

import bisect
import contextlib
import enum
import itertools
import threading
from collections import namedtuple

TYPE_CHECKING = False  # typing costs start-up time on the command line's path (dump, find)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

Range = tuple[int, int]


class Origin(enum.Enum):
    FILE = "file"  # bytes of the file (``at`` is the file offset)
    ADD = "add"  # inserted bytes in the add-buffer (``at`` is the buffer offset)
    FILL = "fill"  # ``pattern`` repeated (``at`` is the phase into it)


class Part(namedtuple("Part", "start end origin at pattern", defaults=(b"",))):
    """Document bytes ``[start, end)`` and where they come from (an ``Origin``; ``at`` is the
    file offset, add-buffer offset or fill phase; ``pattern`` a fill's)."""

    __slots__ = ()

    @property
    def shift(self) -> int:
        """Document offset minus file offset (FILE parts)."""
        return self.start - self.at

    @property
    def zeros(self) -> bool:
        """Whether every byte of the part is zero without reading it (a fill of zeros)."""
        return self.origin is Origin.FILL and not any(self.pattern)


def document_of(source: Any) -> Any | None:
    """The Document behind ``source`` when its layout changed (inserts/deletes), else None.

    ``source`` may be a Document, the PieceScanView of one, a MappedFile or anything else.
    """
    document = getattr(source, "document", None)  # a PieceScanView
    if document is None and hasattr(source, "table"):
        document = source
    if document is None or not getattr(document, "layout_changed", False):
        return None
    return document


def parts(source: Any, lo: int, hi: int) -> list[Part]:
    """``[lo, hi)`` of ``source`` cut at piece boundaries, each part with its origin."""
    if lo >= hi:
        return []
    document = document_of(source)
    if document is None:
        return [Part(lo, hi, Origin.FILE, lo)]
    memo = getattr(_memo, "parts", None)
    key = (id(document), lo, hi)
    if memo is not None and key in memo:
        return memo[key]
    from mmhex.core.pieces import ADD, ORIGINAL

    with document._lock:
        if lo == 0 and hi >= document.size:  # the whole document: the table's columns
            sources, starts, lengths = document.table.columns()
            ends = list(itertools.accumulate(lengths))
            positions = [0, *ends[:-1]]
        else:
            pieces = document.pieces_in(lo, hi)
            positions = [pos for pos, _piece in pieces]
            sources = [piece.source for _pos, piece in pieces]
            starts = [piece.start for _pos, piece in pieces]
            lengths = [piece.length for _pos, piece in pieces]
            ends = [pos + n for pos, n in zip(positions, lengths, strict=True)]
        file, add, fill = Origin.FILE, Origin.ADD, Origin.FILL
        out = [
            Part(pos, end, file, at)
            if source == ORIGINAL
            else Part(pos, end, add, at)
            if source == ADD
            else Part(pos, end, fill, at, document.fill_pattern(source))
            for pos, end, source, at in zip(positions, ends, sources, starts, strict=True)
        ]
    if memo is not None:
        memo[key] = out
    return out


_memo = threading.local()


@contextlib.contextmanager
def remembering() -> Iterator[None]:
    """Within the block, ``parts`` of one range is walked once in this thread (one overview
    layer asks for it several times; 10^5 pieces cost a tenth of a second a walk)."""
    _memo.parts = {}
    try:
        yield
    finally:
        _memo.parts = None


def file_parts(source: Any, lo: int, hi: int) -> list[Part]:
    """The FILE parts of ``[lo, hi)`` (in document order, which is also file order)."""
    return [p for p in parts(source, lo, hi) if p.origin is Origin.FILE]


def to_document(
    source: Any, ranges: list[Range] | tuple[Range, ...], lo: int = 0, hi: int | None = None
) -> list[Range]:
    """Sorted disjoint file ``ranges`` as document ranges within ``[lo, hi)``.

    File bytes that were deleted drop out; a range split by an insert comes out in two.
    """
    hi = source.size if hi is None else hi
    if document_of(source) is None:
        return [(max(s, lo), min(e, hi)) for s, e in ranges if s < hi and e > lo]
    out: list[Range] = []
    ends = [e for _s, e in ranges]
    for part in file_parts(source, lo, hi):
        f0, f1 = part.at, part.at + part.end - part.start
        index = bisect.bisect_right(ends, f0)
        while index < len(ranges) and ranges[index][0] < f1:
            s, e = max(ranges[index][0], f0), min(ranges[index][1], f1)
            if s < e:
                start, end = s + part.shift, e + part.shift
                if out and out[-1][1] == start:
                    out[-1] = (out[-1][0], end)
                else:
                    out.append((start, end))
            index += 1
    return out


def not_in_file(source: Any, lo: int, hi: int) -> list[Range]:
    """Document ranges of ``[lo, hi)`` whose bytes are not the file's (inserted or filled)."""
    out: list[Range] = []
    for part in parts(source, lo, hi):
        if part.origin is Origin.FILE:
            continue
        if out and out[-1][1] == part.start:
            out[-1] = (out[-1][0], part.end)
        else:
            out.append((part.start, part.end))
    return out

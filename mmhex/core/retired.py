"""Undo across a re-laid-out save: what the history's pieces mean after the file's layout changed.

An undo step holds pieces ``(source, start, length)``. A save that inserted or deleted bytes
rewrites the file, and after it every byte shown lives in the new file at its document offset.
So each such save leaves a ``LayoutMap``: for each byte range the history still names, where it
lives now. File bytes of the old layout (ORIGINAL) and added bytes (ADD) that the saved
document showed are now the new file's bytes at their offsets — the same bytes, which later
edits change there, so an undo must find them there and nowhere else. File bytes the history
needs that the document did not show map to the old file kept open as a *retired* source (after
a copy-and-rename save its inode lives on while we hold it) or to copies in the add-buffer (an
in-place save overwrites them). Fill pieces never change, so they need no map. A step made
before several saves is sent through their maps in order. Pure range arithmetic: nothing here
reads or writes a file.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from mmhex.core.edits import AnyEdit, Batch, Splice
from mmhex.core.pieces import ORIGINAL, Piece

Range = tuple[int, int]


class Segment(NamedTuple):
    """Old-file bytes ``[lo, hi)`` now live in ``source`` from ``start``."""

    lo: int
    hi: int
    source: int
    start: int


class TranslationError(LookupError):
    """A piece of an old layout that no translation covers (its history was dropped)."""


class Translation:
    """Sorted, disjoint segments from one old file layout onto the sources of today."""

    def __init__(self, segments: Iterable[Segment]) -> None:
        self.segments = sorted(s for s in segments if s.hi > s.lo)
        self._los = [s.lo for s in self.segments]

    def __len__(self) -> int:
        return len(self.segments)

    def resolve(self, start: int, length: int, source: int | None = None) -> list[Piece]:
        """The pieces holding bytes ``[start, start + length)`` after the save.

        Bytes no segment covers stay ``(source, ...)`` as they were; with ``source`` None
        they must all be covered (TranslationError otherwise).
        """
        end = start + length
        k = max(bisect.bisect_right(self._los, start) - 1, 0)
        found: list[Piece] = []
        pos = start
        while pos < end:
            while k < len(self.segments) and self.segments[k].hi <= pos:
                k += 1
            segment = self.segments[k] if k < len(self.segments) else None
            if segment is None or segment.lo > pos:
                if source is None:
                    raise TranslationError(pos)
                gap = min(end, segment.lo if segment is not None else end) - pos
                found.append(Piece(source, pos, gap))
                pos += gap
                continue
            take = min(end, segment.hi) - pos
            found.append(Piece(segment.source, segment.start + (pos - segment.lo), take))
            pos += take
        return found

    def sources(self) -> set[int]:
        return {s.source for s in self.segments}


class LayoutMap:
    """One re-laid-out save: for each mutable source (ORIGINAL of the old layout, ADD), where
    the ranges the history names live after it."""

    def __init__(self, by_source: dict[int, Translation]) -> None:
        self.by_source = by_source

    def resolve(self, piece: Piece) -> list[Piece]:
        translation = self.by_source.get(piece.source)
        if piece.source == ORIGINAL:
            if translation is None:
                raise TranslationError(piece.start)
            return translation.resolve(piece.start, piece.length)
        if translation is None:
            return [piece]
        return translation.resolve(piece.start, piece.length, piece.source)

    def sources(self) -> set[int]:
        """Every source this map points into."""
        return {s for t in self.by_source.values() for s in t.sources()}


def through(pieces: Iterable[Piece], maps: Iterable[LayoutMap]) -> list[Piece]:
    """``pieces`` of an older layout sent through the maps of every save since, in order."""
    found = list(pieces)
    for layout in maps:
        found = [q for p in found for q in layout.resolve(p)]
    return found


def splices_of(history: Iterable[AnyEdit]) -> Iterator[Splice]:
    """Every Splice in ``history`` (Batches opened)."""
    for edit in history:
        if isinstance(edit, Splice):
            yield edit
        elif isinstance(edit, Batch):
            yield from splices_of(edit.edits)


def merged(ranges: Iterable[Range]) -> list[Range]:
    """Sorted, disjoint, non-touching union of ``ranges``."""
    out: list[Range] = []
    for lo, hi in sorted(r for r in ranges if r[1] > r[0]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def split(ranges: list[Range], by: list[Range]) -> tuple[list[Range], list[Range]]:
    """(parts of ``ranges`` inside ``by``, parts outside); both inputs merged and sorted."""
    inside: list[Range] = []
    outside: list[Range] = []
    k = 0
    for lo, hi in ranges:
        pos = lo
        while k < len(by) and by[k][1] <= pos:
            k += 1
        j = k
        while pos < hi:
            if j >= len(by) or by[j][0] >= hi:
                outside.append((pos, hi))
                break
            blo, bhi = by[j]
            if blo > pos:
                outside.append((pos, blo))
                pos = blo
            take = min(hi, bhi)
            inside.append((pos, take))
            pos = take
            j += 1
    return inside, outside


def ranges_by_source(pieces: Iterable[Piece], sources: Iterable[int]) -> dict[int, list[Range]]:
    """Merged ranges of ``pieces`` for each of ``sources``."""
    wanted = {source: [] for source in sources}  # type: dict[int, list[Range]]
    for piece in pieces:
        if piece.source in wanted:
            wanted[piece.source].append((piece.start, piece.start + piece.length))
    return {source: merged(r) for source, r in wanted.items()}


def epochs_of(history: Iterable[AnyEdit]) -> set[int]:
    """The layouts the history's splices were made in."""
    return {s.epoch for s in splices_of(history)}


def sources_of(history: Iterable[AnyEdit]) -> set[int]:
    """Every source id the history's splices name."""
    return {p[0] for s in splices_of(history) for p in (*s.removed, *s.inserted)}


def shown_at(pieces: Iterable[tuple[int, Piece]], source: int) -> list[Segment]:
    """Where the document shows ``source``'s bytes: ``Segment(lo, hi, ORIGINAL, offset)`` —
    after a save, the new file's bytes at that offset. Sorted by ``lo``: edits never show a
    byte of the file or of the add-buffer twice."""
    return sorted(
        Segment(p.start, p.start + p.length, ORIGINAL, pos)
        for pos, p in pieces
        if p.source == source
    )


def cover(ranges: list[Range], shown: list[Segment]) -> tuple[list[Segment], list[Range]]:
    """(segments of ``ranges`` the document shows, mapped to the new file; the ranges it does
    not show). ``ranges`` merged; ``shown`` sorted and disjoint."""
    inside, outside = split(ranges, [(s.lo, s.hi) for s in shown])
    los = [s.lo for s in shown]
    segments = []
    for lo, hi in inside:
        s = shown[bisect.bisect_right(los, lo) - 1]
        segments.append(Segment(lo, hi, ORIGINAL, s.start + (lo - s.lo)))
    return segments, outside

"""Undo across a re-laid-out save: what the history's pieces of an older file layout mean now.

A save that inserted or deleted bytes gives the file a new layout, so a piece ``(ORIGINAL,
start, length)`` held by an undo step made before it names bytes of the *old* layout. At such a
save the document builds a ``Translation`` of exactly the old-file ranges its history still
references: ranges the save leaves where they were map to the new file (ORIGINAL again); the
rest map to the old file kept open as a *retired* source (after a copy-and-rename save its inode
lives on while we hold it) or to copies in the add-buffer (an in-place save overwrites them).
Older translations are re-targeted at each such save, so every translation always answers in
terms of the sources that exist now. Pure range arithmetic: nothing here reads or writes a file.
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

    def resolve(self, start: int, length: int) -> list[Piece]:
        """The pieces of today holding old-file bytes ``[start, start + length)``."""
        end = start + length
        k = bisect.bisect_right(self._los, start) - 1
        found: list[Piece] = []
        pos = start
        while pos < end:
            if k < 0 or k >= len(self.segments) or not self.segments[k].lo <= pos:
                raise TranslationError(pos)
            segment = self.segments[k]
            if pos >= segment.hi:
                k += 1
                if k >= len(self.segments) or self.segments[k].lo > pos:
                    raise TranslationError(pos)
                continue
            take = min(end, segment.hi) - pos
            found.append(Piece(segment.source, segment.start + (pos - segment.lo), take))
            pos += take
            k += 1
        return found

    def original_ranges(self) -> list[Range]:
        """Ranges of today's file (ORIGINAL) this translation points at."""
        return [(s.start, s.start + s.hi - s.lo) for s in self.segments if s.source == ORIGINAL]

    def sources(self) -> set[int]:
        return {s.source for s in self.segments}

    def through(self, newer: Translation) -> Translation:
        """This translation with its ORIGINAL targets sent through ``newer`` (the file's next
        layout): what it means after that save."""
        segments: list[Segment] = []
        for s in self.segments:
            if s.source != ORIGINAL:
                segments.append(s)
                continue
            lo = s.lo
            for piece in newer.resolve(s.start, s.hi - s.lo):
                segments.append(Segment(lo, lo + piece.length, piece.source, piece.start))
                lo += piece.length
        return Translation(segments)


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


def referenced_ranges(
    history: Iterable[AnyEdit], epoch: int, translations: Iterable[Translation]
) -> list[Range]:
    """Ranges of the current file that undo or redo may bring back: ORIGINAL pieces of the
    history's splices made in this layout (``epoch``), and older layouts' translations that
    point at the current file."""
    ranges: list[Range] = []
    for splice in splices_of(history):
        if splice.epoch != epoch:
            continue
        for source, start, length in (*splice.removed, *splice.inserted):
            if source == ORIGINAL:
                ranges.append((start, start + length))
    for translation in translations:
        ranges.extend(translation.original_ranges())
    return merged(ranges)


def epochs_of(history: Iterable[AnyEdit]) -> set[int]:
    """The layouts whose ORIGINAL pieces ``history`` holds."""
    return {
        s.epoch
        for s in splices_of(history)
        if any(p[0] == ORIGINAL for p in (*s.removed, *s.inserted))
    }


def sources_of(history: Iterable[AnyEdit]) -> set[int]:
    """Every source id the history's splices name."""
    return {p[0] for s in splices_of(history) for p in (*s.removed, *s.inserted)}


def identity_ranges(pieces: Iterable[tuple[int, Piece]]) -> list[Range]:
    """Where the document holds the file's bytes at their own offsets: a re-laid-out save
    leaves those bytes where they are."""
    return merged(
        (pos, pos + p.length) for pos, p in pieces if p.source == ORIGINAL and p.start == pos
    )

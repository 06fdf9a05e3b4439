"""PieceScanView: an edited document with inserted or deleted bytes, seen as a MappedFile.

The one scan path (search, checksums) walks a MappedFile window by window. Once the layout
changed, document offsets no longer are file offsets, so scans get this view: the same
interface, reading through the piece table (fault-free: file pieces by ``pread`` with the
logged overwrites laid over them, the rest from anonymous memory).

Zero-copy views still exist, one piece at a time: ``view_region`` tells the scan how far around
an offset one view can reach (a FILE piece cut at the file's mapping windows, an ADD piece, a
FILL piece) and ``view_target`` where such a view's bytes are. ``scan.SafeReader`` views a FILE
piece in place in the file's mapping under its read lease, exactly as for an unedited file, and
an ADD piece in the add-buffer; the short seams across piece boundaries are copied, so a match
that spans a boundary is seen whole, exactly once, like one across a window boundary.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mmhex.core import holes
from mmhex.core.mapping import FileKind, MappedFile, Window
from mmhex.core.pieces import ADD, ORIGINAL, Piece
from mmhex.core.sources import fill_bytes

if TYPE_CHECKING:
    from mmhex.core.document import Document


CACHED_PIECES = 512
KEPT_BEHIND = 16
FILL_KEPT = 64 * 1024  # fill chunks at least this long are kept for the next ask


class PieceScanView(MappedFile):
    """Read-only MappedFile interface over ``document`` (do not edit while a scan runs)."""

    def __init__(self, document: Document) -> None:  # no mapping of its own
        self.document = document
        mapped = document.mapped
        self.path = mapped.path
        self.window_size = mapped.window_size
        self.max_windows = mapped.max_windows
        self.kind = FileKind.PIECES
        self.identity = mapped.identity
        # A run of consecutive pieces (document starts, pieces) around the scan's position: a
        # scan asks about every piece several times (region, view, seam copies), and the table
        # costs O(log n + block) per lookup where a bisect here costs well under a microsecond.
        self._starts: list[int] = []
        self._pieces: list[Piece] = []
        self._cached_end = 0
        self._holes: holes.HoleMap | None = None
        self._last_fill: tuple[tuple[bytes, int, int] | None, bytes] = (None, b"")

    def _index(self, offset: int) -> int:
        """Index into the cached run of the piece holding byte ``offset`` (< size)."""
        starts = self._starts
        if not starts or not starts[0] <= offset < self._cached_end:
            document = self.document
            with document._lock:
                start = document.table.locate(offset)[1]
                if start == self._cached_end and starts:
                    # The scan moved on to the next pieces: keep a few behind for its seams.
                    starts, pieces = starts[-KEPT_BEHIND:], self._pieces[-KEPT_BEHIND:]
                else:
                    starts, pieces = [], []
                for pos, part in document.table.iter_range(start, document.table.size):
                    starts.append(pos)
                    pieces.append(part)
                    if len(pieces) >= CACHED_PIECES:
                        break
            self._starts, self._pieces = starts, pieces
            self._cached_end = starts[-1] + pieces[-1].length
        return bisect.bisect_right(starts, offset) - 1

    @property
    def size(self) -> int:
        return self.document.size

    @property
    def fd(self) -> int:
        return self.document.mapped.fd

    @property
    def closed(self) -> bool:
        return self.document.mapped.closed

    def read(
        self,
        offset: int,
        length: int,
        read_file: Callable[[int, int], bytes] | None = None,
    ) -> bytes:
        """The document's bytes for a scan, through the cached pieces (seams, copied views).

        ``read_file(file offset, length)`` reads FILE pieces (edits included); by default
        ``read_file`` below (``pread`` with the logged overwrites laid over it; holes made).
        """
        document = self.document
        read_file = read_file or self.read_file
        end = min(offset + length, self.size)
        parts = []
        pos = offset
        i = len(self._pieces)
        while pos < end:
            if i >= len(self._pieces):
                i = self._index(pos)
            source, at, piece_length = self._pieces[i]
            inside = pos - self._starts[i]
            take = min(piece_length - inside, end - pos)
            if source == ORIGINAL:
                data = read_file(at + inside, take)
                if len(data) < take:  # the file was truncated by another program
                    raise OSError(5, f"the file ends before offset {at + inside + take:#x}")
            elif source == ADD:
                data = document.add.read(at + inside, take)
            else:  # a fill's start is its phase: fill_bytes takes it modulo the pattern
                data = self._fill(document.fill_pattern(source), at + inside, take)
            parts.append(data)
            pos += take
            i += 1
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _fill(self, pattern: bytes, phase: int, length: int) -> bytes:
        """A fill's bytes; the last long one is kept, since a scan through a long fill asks
        for the same chunk (same phase, same length) again and again."""
        key = (pattern, phase % len(pattern), length)
        if self._last_fill[0] == key:
            return self._last_fill[1]
        data = fill_bytes(pattern, phase, length)
        if length >= FILL_KEPT:
            self._last_fill = (key, data)
        return data

    def read_file(self, start: int, length: int) -> bytes:
        """File bytes ``[start, start + length)`` with the unsaved overwrites (file offsets).

        Bytes in a hole of the file are made, not read: a seam around bytes inserted into a
        hole would otherwise read the hole (and the kernel's read-ahead around it) into the
        page cache.
        """
        if self.in_hole(start, start + length):
            return bytes(min(start + length, self.file.size) - start)
        return self.document._file_with_edits(start, length)

    def in_hole(self, start: int, end: int) -> bool:
        """Whether file bytes ``[start, end)`` all lie in one hole, unedited (zeros unread)."""
        if self._holes is None:  # once per scan (this view lives for one scan)
            mapped = self.document.mapped
            # Not a regular file: nothing is known to be a hole.
            regular = mapped.kind is FileKind.REGULAR
            self._holes = holes.hole_map(mapped) if regular else holes.HoleMap.all_data(1 << 62)
        return not self._holes.data_in(start, end) and not self.document.edit_log.segments_in(
            start, end
        )

    def read_original(self, offset: int, length: int) -> bytes:
        return self.document.read_original(offset, length)

    def current_size(self) -> int:
        return self.document.size

    def refresh(self) -> bool:
        return False

    @property
    def file(self) -> MappedFile:
        """The mapping whose windows back FILE pieces (what a scan leases and views)."""
        return self.document.mapped

    def view_region(self, offset: int) -> tuple[int, int]:
        """The document range around ``offset`` that one zero-copy view may cover."""
        i = self._index(offset)
        start, piece = self._starts[i], self._pieces[i]
        inside = offset - start
        end = start + piece.length
        if piece.source == ORIGINAL:
            file_offset = piece.start + inside
            window_start = self.file.window_start(file_offset)
            start = max(start, offset - (file_offset - window_start))
            end = min(end, offset + window_start + self.window_size - file_offset)
        return start, end

    def view_target(self, start: int, end: int) -> tuple[int | None, memoryview | None]:
        """Where a view of ``[start, end)`` lies: ``(file offset, None)`` inside one FILE piece,
        ``(None, add-buffer view)`` inside one ADD piece, ``(None, None)`` otherwise (copy)."""
        i = self._index(start)
        piece_start, piece = self._starts[i], self._pieces[i]
        inside = start - piece_start
        if end > piece_start + piece.length:
            return None, None
        if piece.source == ORIGINAL:
            return piece.start + inside, None
        if piece.source == ADD:
            return None, self.document.add.view(piece.start + inside, end - start)
        return None, None

    def window_at(self, offset: int) -> Window:
        raise ValueError("an edited document has no file window at a document offset")

    def mapped_windows(self) -> list[Window]:
        return []

    @contextmanager
    def windows_held(self) -> Iterator[list[Window]]:
        yield []

    def close(self) -> None:
        """The document owns the mapping."""

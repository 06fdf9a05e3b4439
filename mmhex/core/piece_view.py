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

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mmhex.core.mapping import FileKind, MappedFile, Window
from mmhex.core.pieces import ADD, ORIGINAL

if TYPE_CHECKING:
    from mmhex.core.document import Document


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

    @property
    def size(self) -> int:
        return self.document.size

    @property
    def fd(self) -> int:
        return self.document.mapped.fd

    @property
    def closed(self) -> bool:
        return self.document.mapped.closed

    def read(self, offset: int, length: int) -> bytes:
        return self.document.read_for_scan(offset, length)

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
        document = self.document
        with document._lock:
            piece, start, inside = document.table.locate(offset)
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
        document = self.document
        with document._lock:
            piece, piece_start, inside = document.table.locate(start)
            if end > piece_start + piece.length:
                return None, None
            if piece.source == ORIGINAL:
                return piece.start + inside, None
            if piece.source == ADD:
                return None, document.add.view(piece.start + inside, end - start)
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

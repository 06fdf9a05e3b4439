"""PieceScanView: an edited document with inserted or deleted bytes, seen as a MappedFile.

The one scan path (search, checksums) walks a MappedFile window by window. Once the layout
changed, document offsets no longer are file offsets, so scans get this view: the same
interface, reading through the piece table (fault-free: file pieces through the private
windows' ``/proc/self/mem`` reads, the rest from anonymous memory). It never offers a lease
(``kind`` is ``FileKind.PIECES``), so the scan copies each window and a match that spans a
piece boundary is seen whole, exactly once, like one across a window boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mmhex.core.mapping import FileKind, MappedFile, Window

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

    def window_at(self, offset: int) -> Window:
        raise ValueError("an edited document has no file window at a document offset")

    def mapped_windows(self) -> list[Window]:
        return []

    @contextmanager
    def windows_held(self) -> Iterator[list[Window]]:
        yield []

    def close(self) -> None:
        """The document owns the mapping."""

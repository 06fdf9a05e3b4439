"""Scanning a source that has no MappedFile (a process's memory) through its own ``read``.

Search and checksums walk a MappedFile window by window with ``scan.SafeReader``. A source
without one is wrapped in ``ReadThrough``, a MappedFile in interface only (it maps nothing):
one endless logical window, and ``read`` delegated to the source's fault-free read. The scans
then cut it into chunks with their usual overlap and copy every chunk (no lease, no in-place
view: there is no mapping to lease). A source may also name what to scan itself through a
``scan_source`` attribute (a ProcessDocument gives a ReadThrough of itself). Never imports Qt.
"""

from __future__ import annotations

from mmhex.core.mapping import MappedFile

TYPE_CHECKING = False  # typing costs `mmhex find` 1.5 ms at start-up
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Readable(Protocol):
        @property
        def size(self) -> int: ...

        def read(self, offset: int, length: int) -> bytes: ...


class ReadThrough(MappedFile):
    """A Readable dressed as a MappedFile for ``SafeReader`` and the scans (see module doc)."""

    kind = None  # not FileKind.REGULAR: SafeReader never tries to lease it
    window_size = 1 << 62  # one window: every piece is cut by the scan's chunk size

    def __init__(self, source: Readable) -> None:  # maps nothing: no MappedFile.__init__
        self.source = source

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        """The source owns whatever it reads from."""

    @property
    def path(self) -> str:
        return str(getattr(self.source, "path", ""))

    @property
    def size(self) -> int:
        return self.source.size

    def current_size(self) -> int:
        return self.source.size

    def window_start(self, offset: int) -> int:
        return 0

    def read(self, offset: int, length: int) -> bytes:
        return self.source.read(offset, length)

    def refresh(self) -> bool:
        return False


def scannable(source: Any) -> MappedFile:
    """What a scan walks: the source's ``scan_source``, a Document's MappedFile (or the
    MappedFile itself), else the source read through its own ``read``."""
    mapped = getattr(source, "scan_source", None) or getattr(source, "mapped", source)
    if isinstance(mapped, MappedFile):
        return mapped
    if callable(getattr(source, "read", None)) and hasattr(source, "size"):
        return ReadThrough(source)
    raise TypeError("expected a Document, a MappedFile or an object with size and read()")

"""Streams that let Kaitai Struct parse a Document in place and report absolute offsets.

Kaitai reads through a file-like object: ``DocumentReader`` answers it from ``Document.read``
(unsaved edits included, never a copy of the file). ``TrackingStream`` remembers where each
substream's bytes came from, so positions relative to a substream become document offsets.
Never imports Qt.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from kaitaistruct import KaitaiStream

from mmhex.core.progress import CancelToken

# One field that asks for more than this is refused (a parse error), so a corrupt length or a
# `size-eos` field at the top of a 1 TiB image never pulls the whole file into memory.
MAX_FIELD_BYTES = 64 * 1024 * 1024


class Readable(Protocol):
    """What the reader needs of a Document (tests pass plain byte buffers through it too)."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...


class FieldTooLarge(OSError):
    """A single read larger than MAX_FIELD_BYTES: reported as where and why the parse stopped."""


class DocumentReader(io.RawIOBase):
    """A seekable, read-only raw stream over a Document's bytes as edited."""

    def __init__(self, document: Readable, token: CancelToken | None = None) -> None:
        super().__init__()
        self._document = document
        self._token = token
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self._document.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._token is not None:
            self._token.check()
        if len(view) > MAX_FIELD_BYTES:
            # BufferedReader reads big requests straight into the caller's buffer.
            raise FieldTooLarge(f"a field of {len(view):,} bytes is too large to load")
        data = self._document.read(self._pos, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def readall(self) -> bytes:
        remaining = max(self._document.size - self._pos, 0)
        if remaining > MAX_FIELD_BYTES:
            raise FieldTooLarge(
                f"a field to the end of the file ({remaining:,} bytes) is too large to load"
            )
        return self.read(remaining) or b""


class _Context(threading.local):
    """Per-thread parse context: where raw byte strings came from, and the last seeked stream."""

    origins: dict[int, tuple[bytes, int]] | None = None
    seeks: int = 0
    last_seek: Any = None


_context = _Context()


@contextmanager
def tracking(origins: dict[int, tuple[bytes, int]]) -> Iterator[None]:
    """Make ``origins`` the registry TrackingStreams of this thread record into."""
    saved = _context.origins
    _context.origins = origins
    try:
        yield
    finally:
        _context.origins = saved


def seek_mark() -> int:
    return _context.seeks


def last_seek_since(mark: int) -> Any:
    """The stream a property seeked last while evaluated (its restore seek names its stream)."""
    return _context.last_seek if _context.seeks > mark else None


class SubstreamBytes(io.BytesIO):
    """A BytesIO that knows the absolute offset of its first byte (None: decoded data)."""

    mmhex_base: int | None = None


def substream_bytes(raw: bytes = b"") -> SubstreamBytes:
    """Replaces ``BytesIO`` in compiled formats: looks up where ``raw`` was read from."""
    stream = SubstreamBytes(raw)
    origins = _context.origins
    if origins is not None and len(raw) > 1:
        origin = origins.get(id(raw))
        if origin is not None and origin[0] is raw:
            stream.mmhex_base = origin[1]
    return stream


class TrackingStream(KaitaiStream):
    """KaitaiStream that records the absolute offset of every byte string it returns."""

    def __init__(self, raw_io: Any, base: int | None = None) -> None:
        self.mmhex_base = getattr(raw_io, "mmhex_base", base)
        super().__init__(raw_io)

    def _record(self, data: bytes, start: int) -> bytes:
        origins = _context.origins
        if origins is not None and self.mmhex_base is not None and len(data) > 1:
            origins[id(data)] = (data, self.mmhex_base + start)
        return data

    def seek(self, n: int) -> None:
        _context.seeks += 1
        _context.last_seek = self
        super().seek(n)

    # Set on the document-backed root stream: substreams are already in memory.
    guarded = False

    def _check_size(self, n: int) -> None:
        if self.guarded and n > MAX_FIELD_BYTES:
            # Refused before any buffer of that size is allocated.
            raise FieldTooLarge(f"a field of {n:,} bytes is too large to load")

    def read_bytes(self, n: int) -> bytes:
        self._check_size(n)
        start = self.pos()
        return self._record(super().read_bytes(n), start)

    def read_bytes_full(self) -> bytes:
        start = self.pos()
        if self.guarded:
            self._check_size(self.size() - start)
        return self._record(super().read_bytes_full(), start)

    def read_bytes_term(self, term: int, include: bool, consume: bool, eos_error: bool) -> bytes:
        start = self.pos()
        return self._record(super().read_bytes_term(term, include, consume, eos_error), start)

    def read_bytes_term_multi(
        self, term: bytes, include: bool, consume: bool, eos_error: bool
    ) -> bytes:
        start = self.pos()
        return self._record(super().read_bytes_term_multi(term, include, consume, eos_error), start)


def open_stream(document: Readable, token: CancelToken | None = None) -> TrackingStream:
    """The root stream of a parse: buffered reads through the Document, base offset 0."""
    reader = io.BufferedReader(DocumentReader(document, token), buffer_size=64 * 1024)
    stream = TrackingStream(reader, base=0)
    stream.guarded = True
    return stream

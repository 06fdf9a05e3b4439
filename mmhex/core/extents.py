"""A file's extents from ``FIEMAP`` (logical → physical, length, flags), as ``filefrag -v`` shows.

Extents say where the data lives on the device and how: unwritten (preallocated, reads as
zeros), shared (reflinked with another file), inline, encoded (compressed). File systems without
an extent map (tmpfs, network file systems) say EOPNOTSUPP; the result then says so instead of
listing nothing. Never imports Qt.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from mmhex.core import _libc

# linux/fiemap.h flag bits and the names filefrag prints for them.
FLAG_NAMES: tuple[tuple[int, str], ...] = (
    (0x0001, "last"),
    (0x0002, "unknown_loc"),
    (0x0004, "delalloc"),
    (0x0008, "encoded"),
    (0x0080, "encrypted"),
    (0x0100, "not_aligned"),
    (0x0200, "inline"),
    (0x0400, "tail_packed"),
    (0x0800, "unwritten"),
    (0x1000, "merged"),
    (0x2000, "shared"),
)
LAST = 0x0001
UNWRITTEN = 0x0800
SHARED = 0x2000
INLINE = 0x0200
ENCODED = 0x0008

# Extents asked for per ioctl; a huge fragmented file takes several calls, bounded by max_extents.
BATCH = 512
DEFAULT_MAX_EXTENTS = 100_000


@dataclass(frozen=True)
class Extent:
    logical: int
    physical: int
    length: int
    flags: int

    @property
    def end(self) -> int:
        return self.logical + self.length

    @property
    def flag_names(self) -> tuple[str, ...]:
        return tuple(name for bit, name in FLAG_NAMES if self.flags & bit)

    @property
    def unwritten(self) -> bool:
        return bool(self.flags & UNWRITTEN)

    @property
    def shared(self) -> bool:
        return bool(self.flags & SHARED)


@dataclass(frozen=True)
class ExtentMap:
    """The extents of a file; ``error`` is a sentence when the file system cannot list them."""

    size: int
    extents: tuple[Extent, ...] = ()
    error: str | None = None
    complete: bool = True
    block_size: int = field(default=4096)

    @property
    def supported(self) -> bool:
        return self.error is None

    def unwritten_ranges(self) -> list[tuple[int, int]]:
        return [(e.logical, e.end) for e in self.extents if e.unwritten]


def extents_of_fd(
    fd: int, size: int | None = None, *, sync: bool = False, max_extents: int = DEFAULT_MAX_EXTENTS
) -> ExtentMap:
    """All extents of ``fd`` (``sync`` flushes delayed allocation first, like ``filefrag -s``)."""
    st = os.fstat(fd)
    size = st.st_size if size is None else size
    extents: list[Extent] = []
    start = 0
    flags = _libc.FIEMAP_FLAG_SYNC if sync else 0
    try:
        while True:
            _fm_flags, rows = _libc.fiemap(fd, start, _libc.FIEMAP_MAX_OFFSET - start, BATCH, flags)
            if not rows:
                break
            extents.extend(Extent(*row) for row in rows)
            last = extents[-1]
            if last.flags & LAST or len(rows) < BATCH:
                break
            if len(extents) >= max_extents:
                return ExtentMap(size, tuple(extents), None, False, st.st_blksize)
            start = last.end
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL):
            return ExtentMap(size, (), "This file system does not list extents (FIEMAP).")
        raise
    return ExtentMap(size, tuple(extents), None, True, st.st_blksize)


def extents_of(path: str, *, sync: bool = False) -> ExtentMap:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return extents_of_fd(fd, sync=sync)
    finally:
        os.close(fd)

"""Byte sources the piece table points into: the add-buffer and fill patterns.

The ORIGINAL source is the file itself (``MappedFile``, its private windows). ``AddBuffer``
holds every inserted byte, append-only, in anonymous mappings (``MAP_ANONYMOUS | MAP_PRIVATE |
MAP_NORESERVE``: address space costs nothing until written); past a memory budget new segments
are mapped from an unlinked ``O_TMPFILE`` in the user's cache folder, so the kernel can write them
out instead of swapping. Nothing here can fault on a truncated file: nobody else can reach these
mappings. ``fill_bytes`` renders a repeated pattern at a phase without storing it.
"""

from __future__ import annotations

import bisect
import contextlib
import mmap
import os

# Linux value; the mmap module has no constant (see mapping.py).
MAP_NORESERVE = 0x4000

FIRST_SEGMENT = 1 << 20
DEFAULT_MEMORY_BUDGET = 1 << 30


def spill_folder() -> str:
    """Where spilled add-buffer segments live: the cache folder, else the runtime folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for folder in (os.path.join(cache, "mmhex"), os.environ.get("XDG_RUNTIME_DIR") or ""):
        if folder:
            try:
                os.makedirs(folder, exist_ok=True)
                return folder
            except OSError:
                continue
    return "/tmp"


class AddBuffer:
    """Append-only bytes addressed by a 64-bit offset; ``read``/``write`` of what was appended.

    Segments double in size; an appended run never straddles two segments (a piece must be one
    contiguous range), so a segment's unused tail is skipped when the next run does not fit.
    """

    def __init__(self, *, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.memory_budget = memory_budget
        self._bases: list[int] = []
        self._segments: list[mmap.mmap] = []
        self._anonymous_bytes = 0
        self.spilled_bytes = 0
        self._end = 0  # next free offset
        self._limit = 0  # end of the current segment

    @property
    def used(self) -> int:
        """Bytes appended so far (plus skipped segment tails)."""
        return self._end

    def append(self, data: bytes | bytearray | memoryview) -> int:
        """Store ``data``; returns its offset in the buffer."""
        view = memoryview(data).cast("B")
        n = len(view)
        if self._end + n > self._limit:
            self._new_segment(n)
        at = self._end
        self.write(at, view)
        self._end += n
        return at

    def reserve(self, n: int) -> int:
        """Room for ``n`` bytes written later with ``write`` (streams a big paste in chunks)."""
        if self._end + n > self._limit:
            self._new_segment(n)
        at = self._end
        self._end += n
        return at

    def _new_segment(self, need: int) -> None:
        last = len(self._segments[-1]) if self._segments else FIRST_SEGMENT // 2
        size = max(2 * last, need, FIRST_SEGMENT)
        size = -(-size // mmap.PAGESIZE) * mmap.PAGESIZE
        if self._anonymous_bytes + size <= self.memory_budget:
            mm = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | MAP_NORESERVE)
            self._anonymous_bytes += size
        else:
            mm = self._spill_segment(size)
            self.spilled_bytes += size
        base = self._limit if self._segments else 0
        self._bases.append(base)
        self._segments.append(mm)
        self._end = base
        self._limit = base + size

    @staticmethod
    def _spill_segment(size: int) -> mmap.mmap:
        fd = os.open(spill_folder(), os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        try:
            # Blocks reserved now: a store into a hole of a full disk would raise SIGBUS later.
            os.posix_fallocate(fd, 0, size)
            return mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        finally:
            os.close(fd)  # the mapping keeps its own descriptor; the file has no name

    def _locate(self, offset: int) -> tuple[mmap.mmap, int]:
        k = bisect.bisect_right(self._bases, offset) - 1
        return self._segments[k], offset - self._bases[k]

    def read(self, offset: int, length: int) -> bytes:
        mm, at = self._locate(offset)
        return mm[at : at + length]

    def view(self, offset: int, length: int) -> memoryview:
        """Zero-copy view (release it before closing the buffer)."""
        mm, at = self._locate(offset)
        return memoryview(mm)[at : at + length]

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Overwrite appended bytes in place (an overwrite of inserted bytes)."""
        mm, at = self._locate(offset)
        mm[at : at + len(data)] = data

    def close(self) -> None:
        for mm in self._segments:
            with contextlib.suppress(BufferError):
                mm.close()
        self._segments.clear()
        self._bases.clear()


def fill_bytes(pattern: bytes, phase: int, length: int) -> bytes:
    """``length`` bytes of ``pattern`` repeated, starting ``phase`` bytes into it."""
    period = len(pattern)
    phase %= period
    if length <= 65536:
        reps = -(-(phase + length) // period)
        return (pattern * reps)[phase : phase + length]
    # Long fills: repeat a block of whole periods (repeating a 1-byte pattern millions of
    # times is slow; repeating a 64 KiB block is memcpy speed).
    block = pattern * max(1, 65536 // period)
    rotated = block[phase:] + block[:phase]
    reps = -(-length // len(rotated))
    return (rotated * reps)[:length]

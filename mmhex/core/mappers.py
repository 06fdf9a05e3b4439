"""Who else has the file mapped, which of our pages are private copies, which are dirty.

- ``who_maps``: every process whose ``/proc/PID/maps`` lists the file's device and inode, with
  the file ranges each maps; processes whose maps we may not read are counted, not hidden.
- ``private_page_offsets``: the pages of the document's MAP_PRIVATE windows that a write turned
  into anonymous copies (``/proc/self/pagemap``: present with bit 61, "file page", clear).
- ``dirty_buckets``: per bucket, the file's dirty and writeback pages (``cachestat``), to watch
  msync drain them during a save.
All results are plain values; never imports Qt.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from mmhex.core import _libc

PAGE_SIZE = _libc.PAGE_SIZE
_PRESENT = 1 << 63
_SWAPPED = 1 << 62
_FILE_PAGE = 1 << 61


@dataclass(frozen=True)
class MappedRange:
    """One mapping of the file in a process: file bytes ``[start, end)`` with ``perms``."""

    start: int
    end: int
    perms: str
    address: int


@dataclass(frozen=True)
class Mapper:
    pid: int
    name: str
    ranges: tuple[MappedRange, ...]

    @property
    def mapped_bytes(self) -> int:
        return sum(r.end - r.start for r in self.ranges)

    @property
    def shared(self) -> bool:
        return any(r.perms[3:4] == "s" for r in self.ranges)


@dataclass(frozen=True)
class MappersReport:
    """The processes mapping one file; ``hidden`` processes' maps could not be read."""

    device: int
    inode: int
    mappers: tuple[Mapper, ...] = ()
    hidden: int = 0
    scanned: int = 0
    hidden_pids: tuple[int, ...] = field(default=(), repr=False)

    def pids(self) -> list[int]:
        return [m.pid for m in self.mappers]

    def summary(self) -> str:
        count = len(self.mappers)
        text = "1 process maps this file" if count == 1 else f"{count} processes map this file"
        if self.hidden:
            text += (
                f"; {self.hidden} other process{'es' if self.hidden != 1 else ''} could not be "
                "checked (permission denied)"
            )
        return text + "."


def _device_field(device: int) -> str:
    """``/proc/PID/maps`` writes the device as ``major:minor`` in lower-case hex."""
    return f"{os.major(device):02x}:{os.minor(device):02x}"


def parse_maps(text: str, device: int, inode: int) -> list[MappedRange]:
    """The lines of one ``maps`` file that map (device, inode), as file ranges."""
    wanted_dev = _device_field(device)
    wanted_ino = str(inode)
    found = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 5 or parts[4] != wanted_ino or parts[3] != wanted_dev:
            continue
        lo, _, hi = parts[0].partition("-")
        start, end = int(lo, 16), int(hi, 16)
        offset = int(parts[2], 16)
        found.append(MappedRange(offset, offset + end - start, parts[1], start))
    return found


def _process_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return "?"


def who_maps(path: str | None = None, *, device: int = 0, inode: int = 0) -> MappersReport:
    """Every process (ourselves included) that maps the file at ``path`` (or device+inode)."""
    if path is not None:
        st = os.stat(path)
        device, inode = st.st_dev, st.st_ino
    mappers = []
    hidden: list[int] = []
    scanned = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            # File names are bytes: a name that is not UTF-8 (any process may map one) must
            # not stop the scan, so undecodable bytes pass through as surrogates.
            with open(f"/proc/{pid}/maps", encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except PermissionError:
            hidden.append(pid)
            continue
        except OSError:
            continue  # the process ended meanwhile
        scanned += 1
        ranges = parse_maps(text, device, inode)
        if ranges:
            mappers.append(Mapper(pid, _process_name(pid), tuple(ranges)))
    return MappersReport(device, inode, tuple(mappers), len(hidden), scanned, tuple(hidden))


# ----------------------------------------------------------------- our own private pages
def private_page_offsets(mapped: Any) -> list[int] | None:
    """File offsets of the pages our private windows hold as copies (None: pagemap unreadable).

    A write to a MAP_PRIVATE page replaces it with an anonymous copy: its pagemap entry stays
    present (or swapped) but loses the "file page" bit.
    """
    try:
        fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    offsets: list[int] = []
    try:
        with mapped.windows_held() as windows:
            for window in windows:
                if not window.private:
                    continue
                pages = -(-window.length // PAGE_SIZE)
                raw = os.pread(fd, pages * 8, window.address // PAGE_SIZE * 8)
                for index in range(len(raw) // 8):
                    entry = int.from_bytes(raw[index * 8 : index * 8 + 8], "little")
                    copied = (entry & _PRESENT and not entry & _FILE_PAGE) or entry & _SWAPPED
                    if copied:
                        offsets.append(window.start + index * PAGE_SIZE)
    finally:
        os.close(fd)
    return sorted(offsets)


# ----------------------------------------------------------------- dirty / writeback
@dataclass(frozen=True)
class DirtyBuckets:
    """Dirty and writeback page counts of the file per bucket ``[edges[i], edges[i+1])``."""

    edges: tuple[int, ...]
    dirty: tuple[int, ...]
    writeback: tuple[int, ...]

    @property
    def total_dirty(self) -> int:
        return sum(self.dirty)

    @property
    def total_writeback(self) -> int:
        return sum(self.writeback)


def dirty_buckets(fd: int, edges: tuple[int, ...] | list[int]) -> DirtyBuckets:
    """``cachestat`` of each bucket; OSError (ENOSYS, EPERM) where the kernel will not say."""
    pairs = list(itertools.pairwise(edges))
    # cachestat reads a length of 0 as "to the end of the file": empty buckets are not asked.
    asked = [(lo, hi - lo) for lo, hi in pairs if hi > lo]
    stats = iter(_libc.cachestat_ranges(fd, asked) if asked else [])
    rows = [next(stats) if hi > lo else (0, 0, 0, 0, 0) for lo, hi in pairs]
    return DirtyBuckets(tuple(edges), tuple(r[1] for r in rows), tuple(r[2] for r in rows))

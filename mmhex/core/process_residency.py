"""Page residency of a process's regions from /proc/PID/pagemap, counted per region.

Each page is present (in RAM), swapped, or neither (never touched, or dropped); a present or
swapped page is file-backed (page cache, or shared anonymous) or anonymous; soft-dirty marks
pages written since the soft-dirty bits were last cleared. Never imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmhex.core.process import PAGE_SIZE, ProcessMemory, Region

# Regions larger than this are not counted (reading their pagemap would take too long).
MAX_COUNTED_PAGES = 1 << 20  # 4 GiB of 4 KiB pages: an 8 MiB pagemap read


@dataclass(frozen=True)
class PageCounts:
    pages: int
    present: int = 0
    swapped: int = 0
    file_backed: int = 0
    anonymous: int = 0
    soft_dirty: int = 0

    @property
    def summary(self) -> str:
        """'12 / 40 present' for a table cell."""
        return f"{self.present:,} / {self.pages:,} present"

    @property
    def details(self) -> str:
        """Every count in words, for a tooltip."""
        return (
            f"{self.pages:,} pages: {self.present:,} present, {self.swapped:,} swapped, "
            f"{self.pages - self.present - self.swapped:,} not in memory; of those in memory or "
            f"swap {self.file_backed:,} file-backed, {self.anonymous:,} anonymous; "
            f"{self.soft_dirty:,} soft-dirty (written since the bits were last cleared)."
        )


# The flags live in each entry's top two bytes (little-endian u64): byte 7 holds present (bit
# 63), swapped (62) and file (61); byte 6 holds soft-dirty (55). Counting runs bytes.translate
# and count over every 8th byte, so millions of pages take milliseconds, not seconds.
_STATE = bytes(
    (1 if value & 0x80 else 2) + (4 if value & 0x20 else 0) if value & 0xC0 else 0
    for value in range(256)
)  # 1 present, 2 swapped (+4 when file-backed); 0 neither
_HIGH_BIT = bytes(1 if value & 0x80 else 0 for value in range(256))


def count_raw(raw: bytes) -> PageCounts:
    """Count pagemap entries given as little-endian u64s (ProcessMemory.pagemap_bytes)."""
    state = raw[7::8].translate(_STATE)
    present_anon, present_file = state.count(1), state.count(5)
    swapped_anon, swapped_file = state.count(2), state.count(6)
    return PageCounts(
        pages=len(raw) // 8,
        present=present_anon + present_file,
        swapped=swapped_anon + swapped_file,
        file_backed=present_file + swapped_file,
        anonymous=present_anon + swapped_anon,
        soft_dirty=raw[6::8].translate(_HIGH_BIT).count(1),
    )


def region_pages(memory: ProcessMemory, region: Region) -> PageCounts | None:
    """The counts of ``region`` (None when it is too large to count quickly)."""
    pages = region.size // PAGE_SIZE
    if pages > MAX_COUNTED_PAGES:
        return None
    return count_raw(memory.pagemap_bytes(region.start, pages))

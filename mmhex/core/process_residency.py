"""Page residency of a process's regions from /proc/PID/pagemap, counted per region.

Each page is present (in RAM), swapped, or neither (never touched, or dropped); a present or
swapped page is file-backed (page cache, or shared anonymous) or anonymous; soft-dirty marks
pages written since the soft-dirty bits were last cleared. Never imports Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

from mmhex.core.process import (
    PAGE_SIZE,
    PAGEMAP_FILE,
    PAGEMAP_PRESENT,
    PAGEMAP_SOFT_DIRTY,
    PAGEMAP_SWAPPED,
    ProcessMemory,
    Region,
)

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
            f"{self.soft_dirty:,} soft-dirty."
        )


def count_entries(entries: list[int]) -> PageCounts:
    """Count raw pagemap entries (one little-endian u64 per page)."""
    present = swapped = file_backed = anonymous = soft_dirty = 0
    for entry in entries:
        if entry & PAGEMAP_PRESENT:
            present += 1
        elif entry & PAGEMAP_SWAPPED:
            swapped += 1
        else:
            continue
        if entry & PAGEMAP_FILE:
            file_backed += 1
        else:
            anonymous += 1
        if entry & PAGEMAP_SOFT_DIRTY:
            soft_dirty += 1
    return PageCounts(len(entries), present, swapped, file_backed, anonymous, soft_dirty)


def region_pages(memory: ProcessMemory, region: Region) -> PageCounts | None:
    """The counts of ``region`` (None when it is too large to count quickly)."""
    pages = region.size // PAGE_SIZE
    if pages > MAX_COUNTED_PAGES:
        return None
    return count_entries(memory.pagemap(region.start, pages))

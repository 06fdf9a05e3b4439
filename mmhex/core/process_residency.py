"""Page residency of a process's regions from /proc/PID/pagemap, counted per region.

Each page is present (in RAM), swapped, or neither (never touched, or dropped); a present or
swapped page is file-backed (page cache, or shared anonymous) or anonymous; soft-dirty marks
pages written since the soft-dirty bits were last cleared. Never imports Qt.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmhex.core.process import PAGE_SIZE, AddressSpace, ProcessMemory, Region, explain_refusal
from mmhex.core.residency import BucketLayout

if TYPE_CHECKING:
    from mmhex.core.process_document import ProcessDocument

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


# ----------------------------------------------------------------- the residency panel's map
# Per page of the folded address space, the state byte of _STATE, or UNCOUNTED for pages of a
# region whose pagemap is not read (too large, or refused).
UNCOUNTED = 8


@dataclass(frozen=True)
class ProcessBuckets:
    """Page counts per bucket of a layout over the folded address space (document offsets).

    The panel draws these as it draws a file's Buckets: ``layout`` cuts the document into
    buckets; each tuple holds one count per bucket; ``unknown`` counts pages not read.
    """

    layout: BucketLayout
    present: tuple[int, ...]
    swapped: tuple[int, ...]
    file_backed: tuple[int, ...]
    anonymous: tuple[int, ...]
    soft_dirty: tuple[int, ...]
    unknown: tuple[int, ...]

    def __len__(self) -> int:
        return self.layout.count

    def counts(self, index: int) -> PageCounts:
        return PageCounts(
            pages=self.layout.page_count(index),
            present=self.present[index],
            swapped=self.swapped[index],
            file_backed=self.file_backed[index],
            anonymous=self.anonymous[index],
            soft_dirty=self.soft_dirty[index],
        )


@dataclass(frozen=True)
class ProcessSnapshot:
    """Everything the residency panel draws for a process, measured at one moment."""

    path: str  # the process's label, 'name (PID n)'
    pid: int
    size: int  # bytes of the folded address space
    totals: PageCounts
    unknown_pages: int  # pages of regions too large to read (MAX_COUNTED_PAGES) or refused
    overview: ProcessBuckets
    detail: ProcessBuckets | None
    visible: tuple[int, int]
    seconds: float
    note: str = ""  # why some pages are not counted, or that the process has ended


class _Counter:
    """Adds one region's page states into a layout's per-bucket totals."""

    def __init__(self, layout: BucketLayout) -> None:
        self.layout = layout
        count = layout.count
        self.present, self.swapped = [0] * count, [0] * count
        self.file_backed, self.anonymous = [0] * count, [0] * count
        self.soft_dirty, self.unknown = [0] * count, [0] * count

    def add(self, first_page: int, pages: int, state: bytes | None, dirty: bytes | None) -> None:
        """Document pages ``[first_page, first_page + pages)``; ``state`` None: not counted."""
        layout = self.layout
        page = max(first_page, layout.first_page)
        stop = min(first_page + pages, layout.end_page)
        while page < stop:
            index = (page - layout.first_page) // layout.bucket_pages
            bucket_stop = min(stop, layout.first_page + (index + 1) * layout.bucket_pages)
            low, high = page - first_page, bucket_stop - first_page
            if state is None or dirty is None:
                self.unknown[index] += high - low
            else:
                anon_in, anon_out = state.count(1, low, high), state.count(2, low, high)
                file_in, file_out = state.count(5, low, high), state.count(6, low, high)
                self.present[index] += anon_in + file_in
                self.swapped[index] += anon_out + file_out
                self.file_backed[index] += file_in + file_out
                self.anonymous[index] += anon_in + anon_out
                self.soft_dirty[index] += dirty.count(1, low, high)
            page = bucket_stop

    def result(self) -> ProcessBuckets:
        return ProcessBuckets(
            self.layout,
            tuple(self.present),
            tuple(self.swapped),
            tuple(self.file_backed),
            tuple(self.anonymous),
            tuple(self.soft_dirty),
            tuple(self.unknown),
        )


# The whole-space map is read again at most this often (and after the address space changed,
# or when asked for in full); the map around the view on every refresh. Reading pagemap walks
# the page tables: 25-60 ms for a 2 GiB process here, too much to repeat twice a second.
OVERVIEW_MIN_S = 2.0
OVERVIEW_COST_SHARE = 100  # ... and at most one second in this many on it (1 % of a core)


@dataclass(frozen=True)
class _Overview:
    """The last whole-space count and what it depended on."""

    space: object
    buckets: ProcessBuckets
    unknown: int
    due: float  # monotonic time after which it is counted again


class ProcessResidency:
    """The residency panel's source for a ProcessDocument: each page's state from pagemap.

    Offers what DocumentResidency offers the panel (``path``, ``snapshot``, ``close``), over the
    folded address space: document offsets, as the grid shows them. Reads /proc/PID/pagemap once
    per region through one descriptor; regions over MAX_COUNTED_PAGES are counted as unknown
    rather than read, except where the view's window of them is small enough. Values equal to
    the last ones come back as the same objects.
    """

    def __init__(self, document: ProcessDocument) -> None:
        self.document = document
        self.path = document.path
        self._overview: _Overview | None = None
        self._detail: ProcessBuckets | None = None

    def snapshot(
        self,
        *,
        overview_buckets: int = 1024,
        detail: BucketLayout | None = None,
        visible: tuple[int, int] = (0, 0),
        full: bool = False,
    ) -> ProcessSnapshot:
        """Measure now: the map around the view always, the whole space when due or ``full``."""
        began = time.perf_counter()
        memory = self.document.memory
        space = memory.space
        size = space.size
        layout = BucketLayout.covering(0, size, overview_buckets)
        last = self._overview
        whole = (
            full
            or last is None
            or last.space is not space
            or last.buckets.layout != layout
            or time.monotonic() >= last.due
        )
        counters = [_Counter(layout)] if whole else []
        if detail is not None:
            start, end = min(detail.start, size), min(detail.end, size)
            counters.append(
                _Counter(BucketLayout(start - start % PAGE_SIZE, end, detail.bucket_pages))
            )
        unknown, note = self._count(space, counters)
        if whole:
            overview = counters[0].result()
            if last is not None and overview == last.buckets:
                overview = last.buckets  # the same values: the same object, nothing redrawn
            seconds = time.perf_counter() - began
            pause = max(OVERVIEW_MIN_S, OVERVIEW_COST_SHARE * seconds)
            last = self._overview = _Overview(space, overview, unknown, time.monotonic() + pause)
        assert last is not None
        zoomed = counters[-1].result() if detail is not None else None
        if zoomed is not None and zoomed == self._detail:
            zoomed = self._detail
        self._detail = zoomed
        if last.unknown and not note:
            note = (
                f"{last.unknown:,} pages not counted (regions over "
                f"{MAX_COUNTED_PAGES * PAGE_SIZE >> 30} GiB, or gone since the maps were read)."
            )
        return ProcessSnapshot(
            path=self.path,
            pid=memory.pid,
            size=size,
            totals=_total(last.buckets),
            unknown_pages=sum(last.buckets.unknown),
            overview=last.buckets,
            detail=zoomed,
            visible=visible,
            seconds=time.perf_counter() - began,
            note=note,
        )

    def _count(self, space: AddressSpace, counters: list[_Counter]) -> tuple[int, str]:
        """Add every readable region's pages that a counter covers; (pages not read, note)."""
        pid = self.document.memory.pid
        note = ""
        try:
            fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            fd = -1
            if self.document.alive:
                note = f"Page states unknown: {explain_refusal(pid, exc.errno)}"
            else:
                note = f"{self.path} has ended: its pages are gone."
        unknown = 0
        low = min((counter.layout.first_page for counter in counters), default=0)
        high = max((counter.layout.end_page for counter in counters), default=0)
        try:
            for index, region in enumerate(space.readable):
                # Only the region's pages the counters cover (the view's, unless all).
                region_first = space.region_start_offset(index) // PAGE_SIZE
                first_page = max(region_first, low)
                pages = min(region_first + region.size // PAGE_SIZE, high) - first_page
                if pages <= 0:
                    continue
                at = region.start + (first_page - region_first) * PAGE_SIZE
                if pages <= MAX_COUNTED_PAGES:
                    state, dirty = _read_states(fd, at, pages)
                    unknown += pages if state is None else 0
                    for counter in counters:
                        counter.add(first_page, pages, state, dirty)
                    continue
                unknown += pages  # too large to read whole: each counter's window, if small
                for counter in counters:
                    low_page = max(first_page, counter.layout.first_page)
                    count = min(first_page + pages, counter.layout.end_page) - low_page
                    if count > 0:
                        window = at + (low_page - first_page) * PAGE_SIZE
                        small = count <= MAX_COUNTED_PAGES
                        state, dirty = _read_states(fd, window, count) if small else (None, None)
                        counter.add(low_page, count, state, dirty)
        finally:
            if fd >= 0:
                os.close(fd)
        return unknown, note

    def close(self) -> None:
        """Nothing of its own to close: the document owns the process's descriptors."""


def _read_states(fd: int, address: int, pages: int) -> tuple[bytes | None, bytes | None]:
    """(state byte per page, soft-dirty 0/1 per page) of ``pages`` pages at ``address`` from
    the pagemap descriptor ``fd``; (None, None) when they cannot be read (-1: not open)."""
    if fd < 0:
        return None, None
    try:
        raw = os.pread(fd, pages * 8, address // PAGE_SIZE * 8)
    except OSError:
        return None, None  # the process ended, or the region went away
    if len(raw) != pages * 8:
        return None, None
    return raw[7::8].translate(_STATE), raw[6::8].translate(_HIGH_BIT)


def _total(buckets: ProcessBuckets) -> PageCounts:
    layout = buckets.layout
    return PageCounts(
        pages=layout.end_page - layout.first_page,
        present=sum(buckets.present),
        swapped=sum(buckets.swapped),
        file_backed=sum(buckets.file_backed),
        anonymous=sum(buckets.anonymous),
        soft_dirty=sum(buckets.soft_dirty),
    )

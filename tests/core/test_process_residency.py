"""Per-region page counts from pagemap, against a bit-by-bit reference and a child's pages."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from mmhex.core import process
from mmhex.core.process import ProcessMemory
from mmhex.core.process_residency import PageCounts, count_raw, region_pages
from tests.process_support import Child, child  # noqa: F401 (fixture)

FLAGS = (
    process.PAGEMAP_PRESENT,
    process.PAGEMAP_SWAPPED,
    process.PAGEMAP_FILE,
    process.PAGEMAP_EXCLUSIVE,
    process.PAGEMAP_SOFT_DIRTY,
)


def reference(entries: list[int]) -> PageCounts:
    present = [e for e in entries if e & process.PAGEMAP_PRESENT]
    swapped = [
        e for e in entries if not e & process.PAGEMAP_PRESENT and e & process.PAGEMAP_SWAPPED
    ]
    held = present + swapped
    return PageCounts(
        pages=len(entries),
        present=len(present),
        swapped=len(swapped),
        file_backed=sum(1 for e in held if e & process.PAGEMAP_FILE),
        anonymous=sum(1 for e in held if not e & process.PAGEMAP_FILE),
        soft_dirty=sum(1 for e in entries if e & process.PAGEMAP_SOFT_DIRTY),
    )


entry = st.builds(
    lambda pfn, bits: pfn | sum(flag for flag, on in zip(FLAGS, bits, strict=True) if on),
    st.integers(0, (1 << 55) - 1),
    st.tuples(*(st.booleans() for _ in FLAGS)),
)


@given(st.lists(entry, max_size=200))
def test_count_raw_equals_a_bit_by_bit_reference(entries: list[int]) -> None:
    raw = struct.pack(f"<{len(entries)}Q", *entries)
    assert count_raw(raw) == reference(entries)


def test_region_counts_follow_the_child(child: Child) -> None:  # noqa: F811
    with ProcessMemory(child.pid) as memory:
        address = child.info["untouched"]
        region = next(r for r in memory.space.regions if r.start <= address < r.end)
        entries = memory.pagemap(region.start, region.size // process.PAGE_SIZE)
        before = region_pages(memory, region)
        assert before == reference(entries)
        page = (address - region.start) // process.PAGE_SIZE
        assert not entries[page] & process.PAGEMAP_PRESENT
        assert child.ask("touch") == "ok"
        after = region_pages(memory, region)
        assert after is not None and before is not None
        assert after.present == before.present + 1
        assert after.anonymous == before.anonymous + 1
        assert "present" in after.details and after.summary.endswith("present")


def test_snapshot_buckets_sum_to_the_regions_counts(child: Child, monkeypatch) -> None:  # noqa: F811
    from mmhex.core import process_residency
    from mmhex.core.process_document import ProcessDocument
    from mmhex.core.process_residency import ProcessResidency
    from mmhex.core.residency import BucketLayout

    document = ProcessDocument.open(child.pid)
    try:
        tracker = ProcessResidency(document)
        snapshot = tracker.snapshot(overview_buckets=7, detail=BucketLayout(0, document.size, 3))
        readable = document.space.readable
        per_region = [region_pages(document.memory, region) for region in readable]
        for field in ("present", "swapped", "file_backed", "anonymous"):
            want = sum(getattr(counts, field) for counts in per_region)
            assert getattr(snapshot.totals, field) == want, field
            assert sum(getattr(snapshot.detail, field)) == want, field
        assert len(snapshot.overview) <= 7 and snapshot.unknown_pages == 0
        assert snapshot.totals.pages == document.size // process.PAGE_SIZE
        # Regions over the limit are counted as unknown, and the note says so.
        monkeypatch.setattr(process_residency, "MAX_COUNTED_PAGES", 1)
        limited = tracker.snapshot(overview_buckets=7, full=True)
        big = sum(r.size // process.PAGE_SIZE for r in readable if r.size > process.PAGE_SIZE)
        assert limited.unknown_pages == big > 0 and "not counted" in limited.note
        # ... but the view's window of such a region is read when it is small enough.
        offset = document.offset_of(child.info["file"])  # a two-page file mapping
        assert offset is not None
        view = tracker.snapshot(detail=BucketLayout(offset, offset + process.PAGE_SIZE, 1))
        assert view.detail is not None and view.detail.unknown == (0,)
        assert view.detail.counts(0) == reference(document.memory.pagemap(child.info["file"], 1))
        assert limited.totals.present == sum(
            counts.present
            for region, counts in zip(readable, per_region, strict=True)
            if region.size == process.PAGE_SIZE
        )
    finally:
        document.close()


def test_an_ended_process_is_said_to_have_ended(child: Child) -> None:  # noqa: F811
    from mmhex.core.process_document import ProcessDocument
    from mmhex.core.process_residency import ProcessResidency

    document = ProcessDocument.open(child.pid)
    try:
        tracker = ProcessResidency(document)
        assert tracker.snapshot().totals.present > 0
        child.stop()
        ended = tracker.snapshot(full=True)
        assert "has ended" in ended.note
        assert ended.totals.present == 0 and ended.unknown_pages == ended.totals.pages
    finally:
        document.close()


def test_the_map_around_the_view_is_fresh_and_the_whole_map_when_due(child: Child) -> None:  # noqa: F811
    from mmhex.core.process_document import ProcessDocument
    from mmhex.core.process_residency import ProcessResidency
    from mmhex.core.residency import BucketLayout

    document = ProcessDocument.open(child.pid)
    try:
        tracker = ProcessResidency(document)
        offset = document.offset_of(child.info["untouched"])
        assert offset is not None
        layout = BucketLayout(offset, offset + process.PAGE_SIZE, 1)
        first = tracker.snapshot(detail=layout)
        assert first.detail is not None and first.detail.present == (0,)
        assert child.ask("touch") == "ok"
        second = tracker.snapshot(detail=layout)
        assert second.detail is not None and second.detail.counts(0).anonymous == 1
        assert second.overview is first.overview  # not due yet: the last whole map
        third = tracker.snapshot(detail=layout, full=True)
        assert third.overview is not first.overview
        index = third.overview.layout.bucket_of(offset)
        assert third.overview.present[index] == first.overview.present[index] + 1
    finally:
        document.close()

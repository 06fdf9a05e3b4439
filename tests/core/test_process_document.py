"""ProcessDocument: a child's memory through the Document interface; search reads it through."""

from __future__ import annotations

import random
import re
import zlib
from pathlib import Path

import pytest

from mmhex.core.checksums import compute_checksums
from mmhex.core.document import Change, ChangeKind, EditError
from mmhex.core.mapping import MappedFile
from mmhex.core.process import ProcessAccessError
from mmhex.core.process_document import NoPageCacheError, ProcessDocument
from mmhex.core.read_through import ReadThrough, scannable
from mmhex.core.search import PatternKind, SearchOptions, SearchPattern, find_all, find_next
from tests.process_support import Child, child  # noqa: F401 (fixture)


class BytesSource:
    """A source with no MappedFile: only size and read (the reference is the bytes)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.path = "bytes"

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]


def test_reads_equal_the_childs_and_the_first_offset_is_the_first_region(child: Child) -> None:  # noqa: F811
    document = ProcessDocument.open(child.pid)
    try:
        info = child.info
        marker = bytes.fromhex(info["marker"])
        offset = document.offset_of(info["anon"])
        assert offset is not None
        assert document.read(offset, len(marker)) == marker
        assert document.read_original(offset, 16) == marker[:16]
        assert document.address_of(0) == document.space.readable[0].start
        assert document.size == sum(r.size for r in document.regions if r.readable)
        assert document.path == f"{document.name} (PID {child.pid})"
        assert not document.editing and not document.modified
        # Nothing has a page cache here: getattr falls back, a panel gets a sentence.
        assert getattr(document, "mapped", None) is None
        with pytest.raises(NoPageCacheError, match="Regions dock"):
            _ = document.mapped
    finally:
        document.close()


def test_search_finds_the_marker_through_the_read_through_path(child: Child) -> None:  # noqa: F811
    document = ProcessDocument.open(child.pid)
    try:
        assert isinstance(scannable(document), ReadThrough)
        # A scan that asks for ``scan_source`` and wants a MappedFile gets one too.
        assert isinstance(document.scan_source, MappedFile)
        assert document.scan_source.read(0, 64) == document.read(0, 64)
        marker = bytes.fromhex(child.info["marker"])[:21]
        pattern = SearchPattern(PatternKind.TEXT, marker.decode("latin-1"))
        result = find_all(document, pattern, limit=1000)
        addresses = [document.address_of(m.start) for m in result.matches]
        assert child.info["anon"] in addresses
        found = find_next(document, pattern, 0)
        assert found is not None
        assert document.read(found.match.start, len(marker)) == marker
        # Checksums read the same way: the selection's CRC-32 equals zlib's of its bytes.
        start = document.offset_of(child.info["anon"])
        assert start is not None
        sums = compute_checksums(document, start, start + 4096, ("CRC-32",))
        assert sums["CRC-32"] == f"{zlib.crc32(document.read(start, 4096)):08x}"
    finally:
        document.close()


@pytest.mark.parametrize("seed", range(4))
def test_read_through_scan_equals_a_reference_across_chunk_seams(seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(50_000))
    needle = b"NEEDLE"
    for _ in range(40):  # many of them straddle the small chunks' seams
        at = rng.randrange(0, len(data) - len(needle))
        data[at : at + len(needle)] = needle
    source = BytesSource(bytes(data))
    options = SearchOptions(chunk_size=rng.choice([7, 64, 1000, 4096]), use_lease=True)
    expected = [m.start() for m in re.finditer(b"(?=NEEDLE)", bytes(data))]
    found = find_all(source, SearchPattern(PatternKind.TEXT, "NEEDLE"), options=options)
    assert [m.start for m in found.matches] == expected
    regex = find_all(source, SearchPattern(PatternKind.REGEX, "NEE+DLE"), options=options)
    assert [m.start for m in regex.matches] == [m.start() for m in re.finditer(b"NEE+DLE", data)]
    back = find_next(source, SearchPattern(PatternKind.TEXT, "NEEDLE"), len(data), backward=True)
    assert back is not None and back.match.start == expected[-1]


def test_scannable_refuses_what_cannot_be_read() -> None:
    with pytest.raises(TypeError):
        scannable(object())


def test_a_confirmed_write_changes_the_child_and_undo_writes_it_back(child: Child) -> None:  # noqa: F811
    document = ProcessDocument.open(child.pid)
    changes: list[Change] = []
    document.add_listener(changes.append)
    try:
        address = child.info["second"]
        offset = document.offset_of(address)
        assert offset is not None
        with pytest.raises(EditError, match="read-only"):
            document.write(offset, b"X")
        document.confirm_editing = lambda _document: False
        with pytest.raises(EditError, match="not confirmed"):
            document.enable_editing()
        assert not document.editing
        asked: list[ProcessDocument] = []
        document.confirm_editing = lambda doc: asked.append(doc) or True
        document.enable_editing()
        assert asked == [document] and document.editing
        before = child.ask(f"peek {address} 16")
        edit = document.write(offset, b"WRITTEN BY MMHEX")
        assert child.ask(f"peek {address} 16") == b"WRITTEN BY MMHEX".hex()
        assert edit.old.hex() == before
        document.revert(edit)
        assert child.ask(f"peek {address} 16") == before
        document.apply(edit)
        assert child.ask(f"peek {address} 16") == b"WRITTEN BY MMHEX".hex()
        assert not document.modified  # live: nothing waits to be saved
        kinds = [change.kind for change in changes]
        assert kinds == [ChangeKind.MODE, ChangeKind.EDIT, ChangeKind.EDIT, ChangeKind.EDIT]
        document.disable_editing()
        with pytest.raises(EditError):
            document.write(offset, b"Y")
    finally:
        document.close()


def test_refresh_rereads_and_an_exit_is_reported_once(child: Child) -> None:  # noqa: F811
    document = ProcessDocument.open(child.pid)
    changes: list[Change] = []
    document.add_listener(changes.append)
    try:
        generation = document.generation
        change = document.refresh()
        assert change.kind is ChangeKind.RELOAD and document.generation == generation + 1
        assert document.check_outside_change() is None
        child.stop()
        exited = document.check_outside_change()
        assert exited is not None and "has exited" in exited.message
        assert document.check_outside_change() is None
    finally:
        document.close()


def test_save_as_writes_the_folded_memory(child: Child, tmp_path: Path) -> None:  # noqa: F811
    document = ProcessDocument.open(child.pid)
    try:
        target = tmp_path / "snapshot.bin"
        job = document.prepare_save_as(str(target))
        result = job.finish(job.run(None, None))
        assert result.changed_bytes == document.size == target.stat().st_size
        offset = document.offset_of(child.info["anon"])
        assert offset is not None
        marker = bytes.fromhex(child.info["marker"])
        assert target.read_bytes()[offset : offset + len(marker)] == marker
    finally:
        document.close()


def test_a_missing_process_is_explained() -> None:
    with pytest.raises(ProcessAccessError, match="There is no process"):
        ProcessDocument.open(2**22 + 12345)

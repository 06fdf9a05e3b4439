"""Who maps a file (a child process that maps it), private copies, dirty pages per bucket."""

from __future__ import annotations

import mmap
import os
import time

import pytest

from mmhex.core import _libc, mappers
from mmhex.core.document import Document
from tests.core.sparse_support import mapping_child

PAGE = mmap.PAGESIZE


def test_who_maps_includes_a_child_that_maps_the_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(os.urandom(64 * 1024))
    with mapping_child(path, 4096, 8192, writable=False) as pid:
        report = mappers.who_maps(str(path))
        assert pid in report.pids()
        mapper = next(m for m in report.mappers if m.pid == pid)
        assert [(r.start, r.end) for r in mapper.ranges] == [(4096, 4096 + 8192)]
        assert mapper.ranges[0].perms == "r--s" and mapper.shared  # ACCESS_READ is MAP_SHARED
        assert mapper.name == "python3" or mapper.name.startswith("python")
        assert os.getpid() not in report.pids()  # we do not map it
        assert report.scanned > 1 and "1 process maps this file" in report.summary()
    assert pid not in mappers.who_maps(str(path)).pids()


def test_parse_maps_matches_device_and_inode_only():
    st_dev = os.makedev(0xFE, 0x01)
    text = (
        "7f00-7f10 r--s 00002000 fe:01 42   /a\n"
        "7f10-7f20 r--p 00000000 fe:01 43   /b\n"
        "7f20-7f40 rw-p 00010000 fe:02 42   /c\n"
        "7f40-7f50 ---p 00000000 00:00 0\n"
    )
    got = mappers.parse_maps(text, st_dev, 42)
    assert got == [mappers.MappedRange(0x2000, 0x2010, "r--s", 0x7F00)]


def test_private_pages_equal_the_pages_written(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(os.urandom(40 * PAGE))
    document = Document.open(str(path))
    try:
        document.enable_editing()
        document.read(0, 40 * PAGE)  # read everything first: file pages, no copies
        written = [3 * PAGE + 5, 7 * PAGE, 7 * PAGE + 100, 39 * PAGE + PAGE - 1]
        for offset in written:
            document.write(offset, b"\xaa")
        expected = sorted({o - o % PAGE for o in written})
        assert mappers.private_page_offsets(document.mapped) == expected
    finally:
        document.close()


def test_dirty_buckets_fall_to_zero_after_sync(tmp_path):
    mib = 1024 * 1024
    path = tmp_path / "f"
    path.write_bytes(bytes(4 * mib))
    fd = os.open(path, os.O_RDWR)
    try:
        # Folios reach 2 MiB: a write dirties its whole folio, never one in another 2 MiB block.
        edges = (0, mib, 2 * mib, 4 * mib)
        try:
            mappers.dirty_buckets(fd, edges)
        except OSError as exc:
            pytest.skip(f"cachestat unavailable: {exc}")
        os.fsync(fd)
        os.pwrite(fd, b"x" * (2 * PAGE), 3 * mib + 5 * PAGE)
        before = mappers.dirty_buckets(fd, edges)
        assert before.dirty[:2] == (0, 0) and before.writeback[:2] == (0, 0)
        assert before.dirty[2] + before.writeback[2] >= 2
        whole = _libc.cachestat(fd, 0, 0)
        assert before.total_dirty == whole[1]
        os.fsync(fd)
        for _ in range(50):
            after = mappers.dirty_buckets(fd, edges)
            if after.total_dirty == after.total_writeback == 0:
                break
            time.sleep(0.01)
        assert after.total_dirty == 0 and after.total_writeback == 0
        assert _libc.cachestat(fd, 0, 0)[1] == 0
    finally:
        os.close(fd)


def test_who_maps_survives_a_mapped_file_name_that_is_not_utf8(tmp_path):
    """Any process may map a file whose name is not UTF-8 (a byte 0xff): the scan goes on."""
    odd = tmp_path / os.fsdecode(b"odd-\xff-name")
    odd.write_bytes(os.urandom(8192))
    wanted = tmp_path / "wanted"
    wanted.write_bytes(os.urandom(8192))
    with (
        mapping_child(odd, 0, 4096, writable=False) as odd_pid,
        mapping_child(wanted, 0, 4096, writable=False) as pid,
    ):
        report = mappers.who_maps(str(wanted))
        assert pid in report.pids() and odd_pid not in report.pids()
        assert odd_pid in mappers.who_maps(str(odd)).pids()

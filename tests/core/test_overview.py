"""Overview layers against references: data shares from a byte model, private pages equal the
pages written, dirty pages from a write falling to zero after fsync."""

from __future__ import annotations

import mmap
import os

import numpy as np
import pytest

from mmhex.core import overview
from mmhex.core.document import Document
from mmhex.core.overview import Layer

PAGE = mmap.PAGESIZE
MIB = 1 << 20


@pytest.fixture
def sparse(tmp_path):
    path = tmp_path / "f"
    with open(path, "wb") as f:
        f.truncate(16 * MIB)
        os.pwrite(f.fileno(), os.urandom(3 * PAGE), 5 * MIB)
        os.fsync(f.fileno())
    return path


def test_data_layer_shares_equal_a_page_model(sparse):
    document = Document.open(str(sparse))
    try:
        got = overview.compute(document, Layer.DATA, 100)
        flags = np.zeros(16 * MIB // PAGE, dtype=bool)
        flags[5 * MIB // PAGE : 5 * MIB // PAGE + 3] = True
        edges = np.asarray(got.edges)
        for i in range(len(edges) - 1):
            lo, hi = edges[i], edges[i + 1]
            covered = sum(
                min(hi, (p + 1) * PAGE) - max(lo, p * PAGE)
                for p in np.nonzero(flags)[0]
                if p * PAGE < hi and (p + 1) * PAGE > lo
            )
            assert got.values[i, 0] == pytest.approx(covered / (hi - lo))
        assert np.allclose(got.values.sum(axis=1), 1)
    finally:
        document.close()


def test_pages_layer_private_copies_and_dirty_pages(sparse):
    document = Document.open(str(sparse))
    try:
        document.enable_editing()
        written = [1 * MIB + 10, 1 * MIB + PAGE + 1, 9 * MIB]
        for offset in written:
            document.write(offset, b"\xee")
        got = overview.compute(document, Layer.PAGES, 16)  # 1 MiB buckets
        private_pages = np.round(got.values[:, 0] * MIB / PAGE).astype(int)
        expected = np.zeros(16, dtype=int)
        for offset in {o - o % PAGE for o in written}:
            expected[offset // MIB] += 1
        assert private_pages.tolist() == expected.tolist()
        fd = os.open(sparse, os.O_RDWR)
        try:
            os.pwrite(fd, b"x" * PAGE, 12 * MIB)  # another writer's page, not yet written back
            dirty = overview.compute(document, Layer.PAGES, 16)
            if np.isnan(dirty.values[12, 1]):
                pytest.skip(dirty.note)
            assert dirty.values[12, 1] + dirty.values[12, 2] > 0
            os.fsync(fd)
            after = overview.compute(document, Layer.PAGES, 16)
            assert after.values[:, 1].sum() == 0 and after.values[:, 2].sum() == 0
        finally:
            os.close(fd)
    finally:
        document.close()


def test_every_layer_has_one_row_per_bucket(sparse):
    document = Document.open(str(sparse))
    try:
        for layer in Layer:
            got = overview.compute(document, layer, 37)
            assert len(got.values) == len(got.edges) - 1 == 37
            assert got.edges[0] == 0 and got.edges[-1] == 16 * MIB
    finally:
        document.close()


def test_a_document_without_a_file_gets_entropy_and_no_file_layers():
    class Memory:  # what a process's memory looks like to the overview: size and read only
        size = 64 * 1024

        def read(self, offset, length):
            return bytes((offset + i) % 7 for i in range(min(length, self.size - offset)))

    source = Memory()
    got = overview.compute(source, Layer.ENTROPY, 8)
    assert got.values[:, 0] * 8 == pytest.approx([np.log2(7)] * 8, abs=0.01)
    for layer in (Layer.DATA, Layer.RESIDENCY, Layer.PAGES):
        assert overview.compute(source, layer, 8).note == "Not a file."


def test_file_layers_follow_the_pieces_after_an_insert(sparse):
    """1 MiB inserted at offset 0: the hole layer at document offset X is the hole map at file
    offset X - 1 MiB, and the inserted bytes are in memory, not in the file."""
    from mmhex.core.holes import hole_map

    document = Document.open(str(sparse))
    try:
        document.enable_editing()
        document.insert(0, b"\x01" * MIB)
        buckets = document.size // PAGE  # one page per bucket
        got = overview.compute(document, Layer.DATA, buckets)
        holes = hole_map(document.mapped)
        assert got.edges == tuple(range(0, document.size + 1, PAGE))
        for i, x in enumerate(got.edges[:-1]):
            if x < MIB:
                assert got.not_in_file[i] == 1 and got.values[i].sum() == 0
                continue
            assert got.not_in_file[i] == 0
            assert got.values[i, 2] == (1.0 if holes.is_hole(x - MIB) else 0.0), x
            assert got.values[i, 0] == (0.0 if holes.is_hole(x - MIB) else 1.0), x
        assert got.values[(MIB + 5 * MIB) // PAGE, 0] == 1.0  # the data moved by 1 MiB
        assert got.values[5 * MIB // PAGE, 2] == 1.0  # and its old place is a hole now
    finally:
        document.close()


def test_residency_and_private_pages_follow_the_pieces(sparse):
    fd = os.open(sparse, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    document = Document.open(str(sparse))
    try:
        document.enable_editing()
        document.insert(0, b"\x01" * MIB)
        document.delete(2 * MIB, MIB)  # file [1 MiB, 2 MiB) goes: file X >= 2 MiB is at X again
        data = os.pread(document.mapped.fd, 3 * PAGE, 5 * MIB)  # the data pages into the cache
        assert len(data) == 3 * PAGE
        buckets = document.size // PAGE
        got = overview.compute(document, Layer.RESIDENCY, buckets)
        if np.isnan(got.values).all():
            pytest.skip(got.note)
        at = (5 * MIB) // PAGE  # document page of file offset 5 MiB (deleted MiB is after 1 MiB)
        assert document.read(5 * MIB, 3 * PAGE) == data  # check the mapping, not our arithmetic
        assert got.values[at : at + 3, 0].tolist() == [1.0, 1.0, 1.0]
        assert got.values[: MIB // PAGE, 0].sum() == 0  # inserted: in memory, not the file's
        assert got.not_in_file[: MIB // PAGE].tolist() == [1.0] * (MIB // PAGE)
        document.write(10 * MIB + 5, b"\xee")  # file offset 10 MiB + 5
        pages = overview.compute(document, Layer.PAGES, buckets)
        assert pages.values[10 * MIB // PAGE, 0] == 1.0
        assert pages.values[:, 0].sum() == 1.0  # that one private copy, nowhere else
    finally:
        document.close()

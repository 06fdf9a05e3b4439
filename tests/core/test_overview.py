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

"""Data/hole maps equal a block-by-block SEEK_DATA walk and filefrag's extents (tmpfs, ext4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmhex.core import holes
from mmhex.core.document import Document
from mmhex.core.extents import extents_of
from tests.core.sparse_support import (
    MIB,
    SIZE,
    ext4_mount,
    filefrag_extents,
    make_sparse,
    reference_data_runs,
)


def _merge(runs):
    return holes.union(list(runs))


def _check_against_reference(path: Path, model: bytes) -> holes.HoleMap:
    found = holes.walk_path(str(path))
    assert found.exact and found.size == SIZE
    assert list(found.data) == reference_data_runs(path)
    # Every byte written is inside a data run; every hole reads as zeros.
    for start, end in found.holes():
        assert model[start:end] == bytes(end - start)
    assert found.data_bytes + found.hole_bytes == SIZE
    return found


@pytest.fixture(params=["tmpfs", "tmp_path"])
def sparse_dir(request, tmp_path):
    if request.param == "tmpfs":
        if not os.path.isdir("/dev/shm"):
            pytest.skip("no /dev/shm (tmpfs) here")
        import tempfile

        with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
            yield Path(d)
    else:
        yield tmp_path


def test_walk_equals_reference_walk(sparse_dir):
    path = sparse_dir / "sparse.bin"
    model = make_sparse(path)
    found = _check_against_reference(path, model)
    assert found.hole_bytes > 6 * MIB  # the layout really is sparse here
    assert found.is_hole(2 * MIB) and not found.is_hole(0) and not found.is_hole(9 * MIB + 10)


def test_tmpfs_has_no_extent_list_and_says_so():
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        path = Path(d) / "f"
        make_sparse(path)
        assert filefrag_extents(path) is None  # filefrag: FIBMAP/FIEMAP unsupported
        got = extents_of(str(path))
        assert not got.supported and got.extents == ()
        assert "does not list extents" in got.error


def test_ext4_data_and_extents_equal_filefrag(tmp_path):
    with ext4_mount(tmp_path) as mnt:
        path = mnt / "sparse.bin"
        model = make_sparse(path)
        found = _check_against_reference(path, model)
        reference = filefrag_extents(path)
        assert reference is not None and reference
        ours = extents_of(str(path))
        assert [(e.logical, e.physical, e.length) for e in ours.extents] == [
            (r[0], r[1], r[2]) for r in reference
        ]
        assert [e.flag_names for e in ours.extents] == [r[3] for r in reference]
        # Written extents are the data runs (page-rounded); preallocated ones are unwritten holes.
        written = _merge((r[0], r[0] + r[2]) for r in reference if "unwritten" not in r[3])
        assert [(s, min(e, SIZE)) for s, e in written] == list(found.data)
        unwritten = [(r[0], r[0] + r[2]) for r in reference if "unwritten" in r[3]]
        assert unwritten == ours.unwritten_ranges() and unwritten
        assert all(found.is_hole(s) for s, _ in unwritten)


def test_cached_map_refreshes_after_a_hole_is_filled(tmp_path):
    path = tmp_path / "f"
    make_sparse(path)
    document = Document.open(str(path))
    try:
        first = holes.hole_map(document.mapped)
        assert holes.hole_map(document.mapped) is first  # cached
        with open(path, "r+b") as f:
            os.pwrite(f.fileno(), b"x" * 4096, 2 * MIB)
        second = holes.hole_map(document.mapped)
        assert second is not first and not second.is_hole(2 * MIB)
    finally:
        document.close()


def test_walk_is_bounded_on_fragmented_files(tmp_path):
    path = tmp_path / "f"
    make_sparse(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        bounded = holes.walk(fd, SIZE, max_runs=2)
    finally:
        os.close(fd)
    assert not bounded.exact and len(bounded.data) == 3
    assert bounded.data[-1][1] == SIZE  # everything past the limit counts as data


def test_edits_in_holes_count_as_data(tmp_path):
    path = tmp_path / "f"
    make_sparse(path)
    document = Document.open(str(path))
    try:
        document.enable_editing()
        document.write(3 * MIB + 7, b"\x01\x02")
        runs = holes.readable_runs(document, 0, SIZE)
        assert any(s <= 3 * MIB + 7 and e >= 3 * MIB + 9 for s, e in runs)
        assert holes.readable_runs(document.mapped, 0, SIZE) == [(0, SIZE)]  # unknown edits
    finally:
        document.close()


def test_range_helpers_against_a_byte_model():
    import random

    rng = random.Random(5)
    for _ in range(200):
        size = rng.randrange(1, 200)
        flags = [rng.random() < 0.4 for _ in range(size)]
        runs = _merge((i, i + 1) for i, f in enumerate(flags) if f)
        lo = rng.randrange(0, size)
        hi = rng.randrange(lo, size + 1)
        assert holes.clip(runs, lo, hi) == _merge((i, i + 1) for i in range(lo, hi) if flags[i])
        assert holes.complement(runs, lo, hi) == _merge(
            (i, i + 1) for i in range(lo, hi) if not flags[i]
        )
        m = holes.HoleMap(size, tuple(runs))
        assert [m.is_hole(i) for i in range(size)] == [not f for f in flags]

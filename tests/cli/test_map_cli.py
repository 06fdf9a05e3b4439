"""`mmhex map` against a block-by-block SEEK_DATA walk and filefrag -v (ext4 loop); `mmhex
residency --who` lists a child that maps the file; `mmhex dump` of a sparse file equals xxd."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.core.sparse_support import (
    SIZE,
    ext4_mount,
    filefrag_extents,
    make_sparse,
    mapping_child,
    reference_data_runs,
)
from tests.residency_support import ROOT


def mmhex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmhex", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_map_json_equals_the_reference_walk(tmp_path):
    path = tmp_path / "sparse.bin"
    make_sparse(path)
    done = mmhex("map", str(path), "--json")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["size"] == SIZE and info["exact"]
    data = [(r["start"], r["end"]) for r in info["ranges"] if r["kind"] == "data"]
    assert data == reference_data_runs(path)
    holes = [(r["start"], r["end"]) for r in info["ranges"] if r["kind"] == "hole"]
    assert sum(e - s for s, e in holes) == info["hole_bytes"] == SIZE - info["data_bytes"]
    starts = [r["start"] for r in info["ranges"]]
    ends = [r["end"] for r in info["ranges"]]
    assert starts[0] == 0 and ends[-1] == SIZE and starts[1:] == ends[:-1]  # no gap, no overlap
    text = mmhex("map", str(path)).stdout
    assert text.splitlines()[0].startswith(f"{path}: {SIZE:,} bytes")
    assert len(text.splitlines()) == 1 + len(info["ranges"])


def test_map_extents_equal_filefrag_on_ext4(tmp_path):
    with ext4_mount(tmp_path) as mnt:
        path = mnt / "sparse.bin"
        make_sparse(path)
        info = json.loads(mmhex("map", str(path), "--json", "--extents").stdout)
        reference = filefrag_extents(path)
        assert [
            (e["logical"], e["physical"], e["length"], tuple(e["flags"])) for e in info["extents"]
        ] == reference
        text = mmhex("map", str(path), "--extents").stdout
        assert f"{len(reference)} extents" in text and "unwritten" in text


def test_map_on_tmpfs_says_extents_are_not_listed():
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
        path = os.path.join(d, "f")
        make_sparse(__import__("pathlib").Path(path))
        info = json.loads(mmhex("map", path, "--json", "--extents").stdout)
        assert info["extents"] is None and "FIEMAP" in info["extents_error"]


def test_map_errors_are_sentences(tmp_path):
    done = mmhex("map", str(tmp_path / "missing"))
    assert (
        done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr
    )
    done = mmhex("map", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_residency_who_lists_a_child_mapping_the_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(os.urandom(64 * 1024))
    with mapping_child(path, 8192, 4096, writable=True) as pid:
        done = mmhex("residency", str(path), "--who", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)["files"][0]
        mine = [p for p in report["processes"] if p["pid"] == pid]
        assert mine and mine[0]["ranges"] == [{"start": 8192, "end": 12288, "perms": "rw-s"}]
        text = mmhex("residency", str(path), "--who").stdout
        assert any(
            line.split()[:1] == [str(pid)] and "0x2000" in line for line in text.splitlines()
        )


def test_dump_of_a_sparse_file_equals_xxd(tmp_path):
    path = tmp_path / "sparse.bin"
    make_sparse(path)
    for skip, length in ((1024 * 1024 - 40, 4200), (0, 300), (4 * 1024 * 1024 - 17, 64)):
        ours = mmhex("dump", str(path), "-s", str(skip), "-n", str(length)).stdout
        reference = subprocess.run(
            ["xxd", "-s", str(skip), "-l", str(length), str(path)], capture_output=True, text=True
        ).stdout
        assert ours == reference

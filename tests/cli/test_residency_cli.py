"""`mmhex residency` against util-linux fincore: same table, same counts; JSON; errors; nobody."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmhex.cli import main
from mmhex.commands.residency import fincore_size
from tests.residency_support import (
    PAGE,
    ROOT,
    disk_dir,  # noqa: F401  (fixture)
    evict,
    fincore_pages,
    make_resident,
    nobody,  # noqa: F401  (fixture)
    require_fincore,
    run_as_nobody,
    shared_dir,  # noqa: F401  (fixture)
    write_random_file,
)

PAGES = 600
CHOSEN = [0, 3, 4, 5, 100, 101, 333, 599]


def fincore(*args: str) -> str:
    return subprocess.run(["fincore", *args], check=True, capture_output=True, text=True).stdout


def mmhex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmhex", "residency", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def files(disk_dir: Path) -> list[Path]:  # noqa: F811
    """A partly resident file, an empty one, and a few odd sizes (sparse, never cached)."""
    partly = disk_dir / "partly.bin"
    write_random_file(partly, PAGES * PAGE - 1000)
    make_resident(partly, CHOSEN)
    empty = disk_dir / "empty.bin"
    empty.write_bytes(b"")
    odd = []
    for size in (1, 1023, 1536, 10_000, 1_153_434, 5_000_000_000):
        path = disk_dir / f"sparse-{size}.bin"
        with open(path, "wb") as handle:
            handle.truncate(size)
        evict(path)
        odd.append(path)
    return [partly, empty, *odd]


def test_table_is_fincores(files: list[Path]) -> None:
    names = [str(path) for path in files]
    result = mmhex(*names)
    assert result.returncode == 0, result.stderr
    assert result.stdout == fincore(*names)
    in_bytes = mmhex("--bytes", *names)
    assert in_bytes.stdout == fincore("--bytes", *names)
    assert in_bytes.stderr == ""


def test_json_counts_and_buckets(files: list[Path]) -> None:
    partly = files[0]
    result = mmhex("--json", "--buckets", "7", str(partly), str(files[1]))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    first, empty = report["files"]
    assert first["pages"] == fincore_pages(partly) == len(CHOSEN)
    assert first["res"] == len(CHOSEN) * PAGE
    assert first["size"] == partly.stat().st_size and first["total_pages"] == PAGES
    assert first["known"] is True
    buckets = first["buckets"]
    assert len(buckets) == 7
    assert sum(bucket["pages"] for bucket in buckets) == PAGES
    assert buckets[0]["offset"] == 0
    assert buckets[-1]["offset"] + buckets[-1]["length"] == first["size"]
    for bucket in buckets:
        first_page = bucket["offset"] // PAGE
        last_page = -(-(bucket["offset"] + bucket["length"]) // PAGE)
        assert bucket["resident"] == sum(1 for p in CHOSEN if first_page <= p < last_page)
    if first["method"] == "cachestat":
        assert first["dirty"] == 0 and all("recently_evicted" in b for b in buckets)
    assert empty["pages"] == 0 and empty["buckets"] == []
    no_buckets = json.loads(mmhex("--json", "--buckets", "0", str(partly)).stdout)
    assert no_buckets["files"][0]["buckets"] is None


def test_touch_and_evict(files: list[Path]) -> None:
    partly = str(files[0])
    touched = mmhex("--touch", "--json", partly)
    assert touched.returncode == 0, touched.stderr
    report = json.loads(touched.stdout)["files"][0]
    assert report["action"]["resident_before"] == len(CHOSEN)
    assert report["action"]["resident_after"] == PAGES == report["pages"]
    assert fincore_pages(partly) == PAGES
    assert "Touch 0x0–" in touched.stderr
    evicted = mmhex("--evict", partly)
    assert evicted.returncode == 0
    assert evicted.stdout == fincore(partly)
    assert fincore_pages(partly) == 0
    assert mmhex("--touch", "--evict", partly).returncode == 2  # one or the other


def test_one_message_per_unreadable_file(files: list[Path], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    missing = tmp_path / "missing"
    result = mmhex(str(missing), str(files[0]), str(tmp_path), str(fifo))
    assert result.returncode == 1
    assert result.stdout == fincore(str(files[0]))
    lines = result.stderr.splitlines()
    assert lines == [
        f"mmhex residency: {missing}: The file does not exist.",
        f"mmhex residency: {tmp_path}: This is a directory, not a file.",
        f"mmhex residency: {fifo}: This is a named pipe (FIFO): it has no fixed contents to map.",
    ]
    only_bad = mmhex(str(missing))
    assert only_bad.returncode == 1 and only_bad.stdout == ""


def test_bad_arguments() -> None:
    assert mmhex("--buckets", "-3", "x").returncode == 2
    assert mmhex("--buckets", "many", "x").returncode == 2
    assert mmhex().returncode == 2


def test_runs_without_qt(files: list[Path]) -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from mmhex.cli import main\n"
        f"sys.exit(main(['residency', {str(files[0])!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == fincore(str(files[0]))


def test_each_file_alone_in_process(files: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """Column widths depend on the values (fincore's width hints): check each file alone."""
    for path in files:
        for options in ([], ["--bytes"]):
            assert main(["residency", *options, str(path)]) == 0
            assert capsys.readouterr().out == fincore(*options, str(path)), (path, options)


@pytest.mark.parametrize(
    ("size", "text"),
    # printed by util-linux 2.38 fincore for sparse files of these sizes
    [
        (0, "0B"),
        (1, "1B"),
        (1000, "1000B"),
        (1023, "1023B"),
        (1024, "1K"),
        (1536, "1.5K"),
        (1600, "1.6K"),
        (4095, "4K"),
        (10_000, "9.8K"),
        (1_048_575, "1024K"),
        (1_100_000, "1M"),
        (1_153_434, "1.1M"),
        (5_000_000_000, "4.7G"),
        (1 << 40, "1T"),
    ],
)
def test_size_format_known_values(size: int, text: str) -> None:
    assert fincore_size(size) == text


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 1 << 30), min_size=1, max_size=20))
def test_size_format_matches_util_linux(sizes: list[int]) -> None:
    """fincore's SIZE column for many sizes at once (sparse files on tmpfs cost nothing; fincore
    walks every page with mincore, so sizes stay below 1 GiB)."""
    require_fincore()
    directory = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None
    if directory is None:
        pytest.skip("no /dev/shm for huge sparse files")
    paths = []
    try:
        for index, size in enumerate(sizes):
            path = directory / f"mmhex-size-{os.getpid()}-{index}"
            with open(path, "wb") as handle:
                handle.truncate(size)
            paths.append(path)
        out = fincore("--noheadings", "--raw", "--output", "SIZE", *map(str, paths))
        assert out.split() == [fincore_size(size) for size in sizes]
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def test_unknown_for_nobody(
    nobody: tuple[str, Path],  # noqa: F811
    shared_dir: Path,  # noqa: F811
) -> None:
    python, package = nobody
    path = shared_dir / "root-owned.bin"
    write_random_file(path, 64 * PAGE)
    path.chmod(0o644)
    evict(path)
    table = run_as_nobody(python, package, "-m", "mmhex", "residency", str(path))
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines() == [
        "    RES   PAGES  SIZE FILE",
        f"unknown unknown  256K {path}",
    ]
    assert "neither write nor own" in table.stderr
    as_json = run_as_nobody(python, package, "-m", "mmhex", "residency", "--json", str(path))
    report = json.loads(as_json.stdout)["files"][0]
    assert report["known"] is False and report["pages"] is None and report["res"] is None
    assert all(bucket["resident"] is None for bucket in report["buckets"])
    # fincore, run as nobody, claims every page: the lie mmhex does not repeat
    lie = subprocess.run(
        ["runuser", "-u", "nobody", "--", "fincore", "-rnb", "-o", "PAGES", str(path)],
        capture_output=True,
        text=True,
    )
    assert lie.stdout.strip() == "64"
    assert fincore_pages(path) == 0


def test_unreadable_for_nobody(
    nobody: tuple[str, Path],  # noqa: F811
    shared_dir: Path,  # noqa: F811
) -> None:
    python, package = nobody
    secret = shared_dir / "secret.bin"
    write_random_file(secret, PAGE)
    secret.chmod(0o600)
    readable = shared_dir / "readable.bin"
    write_random_file(readable, PAGE)
    readable.chmod(0o644)
    result = run_as_nobody(python, package, "-m", "mmhex", "residency", str(secret), str(readable))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        f"mmhex residency: {secret}: Permission denied: you are not allowed to read this file."
    )
    assert result.stdout.splitlines()[1].endswith(str(readable))

"""`mmhex cmp` against GNU `cmp -l`: stdout, stderr and exit status byte for byte; --ranges."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.cli import main
from tests.cmp_support import ranges_from_cmp_l
from tests.core.test_block_device import loop_device  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
SMALL_WINDOW = 64 * 1024  # --window: window edges at cheap sizes
WINDOW = 16 * MIB  # the default window

pytestmark = pytest.mark.skipif(shutil.which("cmp") is None, reason="GNU cmp needed")


def gnu_cmp(*argv: str) -> tuple[int, bytes, bytes]:
    done = subprocess.run(["cmp", *argv], capture_output=True, check=False)
    return done.returncode, done.stdout, done.stderr


def ours(capfdbinary, *argv: str) -> tuple[int, bytes, bytes]:
    status = main(["cmp", *argv])
    out, err = capfdbinary.readouterr()
    return status, out, err


def random_pair(rng: random.Random, case: int) -> tuple[bytes, bytes]:
    """Equal, one byte apart, scattered, different lengths, empty: by case number."""
    kind = case % 7
    size = rng.choice([1, 2, 100, 4095, SMALL_WINDOW, SMALL_WINDOW + 1, 3 * SMALL_WINDOW + 77])
    a = rng.randbytes(size)
    b = bytearray(a)
    if kind == 1:
        b[rng.randrange(size)] ^= rng.randint(1, 255)
    elif kind in (2, 3):
        for _ in range(rng.randint(2, 400)):
            b[rng.randrange(size)] ^= rng.randint(1, 255)
    elif kind == 4:  # differences on window edges
        for edge in range(SMALL_WINDOW, size, SMALL_WINDOW):
            b[edge - 1] ^= 1
            b[edge] ^= 0x80
    if kind == 3 or kind == 5:  # different lengths, with or without differences before
        cut = rng.randint(0, size)
        return (a, bytes(b[:cut])) if rng.random() < 0.5 else (bytes(b[:cut]), a)
    if kind == 6:
        return (b"", a) if rng.random() < 0.5 else (a, b"")
    return a, bytes(b)


def test_120_random_pairs_identical_to_cmp_l(tmp_path, capfdbinary):
    rng = random.Random(1414)
    path_a, path_b = str(tmp_path / "a.bin"), str(tmp_path / "b.bin")
    seen_status = set()
    for case in range(120):
        a, b = random_pair(rng, case)
        Path(path_a).write_bytes(a)
        Path(path_b).write_bytes(b)
        expected = gnu_cmp("-l", path_a, path_b)
        window = ["--window", str(SMALL_WINDOW)] if case % 2 else []
        assert ours(capfdbinary, *window, path_a, path_b) == expected, case
        seen_status.add(expected[0])
        assert ours(capfdbinary, "--ranges", *window, path_a, path_b)[1] == b"".join(
            f"{o} {n}\n".encode() for o, n in ranges_from_cmp_l(expected[1])
        )
    assert seen_status == {0, 1}


def test_both_empty_and_identical_paths(tmp_path, capfdbinary):
    empty = tmp_path / "e"
    empty.write_bytes(b"")
    assert ours(capfdbinary, str(empty), str(empty)) == gnu_cmp("-l", str(empty), str(empty))
    data = tmp_path / "d"
    data.write_bytes(os.urandom(5000))
    assert ours(capfdbinary, str(data), str(data)) == (0, b"", b"")


def test_differences_on_16_mib_window_edges(tmp_path, capfdbinary):
    rng = random.Random(16)
    a = bytearray(rng.randbytes(2 * WINDOW + 999))
    b = bytearray(a)
    for offset in (0, WINDOW - 1, WINDOW, WINDOW + 1, 2 * WINDOW - 1, 2 * WINDOW, len(b) - 1):
        b[offset] ^= 0x5A
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b[:-500])  # and B ends early
    expected = gnu_cmp("-l", str(tmp_path / "a"), str(tmp_path / "b"))
    assert expected[0] == 1 and b"EOF on" in expected[2]
    assert ours(capfdbinary, str(tmp_path / "a"), str(tmp_path / "b")) == expected


@pytest.mark.parametrize("which", ["missing", "directory"])
def test_errors_like_cmp(tmp_path, capfdbinary, which):
    real = tmp_path / "real"
    real.write_bytes(b"abc")
    bad = str(tmp_path / "nope") if which == "missing" else str(tmp_path)
    for argv in ((bad, str(real)), (str(real), bad)):
        status, out, err = ours(capfdbinary, *argv)
        assert (status, out, err) == gnu_cmp("-l", *argv)
        assert status == 2 and err.startswith(b"cmp: ")


def test_fifo_is_refused_with_a_sentence(tmp_path, capfdbinary):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    real = tmp_path / "real"
    real.write_bytes(b"abc")
    status, out, err = ours(capfdbinary, str(real), str(fifo))
    assert status == 2 and out == b"" and b"named pipe" in err


def test_subprocess_exit_status_and_no_qt(tmp_path):
    (tmp_path / "a").write_bytes(b"hello world")
    (tmp_path / "b").write_bytes(b"hello World")
    code = (
        "import sys; sys.modules['PySide6'] = None; from mmhex.cli import main; "
        f"sys.exit(main(['cmp', {str(tmp_path / 'a')!r}, {str(tmp_path / 'b')!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, check=False)
    assert (done.returncode, done.stdout, done.stderr) == gnu_cmp(
        "-l", str(tmp_path / "a"), str(tmp_path / "b")
    )
    assert done.returncode == 1


def test_sparse_files_compare_in_seconds(tmp_path, capfdbinary):
    size = 256 * 1024**3  # 256 GiB each, holes but for a few bytes
    for name, spots in (
        ("a", {1: b"x", 200 * 1024**3: b"yy"}),
        ("b", {1: b"x", 200 * 1024**3: b"yz"}),
    ):
        with open(tmp_path / name, "wb") as f:
            f.truncate(size)
            for offset, data in spots.items():
                f.seek(offset)
                f.write(data)
    status, out, err = ours(capfdbinary, str(tmp_path / "a"), str(tmp_path / "b"))
    assert status == 1 and err == b""
    assert out == f"{200 * 1024**3 + 2} 171 172\n".encode()


def test_silent_and_verbose_flags_like_cmp(tmp_path, capfdbinary):
    files = {"same": b"abc", "other": b"abd", "short": b"ab", "empty": b""}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in files] + [str(tmp_path / "missing")]
    for first in paths:
        for second in paths[:2]:
            assert ours(capfdbinary, "-s", first, second) == gnu_cmp("-s", first, second)
            assert ours(capfdbinary, "-l", first, second) == gnu_cmp("-l", first, second)


def test_block_device_like_cmp(loop_device, tmp_path, capfdbinary):  # noqa: F811
    device, data = loop_device
    changed = bytearray(data)
    for offset in (0, 4095, 4096, 1024 * 1024, len(data) - 1):
        changed[offset] ^= 0xFF
    (tmp_path / "image").write_bytes(changed)
    for argv in ((device, str(tmp_path / "image")), (str(tmp_path / "image"), device)):
        assert ours(capfdbinary, *argv) == gnu_cmp("-l", *argv)
    # The same device twice: equal (and not read: same device and inode).
    assert ours(capfdbinary, device, device) == gnu_cmp("-l", device, device)


@pytest.mark.parametrize(("size_a", "size_b"), [(1_300_000, 1_300_000), (2_500_000, 400_000)])
def test_dense_differences_identical_to_cmp_l(tmp_path, capfdbinary, size_a, size_b):
    """Every byte differs: offsets cross thousands, gain digits, and are padded (2nd case)."""
    rng = random.Random(size_a)
    a = rng.randbytes(size_a)
    b = bytes(x ^ rng.randint(1, 255) for x in a[:size_b])
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b)
    argv = (str(tmp_path / "a"), str(tmp_path / "b"))
    assert ours(capfdbinary, *argv) == gnu_cmp("-l", *argv)

"""`mmhex find` and `mmhex dump` against grep -obUaP, brute force, xxd and hexdump -C -v."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.cli import main

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
WINDOW = 16 * MIB  # the CLI's mapping window: plant matches across its boundaries


def run_cli(capfdbinary, *argv: str) -> tuple[int, bytes, bytes]:
    status = main(list(argv))
    out, err = capfdbinary.readouterr()
    return status, out, err


def brute_force(data: bytes, needle: bytes) -> list[int]:
    found, pos = [], data.find(needle)
    while pos >= 0:
        found.append(pos)
        pos = data.find(needle, pos + 1)
    return found


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A bit over two windows of random bytes with needles on and around window boundaries."""
    rng = random.Random(42)
    data = bytearray(rng.randbytes(2 * WINDOW + 12345))
    needle = b"\x00NEEDLE\xff"
    offsets = [0, 77, WINDOW - 20, WINDOW - 7, WINDOW + 1, 2 * WINDOW - 3, len(data) - len(needle)]
    for off in offsets:
        data[off : off + len(needle)] = needle
    path = tmp_path_factory.mktemp("find") / "big.bin"
    path.write_bytes(data)
    return str(path), bytes(data), needle, offsets


def grep(path: str, pcre: bytes) -> list[int]:
    result = subprocess.run(
        ["grep", "-obUaP", pcre, path], capture_output=True, env={"LC_ALL": "C"}, check=False
    )
    return [int(line.split(b":", 1)[0]) for line in result.stdout.splitlines()]


@pytest.mark.skipif(shutil.which("grep") is None, reason="grep needed")
def test_find_text_hex_regex_match_grep_and_brute_force(capfdbinary, big_file):
    path, data, needle, offsets = big_file
    expected = brute_force(data, needle)
    assert set(offsets) <= set(expected)
    pcre = b"".join(b"\\x%02x" % b for b in needle)
    assert grep(path, pcre) == expected

    status, out, err = run_cli(capfdbinary, "find", path, "--hex", needle.hex(" "))
    assert (status, err) == (0, b"")
    assert [int(x) for x in out.split()] == expected

    wildcard = "00 4E ?? 45 44 4C 45 F?"
    status, out, _ = run_cli(capfdbinary, "find", path, "--hex", wildcard)
    pcre_wild = rb"\x00\x4e[\x00-\xff]\x45\x44\x4c\x45[\xf0-\xff]"
    assert [int(x) for x in out.split()] == grep(path, pcre_wild)

    regex = rb"\x00NE+DLE[\xf0-\xff]"
    status, out, _ = run_cli(capfdbinary, "find", path, "--regex", os.fsdecode(regex))
    assert [int(x) for x in out.split()] == grep(path, regex) == expected

    status, out, _ = run_cli(capfdbinary, "find", path, "--hex", needle.hex(), "--count")
    assert (status, out) == (0, f"{len(expected)}\n".encode())


def test_find_text_encodings_case_and_overlap(capfdbinary, tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(b"aaaa" + "Straße".encode("utf-16-le") + b"..STRASSE.." + "straße".encode())
    status, out, _ = run_cli(capfdbinary, "find", str(path), "aa")
    assert status == 0 and out.split() == [b"0", b"1", b"2"]  # overlapping matches are all reported
    _, out, _ = run_cli(capfdbinary, "find", str(path), "--encoding", "utf-16-le", "-i", "STRAßE")
    assert out.split() == [b"4"]
    _, out, _ = run_cli(capfdbinary, "find", str(path), "-i", "STRA")
    assert out.split() == [b"18", b"27"]
    _, out, _ = run_cli(capfdbinary, "find", str(path), "--regex", "-i", "s[tr]+a")
    assert out.split() == [b"18", b"27"]


def test_find_exit_status_and_errors(capfdbinary, tmp_path):
    path = tmp_path / "e.bin"
    path.write_bytes(b"hello")
    assert run_cli(capfdbinary, "find", str(path), "absent") == (1, b"", b"")
    status, out, err = run_cli(capfdbinary, "find", str(path), "--hex", "4G")
    assert status == 2 and out == b""
    assert err.decode().startswith("mmhex find: '4G' is not hex") and err.count(b"\n") == 1
    status, _, err = run_cli(capfdbinary, "find", str(tmp_path / "missing"), "x")
    assert status == 2 and b"does not exist" in err and b"Traceback" not in err
    status, _, err = run_cli(capfdbinary, "find", str(tmp_path), "x")
    assert status == 2 and b"directory" in err
    status, _, err = run_cli(capfdbinary, "find", str(path), "--regex", "x*")
    assert status == 2 and b"empty string" in err
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert run_cli(capfdbinary, "find", str(empty), "--count", "x") == (1, b"0\n", b"")


# ===================================================================== dump
def tool_output(fmt: str, path: str, start: int, length: int | None) -> bytes:
    if fmt == "xxd":
        cmd = ["xxd", "-s", str(start)] + ([] if length is None else ["-l", str(length)])
    else:
        cmd = ["hexdump", "-C", "-v", "-s", str(start)] + (
            [] if length is None else ["-n", str(length)]
        )
    return subprocess.run([*cmd, path], capture_output=True, check=True).stdout


@pytest.mark.skipif(not (shutil.which("xxd") and shutil.which("hexdump")), reason="tools needed")
@pytest.mark.parametrize("fmt", ["xxd", "canonical"])
def test_dump_matches_tools_on_odd_files(capfdbinary, tmp_path, fmt):
    rng = random.Random(7)
    for size in (0, 1, 31, 4097, 70001):
        path = tmp_path / f"d{size}.bin"
        path.write_bytes(rng.randbytes(size))
        for start in sorted({0, 3, size // 3, size, size + 2}):
            for length in (None, 0, 5, 4099):
                argv = ["dump", str(path), "-s", str(start), "--format", fmt]
                if length is not None:
                    argv += ["-n", str(length)]
                status, out, err = run_cli(capfdbinary, *argv)
                assert (status, err) == (0, b"")
                assert out == tool_output(fmt, str(path), start, length), (size, start, length)


@pytest.mark.skipif(not (shutil.which("xxd") and shutil.which("hexdump")), reason="tools needed")
@pytest.mark.parametrize("fmt", ["xxd", "canonical"])
def test_dump_past_4_gib_and_expressions(capfdbinary, tmp_path, fmt):
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(6 * 2**30 + 3)
        f.seek(2**32 - 20)
        f.write(b"mmhex was here, past 4 GiB")
    start = 2**32 - 37
    status, out, _ = run_cli(
        capfdbinary, "dump", str(path), "-s", hex(start), "-n", "0x50", "--format", fmt
    )
    assert status == 0 and out == tool_output(fmt, str(path), start, 0x50)
    status, out, _ = run_cli(capfdbinary, "dump", str(path), "-s", "6g-13", "--format", fmt)
    assert out == tool_output(fmt, str(path), 6 * 2**30 - 13, None)


def test_dump_errors(capfdbinary, tmp_path):
    status, _, err = run_cli(capfdbinary, "dump", str(tmp_path / "nope"))
    assert status == 2 and err.startswith(b"mmhex dump: ") and b"does not exist" in err
    with pytest.raises(SystemExit) as info:
        main(["dump", str(tmp_path), "-s", "-5"])
    assert info.value.code == 2


def test_dump_into_a_closed_pipe_is_quiet(tmp_path):
    path = tmp_path / "p.bin"
    path.write_bytes(os.urandom(4 * MIB))
    command = f"{sys.executable} -m mmhex dump {path} | head -n 1"
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT))
    )
    assert result.stdout.startswith(b"00000000: ") and result.stderr == b""


def test_headless_commands_never_import_qt(tmp_path):
    path = tmp_path / "q.bin"
    path.write_bytes(b"find me, dump me")
    code = (
        "import sys; sys.modules['PySide6'] = None\n"
        "from mmhex.cli import main\n"
        f"a = main(['find', {str(path)!r}, 'me']); b = main(['dump', {str(path)!r}])\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6') and sys.modules[m]]\n"
        "sys.exit(a + b)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"5\n14\n00000000: 6669")

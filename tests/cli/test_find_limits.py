"""`mmhex find --regex` within its limits: a runaway regex ends with a message naming
--regex-time-limit (not a hang), --help documents the limits, and patterns that can outrun them
are warned about (with grep -P, when installed, as the reference for what was missed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def mmhex(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmhex", *argv],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=timeout,
        check=False,
    )


def test_a_runaway_regex_stops_with_a_message_naming_the_limit(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"x" * 100 + b"a" * 40 + b"X")
    started = time.monotonic()
    result = mmhex("find", str(path), "--regex", "(a+)+$", "--regex-time-limit", "1")
    assert time.monotonic() - started < 8
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mmhex find: The regular expression ran for more than 1 s")
    assert "--regex-time-limit" in lines[0] and "Traceback" not in result.stderr


def test_the_default_time_limit_also_ends_a_runaway_regex(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"a" * 60 + b"X")
    started = time.monotonic()
    result = mmhex("find", str(path), "--regex", "(a+)+$", "--count", timeout=120)
    assert 9 < time.monotonic() - started < 40
    assert result.returncode == 2
    assert "more than 10 s" in result.stderr and "--regex-time-limit" in result.stderr


def test_help_documents_the_regex_limits():
    text = " ".join(mmhex("find", "--help").stdout.split())
    for words in (
        "--max-match",
        "64 KiB",
        "16 MiB",
        "grow",
        "4 KiB",
        "--regex-time-limit",
        "(a+)+$",
        "^ and $",
    ):
        assert words in text, words


def test_a_broad_unbounded_repeat_is_warned_about_and_still_searched(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"--x123y--x45y")
    result = mmhex("find", str(path), "--regex", "x.+?y")
    assert result.returncode == 0 and result.stdout.split() == ["2", "9"]
    assert "warning: an unbounded repeat of a broad class" in result.stderr


def test_a_match_longer_than_the_longest_is_flagged_and_found_with_max_match(tmp_path):
    path = tmp_path / "long.bin"
    path.write_bytes(b"..x" + b"y" * 70_000 + b"z.." + b"0" * 100_000)
    # At --max-match 64 KiB, 100,000 zeros are longer than the longest match, so the result
    # may be cut: it says so.
    cut = mmhex("find", str(path), "--regex", "0+", "--count", "--max-match", "65536")
    assert cut.returncode == 0
    assert "1 match(es) reached the longest match of 65,536 bytes" in cut.stderr
    missed = mmhex("find", str(path), "--regex", "xy+z", "--max-match", "65536")
    assert missed.returncode == 1 and missed.stdout == ""  # the limit, and it says so
    assert "a match starting at or before 0x2 may be longer" in missed.stderr
    assert "raise --max-match" in missed.stderr and len(missed.stderr.splitlines()) == 1
    whole = mmhex("find", str(path), "--regex", "0+", "--count", "--max-match", "200000")
    assert whole.stdout.split() == ["1"] and whole.stderr == ""
    found = mmhex("find", str(path), "--regex", "xy+z", "--max-match", "0x20000")
    assert found.stdout.split() == ["2"]
    # By default (16 MiB) both are found whole, silently, as grep -P finds them.
    default = mmhex("find", str(path), "--regex", "xy+z")
    assert default.stdout.split() == ["2"] and default.stderr == ""
    zeros = mmhex("find", str(path), "--regex", "0+")
    assert zeros.stdout.split() == ["70006"] and zeros.stderr == ""
    if shutil.which("grep"):
        grep = subprocess.run(
            ["grep", "-obUaP", "xy+z", str(path)], capture_output=True, check=False
        )
        assert grep.stdout.split(b":")[0] == b"2"


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--max-match", "0", "is not a positive number of bytes"),
        ("--max-match", "-5", "is not a positive number of bytes"),
        ("--max-match", "lots", "is not a positive number of bytes"),
        ("--regex-time-limit", "-1", "is not a number of seconds"),
        ("--regex-time-limit", "nan", "is not a number of seconds"),
        ("--regex-time-limit", "soon", "is not a number of seconds"),
    ],
)
def test_limits_must_be_numbers_in_range(tmp_path, option, value, words):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    result = mmhex("find", str(path), "--regex", "b", option, value)
    assert result.returncode == 2
    assert option in result.stderr and words in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_no_time_limit_and_a_hex_number_for_the_longest_match(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"--abc--abc")
    result = mmhex(
        "find", str(path), "--regex", "a.c", "--regex-time-limit", "0", "--max-match", "0x10"
    )
    assert result.returncode == 0 and result.stdout.split() == ["2", "7"]

"""The SIGBUS guard absorbs faults only in watched ranges: each case in a child process, with a
file truncated under its mapping (reading past the new end raises SIGBUS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmhex.core import fault_guard

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import ctypes, mmap, os, sys
    from mmhex.core import fault_guard
    from mmhex.core._libc import mapping_address
    path, case = sys.argv[1], sys.argv[2]
    with open(path, "wb") as f:
        f.write(b"x" * (1 << 20))
    fd = os.open(path, os.O_RDONLY)
    watched = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    other = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    base = mapping_address(watched)
    assert fault_guard.available()
    os.truncate(path, 4096)
    with fault_guard.watch(base, base + (1 << 20)) as watch:
        found = watched.find(b"y")  # runs over 255 truncated pages
        head = watched[:4]
    print("SURVIVED", found, watch.faulted, head.decode(), flush=True)
    if case == "outside":
        ctypes.string_at(mapping_address(other) + 500_000, 1)  # not watched: dies as ever
    if case == "kill":
        os.kill(os.getpid(), 7)  # sent, not a fault: the default action as ever
    print("END", flush=True)
    """
)

pytestmark = pytest.mark.skipif(
    not fault_guard.available(), reason="the guard exists for x86-64 Linux only"
)


def _run(tmp_path, case: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "f.bin"), case],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        timeout=60,
        check=False,
    )


def test_a_fault_in_a_watched_range_reads_zeros_and_is_reported(tmp_path):
    result = _run(tmp_path, "inside")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["SURVIVED", "-1", "True", "xxxx", "END"]


@pytest.mark.parametrize("case", ["outside", "kill"])
def test_any_other_sigbus_still_kills(tmp_path, case):
    result = _run(tmp_path, case)
    assert result.returncode == -signal.SIGBUS, (result.returncode, result.stderr)
    assert result.stdout.split()[:4] == ["SURVIVED", "-1", "True", "xxxx"]
    assert "END" not in result.stdout

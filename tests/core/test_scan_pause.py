"""A scan stopped (SIGSTOP, Ctrl+Z) while it holds its read lease must survive a truncation.

The kernel breaks a lease whose holder does not answer within /proc/sys/fs/lease-break-time; a
stopped process cannot answer, so the truncating writer goes ahead. On SIGCONT the scan must not
touch the pages past the new end (SIGBUS): it must stop with the truncation sentence.

The test sets lease-break-time to its lowest value that leases are still used at (root only,
restored afterwards), stops the child only at a moment /proc/locks shows it holding a lease,
truncates, waits for the writer to get through, and continues the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mmhex.core.scan import MIN_LEASE_BREAK_SECONDS

ROOT = Path(__file__).resolve().parents[2]
BREAK_TIME = Path("/proc/sys/fs/lease-break-time")
SIZE = 64 * 1024 * 1024
ROUNDS = int(os.environ.get("MMHEX_PAUSE_ROUNDS", "1"))

SCANNER = textwrap.dedent(
    """
    import sys
    from mmhex.core.checksums import compute_checksums
    from mmhex.core.errors import describe_error
    from mmhex.core.mapping import MappedFile
    from mmhex.core.search import PatternKind, SearchOptions, SearchPattern, count_matches
    mapped = MappedFile(sys.argv[1])
    kind = sys.argv[2]
    patterns = {
        "literal": SearchPattern(PatternKind.TEXT, b"needle"),
        "wildcard": SearchPattern(PatternKind.HEX, "6E ?? 65 64"),
        "regex": SearchPattern(PatternKind.REGEX, rb"ne+dle[0-9]"),
    }
    print("READY", flush=True)
    try:
        while True:
            if kind == "checksums":
                compute_checksums(mapped)
            else:
                count_matches(mapped, patterns[kind], options=SearchOptions(chunk_size=1 << 20))
    except OSError as exc:
        print("STOPPED", describe_error(exc), flush=True)
    """
)


def _leases_of(pid: int) -> int:
    """How many leases /proc/locks shows for the process."""
    count = 0
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[1] == "LEASE" and fields[4] == str(pid):
            count += 1
    return count


@pytest.fixture
def short_lease_break():
    """lease-break-time at the lowest value scans still lease at; restored afterwards."""
    try:
        old = BREAK_TIME.read_text()
        BREAK_TIME.write_text(str(MIN_LEASE_BREAK_SECONDS))
    except OSError:
        pytest.skip("needs root to shorten /proc/sys/fs/lease-break-time")
    try:
        yield MIN_LEASE_BREAK_SECONDS
    finally:
        BREAK_TIME.write_text(old)


def _stop_while_leased(child: subprocess.Popen, deadline: float) -> bool:
    """SIGSTOP the child at a moment it holds a lease (retrying); False if none was seen."""
    while time.monotonic() < deadline:
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(0.02)  # let the stop land
        if _leases_of(child.pid):
            return True
        os.kill(child.pid, signal.SIGCONT)
        time.sleep(0.003)
    return False


KINDS = ["literal", "wildcard", "regex", "checksums"]


def _pause_truncate_resume(path: Path, kind: str, break_time: int) -> tuple[int, str, str]:
    """One child scanning ``path``: stop it while leased, truncate, continue; its outcome."""
    with open(path, "wb") as f:
        # Real data, not a sparse file: scans skip holes, so only data is read (under a lease).
        f.write(b"\x01" * SIZE)
    child = subprocess.Popen(
        [sys.executable, "-c", SCANNER, str(path), kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        assert child.stdout.readline().strip() == "READY"
        time.sleep(0.3)
        assert _stop_while_leased(child, time.monotonic() + 20), f"{kind}: never saw a lease"
        started = time.monotonic()
        os.truncate(path, 4096)  # blocks until the kernel breaks the lease
        assert time.monotonic() - started >= break_time - 1, f"{kind}: the writer did not wait"
        os.kill(child.pid, signal.SIGCONT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
            child.kill()
            child.wait()
    return child.returncode, out, err


def test_scans_paused_past_the_lease_break_survive_truncation(tmp_path, short_lease_break):
    """Each kind of scan in its own child, all at once (each waits out lease-break-time)."""
    for round_ in range(ROUNDS):
        outcomes: dict[str, object] = {}

        def run(kind: str, round_: int = round_, outcomes: dict = outcomes) -> None:
            try:
                path = tmp_path / f"{kind}-{round_}.bin"
                outcomes[kind] = _pause_truncate_resume(path, kind, short_lease_break)
            except BaseException as exc:  # reported below, in the test's thread
                outcomes[kind] = exc

        threads = [threading.Thread(target=run, args=(kind,)) for kind in KINDS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        for kind in KINDS:
            outcome = outcomes.get(kind)
            assert not isinstance(outcome, BaseException | type(None)), (kind, outcome)
            returncode, out, err = outcome
            assert returncode == 0, (kind, returncode, err[-2000:])
            assert out.startswith("STOPPED "), (kind, out)
            assert "truncated by another program" in out or "changed size" in out, (kind, out)

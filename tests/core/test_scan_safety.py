"""Another process truncating the file during a scan must not kill mmhex (SIGBUS).

A storm process truncates the file and grows it back as fast as it can while a child process
scans it. The control child reads the mapping directly and must die of SIGBUS (proving that the
storm hits scans); the children using mmhex's search and checksums must live, and every scan the
storm spoiled must end with one clear sentence.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SIZE = 24 * 1024 * 1024
SECONDS = 2.0

STORM = textwrap.dedent(
    """
    import os, random, sys, time
    path, size, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rng = random.Random(1)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        fd = os.open(path, os.O_WRONLY)
        os.ftruncate(fd, rng.randrange(0, size // 2))
        os.ftruncate(fd, size)
        os.close(fd)
    """
)

UNPROTECTED = textwrap.dedent(
    """
    import mmap, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDONLY)
    mm = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        mm.find(b"needle")
    print("survived")
    """
)

PROTECTED = textwrap.dedent(
    """
    import sys, time
    from mmhex.core.checksums import compute_checksums
    from mmhex.core.document import Document
    from mmhex.core.errors import describe_error
    from mmhex.core.search import PatternKind, SearchOptions, SearchPattern, count_matches
    path, seconds, lease = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "lease"
    doc = Document.open(path)
    options = SearchOptions(use_lease=lease)
    patterns = [
        SearchPattern(PatternKind.TEXT, "needle"),
        SearchPattern(PatternKind.HEX, "6E ?? 65 64"),
        SearchPattern(PatternKind.REGEX, rb"ne+dle[0-9]"),
    ]
    completed = stopped = 0
    end = time.monotonic() + seconds
    round_ = 0
    while time.monotonic() < end:
        round_ += 1
        try:
            if round_ % 4 == 3:
                compute_checksums(doc, use_lease=lease)
            else:
                count_matches(doc, patterns[round_ % 4 % 3], options=options)
            completed += 1
        except OSError as exc:
            stopped += 1
            print("MESSAGE", describe_error(exc))
        doc.check_outside_change()
    print("COMPLETED", completed, "STOPPED", stopped)
    """
)


def _run_under_storm(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "victim.bin"
    path.write_bytes(os.urandom(SIZE))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    storm = subprocess.Popen(
        [sys.executable, "-c", STORM, str(path), str(SIZE), str(SECONDS + 0.5)]
    )
    try:
        return subprocess.run(
            [sys.executable, "-c", script, str(path), str(SECONDS), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        storm.wait(timeout=30)


def test_the_storm_kills_an_unprotected_scanner(tmp_path):
    result = _run_under_storm(tmp_path, UNPROTECTED)
    assert result.returncode == -signal.SIGBUS, (result.returncode, result.stdout)


@pytest.mark.parametrize("mode", ["lease", "copy"])
def test_searches_and_checksums_survive_the_storm(tmp_path, mode):
    result = _run_under_storm(tmp_path, PROTECTED, mode)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    lines = result.stdout.splitlines()
    summary = lines[-1].split()
    completed, stopped = int(summary[1]), int(summary[3])
    messages = [line.removeprefix("MESSAGE ") for line in lines if line.startswith("MESSAGE ")]
    assert stopped == len(messages) and stopped > 0, "the storm never spoiled a scan"
    assert completed + stopped >= 3
    for message in messages:
        assert message.startswith(
            (
                "The file was truncated by another program",
                "The file changed size while it was being read",
                "An I/O error occurred reading the file",
            )
        ), message
        assert message.endswith(".") and "\n" not in message, message

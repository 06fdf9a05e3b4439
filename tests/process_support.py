"""The child process with known memory (tests/process_child.py), for core and UI tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parent / "process_child.py"


class Child:
    def __init__(self, backing: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(backing)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())
        self.pid = self.proc.pid
        # Its first read of stdin still allocates; after one answer its maps hold still.
        assert self.ask("ping") == "pong"

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.ask("quit")
            self.proc.wait(timeout=10)


@pytest.fixture
def child(tmp_path: Path) -> Iterator[Child]:
    backing = tmp_path / "backing.bin"
    backing.write_bytes(bytes(range(256)) * 32)  # two pages of a known pattern
    running = Child(backing)
    yield running
    running.stop()

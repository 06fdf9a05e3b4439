"""A save killed at a named step, shared by the core, command-line and recovery tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmhex.core.document import Document


def save_killed_at(
    path: Path,
    patches: list[tuple[int, bytes]],
    at: str,
    inserts: list[tuple[int, bytes]] = (),  # type: ignore[assignment]
) -> None:
    """Make ``patches`` (and ``inserts``: a layout save) and save them in a forked child that
    dies abruptly (no cleanup at all) at save step ``at``, as a crash or SIGKILL would leave
    the file and its journal."""
    pid = os.fork()
    if pid == 0:
        try:
            document = Document.open(str(path))
            document.enable_editing()
            for offset, data in patches:
                document.write(offset, data)
            for offset, data in inserts:
                document.insert(offset, data)

            def die(step: str) -> None:
                if step == at:
                    os._exit(9)

            document.save(checkpoint=die)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the save never reached step {at!r}"


def drop_to_nobody() -> None:
    """``preexec_fn`` for a child that runs as user nobody (root ignores permission bits)."""
    os.setgid(65534)
    os.setuid(65534)


def python_for_nobody() -> str:
    """An interpreter user nobody may run (ours may live under a private home directory)."""
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import mmap, hashlib"],
                preexec_fn=drop_to_nobody,
                capture_output=True,
                check=False,
            )
        except OSError:
            continue
        if probe.returncode == 0:
            return candidate
    pytest.skip("no Python interpreter that user nobody can run")

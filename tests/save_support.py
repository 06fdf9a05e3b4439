"""A save killed at a named step, shared by the core, command-line and recovery tests."""

from __future__ import annotations

import os
from pathlib import Path

from mmhex.core.document import Document


def save_killed_at(path: Path, patches: list[tuple[int, bytes]], at: str) -> None:
    """Make ``patches`` and save them in a forked child that dies abruptly (no cleanup at all)
    at save step ``at``, as a crash or SIGKILL would leave the file and its journal."""
    pid = os.fork()
    if pid == 0:
        try:
            document = Document.open(str(path))
            document.enable_editing()
            for offset, data in patches:
                document.write(offset, data)

            def die(step: str) -> None:
                if step == at:
                    os._exit(9)

            document.save(checkpoint=die)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 9, f"the save never reached step {at!r}"

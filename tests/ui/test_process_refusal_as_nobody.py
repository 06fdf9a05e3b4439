"""The window refused a root process, for real: mmhex runs as ``nobody`` (no patched ``open``).

Both ways a user gets there: ``mmhex --pid PID`` and File ▸ Open Process… (through a small
driver). The sentence the window shows must name the reason (another user's process, and
CAP_SYS_PTRACE as what would allow it); nothing may crash or print a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.ui.nobody_gui import nobody_gui, run_as_nobody  # noqa: F401 (fixture)


@pytest.fixture
def root_process() -> Iterator[int]:
    """A process of root's that idles (this test runs as root)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        # Until it has exec'd, /proc shows the forked pytest: wait for the new name.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(f"/proc/{sleeper.pid}/cmdline", "rb") as cmdline:
                if b"time.sleep(120)" in cmdline.read():
                    break
            time.sleep(0.01)
        yield sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def expected_sentence(pid: int) -> str:
    return (
        f"Process {pid} belongs to root, not to you (nobody): reading another user's memory "
        "needs root or the CAP_SYS_PTRACE capability."
    )


def test_mmhex_pid_as_nobody_shows_why(nobody_gui, root_process):  # noqa: F811
    python, stage = nobody_gui
    result = run_as_nobody(
        python,
        stage,
        "-m",
        "mmhex",
        "--pid",
        str(root_process),
        env={"MMHEX_EXIT_AFTER_FIRST_PAINT": "1"},
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, (result.stdout, result.stderr)  # refused, not crashed
    sentence = expected_sentence(root_process)
    assert f"mmhex: {sentence}" in result.stderr
    # The window itself showed the same sentence as an error, and painted (no crash).
    paints = [line for line in result.stdout.splitlines() if line.startswith("mmhex-first-paint")]
    assert len(paints) == 1 and "size=0" in paints[0]
    messages = [line for line in result.stdout.splitlines() if line.startswith("mmhex-message ")]
    assert len(messages) == 1, result.stdout
    shown = json.loads(messages[0].removeprefix("mmhex-message "))
    assert shown == {"level": "error", "text": sentence}


def test_open_process_dialog_as_nobody_shows_why(nobody_gui, root_process):  # noqa: F811
    python, stage = nobody_gui
    result = run_as_nobody(
        python, stage, str(stage / "process_refusal_driver.py"), str(root_process)
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, (result.stdout, result.stderr)
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    assert shown == {
        "listed": True,  # the list shows other users' processes: refusing is the window's job
        "level": "error",
        "text": expected_sentence(root_process),
        "document": False,
        "errors": 0,
    }

"""The whole application under a real X server (Xvfb), driven by real key events (xdotool).

Offscreen tests cannot see what an X session does to window activation and shortcut routing:
without a window manager, a window whose dialog has closed stays inactive unless mmhex
re-activates it, and then typing still reaches the grid while every shortcut is dead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
set -eu
"$PYTHON" -m mmhex "$FILE" & pid=$!
wid=$(xdotool search --sync --onlyvisible --pid "$pid" | tail -n 1)
xdotool windowactivate --sync "$wid" 2>/dev/null || xdotool windowfocus --sync "$wid"
sleep 1
step() { xdotool "$@"; sleep 0.6; }
step key ctrl+e                       # private edit mode
step type --delay 40 "4142"           # bytes 0 and 1 become 41 42
step key ctrl+g                       # Go to dialog ...
step type --delay 40 "0x10"
step key Return                       # ... closes; the window must be active again
step key ctrl+f                       # the find field takes the next keys, not the grid
step type --delay 40 "test"
step key Escape
step key ctrl+s
step key ctrl+q
# Ctrl+Q must end mmhex; if the shortcuts are dead it never does: stop it and say so.
if ! timeout 15 tail --pid="$pid" -f /dev/null; then
  kill "$pid"
  echo "mmhex did not quit on Ctrl+Q: its shortcuts were dead" >&2
  exit 3
fi
wait "$pid"
"""


def _tools_missing() -> list[str]:
    return [tool for tool in ("xvfb-run", "xdotool") if shutil.which(tool) is None]


def test_keys_after_a_dialog_reach_the_shortcuts_not_the_grid(tmp_path):
    missing = _tools_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {missing} (scripts/setup.sh installs them)")
        pytest.skip(f"needs {missing}")
    original = bytes(range(64))
    target = tmp_path / "data.bin"
    target.write_bytes(original)
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "FILE": str(target),
        "PYTHONPATH": str(ROOT),
        "MMHEX_SETTINGS": str(tmp_path / "settings.ini"),
    }
    env.pop("QT_QPA_PLATFORM", None)  # a real X connection, not offscreen
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "bash", "-c", DRIVER],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    expected = bytearray(original)
    expected[0:2] = b"AB"
    assert target.read_bytes() == bytes(expected)

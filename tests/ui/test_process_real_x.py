"""A process driven by real keys under Xvfb (xdotool): Go to Address, the write question, typing.

Offscreen tests call the slots; this one checks that the shortcuts reach them in a real X
session and that the question before writing can be answered from the keyboard.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.process_support import Child, child  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
set -eu
"$PYTHON" -m mmhex --pid "$CHILD" & pid=$!
wid=$(xdotool search --sync --onlyvisible --pid "$pid" | tail -n 1)
xdotool windowactivate --sync "$wid" 2>/dev/null || xdotool windowfocus --sync "$wid"
sleep 1
step() { xdotool "$@"; sleep 0.6; }
step key F5                           # re-read the maps and bytes
step key ctrl+shift+g                 # Go to Address ...
step type --delay 40 "$ADDRESS"
step key Return                       # ... the cursor is on the child's second half
step key ctrl+e                       # asks before writing into the process
step key alt+w                        # "Write into the Process"
step type --delay 40 "cafe"
step key ctrl+q
if ! timeout 15 tail --pid="$pid" -f /dev/null; then
  kill "$pid"
  echo "mmhex did not quit on Ctrl+Q: its shortcuts were dead" >&2
  exit 3
fi
wait "$pid"
"""


def test_keys_reach_go_to_address_and_the_write_question(child: Child, tmp_path):  # noqa: F811
    missing = [tool for tool in ("xvfb-run", "xdotool") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have {missing} (scripts/setup.sh installs them)")
        pytest.skip(f"needs {missing}")
    address = child.info["second"]
    before = child.ask(f"peek {address} 4")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "CHILD": str(child.pid),
        "ADDRESS": f"{address:x}",
        "PYTHONPATH": str(ROOT),
        "MMHEX_SETTINGS": str(tmp_path / "settings.ini"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
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
    assert not before.startswith("cafe")
    assert child.ask(f"peek {address} 4") == "cafe" + before[4:]

"""A process driven by real keys under Xvfb (xdotool): Go to Address, the write question, typing.

Offscreen tests call the slots; this one checks that the shortcuts reach them in a real X
session and that the question before writing can be answered from the keyboard.
"""

from __future__ import annotations

from tests.process_support import Child, child  # noqa: F401 (fixture)
from tests.xvfb_support import require_tools, run_driver

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
    require_tools()
    address = child.info["second"]
    before = child.ask(f"peek {address} 4")
    result = run_driver(
        DRIVER,
        tmp_path,
        CHILD=str(child.pid),
        ADDRESS=f"{address:x}",
        XDG_DATA_HOME=str(tmp_path / "xdg"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert not before.startswith("cafe")
    assert child.ask(f"peek {address} 4") == "cafe" + before[4:]

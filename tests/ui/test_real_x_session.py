"""The whole application under a real X server (Xvfb), driven by real key events (xdotool).

Offscreen tests cannot see what an X session does to window activation and shortcut routing:
without a window manager, a window whose dialog has closed stays inactive unless mmhex
re-activates it, and then typing still reaches the grid while every shortcut is dead.
"""

from __future__ import annotations

from tests.xvfb_support import require_tools, run_driver

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


def test_keys_after_a_dialog_reach_the_shortcuts_not_the_grid(tmp_path):
    require_tools()
    original = bytes(range(64))
    target = tmp_path / "data.bin"
    target.write_bytes(original)
    result = run_driver(DRIVER, tmp_path, FILE=str(target))
    assert result.returncode == 0, result.stderr[-2000:]
    expected = bytearray(original)
    expected[0:2] = b"AB"
    assert target.read_bytes() == bytes(expected)


TABS_DRIVER = r"""
set -eu
"$PYTHON" -m mmhex --new-window "$FILE" "$FILE2" & pid=$!
xdotool search --sync --onlyvisible --pid "$pid" >/dev/null
sleep 1.5
# No windowactivate and no click: without a window manager mmhex must take the focus itself.
step() { xdotool "$@"; sleep 0.6; }
step key shift+Right shift+Right shift+Right    # select bytes 0..3 of the first tab
step key ctrl+c
xclip -selection clipboard -o > "$OUT/clip.txt"
xclip -selection clipboard -o -t application/octet-stream > "$OUT/clip.bin"
step key ctrl+Tab                      # the second file's tab
step key ctrl+e
step type --delay 40 "41"
step key ctrl+shift+Tab                # back to the first
step key ctrl+e
step key ctrl+Home                     # collapse the selection: typing goes to byte 0
step type --delay 40 "42"
step key ctrl+q                        # asks about both tabs: Save (the default) for each
step key Return
step key Return
if ! timeout 15 tail --pid="$pid" -f /dev/null; then
  kill "$pid"
  echo "mmhex did not quit after both questions" >&2
  exit 3
fi
wait "$pid"
"""


def test_copy_reaches_the_x_clipboard_and_quit_asks_for_every_tab(tmp_path):
    require_tools("xclip")
    first, second = tmp_path / "one.bin", tmp_path / "two.bin"
    first.write_bytes(bytes(range(64)))
    second.write_bytes(bytes(range(64, 128)))
    result = run_driver(
        TABS_DRIVER,
        tmp_path,
        screen="1366x768",
        timeout=120,
        FILE=str(first),
        FILE2=str(second),
        OUT=str(tmp_path),
        MMHEX_INSTANCE_SOCKET=str(tmp_path / "instance.sock"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # What the hex pane showed for the selection, and the exact bytes beside it.
    assert (tmp_path / "clip.txt").read_text() == "00 01 02 03"
    assert (tmp_path / "clip.bin").read_bytes() == bytes(range(4))
    expected_first = bytearray(range(64))
    expected_first[0] = 0x42
    expected_second = bytearray(range(64, 128))
    expected_second[0] = 0x41
    assert first.read_bytes() == bytes(expected_first)
    assert second.read_bytes() == bytes(expected_second)

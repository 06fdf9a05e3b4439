"""Start-up to the first paint of the default window imports nothing it does not draw with.

numpy (~90 ms) is needed only once an overview layer is computed, which starts after the first
paint; importlib.metadata (~15 ms) only for the About box. The window is started for real in a
subprocess (``python -m mmhex`` with the first-paint probe) and ``sys.modules`` is read at the
moment the grid's first paint event arrives. Issue 10: start-up ≤ 350 ms.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mmhex.ui.app import FIRST_PAINT_ENV

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = ("numpy", "importlib.metadata")

PROBE = """
import sys
from PySide6.QtCore import QEvent
from mmhex.ui import app

filter_event = app.FirstPaintProbe.eventFilter
seen = []

def probe(self, watched, event):
    if event.type() == QEvent.Type.Paint and not seen:
        seen.append([m for m in {deferred!r} if m in sys.modules])
        print("loaded-before-first-paint=" + ",".join(seen[0]), flush=True)
    return filter_event(self, watched, event)

app.FirstPaintProbe.eventFilter = probe
from mmhex.cli import main
sys.exit(main(["--new-window", {path!r}]))
"""


def test_first_paint_comes_before_numpy_and_importlib_metadata(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(1 << 20))
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        MMHEX_SETTINGS=str(tmp_path / "settings.ini"),
        **{FIRST_PAINT_ENV: "1"},
    )
    code = PROBE.format(deferred=DEFERRED, path=str(path))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "mmhex-first-paint" in out.stdout, out.stdout + out.stderr  # the window painted
    lines = [line for line in out.stdout.splitlines() if line.startswith("loaded-before")]
    assert lines == ["loaded-before-first-paint="], out.stdout

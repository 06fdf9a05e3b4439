"""Make docs/screenshot_process.png under Xvfb: a running process with its Regions dock.

Usage: xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshot_process.py [IGNORED] [OUTDIR]
Starts tests/process_child.py (which maps pages with a hole between them and writes a marker)
through Run Program, as mmhex's child, shows the hole folded into one separator row between
the two regions (a selection across it takes the bytes of both), with the Regions dock filtered to writable
regions, and photographs the window.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import isolate, photograph, settle  # noqa: E402


def main() -> int:
    _target, outdir = isolate("")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from mmhex.ui.app import application
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow
    from mmhex.ui.process.feature import feature_of

    application()
    window = MainWindow()
    install_features(window)
    feature = feature_of(window)
    assert feature is not None
    window.move(0, 0)
    window.resize(1366, 740)
    window.show()
    window.activateWindow()
    backing = Path(tempfile.mkdtemp()) / "backing.bin"
    backing.write_bytes(bytes(range(256)) * 32)
    import subprocess

    child = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "process_child.py"), str(backing)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    info = json.loads(child.stdout.readline())
    feature.started.append(child)
    error = feature.open_pid(child.pid)
    if error:
        print(error, file=sys.stderr)
        return 1
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    docks["Structure"].hide()  # room for the Regions table's columns
    window.resizeDocks([docks["Regions"]], [300], Qt.Orientation.Vertical)
    settle(300)
    document = window.document
    view = window.view
    second = document.offset_of(info["second"])
    view.select(second - 24, second + 21)  # across the gap: the bytes of both regions
    view.set_top_row(view.row_of(second) - 6)
    feature.panel.writable_box.setChecked(True)
    settle(500)
    photograph(window, outdir / "screenshot_process.png")
    child.stdin.write("quit\n")
    child.stdin.flush()
    child.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make docs/screenshot_search.png and docs/screenshot_inspector.png under Xvfb.

Usage: xvfb-run -a -s "-screen 0 1400x900x24" python docs/screenshot_search.py [FILE] [OUTDIR]
Opens FILE (default /bin/ls) in the main window with the search feature installed
(mmhex.ui.search.feature), runs Find all (hits shaded in the grid, the current one stronger),
then photographs the window with ImageMagick `import`, and the inspector on its own.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import photograph, settle  # noqa: E402


def main() -> int:
    target = sys.argv[1] if len(sys.argv) > 1 else "/bin/ls"
    outdir = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "docs")
    scratch = tempfile.mkdtemp(prefix="mmhex-shot-")
    os.environ["MMHEX_SETTINGS"] = os.path.join(scratch, "settings.ini")
    os.environ["XDG_DATA_HOME"] = os.path.join(scratch, "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget

    from mmhex.ui.app import application
    from mmhex.ui.main_window import MainWindow
    from mmhex.ui.panels.inspector_panel import InspectorPanel
    from mmhex.ui.search.feature import install

    application()
    window = MainWindow()
    window.move(0, 0)
    error = window.open_path(target, readonly=True)
    if error:
        print(error, file=sys.stderr)
        return 1
    document = window.document
    view = window.view

    search = install(window)  # the feature as the window will carry it
    bar, results, bookmarks = search.bar, search.results, search.bookmarks
    controller = search.controller
    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    results_dock, inspector_dock = docks["Search results"], docks["Data inspector"]
    bookmarks_dock = docks["Bookmarks"]
    for title, dock in docks.items():
        if title not in ("Search results", "Data inspector", "Bookmarks"):
            dock.hide()  # other features' panels: not the subject of this picture

    window.resize(1380, 860)
    window.resizeDocks([inspector_dock, bookmarks_dock], [560, 160], Qt.Orientation.Vertical)
    window.resizeDocks([results_dock], [190], Qt.Orientation.Vertical)
    window.show()
    window.activateWindow()
    settle(400)
    data = document.read(0, min(document.size, 1 << 20))
    first = data.find(b"GLIBC_2")
    if first >= 0:
        view.select(first - 40, first - 24)
        bookmarks.add_from_selection("before the version strings")
    bar.show_find()
    bar.mode.setCurrentIndex(2)  # Regex
    bar.pattern_edit.setText(r"GLIBC_2\.[0-9]+")
    controller.find_all()
    while controller.job is not None and controller.job.running:
        settle(50)
    settle(200)
    matches = results.model.matches()
    if matches:
        search.show_match(matches[min(3, len(matches) - 1)])
        view.set_top_row(max(0, matches[0].start // view.bytes_per_row - 3))
    settle(800)
    photograph(window, outdir / "screenshot_search.png")

    # The inspector on its own, tall enough for every row, as in edit mode.
    alone = InspectorPanel()
    alone.setWindowTitle("Data inspector")
    alone.set_source(document.read, document.size)
    alone.set_editable(True)
    alone.show_offset(matches[0].start if matches else 0)
    alone.move(0, 0)
    alone.resize(470, 700)
    alone.show()
    settle(600)
    photograph(alone, outdir / "screenshot_inspector.png")
    alone.close()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

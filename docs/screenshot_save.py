"""Make docs/residency_save.png: the residency panel and the overview bar in the middle of a save.

Usage: xvfb-run -a -s "-screen 0 1400x900x24" python docs/screenshot_save.py [OUTDIR]

Builds a 1 GiB file of random bytes on a disk file system, opens it for editing, overwrites
240 scattered 1 MiB ranges (unsaved: private copies, green), then saves. The save is stopped,
through its checkpoint hook, after it has copied the bytes of its second msync span into the
file's shared mapping and before that span's msync: those pages are dirty in the page cache
(orange) while the first span's are already written. The window is photographed then, the save
goes on, and the script checks that the panel saw the dirty pages fall to zero.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import photograph, settle  # noqa: E402

MIB = 1 << 20
SIZE = 1 << 30
EDITS = 240
INLINE = 64 * 1024  # longer overwrites go to an add buffer, not into the file's pages
PAUSE_AT = "span-1-copied"  # the second span's bytes are in the file's pages, not yet msynced


def demo_file(path: Path) -> None:
    with open(path, "wb") as f:
        for _ in range(SIZE // (64 * MIB)):
            f.write(os.urandom(64 * MIB))
        f.flush()
        os.fsync(f.fileno())


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs")
    scratch = tempfile.mkdtemp(prefix="mmhex-shot-", dir="/var/tmp")  # a disk: pages get dirty
    os.environ["MMHEX_SETTINGS"] = os.path.join(scratch, "settings.ini")
    os.environ["XDG_DATA_HOME"] = os.path.join(scratch, "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    target = Path(scratch, "disk-image.bin")
    demo_file(target)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDockWidget

    from mmhex.core import save as save_module
    from mmhex.core.overview import Layer
    from mmhex.ui.app import application
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow
    from mmhex.ui.panels.residency_panel import ResidencyPanel

    paused, release = threading.Event(), threading.Event()

    def checkpoint(name: str) -> None:
        if name == PAUSE_AT:
            paused.set()
            release.wait(60)

    save_module.no_checkpoint = checkpoint  # the hook every save calls between its steps
    try:
        application()
        window = MainWindow()
        window.move(0, 0)
        install_features(window)
        if window.open_path(str(target)):
            return 1
        for dock in window.findChildren(QDockWidget):
            dock.setVisible(dock.windowTitle() == "Residency")
        window.resize(1366, 768)
        window.show()
        window.activateWindow()
        editor = window.action_targets["editing"]
        panel = window.findChild(ResidencyPanel)
        window.overview.choose_layer(Layer.PAGES, save=False)
        assert editor.enable_editing()
        document = window.document
        step = SIZE // EDITS
        for k in range(EDITS):  # 64 KiB at a time: in place, as private copies of the pages
            for part in range(0, MIB, INLINE):
                document.write(k * step + 3 * 4096 + part, os.urandom(INLINE))
        settle(1500)
        seen: list[int] = []

        def watch() -> None:
            snapshot = panel.snapshot
            if seen or not paused.is_set() or snapshot is None or not snapshot.totals.dirty:
                return
            seen.append(snapshot.totals.dirty)
            settle(1000)  # refreshes measured wholly after the span's copy
            # The view at the end of the span being synced: its last edit (orange) above, the
            # next span's edits (still only private copies, green) below.
            overview = panel.snapshot.overview
            last = max(i for i, count in enumerate(overview.dirty) if count)
            panel.set_pages_per_cell(4)
            window.view.go_to(overview.layout.bucket_range(last)[1] - 2 * MIB)
            settle(900)  # a few fast refreshes and the overview bar's redraw
            photograph(window, outdir / "residency_save.png")
            release.set()

        watcher = QTimer()
        watcher.setInterval(50)
        watcher.timeout.connect(watch)
        watcher.start()
        QTimer.singleShot(30_000, release.set)  # never hang
        saved = editor.save()
        watcher.stop()
        settle(1500)
        after = panel.snapshot.totals
        print(
            f"saved={saved} dirty seen mid-save={seen} after: dirty={after.dirty} "
            f"writeback={after.writeback} following={panel.following_save}"
        )
        window.close()
        return 0 if saved and seen and not after.dirty else 1
    finally:
        release.set()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

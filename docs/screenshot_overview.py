"""Make docs/overview.png (overview bar with entropy, Storage dock) and docs/entropy_plot.png
(docs/screenshot_save.py makes the private and dirty pages picture, in the middle of a save).

Usage: xvfb-run -a -s "-screen 0 1400x900x24" python docs/screenshot_overview.py [OUTDIR]
Builds a 4 GiB sparse demo file (an executable, random bytes, text, a preallocated unwritten
range, holes between), opens it with every feature installed, shows the overview bar's
entropy layer, the Storage dock and View ▸ Entropy Plot of the whole file.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import photograph, settle  # noqa: E402

MIB = 1 << 20
GIB = 1 << 30


def demo_file(path: Path) -> None:
    elf = Path(sys.executable).resolve().read_bytes()[: 24 * MIB]
    with open(path, "wb") as f:
        f.truncate(4 * GIB)
        os.pwrite(f.fileno(), elf, 0)
        os.pwrite(f.fileno(), os.urandom(160 * MIB), 1 * GIB)
        readme = Path(ROOT / "README.md").read_bytes()
        text = (readme * (64 * MIB // len(readme) + 1))[: 64 * MIB]
        os.pwrite(f.fileno(), text, 2 * GIB)
        os.posix_fallocate(f.fileno(), 3 * GIB, 256 * MIB)
        os.pwrite(f.fileno(), os.urandom(32 * MIB), 3 * GIB + 512 * MIB)
        os.fsync(f.fileno())  # extents get their places on disk (no delalloc rows)


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs")
    scratch = tempfile.mkdtemp(prefix="mmhex-shot-", dir="/var/tmp")
    os.environ["MMHEX_SETTINGS"] = os.path.join(scratch, "settings.ini")
    os.environ["XDG_DATA_HOME"] = os.path.join(scratch, "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    target = Path(scratch, "disk-image.bin")
    demo_file(target)
    from PySide6.QtWidgets import QDockWidget

    from mmhex.core.overview import Layer
    from mmhex.ui.app import application
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow

    try:
        application()
        window = MainWindow()
        window.move(0, 0)
        install_features(window)
        error = window.open_path(str(target))
        if error:
            print(error, file=sys.stderr)
            return 1
        docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
        for title, dock in docks.items():
            dock.setVisible(title == "Storage")
        window.resize(1180, 760)
        window.show()
        window.activateWindow()
        feature = window.overview
        feature.choose_layer(Layer.ENTROPY, save=False)
        window.view.go_to(1 * GIB - 256)
        settle(1500)
        photograph(window, outdir / "overview.png")
        dialog = feature.show_entropy_plot()
        if dialog is not None:
            dialog.resize(760, 320)
            dialog.move(60, 120)
            while dialog.job.running:
                settle(100)
            settle(600)
            photograph(dialog, outdir / "entropy_plot.png")
            dialog.close()
        window.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make docs/screenshot.png: mmhex on a real file under Xvfb, photographed with ImageMagick.

Usage: xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshot_viewer.py \
           [--theme dark] [--select START:END] [FILE] [OUT.png]
Opens FILE (default: /bin/ls, an ELF binary with readable strings), selects a range (default: its
program interpreter path, else 0x40..0x80; START/END are go-to expressions such as end-0x30) so
that cursor and selection both show, then runs `import -window root` and crops to the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from shots import photograph, settle  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="Screenshot of mmhex under Xvfb")
    parser.add_argument("file", nargs="?", default="/bin/ls")
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshot.png"))
    parser.add_argument("--theme", choices=("system", "light", "dark"), default="system")
    parser.add_argument("--select", help="START:END as go-to expressions")
    args = parser.parse_args()
    target, out = args.file, Path(args.out)
    settings_dir = tempfile.mkdtemp(prefix="mmhex-shot-")
    os.environ["MMHEX_SETTINGS"] = os.path.join(settings_dir, "settings.ini")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from PySide6.QtWidgets import QApplication

    from mmhex.ui.app import application
    from mmhex.ui.main_window import MainWindow

    app = application()
    assert isinstance(app, QApplication)
    window = MainWindow()
    window.set_theme(args.theme)
    window.move(0, 0)
    error = window.open_path(target, readonly=True)
    if error:
        print(error, file=sys.stderr)
        return 1
    window.resize(window.width(), 640)
    window.show()
    window.activateWindow()
    settle(500)
    view = window.view
    if args.select:
        from mmhex.core.expressions import resolve_goto

        size = window.document.size
        first, last = args.select.split(":")
        start = resolve_goto(first, cursor=0, size=size)
        end = resolve_goto(last, cursor=0, size=size) + 1
    else:
        start, end = interesting_range(target)
    view.select(start, end)
    view.set_top_row(start // view.bytes_per_row - view.page_rows // 2)
    settle(1000)
    photograph(window, out)
    window.close()
    return 0


def interesting_range(path: str) -> tuple[int, int]:
    """The ELF program interpreter path if there is one near the start, else 0x40..0x80."""
    with open(path, "rb") as handle:
        data = handle.read(4096)
    start = data.find(b"/lib")
    if start < 0:
        return 0x40, 0x80
    return start, data.index(b"\0", start)


if __name__ == "__main__":
    raise SystemExit(main())

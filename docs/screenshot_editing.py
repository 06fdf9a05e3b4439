"""Make docs/editing.png: unsaved edits highlighted, INS mode, the nibble cursor, the history.

Usage: xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshot_editing.py [OUT.png]
Copies /bin/ls to a temporary file (the original is never touched), enables editing, types over
some bytes in both panes, pastes and fills, leaves the cursor on a half-typed byte, shows
Edit ▸ Undo History, then runs `import -window root` and crops to the window.
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


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "editing.png")
    work = tempfile.mkdtemp(prefix="mmhex-edit-shot-")
    os.environ["MMHEX_SETTINGS"] = os.path.join(work, "settings.ini")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    target = os.path.join(work, "ls-copy")
    shutil.copyfile("/bin/ls", target)
    from PySide6.QtWidgets import QApplication

    from mmhex.ui import editing
    from mmhex.ui.app import application
    from mmhex.ui.hex_view import Pane
    from mmhex.ui.main_window import MainWindow

    app = application()
    assert isinstance(app, QApplication)
    window = MainWindow()
    controller = editing.install(window)
    window.move(0, 0)
    window.resize(1180, 640)
    if window.open_path(target):
        return 1
    window.show()
    window.activateWindow()
    settle(300)
    controller.enable_editing()
    view = window.view
    view.set_cursor(0x40)
    controller.type_text("deadbeef")
    view.set_active_pane(Pane.TEXT)
    view.set_cursor(0x7C)
    controller.type_text("mmhex!")
    view.set_active_pane(Pane.HEX)
    app.clipboard().setText("00 11 22 33 44 55 66 77")
    view.set_cursor(0xB0)
    controller.paste()
    view.select(0xE0, 0xF0)
    controller.fill(0xE0, 0xF0, b"\xab\xcd")
    controller.toggle_insert_mode()  # INS in the status bar: typing inserts
    view.set_cursor(0x100)
    controller.type_text("c0ffee")
    controller.insert_bytes(0x140, 6, b"\x00")
    view.set_cursor(0x162)
    controller.type_text("7")  # half a byte: the cursor waits on the low digit
    controller.show_history()
    view.set_top_row(0)
    settle(800)
    photograph(window, out)
    window.document.revert_all()
    controller.stack.clear()
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the README's window screenshots: every panel, two tabs, a selection, on a given screen.

Usage: xvfb-run -a -s "-screen 0 1366x768x24" python docs/screenshot_window.py \
           --theme dark OUT.png [FILE ...]
The window opens as a first start does on that screen (its own size and position, no saved
geometry), with FILEs in tabs (default: /bin/ls and /bin/cat), the first tab in front and its
program interpreter path selected.
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
    parser = argparse.ArgumentParser(description="Screenshot of the whole mmhex window")
    parser.add_argument("out")
    parser.add_argument("files", nargs="*", default=["/bin/ls", "/bin/cat"])
    parser.add_argument("--theme", choices=("system", "light", "dark"), default="light")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="mmhex-shot-")
    os.environ["MMHEX_SETTINGS"] = os.path.join(home, "settings.ini")
    os.environ["XDG_DATA_HOME"] = home
    os.environ["MMHEX_INSTANCE_SOCKET"] = os.path.join(home, "instance.sock")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    from mmhex.ui.app import application
    from mmhex.ui.features import install_features
    from mmhex.ui.main_window import MainWindow

    application()
    window = MainWindow()
    install_features(window)
    window.set_theme(args.theme)
    for path in args.files:
        error = window.open_path(path, readonly=True)
        if error:
            print(error, file=sys.stderr)
            return 1
    window.open_path(args.files[0])
    data = window.document.read(0, 4096)
    start = data.find(b"/lib")
    start = start if start > 0 else 0x40
    end = data.find(b"\0", start)
    window.move(0, 0)
    window.show()
    settle(800)
    window.view.go_to(start)
    window.view.select(start, end if end > start else start + 16)
    settle(700)
    photograph(window, Path(args.out))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the screenshot scripts share: let Qt settle, then photograph a widget on the X screen."""

from __future__ import annotations

import subprocess
from pathlib import Path


def settle(milliseconds: int) -> None:
    """Run the event loop for a while, so layouts, timers and paints have happened."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(milliseconds, loop.quit)
    loop.exec()


def photograph(widget, out: Path) -> None:
    """Crop the X screen (ImageMagick ``import``) to ``widget``: its frame if it is a window."""
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    frame = widget.frameGeometry() if widget.isWindow() else None
    x, y = (frame.x(), frame.y()) if frame else (top_left.x(), top_left.y())
    w, h = (frame.width(), frame.height()) if frame else (widget.width(), widget.height())
    subprocess.run(["import", "-window", "root", "-crop", f"{w}x{h}+{x}+{y}", str(out)], check=True)
    print(out)


def isolate(default_target: str) -> tuple[str, Path]:
    """Target file and output folder from argv; settings and data in a scratch folder; xcb."""
    import os
    import sys
    import tempfile

    target = sys.argv[1] if len(sys.argv) > 1 else default_target
    outdir = Path(sys.argv[2] if len(sys.argv) > 2 else Path(__file__).resolve().parent)
    scratch = tempfile.mkdtemp(prefix="mmhex-shot-")
    os.environ["MMHEX_SETTINGS"] = os.path.join(scratch, "settings.ini")
    os.environ["XDG_DATA_HOME"] = os.path.join(scratch, "data")
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    return target, outdir

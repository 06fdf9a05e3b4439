"""Render the application icon's PNGs (hicolor sizes) from resources/icons/mmhex.svg.

The PNGs are committed under mmhex/resources/icons/ so that neither a wheel build nor a user's
machine needs an SVG renderer; run this again after editing the SVG:

    python resources/render_icons.py
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG_SOURCE = ROOT / "resources" / "icons" / "mmhex.svg"
PNG_DIR = ROOT / "mmhex" / "resources" / "icons"


def render(svg: Path, size: int):
    """Return a transparent ``size``×``size`` QImage of ``svg``."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG_SOURCE, help="icon source")
    parser.add_argument("--out", type=Path, default=PNG_DIR, help="folder for the PNGs")
    args = parser.parse_args(argv)
    # Rendering needs a QGuiApplication but never a display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from PySide6.QtGui import QGuiApplication

    from mmhex.ui.icons import ICON_SIZES, icon_file_name

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    for size in ICON_SIZES:
        target = args.out / icon_file_name(size)
        if not render(args.svg, size).save(str(target), "PNG"):
            raise SystemExit(f"render_icons: could not write {target}")
        print(target)
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

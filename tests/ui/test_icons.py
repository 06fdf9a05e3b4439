"""mmhex.ui.icons: the application icon comes from the package data at every hicolor size."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from mmhex.about import APP_ID
from mmhex.ui.icons import ICON_SIZES, app_icon, apply_desktop_identity, icon_png

ICON_DIR = Path(__file__).resolve().parents[2] / "mmhex" / "resources" / "icons"


def test_icon_png_reads_the_packaged_file():
    for size in ICON_SIZES:
        assert icon_png(size) == (ICON_DIR / f"mmhex-{size}.png").read_bytes()


def test_app_icon_offers_every_size(qapp):
    icon = app_icon()
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == sorted(ICON_SIZES)


def test_app_icon_pixels_are_the_png_pixels(qapp):
    icon = app_icon()
    argb = QImage.Format.Format_ARGB32_Premultiplied  # what QPixmap stores
    for size in (16, 48, 256):
        drawn = icon.pixmap(QSize(size, size)).toImage().convertToFormat(argb)
        on_disk = QImage(str(ICON_DIR / f"mmhex-{size}.png")).convertToFormat(argb)
        assert drawn == on_disk


def test_apply_desktop_identity_sets_window_icon_and_desktop_file_name(qapp):
    old_icon, old_name = qapp.windowIcon(), qapp.desktopFileName()
    try:
        apply_desktop_identity(qapp)
        assert qapp.desktopFileName() == APP_ID
        assert sorted(s.width() for s in qapp.windowIcon().availableSizes()) == sorted(ICON_SIZES)
    finally:
        qapp.setWindowIcon(old_icon)
        qapp.setDesktopFileName(old_name)

"""The application icon, read from the installed package (never from a path on the build machine).

The PNGs are package data (``mmhex/resources/icons/mmhex-SIZE.png``, rendered from
resources/icons/mmhex.svg), so the icon works the same from a checkout, a wheel, a zip import or
the PyInstaller bundle.
"""

from __future__ import annotations

import pkgutil

from PySide6.QtGui import QGuiApplication, QIcon, QPixmap

from mmhex.about import APP_ID

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The hicolor sizes rendered from the SVG (resources/render_icons.py writes these)."""


def icon_file_name(size: int) -> str:
    return f"mmhex-{size}.png"


def icon_png(size: int) -> bytes:
    """The PNG bytes of the icon rendered at ``size`` pixels."""
    # pkgutil asks the package's own loader (file, zip, PyInstaller) like importlib.resources, but
    # importing it costs ~0.3 ms at start-up against ~2.6 ms (issue 10).
    data = pkgutil.get_data("mmhex", f"resources/icons/{icon_file_name(size)}")
    if data is None:  # a loader without get_data
        from importlib import resources

        return (
            resources.files("mmhex") / "resources" / "icons" / icon_file_name(size)
        ).read_bytes()
    return data


def app_icon() -> QIcon:
    """The mmhex icon at every rendered size; Qt picks the closest for title bars and dialogs."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if pixmap.loadFromData(icon_png(size), "PNG"):
            icon.addPixmap(pixmap)
    return icon


def apply_desktop_identity(app: QGuiApplication) -> None:
    """Give every window the mmhex icon and tie them to the installed desktop entry (Wayland and
    docks match windows to ``APP_ID.desktop``; X11 uses the icon set here)."""
    app.setWindowIcon(app_icon())
    app.setDesktopFileName(APP_ID)

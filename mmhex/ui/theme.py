"""Light/dark colours: follow the system unless the user picked one (View ▸ Theme).

The grid takes every colour from the palette, so it follows whatever palette is active. Qt's
color-scheme request is honoured only by some platform themes (not by plain X11 or offscreen),
so an explicit choice that the platform ignores is applied as a palette of our own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

Role = QPalette.ColorRole
Group = QPalette.ColorGroup

_SCHEMES = {
    "system": Qt.ColorScheme.Unknown,
    "light": Qt.ColorScheme.Light,
    "dark": Qt.ColorScheme.Dark,
}

_SYSTEM_PALETTE = "mmhexSystemPalette"

_DARK = {
    Role.Window: "#2b2b2b",
    Role.WindowText: "#dcdcdc",
    Role.Base: "#1e1e1e",
    Role.AlternateBase: "#262626",
    Role.Text: "#dcdcdc",
    Role.Button: "#353535",
    Role.ButtonText: "#dcdcdc",
    Role.BrightText: "#ff7070",
    Role.Highlight: "#3d6fd6",
    Role.HighlightedText: "#ffffff",
    Role.PlaceholderText: "#8a8a8a",
    Role.ToolTipBase: "#353535",
    Role.ToolTipText: "#dcdcdc",
    Role.Link: "#7aa7ff",
    Role.Light: "#4a4a4a",
    Role.Midlight: "#404040",
    Role.Mid: "#555555",
    Role.Dark: "#202020",
    Role.Shadow: "#141414",
}

_LIGHT = {
    Role.Window: "#efefef",
    Role.WindowText: "#1e1e1e",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#f5f5f5",
    Role.Text: "#1e1e1e",
    Role.Button: "#efefef",
    Role.ButtonText: "#1e1e1e",
    Role.BrightText: "#c01c28",
    Role.Highlight: "#3071d9",
    Role.HighlightedText: "#ffffff",
    Role.PlaceholderText: "#808080",
    Role.ToolTipBase: "#ffffdc",
    Role.ToolTipText: "#000000",
    Role.Link: "#1a5fb4",
    Role.Light: "#ffffff",
    Role.Midlight: "#e3e3e3",
    Role.Mid: "#b8b8b8",
    Role.Dark: "#9f9f9f",
    Role.Shadow: "#767676",
}


def palette_for(theme: str) -> QPalette:
    """Our own palette for "light" or "dark"."""
    palette = QPalette()
    for role, color in (_DARK if theme == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(color))
    disabled = QColor("#7f7f7f")
    for role in (Role.Text, Role.WindowText, Role.ButtonText):
        palette.setColor(Group.Disabled, role, disabled)
    return palette


def is_dark(palette: QPalette) -> bool:
    return palette.color(Role.Base).lightness() < palette.color(Role.Text).lightness()


def _system_palette(app: QGuiApplication) -> QPalette:
    """The palette the application started with (kept on the application object)."""
    saved = app.property(_SYSTEM_PALETTE)
    if isinstance(saved, QPalette):
        return saved
    palette = QPalette(app.palette())
    app.setProperty(_SYSTEM_PALETTE, palette)
    return palette


def apply_theme(theme: str) -> None:
    """Use ``theme``: "system" (follow the desktop), "light" or "dark"."""
    app = QGuiApplication.instance()
    if app is None:
        return
    system = _system_palette(app)
    hints = app.styleHints()
    hints.setColorScheme(_SCHEMES.get(theme, Qt.ColorScheme.Unknown))
    if theme == "system":
        app.setPalette(system)
    elif hints.colorScheme() != _SCHEMES[theme] or is_dark(app.palette()) != (theme == "dark"):
        app.setPalette(palette_for(theme))


# Byte classes (mmhex.core.display.ByteClass order: zero, printable, whitespace, control, 0xFF,
# high), as hexyl colours them; printable ASCII keeps the text colour. Each set keeps at least
# 4.5:1 contrast against its Base colour (WCAG AA for text).
_CLASS_COLOURS_LIGHT = ("#767676", "", "#1b7a2e", "#a0287a", "#1c5fb8", "#9a5200")
_CLASS_COLOURS_DARK = ("#8f8f8f", "", "#7fcf8a", "#f08fc8", "#7fb6ff", "#f0b35a")


def byte_class_colours(palette: QPalette) -> list[QColor]:
    """Pen colour of each byte class for this palette (light or dark by its Base lightness)."""
    base = palette.color(Role.Base)
    names = _CLASS_COLOURS_DARK if base.lightness() < 128 else _CLASS_COLOURS_LIGHT
    text = palette.color(Role.Text)
    return [QColor(name) if name else text for name in names]

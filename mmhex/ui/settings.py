"""Persistent view options, recent files and window geometry (QSettings).

This is the only module of mmhex that keeps state between runs; it holds none in memory.

Values are read with an explicit ``type=`` because an INI file gives strings back in a new
process. ``MMHEX_SETTINGS=/path/file.ini`` makes every QSettings of this process use that file,
so tests and benchmarks never touch the user's configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from PySide6.QtCore import QSettings

from mmhex.core.display import ENCODINGS

ORGANIZATION = "mmhex"
APPLICATION = "mmhex"
SETTINGS_ENV = "MMHEX_SETTINGS"

BYTES_PER_ROW_CHOICES = (8, 16, 32)
MAX_BYTES_PER_ROW = 256
GROUP_CHOICES = (1, 2, 4, 8)
OFFSET_BASES = (16, 10)
THEMES = ("system", "light", "dark")
MIN_FONT_SIZE = 6
MAX_FONT_SIZE = 48
MAX_RECENT_FILES = 10


@dataclass(frozen=True)
class ViewOptions:
    """How the grid looks; ``font_size`` 0 means the system's fixed-font size."""

    bytes_per_row: int = 16
    group: int = 1
    offset_base: int = 16
    font_size: int = 0
    theme: str = "system"
    fit_width: bool = False  # bytes per row follow the window's width
    gap8: bool = False  # one more space every 8 bytes in the hex column
    colour_classes: bool = True  # colour bytes by class (zero, ASCII, whitespace, …)
    encoding: str = "ascii"  # the text column's encoding (mmhex.core.display.ENCODINGS)

    def normalized(self) -> ViewOptions:
        """The same options with every value forced into its valid range."""
        defaults = ViewOptions()
        bytes_per_row = self.bytes_per_row
        if bytes_per_row < 1:  # unreadable or nonsense in the file
            bytes_per_row = defaults.bytes_per_row
        bytes_per_row = min(bytes_per_row, MAX_BYTES_PER_ROW)
        group = self.group if self.group in GROUP_CHOICES else defaults.group
        base = self.offset_base if self.offset_base in OFFSET_BASES else defaults.offset_base
        size = min(max(MIN_FONT_SIZE, self.font_size), MAX_FONT_SIZE) if self.font_size > 0 else 0
        theme = self.theme if self.theme in THEMES else defaults.theme
        encoding = self.encoding if self.encoding in ENCODINGS else defaults.encoding
        return replace(
            self,
            encoding=encoding,
            bytes_per_row=bytes_per_row,
            group=group,
            offset_base=base,
            font_size=size,
            theme=theme,
        )


_scratch_folder: str | None = None


def _scratch_settings_path() -> str:
    """A private settings file for this process only, removed at exit."""
    global _scratch_folder
    if _scratch_folder is None:
        import atexit
        import shutil
        import tempfile

        _scratch_folder = tempfile.mkdtemp(prefix="mmhex-settings-")
        atexit.register(shutil.rmtree, _scratch_folder, True)
    return os.path.join(_scratch_folder, "settings.ini")


def open_settings() -> QSettings:
    """The settings store: the user's (~/.config/mmhex/mmhex.conf) or the file in MMHEX_SETTINGS."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        if os.path.exists(path) and not os.path.isfile(path):
            # QSettings saves by renaming a new file over the path: pointed at /dev/null or a
            # FIFO it would replace the device. Such a path means "keep nothing".
            path = _scratch_settings_path()
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def load_view_options() -> ViewOptions:
    store = open_settings()
    defaults = ViewOptions()
    options = ViewOptions(
        bytes_per_row=int(store.value("view/bytes_per_row", defaults.bytes_per_row, type=int)),
        group=int(store.value("view/group", defaults.group, type=int)),
        offset_base=int(store.value("view/offset_base", defaults.offset_base, type=int)),
        font_size=int(store.value("view/font_size", defaults.font_size, type=int)),
        theme=str(store.value("view/theme", defaults.theme, type=str)),
        fit_width=bool(store.value("view/fit_width", defaults.fit_width, type=bool)),
        gap8=bool(store.value("view/gap8", defaults.gap8, type=bool)),
        colour_classes=bool(store.value("view/colour_classes", defaults.colour_classes, type=bool)),
        encoding=str(store.value("view/encoding", defaults.encoding, type=str)),
    )
    return options.normalized()


def save_view_options(options: ViewOptions) -> None:
    store = open_settings()
    options = options.normalized()
    store.setValue("view/bytes_per_row", options.bytes_per_row)
    store.setValue("view/group", options.group)
    store.setValue("view/offset_base", options.offset_base)
    store.setValue("view/font_size", options.font_size)
    store.setValue("view/theme", options.theme)
    store.setValue("view/fit_width", options.fit_width)
    store.setValue("view/gap8", options.gap8)
    store.setValue("view/colour_classes", options.colour_classes)
    store.setValue("view/encoding", options.encoding)
    store.sync()


INSPECTOR_ORIGINS = ("selection", "cursor")


def inspector_origin() -> str:
    """Where the data inspector reads: the selection's first byte (default) or the cursor."""
    value = str(open_settings().value("inspector/origin", "selection", type=str))
    return value if value in INSPECTOR_ORIGINS else "selection"


def save_inspector_origin(origin: str) -> None:
    store = open_settings()
    store.setValue("inspector/origin", origin if origin in INSPECTOR_ORIGINS else "selection")
    store.sync()


def recent_files() -> list[str]:
    """Most recent first; files that no longer exist are dropped (and forgotten)."""
    value = open_settings().value("recent/files", [], type=list)
    files = [str(path) for path in value if path][:MAX_RECENT_FILES]
    present = [path for path in files if os.path.lexists(path)]
    if present != files:
        _store_recent(present)
    return present


def add_recent_file(path: str) -> list[str]:
    path = os.path.abspath(path)
    files = [path] + [p for p in recent_files() if p != path]
    _store_recent(files[:MAX_RECENT_FILES])
    return files[:MAX_RECENT_FILES]


def clear_recent_files() -> None:
    _store_recent([])


def _store_recent(files: list[str]) -> None:
    store = open_settings()
    store.setValue("recent/files", files)
    store.sync()


def load_window_geometry() -> bytes:
    value = open_settings().value("window/geometry", b"")
    return bytes(value) if value else b""


def save_window_geometry(geometry: bytes) -> None:
    store = open_settings()
    store.setValue("window/geometry", geometry)
    store.sync()

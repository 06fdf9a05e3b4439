"""What the About dialog and the desktop integration say about mmhex: plain data, no Qt.

The version is ``mmhex.__version__`` (the one place it is written); the application id names the
desktop entry, the icon and the AppStream component that packaging/ installs.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from mmhex import __version__

APP_ID = "io.github.mmhex.mmhex"
"""Reverse-DNS id: ``APP_ID + ".desktop"``, the icon name and the AppStream id. Qt needs it as
``QGuiApplication.setDesktopFileName`` so that Wayland and docks match windows to the entry."""

ICON_NAME = APP_ID


@dataclass(frozen=True)
class AboutInfo:
    """Everything the About dialog shows, in display order."""

    name: str
    version: str
    summary: str
    description: str
    license_name: str
    copyright: str
    third_party: tuple[str, ...]

    @property
    def title(self) -> str:
        return f"{self.name} {self.version}"

    def as_text(self) -> str:
        """Plain-text form, for a dialog's copy button or a terminal."""
        lines = [
            self.title,
            self.summary,
            "",
            self.description,
            "",
            f"License: {self.license_name}",
            self.copyright,
        ]
        if self.third_party:
            lines += ["", "Includes:", *(f"  {item}" for item in self.third_party)]
        return "\n".join(lines)

    def as_html(self, *details: str) -> str:
        """Rich-text form for QMessageBox.about; ``details`` (e.g. the Qt version) come last."""
        paragraphs = [
            self.summary,
            self.description,
            f"License: {self.license_name}. {self.copyright}.",
            *(f"Includes {item}." for item in self.third_party),
            *details,
        ]
        return f"<h3>{escape(self.title)}</h3>" + "".join(
            f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs
        )


ABOUT = AboutInfo(
    name="mmhex",
    version=__version__,
    summary="Hex viewer and editor for files of any size",
    description=(
        "mmhex shows and edits the bytes of a file through the operating system's virtual memory: "
        "it maps the file a window at a time, so an empty file, a one-terabyte sparse file and a "
        "block device all open at once and use little memory."
    ),
    license_name="MIT",
    copyright="Copyright © the mmhex developers",
    third_party=(
        "Qt 6 (LGPL-3.0) through PySide6 and Shiboken6 (LGPL-3.0)",
        "Python (PSF License), in the packaged builds",
    ),
)

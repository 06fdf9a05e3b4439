"""The desktop entry, AppStream metainfo and icon files in resources/ and mmhex/resources/, checked
with the freedesktop validators, the shared MIME database and a PNG header reader of our own."""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmhex.about import APP_ID, ICON_NAME

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
DESKTOP_ENTRY = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
ICON_DIR = ROOT / "mmhex" / "resources" / "icons"
SVG_SOURCE = RESOURCES / "icons" / "mmhex.svg"
FREEDESKTOP_MIME_DB = Path("/usr/share/mime/packages/freedesktop.org.xml")
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP_ENTRY, encoding="utf-8")
    return parser["Desktop Entry"]


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the PNG signature and IHDR chunk."""
    data = path.read_bytes()[:33]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert (length, chunk) == (13, b"IHDR"), f"{path.name}: first chunk is not IHDR"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/setup.sh test installs it)")
    return path


def test_desktop_entry_passes_desktop_file_validate():
    validate = require_tool("desktop-file-validate")
    result = subprocess.run([validate, str(DESKTOP_ENTRY)], capture_output=True, text=True)
    problems = [
        line for line in (result.stdout + result.stderr).splitlines() if ": hint:" not in line
    ]
    assert result.returncode == 0 and problems == [], result.stdout + result.stderr


def test_desktop_entry_opens_files_with_mmhex():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "mmhex %f"
    assert entry["TryExec"] == "mmhex"
    assert entry["Icon"] == ICON_NAME
    assert entry["Categories"] == "Development;Utility;"
    assert entry["Terminal"] == "false"


def test_desktop_entry_mime_types_are_binary_types_the_mime_database_knows():
    mime_types = desktop_entry()["MimeType"].rstrip(";").split(";")
    assert "application/octet-stream" in mime_types
    assert len(mime_types) == len(set(mime_types))
    if not FREEDESKTOP_MIME_DB.exists():
        pytest.skip("shared-mime-info is not installed")
    namespace = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    known = {
        node.get("type")
        for node in ET.parse(FREEDESKTOP_MIME_DB).getroot().findall("m:mime-type", namespace)
    }
    assert set(mime_types) <= known, set(mime_types) - known


def test_metainfo_passes_appstreamcli_validate():
    appstreamcli = require_tool("appstreamcli")
    result = subprocess.run(
        [appstreamcli, "validate", "--no-net", "--no-color", str(METAINFO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_metainfo_names_the_desktop_entry_and_leaves_the_version_to_the_build():
    root = ET.parse(METAINFO).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    launchable = root.find("launchable")
    assert launchable is not None and launchable.text == DESKTOP_ENTRY.name
    assert root.findtext("provides/binary") == "mmhex"
    # packaging/build.sh writes the release from mmhex.__version__: no second copy here.
    assert root.find("releases") is None


def test_icon_pngs_exist_at_every_hicolor_size_and_nothing_else():
    names = sorted(path.name for path in ICON_DIR.iterdir())
    assert names == sorted(f"mmhex-{size}.png" for size in HICOLOR_SIZES)
    for size in HICOLOR_SIZES:
        width, height, depth, colour = png_header(ICON_DIR / f"mmhex-{size}.png")
        assert (width, height) == (size, size)
        assert (depth, colour) == (8, 6), "expected 8-bit RGBA"


def test_icon_pngs_are_a_fresh_render_of_the_svg(qapp):
    """A stale PNG after an SVG edit fails here: run resources/render_icons.py."""
    from PySide6.QtGui import QImage

    from resources.render_icons import render

    for size in HICOLOR_SIZES:
        fresh = render(SVG_SOURCE, size).convertToFormat(QImage.Format.Format_ARGB32)
        committed = QImage(str(ICON_DIR / f"mmhex-{size}.png")).convertToFormat(
            QImage.Format.Format_ARGB32
        )
        assert committed.size() == fresh.size()
        fresh_bytes, committed_bytes = bytes(fresh.constBits()), bytes(committed.constBits())
        assert len(fresh_bytes) == len(committed_bytes) == size * size * 4
        worst = max(abs(a - b) for a, b in zip(fresh_bytes, committed_bytes, strict=True))
        assert worst <= 2, f"mmhex-{size}.png differs from the SVG by up to {worst}/255"


def test_icon_has_transparent_corners_and_an_opaque_middle(qapp):
    from PySide6.QtGui import QImage

    for size in HICOLOR_SIZES:
        image = QImage(str(ICON_DIR / f"mmhex-{size}.png"))
        assert image.pixelColor(0, 0).alpha() == 0
        assert image.pixelColor(size - 1, size - 1).alpha() == 0
        assert image.pixelColor(size // 2, size // 2).alpha() == 255

"""Reading the bytes: class colours, text encodings, the 8-byte gap, Fit to Width, small windows."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QDockWidget

from mmhex.core.display import ByteClass, display_text
from mmhex.ui.features import install_features
from mmhex.ui.hex_model import hex_chars
from mmhex.ui.hex_view import Pane, fit_bytes_per_row
from mmhex.ui.theme import apply_theme, byte_class_colours
from tests.ui.helpers import painted_rows, record_paint

# One byte of each class in the first row, then every byte value.
SAMPLE = b"\x00A \n\x01\x7f\xff\x80" + bytes(range(256))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "sample.bin"
    path.write_bytes(SAMPLE * 4)
    return path


def contrast(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio, written out independently of the theme module."""

    def luminance(color: QColor) -> float:
        parts = []
        for value in (color.redF(), color.greenF(), color.blueF()):
            parts.append(value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4)
        return 0.2126 * parts[0] + 0.7152 * parts[1] + 0.0722 * parts[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_bytes_are_coloured_by_class_by_default(window, sample) -> None:
    assert window.options.colour_classes
    assert window.open_path(str(sample)) is None
    view = window.view
    colours = byte_class_colours(view.palette())
    geometry = view.layout_geometry
    first_row = [t for t in record_paint(view).texts
                 if t.baseline == geometry.header_height + geometry.ascent
                 and round(t.x, 3) == round(geometry.hex_x, 3)]  # fmt: skip
    by_colour = {t.color.name(): t.text for t in first_row}
    for column, kind in enumerate([ByteClass.ZERO, ByteClass.PRINTABLE, ByteClass.WHITESPACE,
                                   ByteClass.WHITESPACE, ByteClass.CONTROL, ByteClass.CONTROL,
                                   ByteClass.FF, ByteClass.HIGH]):  # fmt: skip
        text = by_colour[colours[kind].name()]
        at = geometry.hex_char(column)
        assert text[at : at + 2] == f"{SAMPLE[column]:02x}", (column, kind)
    # The whole row still reads as xxd prints it.
    row = painted_rows(view)[0]
    assert row.hex_text == " ".join(f"{b:02x}" for b in SAMPLE[:16])


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_class_colours_are_readable_in_light_and_dark(window, theme) -> None:
    try:
        apply_theme(theme)
        QApplication.processEvents()
        palette = window.view.palette()
        base = palette.color(QPalette.ColorRole.Base)
        for kind, colour in enumerate(byte_class_colours(palette)):
            assert contrast(colour, base) >= 4.5, (theme, ByteClass(kind), colour.name())
        names = {c.name() for c in byte_class_colours(palette)}
        assert len(names) == 6  # every class distinct
    finally:
        apply_theme("system")


def test_colouring_can_be_turned_off(window, sample) -> None:
    assert window.open_path(str(sample)) is None
    window.action_builder.actions["view.colour_classes"].trigger()
    assert not window.options.colour_classes
    text = window.view.palette().color(QPalette.ColorRole.Text)
    cursor = window.view.palette().color(QPalette.ColorRole.HighlightedText)
    geometry = window.view.layout_geometry
    hex_x = round(geometry.hex_x, 3)
    at_hex = [t for t in record_paint(window.view).texts if round(t.x, 3) == hex_x
              and t.baseline > geometry.header_height and t.color != cursor]  # fmt: skip
    assert at_hex and all(t.color == text for t in at_hex)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "cp037", "cp437", "utf-8", "utf-16-le"])
def test_text_pane_encoding(window, sample, encoding) -> None:
    assert window.open_path(str(sample)) is None
    window.action_builder.actions[f"view.encoding.{encoding}"].trigger()
    assert window.options.encoding == encoding
    rows = painted_rows(window.view)
    shown = "".join(row.ascii_text for row in rows[:4])
    data = (SAMPLE * 4)[:64]
    assert shown.rstrip() == display_text(data, encoding, 0, b"", (SAMPLE * 4)[64:67]).rstrip()
    if encoding == "cp437":
        assert rows[11].ascii_text[8] == bytes([0xB0]).decode("cp437") == "░"  # as DOS drew it


def test_utf8_text_pane_and_copy(window, tmp_path, qtbot) -> None:
    from mmhex.ui import clipboard

    path = tmp_path / "utf8.bin"
    path.write_bytes("naïve €uro ✓".encode() + b"\x00" * 40)
    assert window.open_path(str(path)) is None
    window.set_encoding("utf-8")
    row = painted_rows(window.view)[0]
    # Each character on its first byte, the bytes that continue it blank.
    assert row.ascii_text == "naï ve €  uro ✓ "
    controller = clipboard.install(window)
    window.view.set_active_pane(Pane.TEXT)
    window.view.select(0, 16)
    controller.copy()
    assert QApplication.clipboard().text() == row.ascii_text[:16]


def hexdump_hex(path: Path, count: int) -> list[str]:
    out = subprocess.run(["hexdump", "-C", "-v", "-n", str(count), str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [re.match(r"^[0-9a-f]+  (.*?)  \|", line).group(1).rstrip()
            for line in out.splitlines() if "|" in line]  # fmt: skip


def test_gap_every_8_bytes_matches_hexdump_c(window, sample) -> None:
    assert window.open_path(str(sample)) is None
    window.action_builder.actions["view.gap8"].trigger()
    assert window.options.gap8
    rows = painted_rows(window.view)[:8]
    assert [row.hex_text for row in rows] == hexdump_hex(sample, 8 * 16)
    view = window.view
    for offset in range(16, 32):  # clicks land on the byte drawn there, gap or not
        for pane in (Pane.HEX, Pane.TEXT):
            rect = view.byte_rect(offset, pane)
            assert view.hit(QPointF(rect.center())) == (pane, offset)
    assert view.layout_geometry.header_hex.startswith("00 01 02 03 04 05 06 07  08")


@pytest.mark.parametrize("group", [1, 2, 4, 8])
@pytest.mark.parametrize("gap8", [False, True])
def test_fit_arithmetic(group, gap8) -> None:
    char, digits = 7.5, 8

    def width(count: int) -> float:
        return (digits + 3 + hex_chars(count, group, gap8) + 2 + count + 1) * char

    for available in (200, 333, 640, 1000, 1920, 5000):
        count = fit_bytes_per_row(available, char, digits, group, gap8, 256)
        assert width(count) <= available or count == 1
        fits = [n for n in range(1, 257) if width(n) <= available]
        most = max(fits, default=1)
        step = 8 if most >= 8 else group if most >= group else 1
        assert count == most - most % step


def test_fit_to_width_follows_the_window(window, sample, qtbot) -> None:
    assert window.open_path(str(sample)) is None
    window.action_builder.actions["view.bytes_per_row.fit"].trigger()
    assert window.options.fit_width
    view = window.view
    for width in (1200, 700, 500):
        window.resize(width, 500)
        qtbot.waitUntil(lambda: view.bytes_per_row == view.fitting_bytes_per_row(), timeout=2000)
        assert view.bytes_per_row % 8 == 0 or view.bytes_per_row < 8
        assert view.layout_geometry.width <= view.viewport().width()
    window.set_bytes_per_row(16)
    assert not window.options.fit_width


def test_window_shrinks_to_640_by_480_with_every_panel(window, sample) -> None:
    install_features(window)
    assert window.open_path(str(sample)) is None
    hint = window.minimumSizeHint()
    assert hint.width() <= 640 and hint.height() <= 480
    window.resize(640, 480)
    QApplication.processEvents()
    assert (window.width(), window.height()) == (640, 480)


def test_docks_give_way_before_the_grid(window, sample, qtbot) -> None:
    install_features(window)
    assert window.open_path(str(sample)) is None
    view = window.view
    needed = view.sizeHint().width()
    window.resize(needed + 700, 700)
    QApplication.processEvents()
    docks = [d for d in window.findChildren(QDockWidget) if d.isVisible() and d.width() > 200]
    wide = max(d.width() for d in docks)
    window.resize(needed + 250, 700)
    qtbot.waitUntil(lambda: view.width() >= needed, timeout=2000)
    assert max(d.width() for d in docks) < wide  # the panels gave up the width

"""Test helpers: capture what the hex view paints, and xxd as the reference for those rows."""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter, QPalette

from mmhex.ui.hex_view import HexView


@dataclass(frozen=True)
class DrawnText:
    x: float
    baseline: float
    text: str
    color: QColor


class RecordingPainter(QPainter):
    """A QPainter that remembers every drawText(QPointF, str) the view makes."""

    def __init__(self, device: QImage) -> None:
        super().__init__(device)
        self.texts: list[DrawnText] = []

    def drawText(self, *args):
        if len(args) == 2 and isinstance(args[0], QPointF):
            origin = self.transform().map(args[0])
            self.texts.append(DrawnText(origin.x(), origin.y(), args[1], self.pen().color()))
        return super().drawText(*args)


def record_paint(view: HexView) -> RecordingPainter:
    """Run the view's own painting code into an image and return what it drew."""
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    painter = RecordingPainter(image)
    try:
        view.render_rows(painter)
    finally:
        painter.end()
    return painter


@dataclass(frozen=True)
class PaintedRow:
    offset_text: str
    hex_text: str
    ascii_text: str


def painted_rows(view: HexView) -> list[PaintedRow]:
    """The rows as painted (offset, hex and text column strings), top to bottom.

    Texts are grouped by baseline and matched to the column x positions; the cursor's overdraw
    (drawn in the HighlightedText colour) and the header are left out. A text drawn at the hex
    column that reaches into the text column is split where the text column starts. Texts drawn
    at the same place (one per byte class, others blanked) are laid over each other first.
    """
    geometry = view.layout_geometry
    cursor_color = view.palette().color(QPalette.ColorRole.HighlightedText)
    scroll = view.horizontalScrollBar().value()
    rows: dict[float, dict[str, str]] = {}
    for drawn in record_paint(view).texts:
        if drawn.baseline < geometry.header_height or drawn.color == cursor_color:
            continue
        x = drawn.x + scroll
        column = {
            round(geometry.offset_x, 3): "offset",
            round(geometry.hex_x, 3): "hex",
            round(geometry.text_x, 3): "ascii",
        }.get(round(x, 3))
        assert column is not None, f"text {drawn.text!r} drawn at unexpected x={x}"
        row = rows.setdefault(drawn.baseline, {})
        text = drawn.text
        if column == "hex":
            text = overlay(row.get("line", ""), text)
            row["line"] = text
        row[column] = text
        if column == "hex":
            split = round((geometry.text_x - geometry.hex_x) / geometry.char_width)
            if len(text) > split:
                assert text[split - 2 : split] == "  ", text
                row["hex"] = text[: split - 2].rstrip()
                row["ascii"] = text[split:]
    return [
        PaintedRow(row.get("offset", ""), row.get("hex", ""), row.get("ascii", ""))
        for _, row in sorted(rows.items())
    ]


def overlay(below: str, above: str) -> str:
    """Two partial drawings of one line combined: each character from whichever is not blank."""
    width = max(len(below), len(above))
    below, above = below.ljust(width), above.ljust(width)
    return "".join(a if a != " " else b for a, b in zip(above, below, strict=True))


@dataclass(frozen=True)
class XxdRow:
    offset: int
    hex_text: str
    ascii_text: str


def xxd_rows(
    path: Path, offset: int, length: int, columns: int, group: int, decimal: bool = False
) -> list[XxdRow]:
    """``xxd -s OFFSET -l LENGTH -c COLUMNS -g GROUP`` parsed into rows."""
    command = ["xxd", "-s", str(offset), "-l", str(length), "-c", str(columns), "-g", str(group)]
    if decimal:
        command.append("-d")
    output = subprocess.run([*command, str(path)], capture_output=True, text=True, check=True)
    hex_width = columns * 2 + math.ceil(columns / group) - 1
    rows = []
    for line in output.stdout.splitlines():
        offset_text, rest = line.split(": ", 1)
        rows.append(
            XxdRow(
                int(offset_text, 10 if decimal else 16),
                rest[:hex_width].rstrip(),
                rest[hex_width + 2 :],
            )
        )
    return rows

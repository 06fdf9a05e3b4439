"""HexView's generic hooks: an offset labeller and segmented rows with separator rows (used for
processes, here over a plain file)."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter

from mmhex.core.row_layout import Segment
from mmhex.core.viewport import offset_digits


def test_labeller_and_separator_rows_then_back_to_plain_offsets(window, random_file, qtbot):
    assert window.open_path(str(random_file)) is None
    view = window.view
    data = random_file.read_bytes()
    plain_width = view.layout_geometry.width
    plain_hex_x = view.layout_geometry.hex_x
    first_row = view.model.row_texts()[0]
    assert view.offset_label(first_row) == first_row.offset_text

    def label(offset: int) -> str:
        return f"{0x7F0000000000 + offset:012x}"

    view.set_offset_labeller(label, header="address")
    segments = [Segment(0, 40), Segment(40, 30, "gap here"), Segment(70, len(data) - 70)]
    view.set_segments(lambda: segments)
    rows = view.model.row_texts()
    # 40 bytes: two full rows and a short one; the separator; 30 bytes from offset 40; then
    # offset 70 starts a row of its own (no note: the segments touch).
    assert [(row.offset, row.length, row.note) for row in rows[:8]] == [
        (0, 16, None),
        (16, 16, None),
        (32, 8, None),
        (40, 0, "gap here"),
        (40, 16, None),
        (56, 14, None),
        (70, 16, None),
        (86, 16, None),
    ]
    assert [row.hex_text for row in rows[:3]] == [
        data[0:16].hex(" "),
        data[16:32].hex(" "),
        data[32:40].hex(" "),
    ]
    assert rows[4].hex_text == data[40:56].hex(" ")
    assert [view.offset_label(row) for row in rows[:5]] == [
        label(0),
        label(16),
        label(32),
        "",
        label(40),
    ]
    assert view.separators_on_screen() == [(40, "gap here")]
    assert view.model.total_rows == 3 + 1 + 2 + -(-(len(data) - 70) // 16)
    geometry = view.layout_geometry
    # Twelve label digits instead of the file's offset digits; the note takes no extra column.
    wider = 12 - offset_digits(view.size, 16)
    assert geometry.hex_x - plain_hex_x == wider * geometry.char_width
    assert geometry.width - plain_width == wider * geometry.char_width
    # A note wider than the grid widens the scrollable area to its end.
    long_note = "x" * 200
    view.set_segments(lambda: [Segment(0, 40), Segment(40, len(data) - 40, long_note)])
    geometry = view.layout_geometry
    assert geometry.width == geometry.offset_x + 201 * geometry.char_width
    view.set_segments(lambda: segments)
    image = QImage(view.viewport().size(), QImage.Format.Format_RGB32)
    painter = QPainter(image)
    view.render_rows(painter)  # draws the labels, the separator row and its note
    painter.end()
    view.set_segments(None)
    view.set_offset_labeller(None)
    assert view.separators_on_screen() == []
    assert view.offset_label(view.model.row_texts()[0]) == first_row.offset_text
    assert view.model.row_texts()[2].offset == 32 and view.model.row_texts()[3].offset == 48
    assert view.layout_geometry.width == plain_width


def test_segments_that_no_longer_match_the_document_fall_back_to_plain_rows(window, random_file):
    """Segments read before the document changed size never break the paint."""
    assert window.open_path(str(random_file)) is None
    view = window.view
    view.set_segments(lambda: [Segment(0, 100), Segment(100, 100, "gap")])  # 200 != 10,007
    assert view.model.total_rows == -(-10_007 // 16)
    assert view.separators_on_screen() == []
    view.viewport().grab()

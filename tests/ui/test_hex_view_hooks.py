"""HexView's generic hooks: an offset labeller and notes at row boundaries (used for processes)."""

from __future__ import annotations

from PySide6.QtGui import QImage, QPainter

from mmhex.core.viewport import offset_digits


def test_labeller_and_separators_then_back_to_plain_offsets(window, random_file, qtbot):
    assert window.open_path(str(random_file)) is None
    view = window.view
    plain_width = view.layout_geometry.width
    plain_hex_x = view.layout_geometry.hex_x
    first_row = view.model.row_texts()[0]
    assert view.offset_label(first_row) == first_row.offset_text

    def label(offset: int) -> str:
        return f"{0x7F0000000000 + offset:012x}"

    view.set_offset_labeller(
        label, lambda offset: "gap here" if offset == 32 else None, 9, header="address"
    )
    rows = view.model.row_texts()
    assert [view.offset_label(row) for row in rows[:3]] == [label(0), label(16), label(32)]
    assert view.separators_on_screen() == [(32, "gap here")]
    geometry = view.layout_geometry
    # Twelve label digits instead of the file's offset digits; nine more columns for notes.
    wider = 12 - offset_digits(view.size, 16)
    assert geometry.hex_x - plain_hex_x == wider * geometry.char_width
    assert geometry.width - plain_width == (wider + 9) * geometry.char_width
    image = QImage(view.viewport().size(), QImage.Format.Format_RGB32)
    painter = QPainter(image)
    view.render_rows(painter)  # draws the labels, the line and the note without error
    painter.end()
    view.set_offset_labeller(None)
    assert view.separators_on_screen() == []
    assert view.offset_label(view.model.row_texts()[0]) == first_row.offset_text
    assert view.layout_geometry.width == plain_width

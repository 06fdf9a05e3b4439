"""What the grid paints, compared with xxd on the same bytes; columns, cursor and selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFontMetricsF, QPalette

from mmhex.ui.hex_view import Pane
from tests.ui.helpers import painted_rows, record_paint, xxd_rows


def assert_rows_match_xxd(window, path: Path, *, decimal: bool = False) -> int:
    """Every painted row equals xxd's row for the same offsets; returns the rows compared."""
    view = window.view
    rows = painted_rows(view)
    assert rows, "nothing painted"
    first = view.top_row * view.bytes_per_row
    reference = xxd_rows(
        path,
        first,
        len(rows) * view.bytes_per_row,
        view.bytes_per_row,
        view.model.group,
        decimal=decimal,
    )
    assert len(rows) == len(reference)
    for painted, expected in zip(rows, reference, strict=True):
        assert int(painted.offset_text, 10 if decimal else 16) == expected.offset
        assert painted.hex_text == expected.hex_text
        assert painted.ascii_text == expected.ascii_text
    return len(rows)


@pytest.mark.parametrize(("per_row", "group"), [(16, 1), (16, 2), (8, 4), (32, 8), (24, 4)])
def test_rows_match_xxd_at_start_middle_and_end(window, random_file, per_row, group) -> None:
    assert window.open_path(str(random_file)) is None
    window.set_bytes_per_row(per_row)
    window.set_group(group)
    view = window.view
    assert assert_rows_match_xxd(window, random_file) == view.page_rows + 1
    view.set_top_row(view.model.total_rows // 2)
    assert_rows_match_xxd(window, random_file)
    view.move_to_end()
    count = assert_rows_match_xxd(window, random_file)
    assert count == view.page_rows  # the last page is full and ends with the last (short) row


def test_decimal_offsets_match_xxd(window, random_file) -> None:
    window.open_path(str(random_file))
    window.set_offset_base(10)
    window.view.set_top_row(100)
    assert_rows_match_xxd(window, random_file, decimal=True)


def test_last_rows_of_a_tebibyte_match_xxd(window, sparse_tib) -> None:
    window.open_path(str(sparse_tib))
    window.view.move_to_end()
    assert assert_rows_match_xxd(window, sparse_tib) == window.view.page_rows
    assert painted_rows(window.view)[-1].ascii_text == "........TAILEND!"


def test_columns_line_up_with_the_glyphs(window, random_file) -> None:
    """Cursor, selection and hit-testing use k * char_width: glyphs must land exactly there."""
    window.open_path(str(random_file))
    view = window.view
    metrics = QFontMetricsF(view.font())
    row = view.model.row_texts()[0]
    width = view.layout_geometry.char_width
    for text in (row.line_text, row.offset_text):
        for length in range(len(text) + 1):
            assert metrics.horizontalAdvance(text[:length]) == pytest.approx(
                length * width, abs=0.5
            )
    # Every row's three columns start at the same x on every row.
    xs = {(round(t.x, 3)) for t in record_paint(view).texts if t.baseline > 30}
    geometry = view.layout_geometry
    assert xs <= {round(geometry.offset_x, 3), round(geometry.hex_x, 3), round(geometry.text_x, 3)}


def pixel(image, x: float, y: float) -> QColor:
    return image.pixelColor(round(x), round(y))


def close_to(actual: QColor, expected: QColor, tolerance: int = 40) -> bool:
    return all(
        abs(a - b) <= tolerance
        for a, b in zip(actual.getRgb()[:3], expected.getRgb()[:3], strict=True)
    )


def test_cursor_is_solid_in_active_pane_and_outlined_in_the_other(window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    view.set_cursor(16 * 3 + 5)
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    base = view.palette().color(QPalette.ColorRole.Base)
    image = view.viewport().grab().toImage()
    hex_rect = view.byte_rect(view.cursor_offset, Pane.HEX)
    text_rect = view.byte_rect(view.cursor_offset, Pane.TEXT)
    # Solid: a corner of the hex cell (away from the glyphs) is the highlight colour.
    assert close_to(pixel(image, hex_rect.left() + 1, hex_rect.top() + 2), highlight)
    # Outlined: the text cell's border is highlight, its middle column between glyph strokes
    # is not filled.
    assert close_to(pixel(image, text_rect.left() + 1, text_rect.center().y()), highlight)
    assert not close_to(pixel(image, text_rect.center().x(), text_rect.top() + 3), highlight)
    view.switch_pane()
    image = view.viewport().grab().toImage()
    assert close_to(pixel(image, text_rect.left() + 1, text_rect.top() + 2), highlight)
    assert close_to(pixel(image, hex_rect.center().x(), hex_rect.top() + 3), base)


def test_selection_is_shaded_in_both_panes(window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    base = view.palette().color(QPalette.ColorRole.Base)
    view.select(16 + 2, 16 + 10)
    image = view.viewport().grab().toImage()
    for offset in (18, 22, 25):
        for pane in (Pane.HEX, Pane.TEXT):
            rect = view.byte_rect(offset, pane)
            assert not close_to(pixel(image, rect.left() + 1, rect.top() + 1), base, 5)
    for offset in (17, 26):  # just outside
        rect = view.byte_rect(offset, Pane.HEX)
        assert close_to(pixel(image, rect.left() + 1, rect.top() + 1), base, 5)


def test_highlighter_ranges_are_painted(window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    calls = []
    green = QColor(0, 200, 0)

    def highlighter(start: int, end: int):
        calls.append((start, end))
        return [(40, 44, green)]

    view.add_highlighter(highlighter)
    view.set_cursor(0)
    image = view.viewport().grab().toImage()
    assert calls and calls[-1][0] == 0
    assert calls[-1][1] == (view.page_rows + 1) * 16
    for offset in (40, 43):
        rect = view.byte_rect(offset, Pane.TEXT)
        assert close_to(pixel(image, rect.left() + 1, rect.top() + 1), green, 10)
    rect = view.byte_rect(44, Pane.TEXT)
    assert not close_to(pixel(image, rect.left() + 1, rect.top() + 1), green, 60)
    view.remove_highlighter(highlighter)
    image = view.viewport().grab().toImage()
    rect = view.byte_rect(40, Pane.TEXT)
    assert not close_to(pixel(image, rect.left() + 1, rect.top() + 1), green, 60)


def test_empty_file_paints_no_rows(window, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert window.open_path(str(empty)) is None
    assert painted_rows(window.view) == []
    assert window.size_label.text().startswith("Size 0 bytes")

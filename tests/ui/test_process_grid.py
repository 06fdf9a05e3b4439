"""The grid over a process: each readable region starts a row, each gap is one separator row.

The expected rows come from an independent model written out here (readable regions in address
order -> rows), and the keys, the mouse, the selection, copy, scrolling and jumps are checked
against the child's own bytes (tests/process_child.py punches a hole between two mappings).
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from mmhex.core.process_document import ProcessDocument
from mmhex.core.row_layout import Segment
from mmhex.core.viewport import SCROLL_STEPS
from mmhex.ui.editing import RAW_BYTES_MIME
from mmhex.ui.features import install_features
from mmhex.ui.panels.residency_panel import ResidencyPanel
from mmhex.ui.process.feature import feature_of
from tests.process_support import Child, child  # noqa: F401 (fixture)


class ModelRows:
    """Rows of a process spelled out the slow way: walk the regions, count rows one by one."""

    def __init__(self, regions: list[tuple[int, int]], per_row: int) -> None:
        self.regions = regions  # (start address, end address) of each readable region, in order
        self.per_row = per_row

    def __iter__(self):
        """(kind, address or gap start, bytes or gap end) for every row, top to bottom."""
        previous_end = None
        for start, end in self.regions:
            if previous_end is not None and start != previous_end:
                yield ("gap", previous_end, start)
            address = start
            while address < end:
                yield ("bytes", address, min(self.per_row, end - address))
                address += self.per_row
            previous_end = end

    def index_of(self, address: int) -> int:
        for index, (kind, at, count) in enumerate(self):
            if kind == "bytes" and at <= address < at + count:
                return index
        raise KeyError(address)


@pytest.fixture
def process_window(window, tmp_path, monkeypatch, child: Child):  # noqa: F811
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    install_features(window)
    feature = feature_of(window)
    assert feature.open_pid(child.pid) is None
    document = window.document
    assert isinstance(document, ProcessDocument)
    yield window, document
    window.findChild(ResidencyPanel).shutdown()
    feature.stop_children()


def shown(view) -> list[tuple[str, int, int]]:
    """The rows on screen in the model's terms."""
    out = []
    for row in view.model.row_texts():
        if row.note is not None:
            out.append(("gap", row.note))
        else:
            out.append(("bytes", int(view.offset_label(row), 16), row.length))
    return out


def model_of(document: ProcessDocument, per_row: int) -> ModelRows:
    return ModelRows([(r.start, r.end) for r in document.space.readable], per_row)


@pytest.mark.parametrize("per_row", [16, 24])
def test_rows_equal_the_model_of_the_regions(process_window, child: Child, per_row):  # noqa: F811
    window, document = process_window
    window.set_bytes_per_row(per_row)
    view = window.view
    model = list(model_of(document, per_row))
    assert view.model.total_rows == len(model)
    gaps = [index for index, row in enumerate(model) if row[0] == "gap"]
    assert gaps, "a Python process always has gaps between its mappings"
    # Around every separator (and at both ends) the screen shows exactly the model's rows.
    for top in [0, len(model) - view.page_rows, *(index - 3 for index in gaps)]:
        view.set_top_row(top)
        top = view.top_row
        expected = []
        for kind, at, count in model[top : top + len(view.model.row_texts())]:
            if kind == "gap":
                expected.append(("gap", f"0x{at:_x} – 0x{count:_x}"))
            else:
                expected.append(("bytes", at, count))
        got = shown(view)
        assert len(got) == len(expected)
        for have, want in zip(got, expected, strict=True):
            if want[0] == "gap":
                assert have[0] == "gap" and want[1] in have[1], (have, want)
            else:
                assert have == want
    # The hole the child punched is one of them, named as unmapped, one page.
    info = child.info
    hole = model.index(("gap", info["hole"], info["hole"] + info["page"]))
    view.set_top_row(hole - 2)
    note = dict(view.separators_on_screen())[document.offset_of(info["second"])]
    assert note == f"… 0x{info['hole']:_x} – 0x{info['hole'] + info['page']:_x} unmapped, 4.0 KiB"
    # The bytes of the row below the hole are the child's own.
    row = view.model.row_texts()[hole + 1 - view.top_row]
    assert row.hex_text.replace(" ", "") == child.ask(f"peek {info['second']} {per_row}")


def test_arrows_pages_home_end_cross_the_separator(process_window, child: Child, qtbot):  # noqa: F811
    window, document = process_window
    info, page = child.info, child.info["page"]
    view = window.view
    view.setFocus()
    model = model_of(document, 16)
    last_row_of_first = info["anon"] + page - 16
    view.go_to(document.offset_of(last_row_of_first + 5))

    def address() -> int:
        return document.address_of(view.cursor_offset)

    qtbot.keyClick(view, Qt.Key.Key_Down)  # over the separator, same column
    assert address() == info["second"] + 5
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert address() == last_row_of_first + 5
    # Shift+Down selects the bytes of both regions and nothing of the gap.
    qtbot.keyClick(view, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    start, end = view.selection
    assert end - start == 11 + 6
    window.action_builder.actions["edit.copy"].trigger()
    raw = bytes(QApplication.clipboard().mimeData().data(RAW_BYTES_MIME).data())
    expected = bytes.fromhex(child.ask(f"peek {last_row_of_first + 5} 11"))
    expected += bytes.fromhex(child.ask(f"peek {info['second']} 6"))
    assert raw == expected
    # Page Down / Page Up: the cursor keeps its screen row; the separator counts as a row.
    view.go_to(document.offset_of(last_row_of_first + 5))
    here = model.index_of(address())
    screen_row = view.row_of(view.cursor_offset) - view.top_row
    qtbot.keyClick(view, Qt.Key.Key_PageDown)
    rows = list(model)
    target = here + view.page_rows
    if rows[target][0] == "gap":
        target += 1
    kind, at, count = rows[target]
    assert kind == "bytes" and address() == at + min(5, count - 1)
    assert view.row_of(view.cursor_offset) - view.top_row == screen_row
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert address() == last_row_of_first + 5
    # Home / End stay inside the row, Ctrl+Home / Ctrl+End go to the first / last byte.
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert address() == info["anon"] + page - 1
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert address() == last_row_of_first
    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.cursor_offset == document.size - 1
    assert address() == document.space.readable[-1].end - 1
    qtbot.keyClick(view, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert view.cursor_offset == 0 and view.top_row == 0


def test_home_and_end_on_a_region_s_short_last_row(process_window, child: Child, qtbot):  # noqa: F811
    window, document = process_window
    info = child.info
    window.set_bytes_per_row(24)  # 4096 = 170 * 24 + 16: every page region ends in a short row
    view = window.view
    view.setFocus()
    view.go_to(document.offset_of(info["anon"] + 4096 - 3))
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert document.address_of(view.cursor_offset) == info["anon"] + 170 * 24
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert document.address_of(view.cursor_offset) == info["anon"] + 4095
    # Up from column 20 of the row below the separator lands on the short row's last byte.
    view.go_to(document.offset_of(info["second"] + 20))
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert document.address_of(view.cursor_offset) == info["anon"] + 4095


def test_mouse_on_a_separator_row_hits_no_byte(process_window, child: Child, qtbot):  # noqa: F811
    window, document = process_window
    info = child.info
    view = window.view
    second = document.offset_of(info["second"])
    view.go_to(second - 40)
    before = view.cursor_offset
    index = view.row_of(second) - 1 - view.top_row
    assert view.model.row_texts()[index].note is not None
    geometry = view.layout_geometry
    x = round(geometry.hex_column_x(3) + geometry.char_width / 2)
    y_separator = geometry.row_y(index) + geometry.line_height // 2
    assert view.hit(QPoint(x, y_separator).toPointF()) is None
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y_separator))
    assert view.cursor_offset == before and view.selection == (before, before)
    # The row below is the second region's first row: its column 3.
    y_below = y_separator + geometry.line_height
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y_below))
    assert document.address_of(view.cursor_offset) == info["second"] + 3
    # Shift+click above the separator selects across it: both regions' bytes, none of the gap.
    y_above = y_separator - geometry.line_height
    qtbot.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ShiftModifier,
        QPoint(x, y_above),
    )
    start, end = view.selection
    assert document.address_of(start) == info["anon"] + info["page"] - 16 + 3
    assert end - start == 13 + 4


def test_the_selection_is_painted_on_both_regions_not_on_the_separator(process_window, child):  # noqa: F811
    window, document = process_window
    info = child.info
    view = window.view
    second = document.offset_of(info["second"])
    view.select(second - 16, second + 16)
    image = view.viewport().grab().toImage()
    geometry = view.layout_geometry
    index = view.row_of(second) - view.top_row
    x = round(geometry.hex_column_x(0)) + 1  # the cell's left edge, left of the glyphs

    def colour(row: int) -> QColor:
        return image.pixelColor(x, geometry.row_y(row) + 1)

    palette = view.palette()
    band = palette.color(QPalette.ColorRole.AlternateBase)
    base = palette.color(QPalette.ColorRole.Base)
    assert colour(index - 1) == band  # the separator row: its band, no selection
    assert colour(index) != base and colour(index) != band  # selected
    assert colour(index - 2) != base and colour(index - 2) != band
    assert colour(index - 2) == colour(index)
    assert colour(index + 1) == base  # past the selection


def test_find_and_bookmark_jumps_land_on_the_right_row(process_window, child: Child, qtbot):  # noqa: F811
    from mmhex.core.search import PatternKind, SearchPattern
    from mmhex.ui.panels.bookmarks_panel import BookmarksPanel
    from mmhex.ui.search.controller import SearchController
    from mmhex.ui.search.find_bar import FindRequest

    window, document = process_window
    info = child.info
    view = window.view
    controller = window.findChild(SearchController)
    pattern = SearchPattern(PatternKind.TEXT, "second half second half")
    # From the last byte before the hole: the next match is the child's, across the gap (the
    # same text also lives in the child's code objects elsewhere).
    view.go_to(document.offset_of(info["anon"] + info["page"] - 1))
    with qtbot.waitSignal(controller.found, timeout=10_000) as blocker:
        controller.run_find(FindRequest(pattern, pattern.compile()))
    match = blocker.args[0]
    assert document.address_of(match.start) == info["second"]
    assert view.selection == (match.start, match.end)
    rows = view.model.row_texts()
    index = view.row_of(match.start) - view.top_row
    assert 0 <= index < view.page_rows
    assert int(view.offset_label(rows[index]), 16) == info["second"]
    assert rows[index - 1].note is not None  # the hole's separator right above
    assert view.byte_rect(match.start, view.active_pane) is not None
    # A bookmark in the second region, jumped to from the start.
    bookmarks = window.findChild(BookmarksPanel)
    view.select(match.start + 16, match.start + 20)
    assert bookmarks.add_from_selection("second") is not None
    view.go_to(0)
    assert bookmarks.go_next() is not None
    assert view.selection == (match.start + 16, match.start + 20)
    row = view.model.row_texts()[view.row_of(match.start + 16) - view.top_row]
    assert int(view.offset_label(row), 16) == info["second"] + 16


def test_scrollbar_past_2_to_the_30_rows_with_separators(window, sparse_tib, qtbot):
    """The segmented layout at 1 TiB: the slider is a proportion, ends map to ends, keys cross
    a separator exactly, the rows painted are the ones the layout names."""
    assert window.open_path(str(sparse_tib)) is None
    view = window.view
    half = (1 << 39) + 8
    size = 1 << 40
    view.set_segments(
        lambda: [
            Segment(0, half),
            Segment(half, size - half - 8, "… gap"),
            Segment(size - 8, 8, "…"),
        ]
    )
    total = view.model.total_rows
    assert total == -(-half // 16) + 1 + -(-(size - half - 8) // 16) + 1 + 1
    assert total > SCROLL_STEPS
    bar = view.verticalScrollBar()
    assert bar.maximum() == SCROLL_STEPS
    bar.setValue(bar.maximum())
    assert view.top_row == total - view.page_rows
    rows = view.model.row_texts()
    assert rows[-1].offset == size - 8 and rows[-1].hex_text == b"TAILEND!".hex(" ")
    assert rows[-2].note == "…"
    bar.setValue(0)
    assert view.top_row == 0
    # The short last row of the first half (8 bytes), the separator, the second half's first
    # row: column 5 stays column 5.
    view.go_to(half - 3)
    assert view.layout.column_of(view.cursor_offset) == 5
    view.move_down()
    assert view.cursor_offset == half + 5
    view.move_up()
    assert view.cursor_offset == half - 3
    index = view.row_of(half) - view.top_row
    assert view.model.row_texts()[index - 1].note == "… gap"
    assert bar.value() == view.row_space().slider_for_top(view.top_row)
    view.viewport().grab()


def test_a_tab_switch_keeps_the_process_rows_and_position(
    process_window,
    child: Child,  # noqa: F811
    random_file,
):
    window, document = process_window
    info = child.info
    view = window.view
    process_tab = window.tab_bar.currentIndex()
    view.go_to(document.offset_of(info["second"] + 0x25))
    top, cursor = view.top_row, view.cursor_offset
    assert window.open_path(str(random_file)) is None
    assert window.tab_bar.currentIndex() != process_tab
    # The file's rows are plain again: no separator, offsets in the offset column.
    assert view.separators_on_screen() == []
    assert view.model.total_rows == -(-10_007 // 16)
    window.tab_bar.setCurrentIndex(process_tab)
    assert window.document is document
    assert (view.top_row, view.cursor_offset) == (top, cursor)
    index = view.row_of(document.offset_of(info["second"])) - view.top_row
    rows = view.model.row_texts()
    assert rows[index - 1].note is not None
    assert int(view.offset_label(rows[index]), 16) == info["second"]


def test_status_bar_inspector_and_copy_offset_name_the_address(process_window, child: Child):  # noqa: F811
    """A process's bytes are named by their virtual address, as Go to Address reads them back."""
    from mmhex.ui.panels.inspector_panel import InspectorPanel

    window, document = process_window
    second = child.info["second"]
    start = document.offset_of(second)
    window.view.select(start, start + 8)
    assert window.selection_label.text() == f"Selected 8 bytes from address 0x{second:x}"
    inspector = window.findChild(InspectorPanel)
    assert inspector.offset_label.text() == f"Selection starts at address 0x{second:x}"
    window.action_builder.actions["edit.copy_offset"].trigger()
    assert QApplication.clipboard().text() == f"0x{second:X}"
    assert start != second  # the offset alone would have been a different number

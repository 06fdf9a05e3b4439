"""The compare window against `cmp -l`: list, colours, bars, F7, linked scrolling, edits, resync."""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction

from mmhex.cli import parse_gui_args
from mmhex.ui.compare import window as compare_window_module
from mmhex.ui.compare.feature import CompareFeature, install, open_compare_request
from mmhex.ui.compare.window import (
    COMPARE_WINDOW_ACTIONS,
    DIFF_COLOR,
    UNCOMPARED_COLOR,
    CompareWindow,
)
from tests.cmp_support import ranges_from_cmp_l

pytestmark = pytest.mark.skipif(shutil.which("cmp") is None, reason="GNU cmp needed")


def cmp_l_ranges(path_a: Path, path_b: Path) -> list[tuple[int, int]]:
    out = subprocess.run(["cmp", "-l", str(path_a), str(path_b)], capture_output=True).stdout
    return ranges_from_cmp_l(out)


@pytest.fixture
def files(tmp_path):
    rng = random.Random(77)
    a = bytearray(rng.randbytes(300_000))
    b = bytearray(a)
    for _ in range(60):
        start = rng.randrange(len(b) - 50)
        for i in range(start, start + rng.randint(1, 40)):
            b[i] ^= rng.randint(1, 255)
    b[0] ^= 1  # a difference at the very first byte
    (tmp_path / "a.bin").write_bytes(a)
    (tmp_path / "b.bin").write_bytes(b + b"tail")
    return tmp_path / "a.bin", tmp_path / "b.bin"


@pytest.fixture
def compare_window(window, files, qtbot):
    feature = install(window)
    assert window.open_path(str(files[0])) is None
    opened = feature.compare_with(str(files[1]))
    assert isinstance(opened, CompareWindow)
    qtbot.waitExposed(opened)
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    yield opened
    opened.close()


def listed(compare_window: CompareWindow) -> list[tuple[int, int]]:
    model = compare_window.model
    return [(model.range_at(row).a, model.range_at(row).length) for row in range(model.rowCount())]


def test_difference_list_equals_cmp_l(compare_window, files):
    expected = cmp_l_ranges(*files)
    assert listed(compare_window) == expected
    result = compare_window.result
    assert result.complete and result.range_count == len(expected)
    assert compare_window.status_text == (
        f"{len(expected)} ranges differ, {sum(n for _, n in expected):,} bytes; B is 4 bytes longer"
    )
    model = compare_window.model
    first = model.range_at(0)
    a, b = (path.read_bytes() for path in files)
    assert model.index(0, 3).data() == a[first.a : first.a + min(first.length, 8)].hex(" ")[:23]
    assert model.index(0, 4).data().startswith(b[first.b : first.b + 1].hex())


def test_differing_bytes_coloured_in_both_grids(compare_window):
    diff = compare_window.result.ranges[3]
    shades_a = compare_window._highlights_a(diff.a - 10, diff.a_end + 10)
    shades_b = compare_window._highlights_b(diff.b - 10, diff.b_end + 10)
    assert (diff.a, diff.a_end, DIFF_COLOR) in shades_a
    assert (diff.b, diff.b_end, DIFF_COLOR) in shades_b
    assert compare_window._highlights_a(diff.a_end, diff.a_end) == []
    # B's 4 extra bytes are greyed: nothing in A to compare them with.
    assert compare_window._highlights_b(300_000, 300_004) == [(300_000, 300_004, UNCOMPARED_COLOR)]


def test_overview_bar_marks_where_differences_are(compare_window):
    marks = compare_window.bar_a.marks
    size = compare_window.document_a.size
    rows = len(marks)
    for diff in compare_window.result.ranges:
        assert marks[min(rows - 1, diff.a * rows // size)] == 1
    assert 0 in marks  # not everything is marked


def test_f7_and_shift_f7_move_both_cursors(compare_window, qtbot):
    view_a, view_b = compare_window.view_a, compare_window.view_b
    ranges = compare_window.result.ranges
    compare_window.activateWindow()
    view_a.setFocus()
    qtbot.waitUntil(compare_window.isActiveWindow)
    qtbot.keyClick(view_a, Qt.Key.Key_F7)
    assert view_a.selection == (ranges[0].a, ranges[0].a_end)  # the one at offset 0
    assert view_b.selection == (ranges[0].b, ranges[0].b_end)
    qtbot.keyClick(view_a, Qt.Key.Key_F7)
    qtbot.keyClick(view_a, Qt.Key.Key_F7)
    assert view_a.selection == (ranges[2].a, ranges[2].a_end)
    assert view_b.cursor_offset == ranges[2].b_end - 1
    qtbot.keyClick(view_a, Qt.Key.Key_F7, Qt.KeyboardModifier.ShiftModifier)
    assert view_a.selection == (ranges[1].a, ranges[1].a_end)
    assert view_b.selection == (ranges[1].b, ranges[1].b_end)
    assert compare_window.table.currentIndex().row() == 1


def test_clicking_a_row_jumps_both_grids(compare_window):
    diff = compare_window.result.ranges[-1]
    row = len(compare_window.result.ranges) - 1
    compare_window.table.clicked.emit(compare_window.model.index(row, 0))
    assert compare_window.view_a.selection == (diff.a, diff.a_end)
    assert compare_window.view_b.selection == (diff.b, diff.b_end)
    first_a, end_a = compare_window.view_a.visible_range()
    assert first_a <= diff.a < end_a


def test_scrolling_linked_and_unlinked(compare_window):
    view_a, view_b = compare_window.view_a, compare_window.view_b
    view_a.set_top_row(500)
    assert view_b.top_row == 500
    view_b.set_top_row(42)
    assert view_a.top_row == 42
    compare_window.toggle_link()
    assert not compare_window.link.linked
    assert not compare_window.actions_builder.actions["compare.link"].isChecked()
    view_a.set_top_row(900)
    assert view_b.top_row == 42
    view_a.set_cursor(900 * 16 + 3)
    assert view_b.cursor_offset != view_a.cursor_offset
    compare_window.toggle_link()  # linking again puts B beside A
    assert view_b.top_row == view_a.top_row == 900
    view_a.set_cursor(view_a.cursor_offset + 1)
    assert view_b.cursor_offset == view_a.cursor_offset


def test_edits_update_the_result(compare_window, window, editor, qtbot):
    assert editor.enable_editing()
    document = window.document
    assert document is compare_window.document_a
    first = compare_window.result.ranges[0]
    before = compare_window.result.range_count
    # Copy B's bytes over the first differing range: that difference disappears.
    document.write(first.a, compare_window.document_b.read(first.b, first.length))
    assert compare_window.result.range_count == before - 1
    assert compare_window.result.ranges[0].a != first.a
    document.write(100_000, b"\x00\xff\x00")  # and a new one appears
    updated = compare_window.result
    assert any(r.a <= 100_000 < r.a_end for r in updated.ranges)
    compare_window.start_compare()  # the same from scratch
    qtbot.waitUntil(lambda: not compare_window.running, timeout=20_000)
    assert compare_window.result.ranges == updated.ranges
    assert compare_window.model.rowCount() == len(updated.ranges)


def test_an_insert_in_a_compares_the_edited_document_again(compare_window, window, editor, qtbot):
    """Bytes inserted into A move everything after them: the result is that of a compare of
    the document as it now reads (document offsets), not of the file on disk."""
    from mmhex.core.compare import compare

    assert editor.enable_editing()
    document = window.document
    b = compare_window.document_b
    old_size = document.size
    document.insert(10, b"\x01\x02\x03")  # A is 3 bytes longer, shifted from 10 on
    qtbot.waitUntil(
        lambda: not compare_window.running and compare_window.result.complete, timeout=20_000
    )
    qtbot.wait(300)  # the restart after the edit is debounced
    qtbot.waitUntil(lambda: not compare_window.running, timeout=20_000)
    want = compare(document, b)
    assert compare_window.result.size_a == document.size == old_size + 3
    assert compare_window.result.ranges == want.ranges
    assert compare_window.result.summary() == want.summary()
    a_bytes, b_bytes = document.read(0, document.size), b.read(0, b.size)
    first = want.ranges[0]
    assert a_bytes[first.a : first.a_end] != b_bytes[first.b : first.b_end]
    assert any(r.a <= 10 < r.a_end for r in want.ranges)  # the insert differs


def test_resynchronize_after_insertion(window, tmp_path, qtbot):
    rng = random.Random(3)
    a = rng.randbytes(50_000)
    b = a[:1000] + b"INSERTED" + a[1000:]
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(b)
    feature = install(window)
    window.open_path(str(tmp_path / "a"))
    opened = feature.compare_with(str(tmp_path / "b"))
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert opened.result.differing_bytes > 40_000
    dialog = opened.show_resync_dialog()
    dialog.edit_a.setText("1000")
    dialog.edit_b.setText("1008")
    dialog.accept()
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert opened.result.range_count == 0
    assert opened.status_text == "No differences; B is 8 bytes longer"
    # The inserted bytes are not compared: greyed in B, nothing greyed in A.
    assert opened._highlights_b(990, 1020) == [(1000, 1008, UNCOMPARED_COLOR)]
    assert opened._highlights_a(0, 50_000) == []
    opened.view_a.set_top_row(100)
    assert opened.view_b.top_row == (100 * 16 + 8) // 16
    dialog = opened.show_resync_dialog()
    dialog.edit_a.setText("0x999999")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.reject()
    opened.clear_resync()
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert opened.result.differing_bytes > 40_000
    opened.close()


def test_compare_window_keys_are_unique_and_in_menus(compare_window):
    owners: dict[str, list[str]] = {}
    for action in compare_window.findChildren(QAction):
        for sequence in action.shortcuts():
            owners.setdefault(sequence.toString(), []).append(action.text())
    assert {key: texts for key, texts in owners.items() if len(set(texts)) > 1} == {}
    assert {"F7", "Shift+F7", "Ctrl+L", "F5"} <= set(owners)
    assert len(COMPARE_WINDOW_ACTIONS) == len(
        [
            spec
            for spec in COMPARE_WINDOW_ACTIONS
            if spec.key in compare_window.actions_builder.actions
        ]
    )


def test_file_menu_item_and_command_line(window, files, qtbot):
    feature = install(window)
    assert window.findChild(CompareFeature) is feature
    action = window.action_builder.actions["file.compare"]
    assert action.shortcut().toString() == "Ctrl+K"
    request = parse_gui_args(["--compare", str(files[0]), str(files[1])])
    assert request.compare == (str(files[0]), str(files[1]))
    assert open_compare_request(window, *request.compare) == 0
    opened = feature.windows[-1]
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert listed(opened) == cmp_l_ranges(*files)
    assert open_compare_request(window, str(files[0]), str(files[1]) + ".missing") == 1
    # The main window lets go of A: the compare window re-opens the file and carries on.
    window.close_document()
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert opened.document_a.path == str(files[0])
    assert listed(opened) == cmp_l_ranges(*files)
    opened.close()


def test_closing_the_main_window_closes_compare_windows(window, files, qtbot):
    feature = install(window)
    window.open_path(str(files[0]))
    opened = feature.compare_with(str(files[1]))
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    window.close()
    qtbot.waitUntil(lambda: feature.windows == [], timeout=5_000)


def test_cancel_keeps_what_was_found(window, tmp_path, qtbot, monkeypatch):
    size = 16 * 1024 * 1024
    a = bytearray(size)
    a[5] = 1
    (tmp_path / "a").write_bytes(a)
    (tmp_path / "b").write_bytes(bytes(size))
    real_compare = compare_window_module.compare
    held = []

    def held_until_cancelled(*args, progress, **options):
        if not held:  # the first compare waits for Cancel, so the test never races it
            held.append(True)
            deadline = time.monotonic() + 10
            while not progress.token.cancelled and time.monotonic() < deadline:
                time.sleep(0.005)
        return real_compare(*args, progress=progress, **options)

    monkeypatch.setattr(compare_window_module, "compare", held_until_cancelled)
    feature = install(window)
    window.open_path(str(tmp_path / "a"))
    opened = feature.compare_with(str(tmp_path / "b"))
    opened.cancel_compare()  # the compare started with the window: stop it at once
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert not opened.result.complete
    assert "stopped at" in opened.status_text
    assert opened.progress.isHidden()
    opened.start_compare()  # Compare Again runs to the end
    qtbot.waitUntil(lambda: not opened.running, timeout=20_000)
    assert opened.result.complete and listed(opened) == [(5, 1)]
    opened.close()


def test_one_tib_sparse_pair(window, sparse_tib, tmp_path, qtbot):
    other = tmp_path / "other.bin"
    with open(other, "wb") as handle:
        handle.truncate(1 << 40)
        handle.seek((1 << 40) - 8)
        handle.write(b"TAILend!")
        handle.seek(1 << 39)
        handle.write(b"\x01")
    feature = install(window)
    window.open_path(str(sparse_tib))
    opened = feature.compare_with(str(other))
    qtbot.waitUntil(lambda: not opened.running, timeout=30_000)
    assert listed(opened) == [(1 << 39, 1), ((1 << 40) - 4, 3)]
    opened.next_difference()
    opened.next_difference()
    assert opened.view_b.selection == ((1 << 40) - 4, (1 << 40) - 1)
    assert opened.status_text == "2 ranges differ, 4 bytes; sizes equal"
    opened.close()


def test_outside_change_compares_again(compare_window, files, window, qtbot):
    path_b = files[1]
    data = bytearray(path_b.read_bytes())
    path_b.write_bytes(bytes(data[:1000]))  # another program truncates B
    change = compare_window.document_b.check_outside_change()
    assert change is not None
    qtbot.waitUntil(lambda: compare_window.result.size_b == 1000, timeout=5_000)
    qtbot.waitUntil(lambda: not compare_window.running and compare_window.result.complete)
    assert listed(compare_window) == cmp_l_ranges(*files)
    assert "1,000 bytes" in compare_window.label_b.text()
    assert compare_window.status_text.endswith("A is 299,000 bytes longer")

"""A child process opened in the window: addresses, the folded gap, Regions, search, writing."""

from __future__ import annotations

import errno
import os
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMessageBox

from mmhex.cli import parse_gui_args
from mmhex.core import process
from mmhex.core.process_document import ProcessDocument
from mmhex.ui.app import open_request
from mmhex.ui.features import install_features
from mmhex.ui.panels.residency_panel import ResidencyPanel
from mmhex.ui.process.feature import ProcessFeature, feature_of
from mmhex.ui.widgets import MessageLevel
from tests.process_support import Child, child  # noqa: F401 (fixture)

Button = QMessageBox.StandardButton


@pytest.fixture
def featured(window, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # bookmarks stay in the test
    install_features(window)
    feature = feature_of(window)
    assert isinstance(feature, ProcessFeature)
    yield window, feature
    window.findChild(ResidencyPanel).shutdown()
    feature.stop_children()


def maps_lines(pid: int) -> list[str]:
    with open(f"/proc/{pid}/maps") as stream:
        return [" ".join(line.split()) for line in stream.read().splitlines()]


def test_open_shows_addresses_the_folded_gap_and_the_regions(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    assert isinstance(document, ProcessDocument)
    view = window.view
    first = document.space.readable[0]
    rows = view.model.row_texts()
    assert int(view.offset_label(rows[0]), 16) == first.start
    assert window.windowTitle().startswith(f"{document.name} (PID {child.pid})")
    # The hole the child punched is folded: its second half follows the first at once in
    # offsets, and one separator row naming the hole stands between them on screen.
    info = child.info
    second = document.offset_of(info["second"])
    assert second is not None and document.offset_of(info["hole"]) is None
    view.go_to(second)
    notes = dict(view.separators_on_screen())
    hole, end = info["hole"], info["hole"] + info["page"]
    assert notes[second] == f"… 0x{hole:_x} – 0x{end:_x} unmapped, 4.0 KiB"
    rows = view.model.row_texts()
    index = view.row_of(second) - view.top_row
    assert int(view.offset_label(rows[index]), 16) == info["second"]
    assert rows[index - 1].note == notes[second] and rows[index - 1].length == 0
    assert view.offset_label(rows[index - 1]) == ""
    assert rows[index - 2].offset + rows[index - 2].length == second
    view.viewport().grab()  # paints the separators and the labels without error
    # The Regions dock lists /proc/PID/maps, one row per line, in order.
    dock = next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == "Regions")
    assert dock.isVisible()
    panel = feature.panel
    shown = [region.as_maps_line() for region in panel.visible_regions()]
    assert shown == maps_lines(child.pid)
    # Unreadable regions say why; readable ones have page counts.
    model = panel.model
    for row, region in enumerate(model.regions):
        note = model.index(row, 6).data()
        assert note == region.unreadable
        if region.readable:
            assert "present" in model.index(row, 4).data()
        assert model.index(row, 5).data() == (region.path or "[anon]")


def test_clicking_a_region_jumps_and_the_filter_narrows(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    panel = feature.panel
    file_row = next(
        row for row, region in enumerate(panel.model.regions) if region.start == child.info["file"]
    )
    index = panel.proxy.mapFromSource(panel.model.index(file_row, 0))
    rect = panel.table.visualRect(index)
    panel.table.scrollTo(index)
    rect = panel.table.visualRect(index)
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    document = window.document
    assert document.address_of(window.view.cursor_offset) == child.info["file"]
    assert window.view.offset_label(window.view.model.row_texts()[0]) != ""
    assert "present" in panel.cursor_page.text() or "not present" in panel.cursor_page.text()
    # Filter: writable only, then one file's name.
    panel.writable_box.setChecked(True)
    assert all("w" in r.perms for r in panel.visible_regions())
    assert panel.visible_regions()
    panel.writable_box.setChecked(False)
    panel.filter_edit.setText("backing.bin")
    assert [r.start for r in panel.visible_regions()] == [child.info["file"]]


def test_search_finds_the_marker_in_the_window(featured, child: Child, qtbot):  # noqa: F811
    from mmhex.core.search import PatternKind, SearchPattern, find_next

    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    marker = bytes.fromhex(child.info["marker"])[:21]
    found = find_next(document, SearchPattern(PatternKind.TEXT, marker.decode("latin-1")), 0)
    assert found is not None
    # The find bar's controller runs the same search in its worker and selects the hit.
    from mmhex.ui.search.controller import SearchController
    from mmhex.ui.search.find_bar import FindRequest

    controller = window.findChild(SearchController)
    pattern = SearchPattern(PatternKind.TEXT, marker.decode("latin-1"))
    with qtbot.waitSignal(controller.found, timeout=10_000) as blocker:
        controller.run_find(FindRequest(pattern, pattern.compile()))
    match = blocker.args[0]
    assert window.view.selection == (match.start, match.end)
    assert document.read(match.start, len(marker)) == marker


def test_a_confirmed_write_changes_the_child_and_undo_restores_it(
    featured,
    child: Child,  # noqa: F811
    questions,
    qtbot,
):
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    editing = window._targets["editing"]
    address = child.info["second"]
    document = window.document
    window.view.go_to(document.offset_of(address))
    before = child.ask(f"peek {address} 4")
    questions.answers = [Button.Cancel]
    assert not editing.enable_editing()
    assert not document.editing
    assert "not confirmed" in window.message_bar.text
    questions.answers = [Button.Yes]
    assert editing.enable_editing()
    assert "at once, while it runs" in questions.asked[-1][0]
    assert window.mode_label.text() == "Process: writing live"
    window.view.move_right()
    window.view.move_left()  # the window's status update must not call it a file's mode
    assert window.mode_label.text() == "Process: writing live"
    assert editing.type_text("CAFE")
    assert child.ask(f"peek {address} 4") == "cafe" + before[4:]
    editing.undo()
    assert child.ask(f"peek {address} 4") == before
    editing.redo()
    assert child.ask(f"peek {address} 4") == "cafe" + before[4:]
    assert not questions.unexpected


def test_refresh_rereads_and_keeps_the_cursor_address(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    address = child.info["untouched"]
    window.view.go_to(document.offset_of(address))
    generation = document.generation
    assert child.ask("touch") == "ok"
    window.action_builder.actions["process.refresh"].trigger()
    assert document.generation > generation
    assert document.address_of(window.view.cursor_offset) == address
    assert window.view.model.window_bytes()[:0] == b""
    row = window.view.model.row_texts()[
        window.view.row_of(window.view.cursor_offset) - window.view.top_row
    ]
    assert row.hex_text.startswith("5a 5a")
    feature.set_live(True)
    assert feature.live_timer.isActive()
    feature.set_live(False)


def test_refusals_are_messages_not_tracebacks(featured, monkeypatch):
    window, feature = featured
    missing = 2**22 + 4321
    sentence = feature.open_pid(missing)
    assert sentence == f"There is no process {missing}."
    assert window.message_bar.text == sentence
    assert window.message_bar.level is MessageLevel.ERROR
    # A refused /proc/PID/mem (as another user would meet it) gives the reason in words.
    real_open = os.open

    def refuse(path, flags, *args):
        if str(path).endswith("/mem"):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(process.os, "open", refuse)
    sentence = feature.open_pid(os.getpid())
    assert sentence == process.explain_refusal(os.getpid(), errno.EACCES)
    assert window.message_bar.text == sentence
    assert window.document is None


def test_command_line_pid_and_run(featured, tmp_path):
    window, feature = featured
    request = parse_gui_args(["--run", "--", sys.executable, "-c", "import time; time.sleep(30)"])
    assert request.run[0] == sys.executable and request.pid is None
    assert open_request(window, request) == 0
    document = window.document
    assert isinstance(document, ProcessDocument)
    started = feature.started[-1]
    assert document.pid == started.pid
    feature.stop_children()
    assert started.poll() is not None
    with pytest.raises(SystemExit):
        parse_gui_args(["--pid", "1", "some-file"])
    assert parse_gui_args(["--pid", "42"]).pid == 42


def test_open_process_dialog_lists_and_filters(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    dialog = feature.show_open_dialog()
    pids = dialog.shown_pids()
    assert child.pid in pids and os.getpid() in pids
    kernel_threads = [pid for pid in pids if process._is_kernel_thread(pid)]
    assert kernel_threads == []
    dialog.filter_edit.setText(str(child.pid))
    assert child.pid in dialog.shown_pids()
    dialog.table.selectRow(dialog.shown_pids().index(child.pid))
    dialog.accept()
    assert isinstance(window.document, ProcessDocument)
    assert window.document.pid == child.pid


def test_live_refresh_rereads_the_rows_on_screen(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    view = window.view
    view.go_to(document.offset_of(child.info["untouched"]))
    index = view.row_of(view.cursor_offset) - view.top_row

    def cursor_row() -> str:
        return view.model.row_texts()[index].hex_text

    assert cursor_row().startswith("00 00")
    assert child.ask("touch") == "ok"
    assert cursor_row().startswith("00 00")  # cached until something re-reads
    generation = document.generation
    feature.refresh_visible_rows()
    assert cursor_row().startswith("5a 5a")
    assert document.generation == generation  # nothing else was told: no panel re-runs
    feature.set_live(True)
    assert window.action_builder.actions["process.live"].isChecked()
    feature.set_live(False)


def test_open_mapped_file_at_the_cursor_offset(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    process_tab = window.tab_bar.currentIndex()
    document = window.document
    region = next(r for r in document.regions if r.start == child.info["file"])
    window.view.go_to(document.offset_of(region.start + 0x123))
    window.action_builder.actions["process.open_mapped"].trigger()  # Go ▸ Open Mapped File
    # The file opens in a tab of its own, at the offset the cursor's address maps to.
    assert window.tab_bar.count() == 2 and window.tab_bar.currentIndex() != process_tab
    assert window.document is not None and not isinstance(window.document, ProcessDocument)
    assert os.path.samefile(window.document.path, region.path)
    assert window.view.cursor_offset == region.offset + 0x123
    assert window.document.read(window.view.cursor_offset, 1) == bytes([0x23])
    window.tab_bar.setCurrentIndex(process_tab)
    assert isinstance(window.document, ProcessDocument)  # the process stays open


def test_mmhex_pid_and_run_from_the_command_line(child: Child, tmp_path, isolated_settings):  # noqa: F811
    from tests.ui.test_app import first_paint, run_mmhex

    second = child.info["second"]
    result = run_mmhex("--pid", str(child.pid), "--offset", hex(second), settings=isolated_settings)
    assert result.returncode == 0, result.stderr
    document = ProcessDocument.open(child.pid)  # the child idles: its memory stays put
    try:
        report = first_paint(result)
        assert report["size"] == document.size
        assert report["cursor"] == document.offset_of(second)  # --offset is an address here
    finally:
        document.close()
    missing = run_mmhex("--pid", str(2**22 + 999), settings=isolated_settings)
    assert missing.returncode == 1
    assert f"There is no process {2**22 + 999}." in missing.stderr
    assert "Traceback" not in missing.stderr
    # --run: the program is mmhex's child, and is stopped when mmhex quits.
    pid_file = tmp_path / "pid"
    program = (
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )
    ran = run_mmhex("--run", "--", sys.executable, "-c", program, settings=isolated_settings)
    assert ran.returncode == 0, ran.stderr
    assert first_paint(ran)["size"] > 0
    started = int(pid_file.read_text())
    assert not os.path.exists(f"/proc/{started}")


def test_checksums_inspector_and_bookmarks_work_over_a_process(featured, child: Child, qtbot):  # noqa: F811
    import zlib

    from mmhex.ui.panels.bookmarks_panel import BookmarksPanel
    from mmhex.ui.panels.inspector_panel import InspectorPanel
    from mmhex.ui.search.checksums import ChecksumsPanel

    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    start = document.offset_of(child.info["anon"])
    marker = bytes.fromhex(child.info["marker"])
    window.view.select(start, start + 4096)
    checksums = window.findChild(ChecksumsPanel)
    with qtbot.waitSignal(checksums.computed, timeout=10_000) as blocker:
        checksums.compute()
    assert blocker.args[0]["CRC-32"] == f"{zlib.crc32(document.read(start, 4096)):08x}"
    window.view.go_to(start)
    inspector = window.findChild(InspectorPanel)
    assert inspector.text_of("uint8") == str(marker[0])
    bookmarks = window.findChild(BookmarksPanel)
    window.view.select(start, start + 21)
    bookmark = bookmarks.add_from_selection("marker")
    assert bookmark is not None and (bookmark.start, bookmark.end) == (start, start + 21)


def test_a_row_width_that_does_not_divide_the_page_still_starts_the_region_on_a_row(
    featured,
    child: Child,  # noqa: F811
):
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    second = document.offset_of(child.info["second"])
    width = next(w for w in (24, 20, 28, 12, 36) if second % w)  # plain rows would split it
    window.set_bytes_per_row(width)
    view = window.view
    view.go_to(second)
    notes = dict(view.separators_on_screen())
    assert "unmapped" in notes[second]
    rows = view.model.row_texts()
    index = view.row_of(second) - view.top_row
    # The region's first row shows its real start address; the row above the separator is
    # the previous region's short last row (padded on screen, not in offsets).
    assert rows[index].offset == second and rows[index].length == width
    assert int(view.offset_label(rows[index]), 16) == child.info["second"]
    assert rows[index - 1].note == notes[second]
    before = rows[index - 2]
    assert before.offset + before.length == second and 0 < before.length < width
    assert int(view.offset_label(before), 16) + before.length == child.info["hole"]


def test_save_as_writes_a_snapshot_and_keeps_the_process_open(
    featured,
    child: Child,  # noqa: F811
    tmp_path,
    monkeypatch,
    qtbot,
):
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    editing = window._targets["editing"]
    target = tmp_path / "memory.bin"
    monkeypatch.setattr(editing, "ask_save_path", lambda _document: str(target))
    assert editing.save_as()
    data = target.read_bytes()
    assert len(data) == document.size
    offset = document.offset_of(child.info["anon"])
    marker = bytes.fromhex(child.info["marker"])
    assert data[offset : offset + len(marker)] == marker
    assert window.document is document


def test_go_to_address_jumps_or_says_why_not(featured, child: Child):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    info = child.info
    view = window.view
    assert feature.go_to_address_text(f"{info['second']:x}") is None  # bare hex, as shown
    assert document.address_of(view.cursor_offset) == info["second"]
    assert window.cursor_label.text() == (
        f"Address 0x{info['second']:x} (offset 0x{view.cursor_offset:x})"
    )
    assert feature.go_to_address_text("+0x10") is None
    assert document.address_of(view.cursor_offset) == info["second"] + 0x10
    assert feature.go_to_address_text(f"0x{info['anon']:_x}") is None
    assert document.address_of(view.cursor_offset) == info["anon"]
    # An address in the gap: the cursor goes to the next mapped byte, and the message says so.
    hole = feature.go_to_address_text(hex(info["hole"] + 5))
    assert hole == (
        f"0x{info['hole'] + 5:_x} is not mapped (nothing between 0x{info['hole']:_x} and "
        f"0x{info['second']:_x}): the cursor is on the next mapped byte, 0x{info['second']:_x}."
    )
    assert document.address_of(view.cursor_offset) == info["second"]
    # [vvar] and the ---p gaps of loaded libraries: a Python process always has some.
    unreadable = next(r for r in document.regions if not r.readable)
    said = feature.go_to_address_text(hex(unreadable.start))
    assert said is not None and unreadable.unreadable in said
    following = next(r for r in document.space.readable if r.start > unreadable.start)
    assert document.address_of(view.cursor_offset) == following.start
    assert said.endswith(f"the cursor is on the next mapped byte, 0x{following.start:_x}.")
    assert "Address 'zz!'" in feature.go_to_address_text("zz!")


def test_an_exited_process_is_announced_and_reads_never_raise(featured, child: Child, qtbot):  # noqa: F811
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    document = window.document
    child.stop()
    change = window.check_outside_change()
    assert change is not None
    assert (
        window.message_bar.text
        == f"Process {child.pid} has exited: its memory can no longer be read."
    )
    view = window.view
    view.go_to(document.size // 2)
    view.viewport().grab()  # paints after the exit: no exception escapes into Qt
    qtbot.wait(50)
    window.action_builder.actions["process.refresh"].trigger()  # F5 says why, no traceback
    assert f"{child.pid}" in window.message_bar.text


def test_run_program_that_cannot_start_or_ends_at_once(featured):
    window, feature = featured
    sentence = feature.run_program(["/nonexistent/program"])
    assert sentence is not None and sentence.startswith("/nonexistent/program: ")
    assert window.message_bar.text == sentence and window.document is None
    # A program that has ended but is not reaped yet (a zombie): nothing to show, and it says so.
    import subprocess

    ended = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    wait_until_zombie(ended.pid)
    sentence = feature.open_pid(ended.pid)
    assert sentence == f"Process {ended.pid} has exited."
    assert window.message_bar.text == sentence and window.document is None
    assert ended.wait() == 3
    # Run Program of one that ends before it is opened: its exit status is given.
    real_open_pid = feature.open_pid

    def open_when_ended(pid: int) -> str | None:
        wait_until_zombie(pid)
        return real_open_pid(pid)

    feature.open_pid = open_when_ended
    sentence = feature.run_program([sys.executable, "-c", "raise SystemExit(4)"])
    assert sentence is not None and sentence.endswith(
        "ended at once, with exit status 4, before its memory could be shown."
    )


def wait_until_zombie(pid: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not end")


def test_insert_mode_and_resizing_are_refused_on_a_process(
    featured,
    child: Child,  # noqa: F811
    questions,
):
    """Issue 11 in a process: memory cannot grow or shrink; the refusal is a message."""
    window, feature = featured
    assert feature.open_pid(child.pid) is None
    editing = window._targets["editing"]
    address = child.info["second"]
    document = window.document
    window.view.go_to(document.offset_of(address))
    before = child.ask(f"peek {address} 4")
    questions.answers = [Button.Yes]
    assert editing.enable_editing()
    editing.toggle_insert_mode()
    assert not editing.type_text("AB")
    assert "cannot grow or shrink" in window.message_bar.text
    window.view.select(document.offset_of(address), document.offset_of(address) + 2)
    assert not editing.delete_selection()
    assert not editing.cut()
    assert child.ask(f"peek {address} 4") == before
    editing.toggle_insert_mode()
    assert editing.fill(*window.view.selection, b"\x11")  # a fill writes the bytes
    assert child.ask(f"peek {address} 4") == "1111" + before[4:]
    assert not questions.unexpected

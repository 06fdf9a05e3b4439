"""The default layout on a first start: every inspector row, a grid with its text pane, no dock
starved, the Structure dock only while the file has a format (mmhex.ui.layout)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDockWidget

from mmhex.ui import settings
from mmhex.ui.features import install_features
from mmhex.ui.panels.residency_panel import ResidencyPanel


def _elf(tmp_path: Path) -> Path:
    """A copy of an ELF program: a file whose format the Structure dock detects."""
    for source in ("/bin/ls", "/bin/cat", "/usr/bin/env"):
        if Path(source).is_file():
            target = tmp_path / "program"
            shutil.copyfile(source, target)
            return target
    pytest.skip("no ELF program to copy")


def _docks(window) -> dict[str, QDockWidget]:
    return {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}


def _first_start(qtbot, size: tuple[int, int], *paths: Path):
    """A window as `mmhex FILE…` builds it (features, files opened before show) at ``size``."""
    from mmhex.ui.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    install_features(window)
    window.resize(*size)
    for path in paths:
        assert window.open_path(str(path), readonly=True) is None
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(150)  # the first layout and the arrangement that follows it
    return window


def _close(window) -> None:
    window.findChild(ResidencyPanel).shutdown()
    window.close()


def _assert_every_inspector_row_shows(window) -> None:
    inspector = window.action_targets["links"].search.inspector
    table = inspector.table
    assert table.isVisible()
    rows = table.verticalHeader().length()
    assert rows == table.rowCount() * table.verticalHeader().defaultSectionSize()
    assert table.viewport().height() >= rows, "every inspector row without scrolling"
    assert table.verticalScrollBar().maximum() == 0


def _assert_grid_keeps_rows_and_text_pane(window) -> None:
    view = window.view
    geometry = view.layout_geometry
    assert view.page_rows >= 16
    text_end = geometry.text_x + geometry.bytes_per_row * geometry.char_width
    assert view.viewport().width() >= text_end, "the text pane is on screen"
    assert view.horizontalScrollBar().maximum() == 0


def test_first_start_at_1366x768_shows_every_inspector_row(qtbot, tmp_path) -> None:
    program, other = _elf(tmp_path), tmp_path / "other.bin"
    other.write_bytes(bytes(range(256)) * 64)
    window = _first_start(qtbot, (1366, 768), program, other)  # two tabs: the tab bar shows
    try:
        assert window.width() == 1366 and window.height() == 768
        _assert_every_inspector_row_shows(window)
        _assert_grid_keeps_rows_and_text_pane(window)
        docks = _docks(window)
        # The laptop's column cannot hold both: the residency panel starts compact, whole.
        residency = docks["Residency"].widget()
        assert residency.compact
        content = residency.scroll.widget().minimumSizeHint().height()
        assert docks["Residency"].height() >= content, "the compact panel is not starved"
        # Chosen for this screen, not by the user: a larger screen decides afresh.
        assert not settings.open_settings().contains("residency/compact")
    finally:
        _close(window)


def test_first_start_at_1920x1080_shows_every_row_and_the_full_residency_panel(
    qtbot, tmp_path
) -> None:
    window = _first_start(qtbot, (1920, 1000), _elf(tmp_path))  # 1080 less panel and title
    try:
        _assert_every_inspector_row_shows(window)
        _assert_grid_keeps_rows_and_text_pane(window)
        assert window.view.page_rows >= 30
        docks = _docks(window)
        residency = docks["Residency"].widget()
        assert not residency.compact
        content = residency.scroll.widget().minimumSizeHint().height()
        assert residency.height() >= content, "the full panel shows without scrolling"
        assert docks["Structure"].isVisible()
    finally:
        _close(window)


def test_a_saved_residency_form_is_kept(qtbot, tmp_path) -> None:
    settings.open_settings().setValue("residency/compact", False)
    window = _first_start(qtbot, (1366, 768), _elf(tmp_path))
    try:
        assert not _docks(window)["Residency"].widget().compact  # the user's choice
        _assert_every_inspector_row_shows(window)
    finally:
        _close(window)


def test_structure_dock_shows_while_the_file_has_a_format(qtbot, tmp_path) -> None:
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"\x13\x37" * 3000)
    window = _first_start(qtbot, (1366, 768), plain)
    try:
        dock = _docks(window)["Structure"]
        assert dock.isHidden(), "no format: the rows go to the grid"
        assert window.open_path(str(_elf(tmp_path)), readonly=True) is None
        assert dock.isVisible()
        window.previous_tab()
        assert dock.isHidden()
        # Shown by hand, it stays, whatever the file.
        dock.toggleViewAction().trigger()
        assert dock.isVisible()
        window.next_tab()
        window.previous_tab()
        assert dock.isVisible()
        # Closed by its button, it stays closed even for a file with a format.
        dock.close()
        window.next_tab()
        assert dock.isHidden()
    finally:
        _close(window)


def test_a_narrower_window_keeps_the_grid_and_its_text_pane(qtbot, tmp_path) -> None:
    window = _first_start(qtbot, (1366, 768), _elf(tmp_path))
    try:
        window.resize(1024, 600)  # a netbook: the docks narrow first
        qtbot.wait(100)
        view = window.view
        geometry = view.layout_geometry
        text_end = geometry.text_x + geometry.bytes_per_row * geometry.char_width
        assert view.viewport().width() >= text_end
        assert view.page_rows >= 4
    finally:
        _close(window)


def test_a_shorter_window_takes_height_from_the_residency_panel_first(qtbot, tmp_path) -> None:
    window = _first_start(qtbot, (1366, 768), _elf(tmp_path))
    try:
        residency = _docks(window)["Residency"]
        for height in (700, 900, 720):
            window.resize(1366, height)
            qtbot.wait(50)
            _assert_every_inspector_row_shows(window)
            content = residency.widget().scroll.widget().minimumSizeHint().height()
            assert residency.height() >= content
    finally:
        _close(window)


def test_after_the_user_drags_a_separator_the_column_is_theirs(qtbot, tmp_path) -> None:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from mmhex.ui.layout import RightColumnKeeper

    window = _first_start(qtbot, (1366, 768), _elf(tmp_path))
    try:
        keeper = window.findChild(RightColumnKeeper)
        label = window.cursor_label  # a press on a child that ignores it reaches the window
        QTest.mousePress(label, Qt.MouseButton.LeftButton, pos=QPoint(3, 3))
        assert not keeper.user_arranged
        top, bottom = _docks(window)["Data inspector"], _docks(window)["Residency"]
        x = top.geometry().center().x()
        gap = [
            y
            for y in range(top.geometry().bottom(), bottom.geometry().top())
            if window.childAt(QPoint(x, y)) is None
        ]
        assert gap, "a separator between the inspector's place and the residency dock"
        QTest.mousePress(window, Qt.MouseButton.LeftButton, pos=QPoint(x, gap[0]))
        QTest.mouseRelease(window, Qt.MouseButton.LeftButton, pos=QPoint(x, gap[0]))
        assert keeper.user_arranged
    finally:
        _close(window)


def test_a_first_window_fills_a_laptop_screen(qtbot) -> None:
    from mmhex.ui.main_window import SMALL_SCREEN_HEIGHT, TITLE_BAR_ALLOWANCE, MainWindow

    window = MainWindow()  # no saved geometry: a first start
    qtbot.addWidget(window)
    install_features(window)
    available = window.screen().availableGeometry()
    if available.height() >= SMALL_SCREEN_HEIGHT:
        pytest.skip("this screen is not a laptop's")
    assert window.width() == available.width()
    assert window.height() == available.height() - TITLE_BAR_ALLOWANCE
    assert window.pos() == available.topLeft()
    window.findChild(ResidencyPanel).shutdown()


def test_search_results_share_the_structure_docks_place_under_the_grid(qtbot, tmp_path) -> None:
    from PySide6.QtCore import Qt

    window = _first_start(qtbot, (1366, 768), _elf(tmp_path))
    try:
        docks = _docks(window)
        structure, results = docks["Structure"], docks["Search results"]
        assert window.dockWidgetArea(results) == Qt.DockWidgetArea.BottomDockWidgetArea
        assert structure.isVisible() and results.isHidden()  # nothing searched yet
        results.show()
        results.raise_()
        qtbot.wait(50)
        assert results in window.tabifiedDockWidgets(structure)
        assert results.width() == structure.width() >= window.view.width() - 40
    finally:
        _close(window)

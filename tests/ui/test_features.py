"""The features installed into the real main window: docks present and fed by the grid."""

from __future__ import annotations

import os

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget

from mmhex.ui.features import install_features
from mmhex.ui.panels.residency_panel import ResidencyPanel


def test_visible_range_follows_scrolling(window, random_file, qtbot):
    ranges = []
    window.visible_range_changed.connect(lambda start, end: ranges.append((start, end)))
    assert window.open_path(str(random_file)) is None
    view = window.view
    start, end = view.visible_range()
    assert start == 0 and end == min(view.page_rows * view.bytes_per_row, 10_007)
    assert ranges[-1] == (start, end)
    view.set_top_row(3)
    assert ranges[-1] == (3 * view.bytes_per_row, min((3 + view.page_rows) * 16, 10_007))
    count = len(ranges)
    view.set_top_row(3)  # same range again: no duplicate announcement
    assert len(ranges) == count


def test_residency_dock_is_installed_and_follows_the_view(window, random_file, qtbot):
    install_features(window)
    docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
    assert "Residency" in docks
    panel = docks["Residency"].widget()
    assert isinstance(panel, ResidencyPanel)
    assert (
        docks["Residency"].toggleViewAction()
        in window.action_builder.menu("&View/&Panels").actions()
    )
    window.open_path(str(random_file))
    window.view.set_top_row(10)
    assert panel.visible_range == window.view.visible_range()
    panel.shutdown()


def test_byte_tools_share_one_tabbed_place(window, qtbot):
    install_features(window)
    docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
    inspector = docks["Data inspector"]
    tabbed = window.tabifiedDockWidgets(inspector)
    assert docks["Bookmarks"] in tabbed
    assert docks["Residency"] not in tabbed
    window.findChild(ResidencyPanel).shutdown()


def test_no_two_actions_share_a_shortcut(window):
    install_features(window)
    owners: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            owners.setdefault(sequence.toString(), []).append(action.text())
    clashes = {key: texts for key, texts in owners.items() if key and len(set(texts)) > 1}
    assert clashes == {}
    assert "Ctrl+G" in owners and "F3" in owners and "Shift+F3" in owners
    window.findChild(ResidencyPanel).shutdown()


def test_the_grid_keeps_most_of_the_height_beside_the_structure_dock(window, tmp_path, qtbot):
    import shutil
    import sys

    from PySide6.QtCore import Qt

    install_features(window)
    window.resize(1040, 650)  # a 1366×768 screen with a tall panel and title bar
    window.show()
    qtbot.waitExposed(window)
    # A file with a format: the Structure dock shows only then (mmhex.ui.layout).
    program = tmp_path / "program"
    shutil.copyfile(os.path.realpath(sys.executable), program)
    assert window.open_path(str(program), readonly=True) is None
    bottom = [
        dock
        for dock in window.findChildren(QDockWidget)
        if window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
        and not dock.isHidden()
    ]
    assert [dock.windowTitle() for dock in bottom] == ["Structure"]
    qtbot.wait(200)  # the first layout
    assert bottom[0].height() <= 0.35 * window.height()
    row_height = window.view.fontMetrics().height()
    assert window.view.viewport().height() >= 16 * row_height, "16 rows or more at 1366×768"
    for dock in window.findChildren(QDockWidget):
        panel = dock.widget()
        if hasattr(panel, "shutdown"):
            panel.shutdown()

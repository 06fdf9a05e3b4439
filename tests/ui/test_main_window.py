"""The action table, extension points (docks, highlighters, actions), drag and drop, About."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel

from mmhex import __version__
from mmhex.ui.actions import ACTIONS, ActionSpec, key_sequences, view_key_bindings
from mmhex.ui.hex_view import Pane
from mmhex.ui.main_window import about_text


def test_every_action_resolves_and_no_key_is_bound_twice(window) -> None:
    from mmhex.ui.features import install_features

    install_features(window)
    keys = [spec.key for spec in ACTIONS]
    assert len(keys) == len(set(keys))
    targets = window.action_targets
    # Every row of the window, the features' own rows included.
    specs = {**{spec.key: spec for spec in ACTIONS}, **window.action_builder.specs}
    seen: dict[str, str] = {}
    for spec in specs.values():
        assert callable(getattr(targets[spec.target], spec.method)), spec.slot
        for sequence in key_sequences(spec):
            text = sequence.toString()
            # The Go menu repeats the grid's Ctrl+Home/Ctrl+End on purpose: same slot.
            if text in seen and seen[text] != spec.slot:
                raise AssertionError(f"{text} bound to {seen[text]} and {spec.slot}")
            seen[text] = spec.slot
        if spec.menu and not spec.dynamic_menu:
            assert spec.key in window.action_builder.actions


def test_menus_in_order_with_standard_shortcuts(window) -> None:
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&View", "&Go", "&Help"]
    actions = window.action_builder.actions
    assert QKeySequence("Ctrl+O") in actions["file.open"].shortcuts()
    assert QKeySequence("Ctrl+G") in actions["go.offset"].shortcuts()
    assert QKeySequence("Ctrl+=") in actions["view.zoom_in"].shortcuts()
    assert QKeySequence("Ctrl+Q") in actions["file.quit"].shortcuts()


def test_grid_key_bindings_come_from_the_table(window) -> None:
    bindings = {sequence.toString(): method for sequence, method in view_key_bindings()}
    assert bindings["Right"] == "move_right"
    assert bindings["Shift+Right"] == "select_right"
    assert bindings["PgDown"] == "page_down"
    assert bindings["Tab"] == "switch_pane"


def test_tab_switches_panes(qtbot, window, random_file) -> None:
    window.open_path(str(random_file))
    view = window.view
    assert view.active_pane is Pane.HEX
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.active_pane is Pane.TEXT
    assert view.hasFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.active_pane is Pane.HEX


def test_a_feature_installs_its_own_actions(window) -> None:
    calls = []

    class Feature:
        def ping(self) -> None:
            calls.append("ping")

    spec = ActionSpec("tools.ping", "&Ping", "feature.ping", "&Tools", ("Ctrl+Alt+P",))
    window.install_actions((spec,), feature=Feature())
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles == ["&File", "&Edit", "&View", "&Go", "&Tools", "&Help"]
    window.action_builder.actions["tools.ping"].trigger()
    assert calls == ["ping"]


def test_add_dock_registers_a_view_menu_toggle(qtbot, window) -> None:
    dock = window.add_dock(QLabel("panel"), "Residency", visible_by_default=False)
    assert not dock.isVisible()
    panels = window.action_builder.menu("&View/&Panels")
    toggle = next(a for a in panels.actions() if a.text() == "Residency")
    toggle.trigger()
    assert dock.isVisible()
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea


def test_document_changed_signal(qtbot, window, random_file) -> None:
    with qtbot.waitSignal(window.document_changed) as opened:
        window.open_path(str(random_file))
    assert opened.args == [window.document]
    with qtbot.waitSignal(window.document_changed) as closed:
        window.close_document()
    assert closed.args == [None]
    assert window.stack.currentWidget() is window.placeholder
    assert window.windowTitle() == "mmhex"


def test_top_row_signal_carries_64_bit_rows(qtbot, window, huge_shm) -> None:
    window.open_path(str(huge_shm))
    row = (8000 << 50) // 16 - 1000
    with qtbot.waitSignal(window.view.top_row_changed) as moved:
        window.view.set_top_row(row)
    assert moved.args == [row]


def drop_event(kind, path, window):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    position = QPointF(window.rect().center())
    if kind is QDragEnterEvent:
        return data, kind(
            position.toPoint(),
            Qt.DropAction.CopyAction,
            data,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    return data, kind(
        position,
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )


def test_drag_and_drop_opens_the_file(window, random_file) -> None:
    _data, enter = drop_event(QDragEnterEvent, random_file, window)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    _data, drop = drop_event(QDropEvent, random_file, window)
    QApplication.sendEvent(window, drop)
    assert window.document is not None and window.document.path == str(random_file)


def test_horizontal_scrolling_keeps_hit_testing_and_painting_aligned(qtbot, window, random_file):
    window.open_path(str(random_file))
    window.resize(300, 400)
    qtbot.waitUntil(lambda: window.view.horizontalScrollBar().maximum() > 0)
    view = window.view
    bar = view.horizontalScrollBar()
    bar.setValue(bar.maximum())
    rect = view.byte_rect(16 * 2 + 15, Pane.TEXT)
    assert rect is not None and 0 <= rect.center().x() < view.viewport().width()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert view.cursor_offset == 16 * 2 + 15
    assert view.active_pane is Pane.TEXT
    bar.setValue(0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(1, 200))
    assert view.active_pane is Pane.HEX


def test_about_names_the_version() -> None:
    assert f"mmhex {__version__}" in about_text()

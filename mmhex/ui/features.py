"""The optional features plugged into the main window (docks, their actions), in one place.

Each feature module offers ``install(main_window)``; the window itself knows none of them, so
tests can build a bare window and the features are tested on their own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

# Docks that share one place as tabs, the first one in front: the byte-level tools a user
# switches between; the residency panel keeps a place of its own beside them.
TABBED_TOGETHER = ("Data inspector", "Bookmarks", "Selection checksums")


def install_features(window: QMainWindow) -> None:
    """Add every feature to ``window``, in the order their docks should stack."""
    from mmhex.ui import clipboard, editing, links, overview_bar, selection_tools
    from mmhex.ui.compare import feature as compare_feature
    from mmhex.ui.panels import residency_panel, structure_panel
    from mmhex.ui.process import feature as process_feature
    from mmhex.ui.search import feature as search_feature

    clipboard.install(window)  # before editing: Copy rows go above Paste in the Edit menu
    edits = editing.install(window)
    search = search_feature.install(window)
    selection_tools.install(window, search)
    links.install(window, search)
    search.apply_edits = edits.apply_edits  # Replace (all) and the inspector: one undo step
    residency_panel.install(window)
    structure_panel.install(window)
    compare_feature.install(window)
    process_feature.install(window)
    overview_bar.install(window)  # the overview column beside the grid, Storage dock
    tabify(window, TABBED_TOGETHER)
    share_height(window, (TABBED_TOGETHER[0], "Residency"))
    preferred_widths(window)
    # Once the window has its first size (after show): heights are shares of it.
    QTimer.singleShot(0, lambda: show_every_inspector_row(window, search.inspector))


def tabify(window: QMainWindow, titles: tuple[str, ...]) -> None:
    """Stack the docks named ``titles`` as tabs in one place, the first one raised."""
    docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
    present = [docks[title] for title in titles if title in docks]
    for dock in present[1:]:
        window.tabifyDockWidget(present[0], dock)
    if present:
        present[0].raise_()


def share_height(window: QMainWindow, titles: tuple[str, ...]) -> None:
    """Give the docks named ``titles`` (stacked in one column) equal parts of the height."""
    docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
    present = [docks[title] for title in titles if title in docks]
    if len(present) > 1:
        part = max(1, window.height() // len(present))
        window.resizeDocks(present, [part] * len(present), Qt.Orientation.Vertical)


def preferred_widths(window: QMainWindow) -> None:
    """Each side column of docks starts as wide as its widest panel asks (it may shrink later)."""
    for area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea):
        docks = [
            dock
            for dock in window.findChildren(QDockWidget)
            if window.dockWidgetArea(dock) == area and not dock.isHidden()
        ]
        if docks:
            width = max(dock.sizeHint().width() for dock in docks)
            window.resizeDocks(docks, [width] * len(docks), Qt.Orientation.Horizontal)


def show_every_inspector_row(window: QMainWindow, inspector: QWidget) -> None:
    """Give the data inspector's dock the height of all its rows (up to 70% of the column)."""
    docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
    top, bottom = docks.get(TABBED_TOGETHER[0]), docks.get("Residency")
    table = getattr(inspector, "table", None)
    if top is None or bottom is None or table is None:
        return
    rows = table.verticalHeader().length() + table.horizontalHeader().sizeHint().height()
    others = inspector.sizeHint().height() - table.sizeHint().height()
    # The dock's own parts (title, tab bar, scroll frame) as laid out now; a guess before that.
    chrome = top.height() - inspector.height() if top.isVisible() and inspector.height() else 60
    wanted = rows + max(others, 0) + 2 * table.frameWidth() + max(chrome, 40)
    # Sizes are shares of the column the two docks fill (Qt scales sizes that add up to more).
    total = top.height() + bottom.height() if top.isVisible() else window.height()
    height = min(wanted, int(total * 0.7))
    window.resizeDocks([top, bottom], [height, max(1, total - height)], Qt.Orientation.Vertical)

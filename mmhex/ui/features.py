"""The optional features plugged into the main window (docks, their actions), in one place.

Each feature module offers ``install(main_window)``; the window itself knows none of them, so
tests can build a bare window and the features are tested on their own.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

# Docks that share one place as tabs, the first one in front: the byte-level tools a user
# switches between; the residency panel keeps a place of its own beside them.
TABBED_TOGETHER = ("Data inspector", "Bookmarks", "Selection checksums")


def install_features(window: QMainWindow) -> None:
    """Add every feature to ``window``, in the order their docks should stack."""
    from mmhex.ui import editing
    from mmhex.ui.compare import feature as compare_feature
    from mmhex.ui.panels import residency_panel, structure_panel
    from mmhex.ui.search import feature as search_feature

    edits = editing.install(window)
    search = search_feature.install(window)
    search.apply_edits = edits.apply_edits  # Replace (all) and the inspector: one undo step
    residency_panel.install(window)
    structure_panel.install(window)
    compare_feature.install(window)
    tabify(window, TABBED_TOGETHER)
    share_height(window, (TABBED_TOGETHER[0], "Residency"))


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

"""The optional features plugged into the main window (docks, their actions), in one place.

Each feature module offers ``install(main_window)``; the window itself knows none of them, so
tests can build a bare window and the features are tested on their own.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from mmhex.ui import layout


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
    search.inspector.describe = window.address_text  # a process's bytes are named by address
    residency = residency_panel.install(window)
    structure = structure_panel.install(window)
    compare_feature.install(window)
    process_feature.install(window)
    overview_bar.install(window)  # the overview column beside the grid, Storage dock
    layout.tabify(window, layout.TABBED_TOGETHER)
    layout.tabify(window, layout.TABBED_BELOW)
    layout.StructureDockFollower(window, structure)
    layout.preferred_widths(window)
    # Once the window has its first size (after show): heights are shares of it.
    layout.RightColumnKeeper(window, search.inspector, residency)

"""Find Selection and Selection Checksums: the selection handed to the search feature's widgets.

Both are context-menu entries; the search feature stays unaware of them (it is used only through
its find bar and checksums panel).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget, QMainWindow

from mmhex.core.formats import to_hex_text
from mmhex.core.search import PatternKind
from mmhex.ui.widgets import dock_of

# A find pattern longer than this is no longer something one types or reads in a line edit.
MAX_FIND_BYTES = 4096


class SelectionTools(QObject):
    """Slots of the ``selection_tools`` action target."""

    def __init__(self, window: QMainWindow, search: Any) -> None:
        super().__init__(window)
        self.window = window
        self.search = search

    def find_selection(self) -> bool:
        """Open the find bar on the selected bytes as hex (up to MAX_FIND_BYTES)."""
        start, end = self.window.view.selection
        if self.window.document is None or end == start:
            self.window.statusBar().showMessage("Select the bytes to find first.", 6000)
            return False
        try:
            data = self.window.document.read(start, min(end - start, MAX_FIND_BYTES))
        except OSError as exc:  # SavingInProgressError while an in-place save moves bytes
            self.window.statusBar().showMessage(str(exc), 6000)
            return False
        bar = self.search.bar
        bar.mode.setCurrentIndex(bar.mode.findData(PatternKind.HEX))
        bar.show_find(to_hex_text(data))
        if end - start > MAX_FIND_BYTES:
            bar.show_message(f"Only the first {MAX_FIND_BYTES:,} selected bytes are searched for.")
        return True

    def show_checksums(self) -> None:
        """Show the checksums panel (it follows the selection) and compute them."""
        dock = dock_of(self.search.checksums)
        if isinstance(dock, QDockWidget):
            dock.show()
            dock.raise_()
        self.search.checksums.compute()


def install(window: QMainWindow, search: Any) -> SelectionTools:
    tools = SelectionTools(window, search)
    window.register_action_target("selection_tools", tools)
    return tools

"""Several documents in one window: one DocumentState per tab and the tab strip above the grid.

The window shows one document at a time through its single grid; a tab keeps everything that
belongs to its document while another is shown: the grid's cursor, selection, scroll position
and pane (``ViewState``), and what each feature saved through a *tab state hook* (its search
results, its undo stack…). Features keep following ``MainWindow.document_changed``, which fires
whenever another tab comes forward; hooks are only for state they would otherwise reset.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabBar, QWidget

from mmhex.core.document import Document
from mmhex.ui.hex_view import ViewState

# save(document) -> state; restore(document, state) runs after document_changed has fired.
SaveHook = Callable[[Document], Any]
RestoreHook = Callable[[Document, Any], None]


@dataclass(frozen=True)
class TabStateHook:
    name: str
    save: SaveHook
    restore: RestoreHook


@dataclass(eq=False)
class DocumentState:
    """What one tab holds: its document, where the grid was, and each feature's saved state."""

    document: Document
    view: ViewState | None = None
    saved: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return os.path.abspath(self.document.path)

    @property
    def title(self) -> str:
        name = os.path.basename(self.document.path) or self.document.path
        return f"{name} *" if self.document.modified else name


class DocumentTabs(QTabBar):
    """The tab strip: hidden while a single file is open, closable, movable, middle-click closes."""

    close_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoHide(True)
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.setExpanding(False)
        self.setElideMode(self.elideMode().ElideMiddle)
        self.setUsesScrollButtons(True)
        self.tabCloseRequested.connect(self.close_requested)

    def mouseReleaseEvent(self, event: Any) -> None:
        from PySide6.QtCore import Qt

        if event.button() == Qt.MouseButton.MiddleButton:
            index = self.tabAt(event.position().toPoint())
            if index >= 0:
                self.close_requested.emit(index)
                return
        super().mouseReleaseEvent(event)

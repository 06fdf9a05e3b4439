"""Find/replace, find-all results, data inspector, bookmarks and checksums, plugged into the window.

``install(main_window)`` builds the widgets and wires them through the window's extension
interface only: ``add_dock``, ``install_actions``, ``document_changed``, the central layout (for
the find bar) and ``view`` (``cursor_moved``, ``selection_changed``, ``select``, ``go_to``,
``add_highlighter``). Byte changes (Replace, Replace all, typing in the inspector) go through
``apply_edits``, which the editing UI may replace with one that makes a single undo step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMainWindow

from mmhex.core.document import Change, ChangeKind
from mmhex.core.errors import MmhexError, describe_error
from mmhex.core.search import Match
from mmhex.ui.panels.bookmarks_panel import BookmarksPanel
from mmhex.ui.panels.inspector_panel import InspectorPanel
from mmhex.ui.search.actions import SEARCH_ACTIONS
from mmhex.ui.search.checksums import ChecksumsPanel
from mmhex.ui.search.controller import SearchController
from mmhex.ui.search.find_bar import FindBar
from mmhex.ui.search.results import SearchResultsPanel

# (offset, new bytes) overwrites, or (offset, new bytes, length replaced) of any length.
Edits = list[tuple[int, bytes]] | list[tuple[int, bytes, int]]


class SearchFeature(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        view = window.view
        self.bar = FindBar(window)
        window.centralWidget().layout().addWidget(self.bar)
        self.bar.hide()
        self.results = SearchResultsPanel()
        self.inspector = InspectorPanel()
        self.bookmarks = BookmarksPanel()
        self.checksums = ChecksumsPanel()
        right, bottom = (
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self.results_dock = window.add_dock(self.results, "Search results", bottom, False)
        window.add_dock(self.inspector, "Data inspector", right, True)
        window.add_dock(self.bookmarks, "Bookmarks", right, True)
        window.add_dock(self.checksums, "Selection checksums", right, False)
        self.controller = SearchController(self.bar, self.results.model, parent=self)
        window.install_actions(SEARCH_ACTIONS, search=self.controller, bookmarks=self.bookmarks)
        # Set by the editing UI to make one undo step; by default the document is written.
        self.apply_edits: Callable[[Edits, str], None] | None = None
        self.document: Any = None

        view.add_highlighter(self.bookmarks.highlights)
        view.add_highlighter(self.results.model.highlights)
        view.cursor_moved.connect(self.controller.set_cursor)
        view.cursor_moved.connect(self.inspector.show_offset)
        view.cursor_moved.connect(self.bookmarks.set_cursor)
        view.selection_changed.connect(self.controller.set_selection)
        view.selection_changed.connect(self.bookmarks.set_selection)
        view.selection_changed.connect(self.checksums.set_range)
        window.document_changed.connect(self.set_document)
        self.controller.found.connect(self.show_match)
        self.controller.results_ready.connect(self._results_ready)
        self.controller.replace_ready.connect(
            lambda match, data: self.write([(match.start, data, match.length)], "Replace")
        )
        self.controller.replace_all_ready.connect(
            lambda matches, data: self.write(
                [(m.start, data, m.length) for m in matches], "Replace all"
            )
        )
        self.inspector.write_requested.connect(
            lambda offset, data: self.write([(offset, data)], "Inspector edit")
        )
        self.results.activated.connect(self.show_match)
        self.bookmarks.jump_requested.connect(lambda b: self._select(b.start, b.end))
        self.bookmarks.changed.connect(view.viewport().update)
        if getattr(window, "document", None) is not None:
            self.set_document(window.document)

    # ----------------------------------------------------------------- document
    def set_document(self, document: Any) -> None:
        if self.document is not None and self.document is not document:
            self.document.remove_listener(self._document_changed)
        if document is not self.document and document is not None:
            document.add_listener(self._document_changed)
        self.document = document
        self.controller.set_document(document)
        self.checksums.set_document(document)
        self.bookmarks.set_file(document.path if document is not None else None)
        if document is None:
            self.inspector.set_source(None, 0)
        else:
            self.inspector.set_source(document.read, document.size)
        self._editable_changed()

    def _document_changed(self, change: Change) -> None:
        if change.kind in (ChangeKind.MODE, ChangeKind.RELOAD) or change.resized:
            self._editable_changed()
        if change.splices:
            self.bookmarks.follow_splices(change.splices)  # bookmarks move with their bytes
        self.inspector.schedule_refresh()  # once per event-loop turn, however many edits

    def _editable_changed(self) -> None:
        document = self.document
        editable = bool(document is not None and getattr(document, "editing", False))
        reason = ""
        if document is not None and not editable:
            reason = "Editing needs edit mode (Edit ▸ Enable editing)."
        if document is not None:
            self.inspector.set_source(document.read, document.size)
        self.inspector.set_editable(editable, reason)
        self.bar.set_editable(editable, reason)

    # ----------------------------------------------------------------- view
    def show_match(self, match: Match, _wrapped: bool = False) -> None:
        self.results.model.current = match
        self.results.select_offset(match.start)
        self._select(match.start, match.end)

    def _select(self, start: int, end: int) -> None:
        view = self.window.view
        view.go_to(start)
        view.select(start, end)
        view.viewport().update()

    def _results_ready(self) -> None:
        self.results_dock.show()
        self.results_dock.raise_()
        self.window.view.viewport().update()

    # ----------------------------------------------------------------- edits
    def write(self, edits: Edits, label: str) -> None:
        """Apply replacements (through ``apply_edits`` when the editing UI set one)."""
        if not edits or self.document is None:
            return
        if self.apply_edits is not None:
            self.apply_edits(edits, label)
            return
        try:
            # Last to first, so a replacement of another length does not move the later places.
            for offset, data, *removed in sorted(edits, key=lambda e: e[0], reverse=True):
                if removed and removed[0] != len(data):
                    self.document.replace(offset, removed[0], data)
                else:
                    self.document.write(offset, data)
        except (MmhexError, OSError, ValueError) as exc:
            self.bar.show_message(describe_error(exc), error=True)
        self.window.view.viewport().update()


def install(main_window: QMainWindow) -> SearchFeature:
    """Add find/replace, results, inspector, bookmarks and checksums to ``main_window``."""
    return SearchFeature(main_window)

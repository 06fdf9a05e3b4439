"""Behaviour that spans features: what the inspector reads, what Ctrl+B says, stale search state.

Each feature is written against the window alone; the few rules that join two of them (the
inspector follows the selection the grid shows, a new file forgets the old find message, a
changed pattern makes the old result list stale) live here, so no feature imports another.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDockWidget, QMainWindow

from mmhex.ui import settings
from mmhex.ui.widgets import dock_of

STATUS_MS = 6000
STALE_NOTE = " — the pattern has changed since: Find All again to refresh"


class FeatureLinks(QObject):
    """Slots of the ``links`` action target plus the signal wiring between features."""

    def __init__(self, window: QMainWindow, search: Any) -> None:
        super().__init__(window)
        self.window = window
        self.search = search
        self.origin = settings.inspector_origin()
        self._shown: Any = None
        view = window.view
        # After the search feature's own cursor connection, so the selection start wins.
        view.selection_changed.connect(self.follow_selection)
        window.document_changed.connect(self._document_shown)
        bar = search.bar
        for signal in (
            bar.pattern_edit.textChanged,
            bar.mode.currentIndexChanged,
            bar.encoding.currentIndexChanged,
            bar.match_case.toggled,
        ):
            signal.connect(self.mark_results_stale)
        window.add_tab_state_hook("search", self.save_search, self.restore_search)
        bookmark = window.action_builder.actions.get("bookmarks.add")
        if bookmark is not None:
            # Connected after the add itself: announces what the add made.
            bookmark.triggered.connect(self.announce_bookmark)

    # ----------------------------------------------------------------- inspector
    def set_inspector_origin(self, origin: str) -> None:
        """View ▸ Inspector Reads At: the selection's first byte or the cursor (persistent)."""
        self.origin = origin
        settings.save_inspector_origin(origin)
        self.window.action_builder.check(f"view.inspector_origin.{origin}")
        self.follow_selection(*self.window.view.selection)

    def follow_selection(self, start: int, end: int) -> None:
        if self.window.document is None:
            return
        view = self.window.view
        if self.origin == "selection" and end > start:
            self.search.inspector.show_offset(start, "Selection starts at")
        else:
            self.search.inspector.show_offset(view.cursor_offset, "Cursor at")

    # ----------------------------------------------------------------- stale state
    def _document_shown(self, document: Any) -> None:
        """Another file (or none): the find bar's last sentence was about the old one."""
        if document is self._shown:
            return  # the same file re-announced (a reload): its messages still apply
        self._shown = document
        bar = self.search.bar
        if bar.message.text():
            bar.show_message("")

    def mark_results_stale(self, *_args: object) -> None:
        model = self.search.results.model
        label = self.search.results.summary
        if model.running or not model.rowCount() or label.text().endswith(STALE_NOTE):
            return
        label.setText(label.text() + STALE_NOTE)

    # ----------------------------------------------------------------- per tab
    def save_search(self, _document: Any) -> dict[str, Any]:
        """The find state a tab takes with it: the bar's fields, results, last match and the
        bar's last message.

        A tab opened later starts with the fields as they are (the last pattern and options,
        as HxD's and Okteta's find keep the last search across files, so F3 goes on at once)
        but with no results and no message: those were about another file.
        """
        model = self.search.results.model
        return {
            "inputs": self.search.bar.inputs(),
            "matches": model.matches(),
            "description": model.description,
            "truncated": model.truncated,
            "summary": self.search.results.summary.text(),
            "last_match": self.search.controller.last_match,
            "message": self.search.bar.message.text(),
            "message_error": self.search.bar.message_error,
        }

    def restore_search(self, document: Any, state: dict[str, Any]) -> None:
        model = self.search.results.model
        # The fields first: while the list is still empty, the change marks nothing stale.
        self.search.bar.set_inputs(state["inputs"])
        if state["matches"] or state["description"]:
            model.begin(document.read, state["description"])
            model.add_batch(state["matches"])
            model.finish(truncated=state["truncated"])
            self.search.results.summary.setText(state["summary"])
        self.search.controller.last_match = state["last_match"]
        self.search.bar.show_message(state["message"], error=state["message_error"])
        self.window.view.viewport().update()

    # ----------------------------------------------------------------- bookmarks
    def announce_bookmark(self, *_args: object) -> None:
        """Ctrl+B: say what was bookmarked and show the list, leaving the focus in the grid."""
        panel = self.search.bookmarks
        bookmark = panel.selected()
        if bookmark is None:
            return
        length = bookmark.end - bookmark.start
        self.window.statusBar().showMessage(
            f"Bookmarked {length:,} byte{'s' if length != 1 else ''} at 0x{bookmark.start:x}"
            f" as “{bookmark.name}”.",
            STATUS_MS,
        )
        dock = dock_of(panel)
        if isinstance(dock, QDockWidget):
            focus = self.window.focusWidget()
            dock.show()
            dock.raise_()
            if focus is not None:
                focus.setFocus()


def install(window: QMainWindow, search: Any) -> FeatureLinks:
    links = FeatureLinks(window, search)
    window.register_action_target("links", links)
    window.action_builder.check(f"view.inspector_origin.{links.origin}")
    return links

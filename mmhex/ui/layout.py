"""The default arrangement of the docks: who shares a place, who gets which height, when to show.

The choices (after HxD, 010 Editor and ImHex, which all keep a tall value inspector beside the
grid and put a format's field tree under it):
- the data inspector, bookmarks and checksums share one tabbed place at the top of the right
  column, the inspector in front and tall enough for every one of its rows;
- the residency panel sits under them; when the column cannot hold the inspector's rows and the
  full panel (a 1366×768 laptop), it starts compact (one strip, one line of totals) unless the
  user already chose a form;
- the Structure dock sits under the grid and is shown only while the file in front has a format
  (detected or chosen), as 010 Editor shows its template results, until the user shows or
  hides it by hand, after which it stays as the user left it; the search results list is a
  tab beside it there.

It never draws a panel and never sets a panel's minimum size; it only places and sizes docks.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

INSPECTOR = "Data inspector"
RESIDENCY = "Residency"
STRUCTURE = "Structure"
# Docks that share one place as tabs, the first one in front: the byte-level tools a user
# switches between; the residency panel keeps a place of its own beside them.
TABBED_TOGETHER = (INSPECTOR, "Bookmarks", "Selection checksums")
# Under the grid, as 010 Editor keeps its find results and template results as tabs of one
# panel: each gets the grid's whole width (side by side the results list was 200 px wide).
TABBED_BELOW = (STRUCTURE, "Search results")
COMPACT_KEY = "residency/compact"  # the residency panel's own setting (residency_panel.install)


def docks_by_title(window: QMainWindow) -> dict[str, QDockWidget]:
    return {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}


def tabify(window: QMainWindow, titles: tuple[str, ...]) -> None:
    """Stack the docks named ``titles`` as tabs in one place, the first one raised."""
    docks = docks_by_title(window)
    present = [docks[title] for title in titles if title in docks]
    for dock in present[1:]:
        window.tabifyDockWidget(present[0], dock)
    if present:
        present[0].raise_()


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


def inspector_height(dock: QDockWidget, inspector: Any) -> int:
    """The dock height at which the inspector's table shows every row without scrolling."""
    table = inspector.table
    rows = table.verticalHeader().length()
    # Everything around the rows (title, offset line, column header, frames) as laid out now.
    chrome = dock.height() - table.viewport().height()
    return rows + max(chrome, 0) + 1


def _dock_chrome(dock: QDockWidget, panel: QWidget) -> int:
    """The dock's own height around its panel (title bar, frame)."""
    chrome = dock.height() - panel.height()
    return chrome if chrome > 0 else dock.fontMetrics().height() + 8


def _residency_content(residency: Any) -> int:
    """The height the residency panel's content needs in its present form (full or compact)."""
    scroll = getattr(residency, "scroll", None)  # the panel scrolls its own content
    content = scroll.widget() if scroll is not None and scroll.widget() else residency
    return content.minimumSizeHint().height()


def full_residency_height(dock: QDockWidget, residency: Any) -> int:
    """The residency dock's height with the full panel shown without scrolling."""
    return _residency_content(residency) + _dock_chrome(dock, residency)


def arrange_right_column(
    window: QMainWindow, inspector: Any, residency: Any, *, choose_form: bool = True
) -> None:
    """Every inspector row visible; the rest of the column to the residency panel.

    ``choose_form`` (the first arrangement): make the residency panel compact when the column
    cannot hold the inspector's rows and the full panel, unless the user's settings hold a
    choice of their own; the automatic choice is not written down, so a larger screen later
    decides afresh.
    """
    docks = docks_by_title(window)
    top, bottom = docks.get(INSPECTOR), docks.get(RESIDENCY)
    if top is None or not top.isVisible() or getattr(inspector, "table", None) is None:
        return
    if bottom is None or not bottom.isVisible() or residency is None:
        return
    wanted = inspector_height(top, inspector)
    total = top.height() + bottom.height()
    choosing = choose_form and not residency.compact and not _compact_chosen_by_user()
    if choosing and total < wanted + full_residency_height(bottom, residency):
        residency.set_compact(True)
        _forget_compact_choice()
    height = min(wanted, max(1, total - _compact_floor(bottom, residency)))
    asked = height
    for _attempt in range(3):
        window.resizeDocks([top, bottom], [asked, max(1, total - asked)], Qt.Orientation.Vertical)
        window.layout().activate()  # lays the docks out now, to measure what the sizes gave
        error = height - top.height()
        if -2 <= error <= 1:  # ``wanted`` has a pixel to spare
            break
        asked += error  # the sizes count a little more or less than the dock's own height


class RightColumnKeeper(QObject):
    """Arranges the right column after the first show, and again whenever the window's height
    changes, until the user drags a dock separator (then the column is theirs).

    Qt shares a height change between the docks in proportion to their sizes, so a window made
    shorter (or a window manager trimming a first window) would take rows from the inspector
    while the residency panel kept empty space; the inspector's rows come first.
    """

    def __init__(self, window: QMainWindow, inspector: Any, residency: Any) -> None:
        super().__init__(window)
        self.window = window
        self.inspector = inspector
        self.residency = residency
        self.arranged = False
        self.user_arranged = False
        self._pending = False
        window.installEventFilter(self)
        after_first_show(window, self._first)

    def _first(self) -> None:
        arrange_right_column(self.window, self.inspector, self.residency)
        self.arranged = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window:
            kind = event.type()
            if kind == QEvent.Type.MouseButtonPress:
                # Where no child widget is, the press is on a dock separator (a child's
                # unhandled press also reaches the window, but over that child).
                if self.window.childAt(event.position().toPoint()) is None:
                    self.user_arranged = True
            elif kind == QEvent.Type.Resize and self._follows(event):
                self._pending = True
                QTimer.singleShot(0, self._keep)  # once the docks have their new sizes
        return False

    def _follows(self, event: QEvent) -> bool:
        """A height change to follow: arranged once, not by the user, none pending."""
        taller_or_shorter = event.size().height() != event.oldSize().height()
        return self.arranged and not self.user_arranged and not self._pending and taller_or_shorter

    def _keep(self) -> None:
        self._pending = False
        if not self.user_arranged:
            arrange_right_column(self.window, self.inspector, self.residency, choose_form=False)


def _compact_floor(dock: QDockWidget, residency: Any) -> int:
    """The least height the residency dock keeps under the inspector (its compact content)."""
    if residency.compact:
        return _residency_content(residency) + _dock_chrome(dock, residency)
    return dock.fontMetrics().height() * 4


def _compact_chosen_by_user() -> bool:
    from mmhex.ui.settings import open_settings

    return open_settings().contains(COMPACT_KEY)


def _forget_compact_choice() -> None:
    """The panel saved the form chosen for the screen as if the user had chosen it."""
    from mmhex.ui.settings import open_settings

    open_settings().remove(COMPACT_KEY)


class StructureDockFollower(QObject):
    """Shows the Structure dock while the file in front has a format, until the user decides.

    A dock of field names for a file with no format only takes rows from the grid; 010 Editor
    likewise opens its template results when a template runs. Once the user shows or hides the
    dock by hand (View ▸ Panels, its close button), it stays as the user left it.
    """

    def __init__(self, window: QMainWindow, structure: Any) -> None:
        super().__init__(window)
        self.window = window
        self.structure = structure
        self.dock: QDockWidget = structure.dock
        self.user_choice: bool | None = None  # None: follow the file's format
        self._placing = False
        self.dock.toggleViewAction().triggered.connect(self._chosen)
        self.dock.installEventFilter(self)
        # After the structure feature's own slot: it has detected the new file's format.
        window.document_changed.connect(self.follow)
        structure.parsed.connect(lambda _result: self.follow())
        self.follow()

    def _chosen(self, shown: bool) -> None:
        self.user_choice = shown

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.dock and event.type() == QEvent.Type.Close and not self._placing:
            self.user_choice = False  # its close button
        return False

    def follow(self, *_args: object) -> None:
        if self.user_choice is not None:
            return
        document = self.structure.document
        # What the feature will parse (detected now, synchronously; or chosen with Parse as…).
        wanted = document is not None and (
            self.structure.chosen.get(document.path, self.structure.detected) is not None
        )
        if self.dock.isHidden() == wanted:
            self._placing = True
            try:
                self.dock.setVisible(wanted)
            finally:
                self._placing = False


def after_first_show(window: QWidget, action: Any) -> None:
    """Run ``action`` once, after the window is first shown and laid out."""
    if window.isVisible():
        QTimer.singleShot(0, action)
        return

    class _Once(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if watched is window and event.type() == QEvent.Type.Show:
                window.removeEventFilter(self)
                QTimer.singleShot(0, action)
                self.deleteLater()
            return False

    window.installEventFilter(_Once(window))

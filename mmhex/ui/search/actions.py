"""Menu rows and shortcuts of find, replace and bookmarks, in the format of mmhex.ui.actions.

``MainWindow.install_actions(SEARCH_ACTIONS, search=controller, bookmarks=panel)`` adds them;
``search`` is a SearchController, ``bookmarks`` a BookmarksPanel.
"""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from mmhex.ui.actions import ActionSpec

Key = QKeySequence.StandardKey
MENU = "&Search"

SEARCH_ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("search.find", "&Find…", "search.show_find", MENU, (Key.Find,)),
    ActionSpec("search.replace", "&Replace…", "search.show_replace", MENU, ("Ctrl+R",)),
    ActionSpec(
        "search.next",
        "Find &Next",
        "search.find_next",
        MENU,
        # Not Key.FindNext: on Linux it includes Ctrl+G, which is Go to Offset here.
        ("F3",),
        separator_before=True,
    ),
    ActionSpec("search.previous", "Find &Previous", "search.find_previous", MENU, ("Shift+F3",)),
    ActionSpec("search.all", "Find &All", "search.find_all", MENU, ("Ctrl+Shift+F",)),
    ActionSpec(
        "bookmarks.add",
        "Add &Bookmark",
        "bookmarks.add_from_selection",
        MENU,
        ("Ctrl+B",),
        separator_before=True,
        tip="Bookmark the selection (or the byte at the cursor)",
    ),
    ActionSpec("bookmarks.next", "Next Bookmark", "bookmarks.go_next", MENU, ("F2",)),
    ActionSpec(
        "bookmarks.previous", "Previous Bookmark", "bookmarks.go_previous", MENU, ("Shift+F2",)
    ),
)

"""Toolbar buttons for actions whose text changes often (Undo/Redo): a proxy with fixed text.

PySide6 6.11.3 (Qt 6.11): a QAction shown by a QToolButton gains one ``changed()`` receiver each
time its text or enabled state changes, and never loses it. The Undo menu item's text changes on
every keystroke, so with it on the toolbar every edit got slower (tests/ui/test_action_receivers).
The proxy's text never changes and its enabled state follows the real action only when that
changes, so its receivers stay bounded by the user's undo/redo toggles, not by the edits.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction


def fixed_text_proxy(action: QAction, label: str, parent: QObject) -> QAction:
    """A shortcut-less action labelled ``label`` that triggers ``action`` and mirrors its state."""
    proxy = QAction(label, parent)
    proxy.setObjectName(f"{action.objectName() or label}:toolbar")
    shortcut = action.shortcut().toString()
    proxy.setToolTip(f"{label} ({shortcut})" if shortcut else label)
    proxy.setEnabled(action.isEnabled())
    action.enabledChanged.connect(proxy.setEnabled)
    proxy.triggered.connect(action.trigger)
    return proxy

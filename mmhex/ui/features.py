"""The optional features plugged into the main window (docks, their actions), in one place.

Each feature module offers ``install(main_window)``; the window itself knows none of them, so
tests can build a bare window and the features are tested on their own.
"""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow


def install_features(window: QMainWindow) -> None:
    """Add every feature to ``window``, in the order their docks should stack."""
    from mmhex.ui import editing
    from mmhex.ui.panels import residency_panel

    editing.install(window)
    residency_panel.install(window)

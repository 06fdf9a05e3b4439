"""Find/replace bar, find-all results, checksums: the Qt side of mmhex.core.search and friends.

Widgets here are self-contained (small APIs, signals out); the main window wires them to the view.
"""

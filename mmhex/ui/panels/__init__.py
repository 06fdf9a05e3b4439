"""Dock panels beside the hex grid; each draws a core object and is wired by its ``install``."""

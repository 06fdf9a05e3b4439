"""The Qt (PySide6) layer: adapts the core to windows; nothing here is imported by the core."""

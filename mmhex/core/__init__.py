"""The Qt-free core of mmhex: mapping, documents, and everything testable without a display.

Nothing under ``mmhex.core`` may import Qt (``tests/core/test_no_qt.py`` checks it).
"""

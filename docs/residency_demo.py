"""Show the residency panel alone on a partly cached file and save a screenshot of it.

    xvfb-run -a python docs/residency_demo.py [OUTPUT.png]

Builds a 64 MiB file on a disk file system, evicts it, reads a few regions back, leaves some
pages dirty and makes two private copies, then grabs the panel once it has measured.
"""

from __future__ import annotations

import os
import sys
import tempfile

from PySide6.QtCore import QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow

from mmhex.core.document import Document
from mmhex.core.mapping import OpenMode
from mmhex.ui.panels.residency_panel import ResidencyPanel

PAGE = os.sysconf("SC_PAGE_SIZE")
SIZE = 64 << 20


def prepare(directory: str) -> str:
    path = os.path.join(directory, "partly-cached.bin")
    with open(path, "wb") as handle:
        for _ in range(SIZE >> 20):
            handle.write(os.urandom(1 << 20))
        handle.flush()
        os.fsync(handle.fileno())
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for start, length in ((0, 6 << 20), (20 << 20, 3 << 20), (40 << 20, 5 << 20)):
            for offset in range(start, start + length, 3 * PAGE):
                os.pread(fd, 1, offset)
        for page in range(5260, 5600, 7):
            os.pwrite(fd, b"dirty", page * PAGE)  # not synced: dirty until writeback
    finally:
        os.close(fd)
    return path


def main() -> int:
    output = sys.argv[1] if len(sys.argv) > 1 else "docs/residency_panel.png"
    app = QApplication(sys.argv[:1])
    directory = tempfile.mkdtemp(prefix="mmhex-demo-", dir="/var/tmp")
    path = prepare(directory)
    document = Document.open(path)
    document.mapped.set_mode(OpenMode.PRIVATE)
    for page in (12900, 12901, 12950):
        window = document.mapped.pin(page * PAGE)
        window.mm[page * PAGE - window.start] = 0x58  # private copy-on-write edit
    window = QMainWindow()
    window.setWindowTitle("mmhex — Residency")
    panel = ResidencyPanel(window)
    window.setCentralWidget(panel)
    window.resize(340, 760)
    panel.set_document(document)
    visible = (20 << 20) + 100 * PAGE
    panel.set_visible_range(visible, visible + 1024)
    window.show()

    def point_at_a_cell() -> None:
        grid = panel.detail
        if grid.buckets is not None:
            cell = grid.buckets.layout.bucket_of(visible) + 3
            QTest.mouseMove(grid, grid.cell_rect(cell).center())

    def capture() -> None:
        window.grab().save(output)
        panel.shutdown()
        app.quit()

    QTimer.singleShot(1200, point_at_a_cell)
    QTimer.singleShot(1500, capture)
    app.exec()
    document.close()
    os.unlink(path)
    os.rmdir(directory)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

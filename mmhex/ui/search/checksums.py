"""Selection info: length and CRC-32 / MD5 / SHA-1 / SHA-256, computed in a worker on demand."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mmhex.core.checksums import ALGORITHMS, compute_checksums
from mmhex.ui.search.worker import Job, format_progress, format_rate


class ChecksumsPanel(QWidget):
    """Shows the selection's length; 'Compute' runs the checksums with progress and Cancel."""

    computed = Signal(object)  # {algorithm: hex digest}

    def __init__(self, parent: QWidget | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self.document: Any = None
        self.range = (0, 0)
        self.job: Job | None = None
        self.results: dict[str, str] = {}
        self.range_label = QLabel(self)
        self.table = QTableWidget(len(ALGORITHMS), 2, self)
        self.table.setHorizontalHeaderLabels(["Checksum", "Value"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.horizontalHeader().setStretchLastSection(True)
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for row, name in enumerate(ALGORITHMS):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            value = QTableWidgetItem("")
            value.setFont(fixed)
            self.table.setItem(row, 1, value)
        self.compute_button = QPushButton("Compute", self)
        self.copy_button = QPushButton("Copy", self)
        self.cancel_button = QPushButton("Cancel", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.copy_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.range_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.compute_button.clicked.connect(self.compute)
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.cancel_button.clicked.connect(self.cancel)
        self._set_busy(False)
        self._show_range()

    def set_document(self, document: Any) -> None:
        self.cancel()
        self.document = document
        self.set_range(0, 0)

    def set_range(self, start: int, end: int) -> None:
        """The selection to describe; old digests are cleared (they described other bytes)."""
        if (start, end) == self.range:
            return
        self.range = (start, end)
        self._clear_values()
        self._show_range()

    def compute(self) -> None:
        if self.document is None or (self.job is not None and self.job.running):
            return
        if getattr(self.document, "reads_held", False):
            # An in-place save is moving the file's bytes (Document.reads_held).
            self.status.setText("Saving… try again when it finishes.")
            return
        start, end = self.range
        if end <= start:
            start, end = 0, self.document.size  # nothing selected: the whole file
        document = self.document

        def work(progress, _emit):
            return compute_checksums(document, start, end, progress=progress)

        self._clear_values()
        self.job = Job(work, max(end - start, 1), path=document.path, parent=self)
        self.job.progressed.connect(self._progressed)
        self.job.succeeded.connect(self._done)
        self.job.failed.connect(lambda message: self.status.setText(message))
        self.job.cancelled.connect(lambda: self.status.setText("Cancelled."))
        self.job.finished.connect(lambda: self._set_busy(False))
        self._set_busy(True)
        self.status.setText(f"Computing over {end - start:,} bytes…")
        self.job.start(self.pool)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def copy_to_clipboard(self) -> None:
        if self.results:
            text = "\n".join(f"{name}: {value}" for name, value in self.results.items())
            QGuiApplication.clipboard().setText(text)

    def _done(self, results: dict[str, str]) -> None:
        self.results = results
        for row, name in enumerate(ALGORITHMS):
            self.table.item(row, 1).setText(results.get(name, ""))
        elapsed = self.job.elapsed if self.job else 0
        rate = f" ({format_rate(self.job.total / elapsed)})" if self.job and elapsed else ""
        self.status.setText(f"Done in {elapsed:.2f} s{rate}.")
        self.computed.emit(results)

    def _progressed(self, done: int, total: int, rate: float) -> None:
        self.progress.setValue(int(1000 * done / total) if total else 0)
        self.status.setText(format_progress(done, total, rate))

    def _clear_values(self) -> None:
        self.results = {}
        for row in range(len(ALGORITHMS)):
            self.table.item(row, 1).setText("")
        self.status.setText("")

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.compute_button.setEnabled(not busy)

    def _show_range(self) -> None:
        start, end = self.range
        if end > start:
            self.range_label.setText(f"Selection {start:#x}–{end - 1:#x}: {end - start:,} bytes")
        elif self.document is not None:
            self.range_label.setText(f"No selection: the whole file, {self.document.size:,} bytes")
        else:
            self.range_label.setText("No file open")

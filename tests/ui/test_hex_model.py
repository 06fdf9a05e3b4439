"""HexTableModel: serves the visible window of any file, cached by generation, never raising."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QAbstractItemModelTester

from mmhex.core.document import Document
from mmhex.core.errors import FileTruncatedError
from mmhex.ui.hex_model import HexTableModel, format_ascii, format_hex


def pread(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def test_window_cells_match_the_file(qtbot, random_file: Path) -> None:
    model = HexTableModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    document = Document.open(str(random_file))
    model.set_document(document)
    model.set_window(10, 20)
    assert model.rowCount() == 20
    assert model.columnCount() == 16
    expected = pread(random_file, 160, 320)
    assert model.window_bytes() == expected
    for row in (0, 7, 19):
        for column in (0, 5, 15):
            value = expected[row * 16 + column]
            index = model.index(row, column)
            assert model.data(index) == f"{value:02x}"
            assert model.data(index, Qt.ItemDataRole.UserRole) == value
    assert model.headerData(3, Qt.Orientation.Vertical) == f"{(10 + 3) * 16:08x}"
    document.close()


def test_last_rows_are_clipped_to_the_file(qtbot, random_file: Path) -> None:
    model = HexTableModel()
    document = Document.open(str(random_file))
    model.set_document(document)
    total = -(-10_007 // 16)
    model.set_window(total - 2, 30)
    assert model.rowCount() == 2
    rows = model.row_texts()
    assert [r.offset for r in rows] == [(total - 2) * 16, (total - 1) * 16]
    assert rows[-1].length == 10_007 % 16
    assert rows[-1].hex_text == format_hex(pread(random_file, (total - 1) * 16, 16), 1)
    document.close()


def test_top_row_beyond_32_bits(qtbot, sparse_tib: Path) -> None:
    model = HexTableModel()
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    document = Document.open(str(sparse_tib))
    model.set_document(document)
    last_row = (1 << 40) // 16 - 1
    model.set_window(last_row, 5)
    assert model.rowCount() == 1
    assert model.window_bytes() == pread(sparse_tib, (1 << 40) - 16, 16)
    assert model.row_texts()[0].ascii_text == "........TAILEND!"
    assert model.row_texts()[0].offset_text == "fffffffff0"
    document.close()


def test_cache_is_keyed_by_generation(qtbot, random_file: Path) -> None:
    model = HexTableModel()
    document = Document.open(str(random_file))
    model.set_document(document)
    model.set_window(0, 4)
    before = model.window_bytes()
    with open(random_file, "r+b") as handle:
        handle.write(b"\xaa" * 64)
    os.utime(random_file, ns=(1, 1))  # a different mtime, even on coarse clocks
    assert model.window_bytes() == before  # same generation: served from the cache
    change = document.check_outside_change()
    assert change is not None
    assert model.window_bytes() == b"\xaa" * 64
    assert model.row_texts()[0].hex_text == "aa " * 15 + "aa"
    document.close()


def test_failed_read_reports_instead_of_raising(qtbot, random_file: Path) -> None:
    model = HexTableModel()
    document = Document.open(str(random_file))
    model.set_document(document)
    model.set_window(400, 10)  # bytes 6400..6559
    model.window_bytes()
    os.truncate(random_file, 100)
    model.invalidate()
    with qtbot.waitSignal(model.read_failed) as blocker:
        assert model.window_bytes() == b""
    assert isinstance(blocker.args[0], FileTruncatedError)
    assert document.size == 100  # the mapping refreshed itself
    # The window now lies past the end: no rows, and nothing stale to show.
    assert model.rowCount() == 0
    assert model.row_texts() == []
    document.close()


def test_ascii_column_matches_printable_ascii() -> None:
    data = bytes(range(256))
    text = format_ascii(data)
    assert len(text) == 256
    for value, char in zip(data, text, strict=True):
        assert char == (chr(value) if 0x20 <= value <= 0x7E else ".")


def test_hex_groups_count_from_the_row_start() -> None:
    assert format_hex(bytes([1, 2, 3, 4, 5]), 2) == "0102 0304 05"
    assert format_hex(bytes([1, 2, 3]), 4) == "010203"
    assert format_hex(b"", 1) == ""

"""The inspector dock against struct.unpack on a real document; typing values asks for writes."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from mmhex.core.document import Document
from mmhex.ui.panels.inspector_panel import InspectorPanel


@pytest.fixture
def doc(tmp_path: Path):
    data = bytes.fromhex("fe ff 00 00 00 00 f0 3f") + "é".encode() + bytes(range(20))
    path = tmp_path / "i.bin"
    path.write_bytes(data)
    document = Document.open(str(path))
    yield document, data
    document.close()


@pytest.fixture
def panel(qtbot, doc):
    widget = InspectorPanel()
    qtbot.addWidget(widget)
    document, _ = doc
    widget.set_source(document.read, document.size)
    return widget


def test_values_follow_the_cursor_and_endianness(panel, doc):
    _, data = doc
    panel.show_offset(0)
    assert panel.text_of("int16") == str(struct.unpack("<h", data[:2])[0]) == "-2"
    assert panel.text_of("uint32") == str(struct.unpack("<I", data[:4])[0])
    assert panel.text_of("float64") == repr(struct.unpack("<d", data[:8])[0])
    panel.set_little_endian(False)
    assert panel.text_of("uint16") == str(struct.unpack(">H", data[:2])[0])
    panel.set_little_endian(True)
    panel.show_offset(8)
    assert panel.text_of("utf8") == "é  U+00E9"
    assert panel.offset_label.text() == "At 0x8 (8)"
    panel.show_offset(len(data) - 2)
    assert panel.text_of("int32") == "(needs 4 bytes)"


def test_read_only_cells_cannot_be_edited(panel):
    from PySide6.QtCore import Qt

    panel.show_offset(0)
    assert not panel.table.item(0, 1).flags() & Qt.ItemFlag.ItemIsEditable
    assert "Editing needs edit mode" in panel.table.item(0, 1).toolTip()
    panel.set_editable(True)
    assert panel.table.item(0, 1).flags() & Qt.ItemFlag.ItemIsEditable


def test_typing_a_value_requests_its_bytes(panel, qtbot):
    panel.set_editable(True)
    panel.show_offset(4)
    with qtbot.waitSignal(panel.write_requested) as blocker:
        panel.type_value("int16", "-300")
    assert blocker.args == [4, struct.pack("<h", -300)]
    panel.set_little_endian(False)
    with qtbot.waitSignal(panel.write_requested) as blocker:
        panel.type_value("float32", "1.5")
    assert blocker.args == [4, struct.pack(">f", 1.5)]


def test_bad_values_are_explained_and_not_written(panel, qtbot, doc):
    _, data = doc
    panel.set_editable(True)
    panel.show_offset(0)
    with qtbot.assertNotEmitted(panel.write_requested):
        panel.type_value("uint8", "256")
    assert panel.message.text() == "uint8 holds 0 to 255; 256 does not fit."
    assert panel.text_of("uint8") == "254"  # the shown value is restored
    panel.show_offset(len(data) - 3)
    with qtbot.assertNotEmitted(panel.write_requested):
        panel.type_value("uint32", "7")
    assert "the file ends 3 bytes after the cursor" in panel.message.text()


def test_written_value_round_trips_through_the_document(panel, qtbot, doc):
    document, _ = doc
    document.enable_editing()
    panel.set_editable(True)
    panel.write_requested.connect(lambda offset, data: document.write(offset, data))
    panel.show_offset(2)
    panel.type_value("unix32", "2024-05-31 13:45:00 UTC")
    panel.refresh()
    assert panel.text_of("unix32") == "2024-05-31 13:45:00 UTC"
    assert document.read(2, 4) == struct.pack("<i", 1717163100)


def test_no_file(qtbot):
    widget = InspectorPanel()
    qtbot.addWidget(widget)
    assert widget.offset_label.text() == "No byte selected"
    assert widget.text_of("int8") == "(no byte here)"

"""The Structure dock on a real window: tree ↔ grid selection, edits re-parse, partial trees."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mmhex.ui.panels import structure_panel
from tests.core.structure_samples import PYTHON, grey_png


@pytest.fixture
def feature(window, qtbot):
    installed = structure_panel.install(window)
    yield installed
    installed.shutdown()


def _open(window, feature, qtbot, path: str | Path):
    with qtbot.waitSignal(feature.parsed, timeout=10_000) as blocker:
        assert window.open_path(str(path)) is None
    return blocker.args[0]


def _index_at(model, *names: str):
    index = model.index(0, 0)
    for name in names:
        node = model.node(index)
        rows = [c.name for c in node.children()]
        index = model.index(rows.index(name), 0, index)
    return index


def test_detected_format_file_type_and_tree(window, feature, qtbot):
    result = _open(window, feature, qtbot, PYTHON)
    assert result.format == "elf" and result.complete
    assert feature.type_label.toolTip().startswith("File type: ELF 64-bit LSB executable")
    assert "Format: elf (detected)" in feature.panel.format_label.text()
    model = feature.panel.model
    root = model.index(0, 0)
    assert model.data(root) == "elf"
    assert feature.panel.tree.isExpanded(root)
    assert [model.data(model.index(r, 0, root)) for r in range(3)] == ["magic", "bits", "endian"]


def test_click_a_field_selects_its_bytes(window, feature, qtbot):
    _open(window, feature, qtbot, PYTHON)
    model, tree = feature.panel.model, feature.panel.tree
    index = _index_at(model, "header", "section_header_offset")
    tree.scrollTo(index)
    rect = tree.visualRect(index)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.view.selection == (40, 48)  # e_shoff of ELF64
    # an instance far in the file: the selection and the scroll go there
    index = _index_at(model, "header", "section_headers")
    tree.expand(index)
    element = model.index(31, 0, index)
    tree.scrollTo(element)
    qtbot.mouseClick(
        tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualRect(element).center()
    )
    node = model.node(element)
    assert window.view.selection == (node.offset, node.offset + 64)
    start, end = window.view.visible_range()
    assert start <= node.offset < end


def test_arrow_keys_in_the_tree_select_bytes(window, feature, qtbot):
    _open(window, feature, qtbot, PYTHON)
    model, tree = feature.panel.model, feature.panel.tree
    tree.setFocus()
    tree.setCurrentIndex(_index_at(model, "magic"))
    qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert model.node(tree.currentIndex()).name == "bits"
    assert window.view.selection == (4, 5)


def test_cursor_move_selects_the_innermost_field(window, feature, qtbot):
    _open(window, feature, qtbot, PYTHON)
    model, tree = feature.panel.model, feature.panel.tree
    window.view.set_cursor(0x19)  # inside e_entry (0x18..0x20)
    node = model.node(tree.currentIndex())
    assert node.path == "header.entry_point"
    window.view.set_cursor(2)
    assert model.node(tree.currentIndex()).path == "magic"


def test_editing_a_field_updates_its_value(window, feature, qtbot, tmp_path: Path):
    data, _table = grey_png()
    path = tmp_path / "e.png"
    path.write_bytes(data)
    _open(window, feature, qtbot, path)
    document = window.document
    document.enable_editing()
    model = feature.panel.model
    index = _index_at(model, "ihdr", "width")
    feature.panel.tree.expand(index.parent())
    assert model.data(model.index(index.row(), 4, index.parent())) == "0x3 (3)"
    with qtbot.waitSignal(feature.parsed, timeout=10_000):
        document.write(16, struct.pack(">I", 0x102))
    index = _index_at(model, "ihdr", "width")
    assert model.data(model.index(index.row(), 4, index.parent())) == "0x102 (258)"
    assert feature.panel.tree.isExpanded(index.parent())  # the open fields stay open


def test_truncated_file_shows_the_partial_tree_and_the_reason(window, feature, qtbot, tmp_path):
    data, table = grey_png()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: table[2][0] + 10])
    result = _open(window, feature, qtbot, path)
    assert not result.complete
    message = feature.panel.message
    assert message.isVisible() or not feature.panel.isVisible()
    assert message.text().startswith("Parsing stopped in chunks[1]")
    assert "ends too early" in message.text()
    model = feature.panel.model
    chunks = _index_at(model, "chunks")
    assert model.rowCount(chunks) == 1 and model.data(model.index(0, 0, chunks)) == "[0]"


def test_lazy_arrays_fetch_more(window, feature, qtbot, tmp_path: Path):
    import zipfile

    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(400):
            archive.writestr(f"f{index}", b"")
    _open(window, feature, qtbot, path)
    model = feature.panel.model
    sections = _index_at(model, "sections")
    assert model.rowCount(sections) == 256 and model.canFetchMore(sections)
    model.fetchMore(sections)
    assert model.rowCount(sections) == 512
    model.fetchMore(sections)
    model.fetchMore(sections)
    assert model.rowCount(sections) == 801 and not model.canFetchMore(sections)


def test_parse_as_and_hover_and_tints(window, feature, qtbot, tmp_path: Path):
    data, _table = grey_png()
    path = tmp_path / "p.png"
    path.write_bytes(data)
    _open(window, feature, qtbot, path)
    with qtbot.waitSignal(feature.parsed, timeout=10_000) as blocker:
        feature.parse_as("gif")
    assert blocker.args[0].format == "gif" and not blocker.args[0].complete
    assert "Format: gif (chosen)" in feature.panel.format_label.text()
    with qtbot.waitSignal(feature.parsed, timeout=10_000):
        feature.detect_format()
    model, tree = feature.panel.model, feature.panel.tree
    ihdr = _index_at(model, "ihdr")
    tree.expand(ihdr)
    colours = feature.highlights(0, len(data))
    assert (16, 29) in [(a, b) for a, b, _c in colours]  # IHDR's 13 bytes, tinted
    feature.panel.field_hovered.emit(model.node(_index_at(model, "ihdr", "height")))
    assert feature.highlights(0, 64)[-1][:2] == (20, 24)
    feature.panel.field_hovered.emit(None)
    assert (20, 24) not in [(a, b) for a, b, _c in feature.highlights(0, 64)]


def test_format_chooser_filters(qtbot):
    dialog = structure_panel.FormatChooser(["elf", "gif", "gpt_partition_table"], None, None)
    qtbot.addWidget(dialog)
    dialog.filter.setText("gp")
    assert dialog.chosen() == "gpt_partition_table"
    dialog.filter.setText("zzz")
    assert dialog.chosen() is None


def test_cancel_stops_a_parse_under_way(window, feature, qtbot, tmp_path: Path, monkeypatch):
    import threading

    from mmhex.core import structure

    started = threading.Event()

    def slow_parse(document, name, registry, token=None):
        started.set()
        while True:  # a parse that only ends when cancelled (reads check the same token)
            token.check()
            threading.Event().wait(0.01)

    data, _table = grey_png()
    path = tmp_path / "slow.png"
    path.write_bytes(data)
    monkeypatch.setattr(structure, "parse", slow_parse)
    assert window.open_path(str(path)) is None
    assert started.wait(5)
    assert feature.panel.cancel_button.isVisibleTo(feature.panel)
    assert "parsing…" in feature.panel.format_label.text()
    qtbot.mouseClick(feature.panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "parsing cancelled" in feature.panel.format_label.text(), timeout=5000)
    qtbot.waitUntil(lambda: not feature.panel.cancel_button.isVisibleTo(feature.panel))
    assert feature.result is None

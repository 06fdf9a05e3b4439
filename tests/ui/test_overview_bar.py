"""The overview bar: layer values against references, click-to-jump, visible range, the
entropy plot (View ▸ Entropy Plot) and the Storage dock (extents, who maps the file)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from mmhex.core import entropy
from mmhex.core.extents import extents_of
from mmhex.core.overview import Layer
from mmhex.ui import overview_bar
from tests.core.sparse_support import mapping_child

MIB = 1024 * 1024


@pytest.fixture
def sparse_file(tmp_path: Path) -> Path:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(64 * MIB)
        os.pwrite(f.fileno(), os.urandom(4 * MIB), 16 * MIB)  # data in [16, 20) MiB
        os.pwrite(f.fileno(), b"text " * 200_000, 40 * MIB)  # ~1 MiB of text at 40 MiB
    return path


@pytest.fixture
def feature(window, qtbot):
    installed = overview_bar.install(window)
    yield installed
    for dialog in list(installed.dialogs):
        dialog.job.cancel()
        qtbot.waitUntil(lambda d=dialog: not d.job.running, timeout=5000)


def _wait_layer(qtbot, bar, layer: Layer):
    qtbot.waitUntil(
        lambda: (
            bar.result is not None
            and bar.result.layer is layer
            and bar.result.size == bar.document.size
            and len(bar.result.values) == max(1, bar.height())
        ),
        timeout=10_000,
    )
    return bar.result


def test_bar_sits_beside_the_grid_and_data_layer_matches_the_holes(
    window, feature, sparse_file, qtbot
):
    bar = feature.bar
    window.open_path(str(sparse_file))
    assert bar.isVisible() and bar.width() == overview_bar.BAR_WIDTH
    grid = window.view.mapTo(window, QPoint(window.view.width(), 0))
    beside = bar.mapTo(window, QPoint(0, 0))
    assert 0 <= beside.x() - grid.x() <= 4  # right next to the view (and its scroll bar)
    result = _wait_layer(qtbot, bar, Layer.DATA)
    edges = np.asarray(result.edges)
    # Reference: the share of each bucket inside [16 MiB, 20 MiB) and the text run, byte-exact.
    runs = [(16 * MIB, 20 * MIB), (40 * MIB, 40 * MIB + 1_003_520)]  # text run page-rounded
    expected = np.zeros(len(edges) - 1)
    for lo, hi in runs:
        expected += np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0, None)
    expected /= np.diff(edges)
    assert np.allclose(result.values[:, 0], expected)
    assert np.allclose(result.values.sum(axis=1), 1.0)
    row = result.bucket_of(18 * MIB)
    assert "data 100%" in bar.describe_at(bar.y_of(result.edges[row]) + 0.5)


def test_entropy_and_class_layers_match_the_references(window, feature, sparse_file, qtbot):
    bar = feature.bar
    window.open_path(str(sparse_file))
    feature.choose_layer(Layer.ENTROPY)
    result = _wait_layer(qtbot, bar, Layer.ENTROPY)
    at_random = result.values[result.bucket_of(18 * MIB), 0] * 8
    at_text = result.values[result.bucket_of(40 * MIB + 100_000), 0] * 8
    at_hole = result.values[result.bucket_of(60 * MIB), 0] * 8
    text_entropy = entropy.entropy_of_counts(
        np.bincount(np.frombuffer(b"text ", np.uint8), minlength=256)[None, :]
    )[0]
    assert at_random > 7.9 and at_hole == 0.0
    assert at_text == pytest.approx(text_entropy, abs=0.05)  # "text " repeated: log2(4)-ish
    assert window.action_builder.actions["overview.layer.entropy"].isChecked()
    feature.choose_layer(Layer.CLASSES)
    classes = _wait_layer(qtbot, bar, Layer.CLASSES)
    assert classes.values[classes.bucket_of(40 * MIB + 100_000), 1] == pytest.approx(1.0)
    assert classes.values[classes.bucket_of(2 * MIB), 0] == pytest.approx(1.0)
    feature.choose_layer(Layer.RESIDENCY)
    residency = _wait_layer(qtbot, bar, Layer.RESIDENCY)
    assert residency.values.shape == (len(residency.edges) - 1, 1)


def test_click_jumps_and_the_visible_range_is_outlined(window, feature, sparse_file, qtbot):
    bar = feature.bar
    window.open_path(str(sparse_file))
    _wait_layer(qtbot, bar, Layer.DATA)
    y = bar.height() * 3 // 4
    target = bar.offset_at(y)
    assert target == pytest.approx(48 * MIB, abs=64 * MIB / bar.height() + 1)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(5, y))
    start, end = window.view.visible_range()
    assert start <= target < end
    assert bar.visible == (start, end)
    image = bar.grab().toImage()
    outline = bar.palette().highlight().color()
    top = int(bar.y_of(start))
    assert image.pixelColor(bar.width() // 2, top) == outline  # the frame's top edge
    assert image.pixelColor(bar.width() // 2, top - 8) != outline


def test_entropy_plot_of_the_selection(window, feature, sparse_file, qtbot):
    window.open_path(str(sparse_file))
    window.view.select(16 * MIB - 4096, 20 * MIB + 4096)
    window.action_builder.actions["overview.entropy_plot"].trigger()
    dialog = feature.dialogs[-1]
    qtbot.waitUntil(lambda: dialog.plot.profile is not None, timeout=20_000)
    got = dialog.plot.profile
    reference = entropy.profile(window.document, 16 * MIB - 4096, 20 * MIB + 4096, 512)
    assert got.edges == reference.edges
    assert np.allclose(got.entropy, reference.entropy)
    assert "mean" in dialog.label.text()
    dialog.close()


def test_storage_dock_lists_extents_and_a_child_that_maps_the_file(window, feature, sparse_file):
    window.open_path(str(sparse_file))
    panel = feature.storage
    reference = extents_of(str(sparse_file), sync=False)
    if reference.supported:
        assert panel.extents.rowCount() == len(reference.extents)
        assert panel.extents.item(0, 0).text() == f"{reference.extents[0].logical:#x}"
    else:
        assert "does not list extents" in panel.summary.text()
    with mapping_child(sparse_file, 16 * MIB, MIB, writable=False) as pid:
        panel.refresh()
        rows = [
            [panel.mappers.item(r, c).text() for c in range(panel.mappers.columnCount())]
            for r in range(panel.mappers.rowCount())
        ]
        assert [str(pid), rows[0][1], hex(16 * MIB), hex(17 * MIB), "r--s"] in rows
        feature.bar.refresh()
        window.view.viewport().update()


def test_an_edit_in_a_hole_shows_as_data(window, feature, sparse_file, qtbot):
    bar = feature.bar
    window.open_path(str(sparse_file))
    before = _wait_layer(qtbot, bar, Layer.DATA)
    row = before.bucket_of(60 * MIB)
    assert before.values[row, 0] == 0.0
    document = window.document
    document.enable_editing()
    document.write(60 * MIB, b"\x01" * 4096)
    qtbot.waitUntil(lambda: bar.result is not before, timeout=5000)
    after = _wait_layer(qtbot, bar, Layer.DATA)
    lo, hi = after.edges[row], after.edges[row + 1]
    assert after.values[row, 0] == pytest.approx(4096 / (hi - lo))
    feature.choose_layer(Layer.PAGES)
    pages = _wait_layer(qtbot, bar, Layer.PAGES)
    assert pages.values[row, 0] == pytest.approx(4096 / (hi - lo))  # one private copy
    assert "private copies" in bar.describe_at(bar.y_of(lo) + 0.5)
    colour = bar.grab().toImage().pixelColor(bar.width() // 2, row)  # one bucket per pixel row
    assert colour.green() > colour.red() and colour.green() > colour.blue()  # private: green
    assert bar._live.isActive() and bar._live.interval() == overview_bar.PAGES_REFRESH_MS


def test_inserted_bytes_show_in_memory_and_the_file_layers_move(
    window, feature, sparse_file, qtbot
):
    bar = feature.bar
    window.open_path(str(sparse_file))
    before = _wait_layer(qtbot, bar, Layer.DATA)
    document = window.document
    document.enable_editing()
    document.insert_fill(0, 8 * MIB, b"\xaa")  # 8 MiB in front: everything moves down
    qtbot.waitUntil(lambda: bar.result is not before and bar.result.size == 72 * MIB, timeout=5000)
    after = _wait_layer(qtbot, bar, Layer.DATA)
    top = after.bucket_of(MIB)
    assert after.not_in_file[top] == 1.0 and after.values[top].sum() == 0
    assert "inserted 100% (in memory, not in the file)" in bar.describe_at(
        bar.y_of(after.edges[top]) + 0.5
    )
    colour = bar.grab().toImage().pixelColor(bar.width() // 2, top)
    assert (colour.red(), colour.green(), colour.blue()) == overview_bar.IN_MEMORY
    moved = after.bucket_of(8 * MIB + 18 * MIB)  # the data that was at 18 MiB
    assert after.values[moved, 0] == 1.0
    assert after.values[after.bucket_of(18 * MIB), 2] == 1.0  # a hole of the file now

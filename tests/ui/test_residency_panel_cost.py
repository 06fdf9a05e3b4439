"""The residency panel costs nothing when nothing changes, and never crowds the window.

Colours from the vectorised image against the per-cell reference ``cell_color``; no paint when a
refresh finds the file unchanged or a scroll stays within the framed cells; no timer while the
window is minimised; a compact form; a small minimum size; controls that stay put when a message
appears.
"""

from __future__ import annotations

import random
from pathlib import Path

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QDockWidget

from mmhex.core.document import Document
from mmhex.core.residency import BucketLayout, Buckets
from mmhex.ui.features import install_features
from mmhex.ui.panels import residency_panel as rp
from mmhex.ui.panels.residency_image import cell_argb
from mmhex.ui.panels.residency_panel import ResidencyPanel
from tests.residency_support import PAGE, disk_dir, make_resident  # noqa: F401  (fixture)
from tests.ui.test_residency_panel import fake_snapshot, panel, settle  # noqa: F401  (fixture)


def test_image_colours_equal_the_per_cell_reference() -> None:
    rng = random.Random(7)
    for known in (True, False):
        count, per = 400, 8
        layout = BucketLayout(0, (count * per - 3) * PAGE + 100, per)  # a short last bucket

        def column(count: int = count, per: int = per) -> tuple[int, ...]:
            return tuple(rng.choice((0, 0, 1, per // 2, per)) for _ in range(count))

        buckets = Buckets(
            layout,
            column() if known else None,
            column() if known else None,
            column() if known else None,
            None,
            column() if known else None,
            column() if known else None,
            column(),
        )
        argb = cell_argb(buckets, lambda c, p, t: rp.cell_color(c, p, t).rgb())
        for index in range(count):
            private = buckets.private[index] if buckets.private else 0
            touched = buckets.touched[index] if buckets.touched else 0
            expected = rp.cell_color(buckets.counts(index), private, touched)
            assert QColor.fromRgba(int(argb[index])) == expected, (known, index)


def test_unchanged_refreshes_and_small_scrolls_paint_nothing(
    panel: ResidencyPanel,  # noqa: F811
    disk_dir: Path,  # noqa: F811
    qtbot,
) -> None:
    path = disk_dir / "idle.bin"
    path.write_bytes(bytes(256 * PAGE))
    make_resident(path, [0, 1, 2, 100])
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_paused(True)  # only the refreshes this test asks for
    document = Document.open(str(path))
    try:
        panel.set_document(document)
        panel.set_visible_range(0, 100)
        settle(panel)
        panel.refresh_now()
        settle(panel)
        QApplication.processEvents()
        first = panel.snapshot
        painted = (panel.overview.paints, panel.detail.paints)
        for _ in range(3):
            panel.refresh_now()
            settle(panel)
            QApplication.processEvents()
        assert panel.snapshot is not first  # measured again ...
        assert (panel.overview.paints, panel.detail.paints) == painted  # ... and nothing drawn
        panel.set_visible_range(16, 116)  # the same page: the same framed cells
        QApplication.processEvents()
        assert (panel.overview.paints, panel.detail.paints) == painted
        panel.set_visible_range(5 * PAGE, 5 * PAGE + 100)  # another cell: the detail frame moves
        QApplication.processEvents()
        assert panel.detail.paints > painted[1]
        # A change to the file is measured and drawn.
        make_resident(path, [0, 1, 2, 100, 200, 201])
        panel.refresh_now()
        settle(panel)
        assert panel.snapshot.totals.resident == 6
        assert panel.snapshot.overview is not first.overview
    finally:
        panel.set_document(None)
        document.close()


def test_refreshing_stops_while_the_window_is_minimised(qtbot, window, random_file) -> None:
    install_features(window)
    residency = window.findChild(ResidencyPanel)
    try:
        window.open_path(str(random_file))
        QApplication.processEvents()
        assert residency.isVisible() and residency.timer.isActive()
        window.showMinimized()
        qtbot.waitUntil(lambda: not residency.timer.isActive(), timeout=2000)
        window.showNormal()
        qtbot.waitUntil(residency.timer.isActive, timeout=2000)
        docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
        docks["Residency"].hide()
        assert not residency.timer.isActive()
    finally:
        residency.shutdown()


def test_compact_form_is_one_strip_and_one_line(qtbot, window, random_file) -> None:
    install_features(window)
    residency = window.findChild(ResidencyPanel)
    try:
        window.open_path(str(random_file))
        item = window.action_builder.actions["view.residency_compact"]
        assert item.isCheckable() and not item.isChecked()
        full_height = residency.minimumSizeHint().height()
        docks = {dock.windowTitle(): dock for dock in window.findChildren(QDockWidget)}
        tall = docks["Residency"].height()
        item.trigger()
        QApplication.processEvents()
        assert residency.compact and item.isChecked()
        assert residency.overview.isVisible() and residency.totals_label.isVisible()
        for hidden in (residency.detail, residency.controls, residency.legend, residency.info_box):
            assert not hidden.isVisible()
        assert (
            residency.overview.height() == residency.overview.pitch + 2 * residency.overview.MARGIN
        )
        assert residency.snapshot_request()["detail"] is None
        assert docks["Residency"].height() < tall  # the room goes to the other docks
        settle(residency)
        assert residency.snapshot is not None and residency.snapshot.detail is None
        content = residency.scroll.widget().minimumSizeHint().height()
        assert content <= 4 * residency.fontMetrics().height(), content
        assert content < full_height or full_height < 100
        item.trigger()
        QApplication.processEvents()
        assert (
            not residency.compact
            and residency.detail.isVisible()
            and residency.controls.isVisible()
        )
    finally:
        residency.shutdown()


def test_the_panel_never_holds_a_large_minimum_size(panel: ResidencyPanel) -> None:  # noqa: F811
    panel.show_snapshot(fake_snapshot([1, 0] * 300))
    minimum = panel.minimumSizeHint()
    assert minimum.height() <= 120 and minimum.width() <= 120, minimum


def test_controls_stay_put_when_messages_appear(panel: ResidencyPanel, qtbot) -> None:  # noqa: F811
    panel.resize(360, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_snapshot(fake_snapshot([1, 0, 1] * 50))
    QApplication.processEvents()
    controls = (
        panel.touch_button,
        panel.evict_button,
        panel.unlock_button,
        panel.pause_button,
        panel.interval_box,
    )

    def places() -> list[QPoint]:
        for _ in range(5):  # layout requests post further layout requests
            QApplication.processEvents()
        return [widget.mapTo(panel, QPoint(0, 0)) for widget in controls]

    before = places()
    panel._set_acting(True, "touch")  # shows Cancel
    panel.action_label.setText("Touch refused: " + "the kernel says no, for a long reason. " * 6)
    panel.status_label.setText("mincore, 1234.5 ms, and a long status line that goes on " * 3)
    panel.show_snapshot(fake_snapshot(None, touched=[0, 1] * 40))  # the unknown-residency note
    assert panel.unknown_label.isVisible() and panel.cancel_button.isVisible()
    assert places() == before

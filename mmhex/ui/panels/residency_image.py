"""A residency map as one image: every cell's colour computed at once (numpy), drawn with one call.

The panel used to fill every cell with its own ``fillRect`` on every paint (574k calls over 500
scroll steps, a one-row scroll 3.2x slower with the panel shown). Now a snapshot's buckets become
an ARGB32 array once, and a paint only draws that image and the view's frame. The colours are
exactly ``residency_panel.cell_color``'s (same float arithmetic, same round-half-even), which the
tests check pixel by pixel. numpy is imported on first use, off the start-up path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QColor, QImage

if TYPE_CHECKING:
    from mmhex.core.residency import Buckets

OPAQUE = 0xFF000000


def _rgb(color: QColor) -> tuple[int, int, int]:
    return color.red(), color.green(), color.blue()


def cell_argb(buckets: Buckets, palette: dict[str, QColor]) -> Any:
    """One 0xAARRGGBB value per bucket (numpy uint32), by the rules of ``cell_color``.

    Priority, lowest first so that later rules overwrite: resident shade, dirty, writeback;
    unknown grey (blue for pages this process holds); private copies over everything.
    """
    import numpy as np

    count = len(buckets)
    layout = buckets.layout
    pages = np.full(count, layout.bucket_pages, dtype=np.float64)
    if count:
        pages[-1] = layout.page_count(count - 1)
    pages = np.maximum(pages, 1.0)
    channels = np.empty((count, 3), dtype=np.float64)

    def values(name: str) -> Any:
        column = getattr(buckets, name)
        if column is None:
            return None
        return np.asarray(column, dtype=np.float64)

    def paint(mask: Any, low: QColor, high: QColor, base: float, scale: float, share: Any) -> None:
        if not mask.any():
            return
        amount = np.clip(base + scale * share[mask] / pages[mask], 0.0, 1.0)
        lows, highs = np.array(_rgb(low), dtype=np.float64), np.array(_rgb(high), np.float64)
        channels[mask] = lows + (highs - lows) * amount[:, None]

    not_resident = palette["not_resident"]
    resident = values("resident")
    if resident is None:
        channels[:] = _rgb(palette["unknown"])
        touched = values("touched")
        if touched is not None:
            paint(touched > 0, palette["unknown"], palette["resident"], 0.45, 0.55, touched)
    else:
        channels[:] = _rgb(not_resident)
        paint(resident > 0, not_resident, palette["resident"], 0.3, 0.7, resident)
        for name in ("dirty", "writeback"):
            column = values(name)
            if column is not None:
                paint(column > 0, not_resident, palette[name], 0.45, 0.55, column)
    private = values("private")
    if private is not None:
        paint(private > 0, not_resident, palette["private"], 0.45, 0.55, private)
    # Round half to even, as Python's round() in QColor mixing does.
    rgb = np.rint(channels).astype(np.uint32)
    return OPAQUE | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]


def grid_image(
    argb: Any, recent: Any, columns: int, cell: int, stripe_color: QColor
) -> tuple[QImage, Any]:
    """The cells laid out ``columns`` to a row, ``cell`` px squares one px apart (transparent).

    ``recent`` (bool per cell, or None) adds a stripe along the lower edge. Returns the image and
    the array that owns its pixels (keep both alive together).
    """
    import numpy as np

    count = len(argb)
    pitch = cell + 1
    rows = max(1, -(-count // columns))
    padded = np.zeros(rows * columns, dtype=np.uint32)
    padded[:count] = argb
    grid = padded.reshape(rows, columns)
    pixels = np.zeros((rows, pitch, columns, pitch), dtype=np.uint32)
    pixels[:, :cell, :, :cell] = grid[:, None, :, None]
    if recent is not None and count:
        marks = np.zeros(rows * columns, dtype=bool)
        marks[:count] = np.asarray(recent, dtype=bool)
        stripe = max(1, cell // 4)
        color = np.uint32(OPAQUE | (stripe_color.rgb() & 0xFFFFFF))
        lower = np.where(marks.reshape(rows, columns), color, grid)
        pixels[:, cell - stripe : cell, :, :cell] = lower[:, None, :, None]
    pixels = np.ascontiguousarray(pixels.reshape(rows * pitch, columns * pitch))
    height, width = pixels.shape
    image = QImage(pixels.data, width, height, width * 4, QImage.Format.Format_ARGB32_Premultiplied)
    return image, pixels

"""ScrollLink: the shared scroll controller of two HexViews showing the same bytes of two files.

While linked, the first row, the cursor and the selection of one view follow the other's,
through an offset mapping (the resynchronization shift); unlinked, each view scrolls alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, Signal

from mmhex.ui.hex_view import HexView

OffsetMap = Callable[[int], int]


class ScrollLink(QObject):
    """Keeps ``view_b`` on the bytes beside ``view_a`` (and the other way round) while linked."""

    linked_changed = Signal(bool)

    def __init__(
        self,
        view_a: HexView,
        view_b: HexView,
        a_to_b: OffsetMap,
        b_to_a: OffsetMap,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view_a, self.view_b = view_a, view_b
        self._maps = {id(view_a): (view_b, a_to_b), id(view_b): (view_a, b_to_a)}
        self._linked = True
        self._busy = False
        for view in (view_a, view_b):
            view.top_row_changed.connect(lambda _row, v=view: self._follow_top(v))
            view.selection_changed.connect(lambda *_range, v=view: self._follow_cursor(v))
            view.cursor_moved.connect(lambda _offset, v=view: self._follow_cursor(v))

    @property
    def linked(self) -> bool:
        return self._linked

    def set_linked(self, linked: bool) -> None:
        """Link (the second view jumps beside the first) or unlink the two views."""
        if linked == self._linked:
            return
        self._linked = linked
        if linked:
            self.align(self.view_a)
        self.linked_changed.emit(linked)

    def toggle(self) -> None:
        self.set_linked(not self._linked)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Move both views by hand (Next Difference) without one echoing into the other."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    def align(self, source: HexView) -> None:
        """Put the other view's first row beside ``source``'s."""
        with self.paused():
            other, mapping = self._maps[id(source)]
            first = source.top_row * source.bytes_per_row
            other.set_top_row(mapping(first) // other.bytes_per_row)

    def _follow_top(self, source: HexView) -> None:
        if self._linked and not self._busy:
            self.align(source)

    def _follow_cursor(self, source: HexView) -> None:
        if not self._linked or self._busy:
            return
        other, mapping = self._maps[id(source)]
        start, end = source.selection
        with self.paused():
            if start == end:
                other.set_cursor(mapping(source.cursor_offset), visible=False)
            else:
                other.select(mapping(start), mapping(end - 1) + 1)
        self.align(source)

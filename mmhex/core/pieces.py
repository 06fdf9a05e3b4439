"""PieceTable: the document as a sequence of (source, start, length) pieces, edited in O(log n).

A piece says "``length`` bytes of source ``source`` from ``start``". Sources are small integers:
``ORIGINAL`` (the file), ``ADD`` (the append-only add-buffer) and, from ``FIRST_FILL`` on, one
id per fill pattern (``start`` is then the phase into the endlessly repeated pattern, so a fill
stores nothing and splits by arithmetic). The table never reads bytes itself: it only answers
"which source bytes make up document range [a, b)", so it is tested against a list model alone.

Structure: pieces live in blocks of at most ``2 * BLOCK`` entries (parallel ``array('q')``
columns, 8 bytes per field); a Fenwick tree over the blocks' byte totals finds the block holding
an offset in O(log blocks), and the piece inside it by a C-speed prefix sum over at most
``2 * BLOCK`` lengths. Splitting a full block rebuilds the Fenwick tree (O(blocks), once per
``BLOCK`` inserts), so an edit costs O(log n + BLOCK) with a constant block size.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Iterator
from typing import NamedTuple

ORIGINAL = 0
ADD = 1
FIRST_FILL = 2

BLOCK = 128


class Piece(NamedTuple):
    """``length`` bytes of ``source`` from ``start`` (a fill's ``start`` is its phase)."""

    source: int
    start: int
    length: int


class _Block:
    __slots__ = ("length", "src", "start", "total")

    def __init__(self) -> None:
        self.src = array("q")
        self.start = array("q")
        self.length = array("q")
        self.total = 0

    def __len__(self) -> int:
        return len(self.length)

    def piece(self, index: int) -> Piece:
        return Piece(self.src[index], self.start[index], self.length[index])

    def find(self, within: int) -> tuple[int, int]:
        """(index, offset inside that piece) of byte ``within`` of this block."""
        ends = list(itertools.accumulate(self.length))
        index = bisect.bisect_right(ends, within)
        return index, within - (ends[index - 1] if index else 0)


class PieceTable:
    """Pieces over sources; every method's offsets are document offsets (0 ≤ offset ≤ size).

    ``fill_periods[source]`` gives the pattern length of each fill source, so that a fill piece
    split in two keeps its phase and two fill pieces continuing one another merge.
    """

    def __init__(self, pieces: list[Piece] | None = None, *, block: int = BLOCK) -> None:
        self.block = block
        self.fill_periods: dict[int, int] = {}
        self._blocks: list[_Block] = [_Block()]
        self._tree: list[int] = [0, 0]
        self._size = 0
        self._count = 0
        if pieces:
            self._load(pieces)

    def _load(self, pieces: list[Piece]) -> None:
        self._blocks = []
        for at in range(0, len(pieces), self.block):
            block = _Block()
            for piece in pieces[at : at + self.block]:
                if piece.length > 0:
                    self._append(block, piece)
            if len(block):
                self._blocks.append(block)
        if not self._blocks:
            self._blocks = [_Block()]
        self._count = sum(len(b) for b in self._blocks)
        self._rebuild()

    @staticmethod
    def _append(block: _Block, piece: Piece) -> None:
        block.src.append(piece.source)
        block.start.append(piece.start)
        block.length.append(piece.length)
        block.total += piece.length

    # ----------------------------------------------------------------- Fenwick tree over blocks
    def _rebuild(self) -> None:
        # tree[i] holds the blocks (i - lowbit(i), i]: a difference of two prefix sums.
        prefix = [0, *itertools.accumulate(b.total for b in self._blocks)]
        self._tree = [0] + [prefix[i] - prefix[i & (i - 1)] for i in range(1, len(prefix))]
        self._size = prefix[-1]

    def _add(self, block_index: int, delta: int) -> None:
        self._size += delta
        i = block_index + 1
        tree = self._tree
        n = len(tree) - 1
        while i <= n:
            tree[i] += delta
            i += i & -i

    def _block_of(self, offset: int) -> tuple[int, int]:
        """(block index, offset inside it) of byte ``offset`` < size (Fenwick descent)."""
        tree = self._tree
        n = len(tree) - 1
        pos = 0
        step = 1 << n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] <= offset:
                pos = nxt
                offset -= tree[nxt]
            step >>= 1
        return pos, offset

    # ----------------------------------------------------------------- queries
    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        """Number of pieces."""
        return self._count

    def pieces(self) -> list[Piece]:
        """Every piece in order (O(n): for tests, saving and small documents)."""
        return [b.piece(i) for b in self._blocks for i in range(len(b))]

    def columns(self) -> tuple[array, array, array]:
        """Every piece's source, start and length as three arrays (C-speed copies of the
        blocks: for whole-document walks over 10^5 pieces, such as the overview bar's)."""
        src, start, length = array("q"), array("q"), array("q")
        for block in self._blocks:
            src.extend(block.src)
            start.extend(block.start)
            length.extend(block.length)
        return src, start, length

    def pieces_if_few(self, limit: int = 1) -> list[Piece] | None:
        """Every piece when there are at most ``limit`` (an O(1) "is this the whole file?")."""
        return self.pieces() if self._count <= limit else None

    def locate(self, offset: int) -> tuple[Piece, int, int]:
        """(piece holding byte ``offset``, document offset where the piece starts, ...)."""
        if not 0 <= offset < self.size:
            raise IndexError(f"offset {offset} outside the document (size {self.size})")
        b, within = self._block_of(offset)
        block = self._blocks[b]
        i, inside = block.find(within)
        return block.piece(i), offset - inside, inside

    def iter_range(self, start: int, end: int) -> Iterator[tuple[int, Piece]]:
        """``(document offset, piece clipped to [start, end))`` in order."""
        end = min(end, self.size)
        if start >= end:
            return
        b, within = self._block_of(start)
        i, inside = self._blocks[b].find(within)
        pos = start
        while pos < end:
            block = self._blocks[b]
            src, starts, lengths = block.src, block.start, block.length
            while i < len(lengths) and pos < end:
                take = min(lengths[i] - inside, end - pos)
                yield pos, self._shifted(Piece(src[i], starts[i], take), inside)
                pos += take
                inside = 0
                i += 1
            b += 1
            i = 0

    def _shifted(self, piece: Piece, by: int) -> Piece:
        """``piece`` starting ``by`` bytes later in its source (fills wrap their phase)."""
        if not by:
            return piece
        start = piece.start + by
        period = self.fill_periods.get(piece.source)
        if period:
            start %= period
        return Piece(piece.source, start, piece.length)

    def _continues(self, left: Piece, right: Piece) -> bool:
        if left.source != right.source:
            return False
        period = self.fill_periods.get(left.source)
        if period:
            return (left.start + left.length - right.start) % period == 0
        return left.start + left.length == right.start

    # ----------------------------------------------------------------- edits
    def splice(
        self, offset: int, remove: int, insert: list[Piece] | tuple[Piece, ...] = ()
    ) -> list[Piece]:
        """Replace ``remove`` bytes at ``offset`` by ``insert``; returns the removed pieces.

        The removed pieces, spliced back with ``splice(offset, total of insert, removed)``,
        restore the document: that is how edits invert themselves.
        """
        size = self.size
        if offset < 0 or remove < 0 or offset + remove > size:
            raise IndexError(f"splice [{offset}, {offset + remove}) outside size {size}")
        insert = [p for p in insert if p.length > 0]
        b, i = self._boundary(offset)
        removed = self._remove_at(b, i, remove) if remove else []
        if insert:
            b, i = self._boundary(offset)
            self._insert_at(b, i, insert)
        self._merge_around(offset)
        end = offset + sum(p.length for p in insert)
        if end != offset:
            self._merge_around(end)
        return removed

    def _boundary(self, offset: int) -> tuple[int, int]:
        """(block, index) of the piece starting exactly at ``offset``, splitting one if needed.

        At the end of the document: one past the last piece of the last block.
        """
        if offset >= self.size:
            b = len(self._blocks) - 1
            return b, len(self._blocks[b])
        b, within = self._block_of(offset)
        block = self._blocks[b]
        i, inside = block.find(within)
        if inside:
            piece = block.piece(i)
            tail = self._shifted(Piece(piece.source, piece.start, piece.length - inside), inside)
            block.length[i] = inside
            block.src.insert(i + 1, tail.source)
            block.start.insert(i + 1, tail.start)
            block.length.insert(i + 1, tail.length)
            self._count += 1
            i += 1
            if len(block) > 2 * self.block:
                b, i = self._split_block(b, i)
        return b, i

    def _split_block(self, b: int, i: int) -> tuple[int, int]:
        """Halve block ``b``; returns where position ``(b, i)`` went."""
        block = self._blocks[b]
        half = len(block) // 2
        right = _Block()
        right.src = block.src[half:]
        right.start = block.start[half:]
        right.length = block.length[half:]
        del block.src[half:], block.start[half:], block.length[half:]
        right.total = sum(right.length)
        block.total -= right.total
        self._blocks.insert(b + 1, right)
        self._rebuild()
        return (b, i) if i < half else (b + 1, i - half)

    def _remove_at(self, b: int, i: int, remove: int) -> list[Piece]:
        removed: list[Piece] = []
        changed_structure = False
        while remove:
            block = self._blocks[b]
            if i >= len(block):
                b, i = b + 1, 0
                continue
            ends = list(itertools.accumulate(block.length[i:]))
            whole = bisect.bisect_right(ends, remove)  # pieces removed entirely
            taken = ends[whole - 1] if whole else 0
            removed.extend(
                Piece(s, st, ln)
                for s, st, ln in zip(
                    block.src[i : i + whole],
                    block.start[i : i + whole],
                    block.length[i : i + whole],
                    strict=False,
                )
            )
            del block.src[i : i + whole], block.start[i : i + whole], block.length[i : i + whole]
            self._count -= whole
            remove -= taken
            delta = -taken
            if remove and i < len(block):
                # The last piece loses its head.
                piece = block.piece(i)
                removed.append(Piece(piece.source, piece.start, remove))
                rest = self._shifted(
                    Piece(piece.source, piece.start, piece.length - remove), remove
                )
                block.start[i] = rest.start
                block.length[i] = rest.length
                delta -= remove
                remove = 0
            block.total += delta
            if not len(block) and len(self._blocks) > 1:
                del self._blocks[b]
                changed_structure = True
            else:
                if not changed_structure:
                    self._add(b, delta)
                b, i = b + 1, 0
        if changed_structure:
            self._rebuild()
        return removed

    def _insert_at(self, b: int, i: int, insert: list[Piece]) -> None:
        block = self._blocks[b]
        block.src[i:i] = array("q", (p.source for p in insert))
        block.start[i:i] = array("q", (p.start for p in insert))
        block.length[i:i] = array("q", (p.length for p in insert))
        added = sum(p.length for p in insert)
        block.total += added
        self._count += len(insert)
        if len(block) > 2 * self.block:
            # Re-cut the overfull block into BLOCK-sized ones (a big paste of many pieces).
            pieces = [block.piece(k) for k in range(len(block))]
            new_blocks = []
            for at in range(0, len(pieces), self.block):
                nb = _Block()
                for piece in pieces[at : at + self.block]:
                    self._append(nb, piece)
                new_blocks.append(nb)
            self._blocks[b : b + 1] = new_blocks
            self._rebuild()
        else:
            self._add(b, added)

    def _merge_around(self, offset: int) -> None:
        """Join the pieces that meet at ``offset`` if the right one continues the left one."""
        if offset <= 0 or offset >= self.size:
            return
        b, i = self._boundary(offset)
        if i == 0:
            lb = b - 1
            while lb >= 0 and not len(self._blocks[lb]):
                lb -= 1
            if lb < 0:
                return
            li = len(self._blocks[lb]) - 1
        else:
            lb, li = b, i - 1
        left_block, right_block = self._blocks[lb], self._blocks[b]
        left, right = left_block.piece(li), right_block.piece(i)
        if not self._continues(left, right):
            return
        left_block.length[li] += right.length
        left_block.total += right.length
        del right_block.src[i], right_block.start[i], right_block.length[i]
        right_block.total -= right.length
        self._count -= 1
        if lb != b:
            if not len(right_block) and len(self._blocks) > 1:
                del self._blocks[b]
                self._rebuild()
            else:
                self._add(lb, right.length)
                self._add(b, -right.length)

"""Bookmarks: named, coloured byte ranges of one file, kept across sessions.

Each file's bookmarks live in one small JSON file under ``$XDG_DATA_HOME/mmhex/bookmarks/``,
named by a hash of the file's absolute path. The file's identity (device, inode) is stored with
them: when the path now names another file (it was replaced), the bookmarks are still offered but
``identity_changed`` says so, because offsets may no longer mean the same bytes.
Writes are atomic (temporary file + rename), so a crash never leaves half a list.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmhex.core.errors import MmhexError

# Distinct, readable on light and dark backgrounds; new bookmarks take the next one.
PALETTE = ("#f4a261", "#2a9d8f", "#e9c46a", "#8ecae6", "#e76f51", "#b5838d", "#90be6d", "#c77dff")
FORMAT_VERSION = 1
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")


class BookmarkError(MmhexError, ValueError):
    """A bookmark cannot be made as asked; ``str`` says why."""


@dataclass(frozen=True, order=True)
class Bookmark:
    start: int
    end: int  # exclusive; end > start
    name: str = field(compare=False)
    color: str = field(compare=False)

    @property
    def length(self) -> int:
        return self.end - self.start


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return Path(base) / "mmhex" / "bookmarks"


def store_path(file_path: str, directory: Path | None = None) -> Path:
    """Where the bookmarks of ``file_path`` are kept (one JSON file per absolute path)."""
    key = hashlib.sha256(os.path.abspath(file_path).encode("utf-8", "surrogateescape")).hexdigest()
    return (directory or data_dir()) / f"{key[:32]}.json"


class BookmarkList:
    """The bookmarks of one file, sorted by start; ``save()`` persists them."""

    def __init__(self, file_path: str, *, directory: Path | None = None) -> None:
        self.file_path = os.path.abspath(file_path)
        self.path = store_path(self.file_path, directory)
        self.items: list[Bookmark] = []
        self.identity_changed = False
        self.load_problem: str | None = None  # a sentence if the saved list could not be read
        # Bookmarks whose bytes were deleted, by (offset, length) of the deletion, newest last.
        self._graveyard: dict[tuple[int, int], list[list[tuple[int, int, str, str]]]] = {}

    # ----------------------------------------------------------------- persistence
    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.file_path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def load(self) -> BookmarkList:
        """Read the saved list (none saved is not an error); returns self."""
        self.items = []
        self.identity_changed = False
        self.load_problem = None
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            items = [
                Bookmark(int(b["start"]), int(b["end"]), str(b["name"]), str(b["color"]))
                for b in raw["bookmarks"]
            ]
        except FileNotFoundError:
            return self
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.load_problem = (
                f"The saved bookmarks of this file could not be read ({exc.__class__.__name__}); "
                "starting with none."
            )
            return self
        self.items = sorted(b for b in items if 0 <= b.start < b.end)
        saved_identity = raw.get("identity")
        current = self._identity()
        self.identity_changed = bool(
            saved_identity and current and tuple(saved_identity) != tuple(current)
        )
        return self

    def save(self) -> None:
        """Write atomically; an empty list removes the file."""
        if not self.items:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "version": FORMAT_VERSION,
            "file": self.file_path,
            "identity": self._identity(),
            "bookmarks": [asdict(b) for b in self.items],
        }
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".bookmarks-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self.identity_changed = False

    # ----------------------------------------------------------------- editing
    def add(self, start: int, end: int, name: str = "", color: str | None = None) -> Bookmark:
        if end <= start or start < 0:
            raise BookmarkError("A bookmark needs at least one byte (select a range first).")
        color = color or PALETTE[len(self.items) % len(PALETTE)]
        _check_color(color)
        bookmark = Bookmark(start, end, name.strip() or f"Bookmark at {start:#x}", color)
        bisect.insort(self.items, bookmark)
        return bookmark

    def remove(self, bookmark: Bookmark) -> None:
        self.items.remove(bookmark)

    def update(
        self, bookmark: Bookmark, *, name: str | None = None, color: str | None = None
    ) -> Bookmark:
        if color is not None:
            _check_color(color)
        changed = Bookmark(
            bookmark.start,
            bookmark.end,
            bookmark.name if name is None else (name.strip() or bookmark.name),
            bookmark.color if color is None else color,
        )
        self.items[self.items.index(bookmark)] = changed
        return changed

    def clear(self) -> None:
        self.items.clear()

    def apply_splice(self, offset: int, removed: int, inserted: int) -> bool:
        """Move the bookmarks with their bytes after ``removed`` bytes at ``offset`` became
        ``inserted`` ones; True if any changed.

        A bookmark keeps the bytes that survive (one spanning an insert grows with it); one
        whose bytes are all deleted goes away, and comes back when the same number of bytes
        is put back at the same offset (that is what Undo does).
        """
        delta = inserted - removed
        cut_end = offset + removed
        kept: list[Bookmark] = []
        gone: list[tuple[int, int, str, str]] = []
        changed = False
        for b in self.items:
            start = (
                b.start
                if b.start < offset
                else (b.start + delta if b.start >= cut_end else offset + inserted)
            )
            end = b.end if b.end <= offset else (b.end + delta if b.end > cut_end else offset)
            if removed and end <= start:
                gone.append((b.start - offset, b.end - offset, b.name, b.color))
                changed = True
                continue
            if (start, end) != (b.start, b.end):
                changed = True
                b = Bookmark(start, end, b.name, b.color)
            kept.append(b)
        restored = self._graveyard.get((offset, inserted)) if inserted else None
        if restored:
            for rel_start, rel_end, name, color in restored.pop():
                kept.append(Bookmark(offset + rel_start, offset + rel_end, name, color))
            changed = True
            if not restored:
                del self._graveyard[(offset, inserted)]
        if gone:
            self._graveyard.setdefault((offset, removed), []).append(gone)
        if changed:
            self.items = sorted(kept)
        return changed

    # ----------------------------------------------------------------- navigation
    def next_after(self, offset: int, *, wrap: bool = True) -> Bookmark | None:
        """The first bookmark starting after ``offset`` (or the first of all, wrapping)."""
        index = bisect.bisect_right([b.start for b in self.items], offset)
        if index < len(self.items):
            return self.items[index]
        return self.items[0] if wrap and self.items else None

    def previous_before(self, offset: int, *, wrap: bool = True) -> Bookmark | None:
        """The last bookmark starting before ``offset`` (or the last of all, wrapping)."""
        index = bisect.bisect_left([b.start for b in self.items], offset)
        if index > 0:
            return self.items[index - 1]
        return self.items[-1] if wrap and self.items else None

    def covering(self, start: int, end: int) -> list[Bookmark]:
        """Bookmarks overlapping ``[start, end)`` (for painting a visible range)."""
        return [b for b in self.items if b.start < end and b.end > start]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)


def _check_color(color: str) -> None:
    if not _COLOR.fullmatch(color):
        raise BookmarkError(f"{color!r} is not a colour; use #RRGGBB.")

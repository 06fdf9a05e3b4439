"""Bookmarks: persistence per file (a real JSON file in a temporary XDG dir), identity, order,
next/previous against a sorted reference list, bad input."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.bookmarks import PALETTE, BookmarkError, BookmarkList, data_dir, store_path


@pytest.fixture
def target(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(1000))
    return str(path)


def test_round_trip_across_sessions(target, tmp_path):
    marks = BookmarkList(target).load()
    assert len(marks) == 0 and marks.load_problem is None
    a = marks.add(100, 110, "header", "#112233")
    b = marks.add(5, 6)
    marks.save()
    assert marks.path.parent == tmp_path / "xdg" / "mmhex" / "bookmarks" == data_dir()
    again = BookmarkList(target).load()
    assert again.items == [b, a] and [x.name for x in again] == ["Bookmark at 0x5", "header"]
    assert [x.color for x in again] == [PALETTE[1], "#112233"]
    assert not again.identity_changed
    saved = json.loads(again.path.read_text())
    assert saved["file"] == target and saved["version"] == 1


def test_files_do_not_share_bookmarks(target, tmp_path):
    other = tmp_path / "other.bin"
    other.write_bytes(b"x")
    marks = BookmarkList(target)
    marks.add(1, 2, "mine")
    marks.save()
    assert len(BookmarkList(str(other)).load()) == 0
    assert store_path(target) != store_path(str(other))


def test_replaced_file_is_flagged(target):
    marks = BookmarkList(target)
    marks.add(1, 2, "x")
    marks.save()
    replacement = target + ".new"
    with open(replacement, "wb") as f:
        f.write(b"new contents")
    os.replace(replacement, target)  # same path, another inode
    again = BookmarkList(target).load()
    assert again.identity_changed and len(again) == 1


def test_corrupt_store_is_a_sentence_not_a_crash(target):
    marks = BookmarkList(target)
    marks.path.parent.mkdir(parents=True)
    marks.path.write_text("{not json")
    marks.load()
    assert len(marks) == 0 and marks.load_problem.startswith("The saved bookmarks")


def test_update_remove_and_empty_save_removes_the_store(target):
    marks = BookmarkList(target)
    mark = marks.add(10, 20, "a")
    renamed = marks.update(mark, name="b", color="#abcdef")
    assert marks.items == [renamed] and renamed.name == "b" and renamed.color == "#abcdef"
    marks.save()
    assert marks.path.exists()
    marks.remove(renamed)
    marks.save()
    assert not marks.path.exists()


@pytest.mark.parametrize(
    ("start", "end", "color", "words"),
    [
        (5, 5, None, "at least one byte"),
        (-1, 3, None, "at least one byte"),
        (1, 2, "red", "colour"),
    ],
)
def test_bad_bookmarks(target, start, end, color, words):
    with pytest.raises(BookmarkError, match=words):
        BookmarkList(target).add(start, end, "n", color)


@given(starts=st.lists(st.integers(0, 50), max_size=12), probe=st.integers(-1, 52))
def test_next_and_previous_against_a_sorted_list(starts, probe):
    marks = BookmarkList("/nonexistent/for-navigation-only")
    for s in starts:
        marks.add(s, s + 1)
    ordered = sorted(starts)
    after = [s for s in ordered if s > probe]
    before = [s for s in ordered if s < probe]
    nxt = marks.next_after(probe)
    prev = marks.previous_before(probe)
    assert (nxt.start if nxt else None) == (
        after[0] if after else (ordered[0] if ordered else None)
    )
    assert (prev.start if prev else None) == (
        before[-1] if before else (ordered[-1] if ordered else None)
    )
    assert marks.next_after(probe, wrap=False) == (nxt if after else None)
    assert [b.start for b in marks.covering(probe, probe + 3)] == [
        s for s in ordered if probe - 1 <= s < probe + 3 and s + 1 > probe
    ]


def test_bookmarks_move_with_their_bytes_and_come_back_on_undo(tmp_path) -> None:
    from mmhex.core.bookmarks import BookmarkList

    marks = BookmarkList(str(tmp_path / "f.bin"), directory=tmp_path)
    before = marks.add(0, 4, "head")
    spanning = marks.add(8, 20, "span")
    inside = marks.add(30, 34, "inside")
    after = marks.add(50, 60, "tail")
    assert marks.apply_splice(10, 0, 5)  # insert 5 at 10: span grows, later ones shift
    assert [(b.start, b.end) for b in marks] == [(0, 4), (8, 25), (35, 39), (55, 65)]
    assert marks.apply_splice(33, 10, 0)  # delete [33, 43): "inside" goes, tail shifts
    assert [b.name for b in marks] == ["head", "span", "tail"]
    assert [(b.start, b.end) for b in marks] == [(0, 4), (8, 25), (45, 55)]
    assert marks.apply_splice(33, 0, 10)  # undo of the delete brings it back
    assert [(b.name, b.start, b.end) for b in marks] == [
        ("head", 0, 4),
        ("span", 8, 25),
        ("inside", 35, 39),
        ("tail", 55, 65),
    ]
    assert marks.apply_splice(10, 5, 0)  # undo of the insert
    assert [(b.start, b.end) for b in marks] == [
        (before.start, before.end),
        (spanning.start, spanning.end),
        (inside.start, inside.end),
        (after.start, after.end),
    ]
    assert not marks.apply_splice(100, 3, 0)  # past every bookmark: nothing moves
    assert marks.apply_splice(2, 10, 0)  # cuts the end of "head", the start of "span"
    assert [(b.start, b.end) for b in marks][:2] == [(0, 2), (2, 10)]

"""A regex search of an edited file shares one lease across its pieces, and gives it up.

After scattered inserts a file is thousands of short pieces; taking a lease (two fcntl calls, a
size check and a view of the window) for each made a regex count after 1,000 inserts 1.5-1.7x
the unedited one. The regex scan now holds one lease per window for HOLD_SECONDS, as the literal
scan does, also across the ``re`` confirmations (they run on private copies). Checked without
timing: how many leases a count takes, that a paused search holds none, and that a runaway
regex stopped by the time limit leaves no lease behind.
"""

from __future__ import annotations

import re

import pytest

from mmhex.core import scan
from mmhex.core.document import Document
from mmhex.core.search import (
    PatternKind,
    RegexTimeLimitError,
    SearchOptions,
    SearchPattern,
    count_matches,
    find_all,
    iter_matches,
)
from tests.core.test_piece_scan import _writer_would_wait

PAGE = 4096
WINDOW = 64 * PAGE  # the runaway test: several windows
SIZE = 32 << 20  # pieces of ~320 KiB: longer than the look-around, so viewed in place
INSERTS = 100
REGEX = rb"needle-[A-Z]{3}-[0-9]+"


@pytest.fixture
def edited(tmp_path):
    """A needle every 3 pages of 32 MiB in one window, and INSERTS scattered one-byte inserts.

    (One window: a regex with ``+`` may match up to --max-match bytes, so near a window's end
    its pieces are copied, not viewed under a lease.)"""
    unit = b"needle-ABC-123" + bytes(3 * PAGE - 14)
    path = tmp_path / "needles.bin"
    path.write_bytes(unit * (SIZE // len(unit)))
    document = Document.open(str(path))
    document.enable_editing()
    step = document.size // INSERTS
    for k in range(INSERTS):
        document.insert(k * step + 7 + k, b"\x00")
    yield document
    document.close()


def _leases_taken(monkeypatch) -> list[int]:
    taken: list[int] = []
    original = scan.SafeReader._take_lease

    def spy(self):
        granted = original(self)
        taken.append(granted)
        return granted

    monkeypatch.setattr(scan.SafeReader, "_take_lease", spy)
    return taken


@pytest.mark.parametrize("accelerated", [True, False], ids=["accelerated", "pure"])
def test_a_regex_count_takes_a_lease_per_window_not_per_piece(edited, monkeypatch, accelerated):
    pieces = len(edited.pieces_in(0, edited.size))
    assert pieces > 2 * INSERTS
    taken = _leases_taken(monkeypatch)
    options = SearchOptions(accelerated=accelerated)
    got = count_matches(edited, SearchPattern(PatternKind.REGEX, REGEX), options=options)
    want = len(re.findall(REGEX, edited.read(0, edited.size)))
    assert got == want > 50
    if taken and not any(taken):
        pytest.skip("no read leases here (not the owner, or leases disabled)")
    # A hold lasts HOLD_SECONDS: a slow (busy) machine may need a few more, never one a piece.
    assert len(taken) < pieces // 4, f"{len(taken)} leases for {pieces} pieces"
    assert not _writer_would_wait(edited.path)


def test_a_paused_regex_search_holds_no_lease(edited):
    matches = iter_matches(edited, SearchPattern(PatternKind.REGEX, REGEX))
    first = next(matches)
    assert not _writer_would_wait(edited.path)
    want = [m.start() for m in re.finditer(REGEX, edited.read(0, edited.size))]
    assert [first.start] + [m.start for m in matches] == want


@pytest.mark.parametrize("how", ["count", "find_all"])
def test_a_runaway_regex_in_an_edited_file_stops_and_leaves_no_lease(tmp_path, how):
    path = tmp_path / "runaway.bin"
    path.write_bytes(b"x" * 5000 + b"a" * 40 + b"X" + b"y" * (3 * WINDOW))
    document = Document.open(str(path), window_size=WINDOW)
    try:
        document.enable_editing()
        for k in range(50):  # short pieces before and after the runaway place
            document.insert(k * PAGE * 3 + 11, b"\x00")
        pattern = SearchPattern(PatternKind.REGEX, rb"(a+)+$")
        options = SearchOptions(regex_time_limit=0.5)
        with pytest.raises(RegexTimeLimitError):
            if how == "count":
                count_matches(document, pattern, options=options)
            else:
                find_all(document, pattern, options=options)
        assert not _writer_would_wait(str(path))
    finally:
        document.close()

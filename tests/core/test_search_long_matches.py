"""Regex matches longer than the window the search looks at first (64 KiB) are found whole, as
``re`` over the whole buffer and ``grep -obUaP`` find them: the look-back and look-ahead grow
as far as a match of the pattern could reach (search.long_match_bytes). Where the longest match
(``max_regex_match``) stops the growth, the search says where, instead of missing silently.

Every engine path: Hyperscan (match ends, and the bounded-prefix starts), the pure-Python
fallback, leased and copied pieces, small pieces (matches across many piece boundaries), a
match that crosses a hole of a sparse file, find previous, counting; the CLI and the window
have their own tests (tests/cli/test_find_limits.py, tests/ui/test_search_isolation.py).
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mmhex.core.mapping import MappedFile
from mmhex.core.record import replace
from mmhex.core.search import (
    REGEX_WINDOW,
    Overlong,
    PatternKind,
    SearchOptions,
    SearchPattern,
    compile_pattern,
    count_matches,
    find_all,
    find_next,
    iter_matches,
    overlong_note,
)

WINDOW = 16 * 1024
RUN = 70_000  # the example: x, 70,000 y, z

ENGINES = {
    "accelerated": SearchOptions(accelerated=True),
    "accelerated-small-pieces": SearchOptions(accelerated=True, chunk_size=5000),
    "copied-small-pieces": SearchOptions(accelerated=True, use_lease=False, chunk_size=4096),
    "pure-python": SearchOptions(accelerated=False),
    "pure-python-small-pieces": SearchOptions(accelerated=False, chunk_size=5000),
}


def _variants(source: bytes) -> dict[str, tuple[object, SearchOptions]]:
    """Each engine, plus Hyperscan's match-end path forced where a prefix or factor path exists."""
    compiled = compile_pattern(SearchPattern(PatternKind.REGEX, source))
    variants = {name: (compiled, options) for name, options in ENGINES.items()}
    plain = replace(compiled, factor=None, prefix_source=None, anchor=None, _databases={})
    variants["hyperscan-ends"] = (plain, SearchOptions(accelerated=True, chunk_size=5000))
    return variants


def _long_data(rng: random.Random) -> bytes:
    """Random bytes with long runs of narrow classes planted: the issue's x y…y z, digits, a
    printable string, each longer than the window and some across piece boundaries."""
    data = bytearray(rng.randbytes(400_000))
    plants = [
        b"x" + b"y" * RUN + b"z",
        b"x" + b"y" * (REGEX_WINDOW + 10) + b"Q",  # no z: must not match xy+z
        b"N" + bytes(rng.choices(b"0123456789", k=90_000)) + b";",
        b"\x00" + bytes(rng.choices(range(0x20, 0x7F), k=80_000)) + b"\x01",
    ]
    at = 1000
    for plant in plants:
        at += rng.randrange(1, 30_000)
        data[at : at + len(plant)] = plant
        at += len(plant)
    return bytes(data)


PATTERNS = [
    rb"xy+z",
    rb"xy{1,100000}z",
    rb"(?:x|Q)y+z",
    rb"N[0-9]+;",
    rb"[0-9]{50,};",
    rb"\x00[\x20-\x7e]{4,}\x01",
    rb"x(?:yy)+y?z",
]


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> tuple[Path, bytes]:
    path = tmp_path_factory.mktemp("long") / "long.bin"
    data = _long_data(random.Random(9))
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("source", PATTERNS)
def test_long_matches_of_narrow_classes_equal_re_over_the_whole_buffer(long_file, source):
    path, data = long_file
    want = [m.span() for m in re.finditer(source, data)]
    assert any(e - s > REGEX_WINDOW for s, e in want), "the case needs a long match"
    assert compile_pattern(SearchPattern(PatternKind.REGEX, source)).warnings == ()
    mapped = MappedFile(str(path), window_size=WINDOW)
    try:
        for name, (pattern, options) in _variants(source).items():
            told: list[Overlong] = []
            got = [tuple(m) for m in iter_matches(mapped, pattern, options=options,
                                                 on_overlong=told.append)]  # fmt: skip
            assert got == want, name
            assert told == [], name
            assert count_matches(mapped, pattern, options=options) == len(want), name
            last = find_next(mapped, pattern, len(data), backward=True, options=options)
            assert last is not None and tuple(last.match) == want[-1], name
            first = find_next(mapped, pattern, 0, options=options)
            assert first is not None and tuple(first.match) == want[0], name
    finally:
        mapped.close()


@pytest.mark.skipif(shutil.which("grep") is None, reason="needs GNU grep")
@pytest.mark.parametrize("source", [rb"xy+z", rb"N[0-9]+;", rb"\x00[\x20-\x7e]{4,}\x01"])
def test_long_matches_equal_grep_p(long_file, source):
    path, _data = long_file
    grep = subprocess.run(
        ["grep", "-obUaP", source.decode("latin-1"), str(path)],
        capture_output=True,
        env=dict(os.environ, LC_ALL="C"),
        check=False,
    )
    if grep.returncode == 2:
        pytest.skip(f"grep -P is not available: {grep.stderr[:200]!r}")
    starts = [int(line.split(b":", 1)[0]) for line in grep.stdout.splitlines()]
    mapped = MappedFile(str(path))
    try:
        pattern = SearchPattern(PatternKind.REGEX, source)
        assert [m.start for m in iter_matches(mapped, pattern)] == starts
    finally:
        mapped.close()


def test_a_long_match_across_a_hole_is_found(tmp_path):
    """The hole is skipped as a place to start (x\\x00+z cannot match zeros alone), but the
    match that starts before it and runs through it is found whole."""
    path = tmp_path / "sparse.bin"
    hole = 3 * 1024 * 1024
    with open(path, "wb") as f:
        f.write(os.urandom(8192).replace(b"x", b"-") + b"x")
        f.seek(8193 + hole)
        f.write(b"z" + os.urandom(8192).replace(b"x", b"-"))
    data = path.read_bytes()
    want = [m.span() for m in re.finditer(rb"x\x00+z", data)]
    assert want == [(8192, 8193 + hole + 1)]
    mapped = MappedFile(str(path), window_size=1024 * 1024)
    try:
        for name, (pattern, options) in _variants(rb"x\x00+z").items():
            got = [tuple(m) for m in iter_matches(mapped, pattern, options=options)]
            assert got == want, name
    finally:
        mapped.close()


@pytest.mark.parametrize("name", list(ENGINES))
def test_past_the_longest_match_the_search_says_where(tmp_path, name):
    """At --max-match 100,000, a 150,000-byte x y…y z is past the limit: either the piece
    being scanned held it whole and it is reported exactly as re finds it (the pure engine over
    one large piece), or it is not reported and its place is, as a run-time note. A
    90,000-byte one is always found; nothing is ever reported cut short."""
    path = tmp_path / "limit.bin"
    data = b"-" * 3000 + b"x" + b"y" * 150_000 + b"z" + b"-" * 5000 + b"x" + b"y" * 90_000 + b"z"
    path.write_bytes(data)
    options = replace(ENGINES[name], max_regex_match=100_000)
    mapped = MappedFile(str(path), window_size=WINDOW)
    try:
        result = find_all(mapped, SearchPattern(PatternKind.REGEX, rb"xy+z"), options=options)
        second = data.rindex(b"x")
        whole = (3000, 3000 + 150_002)
        got = [tuple(m) for m in result.matches]
        if got == [whole, (second, len(data))]:
            return  # found whole, as re over the whole buffer finds it
        assert got == [(second, len(data))]
        assert result.overlong, "the limit bit: it must say so"
        place = result.overlong[0]
        assert 3000 <= place.offset <= 3000 + 150_002
        note = overlong_note(result.overlong, result.limit)
        assert "may be longer than the longest match searched" in note
        assert "note: a match" in result.summary
        first = find_next(mapped, SearchPattern(PatternKind.REGEX, rb"xy+z"), 0, options=options)
        assert first is not None and first.match is not None and first.match.start == second
        assert first.overlong
    finally:
        mapped.close()


def test_narrow_patterns_are_still_not_warned_about():
    """A warning on every [0-9]+ would be noise: within the longest match they are exact."""
    for source in (rb"needle-[A-Z]{3}-[0-9]+", rb"[\x20-\x7e]{4,}", rb"xy+z", rb"[0-9]+"):
        assert compile_pattern(SearchPattern(PatternKind.REGEX, source)).warnings == ()


def test_the_70000_byte_match_costs_about_what_a_short_one_does(tmp_path):
    """Finding the issue's 70,000-byte match in 64 MiB of random bytes: the growth is paid for
    once, at that match (the figure is quoted in the README beside grep -P's)."""
    path = tmp_path / "big.bin"
    data = bytearray(os.urandom(64 * 1024 * 1024))
    data[40_000_000 : 40_000_000 + RUN + 2] = b"x" + b"y" * RUN + b"z"
    path.write_bytes(data)
    want = [m.span() for m in re.finditer(rb"xy+z", data)]
    assert (40_000_000, 40_000_000 + RUN + 2) in want
    mapped = MappedFile(str(path))
    try:
        pattern = SearchPattern(PatternKind.REGEX, rb"xy+z")
        started = time.monotonic()
        found = [tuple(m) for m in iter_matches(mapped, pattern)]
        elapsed = time.monotonic() - started
    finally:
        mapped.close()
    assert found == want
    assert elapsed < 10.0


# ------------------------------------------------------------- end anchors at the cut
# Where the longest match stops the look-ahead, ``re`` is given bytes cut short of the data's
# end, and takes the cut for the end (its ``endpos``): ``a+\Z`` over a run of ``a`` longer
# than the limit once "matched" at the cut (0, limit + 4 KiB), a match ``re`` over the whole
# file does not have (fuzz seeds 2467 and 2662). A match may be cut or missed past the limit
# (and a note says where), never invented.
LIMIT = 3000
RUN_A = 12_000
# (?<!a): one start per run, not one per byte (each costs re a walk to the run's end or cut).
END_SENSITIVE = [rb"a+\Z", rb"(?<!a)a+$", rb"(?<!a)a+\b", rb"(?<!a)(?:a|A)+(?!b)\Z"]


def _limited_variants(source: bytes, limit: int) -> dict[str, tuple[object, SearchOptions]]:
    """Each engine at the longest match ``limit``, with Hyperscan's match-end path forced."""
    compiled = compile_pattern(SearchPattern(PatternKind.REGEX, source), limit)
    variants = {
        name: (compiled, replace(options, max_regex_match=limit))
        for name, options in ENGINES.items()
    }
    plain = replace(compiled, factor=None, prefix_source=None, anchor=None, _databases={})
    variants["hyperscan-ends"] = (
        plain,
        SearchOptions(accelerated=True, chunk_size=5000, max_regex_match=limit),
    )
    return variants


def _agree_with_re(
    tmp_path: Path,
    data: bytes,
    source: bytes,
    limit: int,
    scope: tuple[int, int] | None = None,
) -> list[tuple[int, int]]:
    """Assert every engine's matches, count, first and last equal ``re``'s over the scope."""
    lo, hi = scope or (0, len(data))
    want = [m.span() for m in re.compile(source).finditer(data, lo, hi)]
    path = tmp_path / "anchors.bin"
    path.write_bytes(data)
    mapped = MappedFile(str(path), window_size=WINDOW)
    try:
        for name, (pattern, options) in _limited_variants(source, limit).items():
            got = [tuple(m) for m in iter_matches(mapped, pattern, scope=scope, options=options)]
            assert got == want, name
            assert count_matches(mapped, pattern, scope=scope, options=options) == len(want), name
            first = find_next(mapped, pattern, lo, scope=scope, options=options)
            last = find_next(mapped, pattern, hi, backward=True, scope=scope, options=options)
            for result, expected in ((first, want[:1]), (last, want[-1:])):
                found = [tuple(result.match)] if result and result.match else []
                assert found == expected, name
    finally:
        mapped.close()
    return want


@pytest.mark.parametrize("source", [*END_SENSITIVE, rb"(?<!a)a+(?=c)"])
def test_an_end_anchor_never_matches_at_the_cut_of_a_long_run(tmp_path, source):
    """``a`` × 12,000 then ``b``, the longest match 3,000 bytes: ``re`` finds nothing."""
    data = b"a" * RUN_A + b"b"
    assert _agree_with_re(tmp_path, data, source, LIMIT) == []


@pytest.mark.parametrize("source", END_SENSITIVE)
def test_an_end_anchor_still_matches_at_the_true_end(tmp_path, source):
    """After the long run that must not match, a short run of ``a`` that really ends the file
    (or the searched scope, whose end is the end for ``re`` too) is found."""
    data = b"a" * RUN_A + b"b" + b"a" * 1500
    assert _agree_with_re(tmp_path, data, source, LIMIT) == [(RUN_A + 1, len(data))]
    scoped = data + b"-" * 100 + b"a" * 50
    want = _agree_with_re(tmp_path, scoped, source, LIMIT, scope=(0, len(data)))
    assert want == [(RUN_A + 1, len(data))]


def test_an_end_anchor_after_a_pattern_cut_at_the_window(tmp_path):
    """The fuzz case's shape: long repeats that together take every byte, so a match is cut
    at the 64 KiB window whatever the limit (no look-ahead can grow): ``re`` given the window
    and its context took the cut for the end, reporting (0, 64 KiB + 4 KiB)."""
    source = rb"(?<!a)(?:[\x00-\xff]x+)?a+\Z"  # (?<!a): no re run per byte of the run
    compiled = compile_pattern(SearchPattern(PatternKind.REGEX, source))
    assert compiled.max_length == REGEX_WINDOW and compiled.warnings
    data = b"a" * (REGEX_WINDOW + 20_000) + b"b" + b"a" * 100
    assert _agree_with_re(tmp_path, data, source, compiled.max_length) == [
        (len(data) - 100, len(data))
    ]


@pytest.mark.parametrize("source", [rb"xyza+\Z", rb"xyza+\b"])
def test_an_end_anchor_after_required_bytes_never_matches_at_the_cut(tmp_path, source):
    """The same through the required-bytes path (StringZilla finds ``xyz``, re confirms)."""
    data = b"xyz" + b"a" * RUN_A + b"b-xyz" + b"a" * 1500
    assert _agree_with_re(tmp_path, data, source, LIMIT) == [(RUN_A + 5, len(data))]

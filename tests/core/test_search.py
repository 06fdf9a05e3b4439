"""Search against independent references: brute-force bytes.find loops, re over the whole file,
and grep -obUaP; with tiny windows so that window boundaries fall inside matches."""

from __future__ import annotations

import itertools
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmhex.core import search
from mmhex.core.document import Document
from mmhex.core.progress import Cancelled, CancelToken, Progress
from mmhex.core.search import (
    Match,
    PatternError,
    PatternKind,
    SearchOptions,
    SearchPattern,
    TextEncoding,
    compile_pattern,
    count_matches,
    find_all,
    find_next,
    iter_matches,
    non_overlapping,
    parse_hex_pattern,
)

PAGE = 4096
ENGINES = [
    pytest.param(SearchOptions(accelerated=True, chunk_size=3000), id="accelerated-leased"),
    pytest.param(
        SearchOptions(accelerated=True, use_lease=False, chunk_size=5000), id="accelerated-copied"
    ),
    pytest.param(SearchOptions(accelerated=False, chunk_size=3000), id="pure-leased"),
    pytest.param(
        SearchOptions(accelerated=False, use_lease=False, chunk_size=PAGE), id="pure-copied"
    ),
]


def brute_force(data: bytes, needle: bytes) -> list[int]:
    """Every offset where needle occurs, overlapping ones included."""
    found, pos = [], data.find(needle)
    while pos >= 0:
        found.append(pos)
        pos = data.find(needle, pos + 1)
    return found


def brute_force_masked(data: bytes, pairs: list[tuple[int, int]]) -> list[int]:
    n = len(pairs)
    return [
        i
        for i in range(len(data) - n + 1)
        if all(data[i + k] & mask == value for k, (value, mask) in enumerate(pairs))
    ]


def regex_reference(data: bytes, pattern: bytes, flags: int = 0) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(pattern, data, flags) if m.end() > m.start()]


@pytest.fixture
def make_doc(tmp_path):
    docs = []

    def make(data: bytes, *, window_size: int = PAGE, name: str = "data.bin") -> Document:
        path = tmp_path / name
        path.write_bytes(data)
        doc = Document.open(str(path), window_size=window_size, max_windows=4)
        docs.append(doc)
        return doc

    yield make
    for doc in docs:
        doc.close()


def planted(size: int, needle: bytes, offsets: list[int], seed: int = 7) -> bytes:
    data = bytearray(random.Random(seed).randbytes(size))
    for off in offsets:
        data[off : off + len(needle)] = needle
    return bytes(data)


BOUNDARY_OFFSETS = [0, 100, PAGE - 3, 2 * PAGE - 1, 3 * PAGE - 7, 5 * PAGE, 7 * PAGE + 4090]


# ===================================================================== pattern parsing
def test_hex_pattern_forms():
    assert parse_hex_pattern("DE AD ?? EF") == [(0xDE, 0xFF), (0xAD, 0xFF), (0, 0), (0xEF, 0xFF)]
    assert parse_hex_pattern("deadBEEF") == [(0xDE, 255), (0xAD, 255), (0xBE, 255), (0xEF, 255)]
    assert parse_hex_pattern("0x4?, ?f") == [(0x40, 0xF0), (0x0F, 0x0F)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Enter the bytes"),
        ("   ", "Enter the bytes"),
        ("DE A", "odd number"),
        ("ABC", "odd number"),
        ("DE GG", "not hex"),
        ("0x", "not hex"),
        ("DE*AD", "not hex"),
    ],
)
def test_hex_pattern_errors(text, words):
    with pytest.raises(PatternError, match=words):
        parse_hex_pattern(text)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (SearchPattern(PatternKind.TEXT, ""), "Enter the text"),
        (SearchPattern(PatternKind.TEXT, "€", TextEncoding.LATIN1), "cannot be written"),
        (SearchPattern(PatternKind.REGEX, ""), "Enter a regular expression"),
        (SearchPattern(PatternKind.REGEX, "a("), "not valid"),
        (SearchPattern(PatternKind.REGEX, "a*"), "empty string"),
        (SearchPattern(PatternKind.REGEX, "(?=x)"), "empty string"),
    ],
)
def test_pattern_errors_are_sentences(pattern, words):
    with pytest.raises(PatternError, match=words) as info:
        compile_pattern(pattern)
    assert str(info.value).endswith(".")


def test_pattern_shapes():
    assert compile_pattern(SearchPattern(PatternKind.TEXT, "abc")).literal == b"abc"
    fixed = compile_pattern(SearchPattern(PatternKind.HEX, "41 ?? 43 44"))
    assert fixed.literal is None and fixed.length == 4 and fixed.anchor == (2, b"CD")
    utf16 = compile_pattern(SearchPattern(PatternKind.TEXT, "Hé", TextEncoding.UTF16BE))
    assert utf16.literal == "Hé".encode("utf-16-be")
    regex = compile_pattern(SearchPattern(PatternKind.REGEX, rb"ab{2,5}"))
    assert regex.is_regex and regex.max_length == 6


# ===================================================================== literal / fixed
@pytest.mark.parametrize("options", ENGINES)
def test_literal_at_window_boundaries(make_doc, options):
    needle = b"NEEDLE!"
    data = planted(8 * PAGE + 3, needle, BOUNDARY_OFFSETS)
    doc = make_doc(data)
    pattern = SearchPattern(PatternKind.TEXT, "NEEDLE!")
    got = [m.start for m in iter_matches(doc, pattern, options=options)]
    assert got == brute_force(data, needle) == BOUNDARY_OFFSETS
    assert count_matches(doc, pattern, options=options) == len(BOUNDARY_OFFSETS)


@pytest.mark.parametrize("options", ENGINES)
def test_hex_wildcards_match_brute_force(make_doc, options):
    data = planted(9 * PAGE, b"\xde\xad\x00\xef\x47", BOUNDARY_OFFSETS, seed=3)
    doc = make_doc(data)
    for text in ("DE AD ?? EF 4?", "?? AD 00", "DE ?? ?? ?? ?7", "4? ?F"):
        pairs = parse_hex_pattern(text)
        pattern = SearchPattern(PatternKind.HEX, text)
        got = [m.start for m in iter_matches(doc, pattern, options=options)]
        assert got == brute_force_masked(data, pairs), text
        assert all(m.length == len(pairs) for m in iter_matches(doc, pattern, options=options))


@pytest.mark.parametrize("options", ENGINES)
def test_overlapping_matches_are_all_reported(make_doc, options):
    data = b"x" + b"A" * (2 * PAGE + 10) + b"y"
    doc = make_doc(data)
    got = [
        m.start for m in iter_matches(doc, SearchPattern(PatternKind.TEXT, "AAA"), options=options)
    ]
    assert got == brute_force(data, b"AAA") == list(range(1, 2 * PAGE + 9))
    assert count_matches(doc, SearchPattern(PatternKind.HEX, "41 41 41"), options=options) == len(
        got
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(min_size=0, max_size=3 * PAGE).map(lambda b: bytes(c % 3 + 0x61 for c in b)),
    needle=st.binary(min_size=1, max_size=9).map(lambda b: bytes(c % 3 + 0x61 for c in b)),
    chunk=st.sampled_from([1, 7, 600, PAGE, 1 << 20]),
    accelerated=st.booleans(),
    lease=st.booleans(),
)
def test_literal_property(make_doc, data, needle, chunk, accelerated, lease):
    if not data:
        data = b"a"
    doc = make_doc(data)
    options = SearchOptions(accelerated=accelerated, use_lease=lease, chunk_size=chunk)
    pattern = SearchPattern(PatternKind.TEXT, needle)
    got = [m.start for m in iter_matches(doc, pattern, options=options)]
    assert got == brute_force(data, needle)
    assert count_matches(doc, pattern, options=options) == len(got)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(min_size=1, max_size=3 * PAGE).map(lambda b: bytes(c % 4 + 0x40 for c in b)),
    units=st.lists(
        st.sampled_from(["40", "41", "42", "43", "??", "4?", "?1", "?3"]), min_size=1, max_size=6
    ),
    chunk=st.sampled_from([5, 900, PAGE]),
    accelerated=st.booleans(),
)
def test_hex_property(make_doc, data, units, chunk, accelerated):
    doc = make_doc(data)
    text = " ".join(units)
    options = SearchOptions(accelerated=accelerated, chunk_size=chunk)
    got = [
        m.start for m in iter_matches(doc, SearchPattern(PatternKind.HEX, text), options=options)
    ]
    assert got == brute_force_masked(data, parse_hex_pattern(text))


# ===================================================================== text encodings and case
def case_variants(text: str, codec: str) -> set[bytes]:
    """Every spelling of text with each letter in either case (the reference for ignore_case).

    Only one-character case partners count ('ß' has none: its upper case is 'SS').
    """
    choices = [{c} | {x for x in (c.lower(), c.upper()) if len(x) == 1} for c in text]
    spellings = set()
    for combo in itertools.product(*choices):
        encoded = [ch.encode(codec) for ch in combo]
        if all(len(e) == len(o.encode(codec)) for e, o in zip(encoded, text, strict=True)):
            spellings.add(b"".join(encoded))
    return spellings


@pytest.mark.parametrize("encoding", list(TextEncoding))
@pytest.mark.parametrize("options", ENGINES)
def test_text_encodings_and_case(make_doc, encoding, options):
    text = "Grüße" if encoding is not TextEncoding.LATIN1 else "Café"
    codec = encoding.value
    spellings = sorted(case_variants(text, codec))
    rng = random.Random(11)
    data = bytearray(rng.randbytes(6 * PAGE))
    offsets = [0, PAGE - 2, 3 * PAGE + 1, 5 * PAGE - 5]
    for i, off in enumerate(offsets):
        spelling = spellings[i * 3 % len(spellings)]
        data[off : off + len(spelling)] = spelling
    data = bytes(data)
    doc = make_doc(data)
    exact = [
        m.start
        for m in iter_matches(doc, SearchPattern(PatternKind.TEXT, text, encoding), options=options)
    ]
    assert exact == brute_force(data, text.encode(codec))
    any_case = SearchPattern(PatternKind.TEXT, text, encoding, ignore_case=True)
    got = [m.start for m in iter_matches(doc, any_case, options=options)]
    expected = sorted({p for s in spellings for p in brute_force(data, s)})
    assert got == expected
    assert set(offsets) <= set(got)


# ===================================================================== regular expressions
REGEXES = [
    rb"AB[C-D]+E",
    rb"needle-[A-Z]{3}-[0-9]+",
    rb"(?i)needle",
    rb"\x89PNG\r\n\x1a\n.{4}IHDR",
    rb"(?<=X)Y+",
    rb"\bword\b",
    rb"(a|bc)+?d",
    rb"(ab)\1",
    rb"[^\x00-\x7f]{3}",
    rb"Z.*Q",
    rb"[0-9a-z]*needle-[A-Z]{3}",  # exact bytes after an unbounded prefix (StringZilla first)
    rb"\x89PNG\r\n\x1a\n",
]


@pytest.mark.parametrize("options", ENGINES)
@pytest.mark.parametrize("regex", REGEXES)
def test_regex_matches_finditer(make_doc, options, regex):
    rng = random.Random(5)
    data = bytearray(rng.randbytes(10 * PAGE))
    plants = [
        b"ABCDDE",
        b"needle-XYZ-12345",
        b"NeEdLe",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"XYYY",
        b" word ",
        b"abcbcad",
        b"abab",
        b"Zq--Q",
    ]
    for i, off in enumerate([5, PAGE - 4, 2 * PAGE - 9, 4 * PAGE + 2, 6 * PAGE - 1, 9 * PAGE]):
        for j, plant in enumerate(plants):
            at = off + j * 40 + i
            data[at : at + len(plant)] = plant
    data = bytes(data)
    doc = make_doc(data)
    got = [m for m in iter_matches(doc, SearchPattern(PatternKind.REGEX, regex), options=options)]
    assert [tuple(m) for m in got] == regex_reference(data, regex)
    assert got, "the planted matches must be found"


@pytest.mark.parametrize("accelerated", [True, False])
def test_regex_ignore_case_option(make_doc, accelerated):
    data = b"..HeLLo..hello..HELLO.."
    doc = make_doc(data)
    pattern = SearchPattern(PatternKind.REGEX, "hel+o", ignore_case=True)
    got = [
        m.start for m in iter_matches(doc, pattern, options=SearchOptions(accelerated=accelerated))
    ]
    assert got == [2, 9, 16]


regex_atoms = st.sampled_from(
    # the last three are runs of exact bytes: the StringZilla-first path
    [
        "a",
        "b",
        "c",
        ".",
        "[ab]",
        "[^a]",
        r"\d",
        r"\w",
        "(?:ab|c)",
        "(a|b)",
        r"\b",
        "^",
        "$",
        "abc",
        "(?:ca1)",
        "b a",
    ]
)
regex_suffixes = st.sampled_from(["", "", "*", "+", "?", "{1,3}", "+?", "{2}"])


@st.composite
def regexes(draw):
    parts = draw(st.lists(st.tuples(regex_atoms, regex_suffixes), min_size=1, max_size=5))
    text = "".join(
        atom + (suffix if atom not in (r"\b", "^", "$") else "") for atom, suffix in parts
    )
    if draw(st.booleans()):
        text = f"(?:{text})|c{draw(regex_atoms)}"
    return text.encode()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(min_size=1, max_size=2 * PAGE).map(
        lambda b: bytes(b"abc1\n "[c % 6] for c in b)
    ),
    regex=regexes(),
    accelerated=st.booleans(),
    region=st.sampled_from([1, 100, 1 << 20]),
)
def test_regex_property_prefilter_never_loses_matches(make_doc, data, regex, accelerated, region):
    try:
        compiled = compile_pattern(SearchPattern(PatternKind.REGEX, regex))
    except PatternError:
        return  # can match the empty string: refused, as tested above
    doc = make_doc(data)
    options = SearchOptions(accelerated=accelerated, chunk_size=700)
    with mock.patch.object(search, "_REGION", region):  # small copies around candidates too
        got = [tuple(m) for m in iter_matches(doc, compiled, options=options)]
    assert got == regex_reference(data, regex)


def test_prefilter_is_built_from_python_parse(make_doc):
    """The Hyperscan text is our own spelling of re's parse tree, not the user's text."""
    if not search.accelerators()["hyperscan"]:
        pytest.skip("hyperscan not installed")
    compiled = compile_pattern(SearchPattern(PatternKind.REGEX, rb"a{,2}b"))
    # Python reads {,2} as {0,2}; PCRE would read it as literal text.
    assert compiled.hyperscan_source == rb"(?:\x61){0,2}\x62"
    assert compile_pattern(SearchPattern(PatternKind.REGEX, rb"(a)\1")).hyperscan_source is None


# ===================================================================== unsaved edits
@pytest.mark.parametrize("options", ENGINES)
def test_search_sees_unsaved_private_edits(make_doc, options):
    data = planted(6 * PAGE, b"OLDTEXT", [3 * PAGE + 10])
    doc = make_doc(data)
    doc.enable_editing()
    for offset in (2 * PAGE - 3, 5 * PAGE + 100):  # one edit straddles a window boundary
        doc.write(offset, b"EDITED!")
    assert doc.read_original(2 * PAGE - 3, 7) != b"EDITED!"
    got = [
        m.start
        for m in iter_matches(doc, SearchPattern(PatternKind.TEXT, "EDITED!"), options=options)
    ]
    assert got == [2 * PAGE - 3, 5 * PAGE + 100]
    regex = SearchPattern(PatternKind.REGEX, rb"ED[I]TED!")
    assert [m.start for m in iter_matches(doc, regex, options=options)] == got
    with open(doc.path, "rb") as f:
        assert f.read() == data  # the disk is untouched


# ===================================================================== navigation
@pytest.mark.parametrize("options", ENGINES)
def test_find_next_previous_wrap_and_scope(make_doc, options):
    offsets = [10, PAGE - 2, 3 * PAGE, 6 * PAGE + 7]
    data = planted(7 * PAGE, b"XYZZY", offsets)
    doc = make_doc(data)
    for kind, text in ((PatternKind.TEXT, "XYZZY"), (PatternKind.REGEX, "XYZ+Y")):
        pattern = SearchPattern(kind, text)

        def nxt(pos, pattern=pattern, **kw):
            found = find_next(doc, pattern, pos, options=options, **kw)
            return None if found is None else (found.match.start, found.wrapped)

        assert nxt(0) == (10, False)
        assert nxt(11) == (PAGE - 2, False)
        assert nxt(6 * PAGE + 8) is None
        assert nxt(6 * PAGE + 8, wrap=True) == (10, True)
        assert nxt(3 * PAGE, backward=True) == (PAGE - 2, False)
        assert nxt(3 * PAGE + 1, backward=True) == (3 * PAGE, False)
        assert nxt(10, backward=True) is None
        assert nxt(10, backward=True, wrap=True) == (6 * PAGE + 7, True)
        scope = (PAGE, 6 * PAGE + 8)  # the last match sticks out of the scope
        assert nxt(0, scope=scope) == (3 * PAGE, False)  # PAGE - 2 starts before the scope
        assert nxt(3 * PAGE + 1, scope=scope, wrap=True) == (3 * PAGE, True)
        assert nxt(3 * PAGE + 1, scope=scope) is None
        assert nxt(PAGE, scope=scope, backward=True, wrap=True) == (3 * PAGE, True)


def last_re_match_before(data: bytes, regex: bytes, position: int, lo: int = 0):
    """The reference for find previous: ``re``'s non-overlapping matches of a forward scan from
    ``lo`` (what Find All reports), the last one starting before ``position``."""
    spans = [m.span() for m in re.compile(regex).finditer(data, lo) if m.start() < position]
    return spans[-1] if spans else None


# Patterns whose matches line up differently in a scan from a piece's start than in one from
# the file's start when a match crosses into the piece (`.{3}` once found 206891 where re's
# last match was 206892). `(?s).{3}` matches every 3 bytes: no place is crossed by none, only
# a scan from the start of the stretch knows its alignment.
ALIGNED_REGEXES = [rb".{3}", rb"[ab]{2,5}", rb"a.|b..", rb"(?s).{3}", rb"b[a-]+a"]


@pytest.mark.parametrize("options", ENGINES)
@pytest.mark.parametrize("regex", ALIGNED_REGEXES)
def test_find_previous_keeps_the_alignment_of_a_scan_from_the_start(make_doc, options, regex):
    rng = random.Random(11)
    data = bytes(rng.choices(b"ab-\n", weights=[10, 10, 5, 1], k=5 * PAGE + 17))
    doc = make_doc(data)
    pattern = SearchPattern(PatternKind.REGEX, regex)
    # Cursors all over, and where a piece or window boundary falls a byte or two into a match.
    edges = [k * PAGE + d for k in range(1, 6) for d in (-2, -1, 0, 1, 2, 3)]
    edges += [len(data) - 3000 + d for d in range(-3, 4)]  # pieces run back from the cursor
    cursors = sorted({*range(0, len(data) + 1, 613), *edges, len(data)})
    for position in cursors:
        found = find_next(doc, pattern, position, backward=True, options=options)
        got = None if found is None else tuple(found.match)
        assert got == last_re_match_before(data, regex, position), position
    # Wrapped around: the stretch from the cursor to the end, scanned from the cursor.
    scope = (1, len(data))
    found = find_next(doc, pattern, 1, backward=True, wrap=True, scope=scope, options=options)
    assert found is not None and found.wrapped
    assert tuple(found.match) == last_re_match_before(data, regex, len(data), lo=1)


@pytest.mark.parametrize("options", ENGINES)
def test_find_previous_across_an_inserted_piece_keeps_the_alignment(make_doc, options):
    """The window's Find Previous searches the document. Inserts make piece boundaries (copied
    seams); the pieces the search cuts from the cursor back (every ``chunk_size`` bytes) start
    inside `.{3}` matches too (on the old code, cursors 3001 to 3023 with 3000-byte chunks)."""
    rng = random.Random(12)
    data = bytes(rng.choices(b"ab-\n", weights=[10, 10, 5, 1], k=6 * PAGE))
    doc = make_doc(data)
    doc.enable_editing()
    for offset, text in ((2 * PAGE + 1, b"xy"), (4 * PAGE - 5, b"zzzzz"), (17, b"q")):
        doc.insert(offset, text)
    edited = doc.read(0, doc.size)
    assert len(edited) == len(data) + 8
    pattern = SearchPattern(PatternKind.REGEX, rb".{3}")
    cursors = [*range(0, doc.size + 1, 97), *range(2990, 3030), doc.size]
    for position in cursors:
        found = find_next(doc, pattern, position, backward=True, options=options)
        got = None if found is None else tuple(found.match)
        assert got == last_re_match_before(edited, rb".{3}", position), position
    # Cancel reaches the walk back and the scan again (the last piece starts after 0).
    progress = Progress(total=doc.size)
    progress.token.cancel()
    with pytest.raises(Cancelled):
        find_next(doc, pattern, doc.size, backward=True, progress=progress, options=options)


def test_scope_clips_matches(make_doc):
    data = b"..ABC..ABC..ABC.."
    doc = make_doc(data)
    pattern = SearchPattern(PatternKind.TEXT, "ABC")
    assert [m.start for m in iter_matches(doc, pattern, scope=(3, 14))] == [7]
    assert [m.start for m in iter_matches(doc, pattern, scope=(2, 15))] == [2, 7, 12]
    assert list(iter_matches(doc, pattern, scope=(100, 200))) == []
    assert [m.start for m in iter_matches(doc, pattern, start=3)] == [7, 12]


def test_find_all_limit_batches_and_summary(make_doc):
    data = b"ab" * 5000
    doc = make_doc(data)
    batches = []
    result = find_all(
        doc,
        SearchPattern(PatternKind.TEXT, "ab"),
        limit=1234,
        on_batch=batches.append,
        options=SearchOptions(chunk_size=1000),
    )
    assert result.truncated and len(result.matches) == 1234
    assert [m.start for m in result.matches] == list(range(0, 2468, 2))
    assert sum(len(b) for b in batches) == 1234 and len(batches) > 1
    assert result.summary.startswith("1,234+ results")
    complete = find_all(doc, SearchPattern(PatternKind.TEXT, "ba"), limit=10_000)
    assert not complete.truncated and len(complete.matches) == 4999
    assert complete.summary == "4,999 results"


def test_non_overlapping_for_replace_all():
    matches = [Match(0, 3), Match(1, 4), Match(3, 6), Match(5, 8), Match(6, 9)]
    assert list(non_overlapping(matches)) == [Match(0, 3), Match(3, 6), Match(6, 9)]


def test_empty_file_and_pattern_longer_than_file(make_doc, tmp_path):
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    doc = Document.open(str(empty))
    try:
        assert list(iter_matches(doc, SearchPattern(PatternKind.TEXT, "a"))) == []
        assert find_next(doc, SearchPattern(PatternKind.TEXT, "a"), 0, wrap=True) is None
    finally:
        doc.close()
    short = make_doc(b"abc")
    assert count_matches(short, SearchPattern(PatternKind.TEXT, "abcd")) == 0
    assert find_next(short, SearchPattern(PatternKind.REGEX, "abcd+"), 0, backward=True) is None


# ===================================================================== progress and cancel
def test_progress_reaches_total_and_cancel_stops(make_doc):
    data = bytes(20 * PAGE)
    doc = make_doc(data)
    seen = []
    progress = Progress(len(data), lambda done, total: seen.append(done), interval=0)
    assert count_matches(doc, SearchPattern(PatternKind.TEXT, "x"), progress=progress) == 0
    assert seen[-1] == len(data)

    token = CancelToken()
    calls = []

    def cancel_soon(done, total):
        calls.append(done)
        token.cancel()

    progress = Progress(len(data), cancel_soon, token, interval=0)
    with pytest.raises(Cancelled):
        list(iter_matches(doc, SearchPattern(PatternKind.HEX, "00"), progress=progress))
    assert calls and calls[-1] < len(data)


def test_pure_python_switch(monkeypatch):
    monkeypatch.setenv("MMHEX_PURE_PYTHON_SEARCH", "1")
    assert SearchOptions().accelerated is False
    monkeypatch.delenv("MMHEX_PURE_PYTHON_SEARCH")
    assert SearchOptions().accelerated is True


def test_leases_are_used_and_released(make_doc):
    """The fast path really reads in place, and the lease is gone afterwards (a writer opens)."""
    doc = make_doc(planted(8 * PAGE, b"Q", [5]), window_size=4 * PAGE)
    scan = search._Scan(doc, SearchPattern(PatternKind.TEXT, "Q"), None, None, SearchOptions())
    try:
        list(scan.forward(0, doc.size))
        if not scan.reader.leasing:
            pytest.skip("this file system or user cannot take leases")
        assert scan.reader.stats.leased >= 2
    finally:
        scan.close()
    fd = os.open(doc.path, os.O_WRONLY | os.O_NONBLOCK)  # would block if a lease were left
    os.close(fd)


# ===================================================================== grep as the reference
GREP = shutil.which("grep")


def grep_offsets(path: str, pcre: bytes) -> list[int]:
    result = subprocess.run(
        [GREP, "-obUaP", pcre, path], capture_output=True, env={"LC_ALL": "C"}, check=False
    )
    assert result.returncode in (0, 1), result.stderr
    return [int(line.split(b":", 1)[0]) for line in result.stdout.splitlines()]


@pytest.mark.skipif(GREP is None, reason="grep not installed")
@pytest.mark.parametrize("options", ENGINES)
def test_against_grep(make_doc, options):
    rng = random.Random(99)
    size = 12 * PAGE + 5
    data = bytearray(rng.randbytes(size))
    literal = b"\xca\xfe\xba\xbe\x01"  # cannot overlap itself, so grep -o finds the same set
    offsets = sorted({0, PAGE - 1, 2 * PAGE - 4, 7 * PAGE + 3, size - len(literal)})
    for off in offsets:
        data[off : off + len(literal)] = literal
    doc = make_doc(bytes(data))
    hex_text = "CA FE ?? BE 0?"
    checks = [
        (SearchPattern(PatternKind.TEXT, literal), b"\\xca\\xfe\\xba\\xbe\\x01"),
        (SearchPattern(PatternKind.HEX, hex_text), b"\\xca\\xfe[\\x00-\\xff]\\xbe[\\x00-\\x0f]"),
        (
            SearchPattern(PatternKind.REGEX, rb"\xca\xfe[\xb0-\xbf]+\xbe"),
            rb"\xca\xfe[\xb0-\xbf]+\xbe",
        ),
    ]
    for pattern, pcre in checks:
        got = [m.start for m in iter_matches(doc, pattern, options=options)]
        assert got == grep_offsets(doc.path, pcre), pattern
        assert set(offsets) <= set(got)


@pytest.mark.parametrize("accelerated", [True, False])
def test_regex_start_bound_survives_lazy_alternatives(make_doc, accelerated):
    """a.*?c matches 'ac' at 0; the next match, 'bxc' at 2, shares its end with a longer
    a...c match starting at 0: a start bound taken from that end alone would skip it."""
    data = b"acbxc" + b"." * 5000 + b"acbxc" + b"-" * (3 * PAGE) + b"acbxc"
    doc = make_doc(data)
    regex = rb"a[^\n]*?c|b.c"
    options = SearchOptions(accelerated=accelerated, chunk_size=PAGE)
    got = [
        tuple(m)
        for m in iter_matches(doc, SearchPattern(PatternKind.REGEX, regex), options=options)
    ]
    assert got == regex_reference(data, regex) and (2, 5) in got


def test_literal_patterns_compile_their_re_pattern_only_when_used():
    """A literal keeps its ``re`` equivalent as source (``mmhex find --count`` never imports
    ``re``); compiled on first use, it is the same pattern the source says, DOTALL included."""
    assert search._RE_DOTALL == re.DOTALL
    compiled = search.compile_pattern(SearchPattern(PatternKind.HEX, "0a ?? 41"))
    assert compiled._regex is None
    data = b"\x0a\x0a\x41\x0a\xff\x41"
    assert [m.start() for m in compiled.regex.finditer(data)] == [0, 3]
    assert compiled.regex is compiled.regex and compiled.regex.flags & re.DOTALL
    text = search.compile_pattern(SearchPattern(PatternKind.TEXT, "abc"))
    assert text.literal == b"abc" and text._regex is None
    regex = search.compile_pattern(SearchPattern(PatternKind.REGEX, "a.c", ignore_case=True))
    assert regex._regex is not None and regex.regex.flags & re.IGNORECASE
    assert regex.regex.search(b"xA\nC") is None and regex.regex.search(b"xAbC").start() == 1


class _Capabilities:
    """Stands in for the stringzilla module in stream_kernels."""

    def __init__(self, *names: str) -> None:
        self.__capabilities__ = names


def test_searches_leave_out_stringzilla_s_avx512_kernels_where_avx2_ones_are_there():
    """Streaming a file from memory, StringZilla's AVX-512 kernels counted slower than its AVX2
    ones here (bench_search.py --kernels); the choice is a pure function of the capabilities,
    MMHEX_AVX512_SEARCH=1 keeps the widest, and either set finds what bytes.find finds."""
    import stringzilla

    every = ("serial", "westmere", "goldmont", "haswell", "skylake", "icelake")
    assert search.stream_kernels(_Capabilities(*every)) == every[:4]
    assert search.stream_kernels(_Capabilities("serial", "westmere", "haswell")) is None
    assert search.stream_kernels(_Capabilities("serial", "skylake")) is None  # no AVX2 ones
    assert search.stream_kernels(_Capabilities("serial", "neon", "sve2")) is None  # not x86

    probe = "import stringzilla, mmhex.core.search; print(*stringzilla.__capabilities__)"
    env = {**os.environ, "PYTHONPATH": str(Path(search.__file__).resolve().parents[2])}
    env.pop("MMHEX_AVX512_SEARCH", None)

    def capabilities(**extra: str) -> tuple[str, ...]:
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env={**env, **extra}
        )
        return tuple(done.stdout.split())

    available = capabilities(MMHEX_AVX512_SEARCH="1")
    used = search.stream_kernels(_Capabilities(*available)) or available
    assert capabilities() == used

    rng = random.Random(7)
    data = bytes(rng.choice(b"ab\x00\xff") for _ in range(200_000)) + b"needle-xyz" * 3
    before = tuple(stringzilla.__capabilities__)
    try:
        for kernels in {available, used}:
            stringzilla.reset_capabilities(kernels)
            for needle in (b"ab\x00", b"\xff\xff\xffa", b"needle-xyz"):
                expected = sum(data.startswith(needle, i) for i in range(len(data)))
                assert stringzilla.count(data, needle, allowoverlap=True) == expected
                assert stringzilla.find(data, needle) == data.find(needle)
    finally:
        stringzilla.reset_capabilities(before)

"""The windowed regex search's limits: a time limit that stops runaway backtracking, warnings for
patterns that can outrun the longest match or the look-around context, and exact results right
up to those limits (``re`` over the whole file is the reference)."""

from __future__ import annotations

import re
import signal
import time

import pytest

from mmhex.core.mapping import MappedFile
from mmhex.core.search import (
    REGEX_CONTEXT,
    PatternKind,
    RegexTimeLimitError,
    SearchOptions,
    SearchPattern,
    compile_pattern,
    count_matches,
    find_all,
    find_next,
)

WINDOW = 16 * 1024


def _mapped(tmp_path, data: bytes) -> MappedFile:
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    return MappedFile(str(path), window_size=WINDOW)


@pytest.mark.parametrize("accelerated", [True, False], ids=["accelerated", "pure"])
@pytest.mark.parametrize("how", ["find_all", "count", "find_previous"])
def test_a_runaway_regex_stops_at_the_time_limit(tmp_path, accelerated, how):
    data = b"x" * 5000 + b"a" * 40 + b"X" + b"y" * 5000
    mapped = _mapped(tmp_path, data)
    options = SearchOptions(accelerated=accelerated, regex_time_limit=0.5)
    pattern = SearchPattern(PatternKind.REGEX, rb"(a+)+$")
    started = time.monotonic()
    with pytest.raises(RegexTimeLimitError) as caught:
        if how == "find_all":
            find_all(mapped, pattern, options=options)
        elif how == "count":
            count_matches(mapped, pattern, options=options)
        else:
            find_next(mapped, pattern, len(data), backward=True, options=options)
    assert time.monotonic() - started < 3.0
    assert caught.value.seconds == 0.5
    assert caught.value.offset <= 5000
    sentence = caught.value.describe("--regex-time-limit")
    assert "0.5 s" in sentence and sentence.endswith("raise --regex-time-limit.")
    mapped.close()


def test_the_time_limit_leaves_ordinary_regexes_alone(tmp_path):
    data = (b"ab" * 3000 + b"needle-ABC-42\n") * 50
    mapped = _mapped(tmp_path, data)
    pattern = SearchPattern(PatternKind.REGEX, rb"needle-[A-Z]{3}-[0-9]+")
    found = find_all(mapped, pattern, options=SearchOptions(regex_time_limit=0.2)).matches
    assert [tuple(m) for m in found] == [m.span() for m in re.finditer(pattern.text, data)]
    mapped.close()


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        (rb"needle-[A-Z]{3}-[0-9]+", ""),
        (rb"[\x20-\x7e]{4,}", ""),  # printable strings: a narrow class
        (rb"(?<=PK)\x03\x04", ""),
        (rb"x.+y", "unbounded repeat of a broad class"),
        (rb"x[^\x00]*y", "unbounded repeat of a broad class"),
        (rb"\S+@", "unbounded repeat of a broad class"),
        (rb"A.{0,70000}B", "can be longer than the longest match"),
        (rb"(?:ABCD){20000}", "can be longer than the longest match"),
        (rb"B(?=.*X)", "look-ahead or look-behind"),
        (rb"(?<=A{5000})B", "look-ahead or look-behind"),
        (rb"(?<=A{4000})B", ""),
    ],
)
def test_warnings_name_the_limit_a_pattern_can_outrun(source, expect):
    # At --max-match 64 KiB (the default is 16 MiB: within it, long matches are found whole).
    warnings = compile_pattern(SearchPattern(PatternKind.REGEX, source), 64 * 1024).warnings
    if expect:
        assert any(expect in w for w in warnings), warnings
    else:
        assert warnings == ()


@pytest.mark.parametrize("accelerated", [True, False], ids=["accelerated", "pure"])
def test_matches_right_at_the_longest_match_are_whole(tmp_path, accelerated):
    longest = 5000
    data = bytearray(b"-" * 40_000)
    for at, length in ((100, longest), (WINDOW - 2500, longest), (3 * WINDOW - 7, 17)):
        data[at : at + length] = b"q" + b"z" * (length - 2) + b"q"
    data = bytes(data)
    mapped = _mapped(tmp_path, data)
    pattern = compile_pattern(SearchPattern(PatternKind.REGEX, rb"qz+q"), longest)
    assert pattern.may_exceed
    options = SearchOptions(accelerated=accelerated, chunk_size=4096, max_regex_match=longest)
    found = [tuple(m) for m in find_all(mapped, pattern, options=options).matches]
    assert found == [m.span() for m in re.finditer(rb"qz+q", data)]
    mapped.close()


@pytest.mark.parametrize("accelerated", [True, False], ids=["accelerated", "pure"])
def test_look_behind_as_wide_as_the_context_across_windows(tmp_path, accelerated):
    width = REGEX_CONTEXT - 96
    data = bytearray(b"." * 60_000)
    for end in (WINDOW + 10, 2 * WINDOW + width // 2, 50_000):
        data[end - width : end] = b"L" * width
        data[end] = ord("B")
    data = bytes(data)
    mapped = _mapped(tmp_path, data)
    source = rb"(?<=L{%d})B" % width
    assert compile_pattern(SearchPattern(PatternKind.REGEX, source)).warnings == ()
    options = SearchOptions(accelerated=accelerated, chunk_size=4096)
    found = find_all(mapped, SearchPattern(PatternKind.REGEX, source), options=options)
    assert [tuple(m) for m in found.matches] == [m.span() for m in re.finditer(source, data)]
    assert len(found.matches) == 3
    mapped.close()


def test_the_time_limit_gives_back_a_timer_that_was_running(tmp_path):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(time.monotonic()))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        started = time.monotonic()
        mapped = _mapped(tmp_path, b"ab" * 5000 + b"needle-ABC-1")
        pattern = SearchPattern(PatternKind.REGEX, rb"needle-[A-Z]{3}-[0-9]+")
        assert len(find_all(mapped, pattern).matches) == 1
        mapped.close()
        while not fired and time.monotonic() - started < 3:
            time.sleep(0.01)
        assert fired and 0.5 < fired[0] - started < 1.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

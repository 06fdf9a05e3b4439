"""Find bytes in a document at memory speed: hex with wildcards, text in four encodings, regex.

Patterns compile to one of three shapes. A *literal* (exact bytes) is found with StringZilla's
SIMD substring search; a *fixed* pattern (hex wildcards ``??``/``4?``, case-insensitive text: the
same length wherever it matches) with Hyperscan; a *regular expression* (Python ``re`` syntax over
bytes) with Hyperscan as a prefilter that skips match-free stretches and ``re`` deciding the exact
matches. Without those wheels the same shapes run on ``re``/``bytes`` alone.

What counts as a match (documented for users and compared with ``grep`` in the tests):
literal and fixed patterns report *every* offset where they match, overlapping ones included
("AA" occurs 3 times in "AAAA"); a regular expression reports the non-overlapping leftmost matches
of Python's ``re.finditer`` (``grep -o`` reports the same), and must not be able to match the
empty string. Its look-arounds see at most ``REGEX_CONTEXT`` bytes around a match. Around each
candidate ``REGEX_WINDOW`` (64 KiB) is looked at first; a longer match makes the look-back and
look-ahead grow as far as the pattern's long repeats let it reach (``long_match_bytes``), up to
``max_regex_match`` (16 MiB): past that a match may be cut or missed, and ``on_overlong`` says
where.

The file is scanned window by window (see ``scan.SafeReader``: no SIGBUS if another process
truncates it); a match that straddles a window boundary is found once, in a small copied seam.
Searches read the document's mapping, so unsaved private edits are searched too.
"""

from __future__ import annotations

import bisect
import enum
import os
import signal
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property

from mmhex.core.errors import MmhexError
from mmhex.core.lazy_module import LazyModule
from mmhex.core.mapping import MappedFile
from mmhex.core.progress import Progress
from mmhex.core.read_through import scannable
from mmhex.core.record import factory, record  # not dataclasses: `mmhex find`'s start-up
from mmhex.core.scan import (
    DEFAULT_CHUNK,
    SafeReader,
    SpanKind,
    matches_zeros,
    start_spans,
    view_region,
)

TYPE_CHECKING = False  # typing costs `mmhex find` 1.5 ms at start-up
if TYPE_CHECKING:
    import re
    from contextlib import AbstractContextManager
    from typing import Any
else:
    # `re` (with its compiler and parser) costs `mmhex find --count` of a literal 1.5 ms at
    # start-up and is never used there: StringZilla finds and counts literals.
    re = LazyModule("re")

_RE_DOTALL = 16  # re.DOTALL's value (tests/core/test_search.py), so literals need no `re`

# StringZilla's AVX-512 kernels ("skylake", "icelake"), which it picks wherever the CPU has them.
# They find 2.4x faster in data the CPU caches hold, and slower in data streamed from memory,
# which is what searching a file is: on this project's machines (AMD EPYC, Zen 5) counting a
# cached 2 GiB file took 124 ms with them and 76 ms with the AVX2 ("haswell") kernels, which
# ripgrep's 66 ms is near (bench/bench_search.py --kernels prints both). So searches use the
# AVX2 kernels where the CPU has them; MMHEX_AVX512_SEARCH=1 keeps the widest.
AVX512_KERNELS = ("skylake", "icelake")

try:  # SIMD substring search; optional so that a missing wheel only costs speed
    import stringzilla as _sz
except ImportError:  # pragma: no cover - exercised by forcing accelerated=False
    _sz = None


def stream_kernels(module: Any) -> tuple[str, ...] | None:
    """The StringZilla capabilities for scanning files: the AVX-512 ones left out where the
    AVX2 ones are there; None to leave them as they are."""
    capabilities = tuple(getattr(module, "__capabilities__", ()))
    if "haswell" not in capabilities or not set(AVX512_KERNELS) & set(capabilities):
        return None
    return tuple(name for name in capabilities if name not in AVX512_KERNELS)


if _sz is not None and os.environ.get("MMHEX_AVX512_SEARCH") != "1":
    _kernels = stream_kernels(_sz)
    if _kernels is not None:
        _sz.reset_capabilities(_kernels)

_hyperscan_module: Any = False  # not imported yet; None when not installed


def _hyperscan() -> Any | None:
    """Hyperscan, imported on first use: literal searches (and `mmhex find` start-up) skip it."""
    global _hyperscan_module
    if _hyperscan_module is False:
        try:
            import hyperscan
        except ImportError:  # pragma: no cover - exercised by forcing accelerated=False
            hyperscan = None
        _hyperscan_module = hyperscan
    return _hyperscan_module


# The longest regex match found whole (--max-match): a longer one is cut there, and reported.
DEFAULT_MAX_REGEX_MATCH = 16 * 1024 * 1024
# How far the search looks around each place a match may be, before growing: a match up to this
# long costs no more than a short one; a longer one makes the look-back/look-ahead grow to it.
REGEX_WINDOW = 64 * 1024
REGEX_CONTEXT = 4096  # bytes of look-behind/look-ahead context around regex candidates
# Seconds the regex may spend on one piece (at most chunk_size bytes) before the search stops:
# a linear pattern needs well under a second for 16 MiB; nested repeats like (a+)+$ never end.
DEFAULT_REGEX_TIME_LIMIT = 10.0
# A repeated class this broad (`.`, [^x], \D ...) can run on through binary data indefinitely.
_BROAD_CLASS = 128
# Matches gathered per engine call; bounds how long one window stays leased.
_CALL_CAP = 1 << 16
# Extra bytes copied past a regex candidate's needs, shared by the candidates that follow.
_REGION = 16 * 1024
# Shortest exact run worth finding first with StringZilla (in wildcard patterns and regexes).
_MIN_FACTOR = 3
# Longest bounded start of a regex that Hyperscan finds first to place match starts (see
# _bounded_prefix): without start-of-match reports, this is what keeps `re` near the starts.
_MAX_PREFIX = 255
DEFAULT_FIND_ALL_LIMIT = 100_000
# Below this many bytes to read, a second counting process costs more than it saves.
_FORK_MIN_BYTES = 64 * 1024 * 1024
# Bytes to read per part of a two-process count (see _Scan._count_forked): small enough that a
# core slowed by other work leaves little behind; the parts' numbers must fit a pipe's smallest
# buffer (one page).
_COUNT_PART = 16 * 1024 * 1024
_MAX_COUNT_PARTS = 1024


def accelerators() -> dict[str, bool]:
    """Which optional speed-ups are installed (shown in `mmhex find --help` and the bench)."""
    return {"stringzilla": _sz is not None, "hyperscan": _hyperscan() is not None}


def accelerated_by_default() -> bool:
    """False when MMHEX_PURE_PYTHON_SEARCH is set (to compare, or to work around a bad wheel)."""
    return not os.environ.get("MMHEX_PURE_PYTHON_SEARCH")


class PatternError(MmhexError, ValueError):
    """The search text is not a valid pattern; ``str`` is the sentence for the user."""


class RegexTimeLimitError(MmhexError):
    """The regex ran past the time limit on one piece of the file (catastrophic backtracking)."""

    def __init__(self, seconds: float, offset: int) -> None:
        self.seconds = seconds
        self.offset = offset
        super().__init__(self.describe())

    def describe(self, option: str | None = None) -> str:
        """The sentence; ``option`` names the setting that raises the limit (the CLI's flag)."""
        advice = f"simplify it or raise {option}" if option else "simplify it"
        return (
            f"The regular expression ran for more than {self.seconds:g} s on the bytes near "
            f"offset {self.offset:#x} without finishing (nested repeats such as (a+)+ can take "
            f"forever), so the search stopped; {advice}."
        )


class PatternKind(enum.Enum):
    HEX = "hex"
    TEXT = "text"
    REGEX = "regex"


class TextEncoding(enum.Enum):
    LATIN1 = "latin-1"
    UTF8 = "utf-8"
    UTF16LE = "utf-16-le"
    UTF16BE = "utf-16-be"

    @property
    def label(self) -> str:
        return _ENCODING_LABELS[self]


_ENCODING_LABELS = {
    TextEncoding.LATIN1: "ASCII / Latin-1",
    TextEncoding.UTF8: "UTF-8",
    TextEncoding.UTF16LE: "UTF-16 LE",
    TextEncoding.UTF16BE: "UTF-16 BE",
}


class Overlong(namedtuple("Overlong", ("offset", "ending"))):  # not typing.NamedTuple
    """A place where a regex match may be longer than the longest match searched (it may be
    cut there or missed): where it ends (``ending``), or where it starts at the latest."""

    __slots__ = ()


class Match(namedtuple("Match", ("start", "end"))):  # not typing.NamedTuple: 1.5 ms
    """A match ``[start, end)`` (ints)."""

    __slots__ = ()

    @property
    def length(self) -> int:
        return self.end - self.start


class _Unsure(Match):
    """What ``re`` found ending near the end of a buffer cut short of the data's end, for a
    pattern whose matches can depend on where the bytes end (``CompiledPattern.end_sensitive``:
    ``a+\\Z`` matches at the cut of a long run of ``a``). Over the whole data it may be longer,
    or not exist. It is not reported: an Overlong note says where (see ``_Scan._take``), and the
    scan goes on after it as after a match, so that every path through the data lines up alike.
    """

    __slots__ = ()


@record(frozen=True)
class SearchOptions:
    """Knobs for tests and benchmarks; the defaults are what users get."""

    # StringZilla/Hyperscan when installed (MMHEX_PURE_PYTHON_SEARCH=1 turns them off)
    accelerated: bool = factory(accelerated_by_default)
    use_lease: bool = True  # scan mapped memory in place under a read lease (else copy)
    chunk_size: int = DEFAULT_CHUNK
    max_regex_match: int = DEFAULT_MAX_REGEX_MATCH
    # Per piece of the file; None or 0: no limit. Enforced in the main thread only (see _Deadline).
    regex_time_limit: float | None = DEFAULT_REGEX_TIME_LIMIT


DEFAULT_OPTIONS = SearchOptions()


# ===================================================================== pattern parsing
def parse_hex_pattern(text: str) -> list[tuple[int, int]]:
    """``"DE AD ?? EF 4?"`` → ``[(value, mask), ...]``: mask bits are the nibbles that must match.

    Bytes may be written together (``DEADBEEF``) or apart, with optional ``0x`` prefixes and commas;
    ``?`` stands for one nibble, so ``??`` is any byte, ``4?`` any of 0x40-0x4F, ``?F`` any byte
    ending in F.
    """
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise PatternError("Enter the bytes to search for, for example DE AD ?? EF.")
    result: list[tuple[int, int]] = []
    for token in tokens:
        digits = token[2:] if token[:2].lower() == "0x" else token
        bad = next((c for c in digits if c not in "0123456789abcdefABCDEF?"), None)
        if bad is not None or not digits:
            raise PatternError(
                f"'{token}' is not hex: use digits 0-9, A-F and ? for an unknown nibble."
            )
        if len(digits) % 2:
            raise PatternError(
                f"'{token}' has an odd number of hex digits; write each byte as two (0F, ??, 4?)."
            )
        for i in range(0, len(digits), 2):
            value = mask = 0
            for nibble in digits[i : i + 2]:
                value <<= 4
                mask <<= 4
                if nibble != "?":
                    value |= int(nibble, 16)
                    mask |= 0xF
            result.append((value, mask))
    return result


def _hex_units(pairs: Sequence[tuple[int, int]]) -> list[tuple[bytes, ...]]:
    units = []
    for value, mask in pairs:
        if mask == 0xFF:
            units.append((bytes([value]),))
        else:
            units.append(tuple(bytes([b]) for b in range(256) if b & mask == value))
    return units


def _text_units(text: str, encoding: TextEncoding, ignore_case: bool) -> list[tuple[bytes, ...]]:
    if not text:
        raise PatternError("Enter the text to search for.")
    codec = encoding.value
    units: list[tuple[bytes, ...]] = []
    for char in text:
        try:
            encoded = char.encode(codec)
        except UnicodeEncodeError:
            raise PatternError(
                f"The character {char!r} cannot be written in {encoding.label}; "
                "choose another encoding."
            ) from None
        variants = [encoded]
        if ignore_case:
            for other in (char.lower(), char.upper(), char.title(), char.casefold()):
                if len(other) != 1 or other == char:
                    continue
                try:
                    other_bytes = other.encode(codec)
                except UnicodeEncodeError:
                    continue
                # Only same-length case partners keep the pattern fixed-length ('ß'/'SS' do not).
                if len(other_bytes) == len(encoded) and other_bytes not in variants:
                    variants.append(other_bytes)
        units.append(tuple(variants))
    return units


def _byte_class(values: Sequence[int]) -> bytes:
    """A regex character class for a set of byte values, as ``\\xHH`` ranges (same in re and HS)."""
    ordered = sorted(set(values))
    if len(ordered) == 256:
        return rb"[\x00-\xff]"
    parts = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(b"\\x%02x" % ordered[i])
        if j > i:
            parts.append(b"-\\x%02x" % ordered[j])
        i = j + 1
    if len(ordered) == 1:
        return parts[0]
    return b"[" + b"".join(parts) + b"]"


def _escape_bytes(data: bytes) -> bytes:
    return b"".join(b"\\x%02x" % b for b in data)


def _units_regex(units: Sequence[tuple[bytes, ...]]) -> bytes:
    parts = []
    for alternatives in units:
        if all(len(a) == 1 for a in alternatives):
            parts.append(_byte_class([a[0] for a in alternatives]))
        else:
            parts.append(b"(?:" + b"|".join(_escape_bytes(a) for a in alternatives) + b")")
    return b"".join(parts)


# ===================================================================== compiled patterns
@record(frozen=True)
class SearchPattern:
    """What the user typed and how to read it."""

    kind: PatternKind
    text: str | bytes
    encoding: TextEncoding = TextEncoding.LATIN1
    ignore_case: bool = False

    def compile(self, max_regex_match: int = DEFAULT_MAX_REGEX_MATCH) -> CompiledPattern:
        return compile_pattern(self, max_regex_match)


@record(eq=False)
class CompiledPattern:
    """A pattern ready to scan; ``length`` is set for literal/fixed shapes (all matches that long).

    ``literal`` is set when the pattern is exact bytes; ``regex`` is always an equivalent Python
    pattern (the fallback, and for fixed shapes the verifier), compiled from ``regex_source``
    at its first use: counting a literal never needs it.
    """

    description: str
    regex_source: bytes
    length: int | None = None
    literal: bytes | None = None
    anchor: tuple[int, bytes] | None = None  # (offset in pattern, exact bytes) for fallback search
    max_length: int = 0
    hyperscan_source: bytes | None = None
    # Regex: exact bytes every match contains, and how far after the match start they can be
    # (min, max): (b"needle-", 0, 0) for rb"needle-[A-Z]+".
    factor: tuple[bytes, int, int] | None = None
    source: SearchPattern | None = None
    # Regex: sentences on matches this windowed search may report differently from `re` on the
    # whole file (see regex_limit_warnings).
    warnings: tuple[str, ...] = ()
    # Regex: a match can be longer than max_length (one that long may have been cut there).
    may_exceed: bool = False
    # Regex: whether a match can depend on where the bytes end ($, \Z, \b, \B, a negative
    # look-ahead): one that reaches the end of a cut-off buffer may then exist only there.
    end_sensitive: bool = False
    # Regex: a Hyperscan pattern every match starts with, and its (least, most) length.
    prefix_source: bytes | None = None
    prefix_width: tuple[int, int] = (0, 0)
    # Regex: how far around a place the search looks first (at most max_length), and, for a
    # pattern whose matches can be longer, what they are made of (see long_match_bytes): the
    # class of bytes a long match holds at most ``reach_slack`` of.
    window: int = 0
    reach_class: bytes | None = None
    reach_slack: int = 0
    regex_flags: int = 0
    _regex: re.Pattern[bytes] | None = None
    _databases: dict[str, Any] = factory(dict)

    @property
    def is_regex(self) -> bool:
        return self.length is None

    @property
    def regex(self) -> re.Pattern[bytes]:
        if self._regex is None:
            self._regex = re.compile(self.regex_source, self.regex_flags)
        return self._regex

    def hyperscan_database(self) -> Any | None:
        """The compiled Hyperscan block-mode database, or None if unavailable/unsupported.

        It reports match *ends* only. Never add HS_FLAG_SOM_LEFTMOST (start of match): with it,
        Hyperscan 0.9.1 (5.4) dies of SIGSEGV on AVX-512 CPUs for patterns as plain as ``A+B``
        on random data (tests/core/test_search_fuzz.py runs every engine in a child to catch
        such crashes).
        """
        return self._database(self.hyperscan_source)

    def prefix_database(self) -> Any | None:
        """Like hyperscan_database, for ``prefix_source`` (the bounded start of every match)."""
        return self._database(self.prefix_source)

    def _database(self, source: bytes | None) -> Any | None:
        _hs = _hyperscan()
        if _hs is None or source is None:
            return None
        if source not in self._databases:
            database = _hs.Database(mode=_hs.HS_MODE_BLOCK)
            try:
                database.compile(
                    expressions=[source], ids=[0], elements=1, flags=[_hs.HS_FLAG_DOTALL]
                )
            except _hs.error:
                database = None  # e.g. "pattern too large": re alone will do
            self._databases[source] = database
        return self._databases[source]


def compile_pattern(
    pattern: SearchPattern, max_regex_match: int = DEFAULT_MAX_REGEX_MATCH
) -> CompiledPattern:
    """Turn what the user typed into a CompiledPattern; PatternError says what is wrong."""
    if pattern.kind is PatternKind.REGEX:
        return _compile_regex(pattern, max_regex_match)
    if pattern.kind is PatternKind.HEX:
        text = pattern.text if isinstance(pattern.text, str) else pattern.text.decode("latin-1")
        units = _hex_units(parse_hex_pattern(text))
        description = "hex " + " ".join(text.split())
    else:
        if isinstance(pattern.text, bytes):
            if not pattern.text:
                raise PatternError("Enter the text to search for.")
            units = [(bytes([b]),) for b in pattern.text]
            if pattern.ignore_case:
                units = [_ascii_case_unit(u[0]) for u in units]
            description = f"text {pattern.text!r}"
        else:
            units = _text_units(pattern.text, pattern.encoding, pattern.ignore_case)
            description = f"{pattern.encoding.label} text {pattern.text!r}"
        if pattern.ignore_case:
            description += " (any case)"
    return _compile_units(units, description, pattern)


def _ascii_case_unit(byte: bytes) -> tuple[bytes, ...]:
    swapped = byte.swapcase()
    return (byte,) if swapped == byte else (byte, swapped)


def _compile_units(
    units: list[tuple[bytes, ...]], description: str, source: SearchPattern | None
) -> CompiledPattern:
    length = sum(len(u[0]) for u in units)
    source_regex = _units_regex(units)
    literal = b"".join(u[0] for u in units) if all(len(u) == 1 for u in units) else None
    anchor = None
    if literal is None:
        best: tuple[int, bytes] | None = None
        offset = 0
        run_start = 0
        run = b""
        for unit in units:
            if len(unit) == 1:
                if not run:
                    run_start = offset
                run += unit[0]
                if best is None or len(run) > len(best[1]):
                    best = (run_start, run)
            else:
                run = b""
            offset += len(unit[0])
        anchor = best
    return CompiledPattern(
        description=description,
        regex_source=source_regex,
        regex_flags=_RE_DOTALL,
        length=length,
        literal=literal,
        anchor=anchor,
        max_length=length,
        hyperscan_source=None if literal is not None else source_regex,
        source=source,
    )


def _compile_regex(pattern: SearchPattern, max_regex_match: int) -> CompiledPattern:
    raw = pattern.text
    source = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
    if not source:
        raise PatternError("Enter a regular expression to search for.")
    flags = re.IGNORECASE if pattern.ignore_case else 0
    try:
        compiled = re.compile(source, flags)
    except re.error as exc:
        raise PatternError(f"The regular expression is not valid: {exc}.") from None
    except (OverflowError, RecursionError):
        raise PatternError("The regular expression is too large or nested too deeply.") from None
    parsed = _parse_tree(source, flags)
    min_width, max_width = parsed.getwidth() if parsed is not None else (1, 1 << 64)
    if min_width == 0:
        raise PatternError(
            "This regular expression can match an empty string; make it match at least one "
            "byte (for example use + instead of *)."
        )
    max_length = min(max_width, max_regex_match)
    window = max(1, min(max_length, REGEX_WINDOW))
    hyperscan_source = _prefilter_source(parsed, compiled.flags) if parsed is not None else None
    prefix = _bounded_prefix(parsed, compiled.flags) if parsed is not None else None
    if prefix is not None and prefix[2] >= window:
        prefix = None  # the whole match is as short: its ends place its starts well enough
    reach: tuple[bytes | None, int] = (None, 0)
    limit = max_regex_match
    if max_width > window:
        reach = long_match_bytes(parsed, compiled.flags) if parsed is not None else (_NEVER, 0)
        if reach[0] == _NEVER:
            # Its long repeats can take every byte value: a match could run on through any
            # data, so nothing bounds a look-ahead. Such a pattern is cut at the window.
            reach, limit = (None, 0), window
            max_length = window
    warnings = regex_limit_warnings(parsed, limit) if parsed is not None else ()
    if limit < max_regex_match and not warnings:
        warnings = (
            f"its repeats together can match any byte, so a match can run on through any data:"
            f" matches longer than {_size_text(limit)} are cut there",
        )
    return CompiledPattern(
        description=f"regex {source.decode('latin-1')!r}"
        + (" (any case)" if pattern.ignore_case else ""),
        regex_source=source,
        regex_flags=compiled.flags,
        _regex=compiled,
        max_length=max(1, max_length),
        hyperscan_source=hyperscan_source,
        factor=_required_factor(parsed, compiled.flags, window) if parsed else None,
        source=pattern,
        warnings=warnings,
        may_exceed=max_width > max_length,
        end_sensitive=_end_sensitive(parsed) if parsed is not None else True,
        prefix_source=prefix[0] if prefix else None,
        prefix_width=(prefix[1], prefix[2]) if prefix else (0, 0),
        window=window,
        reach_class=reach[0],
        reach_slack=reach[1],
    )


def _bounded_prefix(parsed: Any, flags: int) -> tuple[bytes, int, int] | None:
    """The longest run of leading items of a regex whose width is bounded (at most _MAX_PREFIX),
    as a Hyperscan prefilter pattern with its least and greatest length; None if it is empty.

    Every match starts with a match of this prefix, so where Hyperscan finds the prefix *ending*
    tells where matches can *start*, as precisely as start-of-match reports would, without them.
    """
    try:
        from re import _parser  # type: ignore[attr-defined]

        items = list(parsed)
        count = most = 0
        while count < len(items):
            width = _parser.SubPattern(parsed.state, items[: count + 1]).getwidth()
            if width[1] > _MAX_PREFIX:
                break
            count, most = count + 1, width[1]
        least = _parser.SubPattern(parsed.state, items[:count]).getwidth()[0]
        if least < 1:
            return None
        source = _prefilter_source(_parser.SubPattern(parsed.state, items[:count]), flags)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None
    return (source, least, most) if source else None


def regex_limit_warnings(parsed: Any, max_regex_match: int) -> tuple[str, ...]:
    """Why this windowed search may miss or cut matches that ``re``/``grep -P`` over the whole
    file would find: a repeat that can run past the longest match, a look-around that can see
    past the context. Empty when the pattern stays inside the limits."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return ()
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None))
    found: dict[str, str] = {}

    def visit(nodes: Any) -> None:
        for op, arg in nodes:
            if op in repeats:
                _low, high, sub = arg
                unbounded = high == c.MAXREPEAT
                if unbounded and _class_size(sub, c) >= _BROAD_CLASS:
                    found["broad"] = (
                        "an unbounded repeat of a broad class (such as .* or [^x]+) can run "
                        f"past the longest match of {_size_text(max_regex_match)}: longer "
                        "matches are cut there"
                    )
                elif not unbounded and high * max(1, sub.getwidth()[1]) > max_regex_match:
                    found["long"] = (
                        f"matches can be longer than the longest match of "
                        f"{_size_text(max_regex_match)}: longer ones are cut there"
                    )
                visit(sub)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                _direction, sub = arg
                if sub.getwidth()[1] > REGEX_CONTEXT:
                    found["context"] = (
                        f"a look-ahead or look-behind can reach further than the "
                        f"{_size_text(REGEX_CONTEXT)} of context it sees around a match"
                    )
                visit(sub)
            elif op is c.SUBPATTERN:
                visit(arg[3])
            elif op is c.BRANCH:
                for alternative in arg[1]:
                    visit(alternative)
            elif op is getattr(c, "ATOMIC_GROUP", None):
                visit(arg)

    try:
        visit(parsed)
    except (AttributeError, TypeError, ValueError, OverflowError):
        return ()
    return tuple(found.values())


def _end_sensitive(parsed: Any) -> bool:
    """Whether a match of the pattern can succeed *because* the bytes end where they do: an
    end anchor (``$``, ``\\Z``), a word boundary (``\\b``, ``\\B``) or a negative look-ahead
    (true when nothing follows). ``re`` given a buffer cut short of the data's end (where the
    longest match stops the look-ahead) can find such a match at the cut that ``re`` over the
    whole data does not (see ``_Scan._checked``); for any other pattern, a match found there
    starts a match over the whole data too, a longer one. True when the pattern cannot be
    followed."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return True
    at_ends = {c.AT_END, c.AT_END_STRING, c.AT_BOUNDARY, c.AT_NON_BOUNDARY}
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None))
    atomic = getattr(c, "ATOMIC_GROUP", None)

    def parts(op: Any, arg: Any) -> list[Any]:
        if op in (c.ASSERT, c.ASSERT_NOT):
            return [arg[1]]
        if op in repeats:
            return [arg[2]]
        if op is c.SUBPATTERN:
            return [arg[3]]
        if op is c.BRANCH:
            return list(arg[1])
        if op is c.GROUPREF_EXISTS:
            return [branch for branch in arg[1:] if branch is not None]
        return [arg] if op is atomic else []

    def visit(nodes: Any) -> bool:
        for op, arg in nodes:
            if (op is c.AT and arg in at_ends) or (op is c.ASSERT_NOT and arg[0] == 1):
                return True
            if any(visit(part) for part in parts(op, arg)):
                return True
        return False

    try:
        return visit(parsed)
    except (AttributeError, TypeError, ValueError, IndexError, RecursionError):
        return True


# A repeat is "long" (its bytes may fill a match far beyond the fast window) when it is
# unbounded or can be longer than this; the rest of a pattern is short.
_LONG_REPEAT = 1024
_NEVER = rb"(?!)"


def long_match_bytes(parsed: Any, flags: int) -> tuple[bytes, int]:
    """What a match longer than the fast window can be made of: a regex class matching every
    byte that no long repeat can consume, and ``slack``, the most bytes the rest of the pattern
    (all but its long repeats) can match.

    So a match holds at most ``slack`` bytes of that class, wherever it lies: a stretch with
    more of them cannot lie inside one match. The windowed search uses this to see how far a
    match through a given offset could reach (``_Scan._reach_forward``/``_reach_back``), and
    grows its look-back or look-ahead that far instead of missing a long match. Constructs it
    cannot follow give the class that never matches (any reach possible: grow to the limit).
    """
    try:
        from re import _constants as c  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return _NEVER, 0
    repeats = (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None))
    consumed: set[int] = set()
    groups: dict[int, Any] = {}

    def collect(nodes: Any) -> None:  # group number -> its sub-pattern (for back-references)
        for op, arg in nodes:
            if op is c.SUBPATTERN:
                if arg[0] is not None:
                    groups[arg[0]] = (arg[1], arg[2], arg[3])
                collect(arg[3])
            elif op in repeats:
                collect(arg[2])
            elif op is c.BRANCH:
                for alternative in arg[1]:
                    collect(alternative)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                collect(arg[1])
            elif op is getattr(c, "ATOMIC_GROUP", None):
                collect(arg)

    def visit(nodes: Any, node_flags: int, long: bool, depth: int = 0) -> int:
        """The most bytes ``nodes`` match outside long repeats (whose bytes go to consumed)."""
        if depth > 50:
            raise _Unsupported("nesting")
        fold = bool(node_flags & re.IGNORECASE)
        width = 0
        for op, arg in nodes:
            values: set[int] | None = None
            if op is c.LITERAL:
                values = _fold({arg}) if fold else {arg}
            elif op is c.NOT_LITERAL:
                values = _ALL - (_fold({arg}) if fold else {arg})
            elif op is c.ANY:
                values = _ALL if node_flags & re.DOTALL else _ALL - {10}
            elif op is c.IN:
                values = _charset(arg, fold, c)
            if values is not None:
                if long:
                    consumed.update(values)
                else:
                    width += 1
            elif op is c.BRANCH:
                width += max(visit(alt, node_flags, long, depth + 1) for alt in arg[1])
            elif op is c.SUBPATTERN:
                _group, add_flags, del_flags, sub = arg
                width += visit(sub, (node_flags | add_flags) & ~del_flags, long, depth + 1)
            elif op in repeats:
                _low, high, sub = arg
                most = sub.getwidth()[1]
                grows = long or high == c.MAXREPEAT or high * most > _LONG_REPEAT
                inner = visit(sub, node_flags, grows, depth + 1)
                width += 0 if grows else high * inner
            elif op is getattr(c, "ATOMIC_GROUP", None):
                width += visit(arg, node_flags, long, depth + 1)
            elif op is c.GROUPREF:
                add_flags, del_flags, sub = groups[arg]
                width += visit(sub, (node_flags | add_flags) & ~del_flags, long, depth + 1)
            elif op is c.GROUPREF_EXISTS:
                _group, yes, no = arg
                branches = [yes] + ([no] if no is not None else [])
                width += max(visit(b, node_flags, long, depth + 1) for b in branches)
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue  # zero-width: consumes nothing
            else:
                raise _Unsupported(op)
        return width

    try:
        collect(parsed)
        slack = visit(parsed, flags | parsed.state.flags, False)
    except (_Unsupported, AttributeError, TypeError, ValueError, KeyError, RecursionError):
        return _NEVER, 0
    rest = _ALL - consumed
    return (_byte_class(sorted(rest)) if rest else _NEVER), slack


def _class_size(sub: Any, c: Any) -> int:
    """How many byte values the one-byte item ``sub`` matches (0 if it is not one byte wide)."""
    if len(sub) != 1:
        return 0
    op, arg = sub[0]
    if op is c.ANY:
        return 255
    if op is c.NOT_LITERAL:
        return 255
    if op is not c.IN:
        return 1 if op is c.LITERAL else 0
    size, negate = 0, False
    for item, value in arg:
        if item is c.NEGATE:
            negate = True
        elif item is c.LITERAL:
            size += 1
        elif item is c.RANGE:
            size += value[1] - value[0] + 1
        elif item is c.CATEGORY:
            size += 256 - 10 if "NOT" in str(value) else 10
    return 256 - size if negate else size


def _size_text(size: int) -> str:
    if size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size:,} bytes"


# ===================================================================== regex → Hyperscan prefilter
# The prefilter must report the end of every match Python's re would find (more is fine: re
# confirms). So the pattern is rebuilt from Python's own parse tree, not passed through: byte sets
# are spelled out, case folding is applied here, and zero-width assertions are dropped (which can
# only add matches). Constructs that change what bytes match (back-references) disable it.
def _parse_tree(source: bytes, flags: int) -> Any | None:
    try:
        from re import _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - other Pythons
        return None
    try:
        return _parser.parse(source, flags)
    except Exception:
        return None


class _Unsupported(Exception):
    pass


_WORD = set(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGIT = set(b"0123456789")
_SPACE = set(b" \t\n\r\f\v")
_ALL = set(range(256))


def _fold(values: set[int]) -> set[int]:
    folded = set(values)
    for v in values:
        if 0x41 <= v <= 0x5A or 0x61 <= v <= 0x7A:
            folded.add(v ^ 0x20)
    return folded


def _category(name: Any, c: Any) -> set[int]:
    """The bytes of a category (\\d, \\s, \\w and their negations) in bytes patterns."""
    table = {
        c.CATEGORY_DIGIT: _DIGIT,
        c.CATEGORY_NOT_DIGIT: _ALL - _DIGIT,
        c.CATEGORY_SPACE: _SPACE,
        c.CATEGORY_NOT_SPACE: _ALL - _SPACE,
        c.CATEGORY_WORD: _WORD,
        c.CATEGORY_NOT_WORD: _ALL - _WORD,
    }
    if name not in table:
        raise _Unsupported(name)
    return set(table[name])


def _charset(items: Any, ignore_case: bool, c: Any) -> set[int]:
    """The bytes a parsed character class (``IN``) matches."""
    values: set[int] = set()
    negate = False
    for op, arg in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            values.add(arg)
        elif op is c.RANGE:
            values.update(range(arg[0], arg[1] + 1))
        elif op is c.CATEGORY:
            values |= _category(arg, c)
        else:
            raise _Unsupported(op)
    if ignore_case:
        values = _fold(values)
    return _ALL - values if negate else values


def _prefilter_source(parsed: Any, flags: int) -> bytes | None:
    try:
        from re import _constants as c  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return None

    def charset(items: Any, ignore_case: bool) -> set[int]:
        return _charset(items, ignore_case, c)

    def emit(nodes: Any, node_flags: int) -> bytes:
        if node_flags & re.LOCALE:
            raise _Unsupported("locale")
        ignore_case = bool(node_flags & re.IGNORECASE)
        out = []
        for op, arg in nodes:
            if op is c.LITERAL:
                out.append(_byte_class(sorted(_fold({arg}) if ignore_case else {arg})))
            elif op is c.NOT_LITERAL:
                out.append(_byte_class(sorted(_ALL - (_fold({arg}) if ignore_case else {arg}))))
            elif op is c.ANY:
                out.append(_byte_class(sorted(_ALL if node_flags & re.DOTALL else _ALL - {10})))
            elif op is c.IN:
                values = charset(arg, ignore_case)
                if not values:
                    raise _Unsupported("empty class")
                out.append(_byte_class(sorted(values)))
            elif op is c.BRANCH:
                out.append(b"(?:" + b"|".join(emit(alt, node_flags) for alt in arg[1]) + b")")
            elif op is c.SUBPATTERN:
                _group, add_flags, del_flags, sub = arg
                out.append(b"(?:" + emit(sub, (node_flags | add_flags) & ~del_flags) + b")")
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                low, high, sub = arg
                body = emit(sub, node_flags)
                if not body:
                    continue
                bound = b"%d," % low if high == c.MAXREPEAT else b"%d,%d" % (low, high)
                out.append(b"(?:" + body + b"){" + bound + b"}")
            elif op is getattr(c, "ATOMIC_GROUP", None):
                out.append(b"(?:" + emit(arg, node_flags) + b")")
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue  # zero-width: dropping it can only add matches
            else:
                raise _Unsupported(op)  # back-references and conditionals change the bytes
        return b"".join(out)

    try:
        text = emit(parsed, flags | parsed.state.flags)
    except (_Unsupported, AttributeError, TypeError, ValueError):
        return None
    return text or None


def _required_factor(parsed: Any, flags: int, max_length: int) -> tuple[bytes, int, int] | None:
    """The longest run of exact bytes at the top level of the pattern (inside plain groups too),
    with the least and greatest distance from a match start to it; None if there is none worth
    using (shorter than _MIN_FACTOR, or case-insensitive)."""
    try:
        from re import _constants as c  # type: ignore[attr-defined]
        from re import _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover
        return None
    if (flags | parsed.state.flags) & (re.IGNORECASE | re.LOCALE):
        return None

    def flatten(nodes: Any) -> list[Any]:
        items: list[Any] = []
        for op, arg in nodes:
            if op is c.SUBPATTERN and not (arg[1] | arg[2]) & (re.IGNORECASE | re.LOCALE):
                items.extend(flatten(arg[3]))
            else:
                items.append((op, arg))
        return items

    try:
        items = flatten(parsed)
        best: tuple[int, int] | None = None
        run_start = 0
        for i, (op, _arg) in enumerate([*items, (None, None)]):
            if op is c.LITERAL:
                continue
            if best is None or i - run_start > best[1] - best[0]:
                best = (run_start, i)
            run_start = i + 1
        if best is None or best[1] - best[0] < _MIN_FACTOR:
            return None
        factor = bytes(arg for _op, arg in items[best[0] : best[1]])
        before = _parser.SubPattern(parsed.state, items[: best[0]])
        low, high = before.getwidth()
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None
    if high > max_length:
        return None  # it can lie further into a match than the window reaches: not a guide
    return factor, low, high


# ===================================================================== segments
class _Segment(  # not typing.NamedTuple: 1.5 ms of start-up
    namedtuple(
        "_Segment",
        ("lo", "hi", "buf_lo", "buf_hi", "in_place", "kind"),
        defaults=(SpanKind.READ,),
    )
):
    """Starts ``[lo, hi)`` are decided from the buffer ``[buf_lo, buf_hi)`` (``in_place``: a
    view of the mapping, else a copy); ``kind`` NONE / EVERY: a hole span, decided unread."""

    __slots__ = ()


def _segments(
    mapped: MappedFile,
    lo: int,
    hi: int,
    data_lo: int,
    data_hi: int,
    before: int,
    after: int,
    chunk: int,
) -> Iterator[_Segment]:
    """Cut the starts ``[lo, hi)`` into pieces whose buffers sit inside one window where possible.

    A piece's buffer reaches ``before`` bytes before its first start and ``after`` bytes past its
    last one (clipped to ``[data_lo, data_hi)``). Near a window boundary (of an edited document:
    a piece boundary too, see ``scan.view_region``) the buffer would span two mappings: that
    short seam is copied instead of viewed in place, so a match across the boundary is seen
    whole, exactly once.
    """
    pos = lo
    window_start = window_end = lo
    while pos < hi:
        if not window_start <= pos < window_end:
            window_start, window_end = view_region(mapped, pos)
        in_place_lo = window_start if data_lo >= window_start else window_start + before
        in_place_hi = hi if data_hi <= window_end else window_end - after
        if in_place_lo <= pos < in_place_hi:
            end = min(hi, in_place_hi, pos + chunk)
            in_place = True
        else:
            # copy up to where in-place viewing becomes possible again (here or in a later
            # window: pieces too short to hold one in-place start, such as a few inserted
            # bytes, are copied in the same seam)
            in_this_window = pos < in_place_lo < in_place_hi
            if in_this_window:
                next_in_place = in_place_lo
            else:
                following = window_end
                while following < min(hi, pos + chunk):
                    region_lo, region_hi = view_region(mapped, following)
                    reach_hi = hi if data_hi <= region_hi else region_hi - after
                    if region_lo + before < reach_hi:
                        window_start, window_end = region_lo, region_hi  # the next one's
                        break
                    following = region_hi
                next_in_place = following + before
            end = min(hi, pos + chunk, max(next_in_place, pos + 1))
            in_place = False
        yield _Segment(pos, end, max(data_lo, pos - before), min(data_hi, end + after), in_place)
        pos = end


def _segments_backward(
    mapped: MappedFile,
    lo: int,
    hi: int,
    data_lo: int,
    data_hi: int,
    before: int,
    after: int,
    chunk: int,
) -> Iterator[_Segment]:
    """The same pieces as ``_segments`` (in window-sized blocks), last first."""
    block = max(chunk, mapped.window_size)
    top = hi
    while top > lo:
        bottom = max(lo, top - block)
        pieces = list(_segments(mapped, bottom, top, data_lo, data_hi, before, after, chunk))
        yield from reversed(pieces)
        top = bottom


# ===================================================================== engines
# Bytes read at a time (at most) while measuring how far a long match could reach.
_REACH_STEP = 1 << 20
# Starts this few are tried one by one rather than searched for (see _Scan._leftmost).
_FEW_STARTS = 64
# Find previous (see _Scan._settled_last): the most steps the walk back to a place no match
# crosses may take before scanning from the start of the stretch instead, and the first stretch
# scanned again from that place (it doubles up to the chunk size).
_SYNC_STEPS = 4096
_SYNC_STEP = 4096


def _run_of(byte_class: bytes, slack: int) -> re.Pattern[bytes]:
    """A pattern matching from one byte of ``byte_class`` to the ``slack``-th after it."""
    other = b"[^" + (byte_class[1:] if byte_class.startswith(b"[") else byte_class + b"]")
    return re.compile(
        byte_class + (b"(?:%s*+%s){%d}" % (other, byte_class, slack) if slack else b"")
    )


class _Region:
    """A private copy of document bytes that nearby candidates share; it moves and grows on
    demand (past the piece's own buffer when a long match needs it)."""

    def __init__(self, scan: _Scan, seg: _Segment, data: bytes | None) -> None:
        self.scan = scan
        if data is not None:  # a whole-piece copy is there already
            self.lo, self.hi, self.data = seg.buf_lo, seg.buf_hi, data
        else:
            self.lo = self.hi = seg.buf_lo
            self.data = b""

    def cover(self, lo: int, hi: int) -> bytes:
        """The copy, holding at least ``[lo, hi)`` (a little more, for the next candidates)."""
        if lo < self.lo or hi > self.hi:
            self.lo = lo
            self.hi = min(self.scan.data_hi, hi + _REGION)
            self.data = self.scan.reader.copy(self.lo, self.hi)
        return self.data


class _Engine:
    """Finds the starts of one pattern inside a buffer; subclasses per pattern shape."""

    before = 0
    after = 0

    def __init__(self, pattern: CompiledPattern) -> None:
        self.pattern = pattern


class _FixedEngine(_Engine):
    """Literal or fixed-length pattern: every start, overlapping ones included."""

    def __init__(self, pattern: CompiledPattern, accelerated: bool) -> None:
        super().__init__(pattern)
        assert pattern.length is not None
        self.length = pattern.length
        self.after = self.length - 1
        self.literal = pattern.literal
        self.use_sz = accelerated and _sz is not None and self.literal is not None
        self.database = (
            pattern.hyperscan_database() if accelerated and self.literal is None else None
        )
        self.pattern = pattern
        self.scratch = _hyperscan().Scratch(self.database) if self.database is not None else None
        self._anchor_offset = pattern.anchor[0] if pattern.anchor is not None else 0
        # A wildcard pattern with an exact run of a few bytes: find the run with StringZilla and
        # check the rest with re; Hyperscan takes over where the run turns out to be common.
        self.anchored = (
            accelerated
            and _sz is not None
            and self.literal is None
            and pattern.anchor is not None
            and len(pattern.anchor[1]) >= _MIN_FACTOR
        )

    # The `re` searches, made at first use (a literal counted by StringZilla needs none).
    @cached_property
    def _verify(self) -> Callable[..., Any]:
        return self.pattern.regex.match

    @cached_property
    def _anchor_search(self) -> Callable[..., Any] | None:
        if self.pattern.anchor is None:
            return None
        return re.compile(re.escape(self.pattern.anchor[1])).search

    @cached_property
    def _search(self) -> Callable[..., Any]:
        if self.literal:
            return re.compile(re.escape(self.literal)).search
        return self.pattern.regex.search

    def starts(self, buf: Any, lo: int, hi: int, cap: int) -> list[int]:
        """Starts in ``[lo, hi)`` (indexes into ``buf``) of matches that fit in ``buf``; ≤ cap."""
        end = min(len(buf), hi + self.length - 1)
        if end - lo < self.length:
            return []
        if self.use_sz:
            return self._starts_sz(buf, lo, end, cap)
        if self.anchored:
            return self._starts_anchored(buf, lo, hi, end, cap)
        if self.database is not None:
            return self._starts_hs(buf, lo, end, cap)
        return self._starts_re(buf, lo, hi, end, cap)

    def _starts_anchored(self, buf: Any, lo: int, hi: int, end: int, cap: int) -> list[int]:
        offset, anchor = self.pattern.anchor  # type: ignore[misc]
        find, verify, length = _sz.find, self._verify, self.length
        found: list[int] = []
        budget = max(256, (end - lo) >> 10)  # more than one false lead per KiB: not worth it
        tried = 0
        pos = find(buf, anchor, lo + offset, end)
        while pos >= 0:
            start = pos - offset
            if start >= hi:
                break
            if start + length <= end and verify(buf, start, end):
                found.append(start)
                if len(found) >= cap:
                    break
            tried += 1
            if tried > budget and self.database is not None:
                return found + self._starts_hs(buf, start + 1, end, cap - len(found))
            pos = find(buf, anchor, pos + 1, end)
        return found

    def _starts_sz(self, buf: Any, lo: int, end: int, cap: int) -> list[int]:
        found = []
        find, literal = _sz.find, self.literal
        pos = find(buf, literal, lo, end)
        while pos >= 0:
            found.append(pos)
            if len(found) >= cap:
                break
            pos = find(buf, literal, pos + 1, end)
        return found

    def _starts_hs(self, buf: Any, lo: int, end: int, cap: int) -> list[int]:
        found: list[int] = []
        shift = lo - self.length

        def on_match(_id: int, _from: int, to: int, _flags: int, _ctx: object) -> bool:
            found.append(to + shift)
            return len(found) >= cap

        view = memoryview(buf)[lo:end]
        try:
            self.database.scan(view, match_event_handler=on_match, scratch=self.scratch)
        except _hyperscan().ScanTerminated:
            pass
        finally:
            view.release()
        return found

    def _starts_re(self, buf: Any, lo: int, hi: int, end: int, cap: int) -> list[int]:
        found: list[int] = []
        if self._anchor_search is not None and self.literal is None:
            verify, offset = self._verify, self._anchor_offset
            search = self._anchor_search
            pos = lo + offset
            while True:
                m = search(buf, pos, end)
                if m is None:
                    break
                start = m.start() - offset
                if start >= hi:
                    break
                if start + self.length <= end and verify(buf, start, end):
                    found.append(start)
                    if len(found) >= cap:
                        break
                pos = m.start() + 1
            return found
        search = self._search
        pos = lo
        while pos < hi:
            m = search(buf, pos, end)
            if m is None or m.start() >= hi:
                break
            found.append(m.start())
            if len(found) >= cap:
                break
            pos = m.start() + 1
        return found

    def last(self, buf: Any, lo: int, hi: int) -> int | None:
        """The greatest start in ``[lo, hi)`` whose match fits in ``buf``."""
        end = min(len(buf), hi + self.length - 1)
        if self.use_sz:
            pos = _sz.rfind(buf, self.literal, lo, end)
            return pos if pos >= 0 else None
        result = None
        pos = lo
        while True:
            found = self.starts(buf, pos, hi, _CALL_CAP)
            if not found:
                return result
            result = found[-1]
            if len(found) < _CALL_CAP:
                return result
            pos = result + 1

    def count(self, buf: Any, lo: int, hi: int) -> int:
        end = min(len(buf), hi + self.length - 1)
        if self.use_sz and end - lo >= self.length:
            return _sz.count(buf, self.literal, lo, end, allowoverlap=True)
        total = 0
        pos = lo
        while True:
            found = self.starts(buf, pos, hi, _CALL_CAP)
            total += len(found)
            if len(found) < _CALL_CAP:
                return total
            pos = found[-1] + 1


class _RegexEngine(_Engine):
    """Python ``re`` decides; Hyperscan (if any) first reports where matches may end."""

    def __init__(self, pattern: CompiledPattern, accelerated: bool) -> None:
        super().__init__(pattern)
        # The fast window: candidates are confirmed this far around; longer matches grow it.
        self.max_length = pattern.window or pattern.max_length
        self.before = REGEX_CONTEXT
        self.after = self.max_length + REGEX_CONTEXT
        self.search = pattern.regex.search
        self.match = pattern.regex.match
        self.database = pattern.hyperscan_database() if accelerated else None
        self.scratch = _hyperscan().Scratch(self.database) if self.database is not None else None
        self.factor = pattern.factor if accelerated and _sz is not None else None
        self.prefix_database = None
        self.prefix_scratch = None
        if accelerated and self.factor is None:
            self.prefix_database = pattern.prefix_database()
        if self.prefix_database is not None:
            self.prefix_scratch = _hyperscan().Scratch(self.prefix_database)

    def factor_hits(self, buf: Any, lo: int, end: int) -> list[int] | None:
        """Where the required bytes occur in ``buf[lo:end]`` (None: too often to be worth it)."""
        assert self.factor is not None
        factor = self.factor[0]
        find = _sz.find
        hits: list[int] = []
        pos = find(buf, factor, lo, end)
        while pos >= 0:
            hits.append(pos)
            if len(hits) >= _CALL_CAP:
                return None
            pos = find(buf, factor, pos + 1, end)
        return hits

    def candidates(self, buf: Any, lo: int, end: int, *, prefix: bool = False) -> list[int] | None:
        """Where matches (or, with ``prefix``, their bounded starts) may end, sorted, in
        ``[lo, end)``; offsets index ``buf``.

        None means "too many to be worth it: let re look at everything".
        """
        database = self.prefix_database if prefix else self.database
        scratch = self.prefix_scratch if prefix else self.scratch
        ends: list[int] = []

        def on_match(_id: int, _start: int, stop: int, _flags: int, _ctx: object) -> bool:
            ends.append(stop + lo)
            return len(ends) >= _CALL_CAP

        view = memoryview(buf)[lo:end]
        try:
            database.scan(view, match_event_handler=on_match, scratch=scratch)
        except _hyperscan().ScanTerminated:
            return None
        finally:
            view.release()
        return ends


def _make_engine(pattern: CompiledPattern, options: SearchOptions) -> _FixedEngine | _RegexEngine:
    if pattern.is_regex:
        return _RegexEngine(pattern, options.accelerated)
    return _FixedEngine(pattern, options.accelerated)


# ===================================================================== the scan itself
def _mapped_of(source: Any) -> MappedFile:
    # A source without a MappedFile (a process) is read through its own read(): read_through.
    return scannable(source)


def fork_guard(source: Any) -> AbstractContextManager[None]:
    """Wrap ``os.fork()`` of a process that will search ``source`` (see MappedFile.forking)."""
    return _mapped_of(source).forking()


def _as_compiled(
    pattern: SearchPattern | CompiledPattern, options: SearchOptions
) -> CompiledPattern:
    if isinstance(pattern, CompiledPattern):
        return pattern
    return compile_pattern(pattern, options.max_regex_match)


def _clip_scope(mapped: MappedFile, scope: tuple[int, int] | None) -> tuple[int, int]:
    size = mapped.size
    if scope is None:
        return 0, size
    start, end = scope
    return max(0, min(start, size)), max(0, min(end, size))


class _Scan:
    """One search over one scope: owns the reader, the engine and the progress."""

    def __init__(
        self,
        source: Any,
        pattern: SearchPattern | CompiledPattern,
        scope: tuple[int, int] | None,
        progress: Progress | None,
        options: SearchOptions,
        on_overlong: Callable[[Overlong], None] | None = None,
    ) -> None:
        self.mapped = _mapped_of(source)
        self.pattern = _as_compiled(pattern, options)
        self.options = options
        self.data_lo, self.data_hi = _clip_scope(self.mapped, scope)
        self.engine = _make_engine(self.pattern, options)
        self.progress = progress
        self.reader = SafeReader(self.mapped, use_lease=options.use_lease)
        self.deadline = _Deadline(options.regex_time_limit if self.pattern.is_regex else None)
        self.source = source
        # Long regex matches (see _decide): what they are made of, and where the limit bit.
        reach_class = self.pattern.reach_class if self.pattern.is_regex else None
        self.reach = re.compile(reach_class) if reach_class is not None else None
        # The (slack + 1)-th such byte from a place on, found by one search (see _reach_forward).
        self.reach_run = _run_of(reach_class, self.pattern.reach_slack) if reach_class else None
        self.slack = self.pattern.reach_slack
        self.cap = max(self.pattern.max_length, 1)
        self.overlong: list[Overlong] = []
        self._reached = (-1, -1, -1)  # the last _reach_forward: (x, limit, result)
        self.on_overlong = on_overlong
        pattern = self.pattern
        self.zero_match = matches_zeros(
            pattern.regex if pattern.literal is None else None,
            fixed_length=pattern.length,
            literal=pattern.literal,
            factor=pattern.factor[0] if pattern.factor else None,
        )

    def close(self) -> None:
        self.reader.close()

    def _segments(self, lo: int, hi: int, backward: bool = False) -> Iterator[_Segment]:
        make = _segments_backward if backward else _segments
        engine = self.engine
        spans = start_spans(
            self.source,
            lo,
            hi,
            scope=(self.data_lo, self.data_hi),
            before=engine.before,
            after=engine.after,
            zero_match=self.zero_match,
            fixed_length=engine.length if isinstance(engine, _FixedEngine) else None,
        )
        for span_lo, span_hi, kind in reversed(spans) if backward else spans:
            if kind is not SpanKind.READ:  # a hole: nothing to read
                yield _Segment(span_lo, span_hi, span_lo, span_lo, False, kind)
                continue
            yield from make(
                self.mapped,
                span_lo,
                span_hi,
                self.data_lo,
                self.data_hi,
                engine.before,
                engine.after,
                self.options.chunk_size,
            )

    def _advance(self, amount: int) -> None:
        if self.progress is not None:
            self.progress.advance(amount)

    # ------------------------------------------------------------- forward
    def forward(self, lo: int, hi: int) -> Iterator[list[Match]]:
        """Batches of matches with starts in ``[lo, hi)``, in order (one batch per piece)."""
        lo, hi = max(lo, self.data_lo), min(hi, self.data_hi)
        if isinstance(self.engine, _FixedEngine):
            yield from self._forward_fixed(lo, hi)
        else:
            yield from self._forward_regex(lo, hi)

    def _forward_fixed(self, lo: int, hi: int) -> Iterator[list[Match]]:
        engine = self.engine
        length = engine.length
        reader = self.reader
        with reader.holding():  # released before every yield: the caller may pause there
            for seg in self._segments(lo, hi):
                if seg.kind is not SpanKind.READ:
                    if seg.kind is SpanKind.EVERY:  # inside a hole every start matches zeros
                        reader.release()
                        for first in range(seg.lo, seg.hi, _CALL_CAP):
                            last = min(seg.hi, first + _CALL_CAP)
                            yield [Match(s, s + length) for s in range(first, last)]
                    self._advance(seg.hi - seg.lo)
                    continue
                pos = seg.lo
                while True:
                    with self._view(seg) as buf:
                        starts = engine.starts(
                            buf, pos - seg.buf_lo, seg.hi - seg.buf_lo, _CALL_CAP
                        )
                    if starts:
                        base = seg.buf_lo
                        reader.release()
                        yield [Match(s + base, s + base + length) for s in starts]
                    if len(starts) < _CALL_CAP:
                        break
                    pos = starts[-1] + seg.buf_lo + 1
                self._advance(seg.hi - seg.lo)

    def _forward_regex(self, lo: int, hi: int, pausing: bool = True) -> Iterator[list[Match]]:
        """``forward`` for a regex. Views of consecutive pieces share one hold (see
        ``SafeReader.holding``), also across the ``re`` confirmations between them: those run
        on private copies, each bounded by the time limit, so a writer waits at most one
        piece's confirmations longer than for a literal scan. ``pausing``: the caller may
        pause at a yield, so the hold ends before each (``count`` does not pause)."""
        resume = lo
        reader = self.reader
        with reader.holding():
            for seg in self._segments(lo, hi):
                if seg.kind is not SpanKind.READ:  # NONE only: a regex matching zeros reads all
                    self._advance(seg.hi - seg.lo)
                    continue
                found, resume = self._regex_piece(seg, resume)
                if found:
                    if pausing:
                        reader.release()
                    yield found
                self._advance(seg.hi - seg.lo)

    def _regex_piece(self, seg: _Segment, resume: int) -> tuple[list[Match], int]:
        """Regex matches starting in the piece at or after ``resume``, and the next resume point.

        ``re`` may backtrack for long, so it only ever runs on private copies, never on leased
        memory. With Hyperscan, only the few places where a match can end are copied. The time
        limit is armed only where ``re`` runs: a piece without candidates (most pieces of an
        edited file) costs no timer and no signal handler.
        """
        engine = self.engine
        assert isinstance(engine, _RegexEngine)
        first = max(seg.lo, resume)
        if first >= seg.hi:
            return [], resume
        found: list[int] | None = None
        data: Any = None
        if engine.factor is not None:
            least = engine.factor[1]
            scan_lo = first + least
            scan_end = min(seg.buf_hi, seg.hi - 1 + engine.max_length)
            hits: list[int] | None = []
            if scan_lo < scan_end:
                if seg.in_place:
                    with self.reader.view(scan_lo, scan_end) as view:
                        hits = engine.factor_hits(view, 0, len(view))
                    shift = scan_lo
                else:
                    data = self.reader.copy(seg.buf_lo, seg.buf_hi)
                    hits = engine.factor_hits(data, scan_lo - seg.buf_lo, scan_end - seg.buf_lo)
                    shift = seg.buf_lo
            if hits is not None:
                if not hits:
                    return [], resume
                _factor, least, most = engine.factor
                with self.deadline.piece(seg.lo):
                    return self._confirm_factor(
                        seg, first, [h + shift for h in hits], data, least, most
                    )
        if engine.prefix_database is not None:
            least, most = self.pattern.prefix_width
            scan_end = min(seg.buf_hi, seg.hi - 1 + most)
            if seg.in_place:
                with self.reader.view(first, scan_end) as view:
                    hits = engine.candidates(view, 0, len(view), prefix=True)
                shift = first
            else:
                data = self.reader.copy(seg.buf_lo, seg.buf_hi)
                hits = engine.candidates(
                    data, first - seg.buf_lo, scan_end - seg.buf_lo, prefix=True
                )
                shift = seg.buf_lo
            if hits is not None:
                if not hits:
                    return [], resume
                with self.deadline.piece(seg.lo):
                    return self._confirm_factor(
                        seg, first, [h + shift for h in hits], data, least, most
                    )
        if engine.database is not None:
            scan_end = min(seg.buf_hi, seg.hi - 1 + engine.max_length)
            if seg.in_place:
                with self.reader.view(first, scan_end) as view:
                    found = engine.candidates(view, 0, len(view))
                shift = first
            else:
                data = self.reader.copy(seg.buf_lo, seg.buf_hi)
                found = engine.candidates(data, first - seg.buf_lo, scan_end - seg.buf_lo)
                shift = seg.buf_lo
            if found is not None:
                with self.deadline.piece(seg.lo):
                    ends = [e + shift for e in found]
                    matches, pos = self._confirm(seg, first, ends, data, scan_end)
                return matches, pos  # pos > first without matches: past an unsure one
        if data is None:
            data = self.reader.copy(seg.buf_lo, seg.buf_hi)
        with self.deadline.piece(seg.lo):
            matches, pos = self._pure(seg, first, data)
        return matches, pos  # pos > first without matches: past an unsure one

    def _confirm_factor(
        self,
        seg: _Segment,
        pos: int,
        hits: list[int],
        data: bytes | None,
        least: int,
        most: int,
    ) -> tuple[list[Match], int]:
        """Let ``re`` decide near each hit (absolute, sorted): a place where the required bytes
        occur, or where the bounded prefix ends.

        A match with a hit at ``q`` starts in ``[q - most, q - least]``; hits are visited in
        order, so the leftmost match is met at its own hit or earlier.
        """
        engine = self.engine
        assert isinstance(engine, _RegexEngine)
        longest = engine.max_length
        found: list[Match] = []
        region = _Region(self, seg, data)
        floor = pos
        for hit in hits:
            last_start = hit - least
            if last_start < max(pos, floor):
                continue
            start_at = max(pos, floor, hit - most)
            if start_at >= seg.hi:
                break
            need_hi = min(seg.buf_hi, last_start + longest + REGEX_CONTEXT)
            m = self._decide(region, start_at, last_start + 1, need_hi, None)
            if m is None:
                floor = last_start + 1  # no match starts in [start_at, last_start]
                continue
            if m.start >= seg.hi:
                break
            pos = self._take(found, m)
        return found, pos

    def _confirm(
        self,
        seg: _Segment,
        pos: int,
        ends: list[int],
        data: bytes | None,
        scan_end: int,
    ) -> tuple[list[Match], int]:
        """Let ``re`` decide near each candidate end (absolute offsets, sorted), ``ends`` being
        every end Hyperscan saw up to ``scan_end``.

        The leftmost match at or after ``pos`` that starts before candidate ``e`` (the first
        one past ``pos``) ends at a candidate in ``[e, e + max_length)`` and starts at or after
        ``e - max_length`` unless it is longer than that window: then ``_decide`` grows the
        look-back and look-ahead as far as such a match could reach. A search that finds no
        match starting before ``e`` proves there is none up to ``e`` (the floor).
        """
        engine = self.engine
        assert isinstance(engine, _RegexEngine)
        longest = engine.max_length
        found: list[Match] = []
        region = _Region(self, seg, data)
        floor = pos
        index = 0
        while pos < seg.hi:
            index = bisect.bisect_right(ends, max(pos, floor), index)
            if index == len(ends):
                break
            end = ends[index]
            start_at = max(pos, floor, end - longest)
            if start_at >= seg.hi:
                break
            # A match starting before `end` ends at a candidate no later than end + longest.
            last = ends[bisect.bisect_right(ends, end + longest, index) - 1]
            need_hi = min(seg.buf_hi, last + REGEX_CONTEXT)
            m = self._decide(region, start_at, end, need_hi, max(pos, floor))
            if m is None:
                floor = end  # no match starts in [start_at, end]
                continue
            if m.start >= seg.hi:
                break
            pos = self._take(found, m)
        # A match that starts here but ends past what Hyperscan saw showed no end to go by.
        while self.reach is not None and pos < seg.hi and scan_end < self.data_hi:
            if self._reach_forward(region, seg.hi - 1, scan_end + 1) <= scan_end:
                break
            lo = max(pos, floor, self._reach_back(region, scan_end, max(pos, floor)))
            m = self._decide(region, lo, seg.hi, min(self.data_hi, scan_end + REGEX_CONTEXT), None)
            if m is None:
                break
            pos = self._take(found, m)
        return found, pos

    def _pure(self, seg: _Segment, first: int, data: bytes) -> tuple[list[Match], int]:
        """Without Hyperscan: ``re`` over the piece's copy, leftmost matches in turn. The copy
        reaches as far as a match starting in the piece could (``_bounds``), once per piece."""
        region = _Region(self, seg, data)
        lo, hi, clipped = self._bounds(region, first, seg.hi, seg.buf_hi, None)
        data = region.cover(max(self.data_lo, lo - REGEX_CONTEXT), hi)
        base, end = region.lo, hi - region.lo
        search = self.engine.search
        found: list[Match] = []
        last: Match | None = None
        pos = first
        while pos < seg.hi:
            m = search(data, pos - base, end)
            if m is None or m.start() + base >= seg.hi:
                break
            last = self._checked(m.start() + base, m.end() + base, hi)
            pos = self._take(found, last)
        self._note_if_cut(clipped, last)
        return found, pos

    # ------------------------------------------------------------- long matches
    def _decide(
        self, region: _Region, lo: int, before: int, hi: int, floor: int | None
    ) -> Match | None:
        """The leftmost ``re`` match starting in ``[lo, before)``, searched in the bytes up to
        ``hi`` (absolute offsets), the bounds first widened by ``_bounds`` where a longer match
        could change the answer; with ``floor``, ``before`` is where a match ends (a Hyperscan
        report) and its start may lie as far back as ``floor``."""
        lo, hi, clipped = self._bounds(region, lo, before, hi, floor)
        found = self._leftmost(region, lo, before, hi)
        self._note_if_cut(clipped, found)
        return found

    def _bounds(
        self, region: _Region, lo: int, before: int, hi: int, floor: int | None
    ) -> tuple[int, int, Overlong | None]:
        """Where to look for the leftmost match starting before ``before`` so that the answer
        is that of ``re`` over the whole document: ``(lo, hi, clipped)``.

        A match found in the given bounds could still differ from it when a longer one would
        run past ``hi``, or (with ``floor``) when the match ending at ``before`` started before
        ``lo``. The pattern's long-match bytes (long_match_bytes) say how far such a match could
        reach at most: the bounds become exactly that (so a search never runs on a long run cut
        short, where ``re`` can backtrack for long). The longest match (``max_length``) caps
        them; ``clipped`` then says where (see ``_note_if_cut``).
        """
        if self.reach is None:
            return lo, hi, None
        clipped: Overlong | None = None
        if floor is not None and lo > floor:
            low = self._reach_back(region, before, floor)
            if before - low > self.cap:
                low, clipped = before - self.cap, Overlong(before, True)
            lo = min(lo, low)
        # Every match starting before `before` that reaches further holds byte before - 1.
        probe = before - 1
        reach = self._reach_forward(region, probe, min(self.data_hi, probe + self.cap + 1))
        if reach > probe + self.cap:
            reach, clipped = probe + self.cap, Overlong(probe, False)
        return lo, min(self.data_hi, reach + REGEX_CONTEXT), clipped

    def _note_if_cut(self, clipped: Overlong | None, found: Match | None) -> None:
        """Report a place where the longest match stopped the bounds, unless a match was found
        there that is shorter than the limit (it is whole)."""
        if isinstance(found, _Unsure):
            return  # noted where it is taken (see _take)
        if clipped is not None and (found is None or found.length >= self.cap):
            self._note_overlong(clipped if found is None else Overlong(found.start, False))

    def _leftmost(self, region: _Region, lo: int, before: int, hi: int) -> Match | None:
        """``re``'s leftmost match starting in ``[lo, before)`` in the bytes up to ``hi``.

        A few starts are tried one by one (re.match): a search would go on trying every start
        up to ``hi``, which after a long look-ahead can be far."""
        data = region.cover(max(self.data_lo, lo - REGEX_CONTEXT), hi)
        base = region.lo
        if before - lo <= _FEW_STARTS:
            match = self.engine.match
            for start in range(lo - base, min(before, hi) - base):
                m = match(data, start, hi - base)
                if m is not None:
                    return self._checked(m.start() + base, m.end() + base, hi)
            return None
        m = self.engine.search(data, lo - base, hi - base)
        if m is None or m.start() + base >= before:
            return None
        return self._checked(m.start() + base, m.end() + base, hi)

    def _checked(self, start: int, end: int, hi: int) -> Match:
        """The match ``re`` found in the bytes up to ``hi``, or an ``_Unsure`` one.

        Every match the search is after (up to the longest match, and its look-ahead context)
        ends at least ``REGEX_CONTEXT`` bytes before ``hi`` unless ``hi`` is the data's end: the
        bounds are made so. One ending nearer is longer and ran into the cut; for most patterns
        a longer match starts there over the whole data (it is reported cut there, and
        ``_note_if_cut`` says so), but an end anchor, word boundary or negative look-ahead can
        have succeeded only because ``re`` takes ``hi`` for the end of the data (its
        ``endpos`` is the end of the string).
        """
        if end + REGEX_CONTEXT > hi and hi < self.data_hi and self.pattern.end_sensitive:
            return _Unsure(start, end)
        return Match(start, end)

    def _take(self, found: list[Match], m: Match) -> int:
        """Add ``m`` to ``found``, unless it is unsure: then say where instead. Where the scan
        goes on (after ``m`` either way)."""
        if isinstance(m, _Unsure):
            self._note_overlong(Overlong(m.start, False))
        else:
            found.append(m)
        return m.end

    def _reach_forward(self, region: _Region, x: int, limit: int) -> int:
        """How far a match holding the byte at ``x`` can reach at most: the offset of the
        (slack + 1)-th byte from ``x`` on that no long repeat consumes (``limit`` if none)."""
        assert self.reach is not None
        if self._reached[:2] == (x, limit):
            return self._reached[2]
        reach = self._reach_forward_scan(region, x, limit)
        self._reached = (x, limit, reach)
        return reach

    def _reach_forward_scan(self, region: _Region, x: int, limit: int) -> int:
        if region.lo <= x < region.hi:  # usually answered inside the copy, by one search
            end = min(limit, region.hi)
            m = self.reach_run.search(region.data, x - region.lo, end - region.lo)
            if m is not None:
                return m.end() - 1 + region.lo
            if end >= limit:
                return limit
        need = self.slack + 1
        pos = x
        step = 4096
        while pos < limit:
            end = min(limit, pos + step)
            data = self.reader.copy(pos, end)
            for m in self.reach.finditer(data):
                need -= 1
                if need == 0:
                    return m.start() + pos
            pos = end
            step = min(step * 2, _REACH_STEP)
        return limit

    def _reach_back(self, region: _Region, end: int, floor: int) -> int:
        """The lowest start a match reaching ``end`` can have (at least ``floor``): just past
        the (slack + 1)-th byte before ``end`` that no long repeat consumes."""
        assert self.reach is not None
        need = self.slack + 1
        pos = end
        step = 256
        while pos > floor:
            start = max(floor, pos - step)
            if region.lo <= start and pos <= region.hi:
                data, base = region.data, region.lo
            else:
                data, base = self.reader.copy(start, pos), start
            hits = [m.start() for m in self.reach.finditer(data, start - base, pos - base)]
            if len(hits) >= need:
                return hits[len(hits) - need] + base + 1
            need -= len(hits)
            pos = start
            step = min(step * 2, _REACH_STEP)
        return floor

    def _note_overlong(self, place: Overlong) -> None:
        self.overlong.append(place)
        if self.on_overlong is not None:
            self.on_overlong(place)

    def _view(self, seg: _Segment) -> Any:
        if seg.in_place:
            return self.reader.view(seg.buf_lo, seg.buf_hi)
        return _CopiedView(self.reader.copy(seg.buf_lo, seg.buf_hi))

    # ------------------------------------------------------------- backward
    def last_before(self, lo: int, hi: int) -> Match | None:
        """The match with the greatest start in ``[lo, hi)``."""
        lo, hi = max(lo, self.data_lo), min(hi, self.data_hi)
        if lo >= hi:
            return None
        engine = self.engine
        for seg in self._segments(lo, hi, backward=True):
            if seg.kind is SpanKind.EVERY:
                return Match(seg.hi - 1, seg.hi - 1 + engine.length)
            if seg.kind is SpanKind.NONE:
                self._advance(seg.hi - seg.lo)
                continue
            if isinstance(engine, _FixedEngine):
                with self._view(seg) as buf:
                    start = engine.last(buf, seg.lo - seg.buf_lo, seg.hi - seg.buf_lo)
                if start is not None:
                    start += seg.buf_lo
                    return Match(start, start + engine.length)
            else:
                found, _resume = self._regex_piece(seg, seg.lo)
                if found:
                    return self._settled_last(found, seg, lo)
            self._advance(seg.hi - seg.lo)
        return None

    def _settled_last(self, found: list[Match], seg: _Segment, lo: int) -> Match:
        """The last match of a forward scan from ``lo``, given ``found``: the matches of the last
        piece holding any, found by scanning forward from the start of that piece.

        Matches do not overlap, so a match running into the piece from before it (a long one,
        or just ``.{3}`` across the piece's first byte) shifts how the piece's matches line up
        in a scan from ``lo``. The scan is taken up again at the nearest place at or before the
        piece that no match crosses (``_sync_point``), where every scan from before agrees with
        the one from ``lo``, until it meets a match of ``found`` (from there on both scans are
        the same) or the piece ends."""
        last = found[-1]
        if seg.lo <= lo:
            return last
        start = self._sync_point(seg.lo, lo)
        if start >= seg.lo:
            return last
        seen = {m.start for m in found}
        progress, self.progress = self.progress, _CancelOnly.of(self.progress)
        try:
            pos, step = start, _SYNC_STEP
            while pos < seg.hi:
                end = min(seg.hi, pos + step)
                batch = [m for b in self._forward_regex(pos, end) for m in b]
                for m in batch:
                    if m.start in seen:
                        return found[-1]
                    last = m
                # No match starts between the batch's last end and `end`: go on from either.
                pos = max(end, batch[-1].end) if batch else end
                step = min(2 * step, self.options.chunk_size)
        finally:
            self.progress = progress
        return last

    def _sync_point(self, p: int, lo: int) -> int:
        """The greatest offset in ``[lo, p]`` that no match crosses (none starts before it and
        ends after it): every forward scan that started before it takes up there as if it started
        there. ``lo`` itself, where the reference scan starts, if none is nearer.

        Walks back from ``p``: a match crossing ``q`` starts at most the longest match before it
        (for a long pattern, as far back as ``_reach_back`` says); the crossing match found
        leftmost there is where to look next. A pattern that matches nearly every byte, such as
        ``(?s).{3}``, has no such place (the alignment depends on the whole stretch): past as
        many steps as 1/64 of the stretch has bytes (at least ``_SYNC_STEPS``; a step costs as
        much as a forward scan of some 30 bytes), the scan from ``lo``
        is the cheaper way to know it."""
        region = _Region(self, _Segment(p, p, p, p, False), None)
        kept = len(self.overlong)  # the scan from the place found notes those itself
        q = p
        span = self.cap + REGEX_CONTEXT
        steps = max(_SYNC_STEPS, (p - lo) // 64)
        try:
            while steps > 0:
                self._advance(0)  # Cancel
                with self.deadline.piece(q):
                    for _step in range(min(steps, _SYNC_STEPS)):
                        if q <= lo:
                            return lo
                        need = max(self.data_lo, q - self.cap - REGEX_CONTEXT)
                        if self.reach is None and need < region.lo:
                            # one copy for many steps back (a region grows only as asked)
                            span = min(2 * span, _REACH_STEP)
                            region.cover(
                                max(self.data_lo, q - span),
                                min(self.data_hi, q + self.cap + REGEX_CONTEXT),
                            )
                        crossing = self._crossing(region, q, lo)
                        if crossing is None:
                            return q
                        q = crossing.start
                steps -= _SYNC_STEPS
        finally:
            del self.overlong[kept:]
        return lo

    def _crossing(self, region: _Region, q: int, lo: int) -> Match | None:
        """The leftmost match starting in ``[lo, q)`` that ends after ``q``, if any."""
        if self.reach is not None:
            earliest = self._reach_back(region, q + 1, lo)  # a match holding the byte at q
        else:
            earliest = q - self.cap + 1
        pos = max(lo, earliest, q - self.cap + 1)
        hi = min(self.data_hi, q + self.cap + REGEX_CONTEXT)
        while pos < q:
            m = self._decide(region, pos, q, hi, None)
            if m is None:
                return None
            if m.end > q:
                return m
            pos = m.start + 1
        return None

    # ------------------------------------------------------------- counting
    def count(self, lo: int, hi: int, workers: int = 1) -> int:
        lo, hi = max(lo, self.data_lo), min(hi, self.data_hi)
        engine = self.engine
        if not isinstance(engine, _FixedEngine):
            return sum(len(batch) for batch in self._forward_regex(lo, hi, pausing=False))
        if workers > 1 and self.progress is None:
            return self._count_forked(lo, hi)
        total = 0
        with self.reader.holding():
            for seg in self._segments(lo, hi):
                if seg.kind is SpanKind.EVERY:
                    total += seg.hi - seg.lo
                elif seg.kind is SpanKind.READ:
                    with self._view(seg) as buf:
                        total += engine.count(buf, seg.lo - seg.buf_lo, seg.hi - seg.buf_lo)
                self._advance(seg.hi - seg.lo)
        return total

    def _count_forked(self, lo: int, hi: int) -> int:
        """Count ``[lo, hi)`` in this process and a forked child, both taking parts from one queue.

        StringZilla holds the GIL, so threads would take turns; one core counts a cached 2 GiB
        in about 90 ms where ripgrep takes 65. The bytes to read (holes cost nothing) are cut
        into parts of about ``_COUNT_PART`` bytes, and each process takes the next part from a
        pipe until it is empty: a core slowed by other work takes fewer parts, where fixed
        halves would wait for the slower one (on a busy machine, medians 10% lower). Each part
        is counted exactly as one count would, so a match across a cut is counted once (by the
        part it starts in).

        The child is a plain copy of this process with read leases of its own (its own
        SafeReader) and the fault guard it inherits. It answers with its total and the parts it
        counted; if it fails in any way this process counts every part the child did not
        report, so errors (a truncated file) are reported here, as without the child.
        """
        cuts = self._count_parts(lo, hi)
        if cuts is None:
            return self.count(lo, hi)
        parts = len(cuts) - 1
        queue_read = _part_queue(parts)
        if queue_read is None:
            return self.count(lo, hi)
        try:
            read_end, write_end = os.pipe()
        except OSError:
            os.close(queue_read)
            return self.count(lo, hi)
        try:
            with fork_guard(self.source):
                pid = os.fork()
        except OSError:  # EAGAIN, ENOMEM: count it all here
            for fd in (queue_read, read_end, write_end):
                os.close(fd)
            return self.count(lo, hi)
        if pid == 0:  # the child: count, answer, and leave without running any cleanup
            status = 1
            try:
                os.close(read_end)
                self.reader = SafeReader(self.mapped, use_lease=self.options.use_lease)
                total, done = self._count_queued(queue_read, cuts)
                answer = " ".join(map(str, [total, *done])).encode()
                while answer:
                    answer = answer[os.write(write_end, answer) :]
                status = 0
            finally:
                os._exit(status)
        os.close(write_end)
        reaped = False
        try:
            total, done = self._count_queued(queue_read, cuts)
            answer = b""
            while chunk := os.read(read_end, 65536):
                answer += chunk
            _pid, status = os.waitpid(pid, 0)
            reaped = True
            numbers = [int(word) for word in answer.split()] if status == 0 else []
            if numbers:
                total += numbers[0]
                done.extend(numbers[1:])
            counted = set(done)
            for part in range(parts):  # the child's, if it failed or was stopped
                if part not in counted:
                    total += self.count(cuts[part], cuts[part + 1])
            return total
        finally:
            os.close(queue_read)
            os.close(read_end)
            if not reaped:  # an error or Ctrl+C here: the child's answer is not wanted
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)

    def _count_parts(self, lo: int, hi: int) -> list[int] | None:
        """Cuts of ``[lo, hi)`` into parts with about equal bytes to read, or None when there is
        too little to read for a second process to pay."""
        spans = []
        reading = 0
        for seg in self._segments(lo, hi):
            if seg.kind is SpanKind.READ:
                reading += seg.hi - seg.lo
                spans.append((seg.lo, seg.hi))
        if reading < _FORK_MIN_BYTES:
            return None
        step = max(_COUNT_PART, -(-reading // _MAX_COUNT_PARTS))
        cuts = [lo]
        owed = step  # bytes to read before the next cut
        for start, end in spans:
            while end - start >= owed:
                start += owed
                if hi - start < step // 2:  # no sliver at the end
                    break
                cuts.append(start)
                owed = step
            else:
                owed -= end - start
        cuts.append(hi)
        return cuts

    def _count_queued(self, queue: int, cuts: list[int]) -> tuple[int, list[int]]:
        """Count parts taken one by one from ``queue`` until it is empty; the total and the parts.

        Every message is 4 bytes and the writer wrote them all before anyone read, so each read
        of 4 bytes is one whole part number, and no two readers get the same one.
        """
        total, done = 0, []
        while message := os.read(queue, 4):
            part = int.from_bytes(message, "little")
            total += self.count(cuts[part], cuts[part + 1])
            done.append(part)
        return total, done


def _part_queue(parts: int) -> int | None:
    """The read end of a pipe holding the part numbers 0 .. parts-1 (4 bytes each), or None.

    Written whole before anyone reads, without blocking: a pipe holds at least one page (an
    unprivileged user past pipe-user-pages-soft gets just that), which _MAX_COUNT_PARTS fits.
    """
    try:
        queue_read, queue_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:  # EMFILE, ENFILE
        return None
    message = b"".join(i.to_bytes(4, "little") for i in range(parts))
    try:
        written = os.write(queue_write, message)
    except OSError:
        written = -1
    finally:
        os.close(queue_write)
    if written != len(message):
        os.close(queue_read)
        return None
    os.set_blocking(queue_read, True)
    return queue_read


class _Deadline:
    """Stops ``re`` when it runs past the time limit on one piece of the file.

    CPython's ``re`` checks for signals while it matches, so a SIGALRM handler that raises ends
    even a match that would backtrack forever. Only the main thread runs signal handlers, so the
    limit holds there alone: the CLI's thread, and the window's search process (a fork whose only
    thread is its main one). The handler raises only while ``re`` runs (the interrupted frame is
    one of the confirming loops), never inside Hyperscan's callback or a leased view (a lease
    hold kept across the confirmations is given up as the error leaves ``holding``); elsewhere
    it looks again shortly.
    """

    _RETRY = 0.05

    def __init__(self, seconds: float | None) -> None:
        usable = threading.current_thread() is threading.main_thread()
        self.seconds = seconds if seconds and seconds > 0 and usable else None

    @contextmanager
    def piece(self, offset: int) -> Iterator[None]:
        if self.seconds is None:
            yield
            return
        seconds = self.seconds
        regex_frames = _REGEX_FRAMES

        def on_alarm(_signum: int, frame: Any) -> None:
            if frame is not None and frame.f_code in regex_frames:
                raise RegexTimeLimitError(seconds, offset)
            signal.setitimer(signal.ITIMER_REAL, self._RETRY)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        started = time.monotonic()
        pending, interval = signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if pending > 0:  # someone else's timer was running: give it back what is left
                left = max(0.001, pending - (time.monotonic() - started))
                signal.setitimer(signal.ITIMER_REAL, left, interval)


class _CopiedView:
    """A context manager around an already-copied buffer (the seam pieces)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __enter__(self) -> bytes:
        return self.data

    def __exit__(self, *exc: object) -> None:
        return None


class _CancelOnly:
    """Stands in for the progress while find previous scans a stretch again: Cancel still works,
    but the bytes, counted once already, are not counted twice."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    @classmethod
    def of(cls, progress: Progress | None) -> _CancelOnly | None:
        return None if progress is None else cls(progress)

    def advance(self, _amount: int) -> None:
        self.progress.advance(0)


# The loops in which re runs: where a runaway match is interrupted.
_REGEX_FRAMES = frozenset({_Scan._leftmost.__code__, _Scan._pure.__code__})


# ===================================================================== public API
def iter_matches(
    source: Any,
    pattern: SearchPattern | CompiledPattern,
    *,
    scope: tuple[int, int] | None = None,
    start: int | None = None,
    progress: Progress | None = None,
    options: SearchOptions = DEFAULT_OPTIONS,
    on_overlong: Callable[[Overlong], None] | None = None,
) -> Iterator[Match]:
    """Every match lying inside ``scope`` (whole file by default) whose start is ≥ ``start``.

    Raises FileTruncatedError (a clear sentence) if the file shrinks under the scan, Cancelled if
    the progress token is cancelled. ``on_overlong(offset)`` hears of each place where a regex
    match may be longer than the longest match (``max_regex_match``): it may be cut or missed.
    """
    for batch in iter_match_batches(
        source,
        pattern,
        scope=scope,
        start=start,
        progress=progress,
        options=options,
        on_overlong=on_overlong,
    ):
        yield from batch


def iter_match_batches(
    source: Any,
    pattern: SearchPattern | CompiledPattern,
    *,
    scope: tuple[int, int] | None = None,
    start: int | None = None,
    progress: Progress | None = None,
    options: SearchOptions = DEFAULT_OPTIONS,
    on_overlong: Callable[[Overlong], None] | None = None,
) -> Iterator[list[Match]]:
    """Like iter_matches, in lists as each piece of the file is scanned (for streaming UIs)."""
    scan = _Scan(source, pattern, scope, progress, options, on_overlong)
    try:
        lo = scan.data_lo if start is None else max(start, scan.data_lo)
        yield from scan.forward(lo, scan.data_hi)
    finally:
        scan.close()


def overlong_note(places: Sequence[Overlong], limit: int) -> str:
    """The sentence for places where a regex match may be longer than the longest match."""
    if not places:
        return ""
    first = places[0]
    where = "ending at" if first.ending else "starting at or before"
    more = f" (and {len(places) - 1:,} more)" if len(places) > 1 else ""
    return (
        f"a match {where} {first.offset:#x}{more} may be longer than the longest match "
        f"searched ({_size_text(limit)}): it may be cut there or missed"
    )


@record(frozen=True)
class FindResult:
    match: Match | None  # None: not found, but see ``overlong``
    wrapped: bool  # found only after wrapping around the end (or start) of the scope
    overlong: tuple[Overlong, ...] = ()  # where a match may be longer than the limit
    limit: int = DEFAULT_MAX_REGEX_MATCH  # the longest match searched

    @property
    def note(self) -> str:
        """The overlong sentence ('' when there is none)."""
        return overlong_note(self.overlong, self.limit)


def find_next(
    source: Any,
    pattern: SearchPattern | CompiledPattern,
    position: int,
    *,
    backward: bool = False,
    scope: tuple[int, int] | None = None,
    wrap: bool = False,
    progress: Progress | None = None,
    options: SearchOptions = DEFAULT_OPTIONS,
) -> FindResult | None:
    """The nearest match starting at ≥ ``position`` (or, backward, at < ``position``) in scope.

    With ``wrap`` the rest of the scope is searched from the other end. A regex searched
    backward finds the last match a forward scan of the same stretch would report.
    """
    scan = _Scan(source, pattern, scope, progress, options)
    try:
        lo, hi = scan.data_lo, scan.data_hi
        position = max(lo, min(position, hi))
        if not backward:
            found = _first(scan, position, hi), False
            if found[0] is None and wrap:
                found = _first(scan, lo, position), True
        else:
            found = scan.last_before(lo, position), False
            if found[0] is None and wrap:
                found = scan.last_before(position, hi), True
        if found[0] is None and not scan.overlong:
            return None
        return FindResult(found[0], found[1], tuple(scan.overlong), scan.cap)
    finally:
        scan.close()


def _first(scan: _Scan, lo: int, hi: int) -> Match | None:
    for batch in scan.forward(lo, hi):
        return batch[0]
    return None


@record
class FindAllResult:
    matches: list[Match]
    truncated: bool  # the limit was reached: there are more matches than listed
    overlong: tuple[Overlong, ...] = ()  # where a match may be longer than the limit
    limit: int = DEFAULT_MAX_REGEX_MATCH

    @property
    def summary(self) -> str:
        count = len(self.matches)
        if self.truncated:
            text = f"{count:,}+ results (stopped at the limit of {count:,})"
        else:
            text = f"{count:,} result" + ("" if count == 1 else "s")
        note = overlong_note(self.overlong, self.limit)
        return f"{text}; note: {note}" if note else text


def find_all(
    source: Any,
    pattern: SearchPattern | CompiledPattern,
    *,
    scope: tuple[int, int] | None = None,
    limit: int = DEFAULT_FIND_ALL_LIMIT,
    progress: Progress | None = None,
    on_batch: Callable[[list[Match]], None] | None = None,
    options: SearchOptions = DEFAULT_OPTIONS,
) -> FindAllResult:
    """Up to ``limit`` matches in order; ``on_batch`` sees them as they are found."""
    matches: list[Match] = []
    overlong: list[Overlong] = []
    compiled = _as_compiled(pattern, options)
    for batch in iter_match_batches(
        source,
        compiled,
        scope=scope,
        progress=progress,
        options=options,
        on_overlong=overlong.append,
    ):
        room = limit - len(matches)
        if len(batch) > room:
            batch = batch[:room]
        matches.extend(batch)
        if on_batch is not None and batch:
            on_batch(batch)
        if len(matches) >= limit:
            return FindAllResult(matches, True, tuple(overlong), compiled.max_length)
    return FindAllResult(matches, False, tuple(overlong), compiled.max_length)


def count_matches(
    source: Any,
    pattern: SearchPattern | CompiledPattern,
    *,
    scope: tuple[int, int] | None = None,
    progress: Progress | None = None,
    options: SearchOptions = DEFAULT_OPTIONS,
    workers: int = 1,
) -> int:
    """How many matches ``iter_matches`` would yield, without building them (fast for literals).

    ``workers=2`` counts fixed-length patterns of a large range in two processes (a fork; for
    single-threaded callers like the command line, without progress reports).
    """
    scan = _Scan(source, pattern, scope, progress, options)
    try:
        return scan.count(scan.data_lo, scan.data_hi, workers)
    finally:
        scan.close()


def non_overlapping(matches: Iterator[Match] | Sequence[Match]) -> Iterator[Match]:
    """Keep each match that starts at or after the end of the last kept one (for Replace all)."""
    end = -1
    for m in matches:
        if m.start >= end:
            yield m
            end = m.end

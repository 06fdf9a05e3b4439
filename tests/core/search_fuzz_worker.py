"""Child process of tests/core/test_search_fuzz.py: random patterns × random data, every engine.

Run as ``python search_fuzz_worker.py FIRST_SEED COUNT DIR``. For each seed it prints ``CASE seed
description`` (flushed, so that the parent can name the case that killed this process), then
checks every engine path against Python's ``re`` over the whole file as the oracle, printing
``MISMATCH ...`` lines, and at the end ``DONE cases compared skipped``.

Not collected by pytest (the name does not start with ``test_``).
"""

from __future__ import annotations

import inspect
import random
import re
import signal
import sys
from pathlib import Path

from mmhex.core import search
from mmhex.core.mapping import MappedFile
from mmhex.core.record import replace
from mmhex.core.search import (
    PatternError,
    PatternKind,
    RegexTimeLimitError,
    SearchOptions,
    SearchPattern,
    compile_pattern,
    count_matches,
    find_next,
    iter_matches,
)

ALPHABET = b"AaBb\x00\n-"
WINDOW = 16 * 1024  # small windows: many boundaries for matches to straddle
TIME_LIMIT = 2.0  # seconds for the oracle, and mmhex's regex time limit per piece
# Long runs: longer than the 64 KiB that the search looks around a candidate before growing
# (search.REGEX_WINDOW), so that a match made of them is only found if the look-back or
# look-ahead grows (`xy+z` over x, 70,000 y and z was once silently missed).
_FAST_WINDOW = getattr(search, "REGEX_WINDOW", 64 * 1024)
LONG_RUN = (_FAST_WINDOW + 1000, _FAST_WINDOW + 60_000)


class _Mode:
    """Per case: whether unbounded repeats sample long runs (and the data holds some)."""

    long = False


class OracleTimeout(Exception):
    pass


def _oracle_alarm(_signum: int, _frame: object) -> None:
    raise OracleTimeout


# ===================================================================== the grammar
# Each generator returns (regex source, sampler): the sampler writes bytes the node matches, so
# that matches can be planted. Zero-width nodes sample b"".
def _lit(rng: random.Random) -> tuple[str, object]:
    b = rng.choice(ALPHABET)
    return f"\\x{b:02x}", lambda r, b=b: bytes([b])


def _cls(rng: random.Random) -> tuple[str, object]:
    members = rng.sample(list(ALPHABET), rng.randint(1, 3))
    if rng.random() < 0.3:
        inside = "".join(f"\\x{b:02x}" for b in members)
        allowed = [b for b in ALPHABET if b not in members] or [0x7E]
        return f"[^{inside}]", lambda r, a=allowed: bytes([r.choice(a)])
    inside = "".join(f"\\x{b:02x}" for b in members)
    return f"[{inside}]", lambda r, m=members: bytes([r.choice(m)])


def _dot(rng: random.Random) -> tuple[str, object]:
    return ".", lambda r: bytes([r.choice(b"AaBb\x00-")])


def _atom(rng: random.Random, depth: int) -> tuple[str, object]:
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        alternatives = [_sequence(rng, depth + 1) for _ in range(rng.randint(2, 3))]
        source = "|".join(a[0] for a in alternatives)
        group = "(?:" if rng.random() < 0.5 else "("
        samplers = [a[1] for a in alternatives]
        return group + source + ")", lambda r, s=samplers: r.choice(s)(r)
    if roll < 0.55:
        return _lit(rng)
    if roll < 0.85:
        return _cls(rng)
    return _dot(rng)


def _quantified(rng: random.Random, depth: int) -> tuple[str, object]:
    source, sampler = _atom(rng, depth)
    roll = rng.random()
    if roll < 0.5:
        return source, sampler
    if source.startswith("("):
        # Repeated groups of repeats backtrack exponentially ((a+)+): the time-limit test covers
        # those; here they would only spend the fuzz budget.
        return source + "?", lambda r, s=sampler: s(r) if r.random() < 0.5 else b""
    low, high, text = {
        0: (1, 3, "+"),
        1: (0, 3, "*"),
        2: (0, 1, "?"),
    }.get(rng.randrange(5), (None, None, None))
    if low is None:
        low = rng.randint(0, 3)
        high = low + rng.randint(0, 4)
        text = rng.choice([f"{{{low},{high}}}", f"{{{low}}}" if low else "{1}", f"{{{low},}}"])
        if text == "{1}":
            low = high = 1
        elif text == f"{{{low}}}":
            high = low
    lazy = "?" if rng.random() < 0.15 else ""

    unbounded = text in ("+", "*") or text.endswith(",}")

    def sample(r: random.Random, s=sampler, lo=low, hi=high, unbounded=unbounded) -> bytes:
        if unbounded and _Mode.long and r.random() < 0.5:
            return b"".join(s(r) for _ in range(r.randint(*LONG_RUN)))
        return b"".join(s(r) for _ in range(r.randint(lo, hi)))

    return source + text + lazy, sample


def _sequence(rng: random.Random, depth: int) -> tuple[str, object]:
    items = [_quantified(rng, depth) for _ in range(rng.randint(1, 4))]
    source = "".join(i[0] for i in items)
    samplers = [i[1] for i in items]
    return source, lambda r, s=samplers: b"".join(x(r) for x in s)


def random_regex(rng: random.Random) -> tuple[str, object]:
    """A pattern of the grammar, sometimes with anchors or one-byte look-arounds at its ends."""
    source, sampler = _sequence(rng, 0)
    if rng.random() < 0.3:
        source = rng.choice(["^", "\\b", "(?<=\\x2d)", "(?<!A)", "\\B"]) + source
    if rng.random() < 0.3:
        source += rng.choice(["$", "\\b", "(?=\\x0a)", "(?!a)", "\\Z"])
    if rng.random() < 0.2:
        source = "(?i)" + source
    return source, sampler


def random_hex(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    units = []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.55:
            units.append(f"{rng.choice(ALPHABET):02X}")
        elif roll < 0.75:
            units.append("??")
        elif roll < 0.9:
            units.append(f"{rng.choice(ALPHABET) >> 4:X}?")
        else:
            units.append(f"?{rng.choice(ALPHABET) & 15:X}")
    return " ".join(units), search.parse_hex_pattern(" ".join(units))


# ===================================================================== data
def random_data(rng: random.Random, plants: list[bytes]) -> bytes:
    size = rng.choice([1, 7, 4095, 4096, WINDOW - 1, WINDOW * 3 + 17, rng.randint(1, 5 * WINDOW)])
    if rng.random() < 0.4:
        # All 256 byte values, as in real binaries (Hyperscan's SOM crash needed such data).
        data = bytearray(rng.randbytes(rng.choice([size, rng.randint(50_000, 200_000)])))
    else:
        weights = rng.choice([None, [8, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 6, 1, 1]])
        data = bytearray(rng.choices(ALPHABET, weights=weights, k=size))
    if _Mode.long:
        # Long runs of a narrow class (one or two bytes of the alphabet) beside the plants.
        for _ in range(rng.randint(1, 2)):
            members = rng.sample(list(ALPHABET), rng.randint(1, 2))
            run = bytes(rng.choices(members, k=rng.randint(*LONG_RUN)))
            at = rng.randint(0, len(data))
            data[at:at] = run
        longest = max((len(p) for p in plants), default=0)
        if longest >= len(data):
            data += bytes(rng.choices(ALPHABET, k=longest - len(data) + rng.randint(1, WINDOW)))
    for plant in plants:
        if not plant or len(plant) > len(data):
            continue
        boundaries = [k * WINDOW for k in range(1, len(data) // WINDOW + 1)]
        if boundaries and rng.random() < 0.6:
            centre = rng.choice(boundaries) + rng.randint(-len(plant), 1)
        else:
            centre = rng.randrange(len(data))
        at = max(0, min(len(data) - len(plant), centre))
        data[at : at + len(plant)] = plant
    return bytes(data)


# ===================================================================== oracles
def overlapping_starts(regex: re.Pattern[bytes], data: bytes) -> list[int]:
    return [m.start() for m in re.finditer(b"(?=" + regex.pattern + b")", data, regex.flags)]


def engine_variants(compiled: search.CompiledPattern) -> dict[str, tuple]:
    """Each engine path the pattern can take, as (pattern, options)."""
    variants = {
        "accelerated": (
            compiled,
            SearchOptions(accelerated=True, chunk_size=5000, regex_time_limit=TIME_LIMIT),
        ),
        "accelerated-copied": (
            compiled,
            SearchOptions(
                accelerated=True, use_lease=False, chunk_size=4096, regex_time_limit=TIME_LIMIT
            ),
        ),
        "pure-python": (
            compiled,
            SearchOptions(accelerated=False, chunk_size=5000, regex_time_limit=TIME_LIMIT),
        ),
    }
    # Force the Hyperscan paths where StringZilla (or the prefix database) would be chosen.
    hyperscan = SearchOptions(accelerated=True, chunk_size=5000, regex_time_limit=TIME_LIMIT)
    if compiled.factor is not None or compiled.anchor is not None:
        plain = replace(compiled, factor=None, anchor=None, _databases={})
        variants["hyperscan"] = (plain, hyperscan)
    if compiled.prefix_source is not None:
        ends_only = replace(compiled, factor=None, anchor=None, prefix_source=None, _databases={})
        variants["hyperscan-ends"] = (ends_only, hyperscan)
    return variants


def _backward_agrees(expected: list, last: search.Match | None) -> bool:
    """Find previous from the end: exactly the last match of ``re``'s forward scan over the
    whole file (what Find All reports), for every pattern. A regex match crossing into the
    piece where the backward search finds its last match once made it report the tail of it,
    or a match starting a byte earlier (`.{3}`), instead."""
    if last is None or not expected:
        return last is None and not expected
    return tuple(last) == expected[-1]


def check_case(seed: int, directory: Path) -> tuple[bool, list[str]]:
    """(compared, mismatches) for one seed."""
    rng = random.Random(seed)
    kind = rng.choice(["regex", "regex", "regex", "hex", "text"])
    plants: list[bytes] = []
    _Mode.long = kind == "regex" and rng.random() < 0.3
    if _Mode.long:
        kind = "long-regex"
    if kind.endswith("regex"):
        source, sampler = random_regex(rng)
        plants = [sampler(rng) for _ in range(rng.randint(0, 6))]
        pattern = SearchPattern(PatternKind.REGEX, source.encode("latin-1"))
    elif kind == "hex":
        source, pairs = random_hex(rng)
        for _ in range(rng.randint(0, 6)):
            plants.append(bytes((v | (rng.randrange(256) & ~m & 0xFF)) for v, m in pairs))
        pattern = SearchPattern(PatternKind.HEX, source)
    else:
        source = bytes(rng.choices(ALPHABET, k=rng.randint(1, 8))).hex()
        needle = bytes.fromhex(source)
        plants = [needle] * rng.randint(0, 6)
        pattern = SearchPattern(PatternKind.TEXT, needle, ignore_case=rng.random() < 0.3)
    print("CASE", seed, kind, repr(source), flush=True)
    data = random_data(rng, plants)
    try:
        compiled = compile_pattern(pattern)
    except PatternError:
        return False, []  # can match the empty string: refused by design
    signal.signal(signal.SIGALRM, _oracle_alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    try:
        if compiled.is_regex:
            expected = [m.span() for m in compiled.regex.finditer(data)]
        else:
            expected = [(s, s + compiled.length) for s in overlapping_starts(compiled.regex, data)]
    except OracleTimeout:
        return False, []  # catastrophic backtracking in re itself
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    # Past the longest match a pattern may be cut or missed, but never silently: only a case
    # whose pattern was warned about (before the search, or where it ran into the limit) may
    # differ from re. (A long match silently missed is what this once caught.)
    beyond = any(e - s > compiled.max_length for s, e in expected)
    if beyond and compiled.warnings:
        return False, []  # beyond the documented longest match of this pattern, as warned
    path = directory / f"fuzz-{seed}.bin"
    path.write_bytes(data)
    problems = []
    mapped = MappedFile(str(path), window_size=WINDOW)
    try:
        for name, (variant, options) in engine_variants(compiled).items():
            told: list[object] = []
            try:
                got = [
                    tuple(m) for m in iter_matches(mapped, variant, options=options, **_told(told))
                ]
                count = count_matches(mapped, variant, options=options)
                last = find_next(mapped, variant, len(data), backward=True, options=options)
            except RegexTimeLimitError:
                continue  # the documented stop for runaway patterns
            if told and beyond:
                continue  # the search said where a match may be longer than the limit
            if got != expected:
                problems.append(
                    f"{name}: got {got[:5]}… ({len(got)}) want {expected[:5]}… ({len(expected)})"
                )
            if count != len(expected):
                problems.append(f"{name}: count {count} want {len(expected)}")
            if not _backward_agrees(expected, last.match if last else None):
                problems.append(f"{name}: last {last} want {expected[-1:]}")
    finally:
        mapped.close()
        path.unlink()
    return True, problems


def _told(notes: list[object]) -> dict[str, object]:
    """Collect the search's run-time notes of matches longer than the limit, where it has them
    (so that this worker also runs against versions of mmhex without them)."""
    if "on_overlong" in inspect.signature(iter_matches).parameters:
        return {"on_overlong": notes.append}
    return {}


def main() -> int:
    first, count, directory = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    compared = skipped = 0
    for seed in range(first, first + count):
        ok, problems = check_case(seed, directory)
        compared += ok
        skipped += not ok
        for problem in problems:
            print("MISMATCH", seed, problem, flush=True)
    print("DONE", count, compared, skipped, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

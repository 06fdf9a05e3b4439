"""`mmhex find FILE PATTERN [--hex|--text|--regex] [--count]`: match offsets for scripts.

Prints the decimal offset of every match, one per line, in increasing order. Text and hex
patterns report every offset where they match, overlapping ones included (``AA`` is found 3
times in ``AAAA``); a regular expression reports non-overlapping leftmost matches like
``grep -obUaP``. Exit status as grep: 0 matches found, 1 none, 2 error.
"""

from __future__ import annotations

import os
import sys

from mmhex.commands._fast_args import FastSpec, Option, choice
from mmhex.core.errors import describe_error

TYPE_CHECKING = False  # argparse is imported only for --help, mistakes and unusual lists
if TYPE_CHECKING:
    import argparse

HELP = (
    "Print the decimal offset of every match of PATTERN in FILE, one per line (unsaved edits do "
    "not exist here: this reads the file). Text/hex matches may overlap; regex matches are "
    "leftmost and non-overlapping, as `grep -obUaP`. Exit status: 0 found, 1 none, 2 error."
)

# Like grep: a failure to write the offsets is an error (2), never "no match" (1).
OUTPUT_ERROR_STATUS = 2

_ENCODINGS = ("latin-1", "utf-8", "utf-16-le", "utf-16-be")
_WINDOW = 256 * 1024 * 1024

# The limits of the windowed regex search, for --help (the README says the same).
LIMITS = (
    "Regex limits: the file is searched in overlapping pieces, not as one string. Around each "
    "place a match may be, 64 KiB are looked at first; a match that can be longer makes the "
    "look-back and look-ahead grow as far as it could reach, so matches are those of grep -P "
    "over the whole file up to --max-match bytes long (16 MiB by default; a longer one is cut "
    "there or missed, and a warning names the offset; a pattern that can run that long, e.g. "
    ".* or [^x]+, is warned about before the search), look-aheads and look-behinds "
    "see at most 4 KiB around a match, ^ and $ (without (?m)) mean the start and end of the "
    "file, a pattern that can match the empty string is refused, and the regex may spend at "
    "most --regex-time-limit seconds on one 16 MiB piece (patterns like (a+)+$ can backtrack "
    "forever: the search stops with a message naming the limit, exit status 2)."
)


# The everyday `mmhex find [--text|--hex|--regex] [-i] [--count] [--encoding E] FILE PATTERN`
# without argparse (see _fast_args).
FAST_ARGS = FastSpec(
    ("file", "pattern"),
    2,
    {
        "--text": Option("mode", const="text", group="mode"),
        "--hex": Option("mode", const="hex", group="mode"),
        "--regex": Option("mode", const="regex", group="mode"),
        "--encoding": Option("encoding", choice(*_ENCODINGS)),
        "-i": Option("ignore_case"),
        "--ignore-case": Option("ignore_case"),
        "--count": Option("count"),
    },
    {
        "mode": "text",
        "encoding": None,
        "ignore_case": False,
        "count": False,
        "max_match": None,
        "regex_time_limit": None,
    },
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="file or block device to search")
    parser.add_argument("pattern", help="what to look for")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--text", dest="mode", action="store_const", const="text", help="PATTERN is text (default)"
    )
    mode.add_argument(
        "--hex",
        dest="mode",
        action="store_const",
        const="hex",
        help="PATTERN is hex bytes; ?? is any byte, 4? any of 0x40-0x4f (e.g. 'DE AD ?? EF')",
    )
    mode.add_argument(
        "--regex",
        dest="mode",
        action="store_const",
        const="regex",
        help="PATTERN is a Python regular expression over bytes (e.g. '\\x89PNG.{4}')",
    )
    parser.add_argument(
        "--encoding",
        choices=_ENCODINGS,
        help="encode a text PATTERN this way (default: its bytes as typed)",
    )
    parser.add_argument(
        "-i", "--ignore-case", action="store_true", help="text and regex: ignore letter case"
    )
    parser.add_argument("--count", action="store_true", help="print only the number of matches")
    parser.add_argument(
        "--max-match",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="regex: longest match found whole (default 16777216: 16 MiB)",
    )
    parser.add_argument(
        "--regex-time-limit",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="regex: stop if one 16 MiB piece takes longer than this (default 10; 0: no limit)",
    )
    parser.set_defaults(mode="text")
    parser.epilog = LIMITS


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = 0
    if value <= 0:
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of bytes")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        import argparse

        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0: no limit)")
    return value


def _options(args: argparse.Namespace):  # -> SearchOptions
    from mmhex.core.search import DEFAULT_OPTIONS

    changes = {}
    if args.max_match is not None:
        changes["max_regex_match"] = args.max_match
    if args.regex_time_limit is not None:
        changes["regex_time_limit"] = args.regex_time_limit
    from mmhex.core.record import replace

    return replace(DEFAULT_OPTIONS, **changes)


def _pattern(args: argparse.Namespace):  # -> SearchPattern
    from mmhex.core.search import PatternKind, SearchPattern, TextEncoding

    if args.mode == "hex":
        return SearchPattern(PatternKind.HEX, args.pattern)
    if args.mode == "regex":
        return SearchPattern(
            PatternKind.REGEX, os.fsencode(args.pattern), ignore_case=args.ignore_case
        )
    if args.encoding:
        return SearchPattern(
            PatternKind.TEXT, args.pattern, TextEncoding(args.encoding), args.ignore_case
        )
    return SearchPattern(PatternKind.TEXT, os.fsencode(args.pattern), ignore_case=args.ignore_case)


def run(args: argparse.Namespace) -> int:
    from mmhex.core.mapping import MappedFile  # no Document: no edit/save machinery to load
    from mmhex.core.search import (
        PatternError,
        RegexTimeLimitError,
        compile_pattern,
        count_matches,
        iter_match_batches,
        overlong_note,
    )

    options = _options(args)
    try:
        pattern = compile_pattern(_pattern(args), options.max_regex_match)
    except PatternError as exc:
        print(f"mmhex find: {exc}", file=sys.stderr)
        return 2
    for warning in pattern.warnings:
        print(f"mmhex find: warning: {warning} (see --help)", file=sys.stderr)
    try:
        # Large windows: fewer mappings, leases and seams (about 10% of a cached 2 GiB count).
        mapped = MappedFile(args.file, window_size=_WINDOW)
    except OSError as exc:
        print(f"mmhex find: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    out = sys.stdout
    found = 0
    # Regex matches as long as the longest match may have been cut there (see LIMITS).
    at_limit = 0
    overlong: list = []  # Overlong places: a match may be longer than --max-match
    watch = pattern.may_exceed
    try:
        if args.count and not watch:
            # Two processes where two cores are ours (see search._Scan._count_forked).
            workers = min(2, len(os.sched_getaffinity(0)))
            found = count_matches(mapped, pattern, options=options, workers=workers)
            out.write(f"{found}\n")
        else:
            batches = iter_match_batches(
                mapped, pattern, options=options, on_overlong=overlong.append
            )
            for batch in batches:
                if watch:
                    at_limit += sum(1 for m in batch if m.length >= pattern.max_length)
                if not args.count:
                    out.write("\n".join([str(m.start) for m in batch]) + "\n")
                found += len(batch)
            if args.count:
                out.write(f"{found}\n")
        out.flush()
    except RegexTimeLimitError as exc:
        out.flush()
        print(f"mmhex find: {exc.describe('--regex-time-limit')}", file=sys.stderr)
        return 2
    except OSError as exc:  # reading the file (output failures are OutputError, see cli)
        out.flush()
        print(f"mmhex find: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    finally:
        mapped.close()
    if overlong:
        print(
            f"mmhex find: warning: {overlong_note(overlong, pattern.max_length)} "
            "(raise --max-match)",
            file=sys.stderr,
        )
    elif at_limit:
        print(
            f"mmhex find: warning: {at_limit:,} match(es) reached the longest match of "
            f"{pattern.max_length:,} bytes and may go on past it (raise --max-match)",
            file=sys.stderr,
        )
    return 0 if found else 1

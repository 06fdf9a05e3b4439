"""`mmhex find FILE PATTERN [--hex|--text|--regex] [--count]`: match offsets for scripts.

Prints the decimal offset of every match, one per line, in increasing order. Text and hex
patterns report every offset where they match, overlapping ones included (``AA`` is found 3
times in ``AAAA``); a regular expression reports non-overlapping leftmost matches like
``grep -obUaP``. Exit status as grep: 0 matches found, 1 none, 2 error.
"""

from __future__ import annotations

import argparse
import os
import sys

from mmhex.core.errors import describe_error

HELP = (
    "Print the decimal offset of every match of PATTERN in FILE, one per line (unsaved edits do "
    "not exist here: this reads the file). Text/hex matches may overlap; regex matches are "
    "leftmost and non-overlapping, as `grep -obUaP`. Exit status: 0 found, 1 none, 2 error."
)

# Like grep: a failure to write the offsets is an error (2), never "no match" (1).
OUTPUT_ERROR_STATUS = 2

_ENCODINGS = ("latin-1", "utf-8", "utf-16-le", "utf-16-be")


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
    parser.set_defaults(mode="text")


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
    from mmhex.core.search import PatternError, compile_pattern, count_matches, iter_match_batches

    try:
        pattern = compile_pattern(_pattern(args))
    except PatternError as exc:
        print(f"mmhex find: {exc}", file=sys.stderr)
        return 2
    try:
        mapped = MappedFile(args.file)
    except OSError as exc:
        print(f"mmhex find: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    out = sys.stdout
    found = 0
    try:
        if args.count:
            found = count_matches(mapped, pattern)
            out.write(f"{found}\n")
        else:
            for batch in iter_match_batches(mapped, pattern):
                out.write("\n".join([str(m.start) for m in batch]) + "\n")
                found += len(batch)
        out.flush()
    except OSError as exc:  # reading the file (output failures are OutputError, see cli)
        out.flush()
        print(f"mmhex find: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    finally:
        mapped.close()
    return 0 if found else 1

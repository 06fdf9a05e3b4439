"""`mmhex dump FILE [-s OFFSET] [-n LENGTH] [--format xxd|canonical]`: a hex dump for scripts.

The output is byte-identical to ``xxd -s OFFSET -l LENGTH FILE`` (default) or to
``hexdump -C -v -s OFFSET -n LENGTH FILE`` (``--format canonical``), at about xxd's speed.
"""

from __future__ import annotations

import argparse
import sys

from mmhex.core.errors import describe_error
from mmhex.core.expressions import ExpressionError, parse_offset

HELP = (
    "Print a hex dump identical to `xxd -s OFFSET -l LENGTH FILE` or, with --format canonical, "
    "to `hexdump -C -v -s OFFSET -n LENGTH FILE`. OFFSET and LENGTH accept 1234, 0x4d2, 0o2322, "
    "4k, 0x100*3."
)


def _non_negative(text: str) -> int:
    try:
        return parse_offset(text)
    except ExpressionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="file or block device to dump")
    parser.add_argument(
        "-s", "--skip", type=_non_negative, default=0, metavar="OFFSET", help="first byte to show"
    )
    parser.add_argument(
        "-n", "--length", type=_non_negative, default=None, metavar="LENGTH", help="bytes to show"
    )
    parser.add_argument(
        "--format",
        choices=("xxd", "canonical"),
        default="xxd",
        help="xxd (default) or canonical, the format of hexdump -C",
    )


def run(args: argparse.Namespace) -> int:
    from mmhex.core.formats import DumpFormat, iter_dump
    from mmhex.core.mapping import MappedFile  # no Document: no edit/save machinery to load

    try:
        mapped = MappedFile(args.file)
    except OSError as exc:
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    try:
        fmt = DumpFormat(args.format)
        for piece in iter_dump(mapped.read, mapped.size, fmt, args.skip, args.length):
            out.write(piece)
        out.flush()
    except OSError as exc:  # reading the file (output failures are OutputError, see cli)
        out.flush()
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 1
    finally:
        mapped.close()
    return 0

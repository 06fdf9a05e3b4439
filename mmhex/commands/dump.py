"""`mmhex dump FILE [-s OFFSET] [-n LENGTH] [--format xxd|canonical]`: a hex dump for scripts.

The output is byte-identical to ``xxd -s OFFSET -l LENGTH FILE`` (default) or to
``hexdump -C -v -s OFFSET -n LENGTH FILE`` (``--format canonical``), at about xxd's speed.
"""

from __future__ import annotations

import sys

from mmhex.commands._fast_args import FastSpec, Option, choice
from mmhex.core.errors import describe_error

TYPE_CHECKING = False  # argparse is imported only for --help, mistakes and unusual lists
if TYPE_CHECKING:
    import argparse

HELP = (
    "Print a hex dump identical to `xxd -s OFFSET -l LENGTH FILE` or, with --format canonical, "
    "to `hexdump -C -v -s OFFSET -n LENGTH FILE`. OFFSET and LENGTH accept 1234, 0x4d2, 0o2322, "
    "4k, 0x100*3."
)


FORMATS = ("xxd", "canonical")


def _non_negative(text: str) -> int:
    import argparse

    from mmhex.core.expressions import ExpressionError, parse_offset

    try:
        return parse_offset(text)
    except ExpressionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _plain_offset(text: str) -> int:
    """``1234`` or ``0x4d2`` without the expression parser (which imports ``re``); anything
    else (``4k``, ``0x100*3``) raises ValueError and goes through argparse and the parser."""
    if text.isascii() and text.isdigit():
        return int(text)
    if text[:2] in ("0x", "0X") and len(text) > 2 and _HEX_DIGITS.issuperset(text[2:]):
        return int(text[2:], 16)
    raise ValueError(text)


# `mmhex dump [-s OFFSET] [-n LENGTH] [--format F] [--pid PID] [FILE]` without argparse.
FAST_ARGS = FastSpec(
    ("file",),
    0,
    {
        "-s": Option("skip", _plain_offset),
        "--skip": Option("skip", _plain_offset),
        "-n": Option("length", _plain_offset),
        "--length": Option("length", _plain_offset),
        "--format": Option("format", choice(*FORMATS)),
        "--pid": Option("pid", int),
    },
    {"file": None, "pid": None, "skip": 0, "length": None, "format": "xxd"},
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", help="file or block device to dump")
    parser.add_argument(
        "--pid",
        type=int,
        help="dump the memory of process PID instead of a file; OFFSET is a virtual address "
        "(see mmhex maps PID) and the offsets printed are addresses",
    )
    parser.add_argument(
        "-s", "--skip", type=_non_negative, default=0, metavar="OFFSET", help="first byte to show"
    )
    parser.add_argument(
        "-n", "--length", type=_non_negative, default=None, metavar="LENGTH", help="bytes to show"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="xxd",
        help="xxd (default) or canonical, the format of hexdump -C",
    )


def run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.pid is None):
        print("mmhex dump: name a FILE or --pid PID (one of them)", file=sys.stderr)
        return 2
    if args.pid is not None:
        return _dump_process(args)
    from mmhex.core.hexdump import iter_dump
    from mmhex.core.plain_file import PlainFile  # pread, holes made: no mapping to set up

    try:
        source = PlainFile(args.file)
    except OSError as exc:
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    try:
        for piece in iter_dump(source.read, source.size, args.format, args.skip, args.length):
            out.write(piece)
        out.flush()
    except OSError as exc:  # reading the file (output failures are OutputError, see cli)
        out.flush()
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 1
    finally:
        source.close()
    return 0


def _dump_process(args: argparse.Namespace) -> int:
    """Dump [skip, skip+length) of the process's address space; unreadable pages stop it."""
    from mmhex.core.hexdump import iter_dump
    from mmhex.core.process import ProcessAccessError, ProcessMemory

    try:
        memory = ProcessMemory(args.pid)
    except ProcessAccessError as exc:
        print(f"mmhex dump: {exc}", file=sys.stderr)
        return 2
    length = 256 if args.length is None else args.length
    unreadable: list[tuple[int, int]] = []

    def read(address: int, count: int) -> bytes:
        data, holes = memory.read_address(address, count)
        if holes:
            unreadable.extend(holes)
            first = holes[0][0]
            return data[: first - address]
        return data

    out = sys.stdout.buffer
    try:
        for piece in iter_dump(read, args.skip + length, args.format, args.skip, length):
            out.write(piece)
        out.flush()
    except ProcessAccessError as exc:
        print(f"mmhex dump: {exc}", file=sys.stderr)
        return 1
    finally:
        memory.close()
    if unreadable:
        address = unreadable[0][0]
        print(
            f"mmhex dump: address {address:#x} of process {args.pid} is not readable "
            "(unmapped or protected); stopped there",
            file=sys.stderr,
        )
        return 1
    return 0

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
        choices=("xxd", "canonical"),
        default="xxd",
        help="xxd (default) or canonical, the format of hexdump -C",
    )


def run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.pid is None):
        print("mmhex dump: name a FILE or --pid PID (one of them)", file=sys.stderr)
        return 2
    if args.pid is not None:
        return _dump_process(args)
    from mmhex.core.formats import DumpFormat, iter_dump
    from mmhex.core.holes import reader_skipping_holes
    from mmhex.core.mapping import MappedFile  # no Document: no edit/save machinery to load

    try:
        mapped = MappedFile(args.file)
    except OSError as exc:
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 2
    out = sys.stdout.buffer
    try:
        fmt = DumpFormat(args.format)
        read = reader_skipping_holes(mapped)  # holes print as zeros without being read
        for piece in iter_dump(read, mapped.size, fmt, args.skip, args.length):
            out.write(piece)
        out.flush()
    except OSError as exc:  # reading the file (output failures are OutputError, see cli)
        out.flush()
        print(f"mmhex dump: {describe_error(exc, args.file)}", file=sys.stderr)
        return 1
    finally:
        mapped.close()
    return 0


def _dump_process(args: argparse.Namespace) -> int:
    """Dump [skip, skip+length) of the process's address space; unreadable pages stop it."""
    from mmhex.core.formats import DumpFormat, iter_dump
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
        fmt = DumpFormat(args.format)
        for piece in iter_dump(read, args.skip + length, fmt, args.skip, length):
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

"""`mmhex cmp A B`: the output of `cmp -l A B`, byte for byte; `--ranges`: one line per range.

Standard output, the "cmp: EOF on …" line on standard error and the exit status (0 equal,
1 different, 2 trouble) are those of GNU cmp 3.8, so scripts can swap one for the other; the
work is ``core.compare`` (memcmp over both mappings, common holes skipped), not a byte loop.
"""

from __future__ import annotations

import argparse
import errno
import mmap
import os
import stat
import sys
from collections.abc import Iterator
from itertools import chain

HELP = (
    "Compare two files or block devices. Prints exactly what `cmp -l A B` prints (1-based "
    "decimal offset, then the differing bytes in octal), or with --ranges one line "
    "'OFFSET LENGTH' (0-based, decimal) per run of differing bytes. Exit status 0 when equal, "
    "1 when different, 2 on trouble."
)

# A failed write to standard output is trouble (2), as for cmp; 1 would mean "they differ".
OUTPUT_ERROR_STATUS = 2
# cmp's own name in its messages: the lines must be the ones cmp writes.
PROGRAM = "cmp"
# cmp -l pads offsets to the digits of the smaller regular file's size, or of the largest off_t.
OFF_T_MAX = 2**63 - 1
_READ_PIECE = 64 * 1024
# Table lookups instead of a format call per line (a dense difference prints a line per byte):
# the octal columns, and the last three digits of an offset.
_A_COLUMN = [f" {value:3o}" for value in range(256)]
_B_COLUMN = [f" {value:3o}\n" for value in range(256)]
_LOW_DIGITS = [f"{value:03d}" for value in range(1000)]
_SHORT_RUN = 64  # fewer lines than this: the plain loop is cheaper than building tables


def _window(text: str) -> int:
    value = int(text, 0)
    if value <= 0 or value % mmap.ALLOCATIONGRANULARITY:
        raise argparse.ArgumentTypeError(
            f"must be a positive multiple of {mmap.ALLOCATIONGRANULARITY}"
        )
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file_a", metavar="A", help="first file or block device")
    parser.add_argument("file_b", metavar="B", help="second file or block device")
    parser.add_argument(
        "--ranges",
        action="store_true",
        help="print 'OFFSET LENGTH' (0-based, decimal) for each run of differing bytes",
    )
    parser.add_argument(
        "-s",
        "--quiet",
        "--silent",
        action="store_true",
        help="print nothing; only the exit status says equal (0) or different (1)",
    )
    # What mmhex cmp prints anyway: accepted so that `cmp -l` command lines work unchanged.
    parser.add_argument("-l", "--verbose", action="store_true", help=argparse.SUPPRESS)
    # The mapping window; tests shrink it to put differences on window edges cheaply.
    parser.add_argument("--window", type=_window, default=None, help=argparse.SUPPRESS)


def _open_error(path: str, exc: OSError) -> str:
    """cmp's wording ("cmp: PATH: strerror") where cmp would fail the same way."""
    from mmhex.core.errors import UnsupportedFileError, describe_error

    if isinstance(exc, UnsupportedFileError) and exc.errno != errno.EISDIR:
        return f"{PROGRAM}: {describe_error(exc, path)}"
    return f"{PROGRAM}: {path}: {os.strerror(exc.errno or errno.EIO)}"


def offset_width(paths: tuple[str, str], sizes: tuple[int, int]) -> int:
    """The width cmp -l pads offsets to (from the smaller *regular* file's size)."""
    largest = OFF_T_MAX
    for path, size in zip(paths, sizes, strict=True):
        if stat.S_ISREG(os.stat(path).st_mode):
            largest = min(largest, size)
    return len(str(largest))


def format_cmp_l(first: int, data_a: bytes, data_b: bytes, width: int) -> str:
    """``cmp -l`` lines for the bytes at consecutive 1-based offsets from ``first``.

    Offsets are formatted a thousand at a time: within such a block they share every digit
    but the last three, so a line is three table lookups joined in C, not a format call.
    """
    parts = []
    pos, end = 0, len(data_a)
    while pos < end:
        number = first + pos
        high, low = divmod(number, 1000)
        count = min(end - pos, 1000 - low)
        a, b = data_a[pos : pos + count], data_b[pos : pos + count]
        if high == 0 or count < _SHORT_RUN:
            parts.append(
                "".join(
                    f"{number + i:>{width}}{_A_COLUMN[x]}{_B_COLUMN[y]}"
                    for i, (x, y) in enumerate(zip(a, b, strict=True))
                )
            )
        else:
            # "%*d" pads to the width and never cuts: the padding goes before the high digits.
            prefix = str(high).rjust(width - 3)
            b_column = [text + prefix for text in _B_COLUMN]  # the next line's start, too
            block = "".join(
                chain.from_iterable(
                    zip(
                        _LOW_DIGITS[low : low + count],
                        map(_A_COLUMN.__getitem__, a),
                        map(b_column.__getitem__, b),
                        strict=True,
                    )
                )
            )
            parts.append(prefix + block[: len(block) - len(prefix)])
        pos += count
    return "".join(parts)


def cmp_l_lines(read_a, read_b, diff_a: int, diff_b: int, length: int, width: int) -> Iterator[str]:
    """The ``cmp -l`` lines of one differing range, read a piece at a time."""
    done = 0
    while done < length:
        count = min(_READ_PIECE, length - done)
        bytes_a = read_a(diff_a + done, count)
        bytes_b = read_b(diff_b + done, count)
        yield format_cmp_l(diff_a + done + 1, bytes_a, bytes_b, width)
        done += count


def eof_message(paths: tuple[str, str], sizes: tuple[int, int]) -> str | None:
    """cmp's line when one file is a proper prefix-length of the other (None if sizes equal)."""
    if sizes[0] == sizes[1]:
        return None
    shorter = 0 if sizes[0] < sizes[1] else 1
    if sizes[shorter] == 0:
        return f"{PROGRAM}: EOF on {paths[shorter]} which is empty"
    return f"{PROGRAM}: EOF on {paths[shorter]} after byte {sizes[shorter]}"


def run(args: argparse.Namespace) -> int:
    from mmhex.core.compare import iter_differences
    from mmhex.core.mapping import MappedFile

    def say(line: str) -> None:
        if not args.quiet:  # cmp -s keeps even its error lines to itself
            print(line, file=sys.stderr)

    paths = (args.file_a, args.file_b)
    options = {"window_size": args.window} if args.window else {}
    opened: list[MappedFile] = []
    try:
        for path in paths:
            try:
                opened.append(MappedFile(path, **options))
            except OSError as exc:
                say(_open_error(path, exc))
                return 2
        mapped_a, mapped_b = opened
        sizes = (mapped_a.size, mapped_b.size)
        width = offset_width(paths, sizes)
        out = sys.stdout
        differ = False
        try:
            for diff in iter_differences(mapped_a, mapped_b):
                differ = True
                if args.quiet:
                    break  # as cmp -s: the first difference settles it
                if args.ranges:
                    out.write(f"{diff.a} {diff.length}\n")
                    continue
                for text in cmp_l_lines(
                    mapped_a.read, mapped_b.read, diff.a, diff.b, diff.length, width
                ):
                    out.write(text)
        except OSError as exc:
            out.flush()
            path = getattr(exc, "filename", None) or paths[0]
            say(f"{PROGRAM}: {path}: {exc}")
            return 2
        out.flush()
        message = eof_message(paths, sizes)
        if message is not None:
            say(message)
            return 1
        return 1 if differ else 0
    finally:
        for mapped in opened:
            mapped.close()

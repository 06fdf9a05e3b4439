"""Command line entry: ``mmhex [FILE]`` opens the window; headless subcommands never import Qt.

Subcommands live in ``mmhex.commands.<name>`` modules, each with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. They are imported only when named, so
``mmhex dump`` costs neither Qt nor the other commands.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass

from mmhex import __version__

# name -> module; the module is imported only when the command is used.
COMMANDS: dict[str, str] = {}


def register_command(name: str, module: str) -> None:
    """Add a headless subcommand (used by the tests and by feature modules)."""
    COMMANDS[name] = module


for _name in ("dump", "find", "patch", "recover", "residency"):
    if importlib.util.find_spec(f"mmhex.commands.{_name}") is not None:
        register_command(_name, f"mmhex.commands.{_name}")


@dataclass(frozen=True)
class GuiRequest:
    """What ``mmhex [options] [FILE[:OFFSET]]`` asks the window to do."""

    path: str | None
    offset: str | None  # a go-to expression, resolved once the file size is known
    readonly: bool
    edit: bool
    more: tuple[tuple[str, str | None], ...] = ()  # further FILE[:OFFSET]s, one tab each
    new_window: bool = False  # do not hand the files to a running mmhex

    @property
    def files(self) -> list[tuple[str, str | None]]:
        """Every (path, offset) asked for, the first one first."""
        first = [(self.path, self.offset)] if self.path is not None else []
        return first + list(self.more)


def split_path_offset(arg: str) -> tuple[str, str | None]:
    """Split ``FILE:0x1F400`` into path and offset, unless the whole argument names a file."""
    from mmhex.core.expressions import ExpressionError, parse_expression

    if os.path.lexists(arg) or ":" not in arg:
        return arg, None
    path, _, suffix = arg.rpartition(":")
    try:
        parse_expression(suffix)
    except ExpressionError:
        return arg, None
    return path, suffix


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmhex",
        description="Hex viewer and editor backed by mmap. "
        f"Headless commands: {', '.join(sorted(COMMANDS)) or '(none)'} (mmhex COMMAND --help).",
    )
    parser.add_argument(
        "file", nargs="*", help="files to open, one tab each; FILE:OFFSET jumps to OFFSET"
    )
    parser.add_argument("--offset", "-o", help="offset to show first (0x1F400, 500, end-0x100 …)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--readonly", "-r", action="store_true", help="never allow editing")
    mode.add_argument("--edit", "-e", action="store_true", help="open in private-edit mode")
    parser.add_argument(
        "--new-window",
        action="store_true",
        help="open a window of its own instead of a tab in the mmhex already running",
    )
    parser.add_argument("--version", action="version", version=f"mmhex {__version__}")
    return parser


def parse_gui_args(argv: list[str]) -> GuiRequest:
    """Parse the window's arguments; exits with status 2 and a message on bad input."""
    from mmhex.core.expressions import ExpressionError, parse_expression

    parser = _gui_parser()
    args = parser.parse_args(argv)
    path, offset = (None, None)
    files = [split_path_offset(arg) for arg in args.file]
    if files:
        path, offset = files[0]
    if args.offset is not None:
        try:
            parse_expression(args.offset)
        except ExpressionError as exc:
            parser.error(f"--offset: {exc}")
        offset = args.offset
    return GuiRequest(
        path=path,
        offset=offset,
        readonly=args.readonly,
        edit=args.edit,
        more=tuple(files[1:]),
        new_window=args.new_window,
    )


def run_command(name: str, argv: list[str]) -> int:
    """Run headless subcommand ``name``; never imports Qt."""
    module = importlib.import_module(COMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"mmhex {name}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return int(module.run(args))
    except BrokenPipeError:
        # `mmhex dump big | head` is normal use, not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return run_command(argv[0], argv[1:])
    request = parse_gui_args(argv)
    from mmhex.ui.app import run_gui  # Qt is imported only for the window

    return run_gui(request)

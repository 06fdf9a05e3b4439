"""Command line entry: ``mmhex [FILE]`` opens the window; headless subcommands never import Qt.

Subcommands live in ``mmhex.commands.<name>`` modules, each with ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. They are imported only when named, so
``mmhex dump`` costs neither Qt nor the other commands.
"""

from __future__ import annotations

import errno
import os
import sys

from mmhex import __version__
from mmhex.core.record import record  # not dataclasses: 5 ms of every headless command

TYPE_CHECKING = False  # typing and argparse are imported where used: start-up is the point
if TYPE_CHECKING:
    import argparse

# name -> module; the module is imported only when the command is used.
COMMANDS: dict[str, str] = {}


def register_command(name: str, module: str) -> None:
    """Add a headless subcommand (used by the tests and by feature modules)."""
    COMMANDS[name] = module


for _name in ("cmp", "dump", "find", "map", "maps", "parse", "patch", "recover", "residency"):
    register_command(_name, f"mmhex.commands.{_name}")  # imported only when run


def _terminal_columns() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


def new_parser(**kwargs: object) -> argparse.ArgumentParser:
    """An ArgumentParser (imported here: ``--version`` needs none) with a cheap formatter.

    argparse builds a formatter for every ``add_argument``, and its formatter imports ``shutil``
    (2 ms, bz2 and lzma with it) for the terminal width; ``os.get_terminal_size`` answers the
    same (COLUMNS first, 80 when not a terminal).
    """
    import argparse

    class HelpFormatter(argparse.HelpFormatter):
        def __init__(self, prog: str, **options: object) -> None:
            if options.get("width") is None:
                options["width"] = _terminal_columns() - 2
            super().__init__(prog, **options)  # type: ignore[arg-type]

    kwargs.setdefault("formatter_class", HelpFormatter)
    return argparse.ArgumentParser(**kwargs)  # type: ignore[arg-type]


@record(frozen=True)
class GuiRequest:
    """What ``mmhex [options] [FILE[:OFFSET]]`` asks the window to do."""

    path: str | None
    offset: str | None  # a go-to expression, resolved once the file size is known
    readonly: bool
    edit: bool
    compare: tuple[str, str] | None = None  # --compare A B: the compare window
    more: tuple[tuple[str, str | None], ...] = ()  # further FILE[:OFFSET]s, one tab each
    new_window: bool = False  # do not hand the files to a running mmhex

    @property
    def files(self) -> list[tuple[str, str | None]]:
        """Every (path, offset) asked for, the first one first."""
        first = [(self.path, self.offset)] if self.path is not None else []
        return first + list(self.more)

    pid: int | None = None  # --pid: open this process's memory instead of a file
    run: tuple[str, ...] = ()  # --run -- CMD ARGS: start CMD as mmhex's child and open it


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
    parser = new_parser(
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
        "--compare", nargs=2, metavar=("A", "B"), help="open A and compare it with B side by side"
    )
    parser.add_argument(
        "--new-window",
        action="store_true",
        help="open a window of its own instead of a tab in the mmhex already running",
    )
    parser.add_argument("--pid", type=int, help="open the memory of running process PID")
    parser.add_argument(
        "--run",
        action="store_true",
        help="--run -- CMD [ARGS…]: start CMD as mmhex's child and open its memory",
    )
    parser.add_argument("--version", action="version", version=f"mmhex {__version__}")
    return parser


def parse_gui_args(argv: list[str]) -> GuiRequest:
    """Parse the window's arguments; exits with status 2 and a message on bad input."""
    from mmhex.core.expressions import ExpressionError, parse_expression

    parser = _gui_parser()
    run: tuple[str, ...] = ()
    if "--run" in argv:  # everything after it (and after its "--") is the program's
        at = argv.index("--run")
        rest = argv[at + 1 :]
        run = tuple(rest[1:] if rest[:1] == ["--"] else rest)
        argv = argv[: at + 1]
        if not run:
            parser.error("--run needs a command: mmhex --run -- CMD [ARGS…]")
    args = parser.parse_args(argv)
    if sum((bool(args.file), args.pid is not None, bool(run))) > 1:
        parser.error("give one of FILE, --pid PID and --run -- CMD")
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
    if args.compare is not None and args.file:
        parser.error("--compare A B takes the place of FILE")
    compare = tuple(args.compare) if args.compare is not None else None
    return GuiRequest(
        path=path,
        offset=offset,
        readonly=args.readonly,
        edit=args.edit,
        compare=compare,
        more=tuple(files[1:]),
        new_window=args.new_window,
        pid=args.pid,
        run=run,
    )


def _import(name: str) -> object:
    """``importlib.import_module`` without importing importlib (and warnings with it)."""
    __import__(name)
    return sys.modules[name]


def parse_command_args(module: object, name: str, argv: list[str]) -> object:
    """The command's arguments: its FAST_ARGS parse the everyday lists, argparse the rest."""
    spec = getattr(module, "FAST_ARGS", None)
    if spec is not None:
        from mmhex.commands._fast_args import parse

        args = parse(spec, argv)
        if args is not None:
            return args
    parser = new_parser(prog=f"mmhex {name}", description=module.HELP)  # type: ignore[attr-defined]
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(argv)


def run_command(name: str, argv: list[str]) -> int:
    """Run headless subcommand ``name``; never imports Qt.

    A failed write to standard output is reported as such (one line, exit status 1, or the
    command's OUTPUT_ERROR_STATUS); a closed pipe (`mmhex dump big | head`) ends quietly with
    the status a shell shows for a tool killed by SIGPIPE, as xxd and grep do.
    """
    from mmhex.commands import _output

    _output.install()
    module = _import(COMMANDS[name])
    try:
        args = parse_command_args(module, name, argv)
        status = int(module.run(args))
        sys.stdout.flush()
        return status
    except _output.OutputError as exc:
        _output.abandon_output()
        if exc.broken_pipe:
            return _output.BROKEN_PIPE_STATUS
        print(
            f"mmhex {name}: cannot write to standard output ({exc}); the output is incomplete.",
            file=sys.stderr,
        )
        return int(getattr(module, "OUTPUT_ERROR_STATUS", 1))
    except KeyboardInterrupt:
        return 130


def is_headless(argv: list[str]) -> bool:
    """Whether ``argv`` runs without the window (``--version`` or a subcommand)."""
    return argv == ["--version"] or bool(argv and argv[0] in COMMANDS)


def launch() -> None:
    """The ``mmhex`` command: run ``main`` and end the process with its status.

    A headless command ends with ``os._exit`` once its output is flushed: the interpreter's
    teardown (freeing every module and object one by one) costs about 3 ms, a tenth of a
    cached `find --count` and more than all of ``dump -n 16`` beyond Python's own start. Every
    resource a command holds is released in its own ``with``/``finally`` blocks before it
    returns, and nothing here registers ``atexit`` work. The window keeps the full exit: Qt
    objects and QSettings are written back as they are destroyed.
    """
    argv = sys.argv[1:]
    status = main(argv)
    if not is_headless(argv):
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except OSError:  # commands report their own output errors; this is a last resort
            status = status or 1
    os._exit(status)


def _print_version() -> int:
    """``mmhex --version``, with the output errors of the subcommands (see run_command)."""
    try:
        if sys.stdout is None:  # started with standard output closed: print would drop it
            raise OSError(errno.EBADF, "standard output is closed")
        print(f"mmhex {__version__}", flush=True)
    except OSError as exc:
        from mmhex.commands import _output

        _output.abandon_output()
        if isinstance(exc, BrokenPipeError):  # `| true` gone first: as a tool killed by SIGPIPE
            return _output.BROKEN_PIPE_STATUS
        reason = _output.OutputError(exc.errno)
        print(f"mmhex: cannot write to standard output ({reason}).", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--version"]:  # as argparse prints it, without building the parser
        return _print_version()
    if is_headless(argv):
        return run_command(argv[0], argv[1:])
    request = parse_gui_args(argv)
    from mmhex.ui.app import run_gui  # Qt is imported only for the window

    return run_gui(request)

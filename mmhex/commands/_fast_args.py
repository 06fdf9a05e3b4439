"""The everyday argument lists of the hot commands, parsed without argparse.

Importing argparse costs about 5 ms (it imports ``re``, ``gettext`` and ``locale``), and
``python -c pass`` takes 7 ms: more than all the rest of ``mmhex dump -n 16 FILE``. A command
may declare its common options as a ``FastSpec`` (module attribute ``FAST_ARGS``); ``parse``
answers only for lists made of exactly those (``-n 16``, ``--skip=0x100``, flags, positionals)
and returns None for anything else: ``--help``, a mistake, an abbreviation, ``-n16``, ``--``, a
value or positional starting with ``-``, a value its converter does not take. Then argparse
parses as before, and remains the one source of help and error messages.
tests/cli/test_fast_args.py checks that both parsers agree on a table of argument lists.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs 2 ms to import
if TYPE_CHECKING:
    from collections.abc import Callable


class Args:
    """What argparse.Namespace offers the commands: attributes, ``==``, ``repr``, ``in``."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __eq__(self, other: object) -> bool:
        values = getattr(other, "__dict__", None)
        return NotImplemented if values is None else self.__dict__ == values

    __hash__ = None  # type: ignore[assignment]  (mutable, like Namespace)

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in sorted(self.__dict__.items()))
        return f"Args({inner})"


class Option:
    """One option: a value converted by ``convert`` (which raises ValueError for argparse to
    report), or a flag storing ``const``; options sharing a ``group`` exclude each other."""

    __slots__ = ("const", "convert", "dest", "group")

    def __init__(
        self,
        dest: str,
        convert: Callable[[str], object] | None = None,
        *,
        const: object = True,
        group: str | None = None,
    ) -> None:
        self.dest = dest
        self.convert = convert
        self.const = const
        self.group = group


class FastSpec:
    """Positionals (the first ``required`` of them must be given) and options by every name."""

    def __init__(
        self,
        positionals: tuple[str, ...],
        required: int,
        options: dict[str, Option],
        defaults: dict[str, object],
    ) -> None:
        self.positionals = positionals
        self.required = required
        self.options = options
        self.defaults = defaults


def choice(*allowed: str) -> Callable[[str], str]:
    """A converter accepting exactly ``allowed`` (argparse's ``choices``)."""

    def convert(text: str) -> str:
        if text not in allowed:
            raise ValueError(text)
        return text

    return convert


def parse(spec: FastSpec, argv: list[str]) -> Args | None:
    """The arguments as argparse would give them, or None: let argparse parse these."""
    values = dict(spec.defaults)
    positional: list[str] = []
    groups: set[str] = set()
    at = 0
    while at < len(argv):
        token = argv[at]
        at += 1
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, equals, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        option = spec.options.get(name)
        if option is None:
            return None
        if option.group is not None:
            if option.group in groups:
                return None
            groups.add(option.group)
        if option.convert is None:
            if equals:
                return None
            values[option.dest] = option.const
            continue
        if equals:
            text = attached
        else:
            if at >= len(argv) or argv[at].startswith("-"):
                return None
            text = argv[at]
            at += 1
        try:
            values[option.dest] = option.convert(text)
        except ValueError:
            return None
    if not spec.required <= len(positional) <= len(spec.positionals):
        return None
    values.update(zip(spec.positionals, positional, strict=False))
    return Args(**values)

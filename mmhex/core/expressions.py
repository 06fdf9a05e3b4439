"""Go-to expressions (``0x1F4``, ``+0x10``, ``end-0x100``, ``0x400*3+2``), parsed without eval.

A tiny recursive-descent parser over integers: + - * / % and parentheses, numbers in
hex/octal/binary/decimal with optional k/m/g/t (×1024ⁿ) suffixes, and the names
``end``/``size`` (file size) and ``cursor``/``here``. A leading sign makes the whole
expression relative to the cursor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from mmhex.core.record import record  # not dataclasses: the command line's start-up

_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*)(?P<unit>[kKmMgGtT])?"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<op>[-+*/%()]))"
)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_NAMES = {"end": "size", "size": "size", "eof": "size", "cursor": "cursor", "here": "cursor"}
MAX_TOKENS = 256


class ExpressionError(ValueError):
    """The text is not a valid offset expression; the message says where and why."""


@record(frozen=True)
class Expression:
    """A parsed expression; ``relative`` when it began with + or - (an offset from the cursor)."""

    text: str
    relative: bool
    _evaluate: Callable[[Mapping[str, int]], int]

    def evaluate(self, names: Mapping[str, int] | None = None) -> int:
        return self._evaluate(names or {})

    @property
    def uses_names(self) -> bool:
        try:
            self._evaluate({})
        except ExpressionError:
            return True
        return False


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if not match or match.end() == pos:
            raise ExpressionError(
                f"unexpected character {stripped[pos:].strip()[:1]!r} at position {pos + 1}"
            )
        pos = match.end()
        if match.group("num"):
            tokens.append(("num", match.group("num") + (match.group("unit") or "")))
        elif match.group("name"):
            tokens.append(("name", match.group("name")))
        else:
            tokens.append(("op", match.group("op")))
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError("expression too long")
    return tokens


def _number(text: str) -> int:
    unit = 1
    if text[-1].lower() in _UNITS:
        unit = _UNITS[text[-1].lower()]
        text = text[:-1]
    base = 0 if text[:2].lower() in ("0x", "0o", "0b") else 10
    return int(text.replace("_", ""), base) * unit


Evaluator = Callable[[Mapping[str, int]], int]


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early")
        self.pos += 1
        return token

    def expression(self) -> Evaluator:
        left = self.term()
        while (tok := self.peek()) and tok[1] in "+-" and tok[0] == "op":
            self.take()
            right = self.term()
            left = _binary(tok[1], left, right)
        return left

    def term(self) -> Evaluator:
        left = self.unary()
        while (tok := self.peek()) and tok[0] == "op" and tok[1] in "*/%":
            self.take()
            right = self.unary()
            left = _binary(tok[1], left, right)
        return left

    def unary(self) -> Evaluator:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self.take()
            inner = self.unary()
            return inner if tok[1] == "+" else (lambda names: -inner(names))
        return self.atom()

    def atom(self) -> Evaluator:
        kind, value = self.take()
        if kind == "num":
            try:
                number = _number(value)
            except ValueError as exc:
                raise ExpressionError(f"{value!r} is not a number") from exc
            return lambda names: number
        if kind == "name":
            key = _NAMES.get(value.lower())
            if key is None:
                raise ExpressionError(f"unknown name {value!r} (use end, size or cursor)")

            def lookup(names: Mapping[str, int]) -> int:
                if key not in names:
                    raise ExpressionError(f"{value!r} is not known here")
                return names[key]

            return lookup
        if value == "(":
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise ExpressionError("missing ')'")
            return inner
        raise ExpressionError(f"unexpected {value!r}")


def _binary(op: str, left: Evaluator, right: Evaluator) -> Evaluator:
    def apply(names: Mapping[str, int]) -> int:
        a, b = left(names), right(names)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            raise ExpressionError("division by zero")
        return a // b if op == "/" else a % b

    return apply


def parse_expression(text: str) -> Expression:
    """Parse ``text``; raises ExpressionError with a readable reason."""
    tokens = _tokenize(text)
    if not tokens:
        raise ExpressionError("empty expression")
    parser = _Parser(tokens)
    evaluate = parser.expression()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()[1]!r} after the expression")
    relative = tokens[0] in (("op", "+"), ("op", "-"))
    return Expression(text=text.strip(), relative=relative, _evaluate=evaluate)


def parse_offset(text: str) -> int:
    """An absolute offset from an expression without names (for command lines)."""
    value = parse_expression(text).evaluate({})
    if value < 0:
        raise ExpressionError(f"offset {value} is negative")
    return value


def resolve_goto(text: str, *, cursor: int, size: int) -> int:
    """The absolute target of a Go-to entry; relative entries add to ``cursor``.

    ``end``/``size`` is the file size (one past the last byte); a target equal to the size means
    the last byte. Anything else outside the file is an error, not a silent clamp.
    """
    expression = parse_expression(text)
    value = expression.evaluate({"size": size, "cursor": cursor})
    if expression.relative:
        value += cursor
    if size > 0 and value == size:
        value = size - 1
    if value < 0 or (value >= size and not (size == 0 and value == 0)):
        raise ExpressionError(
            f"offset {value:#x} is outside the file (valid: 0 to {max(size - 1, 0):#x})"
        )
    return value

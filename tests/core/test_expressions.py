"""Go-to expressions checked against Python integer arithmetic on the same text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.expressions import ExpressionError, parse_expression, parse_offset, resolve_goto

SIZE = 1 << 20


@pytest.mark.parametrize(
    ("text", "cursor", "expected"),
    [
        ("0x1F4", 0, 0x1F4),
        ("500", 7, 500),
        ("+0x10", 100, 116),
        ("-16", 100, 84),
        ("end-0x100", 0, SIZE - 0x100),
        ("0x400*3+2", 0, 0x400 * 3 + 2),
        ("(1+2)*3", 0, 9),
        ("cursor + 4", 10, 14),
        ("4k", 0, 4096),
        ("0b1010", 0, 10),
        ("0o17", 0, 15),
        ("1_000", 0, 1000),
        ("end", 0, SIZE - 1),  # the size itself means the last byte
        ("  0x10  ", 0, 16),
        ("7 % 4", 0, 3),
        ("0x100 / 2", 0, 0x80),
    ],
)
def test_goto_examples(text, cursor, expected):
    assert resolve_goto(text, cursor=cursor, size=SIZE) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0x",
        "1 +",
        "(1",
        "1)",
        "foo",
        "__import__('os')",
        "1 ** 2",
        "0xZZ",
        "1/0",
        "end-0x100000000",
        "0x100001",
        "2 3",
    ],
)
def test_bad_expressions_are_rejected_with_a_reason(text):
    with pytest.raises(ExpressionError) as info:
        resolve_goto(text, cursor=0, size=SIZE)
    assert str(info.value)


def test_relative_flag_and_names():
    assert parse_expression("+5").relative
    assert parse_expression("-5").relative
    assert not parse_expression("5-3").relative
    assert parse_expression("end-1").uses_names
    assert not parse_expression("0x10*2").uses_names
    with pytest.raises(ExpressionError):
        parse_offset("end")
    with pytest.raises(ExpressionError):
        parse_offset("-1")


def test_huge_offsets_stay_exact():
    size = 8000 * (1 << 50)
    assert resolve_goto("end-1", cursor=0, size=size) == size - 1
    assert resolve_goto("0x1F3FFFFFFFFFFFFE", cursor=0, size=size) == 0x1F3FFFFFFFFFFFFE


@given(
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=6),
    st.lists(st.sampled_from(["+", "-", "*"]), min_size=5, max_size=5),
    st.booleans(),
)
def test_matches_python_arithmetic(numbers, ops, as_hex):
    parts = [hex(numbers[0]) if as_hex else str(numbers[0])]
    for number, op in zip(numbers[1:], ops, strict=False):
        parts += [op, hex(number) if as_hex else str(number)]
    text = " ".join(parts)
    reference = eval(text, {"__builtins__": {}})  # the reference model only; the code never evals
    assert parse_expression(text).evaluate() == reference

"""The text column's characters per byte and the byte classes, checked against Python's codecs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmhex.core.display import (
    CLASS_TABLE,
    CONTINUES,
    ENCODINGS,
    NOT_SHOWN,
    ByteClass,
    display_text,
    one_cell,
)

SINGLE_BYTE = [key for key in ENCODINGS if key not in ("utf-8", "utf-16-le", "utf-16-be")]


@pytest.mark.parametrize("encoding", SINGLE_BYTE)
def test_single_byte_encodings_show_what_the_codec_decodes(encoding) -> None:
    data = bytes(range(256))
    text = display_text(data, encoding)
    assert len(text) == 256
    for value, shown in zip(data, text, strict=True):
        try:
            char = bytes([value]).decode(encoding)
        except UnicodeDecodeError:
            assert shown == NOT_SHOWN
            continue
        assert shown == (char if one_cell(char) else NOT_SHOWN), hex(value)


def test_named_examples() -> None:
    assert display_text(b"Hi\x00\xe9", "ascii") == "Hi.."
    assert display_text(b"Hi\x00\xe9", "latin-1") == "Hi.é"
    assert display_text(b"\x80", "cp1252") == "€"
    assert display_text("HELLO".encode("cp037"), "cp037") == "HELLO"
    assert display_text(bytes([0xB0, 0xC9]), "cp437") == "░╔"


def test_utf8_shows_each_character_on_its_first_byte() -> None:
    data = "aé€✓".encode()
    assert (
        display_text(data, "utf-8") == "aé" + CONTINUES + "€" + CONTINUES * 2 + "✓" + CONTINUES * 2
    )
    # A character begun before the range blanks its continuation bytes inside it.
    euro = "€".encode()
    assert display_text(euro[1:] + b"x", "utf-8", 1, euro[:1]) == CONTINUES * 2 + "x"
    # One that ends after the range still shows on its first byte.
    assert display_text(b"x" + euro[:1], "utf-8", 0, b"", euro[1:]) == "x€"
    assert display_text(b"\xff\xc3", "utf-8") == NOT_SHOWN * 2  # invalid and cut short


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_units_sit_on_even_offsets(encoding) -> None:
    text = "AΩ€"
    data = text.encode(encoding)
    assert display_text(data, encoding) == "A Ω € "
    # Starting at an odd offset: the first byte is the second half of 'A'.
    assert display_text(data[1:], encoding, 1, data[:1]) == " Ω € "
    pair = "😀x".encode(encoding)  # a surrogate pair (a wide emoji: not one cell) then 'x'
    assert display_text(pair, encoding) == NOT_SHOWN + CONTINUES * 3 + "x "
    assert display_text(pair[2:], encoding, 2, pair[:2]) == CONTINUES * 2 + "x "


@given(st.binary(max_size=64), st.sampled_from(list(ENCODINGS)), st.integers(0, 3))
def test_always_one_cell_per_byte(data, encoding, offset) -> None:
    text = display_text(data, encoding, offset)
    assert len(text) == len(data)
    assert all(one_cell(char) for char in text)


def test_byte_classes_as_hexyl_names_them() -> None:
    expected = {0x00: ByteClass.ZERO, 0x41: ByteClass.PRINTABLE, 0x20: ByteClass.WHITESPACE,
                0x0A: ByteClass.WHITESPACE, 0x09: ByteClass.WHITESPACE, 0x01: ByteClass.CONTROL,
                0x7F: ByteClass.CONTROL, 0xFF: ByteClass.FF, 0x80: ByteClass.HIGH,
                0xFE: ByteClass.HIGH, 0x7E: ByteClass.PRINTABLE}  # fmt: skip
    for value, kind in expected.items():
        assert CLASS_TABLE[value] == kind, hex(value)
    rng = random.Random(3)
    for value in rng.sample(range(256), 40):
        kind = ByteClass(CLASS_TABLE[value])
        assert (kind is ByteClass.PRINTABLE) == (chr(value).isprintable() and value < 0x7F
                                                and not chr(value).isspace())  # fmt: skip

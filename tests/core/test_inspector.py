"""Inspector values against struct.unpack, time.gmtime and hand-decoded bit fields; every value
shown can be typed back to the same bytes."""

from __future__ import annotations

import math
import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmhex.core.inspector import (
    FIELDS,
    FIELDS_BY_KEY,
    InspectorError,
    encode_value,
    inspect,
    parse_integer,
)

INT_FORMATS = {
    "int8": "b", "uint8": "B", "int16": "h", "uint16": "H",
    "int32": "i", "uint32": "I", "int64": "q", "uint64": "Q",
}  # fmt: skip
FLOAT_FORMATS = {"float16": "e", "float32": "f", "float64": "d"}


def readings(data: bytes, little: bool) -> dict[str, str | None]:
    return {r.field.key: r.text for r in inspect(data, little)}


@settings(max_examples=400, deadline=None)
@given(data=st.binary(min_size=16, max_size=16), little=st.booleans())
def test_numbers_equal_struct_unpack(data, little):
    order = "<" if little else ">"
    shown = readings(data, little)
    for key, code in INT_FORMATS.items():
        assert shown[key] == str(struct.unpack(order + code, data[: struct.calcsize(code)])[0])
    for key, code in FLOAT_FORMATS.items():
        expected = struct.unpack(order + code, data[: struct.calcsize(code)])[0]
        value = float(shown[key])
        if math.isnan(expected):
            assert math.isnan(value)
        else:
            # the shortest text that reads back, at this precision, to the very same value/bits
            size = struct.calcsize(code)
            assert struct.unpack(order + code, struct.pack(order + code, value))[0] == expected
            assert struct.pack(order + code, value) == data[:size]
    assert shown["binary"] == format(data[0], "08b") and int(shown["binary"], 2) == data[0]
    assert int(shown["octal"], 8) == data[0]


@settings(max_examples=400, deadline=None)
@given(data=st.binary(min_size=16, max_size=16), little=st.booleans())
def test_every_shown_value_types_back_to_the_same_bytes(data, little):
    for reading in inspect(data, little):
        if reading.text is None or reading.text == "nan":
            continue
        encoded = encode_value(reading.field.key, reading.text, little)
        assert data.startswith(encoded), (reading.field.key, reading.text)


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(-(2**31), 2**31 - 1), little=st.booleans())
def test_unix_time_against_gmtime(seconds, little):
    data = struct.pack("<i" if little else ">i", seconds) + bytes(12)
    expected = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + " UTC"
    assert readings(data, little)["unix32"] == expected
    data64 = struct.pack("<q" if little else ">q", seconds)
    assert readings(data64, little)["unix64"] == expected


@given(year=st.integers(0, 127), month=st.integers(1, 12), day=st.integers(1, 28),
       hour=st.integers(0, 23), minute=st.integers(0, 59), half=st.integers(0, 29))  # fmt: skip
def test_dos_date_time_bit_fields(year, month, day, hour, minute, half):
    date = year << 9 | month << 5 | day
    clock = hour << 11 | minute << 5 | half
    data = struct.pack("<HH", clock, date)  # FAT stores the time word, then the date word
    expected = f"{1980 + year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{half * 2:02d}"
    assert readings(data, True)["dos"] == expected
    assert readings(struct.pack(">HH", date, clock), False)["dos"] == expected


def test_guid_layouts():
    data = bytes(range(16))
    d1, d2, d3 = struct.unpack("<IHH", data[:8])
    tail = data[8:].hex().upper()
    assert readings(data, True)["guid"] == f"{{{d1:08X}-{d2:04X}-{d3:04X}-{tail[:4]}-{tail[4:]}}}"
    assert readings(data, False)["guid"] == "{00010203-0405-0607-0809-0A0B0C0D0E0F}"


def test_characters():
    shown = readings("é".encode() + b"\x00\x00", True)
    assert shown["utf8"] == "é  U+00E9" and shown["ascii"] == "\\xc3"
    assert readings("😀".encode("utf-16-le"), True)["utf16"] == "😀  U+1F600"
    assert readings("😀".encode("utf-16-be"), False)["utf16"] == "😀  U+1F600"
    assert readings(b"\n", True)["ascii"] == "\\n"
    assert encode_value("utf8", "U+20AC") == "€".encode()
    assert encode_value("utf16", "\\u00e9", False) == "é".encode("utf-16-be")
    assert encode_value("ascii", "\\x41") == b"A"
    problems = {r.field.key: r.problem for r in inspect(b"\x80\x00\xdc", True)}
    assert problems["utf8"] == "not the start of a UTF-8 character"
    assert problems["utf16"] is None  # 0x0080 read as UTF-16 LE is U+0080


def test_short_data_names_what_is_missing():
    problems = {r.field.key: r.problem for r in inspect(b"\x01\x02\x03", True)}
    assert problems["int32"] == "needs 4 bytes" and problems["guid"] == "needs 16 bytes"
    assert problems["int16"] is None
    assert all(r.problem == "no byte here" for r in inspect(b"", True))


@pytest.mark.parametrize(
    ("key", "text", "little", "expected"),
    [
        ("int8", "-128", True, b"\x80"),
        ("uint16", "0xBEEF", True, b"\xef\xbe"),
        ("uint16", "0xBEEF", False, b"\xbe\xef"),
        ("int32", "-1_000", True, struct.pack("<i", -1000)),
        ("uint64", "0o17", False, struct.pack(">Q", 15)),
        ("int16", "007", True, b"\x07\x00"),
        ("float32", "1.5", True, struct.pack("<f", 1.5)),
        ("float16", "-inf", False, struct.pack(">e", -math.inf)),
        ("binary", "1010", True, b"\x0a"),
        ("octal", "377", True, b"\xff"),
        ("unix32", "2024-05-31 13:45:00 UTC", True, struct.pack("<i", 1717163100)),
        ("unix64", "1717163100", False, struct.pack(">q", 1717163100)),
        ("dos", "2024-05-31 13:45:02", True,
         struct.pack("<HH", 13 << 11 | 45 << 5 | 1, 44 << 9 | 5 << 5 | 31)),
        ("guid", "00112233-4455-6677-8899-aabbccddeeff", False,
         bytes.fromhex("00112233445566778899aabbccddeeff")),
    ],
)  # fmt: skip
def test_encode_examples(key, text, little, expected):
    assert encode_value(key, text, little) == expected


@pytest.mark.parametrize(
    ("key", "text", "words"),
    [
        ("uint8", "256", "does not fit"),
        ("int8", "-129", "does not fit"),
        ("int32", "12abc", "not a whole number"),
        ("float16", "70000", "too large"),
        ("float32", "x", "not a number"),
        ("binary", "102", "binary digits"),
        ("octal", "400", "octal"),
        ("ascii", "ab", "one character"),
        ("ascii", "€", "one byte"),
        ("unix32", "2100-01-01", "does not fit"),
        ("unix64", "yesterday", "not a date"),
        ("dos", "1979-12-31 00:00:00", "between 1980"),
        ("dos", "2000-01-01 00:00:01", "even second"),
        ("guid", "{123}", "GUID"),
        ("int16", "  ", "Type a value"),
    ],
)
def test_encode_errors_are_sentences(key, text, words):
    with pytest.raises(InspectorError, match=words) as info:
        encode_value(key, text)
    assert str(info.value).endswith(".")


def test_fields_table_is_consistent():
    assert len(FIELDS_BY_KEY) == len(FIELDS)
    assert {f.key for f in FIELDS} >= set(INT_FORMATS) | set(FLOAT_FORMATS) | {"guid", "dos"}
    assert parse_integer("-0x10") == -16

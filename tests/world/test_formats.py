"""Reading and writing the file: exact decimals, no silent duplicate keys, stable dates."""

import datetime as dt
from decimal import Decimal

import pytest

from kechuang.world.errors import WorldError
from kechuang.world.formats import format_of, parse_json, parse_yaml, render, to_yaml


def test_yaml_fractions_are_read_as_decimals_never_floats():
    assert parse_yaml("a: 12.5\nb: 0.1\nc: 13000\nd: 1_000.25\n") == {
        "a": Decimal("12.5"), "b": Decimal("0.1"), "c": 13000, "d": Decimal("1000.25")}
    assert type(parse_yaml("a: 0.1")["a"]) is Decimal


def test_json_fractions_are_read_as_decimals():
    assert parse_json('{"a": 0.1, "b": 100}') == {"a": Decimal("0.1"), "b": 100}


@pytest.mark.parametrize(("parse", "text"), [
    (parse_yaml, "kechuang: 1\nsources: []\nsources: []\n"),
    (parse_json, '{"kechuang": 1, "kechuang": 1}'),
])
def test_a_key_given_twice_is_an_error(parse, text):
    with pytest.raises(WorldError, match="given twice"):
        parse(text, "f")


def test_dates_are_written_quoted_and_codes_as_strings():
    text = to_yaml({"published": "2023-09-04", "since": "2020", "month": "2022-11", "code": "320612"})

    assert text == "published: '2023-09-04'\nsince: '2020'\nmonth: '2022-11'\ncode: '320612'\n"
    assert parse_yaml(text) == {"published": "2023-09-04", "since": "2020", "month": "2022-11", "code": "320612"}


def test_yaml_dates_are_read_as_dates_and_json_writes_them_as_text():
    document = parse_yaml("published: 2023-09-04\n")

    assert document == {"published": dt.date(2023, 9, 4)}
    assert render(document, "json") == '{\n  "published": "2023-09-04"\n}\n'


def test_long_texts_are_written_as_blocks_and_read_back_the_same():
    document = {"note": "first line\nsecond line\n"}

    assert "note: |" in to_yaml(document)
    assert parse_yaml(to_yaml(document)) == document


def test_the_format_follows_the_file_name():
    assert [format_of(name) for name in ("a.json", "a.YAML", "a.yml", "a.txt")] == ["json", "yaml", "yaml", "yaml"]

"""Exact output of every export format, and formula neutralisation (SPEC §5, §6)."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.formats import FORMATS, Table, default_format, neutralise, render

CMD = "=cmd|' /C calc'!A0"

SAMPLE = Table(
    columns=("student", "name", "credits", "grade", "ok"),
    rows=[
        ("s1", "Zoë 日本", 30, 7.5, True),
        ("s2", CMD, -5, None, False),
        ("s3", 'a,"b"\nc', None, -1.25, None),
    ],
    title="admission",
)


def rendered(table: Table, fmt: str) -> bytes:
    out = io.BytesIO()
    render(table, fmt, out)
    return out.getvalue()


def read_xlsx(table: Table) -> openpyxl.worksheet.worksheet.Worksheet:
    return openpyxl.load_workbook(io.BytesIO(rendered(table, "xlsx"))).active


def test_csv_exact() -> None:
    assert rendered(SAMPLE, "csv").decode("utf-8") == (
        "student,name,credits,grade,ok\n"
        "s1,Zoë 日本,30,7.5,true\n"
        "s2,'=cmd|' /C calc'!A0,-5,,false\n"
        's3,"a,""b""\nc",,-1.25,\n'
    )


def test_json_exact() -> None:
    assert rendered(SAMPLE, "json").decode("utf-8") == (
        "[\n"
        "  {\n"
        '    "student": "s1",\n'
        '    "name": "Zoë 日本",\n'
        '    "credits": 30,\n'
        '    "grade": 7.5,\n'
        '    "ok": true\n'
        "  },\n"
        "  {\n"
        '    "student": "s2",\n'
        '    "name": "=cmd|\' /C calc\'!A0",\n'
        '    "credits": -5,\n'
        '    "grade": null,\n'
        '    "ok": false\n'
        "  },\n"
        "  {\n"
        '    "student": "s3",\n'
        '    "name": "a,\\"b\\"\\nc",\n'
        '    "credits": null,\n'
        '    "grade": -1.25,\n'
        '    "ok": null\n'
        "  }\n"
        "]\n"
    )


def test_json_empty() -> None:
    assert rendered(Table(("a",), []), "json") == b"[]\n"
    assert rendered(Table(("a",), []), "jsonl") == b""


def test_jsonl_exact() -> None:
    assert rendered(SAMPLE, "jsonl").decode("utf-8") == (
        '{"student":"s1","name":"Zoë 日本","credits":30,"grade":7.5,"ok":true}\n'
        '{"student":"s2","name":"=cmd|\' /C calc\'!A0","credits":-5,"grade":null,"ok":false}\n'
        '{"student":"s3","name":"a,\\"b\\"\\nc","credits":null,"grade":-1.25,"ok":null}\n'
    )


def test_table_exact() -> None:
    # Numbers right-aligned, text left, None empty, wide characters count double,
    # control characters escaped so they cannot act on the terminal.
    assert rendered(SAMPLE, "table").decode("utf-8") == (
        "student  name                credits  grade  ok\n"
        "-------  ------------------  -------  -----  -----\n"
        "s1       Zoë 日本                 30    7.5  true\n"
        "s2       =cmd|' /C calc'!A0       -5         false\n"
        's3       a,"b"\\nc                     -1.25\n'
    )


def test_table_empty() -> None:
    assert rendered(Table(("a", "bb"), []), "table") == b"a  bb\n-  --\n"


def test_xlsx_values_header_and_formula() -> None:
    ws = read_xlsx(SAMPLE)
    assert ws.title == "admission"
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == list(SAMPLE.columns)
    assert all(c.font.bold for c in ws[1])
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows == [
        ["s1", "Zoë 日本", 30, 7.5, True],
        ["s2", "'" + CMD, -5, None, False],
        ["s3", 'a,"b"\nc', None, -1.25, None],
    ]
    cell = ws["B3"]
    assert cell.value == "'" + CMD
    assert cell.data_type == "s"
    assert ws["C3"].data_type == "n"  # a negative number stays a number
    assert ws.column_dimensions["B"].width >= len(CMD)


def test_xlsx_sheet_title_sanitised() -> None:
    ws = read_xlsx(Table(("a",), [("x",)], title="a/b:c" + "z" * 40))
    assert ws.title == "a_b_c" + "z" * 26
    assert read_xlsx(Table(("a",), [])).title == "export"


def test_neutralise() -> None:
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    for value in ("a=1", "'=1", "", -1, -1.5, None, True):
        assert neutralise(value) == value


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="format"):
        render(SAMPLE, "xml", io.BytesIO())
    with pytest.raises(ValueError, match="duplicate"):
        Table(("a", "a"), [])
    with pytest.raises(ValueError, match="row 0"):
        Table(("a", "b"), [("x",)])


def test_single_empty_field_is_not_a_blank_line() -> None:
    out = rendered(Table(("a",), [("",), (None,)]), "csv").decode()
    assert list(csv.reader(io.StringIO(out))) == [["a"], [""], [""]]


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_default_format() -> None:
    assert default_format(_Stream(True)) == "table"
    assert default_format(_Stream(False)) == "csv"
    assert default_format(io.BytesIO()) == "csv"
    closed = io.BytesIO()
    closed.close()
    assert default_format(closed) == "csv"
    assert set(FORMATS) == {"table", "csv", "json", "jsonl", "xlsx"}


DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _expected(text: str) -> str:
    return "'" + text if text.startswith(DANGEROUS) else text


# Texts biased toward the characters that matter here.
# Lone surrogates are left out: they are not text and cannot be written as UTF-8.
chars = st.characters(exclude_categories=("Cs",))
texts = st.text(alphabet=st.sampled_from("=+-@\t\r\n'\",; aZé日") | chars, max_size=12)
text_rows = st.lists(st.lists(texts, min_size=2, max_size=2).map(tuple), max_size=6)


@settings(max_examples=200, deadline=None)
@given(text_rows)
def test_csv_neutralised_and_lossless(rows: list[tuple[str, ...]]) -> None:
    table = Table(("x", "y"), rows)
    read = list(csv.reader(io.StringIO(rendered(table, "csv").decode("utf-8"), newline="")))
    assert read[0] == ["x", "y"]
    assert len(read) == len(rows) + 1
    for got_row, row in zip(read[1:], rows, strict=True):
        for got, text in zip(got_row, row, strict=True):
            assert not got.startswith(DANGEROUS)
            assert got == _expected(text)


def _xml_view(text: str) -> str:
    # What XML can carry: CR reads back as LF; other C0 controls become U+FFFD.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join("\ufffd" if ord(c) < 0x20 and c not in "\t\n" else c for c in text)


@settings(max_examples=50, deadline=None)
@given(text_rows)
def test_xlsx_neutralised_and_lossless(rows: list[tuple[str, ...]]) -> None:
    ws = read_xlsx(Table(("x", "y"), rows))
    # Cells are read by position: a sheet does not keep trailing rows that are all blank.
    for r, row in enumerate(rows, start=2):
        for c, text in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            got = "" if cell.value is None else cell.value
            assert cell.data_type in ("s", "n")  # never "f"
            assert isinstance(got, str)
            assert not got.startswith(DANGEROUS)
            assert got == _xml_view(_expected(text))


cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(chars),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3).map(tuple), max_size=6))
def test_json_and_jsonl_round_trip(rows: list[tuple[object, ...]]) -> None:
    table = Table(("a", "b", "c"), rows)
    expected = [dict(zip(table.columns, row, strict=True)) for row in rows]
    assert json.loads(rendered(table, "json")) == expected
    # Split on bytes: str.splitlines would also break at U+2028 inside a value.
    data = rendered(table, "jsonl")
    assert data.endswith(b"\n") or not rows
    assert [json.loads(line) for line in data.split(b"\n")[:-1]] == expected
    # Exact types too: a bool stays a bool, an int an int.
    for got, want in zip(json.loads(rendered(table, "json")), expected, strict=True):
        assert [type(v) for v in got.values()] == [type(v) for v in want.values()]

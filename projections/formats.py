"""Render typed rows as any export format of SPEC §5 (table, csv, json, jsonl, xlsx).

The read models return rows as frozen dataclasses; `table` lays them out by
their fields (one column each, in order), and `render` writes the table.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, get_origin, get_type_hints
from uuid import UUID

import msgspec

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Cell = str | int | float | bool | None

FORMATS = ("table", "csv", "json", "jsonl", "xlsx")

# SPEC §6 / OWASP CSV injection: text a spreadsheet would run as a formula.
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

# Characters XML 1.0 cannot carry; openpyxl raises IllegalCharacterError on them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Excel limits on sheet names.
_SHEET_FORBIDDEN = re.compile(r"[\\/?*\[\]:]")
_SHEET_MAX = 31
# Control characters (C0, DEL, C1; ESC among them) shown as escapes on a terminal, so that
# text from the ledger can neither move the cursor nor start an escape sequence.
_TERMINAL_ESCAPES = {
    c: chr(c).encode("unicode_escape").decode("ascii") for c in [*range(0x20), *range(0x7F, 0xA0)]
}
# What a message keeps: its line ends and tabs are the program's own layout.
_MESSAGE_ESCAPES = {c: shown for c, shown in _TERMINAL_ESCAPES.items() if chr(c) not in "\n\t"}


@dataclass(frozen=True, slots=True)
class Table:
    """Named columns and rows of plain cell values, ready to render."""

    columns: tuple[str, ...]
    rows: list[tuple[Cell, ...]] = field(default_factory=list)
    title: str = "export"

    def __post_init__(self) -> None:
        # Duplicate names would silently merge keys in the JSON objects.
        if len(set(self.columns)) != len(self.columns):
            raise ValueError(f"duplicate column names in {self.columns!r}")
        width = len(self.columns)
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"row {i} has {len(row)} cells, expected {width}")


def table(
    rows: Sequence[DataclassInstance], row_type: type[DataclassInstance], title: str, spread: Sequence[str] = ()
) -> Table:
    """`rows` of `row_type` as a table: a column per field, a cell per value.

    Instants are written as ISO 8601, ids as text, and several values (a
    team) joined by `;`. A field that holds a mapping (the gradebook's outcome
    per assignment) spreads into a column per key of `spread`, in that order;
    a key that would repeat another column's name is prefixed with the field's.
    """
    fields = dataclasses.fields(row_type)
    hints = get_type_hints(row_type)
    fixed = {f.name for f in fields}
    columns: list[str] = []
    for f in fields:
        if get_origin(hints[f.name]) in (dict, Mapping):
            columns.extend(f"{f.name} {key}" if key in fixed else key for key in spread)
        else:
            columns.append(f.name)
    body: list[tuple[Cell, ...]] = []
    for row in rows:
        cells: list[Cell] = []
        for f in fields:
            value = getattr(row, f.name)
            if isinstance(value, Mapping):
                cells.extend(cell(value.get(key)) for key in spread)
            else:
                cells.append(cell(value))
        body.append(tuple(cells))
    return Table(tuple(columns), body, title=title)


def cell(value: object) -> Cell:
    """One value of a row as a cell: instants as ISO 8601, ids as text, several values joined by `;`."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | list | frozenset):
        return ";".join(str(cell(v)) for v in value)
    raise TypeError(f"no cell for {value!r}")


class _TTYLike(Protocol):
    def isatty(self) -> bool: ...


def default_format(stream: _TTYLike) -> str:
    """The `table` format when `stream` is a terminal, else `csv` (SPEC §5)."""
    try:
        return "table" if stream.isatty() else "csv"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "csv"


def neutralise(value: Cell) -> Cell:
    """`value` with a leading `'` if it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def render(table: Table, fmt: str, out: BinaryIO) -> None:
    """Write `table` to `out` as bytes in format `fmt` (one of FORMATS).

    csv: RFC 4180 quoting, UTF-8 without BOM, but `\\n` line ends rather than
    CRLF (friendlier to pipes and Unix tools; common CSV readers accept both).
    None is an empty field. csv and xlsx neutralise formula-like text (SPEC §6);
    json and jsonl keep values exactly; table escapes control characters.
    """
    if fmt == "csv":
        write_csv(table, out)
    elif fmt == "json":
        objects = [dict(zip(table.columns, row, strict=True)) for row in table.rows]
        out.write(msgspec.json.format(msgspec.json.encode(objects), indent=2) + b"\n")
    elif fmt == "jsonl":
        encode = msgspec.json.encode
        out.writelines(encode(dict(zip(table.columns, row, strict=True))) + b"\n" for row in table.rows)
    elif fmt == "xlsx":
        write_xlsx(table, out)
    elif fmt == "table":
        _text_table(table, out)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Cell) -> str:
    """A cell as plain text: None is empty, booleans as in JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_field(value: Cell, delimiter: str = ",", verbatim: bool = False) -> str:
    text = _text(value if verbatim else neutralise(value))
    # Quoted by hand: the csv module with lineterminator="\n" leaves a bare "\r"
    # unquoted, which RFC 4180 (and Python's own reader) read as a line end.
    if any(c in text for c in (delimiter, '"', "\r", "\n")):
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(
    table: Table, out: BinaryIO, delimiter: str = ",", bom: bool = False, verbatim: Sequence[str] = ()
) -> None:
    """`table` as the csv format writes it, with another `delimiter`, a UTF-8 `bom`, or both.

    Cells of the `verbatim` columns are written as they are: values of the
    program's own (an exam office's `--` mark), never text from applicants.
    """
    kept = [name in verbatim for name in table.columns]
    if bom:
        out.write(b"\xef\xbb\xbf")
    for row in (table.columns, *table.rows):
        line = delimiter.join(_csv_field(v, delimiter, k) for v, k in zip(row, kept, strict=True))
        # A lone empty field would be a blank line, which readers skip.
        if line == "" and len(row) == 1:
            line = '""'
        out.write((line + "\n").encode("utf-8"))


def _xlsx_text(value: str) -> str:
    # XML cannot carry most C0 controls, and its parsers turn CR into LF anyway:
    # do both here so the file holds exactly what any reader will see.
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _XML_ILLEGAL.sub("\ufffd", value)


def _sheet_title(title: str) -> str:
    name = _SHEET_FORBIDDEN.sub("_", title)[:_SHEET_MAX].strip("'")
    return name or "export"


def write_xlsx(
    table: Table, out: BinaryIO, above: Sequence[str] = (), below: Sequence[str] = (), verbatim: Sequence[str] = ()
) -> None:
    """`table` as the xlsx format writes it; `above` and `below`: cells of column A before the
    header and after the last row (marker cells such as HIS's `startHISsheet`).

    Cells of the `verbatim` columns are written as they are (see `write_csv`).
    """
    # Imported here: openpyxl takes ~150 ms to import and only this format needs it.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)  # a new workbook's one sheet
    ws.title = _sheet_title(table.title)
    bold = Font(bold=True)
    first = len(above) + 1  # the header's row
    kept = [name in verbatim for name in table.columns]
    for r, text in enumerate(above, start=1):
        _marker(ws.cell(row=r, column=1), text)
    for r, row in enumerate((table.columns, *table.rows), start=first):
        for c, value in enumerate(row, start=1):
            # openpyxl would write "" as an empty inline string; a blank cell is what it means.
            if value is None or value == "":
                continue
            cell = ws.cell(row=r, column=c)
            safe = value if kept[c - 1] else neutralise(value)
            if isinstance(safe, str):
                cell.value = _xlsx_text(safe)
                # Never a formula, whatever the text looks like.
                cell.data_type = "s"
            else:
                cell.value = safe
            if r == first:
                cell.font = bold
    for r, text in enumerate(below, start=first + len(table.rows) + 1):
        _marker(ws.cell(row=r, column=1), text)
    ws.freeze_panes = f"A{first + 1}"
    for c, name in enumerate(table.columns, start=1):
        longest = max(
            (_display_width(line) for row in table.rows for line in _text(row[c - 1]).split("\n")),
            default=0,
        )
        ws.column_dimensions[get_column_letter(c)].width = min(max(longest, len(name)) + 2, 60)
    wb.save(out)


def _marker(cell: Any, text: str) -> None:
    cell.value = _xlsx_text(text)
    cell.data_type = "s"


def _display_width(text: str) -> int:
    """Terminal columns `text` takes: wide East Asian 2, combining and format marks 0."""
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def visible(text: str, lines: bool = False) -> str:
    """`text` as a terminal may show it: every control character as its escape (ESC as `\\x1b`).

    The one place that makes text safe for a terminal: the table format, the
    CLI's lines and messages all go through it. With `lines`, line ends and
    tabs are kept (a message of several lines; the rest is escaped all the same).
    """
    return text.translate(_MESSAGE_ESCAPES if lines else _TERMINAL_ESCAPES)


def _terminal_text(value: Cell) -> str:
    return visible(_text(value))


def _text_table(table: Table, out: BinaryIO) -> None:
    header = [_terminal_text(c) for c in table.columns]
    body = [[_terminal_text(v) for v in row] for row in table.rows]
    widths = [_display_width(h) for h in header]
    for cells in body:
        widths = [max(w, _display_width(t)) for w, t in zip(widths, cells, strict=True)]

    def line(cells: list[str], right: list[bool]) -> str:
        parts = []
        for text, width, r in zip(cells, widths, right, strict=True):
            pad = " " * (width - _display_width(text))
            parts.append(pad + text if r else text + pad)
        return "  ".join(parts).rstrip() + "\n"

    numeric = [[_is_number(v) for v in row] for row in table.rows]
    # A header sits over its column: right-aligned when every value in it is a number.
    header_right = []
    for i in range(len(header)):
        values = [row[i] for row in table.rows if row[i] is not None]
        header_right.append(bool(values) and all(_is_number(v) for v in values))
    out.write(line(header, header_right).encode("utf-8"))
    out.write(("  ".join("-" * w for w in widths) + "\n").encode("utf-8"))
    for cells, right in zip(body, numeric, strict=True):
        out.write(line(cells, right).encode("utf-8"))

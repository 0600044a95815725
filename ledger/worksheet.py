"""Moodle's grading worksheet, read as Moodle writes it (mod_assign, "Download grading worksheet").

What is read here comes from Moodle's source (docs/moodle.md lists it):

- `dataformat_csv` writes through OpenSpout's CSV writer: a UTF-8 BOM, then
  PHP's `fputcsv` with `,` and `"` and no escape character: a cell is quoted
  when it holds `,`, `"`, a space, a tab, CR or LF, and `"` is doubled; lines
  end with LF.
- The columns (`gradingtable.php`, download mode) are found by their header in
  the downloading user's language, English or German here; their order is
  not relied on.
- `Identifier` is `Participant <n>` (German `Teilnehmer/in<n>`), Moodle's
  per-assignment mapping id: it names no student of the ledger.
- `Status` joins parts with ` - `: the submission's status first (`Submitted
  for grading` …), then `<time> late`, locked, graded or overdue, the marking
  workflow's state, and `Extension granted until: <date>`.
- Dates are `userdate()`'s default `strftimedaydatetime`, in the downloading
  user's time zone to the minute; an empty date is `-`.

This module knows the file and its words; `ledger.moodle` turns what it read
into events. Reading never guesses: a cell that is not as Moodle writes it is
said so, with its line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from ledger.errors import LedgerError

# No worksheet of one assignment comes near this (one row per participant); reading stops here.
MAX_BYTES = 64 * 1024 * 1024
# A cell may hold a whole online-text submission; csv's default limit (128 KiB) is too small for that.
MAX_CELL = 16 * 1024 * 1024

EMPTY_DATE = "-"


class WorksheetError(LedgerError):
    """A file that cannot be read as a Moodle grading worksheet at all."""


@dataclass(frozen=True)
class Language:
    """Moodle's words in one language: headers, statuses, date names (from its language packs)."""

    name: str
    identifier: str  # recordid
    participant: re.Pattern[str]  # hiddenuser + mapping id
    full_name: str  # core fullname
    email: str  # core email
    status: str
    group: str  # submissionteam
    modified: str  # lastmodifiedsubmission
    submitted: str  # submissionstatus_submitted
    not_submitted: tuple[str, ...]  # submissionstatus_ / _new / _draft / _reopened
    late: str  # submittedlateshort: '{$a} late'
    extension: str  # userextensiondate: 'Extension granted until: {$a}'
    no_group: tuple[str, ...]  # noteamgrader, multipleteamsgrader
    weekdays: tuple[str, ...]  # Monday first
    months: tuple[str, ...]
    date: re.Pattern[str]
    date_example: str
    twelve_hour: bool


_ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December")  # fmt: skip
_GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
                  "November", "Dezember")  # fmt: skip

ENGLISH = Language(
    name="English",
    identifier="Identifier",
    participant=re.compile(r"Participant ([0-9]+)"),
    full_name="Full name",
    email="Email address",
    status="Status",
    group="Group",
    modified="Last modified (submission)",
    submitted="Submitted for grading",
    not_submitted=("No submission", "New submission", "Draft (not submitted)", "Reopened"),
    late=" late",
    extension="Extension granted until: ",
    no_group=(
        "Not a member of any group, so unable to make submissions.",
        "Member of more than one group, so unable to make submissions.",
    ),
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=_ENGLISH_MONTHS,
    # '%A, %d %B %Y, %I:%M %p', leading zeros of the day and the hour removed.
    date=re.compile(r"(\w+), ([0-9]{1,2}) (\w+) ([0-9]{4}), ([0-9]{1,2}):([0-9]{2}) ([AP]M)", re.IGNORECASE),
    date_example="Wednesday, 16 April 2025, 11:58 PM",
    twelve_hour=True,
)

GERMAN = Language(
    name="German",
    identifier="ID",
    participant=re.compile(r"Teilnehmer/in([0-9]+)"),
    full_name="Vollständiger Name",
    email="E-Mail-Adresse",
    status="Status",
    group="Gruppe",
    modified="Zuletzt geändert (Abgabe)",
    submitted="Zur Bewertung abgegeben",
    not_submitted=("Keine Abgabe", "Entwurf (nicht abgegeben)", "Erneut geöffnet"),
    late=" zu spät",
    extension="Verlängertes Abgabeende bis: ",
    no_group=(
        "Kein Mitglied einer Gruppe. Die Abgabe von Aufgaben ist nicht möglich.",
        "Mitglied in mehreren Gruppen. Die Abgabe von Aufgaben ist nicht möglich.",
    ),
    weekdays=("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    months=_GERMAN_MONTHS,
    # '%A, %d. %B %Y, %H:%M', the day's leading zero removed.
    date=re.compile(r"(\w+), ([0-9]{1,2})\. (\w+) ([0-9]{4}), ([0-9]{1,2}):([0-9]{2})"),
    date_example="Mittwoch, 16. April 2025, 23:58",
    twelve_hour=False,
)

LANGUAGES = (ENGLISH, GERMAN)


@dataclass(frozen=True)
class Row:
    """One row of a worksheet: the cells this program reads, as written, and where the row starts."""

    line: int
    identifier: str
    email: str | None  # None: the worksheet has no email column (blind marking, or not shown)
    status: str
    group: str | None  # None: no Group column (no group submission)
    modified: str


@dataclass(frozen=True)
class Worksheet:
    """A grading worksheet: its language, whether students submit in groups, its rows."""

    language: Language
    grouped: bool
    has_email: bool
    rows: list[Row]
    bad_rows: list[tuple[int, str]]  # rows that are not rows of a worksheet at all (line, why)


@dataclass(frozen=True)
class Status:
    """What a row's Status says: submitted or not, late or not, and an extension's date if granted."""

    submitted: bool
    late: str  # Moodle's "1 day 2 hours" if it says the submission was late, else ""
    extension: str | None  # the date cell of "Extension granted until: …"


def read(stream: IO[bytes], limit: int = MAX_BYTES) -> Worksheet:
    """The worksheet in `stream`; `WorksheetError` if it is no Moodle grading worksheet."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise WorksheetError(
            f"the worksheet is larger than {limit // (1024 * 1024)} MiB; a Moodle grading worksheet of one "
            "assignment is far smaller: is it the right file?"
        )
    text = _decode(data)
    with _cells_up_to(MAX_CELL):
        records = _records(text)
        _, header = next(records, (0, []))
        if not header:
            raise WorksheetError("the worksheet is empty: no header line")
        language, columns = _columns(header)
        rows: list[Row] = []
        bad: list[tuple[int, str]] = []
        for line, cells in records:
            if cells == []:
                continue  # a blank line
            if len(cells) != len(header):
                bad.append(
                    (line, f"has {len(cells)} cells, the header has {len(header)}: not a row as Moodle writes it")
                )
                continue
            rows.append(
                Row(
                    line=line,
                    identifier=cells[columns[language.identifier]],
                    email=cells[columns[language.email]] if language.email in columns else None,
                    status=cells[columns[language.status]],
                    group=cells[columns[language.group]] if language.group in columns else None,
                    modified=cells[columns[language.modified]],
                )
            )
    return Worksheet(language, language.group in columns, language.email in columns, rows, bad)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise WorksheetError(
            "the worksheet is UTF-16 (a spreadsheet's 'Unicode text'); Moodle writes UTF-8: use the file as "
            "Moodle wrote it, or save it as 'CSV UTF-8'"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise WorksheetError(
            f"line {line} is not UTF-8 (byte 0x{data[error.start]:02x}); Moodle writes UTF-8: was the worksheet "
            "saved again by a spreadsheet in another encoding?"
        ) from None


@contextmanager
def _cells_up_to(size: int) -> Iterator[None]:
    before = csv.field_size_limit(size)
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted cell may run over several lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise WorksheetError(f"line {reader.line_num}: not CSV as Moodle writes it ({error})") from None
        yield start, cells
        start = reader.line_num + 1


def _columns(header: list[str]) -> tuple[Language, dict[str, int]]:
    """The worksheet's language and where each column is, by its header."""
    found = [language for language in LANGUAGES if language.identifier in header]
    if len(found) != 1:
        shown = ", ".join(repr(h) for h in header[:8])
        hint = ""
        if len(header) == 1 and ";" in header[0]:
            hint = " (it is separated by semicolons: a spreadsheet saved it again; Moodle separates by commas)"
        raise WorksheetError(
            f"not a Moodle grading worksheet in English or German: no 'Identifier' or 'ID' column{hint}; "
            f"the header is {shown}"
        )
    language = found[0]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in columns and name in _read_by(language):
            raise WorksheetError(f"the column {name!r} appears twice in the header")
        columns.setdefault(name, index)
    for needed in (language.status, language.modified):
        if needed not in columns:
            why = " (the assignment collects no submissions in Moodle?)" if needed == language.modified else ""
            raise WorksheetError(f"the worksheet has no {needed!r} column{why}")
    return language, columns


def _read_by(language: Language) -> tuple[str, ...]:
    return (language.identifier, language.email, language.status, language.group, language.modified)


def status(text: str, language: Language) -> Status:
    """What a Status cell says; ValueError if its first part is no submission status Moodle writes."""
    parts = text.split(" - ")
    base = parts[0]
    if base != language.submitted and base not in language.not_submitted:
        known = ", ".join(repr(s) for s in (language.submitted, *language.not_submitted))
        raise ValueError(f"status {text!r} does not begin with a submission status of Moodle's ({known})")
    late = next((p[: -len(language.late)] for p in parts[1:] if p.endswith(language.late)), "")
    extension = next((p[len(language.extension) :] for p in parts[1:] if p.startswith(language.extension)), None)
    return Status(base == language.submitted, late, extension)


def date(text: str, language: Language) -> datetime:
    """A date as Moodle writes it, as the naive wall-clock minute it names; ValueError if it is not one."""
    match = language.date.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a date as Moodle writes it in {language.name} (e.g. {language.date_example!r})"
        )
    weekday, day, month, year, hour, minute = match.groups()[:6]
    months = {m.casefold(): i for i, m in enumerate(language.months, start=1)}
    if month.casefold() not in months:
        raise ValueError(f"{text!r} names no month of the year in {language.name}")
    h = int(hour)
    if language.twelve_hour:
        if not 1 <= h <= 12:
            raise ValueError(f"{text!r}: the hour {h} is not on a 12-hour clock")
        h = h % 12 + (12 if match.group(7).upper() == "PM" else 0)
    try:
        moment = datetime(int(year), months[month.casefold()], int(day), h, int(minute))
    except ValueError as error:
        raise ValueError(f"{text!r} is not a date ({error})") from None
    said = weekday.casefold()
    actual = language.weekdays[moment.weekday()]
    if said != actual.casefold():
        raise ValueError(f"{text!r} says {weekday}, but that day is a {actual}")
    return moment

"""The exam office's lists as HIS (LSF/QIS) takes them: `export exam|admission --format his` (issue 10.2).

The exam list carries HIS's grade-entry columns: `mtknr` (matriculation
number), `nachname`, `vorname`, `bewertung` (a grade ×100 in three digits,
`100` … `500`; a certificate `++` passed or `--` failed), `pdatum` (the exam's
date, `dd.mm.yyyy`) and `pstatus` (`BE` passed, `NB` failed, `AN` registered
without a result). The admission list names who is admitted to the exam with
the same identity columns. Both are built on the `exam` and `admission` views
(never a second copy of their rules) and written as CSV (`;`, UTF-8 with a
BOM) or as XLSX with the table between the marker cells `startHISsheet` and
`endHISsheet`. docs/exam-office.md gives the sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from ledger.vault import ERASED, UNREADABLE
from projections import admission, exam
from projections.formats import Table, table, write_csv, write_xlsx
from projections.reading import Reading

START, END = "startHISsheet", "endHISsheet"
PASSED, FAILED, REGISTERED = "BE", "NB", "AN"
CERTIFICATE_PASSED, CERTIFICATE_FAILED = "++", "--"
# Name particles that belong to the surname that follows them ("Ludwig van Beethoven").
PARTICLES = frozenset({"al", "bin", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du",
                       "ibn", "la", "le", "ten", "ter", "van", "vom", "von", "y", "zu", "zum", "zur"})  # fmt: skip
# Marks put where a name cannot be read: kept whole, as the surname.
MARKS = (ERASED, UNREADABLE)


@dataclass(frozen=True, slots=True)
class HisExamRow:
    """One exam candidate in HIS's grade-entry columns."""

    mtknr: str
    nachname: str
    vorname: str
    bewertung: str  # 130; ++ / -- for a certificate; empty without a result
    pdatum: str  # dd.mm.yyyy; empty without a date
    pstatus: str  # BE / NB / AN


@dataclass(frozen=True, slots=True)
class HisAdmissionRow:
    """One participant admitted to the exam, in HIS's identity columns."""

    mtknr: str
    nachname: str
    vorname: str


def split_name(name: str) -> tuple[str, str]:
    """(surname, given names) of a name as applicants write it.

    `Surname, Given Names` is split at the comma. Otherwise the last word is
    the surname, with the particles before it (`van`, `von der`, `de la` …),
    and the words before are the given names; the first word is always a
    given name unless it is the only one. A mark for an unreadable name
    (`[erased]`) is the surname, with no given names.
    """
    text = " ".join(name.split())
    if text in MARKS or not text:
        return text, ""
    if text.count(",") == 1:
        surname, given = (part.strip() for part in text.split(","))
        if surname and given:
            return surname, given
    words = text.split(" ")
    start = len(words) - 1
    while start > 1 and words[start - 1].casefold() in PARTICLES:
        start -= 1
    return " ".join(words[start:]), " ".join(words[:start])


def bewertung(mode: str, grade: float | None, result: str) -> str:
    """HIS's `bewertung`: a grade ×100 in three digits, `++`/`--` for a certificate, empty without a result."""
    if grade is None:
        return ""
    if mode == "certificate":
        return CERTIFICATE_PASSED if result == "passed" else CERTIFICATE_FAILED
    return f"{round(grade * 100):03d}"


def exam_list(reading: Reading, exam_date: date | None = None) -> list[HisExamRow]:
    """The exam view's candidates for HIS; `pdatum` is `exam_date`, else the day each grade was recorded at."""
    grades = reading.whole().grades
    rows = []
    for candidate in exam.exam(reading):
        surname, given = split_name(candidate.name)
        day = exam_date
        if day is None and candidate.grade is not None:
            day = reading.local(grades[candidate.student].event.at).date()
        status = {"passed": PASSED, "failed": FAILED}.get(candidate.result, REGISTERED)
        rows.append(
            HisExamRow(
                candidate.student, surname, given, bewertung(candidate.mode, candidate.grade, candidate.result),
                f"{day:%d.%m.%Y}" if day else "", status,
            )
        )  # fmt: skip
    return rows


def admission_list(reading: Reading) -> list[HisAdmissionRow]:
    """Who the admission view admits to the exam (status `admitted`), for HIS."""
    return [
        HisAdmissionRow(row.student, *split_name(row.name))
        for row in admission.admission(reading)
        if row.status == "admitted"
    ]


def exam_sheet(reading: Reading, exam_date: date | None = None) -> Table:
    """`exam_list` as a table."""
    return table(exam_list(reading, exam_date), HisExamRow, title="his")


def admission_sheet(reading: Reading) -> Table:
    """`admission_list` as a table."""
    return table(admission_list(reading), HisAdmissionRow, title="his")


def write(sheet: Table, out: BinaryIO, xlsx: bool = False) -> None:
    """Write a HIS list as HIS takes it: CSV (`;`, UTF-8 with a BOM), or XLSX between the marker cells.

    Names are neutralised as in every export (SPEC §6); `bewertung` holds the
    program's own marks (`--` is HIS's "failed"), written as they are.
    """
    if xlsx:
        write_xlsx(sheet, out, above=[START], below=[END], verbatim=["bewertung"])
    else:
        write_csv(sheet, out, delimiter=";", bom=True, verbatim=["bewertung"])

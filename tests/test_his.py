"""`export exam|admission --format his`: the exam office's lists for HIS (LSF/QIS) grade entry (issue 10.2)."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from ledger import events as ev
from projections import his
from projections.formats import Table
from tests.cli_helpers import run
from tests.test_views import ADA, ALAN, EMMY, GRACE, Script

HEDY, LUDWIG = "231006", "231007"
LATER = "2025-08-01T12:00:00+02:00"
BOM = "\ufeff"


@pytest.fixture
def store(sqlite_path: str) -> str:
    """Six candidates: graded, certificates passed and failed, one not yet graded, hostile and particle names."""
    s = Script(sqlite_path)
    s.semester()
    for student, name in ((HEDY, '=HYPERLINK("x";"y") --'), (LUDWIG, "  Ludwig  van   Beethoven ")):
        s.add("ApplicationSubmitted", "2025-03-20T10:00:00+01:00", student=student, name=name, email=f"{student}@x",
              programme="bachelor", prerequisite="p", statement="")  # fmt: skip
        s.add("ApplicationAccepted", "2025-04-07T10:00:00+02:00", student=student)
    everyone = (ADA, GRACE, ALAN, EMMY, HEDY, LUDWIG)
    for student in everyone:
        s.add("ExcuseGranted", "2025-04-10T08:00:00+02:00", student=student, assignments=["A01", "A02", "A03", "A04"],
              certificate=f"AU-{student}", reason="illness")  # fmt: skip
    s.add("CourseworkClosed", "2025-07-15T00:00:00+02:00")
    modes = {ADA: "graded", GRACE: "certificate", ALAN: "certificate", EMMY: "graded", HEDY: "graded", LUDWIG: "graded"}
    for student in everyone:
        s.add("ExamRegistered", "2025-07-15T11:00:00+02:00", student=student, mode=modes[student])
    for student, grade in ((ADA, 1.3), (GRACE, 5.0), (ALAN, 4.0), (HEDY, 5.0)):
        s.add("ExamGraded", "2025-07-30T10:00:00+02:00", student=student, grade=grade)
    s.add("ExamGraded", "2025-07-31T00:30:00+02:00", student=LUDWIG, grade=1.0)  # the 30th in UTC, the 31st in Berlin
    s.flush()
    return sqlite_path


def cells(text: str) -> list[list[str]]:
    """A HIS CSV read back."""
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def export(store: str, *args: str) -> str:
    result = run(store, "export", *args)
    assert result.exit_code == 0, result.output
    return result.stdout


# -- the rules of the format --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "surname", "given"),
    [
        ("Ada Lovelace", "Lovelace", "Ada"),
        ("Anna Maria Schmidt", "Schmidt", "Anna Maria"),
        ("Ludwig van Beethoven", "van Beethoven", "Ludwig"),
        ("Ursula von der Leyen", "von der Leyen", "Ursula"),
        ("Maria de la Cruz Lopez", "Lopez", "Maria de la Cruz"),
        ("Juan de la Cruz", "de la Cruz", "Juan"),
        ("Johann Von Neumann", "Von Neumann", "Johann"),
        ("Van Morrison", "Morrison", "Van"),  # the first word is always a given name
        ("Karl-Theodor zu Guttenberg", "zu Guttenberg", "Karl-Theodor"),
        ("Müller-Lüdenscheidt, Hans Werner", "Müller-Lüdenscheidt", "Hans Werner"),
        ("Plato", "Plato", ""),
        ("  Grace \t Brewster  Hopper ", "Hopper", "Grace Brewster"),
        ("[erased]", "[erased]", ""),
        ("[unreadable]", "[unreadable]", ""),
        ("", "", ""),
        ("Lovelace, ", "Lovelace,", ""),  # a comma without given names is no "Surname, Given"
    ],
)
def test_names_split_into_surname_and_given_names(name: str, surname: str, given: str) -> None:
    assert his.split_name(name) == (surname, given)


def test_grades_are_written_times_100_in_three_digits() -> None:
    assert [his.bewertung("graded", g, "") for g in ev.GRADES] == [
        "100", "130", "170", "200", "230", "270", "300", "330", "370", "400", "500",
    ]  # fmt: skip
    assert his.bewertung("certificate", 2.3, "passed") == "++"
    assert his.bewertung("certificate", 5.0, "failed") == "--"
    assert his.bewertung("graded", None, "") == his.bewertung("certificate", None, "") == ""


# -- the exam list ---------------------------------------------------------------------------


def test_exam_list_as_csv_with_semicolons_and_a_bom(store: str) -> None:
    assert export(store, "exam", "--format", "his", "--as-of", LATER) == (
        f"{BOM}mtknr;nachname;vorname;bewertung;pdatum;pstatus\n"
        f"{ADA};Lovelace;Ada;130;30.07.2025;BE\n"
        f"{GRACE};Hopper;Grace;--;30.07.2025;NB\n"
        f"{ALAN};Turing;Alan;++;30.07.2025;BE\n"
        f"{EMMY};Noether;Emmy;;;AN\n"
        f"{HEDY};'--;\"'=HYPERLINK(\"\"x\"\";\"\"y\"\")\";500;30.07.2025;NB\n"
        f"{LUDWIG};van Beethoven;Ludwig;100;31.07.2025;BE\n"
    )


def test_the_exam_date_fills_every_pdatum(store: str) -> None:
    for given in ("2025-07-16", "16.07.2025"):
        body = cells(export(store, "exam", "--format", "his", "--exam-date", given, "--as-of", LATER))[1:]
        assert [r[4] for r in body] == ["16.07.2025"] * 6


def test_before_grading_every_candidate_is_registered(store: str) -> None:
    body = cells(export(store, "exam", "--format", "his", "--as-of", "2025-07-20T00:00"))[1:]
    assert [r[3:] for r in body] == [["", "", "AN"]] * 6


def test_exam_list_as_xlsx_between_the_marker_cells(store: str, tmp_path: Path) -> None:
    path = tmp_path / "prf_idl.xlsx"
    assert export(store, "exam", "--format", "his", "--as-of", LATER, "-o", str(path)) == ""
    sheet = openpyxl.load_workbook(path).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == ["startHISsheet", None, None, None, None, None]
    assert cells[1] == ["mtknr", "nachname", "vorname", "bewertung", "pdatum", "pstatus"]
    assert cells[2] == [ADA, "Lovelace", "Ada", "130", "30.07.2025", "BE"]
    assert cells[3][3] == "--" and cells[5][3:] == [None, None, "AN"]
    assert cells[6][1:3] == ["'--", "'=HYPERLINK(\"x\";\"y\")"]
    assert cells[-1] == ["endHISsheet", None, None, None, None, None]
    assert len(cells) == 2 + 6 + 1
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value is not None)  # text, never a formula


def test_erased_names_stay_marked(store: str) -> None:
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM material_keys WHERE student = ? AND purpose = 'identity'", (GRACE,))
    lines = export(store, "exam", "--format", "his", "--as-of", LATER).splitlines()
    assert lines[2] == f"{GRACE};[erased];;--;30.07.2025;NB"


# -- the admission list --------------------------------------------------------------------


def test_admission_list_names_who_is_admitted(store: str) -> None:
    assert export(store, "admission", "--format", "his", "--as-of", LATER) == (
        f"{BOM}mtknr;nachname;vorname\n{ADA};Lovelace;Ada\n{GRACE};Hopper;Grace\n{ALAN};Turing;Alan\n"
        f"{EMMY};Noether;Emmy\n{HEDY};'--;\"'=HYPERLINK(\"\"x\"\";\"\"y\"\")\"\n{LUDWIG};van Beethoven;Ludwig\n"
    )


def test_admission_list_leaves_out_the_excluded_and_withdrawn(sqlite_path: str) -> None:
    s = Script(sqlite_path)
    s.semester()
    s.add("ExcuseGranted", "2025-04-10T08:00:00+02:00", student=ADA, assignments=["A01", "A02", "A03", "A04"],
          certificate="AU", reason="illness")  # fmt: skip
    s.add("ExcuseGranted", "2025-04-10T08:00:00+02:00", student=GRACE, assignments=["A01", "A02"], certificate="AU",
          reason="illness")  # fmt: skip
    s.add("ApplicationWithdrawn", "2025-04-12T08:00:00+02:00", student=ALAN, reason="moved")
    s.flush()
    before = run(sqlite_path, "export", "admission", "--format", "his", "--as-of", "2025-07-01T00:00")
    assert (before.stdout, before.stderr) == (
        f"{BOM}mtknr;nachname;vorname\n",
        "note: coursework is not closed: no one is admitted to the exam yet\n",
    )
    s.add("CourseworkClosed", "2025-07-15T00:00:00+02:00")
    s.flush()
    # Grace failed A03 and A04 (2, not more than max_fails); Emmy failed all four; Alan withdrew.
    assert export(sqlite_path, "admission", "--format", "his", "--as-of", LATER) == (
        f"{BOM}mtknr;nachname;vorname\n{ADA};Lovelace;Ada\n{GRACE};Hopper;Grace\n"
    )


# -- usage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["roster", "--format", "his"], "his is the exam office's list of exam or admission, not of roster"),
        (["events", "--format", "his"], "his is the exam office's list of exam or admission, not of events"),
        (["exam", "--exam-date", "2025-07-16"], "--exam-date is the pdatum of the exam office's list"),
        (["admission", "--format", "his", "--exam-date", "2025-07-16"], "--exam-date is the pdatum of the exam list"),
        (["exam", "--format", "his", "--exam-date", "16/07/2025"], "'16/07/2025' does not match the formats"),
        (["status", "--format", "his"], None),
    ],
)
def test_his_is_for_the_exam_office_s_lists_only(store: str, args: list[str], message: str | None) -> None:
    result = run(store, *(["export"] if args[0] != "status" else []), *args)
    assert result.exit_code == 2
    assert message is None or message in result.stderr


def test_his_writer_keeps_only_bewertung_verbatim() -> None:
    sheet = Table(("mtknr", "nachname", "bewertung"), [("-1", "--", "--"), ("@x", "+y", "++")])
    out = io.BytesIO()
    his.write(sheet, out)
    assert out.getvalue().decode("utf-8") == f"{BOM}mtknr;nachname;bewertung\n'-1;'--;--\n'@x;'+y;++\n"
    assert [his_csv_cell(t) for t in ("a;b", "a,b", 'a"b')] == ['"a;b"', "a,b", '"a""b"']


def his_csv_cell(text: str) -> str:
    out = io.BytesIO()
    his.write(Table(("nachname",), [(text,)]), out)
    return out.getvalue().decode("utf-8").splitlines()[1]

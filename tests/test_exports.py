"""`export`: every view in every format, columns in SPEC §5's order, -o, formula cells."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import openpyxl
import pytest

from tests.cli_helpers import run
from tests.test_views import ADA, ALAN, EMMY, GRACE, KURT, NAMES, Script, stdout

ADMISSION = "student,name,programme,credits,group,passed,excused,failed,open,status,reasons"
EXAM = "student,name,programme,credits,mode,grade,result,certificate"
VIEWS = ("admission", "roster", "teams", "gradebook", "exam")
LATER = "2025-08-01T12:00:00+02:00"  # graded


@pytest.fixture
def store(sqlite_path: str) -> str:
    """A semester with a bit of everything, coursework closed early so that all may sit the exam."""
    s = Script(sqlite_path)
    s.semester()
    s.hand_in("A01", "2025-04-09T20:00:00+02:00", ADA, GRACE)
    s.hand_in("A01", "2025-04-09T21:00:00+02:00", ALAN)
    s.present("A01", GRACE, "absent", "2025-04-10T09:00:00+02:00")
    for student in (ADA, GRACE, ALAN, EMMY):
        s.add("ExcuseGranted", "2025-04-10T08:00:00+02:00", student=student, assignments=["A02", "A03", "A04"],
              certificate=f"AU-{student}", reason="illness")  # fmt: skip
    s.add("CourseworkClosed", "2025-04-10T10:00:00+02:00")
    s.add("ExamRegistered", "2025-04-10T11:00:00+02:00", student=ADA, mode="graded")
    s.add("ExamRegistered", "2025-04-10T11:00:00+02:00", student=GRACE, mode="certificate")
    s.add("ExamRegistered", "2025-04-10T11:00:00+02:00", student=ALAN, mode="certificate")
    s.add("ExamGraded", "2025-07-30T10:00:00+02:00", student=ADA, grade=1.3)
    s.add("ExamGraded", "2025-07-30T10:00:00+02:00", student=GRACE, grade=5.0)
    s.add("ExamGraded", "2025-07-30T10:00:00+02:00", student=ALAN, grade=4.0)
    s.flush()
    return sqlite_path


def export(store: str, view: str, *args: str) -> str:
    return stdout(store, "export", view, "--as-of", LATER, *args)


def test_admission_columns_and_rows(store: str) -> None:
    assert export(store, "admission") == (
        f"{ADMISSION}\n"
        "231001,Ada Lovelace,master,6,g1,1,3,0,0,admitted,\n"
        "231002,Grace Hopper,bachelor,5,g1,0,3,1,0,admitted,A01:absent\n"
        "231003,Alan Turing,bachelor,5,g2,1,3,0,0,admitted,\n"
        "231004,Emmy Noether,master,6,g2,0,3,1,0,admitted,A01:missed_deadline\n"
    )


ROSTER = "student,name,email,programme,group,from_week,until_week"


def test_roster(store: str) -> None:
    assert export(store, "roster") == (
        f"{ROSTER}\n"
        "231001,Ada Lovelace,ada@st.ovgu.de,master,g1,1,\n"
        "231002,Grace Hopper,grace@st.ovgu.de,bachelor,g1,1,\n"
        "231003,Alan Turing,alan@st.ovgu.de,bachelor,g2,1,\n"
        "231004,Emmy Noether,emmy@st.ovgu.de,master,g2,1,\n"
    )


def test_teams_are_their_own_view(store: str) -> None:
    assert export(store, "teams") == (
        "assignment,members,hand_ins,last\n"
        "A01,231001;231002,1,2025-04-09T20:00:00+02:00\n"
        "A01,231003,1,2025-04-09T21:00:00+02:00\n"
    )


def test_roster_unplaced_and_group_change(store: str) -> None:
    s = Script(store)
    s.add("ApplicationAccepted", "2025-04-24T09:00:00+02:00", student=KURT)
    s.add("GroupChanged", "2025-04-25T09:00:00+02:00", student=EMMY, group="g1", reason="timetable clash")
    s.flush()

    def rows(*clock: str) -> list[str]:
        """Each participant's student, group, from_week, until_week."""
        lines = stdout(store, "export", "roster", *clock).splitlines()[1:]
        return [",".join(line.split(",")[i] for i in (0, 4, 5, 6)) for line in lines]

    # Emmy moves to g1 from week 3 (asked on Friday of week 2, after its earlier session, Thu 11:00);
    # Kurt, placed nowhere, comes last.
    assert rows("--as-of", LATER) == [f"{ADA},g1,1,", f"{GRACE},g1,1,", f"{EMMY},g1,3,", f"{ALAN},g2,1,", f"{KURT},,,"]
    # Before the change, Emmy was in g2, and Kurt not yet a participant.
    assert rows("--as-of", "2025-04-20T00:00") == [f"{ADA},g1,1,", f"{GRACE},g1,1,", f"{ALAN},g2,1,", f"{EMMY},g2,1,"]
    # Recorded, the move counts from next Thursday's session (SPEC §1.3): until then g2 says when she leaves.
    pending = rows("--as-of", "2025-05-01T10:59")
    assert pending == [f"{ADA},g1,1,", f"{GRACE},g1,1,", f"{ALAN},g2,1,", f"{EMMY},g2,1,2", f"{KURT},,,"]
    moved = rows("--as-of", "2025-05-01T11:00")
    assert moved[:3] == [f"{ADA},g1,1,", f"{GRACE},g1,1,", f"{EMMY},g1,3,"]


def test_gradebook(store: str) -> None:
    assert export(store, "gradebook") == (
        "student,name,A01,A02,A03,A04,extensions\n"
        "231001,Ada Lovelace,passed,excused,excused,excused,\n"
        "231002,Grace Hopper,failed:absent,excused,excused,excused,\n"
        "231003,Alan Turing,passed,excused,excused,excused,\n"
        "231004,Emmy Noether,failed:missed_deadline,excused,excused,excused,\n"
    )


def test_exam(store: str) -> None:
    assert export(store, "exam") == (
        f"{EXAM}\n"
        "231001,Ada Lovelace,master,6,graded,1.3,passed,\n"
        "231002,Grace Hopper,bachelor,5,certificate,5.0,failed,no\n"
        "231003,Alan Turing,bachelor,5,certificate,4.0,passed,yes\n"
    )
    # Before grading: registered, no grade, no result.
    assert stdout(store, "export", "exam", "--as-of", "2025-05-01T00:00").splitlines()[1] == (
        "231001,Ada Lovelace,master,6,graded,,,"
    )


@pytest.mark.parametrize("view", VIEWS)
def test_every_format_carries_the_same_rows(store: str, view: str, tmp_path: Path) -> None:
    as_csv = list(csv.reader(io.StringIO(export(store, view, "--format", "csv"))))
    header, body = as_csv[0], as_csv[1:]
    as_json = json.loads(export(store, view, "--format", "json"))
    as_jsonl = [json.loads(line) for line in export(store, view, "--format", "jsonl").splitlines()]
    assert as_json == as_jsonl
    assert [list(o) for o in as_json] == [header] * len(body)
    assert [[_text(v) for v in o.values()] for o in as_json] == body
    path = tmp_path / f"{view}.xlsx"
    assert stdout(store, "export", view, "--as-of", LATER, "-o", str(path)) == ""
    sheet = openpyxl.load_workbook(path).active
    cells = [[_number(_text(c)) for c in row] for row in sheet.iter_rows(values_only=True)]
    assert sheet.title == view
    assert cells == [header, *([_number(v) for v in row] for row in body)]
    table = export(store, view, "--format", "table").splitlines()
    assert table[0].split() == header
    assert len(table) == len(body) + 2


def _number(text: str) -> str:
    """Numbers as one text (a spreadsheet keeps 5.0 as the number 5)."""
    try:
        return repr(float(text))
    except ValueError:
        return text


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value)


def test_output_file_and_its_extension(store: str, tmp_path: Path) -> None:
    for name, first in (("a.csv", ADMISSION), ("a.json", "["), ("a.jsonl", '{"student":'), ("a.txt", "student  name")):
        path = tmp_path / name
        stdout(store, "export", "admission", "-o", str(path))
        assert path.read_text().startswith(first), name
    forced = tmp_path / "forced.txt"
    stdout(store, "export", "admission", "-o", str(forced), "--format", "csv")
    assert forced.read_text().startswith(ADMISSION)


def test_pipe_default_is_csv(store: str) -> None:
    assert stdout(store, "export", "admission").startswith(ADMISSION + "\n")


def test_formula_cells_are_neutralised(sqlite_path: str, tmp_path: Path) -> None:
    s = Script(sqlite_path)
    s.open()
    s.add("ApplicationSubmitted", "2025-03-10T10:00:00+01:00", student="=1+2", name='=HYPERLINK("x","y")',
          email="a@b.c", programme="master", prerequisite="ML", statement="")  # fmt: skip
    s.add("ApplicationAccepted", "2025-04-07T10:00:00+02:00", student="=1+2")
    s.flush()
    text = stdout(sqlite_path, "export", "admission", "--as-of", LATER)
    assert text.splitlines()[1] == '\'=1+2,"\'=HYPERLINK(""x"",""y"")",master,6,,0,0,0,0,on_track,'
    path = tmp_path / "admission.xlsx"
    stdout(sqlite_path, "export", "admission", "-o", str(path))
    sheet = openpyxl.load_workbook(path).active
    assert [sheet["A2"].value, sheet["B2"].value] == ["'=1+2", '\'=HYPERLINK("x","y")']
    assert sheet["B2"].data_type == "s"
    # JSON keeps values exactly.
    assert json.loads(stdout(sqlite_path, "export", "admission", "--format", "json"))[0]["name"] == (
        '=HYPERLINK("x","y")'
    )


def test_names_of_destroyed_material_read_erased(store: str) -> None:
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM material_keys WHERE student = ? AND purpose = 'identity'", (GRACE,))
    names = [r["name"] for r in json.loads(export(store, "admission", "--format", "json"))]
    assert names == [NAMES[ADA], "[erased]", NAMES[ALAN], NAMES[EMMY]]


def test_events_export_restores_to_the_same_views_and_digest(store: str, tmp_path: Path) -> None:
    backup = tmp_path / "backup.jsonl"
    assert stdout(store, "export", "events", "-o", str(backup)) == ""
    copy = str(tmp_path / "copy.sqlite")
    assert run(copy, "import", str(backup)).exit_code == 0
    for view in VIEWS:
        assert export(copy, view) == export(store, view)
    assert stdout(copy, "digest") == stdout(store, "digest")
    assert stdout(store, "export", "events") == backup.read_text()


def test_events_export_is_jsonl_only(store: str) -> None:
    result = run(store, "export", "events", "--format", "csv")
    assert result.exit_code == 2
    assert "the events export is the whole ledger as JSONL" in result.output


def test_unknown_view_is_a_usage_error(store: str) -> None:
    assert run(store, "export", "marks").exit_code == 2


def test_no_store_is_an_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.sqlite")
    result = run(missing, "export", "admission")
    assert (result.exit_code, result.output) == (
        1,
        f"error: no store at {missing!r}: open a course first or pass --store\n",
    )

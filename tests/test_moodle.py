"""`import-moodle`: hand-ins and extensions from Moodle's grading worksheet (issue 10.1).

The fixtures in tests/fixtures/moodle/ are written byte for byte as Moodle
writes them (dataformat_csv → OpenSpout → PHP's fputcsv: a BOM, `,`, `"`
around any cell with a space, comma, quote, tab or line break, `""` inside,
LF), in English and German, with and without a Group column; the first test
holds them to that rule. Other worksheets are written by `worksheet_bytes`, the
same rule, and `moodle_date`, Moodle's `userdate()` format.

The course (`Script.semester` with Kurt admitted too): A03's deadline is
Monday 28 April 2025, 10:00 in Berlin; everyone's email is firstname@st.ovgu.de.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger import worksheet
from ledger.app import Ledger
from ledger.errors import Refused
from ledger.moodle import REASON, WorksheetRejected, import_worksheet
from ledger.worksheet import ENGLISH, GERMAN, WorksheetError
from tests.cli_helpers import count, run
from tests.test_views import ADA, ALAN, EMMY, GRACE, KURT, Script, grades, stdout

FIXTURES = Path(__file__).parent / "fixtures" / "moodle"
EXAMPLES = ("en-individual.csv", "de-individual.csv", "en-groups.csv", "de-groups.csv", "en-blind.csv")
LATER = "2025-06-01T12:00:00+02:00"
BERLIN = "Europe/Berlin"
EN_HEADER = ["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
             "Last modified (submission)", "Last modified (grade)"]  # fmt: skip
EMAIL = {ADA: "ada@st.ovgu.de", GRACE: "grace@st.ovgu.de", ALAN: "alan@st.ovgu.de", EMMY: "emmy@st.ovgu.de",
         KURT: "kurt@st.ovgu.de"}  # fmt: skip
NAME = {ADA: "Ada Lovelace", GRACE: "Grace Hopper", ALAN: "Alan Turing", EMMY: "Emmy Noether", KURT: "Kurt Gödel"}


# -- writing worksheets as Moodle does ------------------------------------------------


def php_cell(value: str) -> str:
    """One cell as PHP's fputcsv writes it (no escape character, as OpenSpout calls it)."""
    if any(c in value for c in ',"\n\r\t '):
        return '"' + value.replace('"', '""') + '"'
    return value


def worksheet_bytes(header: list[str], body: list[list[str]]) -> bytes:
    """A worksheet as Moodle's CSV dataformat writes it: BOM, fputcsv lines, LF."""
    return b"\xef\xbb\xbf" + "".join(",".join(map(php_cell, r)) + "\n" for r in [header, *body]).encode()


def moodle_date(moment: datetime, language: worksheet.Language = ENGLISH) -> str:
    """A wall-clock minute as Moodle's `userdate()` writes it (`strftimedaydatetime`, leading zeros cut)."""
    weekday, month = language.weekdays[moment.weekday()], language.months[moment.month - 1]
    if language is ENGLISH:
        hour = moment.hour % 12 or 12
        return f"{weekday}, {moment.day} {month} {moment.year}, {hour}:{moment.minute:02d} {moment:%p}"
    return f"{weekday}, {moment.day}. {month} {moment.year}, {moment.hour:02d}:{moment.minute:02d}"


def row(student: str, status: str, modified: datetime | None = None, mapping: int = 0) -> list[str]:
    """An English row without Group (Grade and feedback empty)."""
    when = moodle_date(modified) if modified else "-"
    return [f"Participant {1570400 + (mapping or int(student) % 100)}", NAME[student], EMAIL[student], status, "",
            "10.00", "Yes", when, "-"]  # fmt: skip


def grouped(student: str, status: str, group: str, modified: datetime | None = None) -> list[str]:
    """An English row with Group."""
    cells = row(student, status, modified)
    return [*cells[:4], group, *cells[4:]]


def sheet(*body: list[str]) -> bytes:
    header = EN_HEADER if len(body[0]) == len(EN_HEADER) else [*EN_HEADER[:4], "Group", *EN_HEADER[4:]]
    return worksheet_bytes(header, list(body))


def berlin(day: int, hour: int, minute: int = 0, month: int = 4) -> datetime:
    """A wall-clock time in 2025 (Berlin, as the worksheet shows it)."""
    return datetime(2025, month, day, hour, minute)


SUBMITTED = "Submitted for grading"


# -- the course ------------------------------------------------------------------------


@pytest.fixture
def store(sqlite_path: str) -> str:
    """Ada, Grace, Alan, Emmy and Kurt admitted; A01–A04 published (A03 due Monday 28 April, 10:00)."""
    s = Script(sqlite_path)
    s.semester()
    s.add("ApplicationAccepted", "2025-04-07T10:00:00+02:00", student=KURT)
    s.flush()
    return sqlite_path


def moodle(store: str, worksheet_path: Path | str, *args: str, assignment: str = "A03") -> tuple[int, str, str]:
    result = run(store, "import-moodle", str(worksheet_path), "--assignment", assignment, *args)
    assert result.exit_code in (0, 1), result.output  # never a traceback, never a usage error
    return result.exit_code, result.stdout, result.stderr


def written(tmp_path: Path, data: bytes, name: str = "Grades-IDL-A03-1234.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def a03(store: str) -> dict[str, str]:
    return {student: outcomes["A03"] for student, outcomes in grades(store, "--as-of", LATER).items()}


def hand_ins(store: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every hand-in in the store: (at in UTC, team)."""
    with closing(Ledger(store)) as ledger:
        return [
            (r.event.at.astimezone(UTC).isoformat(), r.event.team)
            for r in ledger.records()
            if isinstance(r.event, ev.SubmissionHandedIn)
        ]


# -- the fixtures are Moodle's bytes ---------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_fixtures_are_written_as_moodle_writes_them(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    cells = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert worksheet_bytes(cells[0], cells[1:]) == data


def test_moodle_dates_read_back_to_their_minute() -> None:
    assert moodle_date(berlin(16, 23, 58)) == "Wednesday, 16 April 2025, 11:58 PM"
    assert moodle_date(berlin(16, 23, 58), GERMAN) == "Mittwoch, 16. April 2025, 23:58"
    assert moodle_date(datetime(2025, 3, 2, 0, 5)) == "Sunday, 2 March 2025, 12:05 AM"
    assert moodle_date(datetime(2025, 3, 2, 0, 5), GERMAN) == "Sonntag, 2. März 2025, 00:05"


@settings(max_examples=300)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 12, 31)), st.sampled_from([ENGLISH, GERMAN]))
def test_every_minute_written_as_moodle_writes_it_reads_back(moment: datetime, language: worksheet.Language) -> None:
    minute = moment.replace(second=0, microsecond=0)
    assert worksheet.date(moodle_date(minute, language), language) == minute


@pytest.mark.parametrize(
    ("text", "language", "why"),
    [
        ("Wednesday, 16 April 2025, 23:58", ENGLISH, "is not a date as Moodle writes it in English"),
        ("Tuesday, 16 April 2025, 11:58 PM", ENGLISH, "says Tuesday, but that day is a Wednesday"),
        ("Thursday, 31 April 2025, 11:58 PM", ENGLISH, "is not a date (day is out of range for month)"),
        ("Wednesday, 16 Avril 2025, 11:58 PM", ENGLISH, "names no month of the year in English"),
        ("Wednesday, 16 April 2025, 13:58 PM", ENGLISH, "the hour 13 is not on a 12-hour clock"),
        ("Wednesday, 16 April 2025, 0:58 AM", ENGLISH, "the hour 0 is not on a 12-hour clock"),
        ("Mittwoch, 16 April 2025, 23:58", GERMAN, "is not a date as Moodle writes it in German"),
        ("Mittwoch, 16. April 2025, 24:00", GERMAN, "is not a date (hour must be in 0..23)"),
        ("Wednesday, 16 April 2025, 11:58 PM", GERMAN, "is not a date as Moodle writes it in German"),
        ("Wednesday, ١٦ April 2025, 11:58 PM", ENGLISH, "is not a date as Moodle writes it"),
        ("-", ENGLISH, "is not a date as Moodle writes it"),
    ],
)
def test_dates_that_are_not_moodles_are_refused(text: str, language: worksheet.Language, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        worksheet.date(text, language)


def test_statuses() -> None:
    said = worksheet.status("Submitted for grading - 1 day 2 hours late - Graded", ENGLISH)
    assert (said.submitted, said.late, said.extension) == (True, "1 day 2 hours", None)
    said = worksheet.status("No submission - Extension granted until: Friday, 2 May 2025, 10:00 AM", ENGLISH)
    assert (said.submitted, said.late, said.extension) == (False, "", "Friday, 2 May 2025, 10:00 AM")
    said = worksheet.status("Entwurf (nicht abgegeben) - Verlängertes Abgabeende bis: Freitag, 2. Mai 2025, 10:00", GERMAN)
    assert (said.submitted, said.extension) == (False, "Freitag, 2. Mai 2025, 10:00")
    assert worksheet.status("Zur Bewertung abgegeben - 30 Sek. zu spät", GERMAN).late == "30 Sek."
    for base in ("No submission - Assignment is overdue by: 3 days 4 hours", "Draft (not submitted)", "Reopened"):
        assert not worksheet.status(base, ENGLISH).submitted
    with pytest.raises(ValueError, match="does not begin with a submission status"):
        worksheet.status("Submitted", ENGLISH)
    with pytest.raises(ValueError, match="does not begin with a submission status"):
        worksheet.status("Zur Bewertung abgegeben", ENGLISH)


# -- the worksheets of the four kinds ---------------------------------------------------


def test_english_worksheet_records_hand_ins_and_the_extension(store: str) -> None:
    code, out, err = moodle(store, FIXTURES / "en-individual.csv")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert [line.split(" (id ")[0] for line in lines[:4]] == [
        "recorded ExtensionGranted at position 17",
        "recorded SubmissionHandedIn at position 18",
        "recorded SubmissionHandedIn at position 19",
        "recorded SubmissionHandedIn at position 20",
    ]
    assert [line.split("): ", 1)[1] for line in lines[:4]] == [
        f"A03 for {EMMY} until 2025-05-02T10:00:00+02:00 (line 6)",
        f"A03 by {ADA} at 2025-04-27T21:15:00+02:00 (line 2)",
        f"A03 by {ALAN} at 2025-04-29T12:00:00+02:00 (line 4)",  # Alan's online text runs over two lines
        f"A03 by {EMMY} at 2025-05-01T20:30:00+02:00 (line 6)",
    ]
    assert lines[4:] == [
        "worksheet: 5 rows (English): 3 submitted, 1 with an extension",
        "appended 4 events; 0 already in the store",
    ]
    # Grace's draft is no hand-in; Alan was a day late; Emmy handed in within her extension.
    assert a03(store) == {ADA: "passed", GRACE: "failed:missed_deadline", ALAN: "failed:late", EMMY: "passed",
                          KURT: "failed:missed_deadline"}  # fmt: skip


def test_the_extension_is_dated_at_the_published_deadline_with_moodles_reason(store: str) -> None:
    moodle(store, FIXTURES / "en-individual.csv")
    log = json.loads(stdout(store, "log", "--student", EMMY, "--assignment", "A03", "--format", "json"))
    extension = next(r for r in log if r["event"] == "ExtensionGranted")
    assert extension["at"].startswith("2025-04-28T10:00")
    assert extension["details"].endswith(f": {REASON}")


def test_german_worksheet_is_the_same_events_as_the_english_one(store: str) -> None:
    moodle(store, FIXTURES / "en-individual.csv")
    before = count(store)
    code, out, _ = moodle(store, FIXTURES / "de-individual.csv")
    assert code == 0
    assert out.splitlines() == [
        "worksheet: 5 rows (German): 3 submitted, 1 with an extension",
        "appended 0 events; 4 already in the store",
    ]
    assert count(store) == before


@pytest.mark.parametrize("name", ["en-groups.csv", "de-groups.csv"])
def test_with_groups_the_team_is_the_groups_submitted_rows(store: str, name: str) -> None:
    code, out, _ = moodle(store, FIXTURES / name)
    assert code == 0
    group = {"en-groups.csv": ("Team Red", "Team Blue"), "de-groups.csv": ("Team Rot", "Team Blau")}[name]
    assert [line.split("): ", 1)[1] for line in out.splitlines()[:3]] == [
        f"A03 for {EMMY} until 2025-05-02T10:00:00+02:00 (line 5)",
        f"A03 by {ADA}, {GRACE} at 2025-04-27T21:15:00+02:00 (group {group[0]!r}, lines 2, 3)",
        f"A03 by {ALAN}, {EMMY} at 2025-04-29T12:00:00+02:00 (group {group[1]!r}, lines 4, 5)",
    ]
    # One team, two deadlines: late for Alan, within Emmy's extension for her.
    assert a03(store) == {ADA: "passed", GRACE: "passed", ALAN: "failed:late", EMMY: "passed",
                          KURT: "failed:missed_deadline"}  # fmt: skip


def test_the_same_worksheet_twice_appends_nothing(store: str) -> None:
    moodle(store, FIXTURES / "de-groups.csv")
    before = count(store)
    code, out, _ = moodle(store, FIXTURES / "de-groups.csv")
    assert (code, out.splitlines()[-1]) == (0, "appended 0 events; 3 already in the store")
    assert count(store) == before


def test_a_later_worksheet_appends_the_resubmission_only(store: str, tmp_path: Path) -> None:
    first = sheet(row(ADA, SUBMITTED, berlin(27, 21, 15)), row(ALAN, SUBMITTED, berlin(27, 22)))
    moodle(store, written(tmp_path, first))
    later = sheet(row(ADA, SUBMITTED, berlin(28, 9, 59)), row(ALAN, SUBMITTED, berlin(27, 22)))
    code, out, _ = moodle(store, written(tmp_path, later, "later.csv"))
    assert code == 0
    assert out.splitlines()[0].endswith(f"A03 by {ADA} at 2025-04-28T09:59:00+02:00 (line 2)")
    assert out.splitlines()[-1] == "appended 1 event; 1 already in the store"
    ada = [at for at, team in hand_ins(store) if team == (ADA,)]
    assert ada == ["2025-04-27T19:15:00+00:00", "2025-04-28T07:59:00+00:00"]


def test_dry_run_says_what_it_would_append_and_writes_nothing(store: str) -> None:
    before = count(store)
    code, out, _ = moodle(store, FIXTURES / "en-groups.csv", "--dry-run")
    assert code == 0
    assert out.splitlines() == [
        f"would record ExtensionGranted: A03 for {EMMY} until 2025-05-02T10:00:00+02:00 (line 5)",
        f"would record SubmissionHandedIn: A03 by {ADA}, {GRACE} at 2025-04-27T21:15:00+02:00 (group 'Team Red', lines 2, 3)",
        f"would record SubmissionHandedIn: A03 by {ALAN}, {EMMY} at 2025-04-29T12:00:00+02:00 (group 'Team Blue', lines 4, 5)",
        "worksheet: 5 rows (English, with groups): 4 submitted, 1 with an extension",
        "would append 3 events; 0 already in the store",
    ]  # fmt: skip
    assert count(store) == before


def test_blind_marking_without_identities_cannot_be_imported(store: str) -> None:
    before = count(store)
    code, out, err = moodle(store, FIXTURES / "en-blind.csv")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: line 2: 'Participant 1570412': no 'Email address' column (blind marking, or the site shows no "
        "emails): the student cannot be found; download the worksheet with identities shown",
        "error: 1 problem(s) in the worksheet; nothing was imported",
    ]  # the draft and the empty row have nothing to record
    assert count(store) == before


def test_a_worksheet_with_nothing_submitted_appends_nothing(store: str, tmp_path: Path) -> None:
    code, out, _ = moodle(store, written(tmp_path, sheet(row(ADA, "No submission"), row(GRACE, "Draft (not submitted)", berlin(27, 9)))))
    assert (code, out.splitlines()[-1]) == (0, "appended 0 events; 0 already in the store")


# -- unusable rows -------------------------------------------------------------------------


@pytest.fixture
def crowded(sqlite_path: str) -> str:
    """The course, with Kurt never admitted, and two applicants who share an email."""
    s = Script(sqlite_path)
    s.semester()
    for student, name in (("231006", "Hedy Lamarr"), ("231007", "Hedy Kiesler")):
        s.add("ApplicationSubmitted", "2025-03-20T10:00:00+01:00", student=student, name=name, email="Hedy@st.ovgu.de",
              programme="bachelor", prerequisite="p", statement="")  # fmt: skip
    s.flush()
    return sqlite_path


BAD_ROWS = [
    row(ADA, SUBMITTED, berlin(27, 21, 15)),  # line 2: fine
    ["Participant 1570460", "Nobody", "nobody@example.org", SUBMITTED, "", "10.00", "Yes", moodle_date(berlin(27, 9)), "-"],
    row(KURT, SUBMITTED, berlin(27, 9)),  # line 4: applied, never admitted
    [*row(GRACE, SUBMITTED)[:7], "Tuesday, 27 April 2025, 9:00 AM", "-"],  # line 5: the 27th is a Sunday
    ["Participant 1570461", "Hedy", "hedy@ST.ovgu.de ", SUBMITTED, "", "10.00", "Yes", moodle_date(berlin(27, 9)), "-"],
    [*row(ALAN, "Submitted")[:7], moodle_date(berlin(27, 9)), "-"],  # line 7: no status of Moodle's
    [*row(EMMY, SUBMITTED)[:7], "-", "-"],  # line 8: submitted, no time
]


def test_unusable_rows_are_listed_with_lines_and_nothing_is_written(crowded: str, tmp_path: Path) -> None:
    before = count(crowded)
    code, out, err = moodle(crowded, written(tmp_path, sheet(*BAD_ROWS)))
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: line 3: 'Participant 1570460': no application with the email 'nobody@example.org'",
        f"error: line 4: 'Participant 1570405': refused by rule not-a-participant: student '{KURT}' is not a participant of idl-2025",
        "error: line 5: 'Participant 1570402': 'Tuesday, 27 April 2025, 9:00 AM' says Tuesday, but that day is a Sunday",
        "error: line 6: 'Participant 1570461': the email 'hedy@ST.ovgu.de' is on the applications of 231006, "
        "231007: which is meant is unclear",
        "error: line 7: 'Participant 1570403': status 'Submitted' does not begin with a submission status of "
        "Moodle's ('Submitted for grading', 'No submission', 'New submission', 'Draft (not submitted)', 'Reopened')",
        "error: line 8: 'Participant 1570404': submitted, but 'Last modified (submission)' is empty ('-')",
        "error: 6 problem(s) in the worksheet; nothing was imported",
    ]
    assert count(crowded) == before


def test_skip_bad_imports_the_usable_rows_and_lists_the_others(crowded: str, tmp_path: Path) -> None:
    code, out, err = moodle(crowded, written(tmp_path, sheet(*BAD_ROWS)), "--skip-bad")
    assert code == 0
    assert [line.split(": ", 1)[0] for line in err.splitlines()] == ["skipped"] * 6
    assert err.splitlines()[1] == (
        f"skipped: line 4: 'Participant 1570405': refused by rule not-a-participant: student '{KURT}' is not a participant of idl-2025"
    )
    assert out.splitlines()[0].endswith(f"A03 by {ADA} at 2025-04-27T21:15:00+02:00 (line 2)")
    assert out.splitlines()[-1] == "appended 1 event; 0 already in the store; 6 problem(s) skipped"
    assert hand_ins(crowded)[-1] == ("2025-04-27T19:15:00+00:00", (ADA,))


def test_a_dry_run_with_unusable_rows_fails_like_the_import(crowded: str, tmp_path: Path) -> None:
    code, _, err = moodle(crowded, written(tmp_path, sheet(*BAD_ROWS)), "--dry-run")
    assert code == 1
    assert err.splitlines()[-1] == "error: 6 problem(s) in the worksheet; nothing was imported"


def test_erased_emails_match_nothing_and_the_message_says_so(sqlite_path: str, tmp_path: Path) -> None:
    s = Script(sqlite_path)
    s.semester()
    s.add("ApplicationRejected", "2025-04-07T10:00:00+02:00", student=KURT, reason="late")
    s.add("ApplicationMaterialErased", "2025-04-08T10:00:00+02:00", students=[ADA, GRACE, ALAN, EMMY, KURT])
    s.flush()
    code, _, err = moodle(sqlite_path, written(tmp_path, sheet(row(KURT, SUBMITTED, berlin(27, 9)), row(ADA, SUBMITTED, berlin(27, 9)))))
    assert code == 1
    # Participants keep name and email; Kurt's were destroyed with his rejection's material.
    assert err.splitlines()[0] == (
        "error: line 2: 'Participant 1570405': no application with the email 'kurt@st.ovgu.de' "
        "(1 application(s) have erased emails, which match nothing)"
    )
    assert len(err.splitlines()) == 2


def test_a_student_on_two_rows_is_a_problem_on_both(store: str, tmp_path: Path) -> None:
    data = sheet(row(ADA, SUBMITTED, berlin(27, 9), mapping=1), row(ADA, SUBMITTED, berlin(27, 10), mapping=2))
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines()[:2] == [
        f"error: line 2: 'Participant 1570401': student {ADA} is also on line(s) 3",
        f"error: line 3: 'Participant 1570402': student {ADA} is also on line(s) 2",
    ]


def test_an_identifier_not_moodles_or_twice_is_a_problem(store: str, tmp_path: Path) -> None:
    ada = row(ADA, SUBMITTED, berlin(27, 9))
    grace, alan = row(GRACE, SUBMITTED, berlin(27, 9)), row(ALAN, SUBMITTED, berlin(27, 9))
    data = sheet(["231001", *ada[1:]], grace, [grace[0], *alan[1:]])
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines()[:3] == [
        "error: line 2: '231001': identifier '231001' is not Moodle's ('Participant ([0-9]+)')",
        "error: line 3: 'Participant 1570402': identifier 'Participant 1570402' is on more than one row",
        "error: line 4: 'Participant 1570402': identifier 'Participant 1570402' is on more than one row",
    ]


@pytest.mark.parametrize(
    ("wall", "why"),
    [
        (datetime(2025, 3, 30, 2, 30), "is not one instant in Europe/Berlin (the clocks change that night"),
        (datetime(2025, 10, 26, 2, 30), "is not one instant in Europe/Berlin (the clocks change that night"),
    ],
)
def test_a_time_the_clocks_skip_or_repeat_is_a_problem(store: str, tmp_path: Path, wall: datetime, why: str) -> None:
    code, _, err = moodle(store, written(tmp_path, sheet(row(ADA, SUBMITTED, wall))))
    assert code == 1
    assert why in err.splitlines()[0]
    assert f"'Last modified (submission)' {moodle_date(wall)!r}" in err.splitlines()[0]


def test_late_in_the_minute_of_the_deadline_cannot_be_read_from_the_worksheet(store: str, tmp_path: Path) -> None:
    # 10:00:30 is shown as 10:00; Moodle says late, the minute alone would say on time.
    data = sheet(row(ADA, f"{SUBMITTED} - 30 secs late", berlin(28, 10)), row(GRACE, f"{SUBMITTED} - 1 min late", berlin(28, 10, 1)),
                 row(ALAN, SUBMITTED, berlin(28, 10)))  # fmt: skip
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines() == [
        f"error: line 2: 'Participant 1570401': Moodle says '30 secs late', but the worksheet shows minutes only and 10:00 is the "
        f"minute of {ADA}'s deadline 2025-04-28T10:00:00+02:00: whether it was on time cannot be read from it; "
        "record it with `hand-in --at` and the exact time",
        "error: 1 problem(s) in the worksheet; nothing was imported",
    ]
    code, _, _ = moodle(store, written(tmp_path, data), "--skip-bad")
    assert a03(store)[GRACE] == "failed:late" and a03(store)[ALAN] == "passed"


def test_an_extension_not_later_than_the_deadline_is_refused_by_the_rule(store: str, tmp_path: Path) -> None:
    status = "No submission - Extension granted until: Monday, 28 April 2025, 9:00 AM"
    code, _, err = moodle(store, written(tmp_path, sheet(row(EMMY, status))))
    assert code == 1
    assert err.splitlines()[0].startswith("error: line 2: 'Participant 1570404': refused by rule extension-not-later: an extension")


def test_an_extension_without_a_submission_is_recorded_alone(store: str, tmp_path: Path) -> None:
    status = "No submission - Extension granted until: Friday, 2 May 2025, 10:00 AM"
    code, out, _ = moodle(store, written(tmp_path, sheet(row(EMMY, status))))
    assert code == 0
    assert out.splitlines()[0].endswith(f"A03 for {EMMY} until 2025-05-02T10:00:00+02:00 (line 2)")
    assert a03(store)[EMMY] == "failed:missed_deadline"  # the extended deadline has passed too by June
    assert grades(store, "--as-of", "2025-04-30T12:00:00+02:00")[EMMY]["A03"] == "open"


def test_hand_ins_before_the_publication_are_noted(store: str, tmp_path: Path) -> None:
    data = sheet(row(ADA, SUBMITTED, berlin(6, 9)), row(GRACE, SUBMITTED, berlin(7, 9)))  # A03 published 7 April 12:00
    code, _, err = moodle(store, written(tmp_path, data), "--dry-run")
    assert (code, err) == (
        0,
        "note: 2 hand-in(s) are dated before A03 was published (2025-04-07T12:00:00+02:00): is the worksheet of "
        "A03? (first: line 2)\n",
    )


def test_a_retracted_import_is_not_brought_back_by_importing_again(store: str) -> None:
    _, out, _ = moodle(store, FIXTURES / "en-individual.csv")
    alan = next(line for line in out.splitlines() if f"by {ALAN}" in line).split("(id ")[1].split(")")[0]
    assert run(store, "retract", alan, "--reason", "Alan's file was empty").exit_code == 0
    code, out, _ = moodle(store, FIXTURES / "en-individual.csv")
    assert (code, out.splitlines()[-1]) == (0, "appended 0 events; 4 already in the store")
    assert a03(store)[ALAN] == "failed:missed_deadline"


def test_dash_reads_the_worksheet_from_stdin(store: str) -> None:
    result = run(store, "import-moodle", "-", "--assignment", "A03", input=(FIXTURES / "de-groups.csv").read_bytes())
    assert (result.exit_code, result.stdout.splitlines()[-1]) == (0, "appended 3 events; 0 already in the store")


def test_unknown_assignment_is_refused_in_one_line(store: str) -> None:
    code, out, err = moodle(store, FIXTURES / "en-individual.csv", assignment="A99")
    assert (code, out, err) == (1, "", "error: refused by rule unknown-assignment: no assignment 'A99' in idl-2025\n")


# -- groups ------------------------------------------------------------------------------


def test_a_group_too_large_is_refused_whole(store: str, tmp_path: Path) -> None:
    at = berlin(27, 9)
    data = sheet(*(grouped(s, SUBMITTED, "Team Big", at) for s in (ADA, GRACE, ALAN, EMMY)))
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines()[0] == (
        "error: line 2: group 'Team Big', lines 2, 3, 4, 5: refused by rule team-too-large: team of 4 for 'A03'; at most 3"
    )


def test_a_group_with_an_unusable_row_is_left_out_whole(store: str, tmp_path: Path) -> None:
    at = berlin(27, 9)
    stranger = ["Participant 1570499", "Eve", "eve@example.org", SUBMITTED, "Team Red", "", "10.00", "Yes", moodle_date(at), "-"]
    data = sheet(grouped(ADA, SUBMITTED, "Team Red", at), stranger, grouped(ALAN, SUBMITTED, "Team Blue", at))
    code, out, err = moodle(store, written(tmp_path, data), "--skip-bad")
    assert (code, out.splitlines()[-1]) == (0, "appended 1 event; 0 already in the store; 2 problem(s) skipped")
    assert err.splitlines() == [
        "skipped: line 2: 'Participant 1570401': the hand-in of group 'Team Red' is recorded whole or not at all, "
        "and its line(s) 3 cannot be used",
        "skipped: line 3: 'Participant 1570499': no application with the email 'eve@example.org'",
    ]
    assert hand_ins(store) == [("2025-04-27T07:00:00+00:00", (ALAN,))]


def test_rows_of_one_group_must_agree_on_the_time(store: str, tmp_path: Path) -> None:
    data = sheet(grouped(ADA, SUBMITTED, "Team Red", berlin(27, 9)), grouped(GRACE, SUBMITTED, "Team Red", berlin(27, 10)))
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    said = "line 2: 'Sunday, 27 April 2025, 9:00 AM'; line 3: 'Sunday, 27 April 2025, 10:00 AM'"
    assert err.splitlines()[:2] == [
        f"error: line 2: 'Participant 1570401': the rows of group 'Team Red' disagree on 'Last modified (submission)' ({said})",
        f"error: line 3: 'Participant 1570402': the rows of group 'Team Red' disagree on 'Last modified (submission)' ({said})",
    ]


def test_submitted_without_a_group_says_what_moodle_says(store: str, tmp_path: Path) -> None:
    alone = "Not a member of any group, so unable to make submissions."
    data = sheet(grouped(ADA, SUBMITTED, alone, berlin(27, 9)), grouped(GRACE, "No submission", alone))
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines()[0] == f"error: line 2: 'Participant 1570401': submitted, but Moodle says: {alone!r}"


def test_only_submitted_rows_of_a_group_make_its_team(store: str, tmp_path: Path) -> None:
    at = berlin(27, 9)
    data = sheet(grouped(ADA, SUBMITTED, "Team Red", at), grouped(GRACE, "Draft (not submitted)", "Team Red", at))
    assert moodle(store, written(tmp_path, data))[0] == 0
    assert hand_ins(store) == [("2025-04-27T07:00:00+00:00", (ADA,))]


# -- hostile files -----------------------------------------------------------------------


def test_formula_looking_and_control_character_cells_are_only_ever_quoted(store: str, tmp_path: Path) -> None:
    evil = ["=HYPERLINK(\"http://x\",\"y\")", '=cmd|" /C calc"!A0', "@SUM(1)\x1b[31m", SUBMITTED, "", "10.00", "Yes",
            moodle_date(berlin(27, 9)), "-"]  # fmt: skip
    code, out, err = moodle(store, written(tmp_path, sheet(row(ADA, SUBMITTED, berlin(27, 9)), evil)), "--skip-bad")
    assert (code, out.splitlines()[-1]) == (0, "appended 1 event; 0 already in the store; 1 problem(s) skipped")
    assert err == (
        "skipped: line 3: '=HYPERLINK(\"http://x\",\"y\")': identifier '=HYPERLINK(\"http://x\",\"y\")' is not "
        "Moodle's ('Participant ([0-9]+)')\n"
    )
    evil[0] = "Participant 1570477"
    code, _, err = moodle(store, written(tmp_path, sheet(evil)))
    assert "\x1b" not in err and "'@SUM(1)\\x1b[31m'" in err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the worksheet is empty: no header line"),
        ("\ufeffIdentifier;Full name;Status\n".encode(), "(it is separated by semicolons: a spreadsheet saved it again"),
        ("Identifier,Status\n".encode("utf-16"), "the worksheet is UTF-16"),
        ("Identifier,Full name,Email address,Status,Last modified (submission)\nParticipant 1,Jürgen,j@x,No submission,-\n".encode("cp1252"),
         "line 2 is not UTF-8 (byte 0xfc)"),
        (b"\xef\xbb\xbfStudent,Status\n", "not a Moodle grading worksheet in English or German: no 'Identifier' or 'ID' column"),
        (b"\xef\xbb\xbfIdentifier,Status\n", "the worksheet has no 'Last modified (submission)' column"),
        (b"\xef\xbb\xbfIdentifier,Status,Status,Last modified (submission)\n", "the column 'Status' appears twice"),
        (b'\xef\xbb\xbfIdentifier,Status,"Last modified (submission)"\n"Participant 1","No"x,-\n', "line 2: not CSV as Moodle writes it"),
    ],
)  # fmt: skip
def test_files_that_are_no_worksheet_are_refused_in_one_line(store: str, tmp_path: Path, data: bytes, message: str) -> None:
    code, out, err = moodle(store, written(tmp_path, data))
    assert (code, out) == (1, "")
    assert len(err.splitlines()) == 1 and message in err, err


def test_a_row_with_the_wrong_number_of_cells_is_a_problem(store: str, tmp_path: Path) -> None:
    data = sheet(row(ADA, SUBMITTED, berlin(27, 9))) + b'"Participant 9",x\n'
    code, _, err = moodle(store, written(tmp_path, data))
    assert code == 1
    assert err.splitlines()[0] == "error: line 3: has 2 cells, the header has 9: not a row as Moodle writes it"


def test_a_huge_file_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    big = io.BytesIO(b"x" * 2048)
    with pytest.raises(WorksheetError, match="larger than 0 MiB"):
        worksheet.read(big, limit=1024)
    assert big.tell() == 1025  # read no further than the limit


def test_a_huge_cell_is_refused_and_a_large_one_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "x" * 200_000  # more than csv's default limit of 128 KiB: an online text can be that long
    data = worksheet_bytes([*EN_HEADER, "Online text"], [[*row(ADA, SUBMITTED, berlin(27, 9)), text]])
    assert worksheet.read(io.BytesIO(data)).rows[0].email == EMAIL[ADA]
    monkeypatch.setattr(worksheet, "MAX_CELL", 100_000)
    with pytest.raises(WorksheetError, match="line 2: not CSV as Moodle writes it"):
        worksheet.read(io.BytesIO(data))
    assert csv.field_size_limit() == 131072  # the module's limit is put back


def test_many_rows_read_in_one_pass(store: str, tmp_path: Path) -> None:
    filler = [[f"Participant {n}", "X", f"x{n}@example.org", "No submission", "", "10.00", "Yes", "-", "-"]
              for n in range(20_000)]  # fmt: skip
    data = sheet(row(ADA, SUBMITTED, berlin(27, 9), mapping=99_999), *filler)
    code, out, _ = moodle(store, written(tmp_path, data))
    assert (code, out.splitlines()[-2]) == (0, "worksheet: 20001 rows (English): 1 submitted, 0 with an extension")


# -- the library, on both stores -------------------------------------------------------


def test_library_import_is_all_or_nothing_and_idempotent(store_url: str) -> None:
    s = Script(store_url)
    s.semester()
    s.flush()
    with closing(Ledger(store_url)) as ledger:
        bad = sheet(row(ADA, SUBMITTED, berlin(27, 9)), row(KURT, SUBMITTED, berlin(27, 9)))
        with pytest.raises(WorksheetRejected) as rejected:
            import_worksheet(ledger, io.BytesIO(bad), "idl-2025", "A03", "tester")
        assert [p.line for p in rejected.value.problems] == [3]
        size = ledger.head()[0]
        data = (FIXTURES / "en-groups.csv").read_bytes().replace(b"ada@", b"nobody@")
        with pytest.raises(WorksheetRejected):
            import_worksheet(ledger, io.BytesIO(data), "idl-2025", "A03", "tester")
        assert ledger.head()[0] == size
        done = import_worksheet(ledger, io.BytesIO(data), "idl-2025", "A03", "tester", skip_bad=True)
        assert [type(r.event).__name__ for r, _ in done.recorded] == ["ExtensionGranted", "SubmissionHandedIn"]
        assert [p.line for p in done.skipped] == [2, 3]  # Ada unknown, so Team Red is left out whole
        again = import_worksheet(ledger, io.BytesIO(data), "idl-2025", "A03", "tester", skip_bad=True)
        assert (again.recorded, again.already) == ([], 2)
        with pytest.raises(Refused, match="unknown-course"):
            import_worksheet(ledger, io.BytesIO(data), "nope", "A03", "tester")


# -- any worksheet: never a crash, twice is once ------------------------------------------

# The same statuses and groups in English and German (the German pack's words; a wrong "Submitted" in both).
STATUSES = {
    ENGLISH: ["No submission", "Draft (not submitted)", SUBMITTED, f"{SUBMITTED} - 2 hours late", "Reopened",
              f"{SUBMITTED} - Extension granted until: Friday, 2 May 2025, 10:00 AM",
              "No submission - Extension granted until: Monday, 28 April 2025, 9:00 AM", "Submitted", ""],
    GERMAN: ["Keine Abgabe", "Entwurf (nicht abgegeben)", "Zur Bewertung abgegeben",
             "Zur Bewertung abgegeben - 2 Stunden zu spät", "Erneut geöffnet",
             "Zur Bewertung abgegeben - Verlängertes Abgabeende bis: Freitag, 2. Mai 2025, 10:00",
             "Keine Abgabe - Verlängertes Abgabeende bis: Montag, 28. April 2025, 09:00", "Abgegeben", ""],
}  # fmt: skip
GROUPS = {
    ENGLISH: ["Team Red", "Team Blue", "Default group", "Not a member of any group, so unable to make submissions."],
    GERMAN: ["Team Red", "Team Blue", "Standard-Gruppe",
             "Kein Mitglied einer Gruppe. Die Abgabe von Aufgaben ist nicht möglich."],
}  # fmt: skip
DE_HEADER = ["ID", "Vollständiger Name", "E-Mail-Adresse", "Status", "Bewertung", "Bestwertung",
             "Bewertung kann geändert werden", "Zuletzt geändert (Abgabe)", "Zuletzt geändert (Bewertung)"]  # fmt: skip


def in_language(body: list[tuple[str, int, int, datetime]], language: worksheet.Language, with_groups: bool) -> bytes:
    """A worksheet of `body` (student, status, group, time) as Moodle writes it in `language`."""
    header = EN_HEADER if language is ENGLISH else DE_HEADER
    cells = []
    for student, status, group, at in body:
        mapping = 1570400 + int(student) % 100
        identifier = f"Participant {mapping}" if language is ENGLISH else f"Teilnehmer/in{mapping}"
        cells.append([identifier, NAME[student], EMAIL[student], STATUSES[language][status], "", "10,00", "Ja",
                      moodle_date(at, language), "-"])  # fmt: skip
        if with_groups:
            cells[-1].insert(4, GROUPS[language][group])
    if with_groups:
        header = [*header[:4], language.group, *header[4:]]
    return worksheet_bytes(header, cells)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([ADA, GRACE, ALAN, EMMY, KURT]), st.integers(0, len(STATUSES[ENGLISH]) - 1),
            st.integers(0, len(GROUPS[ENGLISH]) - 1),
            st.integers(0, 60 * 24 * 6).map(lambda m: berlin(26, 0) + timedelta(minutes=m)),
        ),
        max_size=7,
    ),
    st.booleans(),
)  # fmt: skip
def test_any_worksheet_imports_or_is_refused_and_twice_or_in_german_appends_nothing(
    store: str, tmp_path: Path, body: list[tuple[str, int, int, datetime]], with_groups: bool
) -> None:
    english = written(tmp_path, in_language(body, ENGLISH, with_groups), "en.csv")
    german = written(tmp_path, in_language(body, GERMAN, with_groups), "de.csv")
    before = count(store)
    code, _, problems = moodle(store, english, "--skip-bad")
    assert code == 0
    after = count(store)
    assert after >= before
    for again in (english, german):
        code, out, same = moodle(store, again, "--skip-bad")
        assert (code, count(store)) == (0, after)
        assert out.splitlines()[-1].startswith("appended 0 events;")
        assert [line.split(":")[:2] for line in same.splitlines()] == [line.split(":")[:2] for line in problems.splitlines()]

"""`what-if` (issue 11.3): the views under changed rules, computed by the views' own rules, appending nothing.

The scenario: Ada (master) and Grace (bachelor) handed in A01 together on
time; Ada handed in A02 an hour late, Grace not at all; nobody handed in A03.
On 1 May both have two fails, as many as max_fails 2 allows (at_risk).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import uuid
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import coursework
from ledger import events as ev
from ledger.app import Ledger
from ledger.course import Course
from projections.admission import admission, admitted
from projections.gradebook import label
from projections.runner import Views
from projections.what_if import Changes, Inapplicable, what_if
from tests.cli_helpers import ADA, GRACE, count, course_opened, jsonl, run, semester, semester_lines
from tests.test_properties import COURSES, Intent, clocks, history, intents, reading

MAY = "2025-05-01T12:00"
LATE_A02 = {"type": "SubmissionHandedIn", "at": "2025-04-21T11:00:00+02:00", "assignment": "A02", "team": [ADA]}


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    assert run(path, "hand-in", "A02", ADA, "--at", "2025-04-21T11:00").exit_code == 0
    return path


def ok(store: str, *args: str) -> str:
    result = run(store, "what-if", "--as-of", MAY, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_rules_as_recorded_change_nothing(store: str) -> None:
    assert ok(store, "--format", "table") == (
        "what if    the rules as recorded\n"
        "as of      2025-05-01T12:00:00+02:00\n"
        "status     on_track 0, at_risk 2, excluded 0, admitted 0, withdrawn 0\n"
        "changes    none: no status or outcome would change\n"
        "\n"
        "student  name  subject  before  after  why\n"
        "-------  ----  -------  ------  -----  ---\n"
    )
    assert ok(store, "--max-fails", "2", "--max-team-size", "3", "--deadline", "A02=2025-04-21T10:00",
              "--format", "csv") == "student,name,subject,before,after,why\n"  # fmt: skip


def test_fewer_fails_allowed_excludes_both(store: str) -> None:
    assert ok(store, "--max-fails", "1", "--format", "table") == (
        "what if    max_fails 1\n"
        "as of      2025-05-01T12:00:00+02:00\n"
        "status     on_track 0, at_risk 2 -> 0, excluded 0 -> 2, admitted 0, withdrawn 0\n"
        "changes    2 (of 2 students)\n"
        "\n"
        "student  name          subject  before   after     why\n"
        "-------  ------------  -------  -------  --------  -------------------------------------------\n"
        "231001   Ada Lovelace  status   at_risk  excluded  2 failed assignments, more than max_fails 1\n"
        "231002   Grace Hopper  status   at_risk  excluded  2 failed assignments, more than max_fails 1\n"
    )


def test_a_later_deadline_and_an_excuse(store: str) -> None:
    out = ok(store, "--deadline", "A02=2025-04-21T12:00", "--excuse", f"{GRACE}:A03", "--format", "table")
    assert out == (
        "what if    deadline of A02 2025-04-21T12:00:00+02:00; 231002 excused from A03\n"
        "as of      2025-05-01T12:00:00+02:00\n"
        "status     on_track 0 -> 2, at_risk 2 -> 0, excluded 0, admitted 0, withdrawn 0\n"
        "changes    4 (of 2 students)\n"
        "\n"
        "student  name          subject  before                  after     why\n"
        "-------  ------------  -------  ----------------------  --------  --------------------------------------------\n"
        "231001   Ada Lovelace  status   at_risk                 on_track  1 failed assignments, fewer than max_fails 2\n"
        "231001   Ada Lovelace  A02      failed:late             passed    handed in on time\n"
        "231002   Grace Hopper  status   at_risk                 on_track  1 failed assignments, fewer than max_fails 2\n"
        "231002   Grace Hopper  A03      failed:missed_deadline  excused   medical certificate\n"
    )


def test_a_smaller_team_limit_refuses_the_recorded_team(store: str) -> None:
    out = ok(store, "--max-team-size", "1", "--format", "table").splitlines()
    assert out[:5] == [
        "what if    max_team_size 1",
        "as of      2025-05-01T12:00:00+02:00",
        "status     on_track 0, at_risk 2 -> 0, excluded 0 -> 2, admitted 0, withdrawn 0",
        "refused    #16 SubmissionHandedIn of A01 by 231001, 231002: refused by rule team-too-large: "
        "team of 2 for 'A01'; at most 1",
        "changes    4 (of 2 students)",
    ]
    rows = json.loads(ok(store, "--max-team-size", "1", "--format", "json"))
    assert [(r["student"], r["subject"], r["before"], r["after"]) for r in rows] == [
        (ADA, "status", "at_risk", "excluded"),
        (ADA, "A01", "passed", "failed:missed_deadline"),
        (GRACE, "status", "at_risk", "excluded"),
        (GRACE, "A01", "passed", "failed:missed_deadline"),
    ]
    assert rows[1]["why"] == (
        "nothing handed in by the deadline (a hand-in by a team over max_team_size 1 counts for none)"
    )


def test_extensions_still_count_under_a_moved_deadline(store: str) -> None:
    assert run(store, "extend", ADA, "A02", "--until", "2025-04-22T10:00", "--reason", "ill",
               "--at", "2025-04-20T10:00").exit_code == 0  # fmt: skip
    # Ada's A02 now passed; a course-wide deadline earlier than her extension leaves it so.
    assert ok(store, "--deadline", "A02=2025-04-20T10:00", "--format", "csv") == "student,name,subject,before,after,why\n"
    # A course-wide deadline later than her extension gives way to it for her (and to everyone).
    rows = ok(store, "--deadline", "A02=2025-04-25T10:00", "--format", "csv").splitlines()
    assert rows == ["student,name,subject,before,after,why"]  # Grace handed in nothing


def test_the_clock_applies(store: str) -> None:
    """Before A02's deadline had passed, nobody had failed anything but nothing was passed either."""
    result = run(store, "what-if", "--as-of", "2025-04-15T12:00", "--max-fails", "0", "--format", "csv")
    assert result.stdout.splitlines() == [
        "student,name,subject,before,after,why",
        "231001,Ada Lovelace,status,on_track,at_risk,"
        "\"0 failed assignments, as many as max_fails 0 allows\"",
        "231002,Grace Hopper,status,on_track,at_risk,\"0 failed assignments, as many as max_fails 0 allows\"",
    ]
    known = run(store, "what-if", "--known-at", "2020-01-01T00:00", "--format", "table")
    assert known.exit_code == 0, known.output
    assert "status     on_track 0, at_risk 0, excluded 0, admitted 0, withdrawn 0" in known.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--deadline", "A09=2025-04-21T12:00"), "Invalid value for --deadline: no assignment 'A09' in idl-2025"),
        (("--deadline", "A02"), "Invalid value for --deadline: 'A02' is not ASSIGNMENT=T (e.g. A06=2025-05-20T10:00)"),
        (("--deadline", "A02=tomorrow"), "Invalid value for --deadline: A02: 'tomorrow' is not an ISO 8601 instant"),
        (("--deadline", "A02=2025-03-30T02:30"), "A02: 2025-03-30T02:30:00 does not exist in Europe/Berlin"),
        (("--excuse", "231003:A02"), "Invalid value for --excuse: 231003:A02: refused by rule not-a-participant: "
                                     "student '231003' is not a participant of idl-2025"),
        (("--excuse", f"{ADA}:A09"), f"{ADA}:A09: refused by rule unknown-assignment: no assignment 'A09'"),
        (("--excuse", ADA), f"Invalid value for --excuse: '{ADA}' is not STUDENT:ASSIGNMENT"),
        (("--max-fails", "-1"), "Invalid value for '--max-fails'"),
        (("--max-team-size", "0"), "Invalid value for '--max-team-size'"),
    ],
)  # fmt: skip
def test_changes_the_course_cannot_take_are_usage_errors(store: str, args: tuple[str, ...], message: str) -> None:
    result = run(store, "what-if", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output


def test_a_missing_store_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite"
    result = run(str(path), "what-if")
    assert result.exit_code == 1 and not path.exists()


# -- nothing is written ------------------------------------------------------------------------


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def subledger(path: str, *args: str) -> str:
    """Run the program in a process of its own (so that every connection is closed when it ends)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
    done = subprocess.run([sys.executable, "-m", "cli", "--store", path, *args], capture_output=True, text=True,
                          env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_store_is_byte_for_byte_unchanged_and_its_root_too(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    assert subledger(path, "status", "--format", "csv")  # the views caught up: their tables exist
    with closing(Ledger(path)) as ledger:  # recorded after: a what-if must not catch the views up either
        ledger.import_lines(jsonl(LATE_A02).encode().splitlines(), "tester")
        size, root = ledger.head()
    gc.collect()
    digest = subledger(path, "digest")
    before = files(tmp_path)
    assert set(before) == {"ledger.sqlite", "ledger.sqlite.keys", "ledger.sqlite.lock"}
    for args in (("--max-fails", "0"), ("--max-team-size", "1", "--deadline", "A02=2025-04-21T12:00"),
                 ("--excuse", f"{GRACE}:A03", "--format", "json"), ("--known-at", "2025-04-10T00:00")):  # fmt: skip
        assert subledger(path, "what-if", "--as-of", MAY, *args)
        assert files(tmp_path) == before
    assert subledger(path, "digest") == digest
    with closing(Ledger(path)) as ledger:
        assert ledger.head() == (size, root)
    views = Views.open(path)
    assert views.checkpoint() == size - 1  # what-if read the ledger itself, and left the views behind


def test_a_store_without_view_tables_gets_none(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)  # written through the ledger alone: no view tables yet
    gc.collect()
    before = files(tmp_path)
    assert subledger(path, "what-if", "--as-of", MAY, "--max-fails", "1", "--format", "csv").count("\n") == 3
    assert files(tmp_path) == before


def test_nothing_is_written_on_either_store(store_url: str) -> None:
    with closing(Ledger(store_url)) as ledger:
        ledger.import_lines(jsonl(*semester_lines(), LATE_A02).encode().splitlines(), "tester")
        head = ledger.head()
    views = Views.open(store_url)
    assert views.checkpoint() is None  # never built
    result = run(store_url, "what-if", "--as-of", MAY, "--max-fails", "1", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 3
    assert views.checkpoint() is None
    with closing(Ledger(store_url)) as ledger:
        assert ledger.head() == head
    assert count(store_url) == 17


# -- one store against another -------------------------------------------------------------------


def test_what_if_max_fails_agrees_with_a_store_opened_with_it(tmp_path: Path) -> None:
    for n in (0, 1, 2, 3):
        other = str(tmp_path / f"opened-with-{n}.sqlite")
        with closing(Ledger(other)) as ledger:
            lines = [course_opened(max_fails=n), *semester_lines()[1:], LATE_A02]
            ledger.import_lines(jsonl(*lines).encode().splitlines(), "tester")
        recorded = json.loads(run(other, "export", "admission", "--as-of", MAY, "--format", "json").stdout)
        statuses = {row["student"]: row["status"] for row in recorded}
        here = str(tmp_path / "here.sqlite")
        if not os.path.exists(here):
            semester(here)
            assert run(here, "hand-in", "A02", ADA, "--at", "2025-04-21T11:00").exit_code == 0
        supposed = {ADA: "at_risk", GRACE: "at_risk"}
        for row in json.loads(run(here, "what-if", "--as-of", MAY, "--max-fails", str(n), "--format", "json").stdout):
            if row["subject"] == "status":
                supposed[row["student"]] = row["after"]
        assert supposed == statuses, n


# -- properties over random histories ----------------------------------------------------------------


def _today(course: Course) -> Changes:
    """The rules as recorded, said again: the settings of the opening, the course's deadlines."""
    if course.opened is None:
        return Changes()
    return Changes(
        max_fails=course.opened.max_fails,
        max_team_size=course.opened.max_team_size,
        deadlines=tuple((a, course.deadline(a)) for a in course.assignments),
    )


@settings(max_examples=100, deadline=None)
@given(drawn=intents)
def test_what_if_with_todays_rules_reports_no_change(drawn: list[Intent]) -> None:
    records = history(drawn)
    for name in COURSES:
        mine = [r for r in records if r.event.course == name]
        for clock in clocks(records):
            seen = reading(name, mine, clock)
            result = what_if(seen, _today(seen.course))
            assert result.changes == ()
            assert all(c.before == c.after for c in result.statuses)
            assert result.refused == ()


@settings(max_examples=100, deadline=None)
@given(drawn=intents, n=st.integers(0, 4))
def test_what_if_max_fails_agrees_with_the_course_opened_with_it(drawn: list[Intent], n: int) -> None:
    """The same records, but for the opening's max_fails (which the rules may have judged otherwise: the views
    read the records as they are)."""
    records = history(drawn)
    for name in COURSES:
        mine = [r for r in records if r.event.course == name]
        opened_with_n = [
            msgspec.structs.replace(r, event=msgspec.structs.replace(r.event, max_fails=n))
            if isinstance(r.event, ev.CourseOpened) else r
            for r in mine
        ]  # fmt: skip
        for clock in clocks(records):
            seen = reading(name, mine, clock)
            result = what_if(seen, Changes(max_fails=n))
            supposed = {row.student: row.status for row in admission(seen)}
            for change in result.changes:
                assert change.subject == "status"  # max_fails changes statuses, never outcomes
                supposed[change.student] = change.after
            assert supposed == {row.student: row.status for row in admission(reading(name, opened_with_n, clock))}


def test_excuses_and_deadlines_are_checked_against_the_course_in_view() -> None:
    records = history([(0, 0, 0, 0, 0, 10)] * 3)  # three applications in c1, nobody admitted
    seen = reading("c1", [r for r in records if r.event.course == "c1"], clocks(records)[0])
    with pytest.raises(Inapplicable) as refused:
        what_if(seen, Changes(excuses=(("s1", "A1"),)))
    assert refused.value.option == "excuse" and "not-a-participant" in str(refused.value)
    with pytest.raises(Inapplicable, match="no assignment 'A1'"):
        what_if(seen, Changes(deadlines=(("A1", seen.as_of + timedelta(days=1)),)))


@settings(max_examples=50, deadline=None)
@given(drawn=intents, hours=st.integers(-100, 100))
def test_a_moved_deadline_gives_the_outcomes_of_a_recorded_move(drawn: list[Intent], hours: int) -> None:
    """The supposed deadline is folded as a recorded DeadlineChanged would be, by the views' own rules."""
    records = history(drawn)
    for name in COURSES:
        mine = [r for r in records if r.event.course == name]
        for clock in clocks(records):
            seen = reading(name, mine, clock)
            for assignment in seen.course.assignments:
                moved = seen.course.deadline(assignment) + timedelta(hours=hours)
                result = what_if(seen, Changes(deadlines=((assignment, moved),)))
                change = ev.DeadlineChanged(course=name, at=clock.as_of, assignment=assignment, deadline=moved,
                                            reason="r")  # fmt: skip
                last = seen.records[-1]
                recorded = Course.fold(name, [*seen.records, msgspec.structs.replace(
                    last, id=uuid.uuid4(), position=last.position + 1, event=change)])  # fmt: skip
                after = {(c.student, c.subject): c.after for c in result.changes}
                for student in admitted(seen):
                    was = label(coursework.outcome(seen.course, student, assignment, clock.as_of))
                    will = label(coursework.outcome(recorded, student, assignment, clock.as_of))
                    assert after.get((student, assignment), was) == will

"""The views of SPEC §5 through the CLI: outcomes, admission status, clocks, audit.

Each scenario is written as wire lines with their envelopes (id, seq,
recorded_at, recorded_by), appended with the store's clock set to each line's
`recorded_at`, so every output, the audit trail included, is exact. `Script` is reused by the other view tests.
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import closing
from typing import Any

import pytest

from ledger.app import Ledger
from tests.cli_helpers import count, run
from tests.recording import append_as_recorded

COURSE = "idl-2025"
ADA, GRACE, ALAN, EMMY, KURT = "231001", "231002", "231003", "231004", "231005"
NAMES = {ADA: "Ada Lovelace", GRACE: "Grace Hopper", ALAN: "Alan Turing", EMMY: "Emmy Noether", KURT: "Kurt Gödel"}
PROGRAMMES = {ADA: "master", GRACE: "bachelor", ALAN: "bachelor", EMMY: "master", KURT: "bachelor"}
DEADLINES = {
    "A01": "2025-04-14T10:00:00+02:00",
    "A02": "2025-04-21T10:00:00+02:00",
    "A03": "2025-04-28T10:00:00+02:00",
    "A04": "2025-05-05T10:00:00+02:00",
}
LATER = "2025-06-01T12:00:00+02:00"  # every deadline has passed
NAMESPACE = uuid.UUID("0d9c3b1e-2a4f-4b6e-9c8d-7e6f5a4b3c2d")


class Script:
    """Wire lines with envelopes, appended to a store in batches (positions from 1)."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.pending: list[dict[str, Any]] = []
        self.seq = count(store) if os.path.exists(store) else 0

    def add(self, type_: str, at: str, *, recorded_at: str | None = None, by: str = "tester",
            course: str = COURSE, **fields: Any) -> str:  # fmt: skip
        """Queue one event; it is recorded at `recorded_at` (default: when it happened). Returns its id."""
        self.seq += 1
        event_id = str(uuid.uuid5(NAMESPACE, str(self.seq)))
        self.pending.append(
            {"id": event_id, "seq": self.seq, "recorded_at": recorded_at or at, "recorded_by": by,
             "type": type_, "course": course, "at": at, **fields}
        )  # fmt: skip
        return event_id

    def flush(self) -> None:
        """Append what is queued, each event recorded when and by whom its envelope says."""
        with closing(Ledger(self.store)) as ledger:
            append_as_recorded(ledger, self.pending)
        self.pending = []

    # -- the pieces of a semester ---------------------------------------------

    def open(self, course: str = COURSE, max_fails: int = 2, capacity: int = 10) -> None:
        self.add(
            "CourseOpened", "2025-03-03T09:00:00+01:00", course=course, title="Introduction to Deep Learning",
            timezone="Europe/Berlin", capacity=capacity, application_deadline="2025-04-04T23:59:00+02:00",
            registration_deadline="2025-04-11T12:00:00+02:00", max_fails=max_fails, max_team_size=3,
            groups=[{"id": "g1", "slot": "Thu 11:00", "capacity": 5}, {"id": "g2", "slot": "Fri 13:00", "capacity": 5}],
        )  # fmt: skip

    def apply(self, student: str, at: str, course: str = COURSE) -> str:
        name = NAMES[student]
        return self.add(
            "ApplicationSubmitted", at, course=course, student=student, name=name,
            email=name.split()[0].lower() + "@st.ovgu.de", programme=PROGRAMMES[student],
            prerequisite="Machine Learning (passed)", statement="Why I want to learn.",
        )  # fmt: skip

    def publish(self, course: str = COURSE) -> None:
        for assignment, deadline in DEADLINES.items():
            self.add("AssignmentPublished", "2025-04-07T12:00:00+02:00", course=course,
                     assignment=assignment, title=f"Week {assignment}", deadline=deadline)  # fmt: skip

    def hand_in(self, assignment: str, at: str, *team: str, **kw: Any) -> str:
        return self.add("SubmissionHandedIn", at, assignment=assignment, team=list(team), **kw)

    def present(self, assignment: str, student: str, outcome: str, at: str, **kw: Any) -> str:
        return self.add("PresentationRecorded", at, assignment=assignment, student=student, outcome=outcome, **kw)

    def assess(self, assignment: str, student: str, verdict: str, at: str) -> str:
        return self.add("SubmissionAssessed", at, assignment=assignment, student=student, verdict=verdict,
                        note="")  # fmt: skip

    def semester(self, course: str = COURSE, max_fails: int = 2) -> None:
        """Opened; Ada, Grace, Alan, Emmy apply and are admitted (Kurt applies late, undecided);
        groups allocated; A01–A04 published. Nothing handed in yet."""
        self.open(course, max_fails)
        for i, s in enumerate((ADA, GRACE, ALAN, EMMY)):
            self.apply(s, f"2025-03-1{i}T10:00:00+01:00", course)
        self.apply(KURT, "2025-04-06T10:00:00+02:00", course)
        for s in (ADA, GRACE, ALAN, EMMY):
            self.add("ApplicationAccepted", "2025-04-07T10:00:00+02:00", course=course, student=s)
        self.publish(course)
        self.add("GroupsAllocated", "2025-04-11T13:00:00+02:00", course=course, seed=7,
                 allocation={ADA: "g1", GRACE: "g1", ALAN: "g2", EMMY: "g2"})  # fmt: skip


def stdout(store: str, *args: str) -> str:
    """The standard output of a command that must succeed."""
    result = run(store, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(store: str, view: str, *args: str) -> list[dict[str, Any]]:
    """An export as JSON objects."""
    return json.loads(stdout(store, "export", view, "--format", "json", *args))  # type: ignore[no-any-return]


def grades(store: str, *args: str) -> dict[str, dict[str, str]]:
    """The gradebook: student → assignment → outcome."""
    return {r.pop("student"): {k: v for k, v in r.items() if k not in ("name", "extensions")} for r in rows(store, "gradebook", *args)}


def admission(store: str, *args: str) -> dict[str, dict[str, Any]]:
    """The admission export by student."""
    return {r["student"]: r for r in rows(store, "admission", *args)}


@pytest.fixture
def script(sqlite_path: str) -> Script:
    s = Script(sqlite_path)
    s.semester()
    return s


# -- outcomes ------------------------------------------------------------------


def test_open_until_the_deadline_then_missed(script: Script) -> None:
    script.flush()
    store = script.store
    assert grades(store, "--as-of", "2025-04-14T10:00:00+02:00")[ADA]["A01"] == "open"
    assert grades(store, "--as-of", "2025-04-14T10:00:00.000001+02:00")[ADA]["A01"] == "failed:missed_deadline"


def test_on_time_is_inclusive_to_the_microsecond(script: Script) -> None:
    script.hand_in("A01", "2025-04-14T10:00:00+02:00", ADA)
    script.hand_in("A01", "2025-04-14T10:00:00.000001+02:00", GRACE)
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert book[ADA]["A01"] == "passed"
    assert book[GRACE]["A01"] == "failed:late"


def test_team_hand_in_and_failing_one_member_only(script: Script) -> None:
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)
    script.present("A01", ADA, "explained", "2025-04-17T11:00:00+02:00")
    script.present("A01", GRACE, "absent", "2025-04-17T11:05:00+02:00")
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert (book[ADA]["A01"], book[GRACE]["A01"]) == ("passed", "failed:absent")


def test_first_reason_that_applies(script: Script) -> None:
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE, ALAN)
    script.present("A01", ADA, "failed_to_explain", "2025-04-17T11:00:00+02:00")
    script.assess("A01", ADA, "uncited_copy", "2025-04-17T12:00:00+02:00")
    script.present("A01", GRACE, "absent", "2025-04-17T11:00:00+02:00")
    script.assess("A01", GRACE, "insufficient_effort", "2025-04-17T12:00:00+02:00")
    script.present("A01", ALAN, "failed_to_explain", "2025-04-17T11:00:00+02:00")
    script.assess("A01", ALAN, "sufficient", "2025-04-17T12:00:00+02:00")
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert [book[s]["A01"] for s in (ADA, GRACE, ALAN, EMMY)] == [
        "failed:uncited_copy",
        "failed:insufficient_effort",
        "failed:failed_to_explain",
        "failed:missed_deadline",
    ]


def test_resubmission_before_the_deadline_counts(script: Script) -> None:
    script.hand_in("A01", "2025-04-12T10:00:00+02:00", ADA, GRACE)
    script.hand_in("A01", "2025-04-14T09:00:00+02:00", ADA, GRACE)  # again, still on time
    script.hand_in("A02", "2025-04-22T10:00:00+02:00", ADA)  # only late hand-ins
    script.hand_in("A02", "2025-04-23T10:00:00+02:00", ADA)
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert book[ADA]["A01"] == "passed"
    assert book[ADA]["A02"] == "failed:late"


def test_latest_presentation_record_supersedes(script: Script) -> None:
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)
    script.present("A01", ADA, "absent", "2025-04-17T11:00:00+02:00")
    script.present("A01", ADA, "explained", "2025-04-24T11:00:00+02:00")  # asked again a week later
    # Recorded later but happened earlier: the record with the greater `at` stands.
    script.present("A01", GRACE, "explained", "2025-04-24T11:00:00+02:00")
    script.present("A01", GRACE, "absent", "2025-04-17T11:00:00+02:00", recorded_at="2025-04-25T09:00:00+02:00")
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert (book[ADA]["A01"], book[GRACE]["A01"]) == ("passed", "passed")
    # Before the second presentation, the first one was all there was.
    early = grades(script.store, "--as-of", "2025-04-20T00:00:00+02:00")
    assert (early[ADA]["A01"], early[GRACE]["A01"]) == ("failed:absent", "failed:absent")


def test_excuse_covers_a_missed_deadline_but_not_a_pass(script: Script) -> None:
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA)
    script.add("ExcuseGranted", "2025-04-15T09:00:00+02:00", student=ADA, assignments=["A01", "A02"],
               certificate="AU-1", reason="illness")  # fmt: skip
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert (book[ADA]["A01"], book[ADA]["A02"], book[ADA]["A03"]) == ("passed", "excused", "failed:missed_deadline")


def test_moved_deadline_latest_in_view_counts(script: Script) -> None:
    script.add("DeadlineChanged", "2025-04-13T08:00:00+02:00", assignment="A01",
               deadline="2025-04-16T10:00:00+02:00", reason="server outage")  # fmt: skip
    script.hand_in("A01", "2025-04-15T10:00:00+02:00", ADA)
    script.flush()
    assert grades(script.store, "--as-of", LATER)[ADA]["A01"] == "passed"
    # Before the change was made, the old deadline held, and had not passed yet.
    assert grades(script.store, "--as-of", "2025-04-12T00:00:00+02:00")[ADA]["A01"] == "open"
    # Known at a time before the change was recorded, the hand-in is late.
    before = grades(script.store, "--as-of", LATER, "--known-at", "2025-04-13T07:00:00+02:00")
    assert before[ADA]["A01"] == "failed:missed_deadline"


def test_retracting_the_deadline_change_restores_the_old_deadline(script: Script) -> None:
    change = script.add("DeadlineChanged", "2025-04-13T08:00:00+02:00", assignment="A01",
                        deadline="2025-04-16T10:00:00+02:00", reason="server outage")  # fmt: skip
    script.hand_in("A01", "2025-04-15T10:00:00+02:00", ADA)
    script.add("EventRetracted", "2025-04-20T10:00:00+02:00", event=change, reason="outage was elsewhere")
    script.flush()
    assert grades(script.store, "--as-of", LATER)[ADA]["A01"] == "failed:late"
    # A view known before the retraction was recorded still sees the moved deadline.
    assert grades(script.store, "--as-of", LATER, "--known-at", "2025-04-19T00:00:00+02:00")[ADA]["A01"] == "passed"


def test_retraction_applies_whatever_its_at(script: Script) -> None:
    hand_in = script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA)
    # Recorded in June, dated back to before the deadline: it still cancels in a view of April.
    script.add("EventRetracted", "2025-06-20T10:00:00+02:00", event=hand_in, reason="wrong student")
    script.flush()
    assert grades(script.store, "--as-of", "2025-04-20T00:00:00+02:00")[ADA]["A01"] == "failed:missed_deadline"


def test_retracted_negative_presentation_passes_again(script: Script) -> None:
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA)
    absent = script.present("A01", ADA, "absent", "2025-04-17T11:00:00+02:00")
    script.flush()
    assert grades(script.store, "--as-of", LATER)[ADA]["A01"] == "failed:absent"
    script.add("EventRetracted", "2025-04-18T10:00:00+02:00", event=absent, reason="was there, wrong list")
    script.flush()
    assert grades(script.store, "--as-of", LATER)[ADA]["A01"] == "passed"


def test_late_admission_exempts_assignments_whose_deadline_had_passed(script: Script) -> None:
    script.add("ApplicationAccepted", "2025-04-24T09:00:00+02:00", student=KURT)
    script.add("GroupChanged", "2025-04-24T09:30:00+02:00", student=KURT, group="g2", reason="late admission")
    script.flush()
    book = grades(script.store, "--as-of", LATER)
    assert book[KURT] == {"A01": "exempt", "A02": "exempt", "A03": "failed:missed_deadline",
                          "A04": "failed:missed_deadline"}  # fmt: skip
    assert admission(script.store, "--as-of", LATER)[KURT]["group"] == "g2"


def test_admission_status_by_fails_and_closing(sqlite_path: str) -> None:
    script = Script(sqlite_path)
    script.semester()
    for a in ("A01", "A02", "A03", "A04"):
        script.hand_in(a, DEADLINES[a].replace("10:00:00", "09:00:00"), GRACE, ALAN)
    script.hand_in("A01", "2025-04-13T09:00:00+02:00", ADA)  # Ada fails A02, A03, A04; Emmy all
    script.hand_in("A02", "2025-04-20T09:00:00+02:00", ADA)
    script.add("ApplicationWithdrawn", "2025-04-29T09:00:00+02:00", student=ALAN, reason="moved away")
    script.flush()
    store = script.store
    mid = admission(store, "--as-of", "2025-04-28T12:00:00+02:00")
    assert {s: r["status"] for s, r in mid.items()} == {
        ADA: "on_track", GRACE: "on_track", ALAN: "on_track", EMMY: "excluded",
    }  # fmt: skip
    assert mid[ADA]["reasons"] == "A03:missed_deadline"
    assert mid[EMMY]["reasons"] == "A01:missed_deadline;A02:missed_deadline;A03:missed_deadline"
    late = admission(store, "--as-of", LATER)
    assert {s: r["status"] for s, r in late.items()} == {
        ADA: "at_risk", GRACE: "on_track", ALAN: "withdrawn", EMMY: "excluded",
    }  # fmt: skip
    assert (late[ADA]["passed"], late[ADA]["failed"], late[ADA]["open"]) == (2, 2, 0)
    script.add("CourseworkClosed", "2025-07-15T00:00:00+02:00")
    script.flush()
    closed = admission(store, "--as-of", "2025-07-16T00:00:00+02:00")
    assert {s: r["status"] for s, r in closed.items()} == {
        ADA: "admitted", GRACE: "admitted", ALAN: "withdrawn", EMMY: "excluded",
    }  # fmt: skip
    # The gradebook lists participants only: Alan has withdrawn.
    assert set(grades(store, "--as-of", LATER)) == {ADA, GRACE, EMMY}


def test_known_at_alone_is_the_ledger_as_found_then(script: Script) -> None:
    script.hand_in("A01", "2025-04-14T11:00:00+02:00", ADA, recorded_at="2025-04-14T11:00:00+02:00")
    script.flush()
    # Known on 13 April (and judged then): nothing handed in, A01 still open.
    assert grades(script.store, "--known-at", "2025-04-13T12:00:00+02:00")[ADA]["A01"] == "open"
    # Known then but judged later: missed.
    judged = grades(script.store, "--known-at", "2025-04-13T12:00:00+02:00", "--as-of", LATER)
    assert judged[ADA]["A01"] == "failed:missed_deadline"


def test_instants_without_offset_are_course_time(script: Script) -> None:
    script.flush()
    assert grades(script.store, "--as-of", "2025-04-14T10:00")[ADA]["A01"] == "open"  # 10:00 Berlin
    assert grades(script.store, "--as-of", "2025-04-14T10:00:01")[ADA]["A01"] == "failed:missed_deadline"
    result = run(script.store, "status", "--as-of", "2025-03-30T02:30")  # skipped by the clocks
    assert result.exit_code == 2
    assert "does not exist in Europe/Berlin" in result.output


def test_before_the_course_opened_views_are_empty(script: Script) -> None:
    script.flush()
    assert rows(script.store, "admission", "--as-of", "2025-01-01T00:00:00+01:00") == []
    assert rows(script.store, "exam", "--as-of", "2025-01-01T00:00:00+01:00") == []


# -- several courses --------------------------------------------------------------


def test_views_are_per_course(sqlite_path: str) -> None:
    script = Script(sqlite_path)
    script.semester("idl-2025")
    script.semester("dl2-2026", max_fails=0)
    script.add("SubmissionHandedIn", "2025-04-13T20:00:00+02:00", course="dl2-2026", assignment="A01", team=[ADA])
    script.flush()
    result = run(sqlite_path, "export", "gradebook")
    assert result.exit_code == 1
    assert result.output == "error: the store holds several courses (idl-2025, dl2-2026): pass --course\n"


def test_course_option_picks_one(sqlite_path: str) -> None:
    script = Script(sqlite_path)
    script.semester("idl-2025")
    script.semester("dl2-2026", max_fails=0)
    script.add("SubmissionHandedIn", "2025-04-13T20:00:00+02:00", course="dl2-2026", assignment="A01", team=[ADA])
    script.flush()
    at = ("--as-of", "2025-04-20T00:00:00+02:00")
    one = json.loads(stdout(sqlite_path, "--course", "idl-2025", "export", "admission", "--format", "json", *at))
    two = json.loads(stdout(sqlite_path, "--course", "dl2-2026", "export", "admission", "--format", "json", *at))
    assert [(r["student"], r["status"]) for r in one][:2] == [(ADA, "on_track"), (GRACE, "on_track")]
    # max_fails 0: no fail yet is already as many as allowed.
    assert [(r["student"], r["status"]) for r in two][:2] == [(ADA, "at_risk"), (GRACE, "excluded")]
    result = run(sqlite_path, "--course", "nope", "status")
    assert result.exit_code == 1
    assert result.output == "error: no course 'nope' in the store\n"


def test_without_course_a_view_chooses_among_the_courses_its_clock_sees(sqlite_path: str) -> None:
    script = Script(sqlite_path)
    script.semester("idl-2025")
    script.add(
        "CourseOpened", "2026-03-02T09:00:00+01:00", course="dl2-2026", title="Deep Learning 2",
        timezone="Europe/Berlin", capacity=5, application_deadline="2026-04-03T23:59:00+02:00",
        registration_deadline="2026-04-10T12:00:00+02:00", max_fails=2, max_team_size=3,
        groups=[{"id": "g1", "slot": "Thu 11:00", "capacity": 5}],
    )  # fmt: skip
    script.flush()
    for clock in ("--as-of", "--known-at"):
        then = stdout(sqlite_path, "status", clock, "2025-06-01T00:00", "--format", "table")
        assert "course        idl-2025" in then and "dl2-2026" not in then
    # Both in view: the choice is the user's, between the two.
    both = run(sqlite_path, "status", "--as-of", "2026-06-01T00:00:00+02:00")
    assert both.output == "error: the store holds several courses (idl-2025, dl2-2026): pass --course\n"
    # Neither recorded yet: no course is named, the one asked for is still shown.
    before = run(sqlite_path, "status", "--known-at", "2025-01-01T00:00:00+01:00")
    assert before.exit_code == 1 and "pass --course" in before.output
    assert "idl-2025" not in before.output and "dl2-2026" not in before.output
    asked = stdout(sqlite_path, "--course", "dl2-2026", "status", "--as-of", "2025-06-01T00:00", "--format", "table")
    assert asked.startswith("dl2-2026: not open at 2025-06-01T00:00:00+02:00")


# -- for people: exact output ---------------------------------------------------------


@pytest.fixture
def story(script: Script) -> Script:
    """Ada passes A01 with Grace (who is absent at the presentation), hands A02 in late, is
    excused from A03, and her A04 hand-in is retracted; Kurt is admitted late."""
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)
    script.present("A01", GRACE, "absent", "2025-04-17T11:05:00+02:00")
    script.hand_in("A02", "2025-04-21T10:30:00+02:00", ADA)
    script.add("ExcuseGranted", "2025-04-22T09:00:00+02:00", student=ADA, assignments=["A03"],
               certificate="AU-7", reason="illness")  # fmt: skip
    wrong = script.hand_in("A04", "2025-05-01T09:00:00+02:00", ADA)
    script.add("EventRetracted", "2025-05-02T09:00:00+02:00", event=wrong, reason="wrong team", by="lecturer")
    script.add("ApplicationAccepted", "2025-04-24T09:00:00+02:00", student=KURT)
    script.flush()
    return script


def test_status_of_a_student(story: Script) -> None:
    assert stdout(story.store, "status", ADA, "--as-of", "2025-06-01T12:00", "--format", "table") == (
        "student    231001\n"
        "programme  master (6 credits)\n"
        "group      g1\n"
        "status     at_risk (2 failed; max_fails 2)\n"
        "outcomes   1 passed, 1 excused, 0 exempt, 2 failed, 0 open\n"
        "as of      2025-06-01T12:00:00+02:00\n"
        "\n"
        "assignment  deadline                   outcome                 why                                extension\n"
        "----------  -------------------------  ----------------------  ---------------------------------  ---------\n"
        "A01         2025-04-14T10:00:00+02:00  passed                  handed in on time\n"
        "A02         2025-04-21T10:00:00+02:00  failed:late             handed in after the deadline\n"
        "A03         2025-04-28T10:00:00+02:00  excused                 medical certificate\n"
        "A04         2025-05-05T10:00:00+02:00  failed:missed_deadline  nothing handed in by the deadline\n"
    )
    # In a pipe, CSV, and the table only.
    assert stdout(story.store, "status", ADA, "--as-of", "2025-06-01T12:00").splitlines()[:2] == [
        "assignment,deadline,outcome,why,extension",
        "A01,2025-04-14T10:00:00+02:00,passed,handed in on time,",
    ]


def test_status_of_the_course(story: Script) -> None:
    assert stdout(story.store, "status", "--as-of", "2025-04-22T12:00", "--format", "table") == (
        "course        idl-2025 (Introduction to Deep Learning)\n"
        "participants  4 of 10 seats; 5 applications, 1 undecided\n"
        "groups        g1 2/5, g2 2/5\n"
        "coursework    open; 4 assignments\n"
        "status        1 on_track, 3 at_risk, 0 excluded, 0 admitted, 0 withdrawn\n"
        "as of         2025-04-22T12:00:00+02:00\n"
        "\n"
        "assignment  deadline                   passed  excused  exempt  failed  open\n"
        "----------  -------------------------  ------  -------  ------  ------  ----\n"
        "A01         2025-04-14T10:00:00+02:00       1        0       0       3     0\n"
        "A02         2025-04-21T10:00:00+02:00       0        0       0       4     0\n"
        "A03         2025-04-28T10:00:00+02:00       0        1       0       0     3\n"
        "A04         2025-05-05T10:00:00+02:00       0        0       0       0     4\n"
    )


def test_status_of_someone_not_admitted(story: Script) -> None:
    result = run(story.store, "status", "999999")
    assert (result.exit_code, result.output) == (1, "error: no application from '999999' in idl-2025\n")


def test_log_of_a_student_shows_retractions_against_what_they_cancel(story: Script) -> None:
    lines = stdout(story.store, "log", "--student", ADA, "--format", "csv").splitlines()
    assert lines[0] == "seq,at,recorded_at,recorded_by,event,details,retracted,id"
    assert [line.rsplit(",", 1)[0] for line in lines[4:]] == [
        '16,2025-04-13T20:00:00+02:00,2025-04-13T20:00:00+02:00,tester,SubmissionHandedIn,"A01 by 231001, 231002",',
        "18,2025-04-21T10:30:00+02:00,2025-04-21T10:30:00+02:00,tester,SubmissionHandedIn,A02 by 231001,",
        "19,2025-04-22T09:00:00+02:00,2025-04-22T09:00:00+02:00,tester,ExcuseGranted,"
        '"231001 excused from A03 (illness, certificate AU-7)",',
        "20,2025-05-01T09:00:00+02:00,2025-05-01T09:00:00+02:00,tester,SubmissionHandedIn,A04 by 231001,"
        "by #21: wrong team",
        "21,2025-05-02T09:00:00+02:00,2025-05-02T09:00:00+02:00,lecturer,EventRetracted,"
        "cancels #20 SubmissionHandedIn: wrong team,",
    ]
    assert [line.split(",")[0] for line in lines[1:4]] == ["2", "7", "15"]  # applied, accepted, placed


def test_log_of_an_assignment_and_known_at(story: Script) -> None:
    seqs = [r["seq"] for r in rows_of(story.store, "log", "--assignment", "A01")]
    assert seqs == [11, 16, 17]  # published, handed in, presentation
    both = [r["seq"] for r in rows_of(story.store, "log", "--assignment", "A04", "--student", ADA)]
    assert both == [20, 21]
    early = [r["seq"] for r in rows_of(story.store, "log", "--assignment", "A04", "--known-at", "2025-05-01T12:00")]
    assert early == [14, 20]  # the retraction was not recorded yet


def rows_of(store: str, *args: str) -> list[dict[str, Any]]:
    return json.loads(stdout(store, *args, "--format", "json"))  # type: ignore[no-any-return]


def test_explain_cites_the_events_and_rules(story: Script) -> None:
    ids = {r["seq"]: r["id"] for r in rows_of(story.store, "log")}
    out = stdout(story.store, "explain", ADA, "--as-of", "2025-06-01T12:00")
    assert out == (
        "231001 Ada Lovelace, master (6 credits), group g1; as of 2025-06-01T12:00:00+02:00\n"
        "status: at_risk (2 failed assignments, as many as max_fails 2 allows)\n"
        "A01 passed (handed in on time)\n"
        "A02 failed: late (handed in after the deadline)\n"
        "  #12 AssignmentPublished at 2025-04-07T12:00:00+02:00: A02 'Week A02', deadline "
        f"2025-04-21T10:00:00+02:00 [id {ids[12]}; recorded 2025-04-07T12:00:00+02:00 by tester]\n"
        "  #18 SubmissionHandedIn at 2025-04-21T10:30:00+02:00: A02 by 231001 "
        f"[id {ids[18]}; recorded 2025-04-21T10:30:00+02:00 by tester]\n"
        "A03 excused (medical certificate)\n"
        "  #19 ExcuseGranted at 2025-04-22T09:00:00+02:00: 231001 excused from A03 (illness, certificate AU-7) "
        f"[id {ids[19]}; recorded 2025-04-22T09:00:00+02:00 by tester]\n"
        "A04 failed: missed_deadline (nothing handed in by the deadline)\n"
        "  #14 AssignmentPublished at 2025-04-07T12:00:00+02:00: A04 'Week A04', deadline "
        f"2025-05-05T10:00:00+02:00 [id {ids[14]}; recorded 2025-04-07T12:00:00+02:00 by tester]\n"
    )
    kurt = stdout(story.store, "explain", KURT, "--as-of", "2025-06-01T12:00").splitlines()
    assert kurt[2] == "A01 exempt (the deadline passed before the student was admitted)"
    assert kurt[4].startswith("  #22 ApplicationAccepted at 2025-04-24T09:00:00+02:00: 231005 accepted [id ")


def test_explain_withdrawn_and_admitted(story: Script) -> None:
    story.add("ApplicationWithdrawn", "2025-05-03T09:00:00+02:00", student=ALAN, reason="moved away")
    story.add("CourseworkClosed", "2025-07-15T00:00:00+02:00")
    story.flush()
    alan = stdout(story.store, "explain", ALAN, "--as-of", "2025-07-16T00:00").splitlines()
    assert alan[1] == "status: withdrawn (withdrawn from the course)"
    assert alan[2].startswith("  #23 ApplicationWithdrawn at 2025-05-03T09:00:00+02:00: 231003 withdrew: moved away")
    ada = stdout(story.store, "explain", ADA, "--as-of", "2025-07-16T00:00").splitlines()
    assert ada[1] == "status: admitted (coursework is closed, with 2 failed (max_fails 2))"
    assert ada[2].startswith("  #24 CourseworkClosed at 2025-07-15T00:00:00+02:00: coursework closed")


@pytest.mark.parametrize("command", ["status", "log", "explain", "export", "rebuild"])
def test_every_command_has_an_example(command: str) -> None:
    result = run("unused.sqlite", command, "--help")
    assert result.exit_code == 0
    assert "Example:\n    subledger " + command in result.output


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00", "next tuesday"])
def test_a_clock_out_of_range_or_unreadable_is_one_line(script: Script, moment: str) -> None:
    script.flush()
    result = run(script.store, "status", "--as-of", moment)
    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.output.splitlines()[-1]
    assert last.startswith("Error: Invalid value for ") and "--as-of" in last

"""Extensions (issue 11.1): one participant's own, later deadline for one assignment.

SPEC §5: the deadline of assignment a for participant s is the latest
extension for (s, a) in view, else the course's deadline. These tests hold the
rule checks, the outcomes (a team's hand-in on time for one member and late for
another), retractions and the `extend` command to it; a property test holds
that an extension never turns a pass into a fail.
"""

from __future__ import annotations

import uuid
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import coursework, rules
from ledger import events as ev
from ledger.app import Ledger
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded
from tests.cli_helpers import ADA, ALAN, EMMY, GRACE, STRANGER, count, run, semester
from tests.recording import clock_at
from tests.test_properties import COURSES, KINDS, Intent, clocks, history

C = "c"
T0 = datetime(2025, 4, 1, 8, tzinfo=UTC)
DEADLINE = datetime(2025, 4, 14, 8, tzinfo=UTC)  # 10:00 in Berlin
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def _opening(max_fails: int = 2) -> ev.CourseOpened:
    return ev.CourseOpened(
        course=C, at=T0, title="t", timezone="Europe/Berlin", capacity=5, application_deadline=T0 + 24 * HOUR,
        registration_deadline=T0 + 48 * HOUR, groups=(ev.Group("g1", "Thu 11:00", 5),), max_fails=max_fails,
    )  # fmt: skip


def _course(*events: ev.Event) -> Course:
    """The course folded from an opening, s1..s3 admitted (s3 withdrawn), A1 published, then `events`."""
    base: list[ev.Event] = [_opening()]
    for s in ("s1", "s2", "s3", "s4"):
        base.append(ev.ApplicationSubmitted(course=C, at=T0 + HOUR, student=s, name=s, email="e", programme="master",
                                            prerequisite="p"))  # fmt: skip
    for s in ("s1", "s2", "s3"):
        base.append(ev.ApplicationAccepted(course=C, at=T0 + 2 * HOUR, student=s))
    base.append(ev.ApplicationWithdrawn(course=C, at=T0 + 3 * HOUR, student="s3", reason="r"))
    base.append(ev.AssignmentPublished(course=C, at=T0 + 3 * HOUR, assignment="A1", title="t", deadline=DEADLINE))
    course = Course(C)
    for event in [*base, *events]:
        add(course, event)
    return course


def add(course: Course, event: ev.Event) -> Recorded:
    """Check `event` against the rules and fold it in; its record."""
    rules.check(course, event)
    position = len(course.records) + 1
    record = Recorded(uuid.UUID(int=position), position, event.at, "t", event)  # type: ignore[arg-type]
    course.apply(record)
    return record


def extension(student: str = "s1", until: datetime = DEADLINE + 48 * HOUR, at: datetime = DEADLINE - HOUR,
              assignment: str = "A1") -> ev.ExtensionGranted:  # fmt: skip
    return ev.ExtensionGranted(course=C, at=at, student=student, assignment=assignment, deadline=until, reason="ill")


def hand_in(at: datetime, *team: str) -> ev.SubmissionHandedIn:
    return ev.SubmissionHandedIn(course=C, at=at, assignment="A1", team=team)


def outcome(course: Course, student: str, clock: datetime = DEADLINE + 100 * HOUR) -> coursework.Outcome:
    return coursework.outcome(course, student, "A1", clock)


# -- the rule check -----------------------------------------------------------------


def test_an_extension_later_than_the_course_deadline_is_accepted() -> None:
    course = _course()
    add(course, extension())
    assert coursework.own_deadline(course, "s1", "A1").event.deadline == DEADLINE + 48 * HOUR  # type: ignore[union-attr]
    assert coursework.own_deadline(course, "s2", "A1").event.deadline == DEADLINE  # type: ignore[union-attr]


@pytest.mark.parametrize("until", [DEADLINE, DEADLINE - HOUR, DEADLINE - timedelta(days=30)])
def test_an_extension_not_later_than_the_course_deadline_is_refused(until: datetime) -> None:
    with pytest.raises(Refused) as refused:
        rules.check(_course(), extension(until=until))
    assert refused.value.rule == "extension-not-later"
    assert "'A1'" in str(refused.value) and "'s1'" in str(refused.value)


def test_one_microsecond_later_is_later() -> None:
    rules.check(_course(), extension(until=DEADLINE + timedelta(microseconds=1)))


def test_the_course_deadline_is_the_moved_one() -> None:
    moved = ev.DeadlineChanged(course=C, at=T0 + 4 * HOUR, assignment="A1", deadline=DEADLINE + 24 * HOUR, reason="r")
    course = _course(moved)
    with pytest.raises(Refused, match="extension-not-later"):
        rules.check(course, extension(until=DEADLINE + 24 * HOUR))
    rules.check(course, extension(until=DEADLINE + 25 * HOUR))


@pytest.mark.parametrize(
    ("student", "assignment", "rule"),
    [("s3", "A1", "not-a-participant"), ("s4", "A1", "not-a-participant"), ("nobody", "A1", "unknown-student"),
     ("s1", "A9", "unknown-assignment")],
)  # fmt: skip
def test_an_extension_for_a_non_participant_or_an_unknown_assignment_is_refused(
    student: str, assignment: str, rule: str
) -> None:
    with pytest.raises(Refused) as refused:
        rules.check(_course(), extension(student=student, assignment=assignment))
    assert refused.value.rule == rule


# -- outcomes -------------------------------------------------------------------------


def test_a_team_hand_in_within_one_members_extension_is_on_time_for_that_member_only() -> None:
    course = _course(extension("s1"), hand_in(DEADLINE + 24 * HOUR, "s1", "s2"))
    ada, grace = outcome(course, "s1"), outcome(course, "s2")
    assert (ada.kind, ada.rule) == ("passed", "handed in by the extended deadline")
    assert [type(r.event) for r in ada.evidence] == [ev.SubmissionHandedIn, ev.ExtensionGranted]
    assert (grace.kind, grace.reason, grace.rule) == ("failed", "late", "handed in after the deadline")


def test_a_hand_in_after_the_extension_is_late_and_cites_it() -> None:
    course = _course(extension("s1"), hand_in(DEADLINE + 49 * HOUR, "s1"))
    late = outcome(course, "s1")
    assert (late.kind, late.reason, late.rule) == ("failed", "late", "handed in after the extended deadline")
    assert isinstance(late.evidence[0].event, ev.ExtensionGranted)


def test_the_extension_keeps_the_assignment_open_after_the_course_deadline() -> None:
    course = _course(extension("s1"))
    between = DEADLINE + 24 * HOUR
    assert outcome(course, "s1", between).kind == "open"
    assert outcome(course, "s1", between).rule == "the extended deadline has not passed"
    assert (outcome(course, "s2", between).kind, outcome(course, "s2", between).reason) == ("failed", "missed_deadline")
    after = outcome(course, "s1", DEADLINE + 49 * HOUR)
    assert (after.kind, after.reason, after.rule) == ("failed", "missed_deadline", "nothing handed in by the extended deadline")


def test_on_time_is_inclusive_to_the_microsecond_of_the_extension() -> None:
    until = DEADLINE + 48 * HOUR
    assert outcome(_course(extension(until=until), hand_in(until, "s1")), "s1").kind == "passed"
    late = _course(extension(until=until), hand_in(until + timedelta(microseconds=1), "s1"))
    assert outcome(late, "s1").reason == "late"


def test_the_latest_extension_counts_even_when_it_gives_less() -> None:
    first = extension(until=DEADLINE + 48 * HOUR, at=DEADLINE - 2 * HOUR)
    second = extension(until=DEADLINE + 24 * HOUR, at=DEADLINE - HOUR)
    course = _course(first, second, hand_in(DEADLINE + 30 * HOUR, "s1"))
    assert outcome(course, "s1").reason == "late"
    # Latest means greatest `at`: one recorded afterwards but dated before does not replace it.
    backdated = extension(until=DEADLINE + 72 * HOUR, at=DEADLINE - 3 * HOUR)
    add(course, backdated)
    assert outcome(course, "s1").reason == "late"


def test_an_extension_overtaken_by_a_course_wide_move_gives_way() -> None:
    moved = ev.DeadlineChanged(course=C, at=DEADLINE, assignment="A1", deadline=DEADLINE + 72 * HOUR, reason="r")
    course = _course(extension("s1"), moved, hand_in(DEADLINE + 60 * HOUR, "s1", "s2"))
    assert outcome(course, "s1").kind == "passed" and outcome(course, "s2").kind == "passed"
    assert outcome(course, "s1").rule == "handed in on time"
    assert coursework.own_deadline(course, "s1", "A1").event is moved


def test_an_extension_does_not_undo_a_failed_presentation() -> None:
    course = _course(extension("s1"), hand_in(DEADLINE + 24 * HOUR, "s1"))
    add(course, ev.PresentationRecorded(course=C, at=DEADLINE + 60 * HOUR, assignment="A1", student="s1",
                                        outcome="absent"))  # fmt: skip
    assert (outcome(course, "s1").kind, outcome(course, "s1").reason) == ("failed", "absent")


def test_a_retracted_extension_no_longer_counts() -> None:
    course = _course()
    granted = add(course, extension("s1"))
    add(course, hand_in(DEADLINE + 24 * HOUR, "s1"))
    assert outcome(course, "s1").kind == "passed"
    add(course, ev.EventRetracted(course=C, at=DEADLINE + 90 * HOUR, event=granted.id, reason="wrong student"))
    assert outcome(course, "s1").reason == "late"


def test_an_extension_seen_under_a_clock_before_it_is_not_in_view() -> None:
    course = _course(extension("s1", at=DEADLINE + 2 * HOUR), hand_in(DEADLINE + HOUR, "s1"))
    assert outcome(course.view(as_of=DEADLINE + 2 * HOUR), "s1").kind == "passed"
    before = course.view(as_of=DEADLINE + 90 * MINUTE)
    assert outcome(before, "s1", DEADLINE + 90 * MINUTE).reason == "late"


# -- retractions that an extension rests on, or that rest on it -------------------------


def test_retracting_what_an_extension_rests_on_is_refused() -> None:
    course = _course()
    granted = add(course, extension("s1"))
    publication = course.assignments["A1"]
    acceptance = course.applications["s1"].accepted
    assert acceptance is not None
    for target, rule in ((publication, "unknown-assignment"), (acceptance, "not-a-participant")):
        with pytest.raises(Refused) as refused:
            rules.check(course, ev.EventRetracted(course=C, at=DEADLINE, event=target.id, reason="r"))
        assert refused.value.rule == rule
        assert "extension" in str(refused.value) and str(granted.id) in str(refused.value)


def test_retracting_an_extension_that_would_exclude_an_exam_candidate_is_refused() -> None:
    course = _course()
    # max_fails 2: with A2 and A3 missed, A1 late without the extension would be a third fail.
    for a in ("A2", "A3"):
        add(course, ev.AssignmentPublished(course=C, at=T0 + 3 * HOUR, assignment=a, title="t", deadline=DEADLINE))
    granted = add(course, extension("s1"))
    add(course, hand_in(DEADLINE + 24 * HOUR, "s1"))
    add(course, ev.CourseworkClosed(course=C, at=DEADLINE + 200 * HOUR))
    add(course, ev.ExamRegistered(course=C, at=DEADLINE + 201 * HOUR, student="s1", mode="graded"))
    with pytest.raises(Refused) as refused:
        rules.check(course, ev.EventRetracted(course=C, at=DEADLINE + 300 * HOUR, event=granted.id, reason="r"))
    assert refused.value.rule == "excluded"
    assert "retracting this extension" in str(refused.value)
    # Nor may a backdated extension that gives less exclude them.
    shorter = extension("s1", until=DEADLINE + 2 * HOUR, at=DEADLINE)
    with pytest.raises(Refused, match="excluded"):
        rules.check(course, shorter)


# -- the command -------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)  # Ada and Grace admitted; A01–A03 published (A02: 2025-04-21T10:00+02:00)
    return path


def refused(store: str, *args: str) -> str:
    """Run `args`: refused with exit 1, one line on stderr, nothing written; that line."""
    before = count(store)
    result = run(store, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert count(store) == before
    return result.stderr


def test_extend_records_one_event_per_student_named(store: str) -> None:
    result = run(store, "extend", ADA, GRACE, "A02", "--until", "2025-04-23T10:00", "--reason", "server outage",
                 "--certificate", "AU-1", "--at", "2025-04-20T12:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(" at ")[0] for line in lines] == ["recorded ExtensionGranted"] * 2
    assert [line.split(" position ")[1].split()[0] for line in lines] == ["17", "18"]


def test_extend_refuses_a_deadline_not_later_than_the_course(store: str) -> None:
    assert refused(store, "extend", ADA, "A02", "--until", "2025-04-21T10:00", "--reason", "ill") == (
        "error: refused by rule extension-not-later: an extension of 'A02' for '231001' until "
        "2025-04-21T10:00:00+02:00 is not later than the course's deadline 2025-04-21T10:00:00+02:00\n"
    )


def test_extend_refuses_a_non_participant_and_an_unknown_assignment(store: str) -> None:
    assert refused(store, "extend", ALAN, "A02", "--until", "2025-04-23T10:00", "--reason", "ill") == (
        "error: refused by rule not-a-participant: student '231003' is not a participant of idl-2025\n"
    )
    assert refused(store, "extend", EMMY, "A02", "--until", "2025-04-23T10:00", "--reason", "ill") == (
        "error: refused by rule not-a-participant: student '231004' is not a participant of idl-2025\n"
    )
    assert refused(store, "extend", STRANGER, "A02", "--until", "2025-04-23T10:00", "--reason", "ill") == (
        "error: refused by rule unknown-student: student '999999' has not applied to idl-2025\n"
    )
    assert refused(store, "extend", ADA, "A09", "--until", "2025-04-23T10:00", "--reason", "ill") == (
        "error: refused by rule unknown-assignment: no assignment 'A09' in idl-2025\n"
    )


def test_extend_for_a_team_is_all_or_nothing(store: str) -> None:
    refused(store, "extend", ADA, ALAN, "A02", "--until", "2025-04-23T10:00", "--reason", "ill")


def test_extend_needs_until_and_reason(store: str) -> None:
    for args in (("extend", ADA, "A02", "--reason", "ill"), ("extend", ADA, "A02", "--until", "2025-04-23T10:00"),
                 ("extend", ADA, "--until", "2025-04-23T10:00", "--reason", "ill")):  # fmt: skip
        result = run(store, *args)
        assert result.exit_code == 2, result.output
    assert count(store) == 16


@pytest.fixture
def extended(tmp_path) -> str:
    """The semester; Ada has until 23 April for A02 and hands it in with Grace on the 22nd.

    Every event is recorded at a fixed instant, so that outputs are exact.
    """
    path = str(tmp_path / "ledger.sqlite")
    with clock_at(datetime(2025, 4, 15, 8, tzinfo=UTC)):  # after the semester's last event (the rule `future`)
        semester(path)
    with clock_at(datetime(2025, 4, 20, 10, tzinfo=UTC)):
        ok(path, "extend", ADA, "A02", "--until", "2025-04-23T10:00", "--reason", "ill for three days",
           "--certificate", "AU-7", "--at", "2025-04-20T12:00")  # fmt: skip
    with clock_at(datetime(2025, 4, 22, 7, tzinfo=UTC)):
        ok(path, "hand-in", "A02", ADA, GRACE, "--at", "2025-04-22T09:00")
    return path


def ok(store: str, *args: str) -> str:
    result = run(store, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_status_shows_each_members_own_deadline_and_the_extension(extended: str) -> None:
    table = ok(extended, "status", ADA, "--as-of", "2025-04-30T12:00", "--format", "table").split("\n\n")[1]
    assert table.splitlines() == [
        "assignment  deadline                   outcome                 why                                 extension",
        "----------  -------------------------  ----------------------  ----------------------------------  -------------------------------------",
        "A01         2025-04-14T10:00:00+02:00  passed                  handed in on time",
        "A02         2025-04-23T10:00:00+02:00  passed                  handed in by the extended deadline  ill for three days (certificate AU-7)",
        "A03         2025-04-28T10:00:00+02:00  failed:missed_deadline  nothing handed in by the deadline",
    ]  # fmt: skip
    grace = ok(extended, "status", GRACE, "--as-of", "2025-04-30T12:00", "--format", "csv").splitlines()
    assert grace[2] == "A02,2025-04-21T10:00:00+02:00,failed:late,handed in after the deadline,"
    # Between the two deadlines, Ada's A02 is still open (before her hand-in), Grace's missed.
    before = ok(extended, "status", ADA, "--as-of", "2025-04-21T12:00", "--format", "csv").splitlines()
    assert before[2] == "A02,2025-04-23T10:00:00+02:00,open,the extended deadline has not passed,ill for three days (certificate AU-7)"


def test_explain_cites_the_extension_a_pass_rests_on(extended: str) -> None:
    lines = ok(extended, "explain", ADA, "--as-of", "2025-04-30T12:00").splitlines()
    at = lines.index("A02 passed (handed in by the extended deadline)")
    assert [line.split(" [id ")[0] for line in lines[at + 1 : at + 3]] == [
        "  #18 SubmissionHandedIn at 2025-04-22T09:00:00+02:00: A02 by 231001, 231002",
        "  #17 ExtensionGranted at 2025-04-20T12:00:00+02:00: 231001 granted an extension of A02 until "
        "2025-04-23T10:00:00+02:00: ill for three days, certificate AU-7",
    ]
    assert lines[at + 2].endswith("; recorded 2025-04-20T12:00:00+02:00 by tester]")
    assert lines[at + 3].startswith("A03 ")
    grace = ok(extended, "explain", GRACE, "--as-of", "2025-04-30T12:00")
    assert "ExtensionGranted" not in grace and "A02 failed: late (handed in after the deadline)" in grace


def test_the_log_lists_the_extension_under_its_student_and_assignment(extended: str) -> None:
    line = 'ExtensionGranted,"231001 granted an extension of A02 until 2025-04-23T10:00:00+02:00: ill for three days, certificate AU-7"'
    for args in (("--student", ADA), ("--assignment", "A02"), ()):
        assert line in ok(extended, "log", *args, "--format", "csv")
    assert "ExtensionGranted" not in ok(extended, "log", "--student", GRACE, "--format", "csv")
    assert "ExtensionGranted" not in ok(extended, "log", "--assignment", "A01", "--format", "csv")


def test_the_gradebook_lists_the_extensions_that_count(extended: str) -> None:
    assert ok(extended, "export", "gradebook", "--as-of", "2025-04-30T12:00", "--format", "csv") == (
        "student,name,A01,A02,A03,extensions\n"
        "231001,Ada Lovelace,passed,passed,failed:missed_deadline,A02:2025-04-23T10:00:00+02:00\n"
        "231002,Grace Hopper,passed,failed:late,failed:missed_deadline,\n"
    )
    # Before the extension happened (--as-of), or before it was recorded (--known-at), it is not there.
    for clock in ("--as-of", "--known-at"):
        book = ok(extended, "export", "gradebook", clock, "2025-04-20T11:00", "--format", "csv")
        assert book.splitlines()[1] == "231001,Ada Lovelace,passed,open,open,"


def test_a_retracted_extension_leaves_the_hand_in_late(extended: str) -> None:
    with closing(Ledger(extended)) as ledger:
        granted = next(r for r in ledger.records() if isinstance(r.event, ev.ExtensionGranted))
    ok(extended, "retract", str(granted.id), "--reason", "meant for another student", "--at", "2025-04-24T09:00")
    book = ok(extended, "export", "gradebook", "--as-of", "2025-04-30T12:00", "--format", "csv").splitlines()
    assert book[1] == "231001,Ada Lovelace,passed,failed:late,failed:missed_deadline,"
    log = ok(extended, "log", "--student", ADA, "--format", "csv")
    assert "by #19: meant for another student" in log


# -- the property ---------------------------------------------------------------------------


# Histories as tests/test_properties.py draws them, with extensions, moved deadlines and hand-ins more often.
FOCUS = [KINDS.index(k) for k in ("extend", "extend", "extend", "move", "hand_in", "hand_in")]
focused = st.lists(
    st.tuples(st.integers(0, 1), st.one_of(st.integers(0, len(KINDS) - 1), st.sampled_from(FOCUS)),
              st.integers(0, 9), st.integers(0, 9), st.integers(0, 9), st.integers(0, 600)),
    min_size=30, max_size=120,
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(drawn=focused)
def test_an_extension_never_turns_a_pass_into_a_fail(drawn: list[Intent]) -> None:
    """Every outcome with the extensions recorded is at least as good as without any of them."""
    records = history(drawn)
    for name in COURSES:
        mine = [r for r in records if r.event.course == name]
        without = [r for r in mine if not isinstance(r.event, ev.ExtensionGranted)]
        for clock in clocks(records):
            at = clock.as_of
            extended = Course.fold(name, mine).view(at, clock.known_at)
            plain = Course.fold(name, without).view(at, clock.known_at)
            for student in extended.participants():
                for a in coursework.assignment_order(extended):
                    before, after = coursework.outcome(plain, student, a, at), coursework.outcome(extended, student, a, at)
                    if before.kind == "passed":
                        assert after.kind == "passed", (student, a, after)
                    if after.kind == "failed":
                        assert before.kind == "failed", (student, a, before)


def test_the_report_timeline_marks_the_hand_in_late_for_the_teammate_only(extended: str) -> None:
    from projections.reading import read
    from projections.timeline import timelines

    marks = {
        t.student: [m.against for m in t.moments if m.event == "SubmissionHandedIn" and m.assignment == "A02"]
        for t in timelines(read(extended, as_of=datetime(2025, 4, 30, tzinfo=UTC)))
    }
    assert marks == {ADA: [False], GRACE: [True]}

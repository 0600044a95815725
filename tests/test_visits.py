"""One-off visits of another group's session (SPEC §1.3, issue 9.5; ledger.groups; ADR 0017).

A visit is asked, like a change, before the earlier session of its week; it
changes nobody's group and takes no seat. These tests hold each refusal to its
rule and value, show the visit on both groups' attendance, retract it, let
later changes and withdrawals make it moot, and check over random histories
that every participant with a group sits in exactly one session each week.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger import invariants
from ledger.app import Ledger
from ledger.errors import Refused
from ledger.events import Recorded
from ledger.groups import MOST_WEEKS, Weeks, attendance, groups_in_week, membership, visits
from tests.cli_helpers import ADA, ALAN, GRACE, run, semester
from tests.test_groups import APPLICATION_DEADLINE, NAME, REGISTRATION_DEADLINE, T0, WEEK_1, Log
from tests.test_refusals import assert_import_refused, assert_refused, ok

WEEK = timedelta(days=7)
MICRO = timedelta(microseconds=1)
ALLOCATED = REGISTRATION_DEADLINE + timedelta(hours=1)


def opening(g1: int = 2, g2: int = 2, g3: int = 2) -> ev.CourseOpened:
    """Three groups: g1 Thursday 11:00 (the earlier session of each week), g2 Friday 13:00, g3 Thursday 16:00."""
    return ev.CourseOpened(
        course=NAME, at=T0, title="t", timezone="Europe/Berlin", capacity=8,
        application_deadline=APPLICATION_DEADLINE, registration_deadline=REGISTRATION_DEADLINE,
        groups=(ev.Group("g1", "Thu 11:00", g1), ev.Group("g2", "Fri 13:00", g2), ev.Group("g3", "Thu 16:00", g3)),
    )  # fmt: skip


def course(g1: int = 2, g2: int = 2, g3: int = 2, placed: dict[str, str] | None = None) -> Log:
    """A course whose students 1, 2, 3 are placed as `placed` says (default: 1 and 2 in g1, 3 in g2)."""
    log = Log(opening(g1, g2, g3))
    placed = {"1": "g1", "2": "g1", "3": "g2"} if placed is None else placed
    log.admit(*sorted(placed))
    log.allocate(placed, at=ALLOCATED)
    return log


def visit(log: Log, student: str, group: str, week: int, at: datetime | None = None) -> Recorded:
    at = ALLOCATED + timedelta(hours=1) if at is None else at
    return log.add(ev.GroupVisited(course=NAME, at=at, student=student, group=group, week=week, reason="r"))


def refused(log: Log, rule: str, *values: str, **visit_args: object) -> None:
    before = len(log.course.records)
    with pytest.raises(Refused) as caught:
        visit(log, **visit_args)  # type: ignore[arg-type]
    assert caught.value.rule == rule, caught.value
    for value in values:
        assert value in caught.value.detail, (value, caught.value.detail)
    assert len(log.course.records) == before


# -- what a visit shows ----------------------------------------------------------------


def test_a_visit_lists_the_student_as_visitor_there_and_away_at_home_that_week_only() -> None:
    log = course()
    before = membership(log.course).placed(2)
    record = visit(log, "1", "g2", 2)
    g1, g2 = attendance(log.course, "g1", 2), attendance(log.course, "g2", 2)
    assert g1.members == ("1", "2") and [v.student for v in g1.away] == ["1"] and g1.visitors == ()
    assert g2.members == ("3",) and g2.away == () and [(v.student, v.home, v.record) for v in g2.visitors] == [
        ("1", "g1", record)
    ]
    for week in (1, 3):  # one week only
        assert attendance(log.course, "g1", week).away == attendance(log.course, "g2", week).visitors == ()
    assert membership(log.course).placed(2) == before  # nobody's group changes
    assert invariants.violations(NAME, log.course.records) == []


def test_a_visitor_takes_no_seat() -> None:
    """g2 seats 2 and holds 1: a visitor comes, and a member can still move in; then it is full for visitors."""
    log = course(g2=2)
    visit(log, "1", "g2", 3)
    visit(log, "2", "g2", 3)  # a second guest: the seat count bounds members, not guests
    log.change("1", "g2", at=ALLOCATED + timedelta(hours=2))  # moves from week 1: g2 holds 3 and 1
    assert sorted(s for s, g in groups_in_week(log.course, 3).items() if g == "g2") == ["1", "3"]
    # 1 now belongs to g2 in week 3: the visit is moot, 2 is still a guest.
    assert [v.student for v in attendance(log.course, "g2", 3).visitors] == ["2"]
    log.admit("4")
    log.change("4", "g1", at=ALLOCATED + timedelta(hours=3))
    refused(log, "group-full", "'g2'", "week 3", "(2 of 2)", "'4'", student="4", group="g2", week=3)


# -- refusals ----------------------------------------------------------------------------


def test_a_visit_follows_the_rule_of_a_change_before_the_earlier_session_of_its_week() -> None:
    """Week 2's earlier session is Thursday 11:00: a visit of Friday's g2 in week 2 must be asked before it too."""
    log = course()
    week_2 = WEEK_1 + WEEK
    assert Weeks(log.course.opened).session(2) == week_2  # type: ignore[arg-type]
    refused(log, "week-started", "week 2", "2025-04-24T11:00:00+02:00", "asked at 2025-04-24T11:00:00+02:00",
            student="1", group="g2", week=2, at=week_2)  # fmt: skip
    refused(log, "week-started", "week 2", student="1", group="g2", week=2, at=week_2 + timedelta(hours=3))
    refused(log, "week-started", "week 1", student="1", group="g2", week=1, at=week_2 - MICRO)  # a week already past
    visit(log, "1", "g2", 2, at=week_2 - MICRO)
    assert [v.student for v in attendance(log.course, "g2", 2).visitors] == ["1"]


def test_refusals_name_the_rule_and_the_value() -> None:
    log = course()
    log.add(ev.ApplicationSubmitted(course=NAME, at=T0 + timedelta(days=1), student="9", name="n", email="e",
                                    programme="bachelor", prerequisite="p"))  # fmt: skip
    refused(log, "unknown-student", "'8'", student="8", group="g2", week=2)
    refused(log, "not-a-participant", "'9'", student="9", group="g2", week=2)
    refused(log, "unknown-group", "'g9'", student="1", group="g9", week=2)
    refused(log, "own-group", "'1'", "'g1'", "week 2", student="1", group="g1", week=2)
    refused(log, "week", "week 0", student="1", group="g2", week=0)
    refused(log, "week", f"week {MOST_WEEKS + 1}", student="1", group="g2", week=MOST_WEEKS + 1)
    refused(log, "week", "week -3", student="1", group="g2", week=-3)
    refused(log, "week", f"week {10**30}", student="1", group="g2", week=10**30)  # no overflow, no traceback
    first = visit(log, "1", "g2", 4)
    refused(log, "visited-twice", "'1'", "'g2'", "week 4", str(first.id), student="1", group="g3", week=4)
    refused(log, "visited-twice", "week 4", student="1", group="g2", week=4)
    visit(log, "1", "g3", 5)  # another week is another visit
    log.admit("5")  # admitted, in no group
    refused(log, "no-group", "'5'", "week 2", student="5", group="g2", week=2)


def test_a_group_full_that_week_is_refused_but_not_the_week_before() -> None:
    """g2 seats 2 and holds 3; 2 moves in from week 3 (asked in week 2): a visit fits in week 2, not in week 3."""
    log = course(g2=2)
    log.change("2", "g2", at=WEEK_1 + WEEK + timedelta(hours=1))
    visit(log, "1", "g2", 2)
    refused(log, "group-full", "'g2'", "week 3", "(2 of 2)", "'1'", student="1", group="g2", week=3)


def test_a_withdrawn_student_may_not_visit() -> None:
    log = course()
    log.add(ev.ApplicationWithdrawn(course=NAME, at=ALLOCATED, student="2", reason="r"))
    refused(log, "not-a-participant", "'2'", student="2", group="g2", week=2)


# -- retractions, and visits made moot ---------------------------------------------------


def test_a_visit_is_retractable_and_then_the_week_is_free_again() -> None:
    log = course()
    first = visit(log, "1", "g2", 2)
    log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=2), event=first.id, reason="r"))
    assert visits(log.course, 2) == []
    assert attendance(log.course, "g1", 2).away == ()
    again = visit(log, "1", "g3", 2)
    assert [v.record for v in attendance(log.course, "g3", 2).visitors] == [again]
    assert invariants.violations(NAME, log.course.records) == []


def test_the_acceptance_a_visit_rests_on_cannot_be_retracted_before_the_visit() -> None:
    log = course()
    record = visit(log, "1", "g2", 2)
    acceptance = next(r for r in log.course.records if isinstance(r.event, ev.ApplicationAccepted) and r.event.student == "1")
    # The allocation names 1 too; the refusal names the first thing that rests on the acceptance.
    allocation = log.course.allocations[0]
    with pytest.raises(Refused) as caught:
        log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=2), event=acceptance.id, reason="r"))
    assert caught.value.rule == "not-a-participant" and str(allocation.id) in caught.value.detail
    log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=2), event=allocation.id, reason="r"))
    with pytest.raises(Refused) as caught:
        log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=2), event=acceptance.id, reason="r"))
    assert caught.value.rule == "not-a-participant"
    assert "group visit" in caught.value.detail and str(record.id) in caught.value.detail
    log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=3), event=record.id, reason="r"))
    log.add(ev.EventRetracted(course=NAME, at=ALLOCATED + timedelta(hours=4), event=acceptance.id, reason="r"))
    assert invariants.violations(NAME, log.course.records) == []


def test_a_later_change_into_the_visited_group_or_a_withdrawal_makes_the_visit_moot() -> None:
    log = course()
    visit(log, "1", "g2", 3)
    visit(log, "2", "g2", 3)
    log.change("1", "g2", at=WEEK_1 + timedelta(hours=1))  # from week 2: g2 is now 1's own group
    log.add(ev.ApplicationWithdrawn(course=NAME, at=WEEK_1 + timedelta(hours=2), student="2", reason="r"))
    g1, g2 = attendance(log.course, "g1", 3), attendance(log.course, "g2", 3)
    assert g2.members == ("1", "3") and g2.visitors == () and g1.members == () and g1.away == ()
    assert invariants.violations(NAME, log.course.records) == []
    # Retracting the change makes the visit count again: 1 is back in g1 and away from it.
    change = log.course.group_changes["1"][0]
    log.add(ev.EventRetracted(course=NAME, at=WEEK_1 + timedelta(hours=3), event=change.id, reason="r"))
    assert [v.student for v in attendance(log.course, "g2", 3).visitors] == ["1"]
    assert [v.student for v in attendance(log.course, "g1", 3).away] == ["1"]


# -- a store written by other hands -------------------------------------------------------


def forged(log: Log, **fields: object) -> Recorded:
    """A visit appended without the rules (a store edited behind the program's back)."""
    event = ev.GroupVisited(course=NAME, at=ALLOCATED, reason="forged", **fields)  # type: ignore[arg-type]
    record = Recorded(uuid.uuid4(), len(log.course.records) + 1, ALLOCATED, "x", event)
    log.course.apply(record)
    return record


def test_the_whole_course_checker_finds_forged_visits_and_the_model_reads_them_without_failing() -> None:
    log = course()
    forged(log, student="1", group="g2", week=10**18)
    forged(log, student="1", group="g2", week=-1)
    forged(log, student="1", group="g2", week=1)
    forged(log, student="1", group="g3", week=1)  # a second in week 1: the first recorded counts
    forged(log, student="3", group="g9", week=1)  # an unknown group
    forged(log, student="1", group="g2", week=2)
    found = {v.rule for v in invariants.violations(NAME, log.course.records)}
    assert found == {"week", "visited-twice", "unknown-group"}
    assert [(v.student, v.group) for v in visits(log.course, 1)] == [("1", "g2"), ("3", "g9")]
    assert [v.group for v in attendance(log.course, "g1", 10**18).away] == ["g2"]  # a far week is only a number here
    forged_late = ev.GroupVisited(course=NAME, at=WEEK_1 + WEEK, student="2", group="g2", week=2, reason="x")
    log.course.apply(Recorded(uuid.uuid4(), len(log.course.records) + 1, ALLOCATED, "x", forged_late))
    assert "week-started" in {v.rule for v in invariants.violations(NAME, log.course.records)}


# -- random histories ----------------------------------------------------------------------

KINDS = ("visit", "visit", "visit", "change", "change", "withdraw", "accept", "retract", "retract")
steps = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 5), st.integers(0, 2), st.integers(1, 8), st.integers(0, 300)),
    min_size=10,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), steps)
def test_every_participant_with_a_group_sits_in_exactly_one_session_each_week(
    g1: int, g2: int, g3: int, drawn: list[tuple[str, int, int, int, int]]
) -> None:
    students = [str(i) for i in range(6)]
    log = Log(opening(g1, g2, g3))
    log.admit(*students[:4])
    for s in students[4:]:  # admitted late, placed by changes
        log.add(ev.ApplicationSubmitted(course=NAME, at=T0 + timedelta(days=1), student=s, name="n", email="e",
                                        programme="master", prerequisite="p"))  # fmt: skip
    groups = ("g1", "g2", "g3")
    capacity = dict(zip(groups, (g1, g2, g3), strict=True))
    seats = [g for g in groups for _ in range(capacity[g])]
    log.allocate({s: seats[i] for i, s in enumerate(students[:4]) if i < len(seats)}, at=ALLOCATED)
    for kind, i, k, week, hours in drawn:
        at = ALLOCATED + timedelta(hours=3 * hours)
        s, group = students[i], groups[k]
        event: ev.Event
        if kind == "visit":
            event = ev.GroupVisited(course=NAME, at=at, student=s, group=group, week=week, reason="r")
        elif kind == "change":
            event = ev.GroupChanged(course=NAME, at=at, student=s, group=group, reason="r")
        elif kind == "withdraw":
            event = ev.ApplicationWithdrawn(course=NAME, at=at, student=s, reason="r")
        elif kind == "accept":
            event = ev.ApplicationAccepted(course=NAME, at=at, student=s)
        else:
            pool = [r for r in log.course.live() if isinstance(r.event, (ev.GroupVisited, ev.GroupChanged))]
            if not pool:
                continue
            event = ev.EventRetracted(course=NAME, at=at, event=pool[(i + hours) % len(pool)].id, reason="r")
        try:
            log.add(event)
        except Refused:
            continue
        assert invariants.violations(NAME, log.course.records) == []
    for week in range(1, 10):
        placed = groups_in_week(log.course, week)
        sessions = {g: attendance(log.course, g, week) for g in groups}
        seen: dict[str, str] = {}
        for g, sitting in sessions.items():
            away = {v.student for v in sitting.away}
            assert away <= set(sitting.members)
            for student in [*(m for m in sitting.members if m not in away), *(v.student for v in sitting.visitors)]:
                assert student not in seen, (week, student, seen[student], g)
                seen[student] = g
            for v in sitting.visitors:
                assert v.home == placed[v.student] != g
                assert v.student in {a.student for a in sessions[v.home].away}
        assert set(seen) == set(placed)  # every participant with a group, once; nobody else


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)  # Ada and Grace in g1 (Thu 11:00, capacity 2); g2 (Fri 13:00, capacity 2) empty
    return path


def test_visit_group_says_which_session_and_from_which_group(store: str) -> None:
    done = run(store, "visit-group", ADA, "g2", "--week", "3", "--reason", "dentist on Thursday",
               "--at", "2025-04-29T09:00+02:00")  # fmt: skip
    assert done.exit_code == 0, done.output
    first, second = done.stdout.splitlines()
    assert first.startswith("recorded GroupVisited at position 17 (id ")
    assert second == f"{ADA} visits g2 in week 3, whose session is Fri 2025-05-02 13:00 (Europe/Berlin); away from g1 that week"
    log = run(store, "log", "--student", ADA, "--format", "csv")
    assert f"{ADA} visits group g2 in week 3: dentist on Thursday" in log.stdout


def test_visit_group_refusals_are_one_line_and_write_nothing(store: str) -> None:
    at = ("--at", "2025-04-29T09:00+02:00")
    assert_refused(store, "own-group", [f"'{ADA}'", "'g1'", "week 3"], "visit-group", ADA, "g1", "--week", "3", "--reason", "r", *at)
    assert_refused(store, "week-started", ["week 2", "2025-04-24T11:00:00+02:00"],
                   "visit-group", ADA, "g2", "--week", "2", "--reason", "r", *at)  # fmt: skip
    assert_refused(store, "not-a-participant", [f"'{ALAN}'"], "visit-group", ALAN, "g2", "--week", "3", "--reason", "r", *at)
    assert_refused(store, "week", ["week 0"], "visit-group", ADA, "g2", "--week", "0", "--reason", "r", *at)
    ok(store, "visit-group", GRACE, "g2", "--week", "3", "--reason", "r", *at)
    assert_refused(store, "visited-twice", [f"'{GRACE}'", "week 3"],
                   "visit-group", GRACE, "g2", "--week", "3", "--reason", "r", *at)  # fmt: skip
    usage = run(store, "visit-group", ADA, "g2", "--week", "three", "--reason", "r")
    assert usage.exit_code == 2 and "Traceback" not in usage.output


def test_an_imported_visit_is_checked_like_a_typed_one(store: str) -> None:
    from tests.cli_helpers import jsonl

    line = {"type": "GroupVisited", "at": "2025-04-25T09:00:00+02:00", "student": ADA, "group": "g2", "week": 2,
            "reason": "r"}  # fmt: skip
    assert_import_refused(store, jsonl(line), 1, "week-started", ["week 2"])
    done = run(store, "import", "-", input=jsonl({**line, "week": 3}))
    assert done.exit_code == 0, done.output


def test_two_processes_asking_the_same_visit_record_it_once(store_url: str) -> None:
    """On either store: both check, one appends, the other's re-check finds the first visit (`visited-twice`)."""
    from tests.test_contract import _subledger

    semester(store_url)
    args = ("visit-group", ADA, "g2", "--week", "3", "--reason", "r", "--at", "2025-04-29T09:00+02:00")
    procs = [_subledger(store_url, "--actor", actor, *args) for actor in ("tutor1", "tutor2")]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert sorted(code for code, _, _ in results) == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert loser.startswith(f"error: refused by rule visited-twice: '{ADA}' already visits group 'g2' in week 3")
    ledger = Ledger(store_url)
    try:
        assert len(ledger.course("idl-2025").visits[ADA]) == 1
    finally:
        ledger.close()


# -- the ends of the calendar ----------------------------------------------------------------


def test_weeks_at_the_ends_of_the_calendar_raise_nothing(store: str) -> None:
    """A year typed wrong (0001, 9999) is an odd fact, never a traceback: weeks are counted between
    EARLIEST and LATEST, and a visit in a week the calendar cannot hold is refused by `week`."""
    from datetime import UTC

    from ledger.groups import EARLIEST, LATEST

    far = ev.CourseOpened(
        course=NAME, at=T0, title="t", timezone="Europe/Berlin", capacity=2, application_deadline=T0,
        registration_deadline=datetime(9999, 12, 30, 23, tzinfo=UTC), groups=(ev.Group("g1", "Sun 23:00", 2),),
    )  # fmt: skip
    weeks = Weeks(far)
    ends = (datetime(1, 1, 1, tzinfo=UTC), EARLIEST, LATEST, datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    for moment in ends:
        assert 1 <= weeks.of(moment) <= weeks.first_after(moment) and weeks.first_session_after("Sun 23:00", moment) >= 1
    ordinary = Weeks(opening())
    assert ordinary.of(ends[-1]) == ordinary.of(LATEST) and ordinary.of(ends[0]) == 1
    log = Log(far)
    log.admit("1")
    log.change("1", "g1", at=T0 + timedelta(days=2))
    with pytest.raises(Refused) as caught:
        visit(log, "1", "g1", 5, at=T0 + timedelta(days=3))
    assert (caught.value.rule, caught.value.detail) == ("week", "week 5 of c would be after the year 9999")
    # Through the command line: a change dated at the end of the supported calendar (docs/decisions.md:
    # years 1900 to 2999) and a view then; past it, one line and exit 2.
    from tests.recording import clock_at

    with clock_at(datetime(2999, 12, 31, 23, 30, tzinfo=UTC)):  # recorded once it happened (the rule `future`)
        moved = run(store, "change-group", GRACE, "g2", "--reason", "r", "--at", "2999-12-31T23:00+00:00")
    assert moved.exit_code == 0, moved.output
    for view in (("status",), ("export", "roster"), ("export", "sheet", "--group", "g1", "--assignment", "A01")):
        shown = run(store, *view, "--as-of", "2999-12-31T23:30+00:00")  # (in the year 3000 in Berlin)
        assert shown.exit_code == 0, (view, shown.output)
    beyond = run(store, "status", "--as-of", "9999-12-31T12:00+00:00")
    assert beyond.exit_code == 2 and "out of range (years 1900 to 2999)" in beyond.output

"""The fold's sense of "latest" (SPEC §3: greatest `at`, then greatest position)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from ledger import events as ev
from ledger.course import Course
from ledger.events import Recorded

T = datetime(2025, 8, 1, 10, tzinfo=UTC)


def _record(position: int, event: ev.Event) -> Recorded:
    return Recorded(uuid4(), position, T + timedelta(days=position), "tester", event)  # type: ignore[arg-type]


def test_a_later_recorded_grade_with_an_earlier_at_does_not_win() -> None:
    """A 2.3 given on 1 August beats a 1.0 dated 31 July that was recorded afterwards."""
    august = ev.ExamGraded(course="c", at=T, student="s", grade=2.3)
    july = ev.ExamGraded(course="c", at=T - timedelta(days=1), student="s", grade=1.0)
    course = Course.fold("c", [_record(1, august), _record(2, july)])
    assert course.grades["s"].event.grade == 2.3  # type: ignore[union-attr]


def test_at_ties_go_to_the_later_position() -> None:
    first = ev.PresentationRecorded(course="c", at=T, assignment="A01", student="s", outcome="absent")
    second = ev.PresentationRecorded(course="c", at=T, assignment="A01", student="s", outcome="explained")
    course = Course.fold("c", [_record(1, first), _record(2, second)])
    assert course.presentations[("A01", "s")].event.outcome == "explained"  # type: ignore[union-attr]


def _opened(*slots: str) -> Course:
    groups = tuple(ev.Group(f"g{i}", slot, 30) for i, slot in enumerate(slots, start=1))
    opened = ev.CourseOpened(
        course="c", at=T, title="t", timezone="Europe/Berlin", capacity=60,
        application_deadline=T, registration_deadline=T, groups=groups,
    )  # fmt: skip
    return Course.fold("c", [_record(1, opened)])


def test_a_change_before_the_weeks_earlier_session_counts_that_week() -> None:
    from ledger.groups import change_takes_effect

    course = _opened("Fri 13:00", "Thu 11:00")  # the earlier session is Thursday's, whatever the order
    wednesday = datetime(2025, 5, 7, 16, tzinfo=UTC)  # 18:00 in Berlin
    thursday_session = datetime(2025, 5, 8, 9, tzinfo=UTC)  # 11:00 in Berlin (CEST)
    assert change_takes_effect(course, wednesday) == thursday_session
    assert change_takes_effect(course, thursday_session - timedelta(microseconds=1)) == thursday_session
    # At the session itself or later in the week: from the next week's session.
    assert change_takes_effect(course, thursday_session) == thursday_session + timedelta(days=7)


def test_the_next_weeks_session_keeps_its_wall_time_across_a_dst_change() -> None:
    from ledger.groups import change_takes_effect

    course = _opened("Mon 09:00")
    monday_after_the_session = datetime(2025, 10, 20, 12, tzinfo=UTC)  # Mon 20 Oct, after 09:00 CEST
    assert change_takes_effect(course, monday_after_the_session) == datetime(2025, 10, 27, 8, tzinfo=UTC)  # 09:00 CET


def test_slots_are_read_as_weekday_and_time() -> None:
    from ledger.groups import slot_offset

    assert slot_offset("Thu 11:00") == timedelta(days=3, hours=11)
    assert slot_offset("friday 13:30") == timedelta(days=4, hours=13, minutes=30)
    for bad in ("Thursday", "Thu", "Xyz 11:00", "Thu 25:00", "Thu 11"):
        assert slot_offset(bad) is None, bad


# -- a retraction forgets its record, and only it ------------------------------------


def _retraction(position: int, target: Recorded) -> Recorded:
    return _record(position, ev.EventRetracted(course="c", at=T, event=target.id, reason="mistake"))


def test_retracting_the_latest_gives_way_to_the_one_before() -> None:
    absent = _record(1, ev.PresentationRecorded(course="c", at=T, assignment="A01", student="s", outcome="absent"))
    explained = _record(2, ev.PresentationRecorded(course="c", at=T, assignment="A01", student="s", outcome="explained"))
    course = Course.fold("c", [absent, explained])
    assert course.presentations[("A01", "s")] is explained
    course.apply(_retraction(3, explained))
    assert course.presentations[("A01", "s")] is absent
    course.apply(_retraction(4, absent))
    assert ("A01", "s") not in course.presentations and len(course.presentations) == 0


def test_retracting_a_hand_in_gives_each_member_the_team_of_their_remaining_hand_in() -> None:
    pair = _record(1, ev.SubmissionHandedIn(course="c", at=T, assignment="A01", team=("a", "b")))
    alone = _record(2, ev.SubmissionHandedIn(course="c", at=T, assignment="A01", team=("c",)))
    again = _record(3, ev.SubmissionHandedIn(course="c", at=T, assignment="A01", team=("a", "b")))
    course = Course.fold("c", [pair, alone, again])
    course.apply(_retraction(4, pair))
    assert course.team_of[("A01", "a")] == frozenset({"a", "b"}) and course.hand_ins["A01"] == [alone, again]
    course.apply(_retraction(5, again))
    assert ("A01", "a") not in course.team_of and course.team_of[("A01", "c")] == frozenset({"c"})


def test_a_retraction_of_a_retraction_or_of_the_retracted_changes_nothing() -> None:
    excuse = _record(1, ev.ExcuseGranted(course="c", at=T, student="s", assignments=("A01",), certificate="AU"))
    first = _retraction(2, excuse)
    course = Course.fold("c", [excuse, first, _retraction(3, excuse), _retraction(4, first)])
    assert course.excuses == {} and course.retractions[excuse.id] is first

"""The rules of SPEC §4 and what a retraction may not undo (ADR 11), asked directly: `rules.check` on a folded course.

Each case is refused naming its rule, and the same kind of event in a course
where the rule holds is not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ledger import events as ev
from ledger import rules
from ledger.errors import Refused
from ledger.events import Recorded
from tests.unit.history import DAY, HOUR, NAME, REGISTRATION_DEADLINE, WEEK_1, History

ADA, GRACE, ALAN = "231001", "231002", "231003"
DEADLINE = datetime(2025, 4, 14, 8, tzinfo=UTC)
CLOSED = datetime(2025, 7, 15, 8, tzinfo=UTC)


def refused(history: History, event: ev.Event) -> str:
    """The rule that refuses `event` ("" when none does)."""
    try:
        rules.check(history.course(), event)
    except Refused as refusal:
        return refusal.rule
    return ""


def retract(target: Recorded | None) -> ev.EventRetracted:
    """A retraction of `target` (None: of an event the course does not hold)."""
    return ev.EventRetracted(course=NAME, at=CLOSED + DAY, event=target.id if target else uuid4(), reason="mistake")


@pytest.fixture
def history() -> History:
    h = History(capacity=2)
    h.admit(ADA, GRACE)
    h.publish("A01", DEADLINE)
    return h


def test_an_event_of_a_course_never_opened_is_refused() -> None:
    empty = History()
    empty.records = []
    assert refused(empty, ev.ApplicationAccepted(course=NAME, at=DEADLINE, student=ADA)) == "unknown-course"


def test_no_seat_beyond_capacity(history: History) -> None:
    history.add(ev.ApplicationSubmitted(course=NAME, at=DEADLINE - 30 * DAY, student=ALAN, name="A", email="a@x",
                                        programme="master", prerequisite="ML"))  # fmt: skip
    accept = ev.ApplicationAccepted(course=NAME, at=DEADLINE, student=ALAN)
    assert refused(history, accept) == "capacity"
    history.add(ev.ApplicationWithdrawn(course=NAME, at=DEADLINE - DAY, student=GRACE, reason="moved"))
    assert refused(history, accept) == ""  # a withdrawal frees a seat


def test_a_team_that_is_empty_repeats_a_student_or_names_a_stranger_is_refused(history: History) -> None:
    at = DEADLINE - HOUR
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=at, assignment="A01", team=(ADA, GRACE))) == ""
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=at, assignment="A01", team=(ADA, "999999"))) == (
        "unknown-student"
    )
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=at, assignment="A01", team=())) == "team-empty"
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=at, assignment="A01", team=(ADA, ADA))) == (
        "team-repeats"
    )
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=at, assignment="A09", team=(ADA,))) == (
        "unknown-assignment"
    )


def test_a_student_is_in_one_team_per_assignment(history: History) -> None:
    history.hand_in("A01", DEADLINE - DAY, ADA, GRACE)
    again = ev.SubmissionHandedIn(course=NAME, at=DEADLINE - HOUR, assignment="A01", team=(ADA,))
    assert refused(history, again) == "two-teams"
    assert refused(history, ev.SubmissionHandedIn(course=NAME, at=DEADLINE - HOUR, assignment="A01",
                                                  team=(GRACE, ADA))) == ""  # the same team again  # fmt: skip


def test_a_presentation_needs_a_hand_in(history: History) -> None:
    present = ev.PresentationRecorded(course=NAME, at=DEADLINE + DAY, assignment="A01", student=ADA, outcome="explained")
    assert refused(history, present) == "no-hand-in"
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert refused(history, present) == ""


def test_the_exam_needs_closed_coursework_and_admission_and_a_grade_a_registration(history: History) -> None:
    register = ev.ExamRegistered(course=NAME, at=CLOSED + HOUR, student=GRACE, mode="graded")
    assert refused(history, register) == "coursework-open"
    history.hand_in("A01", DEADLINE - HOUR, GRACE)
    history.add(ev.CourseworkClosed(course=NAME, at=CLOSED))
    assert refused(history, register) == ""
    grade = ev.ExamGraded(course=NAME, at=CLOSED + DAY, student=GRACE, grade=1.3)
    assert refused(history, grade) == "not-registered"
    history.add(register)
    assert refused(history, grade) == ""
    assert refused(history, ev.ExamGraded(course=NAME, at=CLOSED + DAY, student=GRACE, grade=1.5)) == "grade-scale"


def test_an_excluded_student_may_not_register_for_the_exam() -> None:
    history = History(max_fails=0)
    history.admit(ADA)
    history.publish("A01", DEADLINE)
    history.add(ev.CourseworkClosed(course=NAME, at=CLOSED))
    assert refused(history, ev.ExamRegistered(course=NAME, at=CLOSED + HOUR, student=ADA, mode="graded")) == "excluded"


def test_a_group_change_into_a_full_group_is_refused() -> None:
    history = History(seats=2)
    history.admit(ADA, GRACE, ALAN)
    history.allocate({ADA: "g1", GRACE: "g1", ALAN: "g2"}, at=REGISTRATION_DEADLINE + HOUR)
    change = ev.GroupChanged(course=NAME, at=WEEK_1 + DAY, student=ALAN, group="g1", reason="job")
    assert refused(history, change) == "group-full"
    history.add(ev.ApplicationWithdrawn(course=NAME, at=WEEK_1, student=ADA, reason="moved"))
    assert refused(history, change) == ""


# -- retractions ---------------------------------------------------------------------


def test_an_acceptance_that_a_hand_in_rests_on_cannot_be_retracted(history: History) -> None:
    accepted = history.course().applications[ADA].accepted
    assert refused(history, retract(accepted)) == ""
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert refused(history, retract(accepted)) == "not-a-participant"


def test_a_hand_in_that_a_presentation_rests_on_cannot_be_retracted(history: History) -> None:
    hand_in = history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert refused(history, retract(hand_in)) == ""
    history.present("A01", ADA, "explained", DEADLINE + DAY)
    assert refused(history, retract(hand_in)) == "no-hand-in"


def test_a_publication_that_a_hand_in_rests_on_cannot_be_retracted(history: History) -> None:
    published = history.course().assignments["A01"]
    assert refused(history, retract(published)) == ""
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert refused(history, retract(published)) == "unknown-assignment"


def test_a_retraction_that_would_exclude_an_exam_candidate_is_refused() -> None:
    history = History(max_fails=0)
    history.admit(ADA)
    history.publish("A01", DEADLINE)
    hand_in = history.hand_in("A01", DEADLINE - HOUR, ADA)
    history.add(ev.CourseworkClosed(course=NAME, at=CLOSED))
    assert refused(history, retract(hand_in)) == ""  # not yet registered: nothing rests on the pass
    history.add(ev.ExamRegistered(course=NAME, at=CLOSED + HOUR, student=ADA, mode="graded"))
    assert refused(history, retract(hand_in)) == "excluded"


def test_the_opening_a_retraction_and_an_unknown_event_cannot_be_retracted(history: History) -> None:
    opening = history.records[0]
    assert refused(history, retract(opening)) == "retract-opening"
    hand_in = history.hand_in("A01", DEADLINE - HOUR, ADA)
    retraction = history.add(retract(hand_in))
    assert refused(history, retract(retraction)) == "retract-retraction"
    assert refused(history, retract(hand_in)) == "retracted-twice"
    assert refused(history, retract(None)) == "retract-unknown"

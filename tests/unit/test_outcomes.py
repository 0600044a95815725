"""Each participant's outcome per assignment and admission status (SPEC §5), as pure functions of a folded course."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger import coursework
from ledger import events as ev
from tests.unit.history import ACCEPTED, DAY, HOUR, NAME, History

DEADLINE = datetime(2025, 4, 14, 8, tzinfo=UTC)  # Monday 10:00 in Berlin
AFTER = DEADLINE + DAY
ADA, GRACE, ALAN = "231001", "231002", "231003"


def _outcome(history: History, student: str = ADA, clock: datetime = AFTER) -> coursework.Outcome:
    return coursework.outcome(history.course(), student, "A01", clock)


@pytest.fixture
def history() -> History:
    h = History()
    h.admit(ADA, GRACE, ALAN)
    h.publish("A01", DEADLINE)
    return h


def test_a_hand_in_at_the_deadline_to_the_microsecond_passes_for_every_team_member(history: History) -> None:
    history.hand_in("A01", DEADLINE, ADA, GRACE)
    assert (_outcome(history).kind, _outcome(history, GRACE).kind) == ("passed", "passed")
    assert _outcome(history, ALAN).reason == "missed_deadline"


def test_a_hand_in_a_microsecond_late_is_late_once_the_deadline_has_passed(history: History) -> None:
    history.hand_in("A01", DEADLINE + DEADLINE.resolution, ADA)
    assert (_outcome(history).kind, _outcome(history).reason) == ("failed", "late")
    # Before the deadline has passed nothing is decided: the clock is what judges.
    assert _outcome(history, clock=DEADLINE).kind == "open"


def test_nothing_handed_in_is_open_until_the_deadline_and_missed_after(history: History) -> None:
    assert _outcome(history, clock=DEADLINE).kind == "open"
    assert (_outcome(history).kind, _outcome(history).reason) == ("failed", "missed_deadline")


@pytest.mark.parametrize("outcome", ["failed_to_explain", "absent"])
def test_a_negative_presentation_fails_only_the_student_it_names(history: History, outcome: ev.Outcome) -> None:
    history.hand_in("A01", DEADLINE - HOUR, ADA, GRACE)
    history.present("A01", ADA, outcome, AFTER)
    assert (_outcome(history).kind, _outcome(history).reason) == ("failed", outcome)
    assert _outcome(history, GRACE).kind == "passed"


def test_the_latest_presentation_counts(history: History) -> None:
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    history.present("A01", ADA, "absent", AFTER)
    history.present("A01", ADA, "explained", AFTER + HOUR)
    assert _outcome(history, clock=AFTER + DAY).kind == "passed"


def test_an_assessors_verdict_is_the_first_reason_even_after_a_failed_presentation(history: History) -> None:
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    history.present("A01", ADA, "absent", AFTER)
    history.assess("A01", ADA, "uncited_copy", AFTER)
    assert _outcome(history).reason == "uncited_copy"


def test_an_excuse_covers_a_fail_but_never_hides_a_pass(history: History) -> None:
    history.add(ev.ExcuseGranted(course=NAME, at=AFTER, student=ADA, assignments=("A01",), certificate="AU-1"))
    assert _outcome(history).kind == "excused"
    history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert _outcome(history).kind == "passed"


def test_a_deadline_before_the_acceptance_exempts(history: History) -> None:
    history.publish("A00", ACCEPTED - HOUR)
    assert coursework.outcome(history.course(), ADA, "A00", AFTER).kind == "exempt"


def test_an_extension_is_the_students_own_deadline_unless_the_course_moved_past_it(history: History) -> None:
    extended = history.add(ev.ExtensionGranted(course=NAME, at=DEADLINE - DAY, student=ADA, assignment="A01",
                                               deadline=DEADLINE + 2 * DAY, reason="ill"))  # fmt: skip
    history.hand_in("A01", DEADLINE + DAY, ADA)
    course = history.course()
    assert coursework.own_deadline(course, ADA, "A01") is extended
    assert coursework.own_deadline(course, GRACE, "A01") is course.deadlines["A01"]
    passed = coursework.outcome(course, ADA, "A01", DEADLINE + 3 * DAY)
    assert passed.kind == "passed" and extended in passed.evidence
    moved = history.add(ev.DeadlineChanged(course=NAME, at=DEADLINE, assignment="A01", deadline=DEADLINE + 3 * DAY,
                                           reason="server down"))  # fmt: skip
    assert coursework.own_deadline(history.course(), ADA, "A01") is moved


def test_reasons_name_each_fail_in_assignment_order(history: History) -> None:
    history.publish("A02", DEADLINE + DAY)
    history.hand_in("A02", DEADLINE + 2 * DAY, ADA)
    results = coursework.outcomes(history.course(), ADA, DEADLINE + 3 * DAY)
    assert [o.assignment for o in coursework.fails(results)] == ["A01", "A02"]
    assert coursework.reasons(results) == "A01:missed_deadline;A02:late"


@pytest.mark.parametrize(
    ("fails", "closed", "withdrawn", "status"),
    [
        (0, False, False, "on_track"),
        (1, False, False, "at_risk"),  # max_fails 1
        (2, False, False, "excluded"),
        (1, True, False, "admitted"),
        (2, True, False, "excluded"),  # excluded outranks admitted
        (2, True, True, "withdrawn"),  # withdrawn outranks everything
    ],
)
def test_admission_status_in_the_specs_order(fails: int, closed: bool, withdrawn: bool, status: str) -> None:
    history = History(max_fails=1)
    history.admit(ADA)
    for n in range(fails):
        history.publish(f"A0{n}", DEADLINE + n * HOUR)
    history.publish("A09", AFTER + 2 * DAY)  # still open: counts for nothing
    if closed:
        history.add(ev.CourseworkClosed(course=NAME, at=AFTER + DAY))
    if withdrawn:
        history.add(ev.ApplicationWithdrawn(course=NAME, at=AFTER + DAY, student=ADA, reason="moved"))
    course = history.course()
    results = coursework.outcomes(course, ADA, AFTER + DAY)
    assert len(coursework.fails(results)) == fails
    assert coursework.admission(course, ADA, results).status == status
    assert coursework.admission_status(course, ADA, results) == status


@pytest.mark.parametrize(("grade", "result"), [(None, ""), (1.0, "passed"), (4.0, "passed"), (5.0, "failed")])
def test_an_exam_grade_of_4_0_or_better_passes(grade: float | None, result: str) -> None:
    assert coursework.exam_result(grade) == result


def test_fails_if_counts_an_extra_record_and_leaves_out_a_retracted_one(history: History) -> None:
    course = history.course()
    assert [o.reason for o in coursework.fails_if(course, ADA, AFTER)] == ["missed_deadline"]
    hand_in = history.hand_in("A01", DEADLINE - HOUR, ADA)
    assert coursework.fails_if(course, ADA, AFTER, extra=hand_in) == []
    assert coursework.fails_if(history.course(), ADA, AFTER) == []
    assert len(coursework.fails_if(history.course(), ADA, AFTER, without=hand_in.id)) == 1
    # An extra record dated after the clock has not happened by then.
    late = history.hand_in("A01", AFTER + HOUR, GRACE)
    assert len(coursework.fails_if(course, GRACE, AFTER, extra=late)) == 1

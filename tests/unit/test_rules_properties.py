"""The admission rules hold for any order of decisions (SPEC §1.1, §4), checked on the pure fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger import events as ev
from ledger import rules
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=30)
STUDENTS = [f"23{i:04d}" for i in range(8)]


def _course(capacity: int, late: set[str]) -> Course:
    opened = ev.CourseOpened(
        course="c", at=T0, title="t", timezone="Europe/Berlin", capacity=capacity,
        application_deadline=DEADLINE, registration_deadline=DEADLINE, groups=(ev.Group("g1", "Thu 11:00", 9),),
    )  # fmt: skip
    course = Course("c")
    course.apply(Recorded(uuid4(), 1, T0, "t", opened))
    for i, s in enumerate(STUDENTS):
        at = DEADLINE + timedelta(hours=i + 1) if s in late else T0 + timedelta(hours=i + 1)
        application = ev.ApplicationSubmitted(
            course="c", at=at, student=s, name="n", email="e", programme="bachelor", prerequisite="p"
        )
        course.apply(Recorded(uuid4(), i + 2, at, "t", application))
    return course


decisions = st.lists(
    st.tuples(st.sampled_from(["accept", "reject", "withdraw"]), st.sampled_from(STUDENTS)), max_size=30
)


@given(st.integers(1, 6), st.sets(st.sampled_from(STUDENTS), max_size=4), decisions)
def test_seats_and_late_admissions(capacity: int, late: set[str], steps: list[tuple[str, str]]) -> None:
    course = _course(capacity, late)
    kinds = {"accept": ev.ApplicationAccepted, "reject": ev.ApplicationRejected, "withdraw": ev.ApplicationWithdrawn}
    for n, (kind, student) in enumerate(steps):
        at = DEADLINE + timedelta(days=1, minutes=n)
        fields = {} if kind == "accept" else {"reason": "r"}
        event = kinds[kind](course="c", at=at, student=student, **fields)  # type: ignore[arg-type]
        waiting = [s for s, a in course.applications.items() if not a.decided and s not in late]
        application = course.applications[student]
        try:
            rules.check(course, event)
        except Refused as refused:
            # Refused only for a reason that holds in the course as it stands.
            holds = {
                "capacity": kind == "accept" and course.seats_taken() >= capacity,
                "late-application": kind == "accept" and student in late and bool(waiting),
                "decided-twice": application.decided
                if kind != "withdraw"
                else bool(application.withdrawn or application.rejected),
            }
            assert holds.get(refused.rule, False), refused
            continue
        if kind == "accept":
            # Never beyond capacity; a late application only once every on-time one is decided.
            assert course.seats_taken() < capacity
            assert student not in late or not waiting
        course.apply(Recorded(uuid4(), len(course.records) + 1, at, "t", event))
        assert course.seats_taken() <= capacity
        # Nobody is decided twice: accepted and rejected never both.
        for application in course.applications.values():
            assert not (application.accepted and application.rejected)

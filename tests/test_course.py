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

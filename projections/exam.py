"""The exam export (SPEC §5): registered candidates, their mode, grade, result and certificate."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import coursework
from ledger import events as ev
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class ExamRow:
    """One exam candidate (registered in view)."""

    student: str
    name: str
    programme: str
    credits: int
    mode: str  # graded / certificate
    grade: float | None  # None until graded
    result: str  # passed / failed; empty until graded
    certificate: str  # yes / no for a graded certificate candidate; else empty


def exam(reading: Reading) -> list[ExamRow]:
    """Exam candidates in order of application."""
    course = reading.whole()
    candidates = [s for s in course.applications if s in course.exam]
    names = reading.names(candidates)
    rows = []
    for s in candidates:
        registered = course.exam[s].event
        assert isinstance(registered, ev.ExamRegistered)
        graded = course.grades.get(s)
        grade = graded.event.grade if graded is not None and isinstance(graded.event, ev.ExamGraded) else None
        result = coursework.exam_result(grade)
        certificate = "" if registered.mode != "certificate" or not result else ("yes" if result == "passed" else "no")
        programme = course.applications[s].event.programme
        rows.append(
            ExamRow(s, names.get(s, ""), programme, ev.CREDITS[programme], registered.mode, grade, result, certificate)
        )
    return rows

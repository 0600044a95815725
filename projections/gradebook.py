"""The gradebook (SPEC §5): one row per participant, one column per assignment (its outcome)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class GradebookRow:
    """A participant's outcome of every published assignment: `passed`, `failed:REASON`, `excused`, `exempt`, `open`."""

    student: str
    name: str
    assignment: dict[str, str]  # by assignment id, in the order of publication
    extensions: str  # the participant's own deadlines: `A02:2025-04-23T10:00:00+02:00;…`, in assignment order


@dataclass(frozen=True, slots=True)
class Gradebook:
    """The published assignments (the columns) and a row per participant."""

    assignments: tuple[str, ...]
    rows: tuple[GradebookRow, ...]


def label(outcome: coursework.Outcome) -> str:
    """An outcome as one cell: `passed`, `failed:late`, `exempt`, `excused`, `open`."""
    return f"failed:{outcome.reason}" if outcome.kind == "failed" else outcome.kind


def gradebook(reading: Reading) -> Gradebook:
    """Every current participant's outcomes, in order of application."""
    course = reading.whole()
    assignments = tuple(coursework.assignment_order(course))
    if course.opened is None:
        return Gradebook(assignments, ())
    students = course.participants()
    names = reading.names(students)
    rows = tuple(
        GradebookRow(
            s, names.get(s, ""),
            {o.assignment: label(o) for o in coursework.outcomes(course, s, reading.as_of)},
            extensions(reading, course, s),
        )
        for s in students
    )  # fmt: skip
    return Gradebook(assignments, rows)


def extensions(reading: Reading, course: Course, student: str) -> str:
    """The extensions that set `student`'s deadlines: `A02:2025-04-23T10:00:00+02:00;…`."""
    own = (coursework.own_deadline(course, student, a).event for a in coursework.assignment_order(course))
    return ";".join(
        f"{e.assignment}:{reading.local(e.deadline).isoformat()}" for e in own if isinstance(e, ev.ExtensionGranted)
    )

"""The gradebook (SPEC §5): one row per participant, one column per assignment (its outcome)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger import coursework
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class GradebookRow:
    """A participant's outcome of every published assignment: `passed`, `failed:REASON`, `excused`, `exempt`, `open`."""

    student: str
    name: str
    assignment: dict[str, str]  # by assignment id, in the order of publication


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
        GradebookRow(s, names.get(s, ""), {o.assignment: label(o) for o in coursework.outcomes(course, s, reading.as_of)})
        for s in students
    )
    return Gradebook(assignments, rows)

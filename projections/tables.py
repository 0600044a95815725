"""The exports of SPEC §5 as tables: admission, roster, gradebook, exam.

Each is a plain function of a course already cut to a view (`projections.scope`),
the clock that judges deadlines, and the names opened from application material
(`[erased]` where the material is gone). Rows follow the order of application.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from ledger.groups import groups_at
from projections.formats import Cell, Table

ADMISSION = (
    "student", "name", "programme", "credits", "group",
    "passed", "excused", "failed", "open", "status", "reasons",
)  # fmt: skip
ROSTER = ("kind", "group", "slot", "assignment", "members")
EXAM = ("student", "name", "programme", "credits", "mode", "grade", "result", "certificate")
VIEWS = ("admission", "roster", "gradebook", "exam")


def admitted(course: Course) -> list[str]:
    """Everyone accepted, withdrawn or not, in order of application."""
    return [s for s, a in course.applications.items() if a.accepted is not None]


def label(outcome: coursework.Outcome) -> str:
    """An outcome as one cell: `passed`, `failed:late`, `exempt`, `excused`, `open`."""
    return f"failed:{outcome.reason}" if outcome.kind == "failed" else outcome.kind


def _programme(course: Course, student: str) -> tuple[str, int]:
    programme = course.applications[student].event.programme
    return programme, ev.CREDITS[programme]


def admission(course: Course, clock: datetime, names: Mapping[str, str]) -> Table:
    """Exam admission of every admitted student (SPEC §5), withdrawn ones included."""
    rows: list[tuple[Cell, ...]] = []
    if course.opened is not None:
        groups = groups_at(course, clock)
        for s in admitted(course):
            results = coursework.outcomes(course, s, clock)
            count = {k: sum(1 for o in results if o.kind == k) for k in ("passed", "excused", "failed", "open")}
            rows.append(
                (
                    s, names.get(s, ""), *_programme(course, s), groups.get(s, ""),
                    count["passed"], count["excused"], count["failed"], count["open"],
                    coursework.admission_status(course, s, results), coursework.reasons(results),
                )
            )  # fmt: skip
    return Table(ADMISSION, rows, title="admission")


def gradebook(course: Course, clock: datetime, names: Mapping[str, str]) -> Table:
    """One row per participant, one column per assignment (its outcome)."""
    assignments = coursework.assignment_order(course)
    rows: list[tuple[Cell, ...]] = []
    if course.opened is not None:
        for s in course.participants():
            results = coursework.outcomes(course, s, clock)
            rows.append((s, names.get(s, ""), *(label(o) for o in results)))
    # An assignment may be called `name`; its column must not merge with the name's.
    columns = [a if a not in ("student", "name") else f"assignment {a}" for a in assignments]
    return Table(("student", "name", *columns), rows, title="gradebook")


def roster(course: Course, clock: datetime) -> Table:
    """Exercise groups with their members, then the teams of each assignment.

    A `group` row per exercise group (members: current participants in it, `;`
    between them); an `unplaced` row for participants in no group, if any; a
    `team` row per distinct team that handed in, per assignment, in the order
    of their first hand-in. Group changes count from the week they take
    effect (SPEC §1.3).
    """
    rows: list[tuple[Cell, ...]] = []
    if course.opened is None:
        return Table(ROSTER, rows, title="roster")
    participants = course.participants()
    groups = groups_at(course, clock)
    for group in course.opened.groups:
        members = [s for s in participants if groups.get(s) == group.id]
        rows.append(("group", group.id, group.slot, "", ";".join(members)))
    known = {g.id for g in course.opened.groups}
    unplaced = [s for s in participants if groups.get(s) not in known]
    if unplaced:
        rows.append(("unplaced", "", "", "", ";".join(unplaced)))
    for assignment in coursework.assignment_order(course):
        seen: set[frozenset[str]] = set()
        for record in course.hand_ins.get(assignment, ()):
            team: tuple[str, ...] = record.event.team  # type: ignore[union-attr]
            if frozenset(team) not in seen:
                seen.add(frozenset(team))
                rows.append(("team", "", "", assignment, ";".join(team)))
    return Table(ROSTER, rows, title="roster")


def exam(course: Course, names: Mapping[str, str]) -> Table:
    """Exam candidates (registered in view): mode, grade, result, certificate.

    `certificate` is `yes` for a certificate candidate who passed, `no` for one
    who failed, and empty otherwise (graded mode, or not graded yet).
    """
    rows: list[tuple[Cell, ...]] = []
    for s in course.applications:
        registration = course.exam.get(s)
        if registration is None:
            continue
        mode: str = registration.event.mode  # type: ignore[union-attr]
        graded = course.grades.get(s)
        grade: float | None = graded.event.grade if graded else None  # type: ignore[union-attr]
        result = coursework.exam_result(grade)
        certificate = "" if mode != "certificate" or not result else ("yes" if result == "passed" else "no")
        rows.append((s, names.get(s, ""), *_programme(course, s), mode, grade, result, certificate))
    return Table(EXAM, rows, title="exam")

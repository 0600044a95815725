"""Status for people: one student's assignments, or the course at a glance."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from ledger.groups import groups_at
from projections.audit import instant, participant
from projections.formats import Cell, Table
from projections.tables import label

STUDENT = ("assignment", "deadline", "outcome", "why")
COURSE = ("assignment", "deadline", "passed", "excused", "exempt", "failed", "open")
STATUSES = ("on_track", "at_risk", "excluded", "admitted", "withdrawn")


def student(course: Course, who: str, at: datetime) -> tuple[list[str], Table]:
    """A summary of `who` (lines) and every assignment's outcome (table)."""
    application = participant(course, who)
    assert course.opened is not None  # participant() holds it open
    tz = course.opened.timezone
    results = coursework.outcomes(course, who, at)
    status = coursework.admission_status(course, who, results)
    programme = application.event.programme
    kinds = Counter(o.kind for o in results)
    lines = [
        f"student    {who}",
        f"programme  {programme} ({ev.CREDITS[programme]} credits)",
        f"group      {groups_at(course, at).get(who, '-')}",
        f"status     {status} ({kinds['failed']} failed; max_fails {course.opened.max_fails})",
        "outcomes   " + ", ".join(f"{kinds[k]} {k}" for k in ("passed", "excused", "exempt", "failed", "open")),
        f"as of      {instant(at, tz)}",
        "",
    ]
    rows: list[tuple[Cell, ...]] = [
        (o.assignment, instant(course.deadline(o.assignment), tz), label(o), o.rule) for o in results
    ]
    return lines, Table(STUDENT, rows, title=f"status {who}")


def course_glance(course: Course, at: datetime) -> tuple[list[str], Table]:
    """The course at a glance (lines) and each assignment's outcome counts (table)."""
    if course.opened is None:
        return [f"{course.name}: not open at {at.isoformat()}"], Table(COURSE, [], title="status")
    opened = course.opened
    tz = opened.timezone
    applications = course.applications.values()
    undecided = sum(1 for a in applications if not a.decided)
    participants = course.participants()
    statuses: Counter[str] = Counter()
    per_assignment: dict[str, Counter[str]] = {a: Counter() for a in coursework.assignment_order(course)}
    for s, application in course.applications.items():
        if application.accepted is None:
            continue
        results = coursework.outcomes(course, s, at)
        statuses[coursework.admission_status(course, s, results)] += 1
        if application.withdrawn is None:
            for o in results:
                per_assignment[o.assignment][o.kind] += 1
    closed = f"closed {instant(course.closed.event.at, tz)}" if course.closed else "open"
    placed = groups_at(course, at)
    groups = ", ".join(
        f"{g.id} {len([s for s in participants if placed.get(s) == g.id])}/{g.capacity}" for g in opened.groups
    )
    lines = [
        f"course        {course.name} ({opened.title})",
        f"participants  {len(participants)} of {opened.capacity} seats; "
        f"{len(course.applications)} applications, {undecided} undecided",
        f"groups        {groups}",
        f"coursework    {closed}; {len(per_assignment)} assignments",
        "status        " + ", ".join(f"{statuses[k]} {k}" for k in STATUSES),
        f"as of         {instant(at, tz)}",
        "",
    ]
    rows: list[tuple[Cell, ...]] = [
        (a, instant(course.deadline(a), tz), *(c[k] for k in COURSE[2:])) for a, c in per_assignment.items()
    ]
    return lines, Table(COURSE, rows, title="status")

"""A tutor's session sheet (issue 9.6): who sits in one group's session, and how they handed in.

`export sheet --group G --assignment A` is the sheet of the exercise session
in which A is presented: the first session of G after A's deadline (the
course's, as the clock sees it). It lists the members of G that week (those
visiting another group marked away), the visitors from other groups, each
with whom they handed in A and whether on time against their own deadline,
and an empty column to tick the presentation (ADR 0017).

Who sits there is asked of `ledger.groups` as the course stood at the
session (or at the clock, if earlier): a student who withdrew after the
session is still on its sheet, one placed after it is not. How they handed
in is judged at the clock, like every view.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from ledger.errors import LedgerError
from ledger.groups import MOST_WEEKS, Weeks, attendance
from projections.reading import Reading

Attends = Literal["member", "visitor", "away"]
HandIn = Literal["on_time", "late", "missing", "open", "excused", "exempt"]


class NoSheet(LedgerError):
    """A sheet of a group, an assignment or a session that the course does not have."""


@dataclass(frozen=True, slots=True)
class SheetRow:
    """One student at the session: a member (present or away) or a visitor, and their hand-in of the assignment."""

    student: str
    name: str
    attends: Attends
    other_group: str  # a visitor's own group; the group an away member visits; else empty
    handed_in_with: tuple[str, ...]  # the rest of their team (empty: alone, or nothing handed in)
    handed_in: datetime | None  # their team's latest hand-in, in the course's time zone
    deadline: datetime  # their own deadline, in the course's time zone
    hand_in: HandIn  # on_time / late / missing / open (deadline not passed) / excused / exempt
    presented: str  # empty: ticked by hand at the session


@dataclass(frozen=True, slots=True)
class Sheet:
    """The session sheet of one group for one assignment: what its header says, and its rows."""

    course: str
    title: str
    timezone: str
    group: str
    slot: str
    week: int
    session: datetime  # the group's session that week, in the course's time zone
    assignment: str
    assignment_title: str
    deadline: datetime  # the course's deadline of the assignment, in the course's time zone
    as_of: datetime  # in the course's time zone
    known_at: datetime | None
    rows: tuple[SheetRow, ...]  # present members, then visitors, then members away; each by name
    names: Mapping[str, str]  # of everyone the sheet names, teammates from other groups too


def session_week(course: Course, group: ev.Group, assignment: str) -> int:
    """The week of `group`'s first session after the course's deadline of `assignment` (at least week 1)."""
    assert course.opened is not None
    deadline = course.deadline(assignment)
    week = Weeks(course.opened).first_session_after(group.slot, deadline)
    if week > MOST_WEEKS:
        raise NoSheet(
            f"{assignment}'s deadline {deadline.isoformat()} is after group {group.id}'s last session "
            f"(week {MOST_WEEKS}): no session presents it"
        )
    return week


def deadline_of(course: Course, student: str, assignment: str) -> datetime:
    """The deadline of `assignment` for `student` (SPEC §5): their extension, else the course's."""
    return coursework.own_deadline(course, student, assignment).event.deadline


def sheet(reading: Reading, group: str, assignment: str) -> Sheet:
    """The sheet of `group`'s session in which `assignment` is presented, as `reading` sees the course."""
    course = reading.whole()
    opened = course.opened
    if opened is None:
        raise NoSheet(f"the course {reading.name} is not open at this time")
    found = next((g for g in opened.groups if g.id == group), None)
    if found is None:
        raise NoSheet(f"no group {group!r} in {reading.name} (groups: {', '.join(g.id for g in opened.groups)})")
    if assignment not in course.assignments:
        raise NoSheet(f"no assignment {assignment!r} published in {reading.name} at this time")
    week = session_week(course, found, assignment)
    session = Weeks(opened).session_of(found.slot, week)
    sitting = attendance(course.view(as_of=min(reading.as_of, session)), group, week)
    away = {v.student: v.group for v in sitting.away}
    visitors = {v.student: v.home for v in sitting.visitors}
    present = [s for s in sitting.members if s not in away]
    teams = {s: _team(course, s, assignment) for s in [*sitting.members, *visitors]}
    names = reading.names({s for s in teams} | {m for team in teams.values() for m in team})

    def rows(students: Iterable[str], attends: Attends, other: Mapping[str, str]) -> list[SheetRow]:
        ordered = sorted(students, key=lambda s: (names.get(s, "").casefold(), s))
        return [_row(reading, course, s, names.get(s, ""), attends, other.get(s, ""), assignment, teams[s]) for s in ordered]

    published: ev.AssignmentPublished = course.assignments[assignment].event
    known_at = reading.clock.known_at
    return Sheet(
        course=reading.name, title=opened.title, timezone=reading.timezone, group=group, slot=found.slot, week=week,
        session=reading.local(session), assignment=assignment, assignment_title=published.title,
        deadline=reading.local(course.deadline(assignment)), as_of=reading.local(reading.as_of),
        known_at=reading.local(known_at) if known_at else None,
        rows=(*rows(present, "member", {}), *rows(visitors, "visitor", visitors), *rows(away, "away", away)),
        names=names,
    )  # fmt: skip


def _team(course: Course, student: str, assignment: str) -> tuple[str, ...]:
    """The team `student` handed in `assignment` with, as its latest hand-in lists it (empty: none)."""
    hand_ins = [h for h in course.hand_ins.get(assignment, ()) if student in h.event.team]
    return hand_ins[-1].event.team if hand_ins else ()


def _row(
    reading: Reading, course: Course, student: str, name: str, attends: Attends, other: str, assignment: str,
    team: tuple[str, ...],
) -> SheetRow:  # fmt: skip
    deadline = deadline_of(course, student, assignment)
    times = [h.event.at for h in course.hand_ins.get(assignment, ()) if student in h.event.team]
    status: HandIn
    accepted = course.applications[student].accepted
    excuses = course.excuses.get(student, ())
    if any(at <= deadline for at in times):
        status = "on_time"
    elif accepted is not None and course.deadline(assignment) < accepted.event.at:
        status = "exempt"
    elif any(assignment in x.event.assignments for x in excuses):
        status = "excused"
    elif times:
        status = "late"
    else:
        status = "missing" if reading.as_of > deadline else "open"
    return SheetRow(
        student, name, attends, other, tuple(m for m in team if m != student),
        reading.local(max(times)) if times else None, reading.local(deadline), status, "",
    )  # fmt: skip

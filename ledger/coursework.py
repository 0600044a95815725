"""The course's rules for assignments and exam admission (SPEC §1.5–1.7, §5).

Pure functions of a `Course` (already cut to a view) and a clock. Each outcome
carries the records it rests on, so that an auditor can be told why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger import events as ev
from ledger.clock import localize, zone
from ledger.course import Course
from ledger.events import Recorded

NEGATIVE_VERDICTS = ("uncited_copy", "insufficient_effort")
NEGATIVE_OUTCOMES = ("failed_to_explain", "absent")


@dataclass(frozen=True)
class Outcome:
    """One participant's result for one assignment, and the records behind it."""

    assignment: str
    kind: str  # exempt / passed / excused / failed / open
    reason: str = ""  # for `failed`: uncited_copy … missed_deadline
    rule: str = ""
    evidence: tuple[Recorded, ...] = field(default=())


def outcome(course: Course, student: str, assignment: str, clock: datetime) -> Outcome:
    """What `assignment` comes to for `student` at `clock` (SPEC §5, in its order)."""
    deadline_record = course.deadlines[assignment]
    deadline = course.deadline(assignment)
    application = course.applications[student]
    accepted = application.accepted
    assert accepted is not None
    if deadline < accepted.event.at:
        return Outcome(
            assignment,
            "exempt",
            rule="the deadline passed before the student was admitted",
            evidence=(deadline_record, accepted),
        )
    hand_ins = [h for h in course.hand_ins.get(assignment, ()) if student in h.event.team]  # type: ignore[union-attr]
    on_time = [h for h in hand_ins if h.event.at <= deadline]
    presentation = course.presentations.get((assignment, student))
    assessment = course.assessments.get((assignment, student))
    verdict = assessment.event.verdict if assessment else None  # type: ignore[union-attr]
    shown = presentation.event.outcome if presentation else None  # type: ignore[union-attr]
    if on_time and verdict not in NEGATIVE_VERDICTS and shown not in NEGATIVE_OUTCOMES:
        evidence = (on_time[-1], *(r for r in (presentation, assessment) if r))
        return Outcome(assignment, "passed", rule="handed in on time", evidence=evidence)
    for excuse in course.excuses.get(student, ()):
        if assignment in excuse.event.assignments:  # type: ignore[union-attr]
            return Outcome(assignment, "excused", rule="medical certificate", evidence=(excuse,))
    if on_time:
        if verdict in NEGATIVE_VERDICTS:
            assert assessment is not None
            return Outcome(
                assignment, "failed", str(verdict), "assessed as " + str(verdict), (on_time[-1], assessment)
            )
        assert presentation is not None
        return Outcome(
            assignment, "failed", str(shown), "presentation: " + str(shown), (on_time[-1], presentation)
        )
    if clock > deadline:
        if hand_ins:
            return Outcome(
                assignment, "failed", "late", "handed in after the deadline", (deadline_record, *hand_ins)
            )
        return Outcome(
            assignment,
            "failed",
            "missed_deadline",
            "nothing handed in by the deadline",
            (deadline_record,),
        )
    return Outcome(assignment, "open", rule="the deadline has not passed", evidence=(deadline_record,))


def assignment_order(course: Course) -> list[str]:
    """Published assignments in the order they were published."""
    return list(course.assignments)


def outcomes(course: Course, student: str, clock: datetime) -> list[Outcome]:
    """Every published assignment's outcome for `student`, in assignment order."""
    return [outcome(course, student, a, clock) for a in assignment_order(course)]


def fails(results: list[Outcome]) -> list[Outcome]:
    """The failed ones."""
    return [o for o in results if o.kind == "failed"]


@dataclass(frozen=True)
class Admission:
    """A participant's admission status (SPEC §5) and the rule that gives it, in words."""

    status: str  # withdrawn / excluded / admitted / at_risk / on_track
    rule: str


def admission(course: Course, student: str, results: list[Outcome]) -> Admission:
    """The admission status of `student` given their outcomes, and why (SPEC §5, in its order)."""
    assert course.opened is not None
    application = course.applications[student]
    failed = len(fails(results))
    most = course.opened.max_fails
    if application.withdrawn is not None:
        return Admission("withdrawn", "withdrawn from the course")
    if failed > most:
        return Admission("excluded", f"{failed} failed assignments, more than max_fails {most}")
    if course.closed is not None:
        return Admission("admitted", f"coursework is closed, with {failed} failed (max_fails {most})")
    if failed == most:
        return Admission("at_risk", f"{failed} failed assignments, as many as max_fails {most} allows")
    return Admission("on_track", f"{failed} failed assignments, fewer than max_fails {most}")


def admission_status(course: Course, student: str, results: list[Outcome]) -> str:
    """withdrawn / excluded / admitted / at_risk / on_track (SPEC §5): `admission(…).status`."""
    return admission(course, student, results).status


def reasons(results: list[Outcome]) -> str:
    """`A03:late;A05:absent` in assignment order."""
    return ";".join(f"{o.assignment}:{o.reason}" for o in fails(results))


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def slot_offset(slot: str) -> timedelta | None:
    """Where a weekly slot such as "Thu 11:00" falls after Monday 00:00; None if unreadable."""
    day, _, time = slot.strip().partition(" ")
    hours, _, minutes = time.strip().partition(":")
    if day[:3].lower() not in WEEKDAYS or not (hours.isdigit() and minutes.isdigit()):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return timedelta(days=WEEKDAYS.index(day[:3].lower()), hours=int(hours), minutes=int(minutes))


def change_takes_effect(course: Course, requested: datetime) -> datetime:
    """When a group change takes effect: the first week whose earlier session comes after the request.

    SPEC §1.3: a change must be requested before the earlier of a week's
    sessions to count for that week; otherwise it counts from the next.
    """
    assert course.opened is not None
    tz = course.opened.timezone
    earliest = min(o for o in (slot_offset(g.slot) for g in course.opened.groups) if o is not None)
    local = requested.astimezone(zone(tz)).replace(tzinfo=None)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time())
    session = localize(monday + earliest, tz)
    if requested < session:
        return session
    return localize(monday + timedelta(days=7) + earliest, tz)


def groups_at(course: Course, at: datetime) -> dict[str, str]:
    """Each student's exercise group at `at`: the allocation, then the changes in effect by then.

    A change for a student without a group (a late admission) places them at
    once; a move between groups waits for `change_takes_effect`.
    """
    groups: dict[str, str] = {}
    if course.allocation is not None:
        groups.update(course.allocation.event.allocation)  # type: ignore[union-attr]
    changes = sorted(
        (r for records in course.group_changes.values() for r in records),
        key=lambda r: (r.event.at, r.position),
    )
    for record in changes:
        e = record.event
        if e.student not in groups or change_takes_effect(course, e.at) <= at:  # type: ignore[union-attr]
            groups[e.student] = e.group  # type: ignore[union-attr]
    return groups


def exam_result(grade: float | None) -> str:
    """passed / failed for a grade, empty while ungraded."""
    if grade is None:
        return ""
    return "passed" if grade <= ev.PASSING_GRADE else "failed"

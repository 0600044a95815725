"""For auditors: the history of a student or an assignment, and why a status is what it is."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from ledger import clock as clocks
from ledger import coursework
from ledger import events as ev
from ledger.course import Applicant, Course
from ledger.errors import LedgerError
from ledger.events import Recorded
from ledger.groups import groups_at
from projections.formats import Cell, Table
from projections.scope import Clock, concerns

LOG = ("seq", "at", "recorded_at", "recorded_by", "event", "details", "retracted", "id")


class NotAParticipant(LedgerError):
    """A status asked of someone who was never admitted to the course."""


def _decision(course: Course, student: str) -> str:
    application = course.applications.get(student)
    if application is None:
        return f"no application from {student!r} in {course.name}"
    if application.rejected is not None:
        return f"{student} was not admitted: rejected ({application.rejected.event.reason})"  # type: ignore[union-attr]
    if application.withdrawn is not None:
        return f"{student} withdrew the application before a decision"
    return f"{student} has applied; the application is not decided yet"


def participant(course: Course, who: str) -> Applicant:
    """The application of `who`, who must have been admitted (else `NotAParticipant`, saying why)."""
    application = course.applications.get(who)
    if course.opened is None or application is None or application.accepted is None:
        raise NotAParticipant(_decision(course, who))
    return application


def instant(moment: datetime, tz: str) -> str:
    """`moment` as ISO 8601 in the course's time zone."""
    return moment.astimezone(clocks.zone(tz)).isoformat()


def _join(items: Iterable[str]) -> str:
    return ", ".join(items)


def describe(record: Recorded, tz: str, by_id: dict[UUID, Recorded] | None = None) -> str:
    """What one event says, in one line."""
    e = record.event
    match e:
        case ev.CourseOpened():
            groups = _join(f"{g.id} ({g.slot}, {g.capacity})" for g in e.groups)
            return f"{e.title!r}, {e.capacity} seats, groups {groups}, max_fails {e.max_fails}"
        case ev.ApplicationSubmitted():
            return f"{e.student} applied ({e.programme}; prerequisite {e.prerequisite!r})"
        case ev.ApplicationAccepted():
            return f"{e.student} accepted"
        case ev.ApplicationRejected():
            return f"{e.student} rejected: {e.reason}"
        case ev.ApplicationWithdrawn():
            return f"{e.student} withdrew: {e.reason}"
        case ev.GroupPreferenceRegistered():
            return f"{e.student} prefers {' > '.join(e.priorities)}"
        case ev.GroupsAllocated():
            return f"{len(e.allocation)} participants placed (seed {e.seed})"
        case ev.GroupChanged():
            return f"{e.student} to group {e.group}: {e.reason}"
        case ev.AssignmentPublished():
            return f"{e.assignment} {e.title!r}, deadline {instant(e.deadline, tz)}"
        case ev.DeadlineChanged():
            return f"{e.assignment} deadline moved to {instant(e.deadline, tz)}: {e.reason}"
        case ev.SubmissionHandedIn():
            digest = f" ({e.digest})" if e.digest else ""
            return f"{e.assignment} by {_join(e.team)}{digest}"
        case ev.PresentationRecorded():
            return f"{e.assignment} {e.student}: {e.outcome}"
        case ev.SubmissionAssessed():
            note = f" ({e.note})" if e.note else ""
            return f"{e.assignment} {e.student}: {e.verdict}{note}"
        case ev.ExcuseGranted():
            return f"{e.student} excused from {_join(e.assignments)} ({e.reason}, certificate {e.certificate})"
        case ev.EventRetracted():
            target = (by_id or {}).get(e.event)
            what = f"#{target.position} {ev.type_name(target.event)}" if target else str(e.event)
            return f"cancels {what}: {e.reason}"
        case ev.CourseworkClosed():
            return "coursework closed"
        case ev.ExamRegistered():
            return f"{e.student} registered for the exam ({e.mode})"
        case ev.ExamGraded():
            return f"{e.student} graded {e.grade}"
        case ev.ApplicationMaterialErased():
            return f"application material of {len(e.students)} applicants erased"
    return ev.type_name(e)


def about_assignment(record: Recorded, assignment: str) -> bool:
    """Whether `record` is about `assignment`."""
    e = record.event
    if isinstance(e, ev.ExcuseGranted):
        return assignment in e.assignments
    return getattr(e, "assignment", None) == assignment


def log(records: list[Recorded], tz: str, student: str | None = None, assignment: str | None = None) -> Table:
    """The audit trail: what happened when, who recorded it when, and what was retracted.

    A retraction is listed under the event it cancels (`retracted` names it) and,
    itself, wherever that event is listed.
    """
    by_id = {r.id: r for r in records}
    retracted_by = {r.event.event: r for r in records if isinstance(r.event, ev.EventRetracted)}

    def chosen(r: Recorded) -> bool:
        if isinstance(r.event, ev.EventRetracted):
            target = by_id.get(r.event.event)
            return target is not None and chosen(target)
        return (student is None or concerns(r, student)) and (assignment is None or about_assignment(r, assignment))

    rows: list[tuple[Cell, ...]] = []
    for r in records:
        if not chosen(r):
            continue
        retraction = retracted_by.get(r.id)
        cancelled = (
            f"by #{retraction.position}: {retraction.event.reason}"  # type: ignore[union-attr]
            if retraction
            else ""
        )
        rows.append(
            (
                r.position, instant(r.event.at, tz), instant(r.recorded_at, tz), r.recorded_by,
                ev.type_name(r.event), describe(r, tz, by_id), cancelled, str(r.id),
            )
        )  # fmt: skip
    return Table(LOG, rows, title="log")


def cite(record: Recorded, tz: str) -> str:
    """One record as evidence: position, type, what it says, id, and who recorded it when."""
    return (
        f"#{record.position} {ev.type_name(record.event)} at {instant(record.event.at, tz)}: "
        f"{describe(record, tz)} [id {record.id}; recorded {instant(record.recorded_at, tz)} "
        f"by {record.recorded_by}]"
    )


def status_rule(course: Course, student: str, results: list[coursework.Outcome]) -> str:
    """Which rule of SPEC §5 gives the student's admission status, in words."""
    assert course.opened is not None
    application = course.applications[student]
    failed = len(coursework.fails(results))
    most = course.opened.max_fails
    if application.withdrawn is not None:
        return "withdrawn from the course"
    if failed > most:
        return f"{failed} failed assignments, more than max_fails {most}"
    if course.closed is not None:
        return f"coursework is closed, with {failed} failed (max_fails {most})"
    if failed == most:
        return f"{failed} failed assignments, as many as max_fails {most} allows"
    return f"{failed} failed assignments, fewer than max_fails {most}"


def explain(course: Course, student: str, name: str, clock: Clock) -> list[str]:
    """The status of `student` and, per assignment, the outcome and the records behind it.

    Fails, excuses and exemptions cite their evidence; passed and open
    assignments name the rule in one line.
    """
    application = participant(course, student)
    assert course.opened is not None
    tz, at = course.opened.timezone, clock.as_of
    programme = application.event.programme
    header = (
        f"{student} {name}, {programme} ({ev.CREDITS[programme]} credits), "
        f"group {groups_at(course, at).get(student, '-')}; as of {instant(at, tz)}"
    )
    if clock.known_at is not None:
        header += f", known at {instant(clock.known_at, tz)}"
    results = coursework.outcomes(course, student, at)
    status = coursework.admission_status(course, student, results)
    lines = [header, f"status: {status} ({status_rule(course, student, results)})"]
    for record in (application.withdrawn, course.closed if status == "admitted" else None):
        if record is not None:
            lines.append("  " + cite(record, tz))
    for o in results:
        what = f"failed: {o.reason}" if o.kind == "failed" else o.kind
        lines.append(f"{o.assignment} {what} ({o.rule})")
        if o.kind in ("failed", "excused", "exempt"):
            lines.extend("  " + cite(r, tz) for r in o.evidence)
    return lines

"""For auditors: the history of a student or an assignment, and why a status is what it is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from ledger import clock as clocks
from ledger import coursework
from ledger import events as ev
from ledger.course import Application, Course
from ledger.errors import LedgerError
from ledger.events import Recorded
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


def participant(course: Course, who: str) -> Application:
    """The application of `who`, who must have been admitted (else `NotAParticipant`, saying why)."""
    application = course.applications.get(who)
    if course.opened is None or application is None or application.accepted is None:
        raise NotAParticipant(_decision(course, who))
    return application


def instant(moment: datetime, tz: str) -> str:
    """`moment` as ISO 8601 in the course's time zone."""
    return moment.astimezone(clocks.zone(tz)).isoformat()


class Wording:
    """What audit lines need to know (`ev.Words`): the course's time zone, and the events by id."""

    def __init__(self, tz: str, by_id: Mapping[UUID, Recorded] | None = None) -> None:
        self.tz = tz
        self.by_id = by_id or {}

    def instant(self, moment: datetime) -> str:
        return instant(moment, self.tz)

    def event(self, event_id: UUID) -> str:
        target = self.by_id.get(event_id)
        return f"#{target.position} {ev.type_name(target.event)}" if target else str(event_id)


def describe(record: Recorded, tz: str, by_id: Mapping[UUID, Recorded] | None = None) -> str:
    """What one event says, in one line (each event type words its own)."""
    return record.event.describe(Wording(tz, by_id))


def about_assignment(record: Recorded, assignment: str) -> bool:
    """Whether `record` is about `assignment`."""
    return assignment in record.event.concerned_assignments()


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
        f"group {coursework.groups_at(course, at).get(student, '-')}; as of {instant(at, tz)}"
    )
    if clock.known_at is not None:
        header += f", known at {instant(clock.known_at, tz)}"
    results = coursework.outcomes(course, student, at)
    admission = coursework.admission(course, student, results)
    status = admission.status
    lines = [header, f"status: {status} ({admission.rule})"]
    for record in (application.withdrawn, course.closed if status == "admitted" else None):
        if record is not None:
            lines.append("  " + cite(record, tz))
    for o in results:
        what = f"failed: {o.reason}" if o.kind == "failed" else o.kind
        lines.append(f"{o.assignment} {what} ({o.rule})")
        if o.kind in ("failed", "excused", "exempt"):
            lines.extend("  " + cite(r, tz) for r in o.evidence)
    return lines

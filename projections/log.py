"""The audit trail (SPEC §5): what happened when, who recorded it when, and what was retracted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import clock
from ledger import events as ev
from ledger.events import Recorded
from projections.reading import Reading
from projections.scope import concerns


@dataclass(frozen=True, slots=True)
class LogRow:
    """One event of the audit trail; times in the course's time zone."""

    seq: int  # its position in the ledger
    at: datetime  # when it happened
    recorded_at: datetime
    recorded_by: str
    event: str  # its type
    details: str  # what it says
    retracted: str  # `by #SEQ: reason` for a cancelled event
    id: UUID


class Wording:
    """What audit lines need to know (`ev.Words`): the course's time zone, and the events by id."""

    def __init__(self, tz: str, by_id: Mapping[UUID, Recorded] | None = None) -> None:
        self.tz = tz
        self.by_id = by_id or {}

    def instant(self, moment: datetime) -> str:
        return clock.local(moment, self.tz).isoformat()

    def event(self, event_id: UUID) -> str:
        target = self.by_id.get(event_id)
        return f"#{target.position} {ev.type_name(target.event)}" if target else str(event_id)


def describe(record: Recorded, tz: str, by_id: Mapping[UUID, Recorded] | None = None) -> str:
    """What one event says, in one line (each event type words its own)."""
    return record.event.describe(Wording(tz, by_id))


def log(reading: Reading, student: str | None = None, assignment: str | None = None) -> list[LogRow]:
    """The events the view sees, in order (with `student` or `assignment`: those about them).

    A retraction is listed under the event it cancels (`retracted` names it)
    and, itself, wherever that event is listed.
    """
    records = reading.records
    by_id = {r.id: r for r in records}
    retracted_by = {r.event.event: r for r in records if isinstance(r.event, ev.EventRetracted)}

    def chosen(r: Recorded) -> bool:
        if isinstance(r.event, ev.EventRetracted):
            target = by_id.get(r.event.event)
            return target is not None and chosen(target)
        return (student is None or concerns(r, student)) and (
            assignment is None or assignment in r.event.concerned_assignments()
        )

    rows = []
    for r in records:
        if not chosen(r):
            continue
        retraction = retracted_by.get(r.id)
        cancelled = ""
        if retraction is not None and isinstance(retraction.event, ev.EventRetracted):
            cancelled = f"by #{retraction.position}: {retraction.event.reason}"
        rows.append(
            LogRow(
                r.position, reading.local(r.event.at), reading.local(r.recorded_at), r.recorded_by,
                ev.type_name(r.event), describe(r, reading.timezone, by_id), cancelled, r.id,
            )
        )  # fmt: skip
    return rows

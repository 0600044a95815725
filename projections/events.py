"""The events export (SPEC §5): the ledger as JSONL, which restores into an empty store.

Every course, in position order, with the envelope (`id`, `seq`,
`recorded_at`, `recorded_by`, and `salt`, the salt of the event's Merkle leaf,
so that a restore writes the same leaves). Application material is opened
where its keys still exist, and those keys travel with the line (`keys`), so
that a restore seals the material to the very same bytes and the digest is the
same.

With a clock, only the events the view sees. `known_at` alone gives the ledger
as an auditor found it then: a prefix of the log, with its envelopes, which
restores into an empty store to the digest the ledger had at that size. `as_of`
leaves out events that happened later (retractions apply whatever their `at`,
as in every view): what is left has gaps in its positions, so it is no earlier
state of the ledger and cannot restore one. Its lines are written as new
events (the `id`, no `seq`, `recorded_at`, `recorded_by`), and a retraction of
an event left out is left out too: they import into an empty store as a new
history, recorded when and by whom it is imported. Material erased since
cannot be brought back.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from ledger import clock, vault, wire
from ledger import events as ev
from ledger.course import visible
from ledger.events import Recorded
from projections.reading import BadClock, open_store
from projections.runner import Views

PAGE = 10_000


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event as exported: the record as stored, its event made readable, and the keys of its material."""

    record: Recorded
    event: ev.Event  # the material opened where its keys exist
    keys: dict[str, str]  # material keys by purpose, base64
    sealed: tuple[str, ...] = ()  # material fields carried as their token: their key was destroyed
    restores: bool = True  # with the record's envelope (a restore), else as a new event
    salt: bytes | None = None  # of the event's Merkle leaf (None: an unsalted leaf of format 1)

    def encode(self) -> bytes:
        """The JSONL line (without its line end)."""
        return wire.encode_line(self.record, self.keys or None, self.event, self.sealed, self.restores, self.salt)


@dataclass(slots=True)
class ErasedSince:
    """The applications an export carries sealed without the erasure that destroyed their keys (a cut before it)."""

    sealed: set[tuple[str, str]] = field(default_factory=set)  # (course, student)
    erased: set[tuple[str, str]] = field(default_factory=set)

    def see(self, line: EventLine) -> EventLine:
        """`line`, noted on its way out."""
        event = line.event
        if isinstance(event, ev.ApplicationMaterialErased):
            self.erased.update((event.course, student) for student in event.students)
        elif line.sealed and isinstance(event, ev.ApplicationSubmitted):
            self.sealed.add((event.course, event.student))
        return line

    def __len__(self) -> int:
        return len(self.sealed - self.erased)


def _aware(moment: datetime | None, field: str, views: Views) -> datetime | None:
    """`moment` with an offset: one without is read in the courses' time zone, if they share one."""
    if moment is None or moment.tzinfo is not None:
        return moment
    opened = [ev.envelope_decoder.decode(state).event for state in views.log.select_courses()]
    zones = {e.timezone for e in opened if isinstance(e, ev.CourseOpened)}
    if len(zones) > 1:
        raise BadClock(
            field, f"{moment.isoformat()} has no offset, and the store's courses keep different time zones: give it"
        )
    try:
        return clock.localize(moment, zones.pop() if zones else "UTC")
    except clock.BadInstant as error:
        raise BadClock(field, str(error)) from None


def events(source: str | Views, *, as_of: datetime | None = None, known_at: datetime | None = None) -> Iterator[EventLine]:
    """The ledger's events in position order (under a clock: those a view then sees).

    Instants without an offset are read in the time zone of the store's
    courses (`BadClock` when they keep different ones).
    """
    from ledger.app import to_recorded

    views = open_store(source) if isinstance(source, str) else source
    as_of, known_at = _aware(as_of, "as_of", views), _aware(known_at, "known_at", views)
    restores = as_of is None  # a cut by known_at alone is a prefix of the log
    exported: set[UUID] = set()
    keys_of: dict[str, dict[str, dict[str, bytes]]] = {}
    after = 0
    while rows := views.log.select_log(after, PAGE):
        after = rows[-1].position
        salts = {row.position: row.salt for row in rows}
        for record in visible(map(to_recorded, rows), as_of, known_at):
            event = record.event
            salt = salts[record.position]
            if not restores:
                if isinstance(event, ev.EventRetracted) and event.event not in exported:
                    continue  # it retracts an event that had not happened by then
                exported.add(record.id)
            if not isinstance(event, ev.ApplicationSubmitted):
                yield EventLine(record, event, {}, restores=restores, salt=salt)
                continue
            if event.course not in keys_of:
                keys_of[event.course] = vault.by_student(views.keys(event.course))
            keys = keys_of[event.course].get(event.student, {})
            opened = vault.open_application(event, record.id, keys, keep_sealed=True)
            shown = {p: base64.b64encode(k).decode() for p, k in sorted(keys.items())}
            sealed = tuple(f for f, p in vault.FIELDS.items() if p not in keys)
            yield EventLine(record, opened, shown, sealed, restores, salt)


def lines(source: str | Views, *, as_of: datetime | None = None, known_at: datetime | None = None) -> Iterator[bytes]:
    """The events export as JSONL lines (without line ends)."""
    return (line.encode() for line in events(source, as_of=as_of, known_at=known_at))

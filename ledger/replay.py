"""The append path's decisions taken again on the stored log, for `verify` (finding 7 of issue 7).

The Merkle log proves that what is stored was not changed after it was
written; it cannot tell whether it should have been written. Whoever can
insert into the store's tables (a writer role, a file editor) can append
through the store's own insert path, leaves and head kept right, an event the
rules would refuse, or one with an envelope of their choosing. So `verify`
replays every course's events in position order through the very checks an
append takes (`ledger.rules.check_record`), and checks what the store's clock
and streams promise: `recorded_at` never decreases along the log (ADR 10),
each event sits in its own course's stream, at the next version.

It is one pass beside the leaves, at the cost of an import's decisions
(folding each course once, no re-fold per event).
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from ledger import events as ev
from ledger import rules
from ledger.clock import iso
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded, envelope_decoder
from ledger.streams import stream_id


class Replay:
    """Takes the stored events one by one, in position order; says the first that an append would refuse."""

    def __init__(self, proven: int = 0) -> None:
        self.courses: dict[str, Course] = {}
        self.streams: dict[str, bytes] = {}
        self.last_recorded_at: datetime | None = None
        # Positions a checkpoint proves to be the original's (a restore's waiver of `restore-order`).
        self.proven = proven

    def take(self, position: int, stream: bytes, version: int, state: bytes) -> str:
        """The problem of the event stored at `position` (in `stream`, at `version`), or ""."""
        try:
            envelope = envelope_decoder.decode(state)
        except msgspec.MsgspecError as error:
            return f"the event at position {position} cannot be read: {error}"
        event = envelope.event
        record = Recorded(envelope.id, position, envelope.recorded_at, envelope.recorded_by, event)
        course = self.courses.get(event.course)
        if course is None:
            course = self.courses[event.course] = Course(event.course)
        if stream != self._stream(event.course):
            return (
                f"the event at position {position} is of course {event.course!r} but stored in another course's stream"
            )
        if version != len(course.records) + 1:
            return (
                f"the event at position {position} is version {version} of its course's stream, "
                f"which held {len(course.records)} events before it"
            )
        last = self.last_recorded_at
        if last is not None and record.recorded_at < last and position > self.proven:
            return (
                f"the event at position {position} is recorded at {iso(record.recorded_at)}, before an event at "
                f"an earlier position ({iso(last)}): the store's clock never runs backwards"
            )
        if last is None or record.recorded_at > last:
            self.last_recorded_at = record.recorded_at
        try:
            rules.check_record(course, record, state)
        except Refused as refused:
            return (
                f"the event at position {position} ({ev.type_name(event)}) breaks rule {refused.rule}: {refused.detail}"
            )
        course.apply(record)
        return ""

    def _stream(self, course: str) -> bytes:
        stream = self.streams.get(course)
        if stream is None:
            stream = self.streams[course] = stream_id(course).bytes
        return stream


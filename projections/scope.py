"""What a view sees: the clock (SPEC §2) applied at read time, and one student's share.

The stored views hold every record; whether an assignment is still open or
already missed depends on the clock, so the cut is made here, when a view is
read, and the fold runs over what the cut leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ledger import events as ev
from ledger.course import visible as visible_at
from ledger.events import Recorded

# Records every student's outcomes rest on; the rest concern named students only.
COURSE_WIDE = tuple(cls for cls in ev.EVENT_TYPES.values() if cls.concerns.course_wide)


@dataclass(frozen=True)
class Clock:
    """A view's clock: events that happened by `as_of`, of those recorded by `known_at`."""

    as_of: datetime
    known_at: datetime | None = None


def visible(records: Iterable[Recorded], clock: Clock) -> list[Recorded]:
    """The records a view under `clock` sees (the write side's own cut)."""
    return visible_at(records, clock.as_of, clock.known_at)


def concerns(record: Recorded, student: str) -> bool:
    """Whether `record` names `student` (hand-ins: as a team member)."""
    return student in record.event.concerned_students()


def share(records: Iterable[Recorded], student: str) -> list[Recorded]:
    """The records one student's outcomes and status can depend on.

    Folding only these gives the same outcomes for `student` as folding the
    whole course (the property tests hold it to that), at a fraction of the cost.
    """
    return [r for r in records if r.event.concerns.course_wide or concerns(r, student)]

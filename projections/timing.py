"""Hand-in times against the deadline: when each hand-in came, hours before or after its deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from projections.reading import Reading

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class HandInTiming:
    """One hand-in, and how long before (negative hours) or after its assignment's deadline it came."""

    assignment: str
    team: tuple[str, ...]
    at: datetime  # in the course's time zone
    deadline: datetime  # the course's deadline of the assignment at the clock, in its time zone
    hours: float  # at − deadline
    on_time: bool  # at <= deadline (SPEC §2: inclusive)
    position: int


def hand_in_timing(reading: Reading) -> list[HandInTiming]:
    """Every hand-in the view sees (retracted ones left out), by assignment, in position order.

    Measured against the course's deadline of the assignment (the latest
    change in view), the one every team had.
    """
    course = reading.whole()
    rows = []
    for assignment in coursework.assignment_order(course):
        deadline = course.deadline(assignment)
        for record in course.hand_ins.get(assignment, ()):
            event = record.event
            assert isinstance(event, ev.SubmissionHandedIn)
            rows.append(
                HandInTiming(
                    assignment, event.team, reading.local(event.at), reading.local(deadline),
                    (event.at - deadline).total_seconds() / HOUR, event.at <= deadline, record.position,
                )
            )  # fmt: skip
    return rows

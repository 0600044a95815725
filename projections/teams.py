"""The teams of each assignment (SPEC §5's "teams per assignment", once part of the roster; ADR 0017)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class TeamRow:
    """A team that handed in an assignment: its members, how often it handed in, and when it last did."""

    assignment: str
    members: tuple[str, ...]  # as the team's first hand-in lists them
    hand_ins: int
    last: datetime  # its latest hand-in in view, in the course's time zone


def teams(reading: Reading) -> list[TeamRow]:
    """A row per distinct team that handed in, per assignment (in publication order), in the order of
    their first hand-in."""
    course = reading.whole()
    if course.opened is None:
        return []
    rows = []
    for assignment in coursework.assignment_order(course):
        found: dict[frozenset[str], list[ev.SubmissionHandedIn]] = {}
        for record in course.hand_ins.get(assignment, ()):
            assert isinstance(record.event, ev.SubmissionHandedIn)
            found.setdefault(frozenset(record.event.team), []).append(record.event)
        for hand_ins in found.values():
            last = max(h.at for h in hand_ins)
            rows.append(TeamRow(assignment, hand_ins[0].team, len(hand_ins), reading.local(last)))
    return rows

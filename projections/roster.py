"""The roster (SPEC §5): exercise groups with their members, then the teams of each assignment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ledger import coursework
from ledger import events as ev
from ledger.groups import groups_at
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A group's members, the participants in no group, or one team of an assignment."""

    kind: Literal["group", "unplaced", "team"]
    group: str
    slot: str
    assignment: str
    members: tuple[str, ...]


def roster(reading: Reading) -> list[RosterRow]:
    """A `group` row per exercise group (its participants at the clock), an `unplaced` row for
    participants in none (if any), then a `team` row per distinct team that handed in, per
    assignment, in the order of their first hand-in.

    Group changes count from the week they take effect (SPEC §1.3).
    """
    course = reading.whole()
    if course.opened is None:
        return []
    participants = course.participants()
    groups = groups_at(course, reading.as_of)
    rows = [
        RosterRow("group", g.id, g.slot, "", tuple(s for s in participants if groups.get(s) == g.id))
        for g in course.opened.groups
    ]
    known = {g.id for g in course.opened.groups}
    unplaced = tuple(s for s in participants if groups.get(s) not in known)
    if unplaced:
        rows.append(RosterRow("unplaced", "", "", "", unplaced))
    for assignment in coursework.assignment_order(course):
        seen: set[frozenset[str]] = set()
        for record in course.hand_ins.get(assignment, ()):
            assert isinstance(record.event, ev.SubmissionHandedIn)
            team = record.event.team
            if frozenset(team) not in seen:
                seen.add(frozenset(team))
                rows.append(RosterRow("team", "", "", assignment, team))
    return rows

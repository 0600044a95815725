"""The roster (SPEC §5, issue 9.6): every participant with their exercise group, and since which week.

The teams of each assignment, which the roster used to list under the groups,
are their own view (`projections.teams`): a row there is a team, a row here a
student (ADR 0017).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.groups import stints_in_week, week_of
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One participant: who they are, and their exercise group in the week of the clock."""

    student: str
    name: str
    email: str
    programme: str
    group: str  # empty: in no group that week
    from_week: int | None  # the week this membership began (week 1: the first session after registration)
    until_week: int | None  # its last week, when a change from a later week is already recorded


def roster(reading: Reading) -> list[RosterRow]:
    """Every participant at the clock, group by group (in the course's order, then those in none),
    each group's members in order of application.

    The group is that of the week the clock falls in (SPEC §1.3: a change
    counts from the week it takes effect); `from_week` is when the student's
    time in it began, `until_week` its last week if a change already recorded
    ends it.
    """
    course = reading.whole()
    if course.opened is None:
        return []
    stints = stints_in_week(course, week_of(course, reading.as_of))
    participants = course.participants()
    contacts = reading.contacts(participants)
    order = {g.id: i for i, g in enumerate(course.opened.groups)}
    rows = []
    for student in participants:
        stint = stints.get(student)
        name, email = contacts.get(student, ("", ""))
        programme = course.applications[student].event.programme
        if stint is None:
            rows.append(RosterRow(student, name, email, programme, "", None, None))
        else:
            rows.append(RosterRow(student, name, email, programme, stint.group, stint.since, stint.until))
    # A group the course does not name (a store written by other hands) comes after the known ones.
    return sorted(rows, key=lambda r: (r.group == "", order.get(r.group, len(order)), r.group))

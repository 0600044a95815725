"""Exercise groups from ranked preferences (SPEC §1.3)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from ledger.course import Course


def allocate(course: Course, seed: int) -> dict[str, str]:
    """Place every participant of `course` in a group from the preferences registered."""
    assert course.opened is not None
    preferences = {s: r.event.priorities for s, r in course.preferences.items()}  # type: ignore[union-attr]
    capacities = {g.id: g.capacity for g in course.opened.groups}
    return allocate_preferences(course.participants(), preferences, capacities, seed)


def allocate_preferences(
    participants: Iterable[str], preferences: Mapping[str, Sequence[str]], capacities: Mapping[str, int], seed: int
) -> dict[str, str]:
    """Place participants in groups, honouring preferences in a seeded random order.

    Participants are taken in a shuffled order (the seed makes it repeatable);
    each gets the best-ranked group that still has room, and those without a
    preference, or whose groups are all full, fill the emptiest remaining group.
    """
    room = dict(capacities)
    students = sorted(participants)
    random.Random(seed).shuffle(students)
    allocation: dict[str, str] = {}
    unplaced = []
    for student in students:
        ranked = preferences.get(student, ())
        group = next((g for g in ranked if room.get(g, 0) > 0), None)
        if group is None:
            unplaced.append(student)
            continue
        allocation[student] = group
        room[group] -= 1
    for student in unplaced:
        group = max(room, key=lambda g: room[g])
        if room[group] > 0:
            allocation[student] = group
            room[group] -= 1
    return allocation

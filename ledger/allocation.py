"""Exercise groups from ranked preferences (SPEC §1.3)."""

from __future__ import annotations

import random

from ledger.course import Course


def allocate(course: Course, seed: int) -> dict[str, str]:
    """Place every participant in a group, honouring preferences in a seeded random order.

    Participants are taken in a shuffled order (the seed makes it repeatable);
    each gets the best-ranked group that still has room, and those without a
    preference, or whose groups are all full, fill the emptiest remaining group.
    """
    assert course.opened is not None
    room = {g.id: g.capacity for g in course.opened.groups}
    students = sorted(course.participants())
    random.Random(seed).shuffle(students)
    allocation: dict[str, str] = {}
    unplaced = []
    for student in students:
        record = course.preferences.get(student)
        ranked = record.event.priorities if record else ()  # type: ignore[union-attr]
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

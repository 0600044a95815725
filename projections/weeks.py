"""Group sizes by week: how many participants each exercise group holds, week by week.

Week 1 is the week of the first earlier session (the earliest slot of a week)
after the registration deadline; week N's earlier session is N − 1 weeks of
wall time later. A group's members in a week are the participants placed in it
as the ledger stood at that week's earlier session (SPEC §1.3: a change counts
from the first week whose earlier session comes after it).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ledger import coursework
from ledger.course import Course
from ledger.groups import Weeks, groups_in_week
from projections.reading import Reading

# A course runs a semester; a report asked about years later shows its weeks, not every week since.
MOST_WEEKS = 60


@dataclass(frozen=True, slots=True)
class GroupWeek:
    """One exercise group in one week of the course: its members and its seats."""

    week: int  # 1: the week of the first session after the registration deadline
    session: datetime  # the week's earlier session, in the course's time zone
    group: str
    members: int
    capacity: int


def sessions(course: Course, until: datetime) -> list[datetime]:
    """The earlier session of each week from week 1 on, up to `until`."""
    assert course.opened is not None
    weeks = Weeks(course.opened)
    found: list[datetime] = []
    while len(found) < MOST_WEEKS and (session := weeks.session(len(found) + 1)) <= until:
        found.append(session)
    return found


def last_week(course: Course, as_of: datetime) -> datetime:
    """Until when the weeks run: the clock, or earlier the closing of coursework, else the last deadline."""
    if course.closed is not None:
        return min(as_of, course.closed.event.at)
    deadlines = [course.deadline(a) for a in coursework.assignment_order(course)]
    return min(as_of, max(deadlines)) if deadlines else as_of


def group_weeks(reading: Reading) -> list[GroupWeek]:
    """Each group's members in each week so far (every group every week, empty ones too)."""
    course = reading.whole()
    if course.opened is None:
        return []
    rows: list[GroupWeek] = []
    for week, session in enumerate(sessions(course, last_week(course, reading.as_of)), start=1):
        members = Counter(groups_in_week(course.view(as_of=session), week).values())
        rows.extend(
            GroupWeek(week, reading.local(session), g.id, members[g.id], g.capacity) for g in course.opened.groups
        )
    return rows

"""Exercise groups by week: one model of who sits in which group when (SPEC §1.3).

The capacity rule, the rosters and every view ask this module; nothing else
works membership out (ADR 0011, docs/decisions.md "Groups").

Weeks. A group's weekly slot ("Thu 11:00") is wall time in the course's time
zone. The *earlier session* of a week is its earliest slot (Monday first).
Week 1 is the week of the first earlier session after the registration
deadline; week N begins at its earlier session, seven days of wall time after
week N-1's (so DST moves no session), and runs until week N+1's begins. An
instant before week 1's session belongs to week 1. Instants in the first
month of year 1 or the last of year 9999 (a year typed wrong) count as the
nearer of `EARLIEST` and `LATEST`, so that no week's arithmetic leaves the
calendar.

Placements. A `GroupsAllocated` places every student it names; a
`GroupChanged` places one. Each counts from a week on:

- a change for a student who has a group in the week of the request (a move)
  counts from the first week whose earlier session comes after the request;
- a change for a student without a group that week (a late admission) places
  them at once: from the week of the request;
- an allocation counts from the first week whose earlier session comes after
  it (week 1 when it is recorded before the first session).

Placements are taken in order of `at`, then position, each replacing the
student's group from its week on. So an allocation recorded after changes
replaces, from its week, the groups of the students it names; students it does
not name keep what the changes gave them. Only participants (accepted, not
withdrawn) are members of a group.

Visits. A `GroupVisited` sits a participant in another group's session for
one week. It is asked, like a change, before that week's earlier session; it
changes nobody's group and takes no seat (capacity counts members only; a
session has room for a guest). The visited group's sheet lists the visitor,
their own group's sheet lists them as away (`attendance`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger import events as ev
from ledger.clock import zone
from ledger.course import Course
from ledger.events import Recorded

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = timedelta(days=7)
# A course runs a semester: a week beyond this is a typo, not a plan (and the views count no further).
MOST_WEEKS = 60
# Weeks are counted between these instants: one outside them (a typo in the year) belongs to the week
# of the nearer one, so that the week after it and its sessions can still be written down.
EARLIEST = datetime(1, 2, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 1, tzinfo=UTC)


def slot_offset(slot: str) -> timedelta | None:
    """Where a weekly slot such as "Thu 11:00" falls after Monday 00:00; None if unreadable."""
    day, _, time = slot.strip().partition(" ")
    hours, _, minutes = time.strip().partition(":")
    if day[:3].lower() not in WEEKDAYS or not (hours.isdigit() and minutes.isdigit()):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    return timedelta(days=WEEKDAYS.index(day[:3].lower()), hours=int(hours), minutes=int(minutes))


class Weeks:
    """The course's weeks: week 1 is that of the first earlier session after the registration deadline."""

    def __init__(self, opened: ev.CourseOpened) -> None:
        self.tz = zone(opened.timezone)
        offsets = [o for o in (slot_offset(g.slot) for g in opened.groups) if o is not None]
        self.earliest = min(offsets, default=timedelta(0))
        self.first = self._local(self.next_session(opened.registration_deadline))

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz).replace(tzinfo=None)

    def _instant(self, wall: datetime) -> datetime:
        # A wall time the clocks skip is read with the offset before the change, not refused:
        # a slot is a rule of the course, not an instant someone typed.
        return wall.replace(tzinfo=self.tz, fold=0).astimezone(UTC)

    def next_session(self, moment: datetime) -> datetime:
        """The first earlier session of a week that comes after `moment` (SPEC §1.3)."""
        moment = _within(moment)
        local = self._local(moment)
        monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time())
        session = self._instant(monday + self.earliest)
        return session if moment < session else self._instant(monday + WEEK + self.earliest)

    def session(self, week: int) -> datetime:
        """The earlier session of `week` (weeks before 1 are counted backwards)."""
        return self._instant(self.first + (week - 1) * WEEK)

    def of(self, moment: datetime) -> int:
        """The week `moment` belongs to: the last whose earlier session is not after it; at least 1."""
        moment = _within(moment)
        week = (self._local(moment) - self.first) // WEEK + 1
        while self.session(week) > moment:
            week -= 1
        while self.session(week + 1) <= moment:
            week += 1
        return max(1, week)

    def first_after(self, moment: datetime) -> int:
        """The first week whose earlier session comes after `moment`; at least 1."""
        moment = _within(moment)
        week = self.of(moment)
        return week + 1 if self.session(week) <= moment else week

    def session_of(self, slot: str, week: int) -> datetime:
        """The session in weekly `slot` ("Fri 13:00") of `week`: its earlier session, or later that week."""
        offset = slot_offset(slot)
        later = timedelta(0) if offset is None else offset - self.earliest
        return self._instant(self.first + (week - 1) * WEEK + later)

    def first_session_after(self, slot: str, moment: datetime) -> int:
        """The week of the first session in `slot` that comes after `moment`; at least 1."""
        moment = _within(moment)
        week = self.of(moment)
        return week if self.session_of(slot, week) > moment else week + 1


def _within(moment: datetime) -> datetime:
    return min(max(moment, EARLIEST), LATEST)


def change_takes_effect(course: Course, requested: datetime) -> datetime:
    """When a group change takes effect: the first week's earlier session after the request."""
    assert course.opened is not None
    return Weeks(course.opened).next_session(requested)


@dataclass(frozen=True)
class Placement:
    """What one allocation or change did for one student: their group from `week` on."""

    student: str
    group: str
    week: int
    move: bool  # False: placed while without a group
    record: Recorded


@dataclass(frozen=True)
class Stint:
    """A student's time in one group: from week `since` to week `until` (None: no end recorded)."""

    group: str
    since: int
    until: int | None


class Membership:
    """Every student's group, week by week, from the course's allocations and changes."""

    def __init__(self, weeks: Weeks, records: Iterable[Recorded]) -> None:
        self.weeks = weeks
        self.timelines: dict[str, list[tuple[int, str]]] = {}
        self.placements: list[Placement] = []
        for record in sorted(records, key=lambda r: (r.event.at, r.position)):
            e = record.event
            if isinstance(e, ev.GroupsAllocated):
                week = weeks.first_after(e.at)
                for student, group in e.allocation.items():
                    self._place(Placement(student, group, week, self.group(student, week) is not None, record))
            elif isinstance(e, ev.GroupChanged):
                now = weeks.of(e.at)
                if self.group(e.student, now) is None:
                    self._place(Placement(e.student, e.group, now, False, record))
                else:
                    self._place(Placement(e.student, e.group, weeks.first_after(e.at), True, record))

    def _place(self, placement: Placement) -> None:
        timeline = self.timelines.setdefault(placement.student, [])
        while timeline and timeline[-1][0] >= placement.week:
            timeline.pop()
        timeline.append((placement.week, placement.group))
        self.placements.append(placement)

    def group(self, student: str, week: int) -> str | None:
        """The group of `student` in `week`, or None."""
        timeline = self.timelines.get(student)
        if not timeline:
            return None
        i = bisect_right(timeline, week, key=lambda entry: entry[0])
        return timeline[i - 1][1] if i else None

    def stint(self, student: str, week: int) -> Stint | None:
        """The group of `student` in `week`: since which week, and until which (None: no change recorded)."""
        timeline = self.timelines.get(student)
        i = bisect_right(timeline, week, key=lambda entry: entry[0]) - 1 if timeline else -1
        if timeline is None or i < 0:
            return None
        group = timeline[i][1]
        first = i
        while first > 0 and timeline[first - 1][1] == group:  # a change into the group one is in
            first -= 1
        last = i + 1
        while last < len(timeline) and timeline[last][1] == group:
            last += 1
        return Stint(group, timeline[first][0], timeline[last][0] - 1 if last < len(timeline) else None)

    def placed(self, week: int) -> dict[str, str]:
        """Each placed student's group in `week` (participants or not)."""
        groups = {}
        for student in self.timelines:
            group = self.group(student, week)
            if group is not None:
                groups[student] = group
        return groups

    def changes(self) -> list[int]:
        """The weeks in which someone's group changes, in order; between them nothing does."""
        return sorted({week for timeline in self.timelines.values() for week, _ in timeline})

    def of_record(self, event_id: UUID) -> list[Placement]:
        """What the allocation or change `event_id` did."""
        return [p for p in self.placements if p.record.id == event_id]


def membership(
    course: Course, extra: Recorded | None = None, without: UUID | None = None
) -> Membership:
    """Who is in which group, week by week; with `extra` recorded too, or `without` one record."""
    assert course.opened is not None
    records: list[Recorded] = [r for r in course.allocations if r.id != without]
    records += [r for changes in course.group_changes.values() for r in changes if r.id != without]
    if extra is not None:
        records.append(extra)
    return Membership(Weeks(course.opened), records)


def stints_in_week(course: Course, week: int) -> dict[str, Stint]:
    """Each participant's time in the group they are in in `week`, in order of application.

    The one answer to "who is in which group" that every view asks: only
    participants count (SPEC §5), so a withdrawn student is in no group, and
    those in no group that week are left out.
    """
    if course.opened is None:
        return {}
    groups = membership(course)
    stints = ((student, groups.stint(student, week)) for student in course.participants())
    return {student: stint for student, stint in stints if stint is not None}


def groups_in_week(course: Course, week: int) -> dict[str, str]:
    """Each participant's group in `week` (`stints_in_week`, groups only)."""
    return {student: stint.group for student, stint in stints_in_week(course, week).items()}


def week_of(course: Course, at: datetime) -> int:
    """The course week `at` falls in (the course must be open)."""
    assert course.opened is not None
    return Weeks(course.opened).of(at)


def groups_at(course: Course, at: datetime) -> dict[str, str]:
    """Each participant's group in the week of `at` (the course already cut to a view)."""
    if course.opened is None:
        return {}
    return groups_in_week(course, week_of(course, at))


@dataclass(frozen=True)
class Overfull:
    """A group with more members than seats in some week."""

    group: str
    week: int
    members: int
    capacity: int


def overfull(
    course: Course,
    after: Membership,
    participants: set[str],
    before: tuple[Membership, set[str]] | None = None,
) -> Overfull | None:
    """The first group over capacity in any week, if any.

    With `before` (the membership and participants before an append), only a
    group that is fuller than it was counts: a store already over capacity
    (recorded before this rule) does not block unrelated appends.
    """
    assert course.opened is not None
    capacity: Mapping[str, int] = {g.id: g.capacity for g in course.opened.groups}
    for week in after.changes():
        counts = Counter(g for s, g in after.placed(week).items() if s in participants)
        for group, members in sorted(counts.items()):
            seats = capacity.get(group)
            if seats is None or members <= seats:
                continue
            if before is not None:
                then, was = before
                if sum(1 for s, g in then.placed(week).items() if g == group and s in was) >= members:
                    continue
            return Overfull(group, week, members, seats)
    return None


def placements(course: Course, record: Recorded) -> list[tuple[Placement, datetime]]:
    """What the allocation or change `record` did, each with the earlier session of its first week."""
    assert course.opened is not None
    groups = membership(course)
    return [(p, groups.weeks.session(p.week)) for p in groups.of_record(record.id)]


@dataclass(frozen=True)
class Visit:
    """A one-off visit that counts: a participant sits in another group's session in one week."""

    student: str
    home: str  # their own group that week
    group: str  # the group they visit
    week: int
    record: Recorded


def visits(course: Course, week: int, placed: Mapping[str, str] | None = None) -> list[Visit]:
    """The visits of `week` that count, in position order (`placed`: each participant's group that week).

    A visit counts while its student is a participant placed, that week, in a
    group other than the one visited. One that a later change or withdrawal
    made moot (they moved into that group, or left) stays recorded and counts
    for nothing. Of two visits in one week (a store written by other hands),
    the first recorded counts.
    """
    placed = groups_in_week(course, week) if placed is None else placed
    found = []
    for student, records in course.visits.items():
        home = placed.get(student)
        mine = [r for r in records if r.event.week == week]
        if home is None or not mine:
            continue
        first = min(mine, key=lambda r: r.position)
        group: str = first.event.group
        if group != home:
            found.append(Visit(student, home, group, week, first))
    return sorted(found, key=lambda v: v.record.position)


@dataclass(frozen=True)
class Attendance:
    """Who sits in one group's session in one week: its members, those of them away, its visitors."""

    group: str
    week: int
    members: tuple[str, ...]  # placed in the group that week (those away too), in order of application
    away: tuple[Visit, ...]  # members visiting another group that week
    visitors: tuple[Visit, ...]  # participants of other groups visiting this one


def attendance(course: Course, group: str, week: int) -> Attendance:
    """Who sits in `group`'s session in `week`, as `course` (cut to a view) tells it."""
    placed = groups_in_week(course, week)
    found = visits(course, week, placed)
    return Attendance(
        group,
        week,
        tuple(s for s in course.participants() if placed.get(s) == group),
        tuple(v for v in found if v.home == group),
        tuple(v for v in found if v.group == group),
    )

"""What if the course's rules had been otherwise: the views under changed rules, nothing appended (issue 11.3).

The changes are made in memory, to the records a view sees, as the ledger
would hold them had the rules been different; the same fold
(`ledger.course.Course`) and the same rules of SPEC §5 (`ledger.coursework`)
then give every outcome and status, beside today's. Nothing is written: not
an event, not even the views' cache (the course is read straight from the
ledger's streams).

- `max_fails`, `max_team_size`: the opening's settings. Under a smaller team
  limit, a recorded hand-in by a larger team is what the rules would have
  made of it, refused (`ledger.rules.team_size`): it counts for none of its
  members. A larger limit changes nothing recorded.
- `deadlines`: a course-wide deadline change of an assignment, the latest in
  view (so it is the course's deadline; an extension still gives its student
  more time, if it is later).
- `excuses`: an excuse on a medical certificate for a student and an
  assignment, held to the rules of an excuse (`ledger.rules`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import msgspec

from ledger import clock, coursework, rules
from ledger import events as ev
from ledger.course import Course
from ledger.errors import LedgerError, Refused
from ledger.events import Recorded
from projections.admission import admitted
from projections.gradebook import label
from projections.log import Wording
from projections.reading import Reading
from projections.status import STATUSES

# The namespace of the ids of hypothetical records (never an id of a recorded event).
_WHAT_IF = uuid.UUID("3b0f5d2e-7c1a-4e9b-8d6f-0a2c4e6b8d10")


@dataclass(frozen=True)
class Changes:
    """Rules otherwise than recorded; `None` and empty leave a rule as it is."""

    max_fails: int | None = None
    max_team_size: int | None = None
    deadlines: tuple[tuple[str, datetime], ...] = ()  # assignment, its deadline (naive: the course's zone)
    excuses: tuple[tuple[str, str], ...] = ()  # student, assignment


class Inapplicable(LedgerError):
    """A change the course cannot take (an unknown assignment, an excuse the rules refuse); `option` says which."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option  # "deadline" or "excuse"


@dataclass(frozen=True, slots=True)
class Change:
    """One student's status or one outcome that the changed rules would change."""

    student: str
    name: str
    subject: str  # `status`, or an assignment id
    before: str  # as recorded: a status, or an outcome (`passed`, `failed:late`, …)
    after: str  # under the changed rules
    why: str  # the rule that gives `after`


@dataclass(frozen=True, slots=True)
class StatusCount:
    """How many admitted students have a status, as recorded and under the changed rules."""

    status: str
    before: int
    after: int


@dataclass(frozen=True, slots=True)
class WhatIf:
    """What would change, how the statuses would add up, and what the changed rules would have refused."""

    asked: tuple[str, ...]  # the changes, in words (`max_fails 3`, `deadline of A06 …`, `231045 excused from A03`)
    changes: tuple[Change, ...]
    statuses: tuple[StatusCount, ...]
    refused: tuple[str, ...]  # recorded events the changed rules would have refused, in words
    as_of: datetime  # in the course's time zone
    known_at: datetime | None


def what_if(reading: Reading, changes: Changes) -> WhatIf:
    """Every admitted student's status and outcomes under `changes`, where they differ from the recorded ones."""
    course = reading.whole()
    at = reading.as_of
    known = reading.local(reading.clock.known_at) if reading.clock.known_at else None
    if course.opened is None:
        return WhatIf((), (), tuple(StatusCount(s, 0, 0) for s in STATUSES), (), reading.local(at), known)
    supposed = suppose(course, reading.records, changes, at)
    other = Course.fold(course.name, supposed.records)
    found: list[Change] = []
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for student in admitted(reading):
        was, will = coursework.outcomes(course, student, at), coursework.outcomes(other, student, at)
        status, then = coursework.admission(course, student, was), coursework.admission(other, student, will)
        before[status.status] += 1
        after[then.status] += 1
        if status.status != then.status:
            found.append(Change(student, "", "status", status.status, then.status, then.rule))
        for old, new in zip(was, will, strict=True):
            if label(old) != label(new):
                why = new.rule
                if any(new.assignment == h.assignment and student in h.team for h in supposed.refused_hand_ins()):
                    why += f" (a hand-in by a team over max_team_size {changes.max_team_size} counts for none)"
                found.append(Change(student, "", new.assignment, label(old), label(new), why))
    names = reading.names(dict.fromkeys(c.student for c in found))
    return WhatIf(
        asked=tuple(supposed.asked(Wording(reading.timezone))),
        changes=tuple(Change(c.student, names.get(c.student, ""), c.subject, c.before, c.after, c.why) for c in found),
        statuses=tuple(StatusCount(s, before[s], after[s]) for s in STATUSES),
        refused=tuple(
            f"#{r.position} {ev.type_name(r.event)} of {e.assignment} by {', '.join(e.team)}: {why}"
            for (r, why), e in zip(supposed.refused, supposed.refused_hand_ins(), strict=True)
        ),
        as_of=reading.local(at),
        known_at=known,
    )


@dataclass(frozen=True)
class Supposed:
    """A course's records as they would be under changed rules."""

    records: list[Recorded]  # in position order, the supposed events last
    settings: dict[str, int]  # the opening's settings changed
    supposed: list[ev.DeadlineChanged | ev.ExcuseGranted]  # events that were not recorded
    refused: list[tuple[Recorded, str]]  # recorded events the changed rules would have refused, and why

    def refused_hand_ins(self) -> list[ev.SubmissionHandedIn]:
        """The hand-ins left out."""
        return [r.event for r, _ in self.refused if isinstance(r.event, ev.SubmissionHandedIn)]

    def asked(self, say: ev.Words) -> list[str]:
        """The changes in words: `max_fails 3`, `deadline of A06 …`, `231045 excused from A03`."""
        words = [f"{name} {value}" for name, value in self.settings.items()]
        for e in self.supposed:
            if isinstance(e, ev.DeadlineChanged):
                words.append(f"deadline of {e.assignment} {say.instant(e.deadline)}")
            else:
                words.append(f"{e.student} excused from {', '.join(e.assignments)}")
        return words


def suppose(course: Course, records: list[Recorded], changes: Changes, at: datetime) -> Supposed:
    """The records of `course` in view at `at` (`course` is their fold), as they would be under `changes`.

    The events supposed for a changed deadline or an excuse are dated `at` and
    come last, so that they are the latest in view.
    """
    assert course.opened is not None
    settings = _settings(changes)
    limit = settings.get("max_team_size", course.opened.max_team_size)
    changed: list[Recorded] = []
    refused: list[tuple[Recorded, str]] = []
    for record in records:
        event = record.event
        if isinstance(event, ev.CourseOpened) and settings:
            record = msgspec.structs.replace(record, event=msgspec.structs.replace(event, **settings))
        elif isinstance(event, ev.SubmissionHandedIn) and record.id not in course.retractions:
            try:
                rules.team_size(limit, event)
            except Refused as refusal:
                refused.append((record, str(refusal)))
                continue
        changed.append(record)
    supposed: list[ev.DeadlineChanged | ev.ExcuseGranted] = [*_deadlines(course, changes, at), *_excuses(course, changes, at)]
    last = records[-1].position if records else 0
    for i, event in enumerate(supposed, start=1):
        changed.append(Recorded(uuid.uuid5(_WHAT_IF, str(i)), last + i, at, "what-if", event))
    return Supposed(changed, settings, supposed, refused)


def _settings(changes: Changes) -> dict[str, int]:
    """The course settings `changes` sets, by the name of the field of the opening."""
    given = (("max_fails", changes.max_fails), ("max_team_size", changes.max_team_size))
    return {name: value for name, value in given if value is not None}


def _deadlines(course: Course, changes: Changes, at: datetime) -> list[ev.DeadlineChanged]:
    assert course.opened is not None
    moved: list[ev.DeadlineChanged] = []
    for assignment, deadline in changes.deadlines:
        if assignment not in course.assignments:
            raise Inapplicable("deadline", f"no assignment {assignment!r} in {course.name}")
        try:
            when = clock.localize(deadline, course.opened.timezone)
        except clock.BadInstant as error:
            raise Inapplicable("deadline", f"{assignment}: {error}") from None
        moved.append(ev.DeadlineChanged(course=course.name, at=at, assignment=assignment, deadline=when, reason="what if"))
    return moved


def _excuses(course: Course, changes: Changes, at: datetime) -> list[ev.ExcuseGranted]:
    excused: list[ev.ExcuseGranted] = []
    for student, assignment in changes.excuses:
        excuse = ev.ExcuseGranted(
            course=course.name, at=at, student=student, assignments=(assignment,), certificate="what if"
        )
        try:
            rules.check(course, excuse)
        except Refused as refusal:
            raise Inapplicable("excuse", f"{student}:{assignment}: {refusal}") from None
        excused.append(excuse)
    return excused

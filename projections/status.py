"""Status for people: the course at a glance, or one student's assignments."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from ledger.groups import groups_at
from projections.gradebook import label
from projections.reading import Reading, participant

KINDS = ("passed", "excused", "exempt", "failed", "open")
STATUSES = ("on_track", "at_risk", "excluded", "admitted", "withdrawn")


@dataclass(frozen=True, slots=True)
class AssignmentStatus:
    """One assignment's outcome for a student, and the rule behind it."""

    assignment: str
    deadline: datetime  # the student's own (an extension's, if one counts), in the course's time zone
    outcome: str  # passed / failed:REASON / excused / exempt / open
    why: str
    extension: str  # why the deadline is extended (and the certificate, if any); empty if it is not


@dataclass(frozen=True, slots=True)
class Standing:
    """A participant at the clock: programme, exercise group, admission status and the rule that gives it."""

    student: str
    programme: str
    credits: int
    group: str | None
    status: str  # on_track / at_risk / excluded / admitted / withdrawn
    rule: str  # the rule of SPEC §5 that gives the status, in words


@dataclass(frozen=True, slots=True)
class StudentStatus:
    """A participant's standing at the clock and every assignment's outcome."""

    standing: Standing
    failed: int
    max_fails: int
    counts: dict[str, int]  # by kind of outcome (KINDS)
    as_of: datetime
    assignments: tuple[AssignmentStatus, ...]


@dataclass(frozen=True, slots=True)
class AssignmentCounts:
    """How many participants passed an assignment, were excused, exempt, failed, or are still open."""

    assignment: str
    deadline: datetime
    passed: int
    excused: int
    exempt: int
    failed: int
    open: int


@dataclass(frozen=True, slots=True)
class GroupFill:
    """An exercise group and how many participants are in it at the clock."""

    group: str
    members: int
    capacity: int


@dataclass(frozen=True, slots=True)
class CourseStatus:
    """The course at the clock; `opened` is False before it opens (and then the rest is empty)."""

    course: str
    opened: bool
    title: str
    participants: int
    capacity: int
    applications: int
    undecided: int
    groups: tuple[GroupFill, ...]
    closed: datetime | None  # when coursework was closed, if it is
    statuses: dict[str, int]  # participants by admission status (STATUSES)
    as_of: datetime
    assignments: tuple[AssignmentCounts, ...]


def standing(course: Course, student: str, at: datetime, results: list[coursework.Outcome]) -> Standing:
    """Where participant `student` stands at `at`, given their outcomes (`NotAParticipant` for anyone else)."""
    programme = participant(course, student).event.programme
    admission = coursework.admission(course, student, results)
    group = groups_at(course, at).get(student)
    return Standing(student, programme, ev.CREDITS[programme], group, admission.status, admission.rule)


def student_status(reading: Reading, student: str) -> StudentStatus:
    """One participant's outcomes and admission status (`NotAParticipant` for anyone else)."""
    course = reading.of(student)
    participant(course, student)
    assert course.opened is not None  # participant() holds it open
    at = reading.as_of
    results = coursework.outcomes(course, student, at)
    kinds = Counter(o.kind for o in results)
    return StudentStatus(
        standing=standing(course, student, at, results),
        failed=kinds["failed"],
        max_fails=course.opened.max_fails,
        counts={k: kinds[k] for k in KINDS},
        as_of=reading.local(at),
        assignments=tuple(_assignment_status(reading, course, student, o) for o in results),
    )


def _assignment_status(reading: Reading, course: Course, student: str, o: coursework.Outcome) -> AssignmentStatus:
    deadline = coursework.own_deadline(course, student, o.assignment).event
    assert isinstance(deadline, (ev.AssignmentPublished, ev.DeadlineChanged, ev.ExtensionGranted))
    extension = ""
    if isinstance(deadline, ev.ExtensionGranted):
        extension = deadline.reason + (f" (certificate {deadline.certificate})" if deadline.certificate else "")
    return AssignmentStatus(o.assignment, reading.local(deadline.deadline), label(o), o.rule, extension)


def course_status(reading: Reading) -> CourseStatus:
    """The course at a glance: seats, groups, statuses, and each assignment's outcome counts."""
    course = reading.whole()
    at = reading.as_of
    if course.opened is None:
        return CourseStatus(course.name, False, "", 0, 0, 0, 0, (), None, dict.fromkeys(STATUSES, 0), reading.local(at), ())
    opened = course.opened
    statuses: Counter[str] = Counter()
    per_assignment: dict[str, Counter[str]] = {a: Counter() for a in coursework.assignment_order(course)}
    for s, application in course.applications.items():
        if application.accepted is None:
            continue
        results = coursework.outcomes(course, s, at)
        statuses[coursework.admission(course, s, results).status] += 1
        if application.withdrawn is None:
            for o in results:
                per_assignment[o.assignment][o.kind] += 1
    participants = course.participants()
    members = Counter(groups_at(course, at).values())
    return CourseStatus(
        course=course.name,
        opened=True,
        title=opened.title,
        participants=len(participants),
        capacity=opened.capacity,
        applications=len(course.applications),
        undecided=sum(1 for a in course.applications.values() if not a.decided),
        groups=tuple(GroupFill(g.id, members[g.id], g.capacity) for g in opened.groups),
        closed=reading.local(course.closed.event.at) if course.closed else None,
        statuses={k: statuses[k] for k in STATUSES},
        as_of=reading.local(at),
        assignments=tuple(
            AssignmentCounts(a, reading.local(course.deadline(a)), *(c[k] for k in KINDS))
            for a, c in per_assignment.items()
        ),
    )

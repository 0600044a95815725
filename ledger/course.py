"""One course offering as its events tell it: a fold kept as indexes.

The same fold serves the rules that guard an append (over everything recorded)
and the views (over what a clock lets them see): `Course.view` picks the events,
the fold does the rest. A retraction takes its event back out of the indexes
(`Course.forget`), at the cost of that one event: every index can drop a record
without being rebuilt (ADR 0011).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from ledger import events as ev
from ledger.events import Recorded, narrowed

K = TypeVar("K")
R = TypeVar("R", bound=ev.Event)


def visible(
    records: Iterable[Recorded], as_of: datetime | None = None, known_at: datetime | None = None
) -> list[Recorded]:
    """The records a view sees: what happened by `as_of`, of what was recorded by `known_at` (SPEC §2)."""
    return [
        r
        for r in records
        if (known_at is None or r.recorded_at <= known_at)
        # Retractions apply in every view that has recorded them, whatever their `at`.
        and (as_of is None or r.event.at <= as_of or isinstance(r.event, ev.EventRetracted))
    ]


class Applicant:
    """One applicant's application and what became of it."""

    __slots__ = ("accepted", "rejected", "submitted", "withdrawn")

    def __init__(self, submitted: Recorded[ev.ApplicationSubmitted]) -> None:
        self.submitted = submitted
        self.accepted: Recorded[ev.ApplicationAccepted] | None = None
        self.rejected: Recorded[ev.ApplicationRejected] | None = None
        self.withdrawn: Recorded[ev.ApplicationWithdrawn] | None = None

    @property
    def event(self) -> ev.ApplicationSubmitted:
        """The ApplicationSubmitted event."""
        return self.submitted.event

    @property
    def decided(self) -> bool:
        """Accepted, rejected or withdrawn."""
        return bool(self.accepted or self.rejected or self.withdrawn)

    @property
    def participant(self) -> bool:
        """Accepted and not withdrawn."""
        return self.accepted is not None and self.withdrawn is None

    def forget(self, record: Recorded) -> None:
        """Drop a decision that is retracted."""
        for slot in ("accepted", "rejected", "withdrawn"):
            if getattr(self, slot) is record:
                setattr(self, slot, None)


def latest(current: Recorded[R] | None, candidate: Recorded[R]) -> Recorded[R]:
    """The later of two records: greatest `at`, then greatest position (SPEC §3)."""
    if current is None:
        return candidate
    if (candidate.event.at, candidate.position) >= (current.event.at, current.position):
        return candidate
    return current


def _by_latest(record: Recorded[ev.Event]) -> tuple[datetime, int]:
    return record.event.at, record.position


def _by_position(record: Recorded[ev.Event]) -> int:
    return record.position


def _by_deadline(record: Recorded[ev.Event]) -> tuple[bool, datetime, int]:
    # SPEC §5: the latest DeadlineChanged, else the published deadline — a change
    # outranks the publication whatever their `at`.
    return (isinstance(record.event, ev.DeadlineChanged), record.event.at, record.position)


class Chosen(Mapping[K, Recorded[R]], Generic[K, R]):
    """One record per key, chosen among all recorded for it, that can forget one cheaply.

    `Chosen.latest()` keeps the latest (SPEC §3); `Chosen.last()` the last
    recorded. Every record of a key is kept, so that when the chosen one is
    retracted the next is at hand without a fold.
    """

    __slots__ = ("_all", "_chosen", "_order")

    def __init__(self, order: Callable[[Recorded[R]], Any]) -> None:
        self._order = order
        self._all: dict[K, list[Recorded[R]]] = {}
        self._chosen: dict[K, Recorded[R]] = {}

    @classmethod
    def latest(cls) -> Chosen[K, R]:
        """Choose the greatest `at`, then the greatest position."""
        return cls(_by_latest)

    @classmethod
    def deadline(cls) -> Chosen[K, R]:
        """Choose the latest deadline change, else the publication (SPEC §5)."""
        return cls(_by_deadline)

    @classmethod
    def last(cls) -> Chosen[K, R]:
        """Choose the greatest position."""
        return cls(_by_position)

    def add(self, key: K, record: Recorded[R]) -> None:
        """Take `record` in under `key`."""
        self._all.setdefault(key, []).append(record)
        current = self._chosen.get(key)
        if current is None or self._order(record) >= self._order(current):
            self._chosen[key] = record

    def discard(self, key: K, record: Recorded[ev.Event]) -> None:
        """Forget `record` (if held under `key`); the next in order is chosen."""
        records = self._all.get(key)
        if not records or not _remove(records, record):
            return
        if not records:
            del self._all[key], self._chosen[key]
        elif self._chosen[key] is record:
            self._chosen[key] = max(records, key=self._order)

    def drop(self, key: K) -> None:
        """Forget every record under `key`."""
        self._all.pop(key, None)
        self._chosen.pop(key, None)

    def every(self, key: K) -> list[Recorded[R]]:
        """Every record held under `key`, in the order taken in."""
        return list(self._all.get(key, ()))

    def __getitem__(self, key: K) -> Recorded[R]:
        return self._chosen[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._chosen)

    def __len__(self) -> int:
        return len(self._chosen)

    def __contains__(self, key: object) -> bool:
        return key in self._chosen


def _remove(records: list[Recorded[R]], record: Recorded[ev.Event]) -> bool:
    """Remove `record` itself (not an equal copy) from `records`; whether it was there."""
    for i in range(len(records) - 1, -1, -1):
        if records[i] is record:
            del records[i]
            return True
    return False


def _discard_from(index: dict[K, list[Recorded[R]]], key: K, record: Recorded[ev.Event]) -> None:
    records = index.get(key)
    if records is not None and _remove(records, record) and not records:
        del index[key]


class Course:
    """The indexes of one course offering, folded from its records."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[Recorded] = []
        self.by_id: dict[UUID, Recorded] = {}
        self.retractions: dict[UUID, Recorded[ev.EventRetracted]] = {}
        self.openings: list[Recorded[ev.CourseOpened]] = []
        self.applications: dict[str, Applicant] = {}
        self._seats = 0  # participants: accepted applicants not withdrawn (`seats_taken`)
        # Each student's latest application record, retracted ones too: its material is sealed
        # under the student's keys whether or not the application counts (for erasure).
        self.applied: dict[str, Recorded[ev.ApplicationSubmitted]] = {}
        self.preferences: Chosen[str, ev.GroupPreferenceRegistered] = Chosen.last()
        self.allocations: list[Recorded[ev.GroupsAllocated]] = []
        self.group_changes: dict[str, list[Recorded[ev.GroupChanged]]] = {}
        self.visits: dict[str, list[Recorded[ev.GroupVisited]]] = {}
        self.assignments: dict[str, Recorded[ev.AssignmentPublished]] = {}
        self.deadlines: Chosen[str, ev.AssignmentPublished | ev.DeadlineChanged] = Chosen.deadline()
        self.hand_ins: dict[str, list[Recorded[ev.SubmissionHandedIn]]] = {}
        self.team_of: dict[tuple[str, str], frozenset[str]] = {}
        self.presentations: Chosen[tuple[str, str], ev.PresentationRecorded] = Chosen.latest()
        self.assessments: Chosen[tuple[str, str], ev.SubmissionAssessed] = Chosen.latest()
        self.excuses: dict[str, list[Recorded[ev.ExcuseGranted]]] = {}
        self.extensions: Chosen[tuple[str, str], ev.ExtensionGranted] = Chosen.latest()
        self.closures: list[Recorded[ev.CourseworkClosed]] = []
        self.exam: Chosen[str, ev.ExamRegistered] = Chosen.last()
        self.grades: Chosen[str, ev.ExamGraded] = Chosen.latest()
        self.erasures: list[Recorded[ev.ApplicationMaterialErased]] = []

    @classmethod
    def fold(cls, name: str, records: Iterable[Recorded]) -> Course:
        """The course after `records`, in position order."""
        course = cls(name)
        for record in records:
            course.apply(record)
        return course

    def view(self, as_of: datetime | None = None, known_at: datetime | None = None) -> Course:
        """The course as seen at clock `as_of` from what was recorded by `known_at`."""
        return Course.fold(self.name, visible(self.records, as_of, known_at))

    # -- the fold ----------------------------------------------------------

    def apply(self, record: Recorded) -> None:
        """Take one more record into the indexes."""
        self.records.append(record)
        self.by_id[record.id] = record
        event = record.event
        if isinstance(event, ev.ApplicationSubmitted):
            self.applied[event.student] = narrowed(record, event)
        if isinstance(event, ev.EventRetracted):
            # A retraction of a retraction, or of what is already retracted, changes nothing;
            # nor does one of the opening, which every other event rests on (the rules refuse
            # both, but a store may have been written by other hands).
            if event.event not in self.retractions:
                self.retractions[event.event] = narrowed(record, event)
                target = self.by_id.get(event.event)
                if target is not None and not isinstance(target.event, (ev.EventRetracted, ev.CourseOpened)):
                    self.forget(target)
            return
        if record.id not in self.retractions:
            self._index(record)

    def live(self) -> Iterator[Recorded]:
        """The records that count: neither retracted nor retractions, in position order."""
        for record in self.records:
            if isinstance(record.event, ev.CourseOpened) or (
                record.id not in self.retractions and not isinstance(record.event, ev.EventRetracted)
            ):
                yield record

    def _index(self, record: Recorded) -> None:
        e = record.event
        match e:
            case ev.CourseOpened():
                self.openings.append(narrowed(record, e))
            case ev.ApplicationSubmitted():
                replaced = self.applications.get(e.student)
                self._seats -= replaced is not None and replaced.participant
                self.applications[e.student] = Applicant(narrowed(record, e))
            # A view may hold a decision without its application (an `at` set before
            # the application's): the fold skips it rather than fail the view.
            case ev.ApplicationAccepted() if e.student in self.applications:
                self._decide(self.applications[e.student], "accepted", record)
            case ev.ApplicationRejected() if e.student in self.applications:
                self.applications[e.student].rejected = narrowed(record, e)
            case ev.ApplicationWithdrawn() if e.student in self.applications:
                self._decide(self.applications[e.student], "withdrawn", record)
            case ev.GroupPreferenceRegistered():
                self.preferences.add(e.student, narrowed(record, e))
            case ev.GroupsAllocated():
                self.allocations.append(narrowed(record, e))
            case ev.GroupChanged():
                self.group_changes.setdefault(e.student, []).append(narrowed(record, e))
            case ev.GroupVisited():
                self.visits.setdefault(e.student, []).append(narrowed(record, e))
            case ev.AssignmentPublished():
                published = narrowed(record, e)
                self.assignments[e.assignment] = published
                self.deadlines.add(e.assignment, published)
            case ev.DeadlineChanged() if e.assignment in self.assignments:
                self.deadlines.add(e.assignment, narrowed(record, e))
            case ev.SubmissionHandedIn():
                self.hand_ins.setdefault(e.assignment, []).append(narrowed(record, e))
                team = frozenset(e.team)
                for student in e.team:
                    self.team_of[(e.assignment, student)] = team
            case ev.PresentationRecorded():
                self.presentations.add((e.assignment, e.student), narrowed(record, e))
            case ev.SubmissionAssessed():
                self.assessments.add((e.assignment, e.student), narrowed(record, e))
            case ev.ExcuseGranted():
                self.excuses.setdefault(e.student, []).append(narrowed(record, e))
            case ev.ExtensionGranted():
                self.extensions.add((e.assignment, e.student), narrowed(record, e))
            case ev.CourseworkClosed():
                self.closures.append(narrowed(record, e))
            case ev.ExamRegistered():
                self.exam.add(e.student, narrowed(record, e))
            case ev.ExamGraded():
                self.grades.add(e.student, narrowed(record, e))
            case ev.ApplicationMaterialErased():
                self.erasures.append(narrowed(record, e))

    def forget(self, record: Recorded) -> None:
        """Take a retracted record back out of the indexes, touching only what it touched.

        The result is the fold of the course without `record` (a property test
        holds it to that), whatever the record: the fold's guards are mirrored.
        """
        e = record.event
        match e:
            case ev.CourseOpened():
                _remove(self.openings, record)
            case ev.ApplicationSubmitted():
                application = self.applications.get(e.student)
                if application is not None and application.submitted is record:
                    self._seats -= application.participant
                    del self.applications[e.student]
            case ev.ApplicationAccepted() | ev.ApplicationRejected() | ev.ApplicationWithdrawn():
                application = self.applications.get(e.student)
                if application is not None:
                    self._decide(application, None, record)
            case ev.GroupPreferenceRegistered():
                self.preferences.discard(e.student, record)
            case ev.GroupsAllocated():
                _remove(self.allocations, record)
            case ev.GroupChanged():
                _discard_from(self.group_changes, e.student, record)
            case ev.GroupVisited():
                _discard_from(self.visits, e.student, record)
            case ev.AssignmentPublished():
                if self.assignments.get(e.assignment) is record:
                    del self.assignments[e.assignment]
                    # Its deadline changes were taken in only because it was published.
                    self.deadlines.drop(e.assignment)
            case ev.DeadlineChanged():
                self.deadlines.discard(e.assignment, record)
            case ev.SubmissionHandedIn():
                _discard_from(self.hand_ins, e.assignment, record)
                remaining = self.hand_ins.get(e.assignment, ())
                for student in e.team:
                    last = next((h for h in reversed(remaining) if student in h.event.team), None)
                    if last is None:
                        self.team_of.pop((e.assignment, student), None)
                    else:
                        self.team_of[(e.assignment, student)] = frozenset(last.event.team)
            case ev.PresentationRecorded():
                self.presentations.discard((e.assignment, e.student), record)
            case ev.SubmissionAssessed():
                self.assessments.discard((e.assignment, e.student), record)
            case ev.ExcuseGranted():
                _discard_from(self.excuses, e.student, record)
            case ev.ExtensionGranted():
                self.extensions.discard((e.assignment, e.student), record)
            case ev.CourseworkClosed():
                _remove(self.closures, record)
            case ev.ExamRegistered():
                self.exam.discard(e.student, record)
            case ev.ExamGraded():
                self.grades.discard(e.student, record)
            case ev.ApplicationMaterialErased():
                _remove(self.erasures, record)

    # -- questions the rules and the views ask -------------------------------

    @property
    def opened(self) -> ev.CourseOpened | None:
        """The course's opening, once it is recorded."""
        return self.openings[-1].event if self.openings else None

    @property
    def allocation(self) -> Recorded[ev.GroupsAllocated] | None:
        """The last allocation of the exercise groups, if any counts."""
        return self.allocations[-1] if self.allocations else None

    @property
    def closed(self) -> Recorded[ev.CourseworkClosed] | None:
        """The closing of the coursework, if it counts."""
        return self.closures[-1] if self.closures else None

    def participants(self) -> list[str]:
        """Accepted applicants who have not withdrawn, in order of application."""
        return [s for s, a in self.applications.items() if a.participant]

    def is_participant(self, student: str) -> bool:
        """Whether `student` is accepted and not withdrawn."""
        application = self.applications.get(student)
        return application is not None and application.participant

    def is_admitted(self, student: str) -> bool:
        """Whether `student` was accepted (and the acceptance stands), withdrawn since or not."""
        application = self.applications.get(student)
        return application is not None and application.accepted is not None

    def seats_taken(self) -> int:
        """How many participants hold a seat (counted as the fold goes: asked on every acceptance)."""
        return self._seats

    def _decide(self, application: Applicant, slot: str | None, record: Recorded) -> None:
        """Set a decision of `application` (None: forget `record`), keeping the count of seats."""
        before = application.participant
        if slot is None:
            application.forget(record)
        else:
            setattr(application, slot, record)
        self._seats += application.participant - before

    def deadline(self, assignment: str) -> datetime:
        """The course's deadline of `assignment` in view: the latest change, else the published one."""
        return self.deadlines[assignment].event.deadline

    def is_late_application(self, application: Applicant) -> bool:
        """Whether the application came after the application deadline."""
        assert self.opened is not None
        return application.event.at > self.opened.application_deadline

    def erased_students(self) -> set[str]:
        """Students whose application material has been destroyed."""
        return {s for r in self.erasures for s in r.event.students}

    def holding_material(self) -> list[str]:
        """Students whose application material is still held, in order of application: everyone
        who applied (a retracted application too: its text is sealed under the same keys) and was
        not erased since their latest application."""
        erased_at: dict[str, int] = {}
        for erasure in self.erasures:
            for student in erasure.event.students:
                erased_at[student] = max(erased_at.get(student, 0), erasure.position)
        return [s for s, r in self.applied.items() if erased_at.get(s, 0) < r.position]

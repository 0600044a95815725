"""One course offering as its events tell it: a fold kept as indexes.

The same fold serves the rules that guard an append (over everything recorded)
and the views (over what a clock lets them see): `Course.view` picks the events,
the fold does the rest. A retraction makes the indexes be rebuilt without the
cancelled event; retractions are rare, so that is cheaper than undoing by type.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from ledger import events as ev
from ledger.events import Recorded


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


class Application:
    """One applicant's application and what became of it."""

    __slots__ = ("accepted", "rejected", "submitted", "withdrawn")

    def __init__(self, submitted: Recorded) -> None:
        self.submitted = submitted
        self.accepted: Recorded | None = None
        self.rejected: Recorded | None = None
        self.withdrawn: Recorded | None = None

    @property
    def event(self) -> ev.ApplicationSubmitted:
        """The ApplicationSubmitted event."""
        return self.submitted.event  # type: ignore[return-value]

    @property
    def decided(self) -> bool:
        """Accepted, rejected or withdrawn."""
        return bool(self.accepted or self.rejected or self.withdrawn)

    @property
    def participant(self) -> bool:
        """Accepted and not withdrawn."""
        return self.accepted is not None and self.withdrawn is None


def latest(current: Recorded | None, candidate: Recorded) -> Recorded:
    """The later of two records: greatest `at`, then greatest position (SPEC §3)."""
    if current is None:
        return candidate
    if (candidate.event.at, candidate.position) >= (current.event.at, current.position):
        return candidate
    return current


class Course:
    """The indexes of one course offering, folded from its records."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.records: list[Recorded] = []
        self.by_id: dict[UUID, Recorded] = {}
        self.retractions: dict[UUID, Recorded] = {}
        self._reset()

    def _reset(self) -> None:
        self.opened: ev.CourseOpened | None = None
        self.applications: dict[str, Application] = {}
        self.preferences: dict[str, Recorded] = {}
        self.allocation: Recorded | None = None
        self.group_of: dict[str, str] = {}
        self.group_changes: dict[str, list[Recorded]] = {}
        self.assignments: dict[str, Recorded] = {}
        self.deadlines: dict[str, Recorded] = {}
        self.hand_ins: dict[str, list[Recorded]] = {}
        self.team_of: dict[tuple[str, str], frozenset[str]] = {}
        self.presentations: dict[tuple[str, str], Recorded] = {}
        self.assessments: dict[tuple[str, str], Recorded] = {}
        self.excuses: dict[str, list[Recorded]] = {}
        self.closed: Recorded | None = None
        self.exam: dict[str, Recorded] = {}
        self.grades: dict[str, Recorded] = {}
        self.erasures: list[Recorded] = []

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
        if isinstance(event, ev.EventRetracted):
            self.retractions[event.event] = record
            if event.event in self.by_id:
                self._reindex()
            return
        if record.id not in self.retractions:
            self._index(record)

    def _reindex(self) -> None:
        self._reset()
        for record in self.records:
            if record.id not in self.retractions and not isinstance(
                record.event, ev.EventRetracted
            ):
                self._index(record)

    def _index(self, record: Recorded) -> None:
        e = record.event
        match e:
            case ev.CourseOpened():
                self.opened = e
            case ev.ApplicationSubmitted():
                self.applications[e.student] = Application(record)
            # A view may hold a decision without its application (an `at` set before
            # the application's): the fold skips it rather than fail the view.
            case ev.ApplicationAccepted() if e.student in self.applications:
                self.applications[e.student].accepted = record
            case ev.ApplicationRejected() if e.student in self.applications:
                self.applications[e.student].rejected = record
            case ev.ApplicationWithdrawn() if e.student in self.applications:
                self.applications[e.student].withdrawn = record
            case ev.GroupPreferenceRegistered():
                self.preferences[e.student] = record
            case ev.GroupsAllocated():
                self.allocation = record
                self.group_of.update(e.allocation)
            case ev.GroupChanged():
                self.group_changes.setdefault(e.student, []).append(record)
                self.group_of[e.student] = e.group
            case ev.AssignmentPublished():
                self.assignments[e.assignment] = record
                self.deadlines[e.assignment] = latest(self.deadlines.get(e.assignment), record)
            case ev.DeadlineChanged() if e.assignment in self.assignments:
                self.deadlines[e.assignment] = latest(self.deadlines.get(e.assignment), record)
            case ev.SubmissionHandedIn():
                self.hand_ins.setdefault(e.assignment, []).append(record)
                team = frozenset(e.team)
                for student in e.team:
                    self.team_of[(e.assignment, student)] = team
            case ev.PresentationRecorded():
                key = (e.assignment, e.student)
                self.presentations[key] = latest(self.presentations.get(key), record)
            case ev.SubmissionAssessed():
                key = (e.assignment, e.student)
                self.assessments[key] = latest(self.assessments.get(key), record)
            case ev.ExcuseGranted():
                self.excuses.setdefault(e.student, []).append(record)
            case ev.CourseworkClosed():
                self.closed = record
            case ev.ExamRegistered():
                self.exam[e.student] = record
            case ev.ExamGraded():
                self.grades[e.student] = latest(self.grades.get(e.student), record)
            case ev.ApplicationMaterialErased():
                self.erasures.append(record)

    # -- questions the rules and the views ask -------------------------------

    def participants(self) -> list[str]:
        """Accepted applicants who have not withdrawn, in order of application."""
        return [s for s, a in self.applications.items() if a.participant]

    def is_participant(self, student: str) -> bool:
        """Whether `student` is accepted and not withdrawn."""
        application = self.applications.get(student)
        return application is not None and application.participant

    def seats_taken(self) -> int:
        """How many participants hold a seat."""
        return sum(1 for a in self.applications.values() if a.participant)

    def deadline(self, assignment: str) -> datetime:
        """The deadline of `assignment` in view: the latest publication or change."""
        return self.deadlines[assignment].event.deadline  # type: ignore[union-attr,no-any-return]

    def group_members(self, group: str) -> list[str]:
        """Participants currently in `group`."""
        return [s for s, g in self.group_of.items() if g == group and self.is_participant(s)]

    def is_late_application(self, application: Application) -> bool:
        """Whether the application came after the application deadline."""
        assert self.opened is not None
        return application.event.at > self.opened.application_deadline

    def erased_students(self) -> set[str]:
        """Students whose application material has been destroyed."""
        return {s for r in self.erasures for s in r.event.students}  # type: ignore[union-attr]

"""A student's timeline: every event about them in order, beside their outcomes and status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger import coursework
from ledger import events as ev
from ledger.course import Course
from ledger.events import Recorded
from projections.admission import admitted
from projections.log import describe
from projections.reading import Reading
from projections.status import StudentStatus, student_status


@dataclass(frozen=True, slots=True)
class Moment:
    """One event about a student, placed on their timeline (once per assignment it covers)."""

    at: datetime  # in the course's time zone
    assignment: str  # empty for the course's own steps: application, decision, group, exam
    event: str  # its type
    says: str  # what it says, as the audit trail words it
    against: bool  # whether it counts against the student: a late hand-in, a failed presentation, a negative verdict
    position: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """One admitted student: name, status and outcomes at the clock, and the events about them."""

    status: StudentStatus
    name: str
    moments: tuple[Moment, ...]

    @property
    def student(self) -> str:
        """The student's id."""
        return self.status.standing.student


def against(course: Course, event: ev.Event, student: str) -> bool:
    """Whether `event` counts against `student`, whom it names (the rules of SPEC §5, per event)."""
    if isinstance(event, ev.SubmissionHandedIn):
        # (A view may hold a hand-in whose assignment it does not yet see published.)
        if event.assignment not in course.deadlines:
            return False
        deadline = coursework.own_deadline(course, student, event.assignment).event  # an extension, if one counts
        return event.at > deadline.deadline
    if isinstance(event, ev.PresentationRecorded):
        return event.outcome in coursework.NEGATIVE_OUTCOMES
    if isinstance(event, ev.SubmissionAssessed):
        return event.verdict in coursework.NEGATIVE_VERDICTS
    return False


def timelines(reading: Reading) -> list[Timeline]:
    """The timeline of every admitted student (withdrawn ones included), in order of application."""
    course = reading.whole()
    if course.opened is None:
        return []
    students = admitted(reading)
    about: dict[str, list[Recorded]] = {s: [] for s in students}
    for record in reading.records:
        if record.id in course.retractions or isinstance(record.event, ev.EventRetracted):
            continue
        for student in record.event.concerned_students():
            if student in about:
                about[student].append(record)
    names = reading.names(students)
    return [
        Timeline(student_status(reading, s), names.get(s, ""), tuple(_moments(reading, course, s, about[s])))
        for s in students
    ]


def _moments(reading: Reading, course: Course, student: str, records: list[Recorded]) -> list[Moment]:
    moments = []
    for record in records:
        event = record.event
        at, name, says = reading.local(event.at), ev.type_name(event), describe(record, reading.timezone)
        bad = against(course, event, student)
        for assignment in event.concerned_assignments() or ("",):
            if assignment == "" or assignment in course.assignments:
                moments.append(Moment(at, assignment, name, says, bad, record.position))
    return moments

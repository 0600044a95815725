"""Every fact the ledger records: one tagged union of frozen msgspec Structs.

The tag (`type` on the wire, `topic` in the store) is each event's stable name.
It is written explicitly, never derived from the class name, and never changes:
renaming a class is harmless, renaming a tag would orphan history.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Literal
from uuid import UUID

import msgspec

Programme = Literal["bachelor", "master"]
Outcome = Literal["explained", "failed_to_explain", "absent"]
Verdict = Literal["sufficient", "insufficient_effort", "uncited_copy"]
ExamMode = Literal["graded", "certificate"]

CREDITS: dict[str, int] = {"bachelor": 5, "master": 6}
GRADES: tuple[float, ...] = (1.0, 1.3, 1.7, 2.0, 2.3, 2.7, 3.0, 3.3, 3.7, 4.0, 5.0)
PASSING_GRADE = 4.0


class Event(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    """A fact about one course offering, as it happened in the world at `at`."""

    course: str
    at: datetime


class Group(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An exercise group: its weekly slot ("Thu 11:00") and how many it seats."""

    id: str
    slot: str
    capacity: int


class CourseOpened(Event, frozen=True, kw_only=True, tag="CourseOpened"):
    """A course offering opens for applications."""

    title: str
    timezone: str
    capacity: int
    application_deadline: datetime
    registration_deadline: datetime
    groups: tuple[Group, ...]
    max_fails: int = 2
    max_team_size: int = 3


class ApplicationSubmitted(Event, frozen=True, kw_only=True, tag="ApplicationSubmitted"):
    """A student applies; name, email and statement are application material."""

    student: str
    name: str
    email: str
    programme: Programme
    prerequisite: str
    statement: str = ""


class ApplicationAccepted(Event, frozen=True, kw_only=True, tag="ApplicationAccepted"):
    """An applicant is admitted to the course."""

    student: str


class ApplicationRejected(Event, frozen=True, kw_only=True, tag="ApplicationRejected"):
    """An applicant is turned down."""

    student: str
    reason: str


class ApplicationWithdrawn(Event, frozen=True, kw_only=True, tag="ApplicationWithdrawn"):
    """An applicant or participant leaves the course."""

    student: str
    reason: str


class GroupPreferenceRegistered(Event, frozen=True, kw_only=True, tag="GroupPreferenceRegistered"):
    """A participant ranks the exercise groups, best first."""

    student: str
    priorities: tuple[str, ...]


class GroupsAllocated(Event, frozen=True, kw_only=True, tag="GroupsAllocated"):
    """Participants are placed into exercise groups from their preferences."""

    allocation: dict[str, str]
    seed: int = 0


class GroupChanged(Event, frozen=True, kw_only=True, tag="GroupChanged"):
    """A participant moves to (or is first placed in) a group."""

    student: str
    group: str
    reason: str


class AssignmentPublished(Event, frozen=True, kw_only=True, tag="AssignmentPublished"):
    """A weekly programming assignment is set, with its deadline."""

    assignment: str
    title: str
    deadline: datetime


class DeadlineChanged(Event, frozen=True, kw_only=True, tag="DeadlineChanged"):
    """An assignment's deadline moves for the whole course."""

    assignment: str
    deadline: datetime
    reason: str


class SubmissionHandedIn(Event, frozen=True, kw_only=True, tag="SubmissionHandedIn"):
    """A team hands in its solution to an assignment."""

    assignment: str
    team: tuple[str, ...]
    digest: str | None = None


class PresentationRecorded(Event, frozen=True, kw_only=True, tag="PresentationRecorded"):
    """How a student fared when asked to explain the team's solution."""

    assignment: str
    student: str
    outcome: Outcome


class SubmissionAssessed(Event, frozen=True, kw_only=True, tag="SubmissionAssessed"):
    """An assessor's verdict on a student's hand-in."""

    assignment: str
    student: str
    verdict: Verdict
    note: str = ""


class ExcuseGranted(Event, frozen=True, kw_only=True, tag="ExcuseGranted"):
    """A medical certificate excuses a student from assignments."""

    student: str
    assignments: tuple[str, ...]
    certificate: str
    reason: Literal["illness"] = "illness"


class EventRetracted(Event, frozen=True, kw_only=True, tag="EventRetracted"):
    """A mistaken event is cancelled; the record of it stays."""

    event: UUID
    reason: str


class CourseworkClosed(Event, frozen=True, kw_only=True, tag="CourseworkClosed"):
    """Coursework is over: exam admission is decided."""


class ExamRegistered(Event, frozen=True, kw_only=True, tag="ExamRegistered"):
    """A participant registers for the exam, graded or for a certificate."""

    student: str
    mode: ExamMode


class ExamGraded(Event, frozen=True, kw_only=True, tag="ExamGraded"):
    """A registered candidate's exam grade on the German scale."""

    student: str
    grade: float


class ApplicationMaterialErased(Event, frozen=True, kw_only=True, tag="ApplicationMaterialErased"):
    """Selection is over: these students' application material is destroyed."""

    students: tuple[str, ...]


AnyEvent = (
    CourseOpened
    | ApplicationSubmitted
    | ApplicationAccepted
    | ApplicationRejected
    | ApplicationWithdrawn
    | GroupPreferenceRegistered
    | GroupsAllocated
    | GroupChanged
    | AssignmentPublished
    | DeadlineChanged
    | SubmissionHandedIn
    | PresentationRecorded
    | SubmissionAssessed
    | ExcuseGranted
    | EventRetracted
    | CourseworkClosed
    | ExamRegistered
    | ExamGraded
    | ApplicationMaterialErased
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in AnyEvent.__args__  # type: ignore[attr-defined]
}


def type_name(event: Event) -> str:
    """The stable name of an event's type: its `type` on the wire."""
    return event.__struct_config__.tag  # type: ignore[return-value]


@cache
def datetime_fields(cls: type[Event]) -> tuple[str, ...]:
    """Names of the fields of `cls` that hold instants."""
    return tuple(f.name for f in msgspec.structs.fields(cls) if f.type is datetime)


class Recorded(msgspec.Struct, frozen=True):
    """An event as the ledger holds it: with its id, position and who recorded it."""

    id: UUID
    position: int
    recorded_at: datetime
    recorded_by: str
    event: AnyEvent


class Envelope(msgspec.Struct, frozen=True):
    """What is stored for one event: everything but its position (given on insert)."""

    id: UUID
    recorded_at: datetime
    recorded_by: str
    event: AnyEvent


envelope_encoder = msgspec.json.Encoder()
envelope_decoder = msgspec.json.Decoder(Envelope)

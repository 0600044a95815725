"""Every fact the ledger records: one tagged union of frozen msgspec Structs.

The tag (`type` on the wire, `topic` in the store) is each event's stable name.
It is written explicitly, never derived from the class name, and never changes:
renaming a class is harmless, renaming a tag would orphan history.

Beside its fields, every event type declares the facts the rest of the program
asks of it (`tests/test_event_facts.py` fails for a type that leaves one out):
`concerns` (the students and assignments it names, and whether every
student's outcomes may rest on it) and `describe` (its line in the audit
trail). Its rule check is its entry in `ledger.rules.CHECKS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import ClassVar, Generic, Literal, NamedTuple, Protocol, cast, get_args
from uuid import UUID

import msgspec
from typing_extensions import TypeIs, TypeVar  # PEP 696 defaults, PEP 742 (typing has them from 3.13)

Programme = Literal["bachelor", "master"]
Outcome = Literal["explained", "failed_to_explain", "absent"]
Verdict = Literal["sufficient", "insufficient_effort", "uncited_copy", "transfer_missing"]
ExamMode = Literal["graded", "certificate"]

CREDITS: dict[str, int] = {"bachelor": 5, "master": 6}
GRADES: tuple[float, ...] = (1.0, 1.3, 1.7, 2.0, 2.3, 2.7, 3.0, 3.3, 3.7, 4.0, 5.0)
PASSING_GRADE = 4.0


class Concerns(NamedTuple):
    """Whom and what an event type is about: the fields that name students and assignments.

    A field holds one id (`student`), several (`team`), or ids as keys
    (`allocation`). `course_wide`: every student's outcomes may rest on it,
    so one student's view (`status STUDENT`) reads it whoever it names.
    """

    students: tuple[str, ...] = ()
    assignments: tuple[str, ...] = ()
    course_wide: bool = False


class Words(Protocol):
    """What an audit line needs from whoever reads it: the course's clock face, other events."""

    def instant(self, moment: datetime) -> str:
        """`moment` as shown in the course's time zone."""
        ...

    def event(self, event_id: UUID) -> str:
        """Another event of the course, named in a few words (`#12 SubmissionHandedIn`)."""
        ...


def ids_in(value: object) -> tuple[str, ...]:
    """The ids a field holds: one (`student`), several (`team`), or the keys of a mapping (`allocation`)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Mapping):
        return tuple(value)
    if isinstance(value, tuple):
        return value
    raise TypeError(f"not a field of ids: {value!r}")


class Event(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"):
    """A fact about one course offering, as it happened in the world at `at`."""

    course: str
    at: datetime

    # Where a type forgets to say, every student's view reads it: slower, never wrong.
    concerns: ClassVar[Concerns] = Concerns(course_wide=True)

    def concerned_students(self) -> tuple[str, ...]:
        """The students this event names (a hand-in: its team)."""
        return tuple(s for name in self.concerns.students for s in ids_in(getattr(self, name)))

    def concerned_assignments(self) -> tuple[str, ...]:
        """The assignments this event is about."""
        return tuple(a for name in self.concerns.assignments for a in ids_in(getattr(self, name)))

    def describe(self, say: Words) -> str:
        """What this event says, in one line of the audit trail."""
        return type_name(self)


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

    concerns = Concerns(course_wide=True)

    def describe(self, say: Words) -> str:
        groups = ", ".join(f"{g.id} ({g.slot}, {g.capacity})" for g in self.groups)
        return f"{self.title!r}, {self.capacity} seats, groups {groups}, max_fails {self.max_fails}"


class ApplicationSubmitted(Event, frozen=True, kw_only=True, tag="ApplicationSubmitted"):
    """A student applies; name, email and statement are application material."""

    student: str
    name: str
    email: str
    programme: Programme
    prerequisite: str
    statement: str = ""

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} applied ({self.programme}; prerequisite {self.prerequisite!r})"


class ApplicationAccepted(Event, frozen=True, kw_only=True, tag="ApplicationAccepted"):
    """An applicant is admitted to the course."""

    student: str

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} accepted"


class ApplicationRejected(Event, frozen=True, kw_only=True, tag="ApplicationRejected"):
    """An applicant is turned down."""

    student: str
    reason: str

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} rejected: {self.reason}"


class ApplicationWithdrawn(Event, frozen=True, kw_only=True, tag="ApplicationWithdrawn"):
    """An applicant or participant leaves the course."""

    student: str
    reason: str

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} withdrew: {self.reason}"


class GroupPreferenceRegistered(Event, frozen=True, kw_only=True, tag="GroupPreferenceRegistered"):
    """A participant ranks the exercise groups, best first."""

    student: str
    priorities: tuple[str, ...]

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} prefers {' > '.join(self.priorities)}"


class GroupsAllocated(Event, frozen=True, kw_only=True, tag="GroupsAllocated"):
    """Participants are placed into exercise groups from their preferences."""

    allocation: dict[str, str]
    seed: int = 0

    concerns = Concerns(students=("allocation",), course_wide=True)

    def describe(self, say: Words) -> str:
        return f"{len(self.allocation)} participants placed (seed {self.seed})"


class GroupChanged(Event, frozen=True, kw_only=True, tag="GroupChanged"):
    """A participant moves to (or is first placed in) a group."""

    student: str
    group: str
    reason: str

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} to group {self.group}: {self.reason}"


class GroupVisited(Event, frozen=True, kw_only=True, tag="GroupVisited"):
    """A participant sits in another group's session once, in one week (SPEC §1.3)."""

    student: str
    group: str
    week: int  # 1: the week of the first earlier session after the registration deadline
    reason: str

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} visits group {self.group} in week {self.week}: {self.reason}"


# `omit_defaults`: `transfer` came later; a publication without a transfer part is stored and
# written as it was before, so its bytes, its digest and the id derived from its content stay.
class AssignmentPublished(Event, frozen=True, kw_only=True, omit_defaults=True, tag="AssignmentPublished"):
    """A weekly programming assignment is set, with its deadline (and a transfer part for 6-CP participants)."""

    assignment: str
    title: str
    deadline: datetime
    transfer: bool = False

    concerns = Concerns(assignments=("assignment",), course_wide=True)

    def describe(self, say: Words) -> str:
        transfer = ", with a transfer part" if self.transfer else ""
        return f"{self.assignment} {self.title!r}, deadline {say.instant(self.deadline)}{transfer}"


class DeadlineChanged(Event, frozen=True, kw_only=True, tag="DeadlineChanged"):
    """An assignment's deadline moves for the whole course."""

    assignment: str
    deadline: datetime
    reason: str

    concerns = Concerns(assignments=("assignment",), course_wide=True)

    def describe(self, say: Words) -> str:
        return f"{self.assignment} deadline moved to {say.instant(self.deadline)}: {self.reason}"


class SubmissionHandedIn(Event, frozen=True, kw_only=True, tag="SubmissionHandedIn"):
    """A team hands in its solution to an assignment."""

    assignment: str
    team: tuple[str, ...]
    digest: str | None = None

    concerns = Concerns(students=("team",), assignments=("assignment",))

    def describe(self, say: Words) -> str:
        digest = f" ({self.digest})" if self.digest else ""
        return f"{self.assignment} by {', '.join(self.team)}{digest}"


class PresentationRecorded(Event, frozen=True, kw_only=True, tag="PresentationRecorded"):
    """How a student fared when asked to explain the team's solution."""

    assignment: str
    student: str
    outcome: Outcome

    concerns = Concerns(students=("student",), assignments=("assignment",))

    def describe(self, say: Words) -> str:
        return f"{self.assignment} {self.student}: {self.outcome}"


class SubmissionAssessed(Event, frozen=True, kw_only=True, tag="SubmissionAssessed"):
    """An assessor's verdict on a student's hand-in."""

    assignment: str
    student: str
    verdict: Verdict
    note: str = ""

    concerns = Concerns(students=("student",), assignments=("assignment",))

    def describe(self, say: Words) -> str:
        note = f" ({self.note})" if self.note else ""
        return f"{self.assignment} {self.student}: {self.verdict}{note}"


class ExcuseGranted(Event, frozen=True, kw_only=True, tag="ExcuseGranted"):
    """A medical certificate excuses a student from assignments."""

    student: str
    assignments: tuple[str, ...]
    certificate: str
    reason: Literal["illness"] = "illness"

    concerns = Concerns(students=("student",), assignments=("assignments",))

    def describe(self, say: Words) -> str:
        covered = ", ".join(self.assignments)
        return f"{self.student} excused from {covered} ({self.reason}, certificate {self.certificate})"


class ExtensionGranted(Event, frozen=True, kw_only=True, tag="ExtensionGranted"):
    """One participant gets a later deadline for one assignment (Moodle's "Grant extension")."""

    student: str
    assignment: str
    deadline: datetime
    reason: str
    certificate: str = ""

    concerns = Concerns(students=("student",), assignments=("assignment",))

    def describe(self, say: Words) -> str:
        certificate = f", certificate {self.certificate}" if self.certificate else ""
        return (
            f"{self.student} granted an extension of {self.assignment} until "
            f"{say.instant(self.deadline)}: {self.reason}{certificate}"
        )


class EventRetracted(Event, frozen=True, kw_only=True, tag="EventRetracted"):
    """A mistaken event is cancelled; the record of it stays."""

    event: UUID
    reason: str

    concerns = Concerns(course_wide=True)

    def describe(self, say: Words) -> str:
        return f"cancels {say.event(self.event)}: {self.reason}"


class CourseworkClosed(Event, frozen=True, kw_only=True, tag="CourseworkClosed"):
    """Coursework is over: exam admission is decided."""

    concerns = Concerns(course_wide=True)

    def describe(self, say: Words) -> str:
        return "coursework closed"


class ExamRegistered(Event, frozen=True, kw_only=True, tag="ExamRegistered"):
    """A participant registers for the exam, graded or for a certificate."""

    student: str
    mode: ExamMode

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} registered for the exam ({self.mode})"


class ExamGraded(Event, frozen=True, kw_only=True, tag="ExamGraded"):
    """A registered candidate's exam grade on the German scale."""

    student: str
    grade: float

    concerns = Concerns(students=("student",))

    def describe(self, say: Words) -> str:
        return f"{self.student} graded {self.grade}"


class ApplicationMaterialErased(Event, frozen=True, kw_only=True, tag="ApplicationMaterialErased"):
    """Selection is over: these students' application material is destroyed."""

    students: tuple[str, ...]

    concerns = Concerns(students=("students",), course_wide=True)

    def describe(self, say: Words) -> str:
        return f"application material of {len(self.students)} applicants erased"


AnyEvent = (
    CourseOpened
    | ApplicationSubmitted
    | ApplicationAccepted
    | ApplicationRejected
    | ApplicationWithdrawn
    | GroupPreferenceRegistered
    | GroupsAllocated
    | GroupChanged
    | GroupVisited
    | AssignmentPublished
    | DeadlineChanged
    | SubmissionHandedIn
    | PresentationRecorded
    | SubmissionAssessed
    | ExcuseGranted
    | ExtensionGranted
    | EventRetracted
    | CourseworkClosed
    | ExamRegistered
    | ExamGraded
    | ApplicationMaterialErased
)

EVENT_TYPES: dict[str, type[AnyEvent]] = {cls.__struct_config__.tag: cls for cls in get_args(AnyEvent)}


def type_name(event: Event) -> str:
    """The stable name of an event's type: its `type` on the wire."""
    tag = event.__struct_config__.tag
    assert isinstance(tag, str), f"{type(event).__name__} has no tag"
    return tag


@cache
def datetime_fields(cls: type[Event]) -> tuple[str, ...]:
    """Names of the fields of `cls` that hold instants."""
    return tuple(f.name for f in msgspec.structs.fields(cls) if f.type is datetime)


# What a record holds: `Recorded` alone is a record of any event of the union,
# `Recorded[ev.ApplicationSubmitted]` one known to hold an application.
E = TypeVar("E", bound=Event, covariant=True, default=AnyEvent)
F = TypeVar("F", bound=Event)


class Recorded(msgspec.Struct, Generic[E], frozen=True):
    """An event as the ledger holds it: with its id, position and who recorded it."""

    id: UUID
    position: int
    recorded_at: datetime
    recorded_by: str
    event: E


def narrowed(record: Recorded[Event], event: F) -> Recorded[F]:
    """`record`, typed by its event as the caller has narrowed it (`match record.event: case X() as e`).

    The one place a record's type follows its event's: mypy narrows an attribute,
    not the generic object that holds it.
    """
    assert record.event is event
    return cast("Recorded[F]", record)


def holds(record: Recorded[Event], kind: type[F]) -> TypeIs[Recorded[F]]:
    """Whether `record` holds an event of `kind` (to mypy: whether it is a `Recorded[kind]`)."""
    return isinstance(record.event, kind)


class Envelope(msgspec.Struct, frozen=True):
    """What is stored for one event: everything but its position (given on insert)."""

    id: UUID
    recorded_at: datetime
    recorded_by: str
    event: AnyEvent


envelope_encoder = msgspec.json.Encoder()
envelope_decoder = msgspec.json.Decoder(Envelope)


def decode_stored(state: bytes, position: int | None = None) -> Envelope:
    """The envelope stored as `state`; `Damaged` (naming `position`) when the bytes are not one."""
    try:
        return envelope_decoder.decode(state)
    except msgspec.DecodeError as error:
        from ledger.errors import Damaged

        where = f"the event at position {position}" if position is not None else "a stored event"
        raise Damaged(f"{where} cannot be read ({error})") from None

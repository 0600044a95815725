"""One read of one course: the store's views caught up, the course chosen, cut to a clock.

Every read model (`status`, `explain`, `log`, `admission`, `roster`,
`teams`, `sheet`, `gradebook`, `exam`) takes a `Reading`; `read` makes one from a store:

    reading = read("ledger.sqlite", "idl-2025", as_of=datetime(2025, 6, 1, tzinfo=UTC))
    rows = admission(reading)

Catching up, the position index and the store adapters stay behind it. The
clock is applied here (SPEC §2): `as_of` (default: `known_at` if given, else
now) and `known_at`; an instant without an offset is read in the course's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from ledger import clock as clocks
from ledger import events as ev
from ledger.errors import LedgerError, StoreError
from ledger.events import Recorded
from projections.scope import Clock, share, visible

if TYPE_CHECKING:
    from ledger.course import Applicant, Course
    from projections.runner import Views


class NotAParticipant(LedgerError):
    """A read about one student who was never admitted to the course."""


class BadClock(clocks.BadInstant):
    """An instant of a view's clock that cannot be read without guessing; `field` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field  # "as_of" or "known_at"


def open_store(store: str, writes: bool = True) -> Views:
    """The views of `store`, as they are (a missing SQLite file is not created, nor tables in another program's).

    Without `writes`, nothing is created or written in the store at all (`Views.open`).
    """
    from ledger.store import require_store
    from projections.runner import Views

    require_store(store)
    return Views.open(store, writes)


def open_views(store: str) -> Views:
    """The views of `store`, caught up with its ledger."""
    views = open_store(store)
    views.catch_up()
    return views


def choose_course(courses: list[str], wanted: str | None, known: bool = True) -> str:
    """The course a command is about: `wanted`, or the only one of `courses`.

    With `known`, `wanted` must be one of them (a read; an append names a
    course the rules check itself).
    """
    if wanted:
        if known and wanted not in courses:
            raise StoreError(f"no course {wanted!r} in the store")
        return wanted
    if len(courses) == 1:
        return courses[0]
    if not courses:
        raise StoreError("the store holds no course yet: open one with open-course")
    raise StoreError(f"the store holds several courses ({', '.join(courses)}): pass --course")


def courses_in_view(views: Views, as_of: datetime | None = None, known_at: datetime | None = None) -> list[str]:
    """The courses whose opening a view under the clock sees, in the order they were opened.

    The same cut as the view's own (`scope.visible`), each course under its
    own clock (an instant without an offset is read in its time zone).
    """
    return [
        opening.event.course
        for opening in views.openings()
        if isinstance(opening.event, ev.CourseOpened)
        and visible([opening], clock_for(opening.event.timezone, as_of, known_at))
    ]


def course_in_view(views: Views, wanted: str | None, as_of: datetime | None, known_at: datetime | None) -> str:
    """The course a read is about: `wanted`, else the only course the clock sees (`choose_course`).

    A store of one course gives it under any clock (its view then says it is
    not open yet); of several, only those the clock sees are named or chosen,
    so a view of an earlier time never tells of a course opened since.
    """
    courses = views.courses()
    if wanted or len(courses) <= 1:
        return choose_course(courses, wanted)
    seen = courses_in_view(views, as_of, known_at)
    if not seen:
        raise StoreError("none of the store's courses is in view at that clock (--as-of, --known-at): pass --course")
    return choose_course(seen, None)


def clock_for(timezone: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Clock:
    """A view's clock in UTC; instants without an offset are read in `timezone`.

    `as_of` defaults to `known_at` when only that is given (the ledger as it
    was found then), else to now.
    """

    def read(value: datetime | None, field: str) -> datetime | None:
        try:
            return None if value is None else clocks.localize(value, timezone)
        except clocks.BadInstant as error:
            raise BadClock(field, str(error)) from None

    known = read(known_at, "known_at")
    return Clock(read(as_of, "as_of") or known or clocks.now(), known)


class Reading:
    """A course as a view under one clock sees it: what every read model takes.

    With `student`, only the records that student's outcomes rest on were read
    (`scope.share`): enough for their status, and much less to decode.
    """

    def __init__(
        self, views: Views, name: str, timezone: str, recorded: list[Recorded], clock: Clock, student: str | None
    ) -> None:
        self.views = views
        self.name = name
        self.timezone = timezone
        self.clock = clock
        self.student = student
        self.records = visible(recorded, clock)  # what the clock lets the view see, in position order

    @property
    def as_of(self) -> datetime:
        """The instant deadlines are judged at."""
        return self.clock.as_of

    @cached_property
    def course(self) -> Course:
        """The course folded from what the view sees (with `student`: from their share)."""
        from ledger.course import Course

        return Course.fold(self.name, self.records)

    def of(self, student: str) -> Course:
        """The course as far as `student`'s outcomes and status go (their share, folded)."""
        from ledger.course import Course

        if self.student is None:
            return Course.fold(self.name, share(self.records, student))
        if self.student != student:
            raise ValueError(f"this reading holds the share of {self.student!r}, not of {student!r}")
        return self.course

    def whole(self) -> Course:
        """The whole course (a reading of one student's share cannot give it)."""
        if self.student is not None:
            raise ValueError(f"this reading holds only the share of {self.student!r}")
        return self.course

    def local(self, moment: datetime) -> datetime:
        """`moment` in the course's time zone."""
        return clocks.local(moment, self.timezone)

    def names(self, students: Iterable[str]) -> dict[str, str]:
        """Students' names, opened from their sealed applications (`[erased]` once destroyed)."""
        return self.views.names(self.course, students)

    def contacts(self, students: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Students' names and emails, opened from their sealed applications (`[erased]` once destroyed)."""
        return self.views.contacts(self.course, students)


def read(
    source: str | Views,
    course: str | None = None,
    *,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    student: str | None = None,
    writes: bool = True,
) -> Reading:
    """Read `course` (default: the store's only one) of a store (its URL or path, or its opened views).

    The views are caught up first; without `writes`, they are left as they
    are and the course is read straight from the ledger's streams, so that
    the read writes nothing at all. With `student`, only what that student's
    outcomes and status rest on is read.
    """
    if not writes:
        views = open_store(source, writes=False) if isinstance(source, str) else source
        views.direct = True
    elif isinstance(source, str):
        views = open_views(source)
    else:
        views = source
        views.catch_up()
    name = course_in_view(views, course, as_of, known_at)
    recorded = views.records(name, student)
    opened = recorded[0].event if recorded else None
    timezone = opened.timezone if isinstance(opened, ev.CourseOpened) else "UTC"
    return Reading(views, name, timezone, recorded, clock_for(timezone, as_of, known_at), student)


def participant(course: Course, who: str) -> Applicant:
    """The application of `who`, who must have been admitted (else `NotAParticipant`, saying why)."""
    application = course.applications.get(who)
    if course.opened is None or application is None or application.accepted is None:
        raise NotAParticipant(_decision(course, who))
    return application


def _decision(course: Course, student: str) -> str:
    application = course.applications.get(student)
    if application is None:
        return f"no application from {student!r} in {course.name}"
    if application.rejected is not None:
        rejected = application.rejected.event
        reason = rejected.reason if isinstance(rejected, ev.ApplicationRejected) else ""
        return f"{student} was not admitted: rejected ({reason})"
    if application.withdrawn is not None:
        return f"{student} withdrew the application before a decision"
    return f"{student} has applied; the application is not decided yet"

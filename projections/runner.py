"""Keep the views current: a pull loop from the ledger's log into per-course chunk rows.

Reads call `catch_up` first: it asks the ledger's head and the checkpoint in one
query, and folds in only what is new, so a read costs in proportion to what
happened since the last one, never to the whole history. The stored projection
holds clock-independent facts only (each course's records, sealed as stored);
the clock is applied when a view is read (see `projections.scope`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ledger.bulk import paused_gc
from ledger.course import Course
from ledger.errors import StoreError, first_line, may_not_write, store_failures
from ledger.events import Recorded
from projections import chunks

if TYPE_CHECKING:
    from ledger.store.log import LogStore

# The tracking name of the views; a new row format gets a new name, and the old
# views are then rebuilt on the first read.
NAME = "views-v1"
# The tables a writer keeps current on PostgreSQL (the tracking table is eventsourcing's).
VIEW_TABLES = ("view_courses", "view_chunks", "subledger_tracking")
PAGE = 250_000


class Views:
    """The view tables of one store, their checkpoint, and the ledger's log they follow."""

    def __init__(self, factory: Any, log: Any) -> None:
        self.factory = factory
        self.log: LogStore = log  # the ledger's own recorder: head, material keys
        # A reader who may not write the views (an auditor's role, a read-only
        # file) reads each course straight from the ledger's streams instead.
        self.direct = False
        if type(factory).__module__.endswith("postgres"):
            from projections.postgres import ViewRecorder as PostgresViews

            views = factory.tracking_recorder(PostgresViews)
            views.events_table_name = log.events_table_name
            self.recorder: chunks.ViewStore = views
        else:
            from projections.sqlite import ViewRecorder as SQLiteViews

            self.recorder = factory.tracking_recorder(SQLiteViews)

    @classmethod
    def of(cls, ledger: Any) -> Views:
        """The views of an opened `Ledger`, on its own datastore."""
        return cls(ledger.factory, ledger.recorder)

    @classmethod
    def open(cls, store: str, writes: bool = True) -> Views:
        """The views of `store`, opened without the write side's application machinery.

        Without `writes`, nothing in the store is created or written (not even
        the view tables of a store that has none): the views read each course
        straight from the ledger's streams.
        """
        from eventsourcing.utils import Environment

        from ledger.store import cannot_open, is_postgres, store_env

        env = Environment("subledger", {**os.environ, **store_env(store), **({} if writes else {"CREATE_TABLE": "false"})})
        factory: Any = None
        try:
            if is_postgres(store):
                from ledger.store.postgres import Factory as PostgresFactory

                factory = PostgresFactory(env)
            else:
                from ledger.store.sqlite import Factory as SQLiteFactory

                factory = SQLiteFactory(env)
            views = cls(factory, factory.application_recorder())
        except store_failures() as error:  # the driver's own words, in one line
            if factory is not None:  # closed here, not by the garbage collector in a pool's own thread
                with contextlib.suppress(Exception):
                    factory.close()
            if writes and may_not_write(error):  # no view tables yet, and no right to make them
                return cls.open(store, writes=False)
            raise cannot_open(store, error) from None
        views.direct = not writes
        return views

    # -- keeping up ------------------------------------------------------------

    def catch_up(self, progress: Callable[[int, int], None] | None = None, reset: bool = False) -> int:
        """Apply what the ledger recorded since the checkpoint; return how many records.

        `reset` recomputes everything from position 1 (the first page replaces
        the old rows in its own transaction). `progress(done, total)` is told
        after every page.
        """
        applied = 0
        if self.direct:  # views that may not be written (maybe not even made): the ledger is read itself
            return applied
        with paused_gc():
            while True:
                head, done = self.recorder.progress(NAME)
                start = 0 if reset or done is None else done
                if start >= head:
                    return applied
                rows = self.recorder.select_new(start, min(PAGE, head - start))
                batch = chunks.group(rows)
                try:
                    with self.recorder.writing() as tx:
                        chunks.save(tx, NAME, done, batch, reset=reset or done is None)
                except chunks.CheckpointMoved:
                    continue  # another process applied some of it first: look again
                except store_failures() as error:
                    if not may_not_write(error):
                        raise StoreError(f"cannot bring the views up to date: {first_line(error)}") from None
                    self.direct = True
                    return applied
                reset = False
                applied += len(rows)
                if progress is not None:
                    progress(batch.last, head)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Recompute the views from position 1; `StoreError` where the store may be read but not written."""
        applied = self.catch_up(progress, reset=True)
        if self.direct:
            raise StoreError("the views were not rebuilt: this store may be read but not written (read-only, or a reader's role)")
        return applied

    # -- reading ---------------------------------------------------------------

    def courses(self) -> list[str]:
        """The courses in the store, in the order they were opened."""
        if self.direct:
            return [chunks.course_of(state) for state in self.log.select_courses()]
        return self.recorder.select_courses()

    def openings(self) -> list[Recorded]:
        """Every course's CourseOpened record, in position order."""
        from ledger.app import record_from

        return [record_from(position, state) for position, state in self.log.select_topics(("CourseOpened",))]

    def records(self, course: str, student: str | None = None) -> list[Recorded]:
        """Every record of `course`, in position order (with `student`: at least their share)."""
        if self.direct:
            from ledger.app import record_from, stream_id

            return [record_from(p, state) for p, state in self.log.select_course(stream_id(course))]
        rows, events = self.recorder.select_course(course)
        positions = chunks.positions(rows)
        if len(positions) != len(events):  # written together, they match unless edited behind our back
            raise StoreError(
                f"the views of course {course!r} do not match its events ({len(positions)} positions, "
                f"{len(events)} events): `subledger verify` says more; `subledger rebuild` rewrites them"
            )
        return chunks.records(positions, events, student)

    def course(self, name: str) -> Course:
        """The course as everything recorded tells it."""
        return Course.fold(name, self.records(name))

    def head(self) -> int:
        """How many events the ledger holds."""
        return self.recorder.progress(NAME)[0]

    def checkpoint(self) -> int | None:
        """The last position the views have applied (None: never built)."""
        return self.recorder.progress(NAME)[1]

    def keys(self, course: str) -> dict[tuple[str, str], bytes]:
        """The material keys of `course` that still exist, by (student, purpose)."""
        return self.log.select_keys(course)

    def names(self, course: Course, students: Iterable[str]) -> dict[str, str]:
        """Students' names, opened from their sealed applications (`[erased]` once destroyed)."""
        return {student: name for student, (name, _) in self.contacts(course, students).items()}

    def contacts(self, course: Course, students: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Students' names and emails, opened from their sealed applications (`[erased]` once destroyed)."""
        from ledger import vault

        keys = vault.by_student(self.keys(course.name))
        contacts = {}
        for student in students:
            application = course.applications.get(student)
            if application is not None:
                opened = vault.open_application(application.event, application.submitted.id, keys.get(student, {}))
                contacts[student] = (opened.name, opened.email)
        return contacts

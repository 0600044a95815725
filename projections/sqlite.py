"""The view tables on SQLite: eventsourcing's tracking recorder plus the course positions.

Every write of view rows and its tracking record (the last ledger position
applied) is one `BEGIN IMMEDIATE` transaction, so two processes catching up at
once are serialised and the second finds the checkpoint moved and starts over.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError, Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from ledger.store.tracking import insert_tracking
from projections import chunks

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS view_courses ("
    "course TEXT PRIMARY KEY, stream TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, "
    "first_position INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS view_chunks ("
    "course TEXT NOT NULL, chunk INTEGER NOT NULL, positions BLOB NOT NULL, "
    "PRIMARY KEY (course, chunk))",
)
_APPEND = "UPDATE view_chunks SET positions = CAST(positions || ? AS BLOB) WHERE course = ? AND chunk = ?"


class ViewRecorder(SQLiteTrackingRecorder):
    """Course chunks and the checkpoint, in the ledger's SQLite file."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *SCHEMA]

    def create_table(self) -> None:
        """Create the view tables where missing; a process that loses the race to create them finds them made.

        eventsourcing looks for the tracking table and then, in another
        transaction, creates it with its `__migration__` record. Two first
        reads at once both find none, and the second one's record is refused
        ("Failed to record tracking for __migration__ 1"). Its transaction is
        rolled back whole, so looking again finds the tables and the record.
        """
        try:
            super().create_table()
        except IntegrityError:
            self.tracking_table_exists = False
            self.tracking_migration_previous = self.tracking_migration_current = None
            super().create_table()

    @contextmanager
    def writing(self) -> Iterator[chunks.Writing]:
        """One `BEGIN IMMEDIATE` transaction on the view tables (committed unless it raises)."""
        with self.datastore.get_connection(commit=True) as conn:
            try:
                cursor = conn.cursor()
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield _Writing(self, cursor)
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            except sqlite3.Error as error:  # as eventsourcing's own transactions say it
                raise PersistenceError(str(error)) from error

    @contextmanager
    def snapshot(self) -> Iterator[chunks.Snapshot]:
        """One read transaction on the view tables and the log: a consistent picture of both."""
        with self.datastore.transaction(commit=False) as cursor:
            yield _Writing(self, cursor)

    def progress(self, name: str) -> tuple[int, int | None]:
        """The ledger's size and the last position applied to the views (None: never built)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT (SELECT size FROM ledger_head WHERE id = 1), "
                "(SELECT MAX(notification_id) FROM tracking WHERE application_name = ?)",
                (name,),
            )
            size, done = c.fetchone()
            return size or 0, done

    def select_new(self, after: int, count: int) -> list[tuple[int, Any]]:
        """The `count` log entries after `after`: (position, stream)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT position, originator_id FROM ledger_log WHERE position > ? ORDER BY position LIMIT ?",
                (after, count),
            )
            rows: list[tuple[int, Any]] = c.fetchall()  # plain tuples: no copy of a page of 250,000
            return rows

    def select_course(self, course: str) -> tuple[list[bytes], list[tuple[str, bytes]]]:
        """A course's chunk rows, and its events (type, stored envelope) up to what they hold."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT stream, size FROM view_courses WHERE course = ?", (course,))
            row = c.fetchone()
            if row is None:
                return [], []
            c.execute("SELECT positions FROM view_chunks WHERE course = ? ORDER BY chunk", (course,))
            chunks = [r[0] for r in c.fetchall()]
            c.execute(
                "SELECT topic, state FROM stored_events WHERE originator_id = ? "
                "AND originator_version <= ? ORDER BY originator_version",
                (row[0], row[1]),
            )
            return chunks, c.fetchall()

    def select_courses(self) -> list[str]:
        """The courses in the views, in the order they were opened."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT course FROM view_courses ORDER BY first_position")
            return [r[0] for r in c.fetchall()]


class _Writing:
    """The SQL of one transaction on the views (`chunks.Writing`, `chunks.Snapshot`), on SQLite."""

    def __init__(self, recorder: ViewRecorder, cursor: SQLiteCursor) -> None:
        self.recorder = recorder
        self.c = cursor

    def checkpoint(self, name: str) -> int | None:
        self.c.execute("SELECT MAX(notification_id) FROM tracking WHERE application_name = ?", (name,))
        done: int | None = self.c.fetchone()[0]
        return done

    def clear(self, name: str) -> None:
        self.c.execute("DELETE FROM view_chunks")
        self.c.execute("DELETE FROM view_courses")
        self.c.execute("DELETE FROM tracking WHERE application_name = ?", (name,))

    def known(self, streams: list[Any]) -> dict[Any, tuple[str, int]]:
        known: dict[Any, tuple[str, int]] = {}
        for start in range(0, len(streams), 500):  # SQLite caps the parameters of a query
            some = streams[start : start + 500]
            self.c.execute(
                f"SELECT stream, course, size FROM view_courses WHERE stream IN ({','.join('?' * len(some))})",
                some,
            )
            known.update((r[0], (r[1], r[2])) for r in self.c.fetchall())
        return known

    def first_state(self, stream: Any) -> bytes:
        self.c.execute("SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1", (stream,))
        return bytes(self.c.fetchone()[0])

    def write(
        self, appends: list[chunks.ChunkRow], inserts: list[chunks.ChunkRow], courses: list[chunks.CourseRow]
    ) -> None:
        self.c.executemany(_APPEND, [(r.positions, r.course, r.chunk) for r in appends])
        self.c.executemany("INSERT INTO view_chunks VALUES (?, ?, ?)", inserts)
        self.c.executemany(
            "INSERT INTO view_courses VALUES (?, ?, ?, ?) ON CONFLICT (course) DO UPDATE SET size = excluded.size",
            courses,
        )

    def track(self, name: str, position: int) -> None:
        insert_tracking(self.recorder, self.c, Tracking(name, position))  # eventsourcing's public statement

    def head(self) -> int:
        self.c.execute("SELECT size FROM ledger_head WHERE id = 1")
        row = self.c.fetchone()
        return int(row[0]) if row else 0

    def log(self, upto: int) -> list[tuple[int, Any]]:
        self.c.execute("SELECT position, originator_id FROM ledger_log WHERE position <= ? ORDER BY position", (upto,))
        rows: list[tuple[int, Any]] = self.c.fetchall()
        return rows

    def course_rows(self) -> list[chunks.CourseRow]:
        self.c.execute("SELECT course, stream, size, first_position FROM view_courses ORDER BY course")
        return [chunks.CourseRow(*r) for r in self.c.fetchall()]

    def chunk_rows(self) -> list[chunks.ChunkRow]:
        self.c.execute("SELECT course, chunk, positions FROM view_chunks ORDER BY course, chunk")
        return [chunks.ChunkRow(r[0], r[1], bytes(r[2])) for r in self.c.fetchall()]

"""The view tables on SQLite: eventsourcing's tracking recorder plus the course positions.

Every write of view rows and its tracking record (the last ledger position
applied) is one `BEGIN IMMEDIATE` transaction, so two processes catching up at
once are serialised and the second finds the checkpoint moved and starts over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteTrackingRecorder

from projections.chunks import Batch, CheckpointMoved, course_of, plan

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

    @contextmanager
    def _writing(self) -> Iterator[SQLiteCursor]:
        with self.datastore.get_connection(commit=True) as conn:
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

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
            return c.fetchall()  # type: ignore[no-any-return]

    def save(self, name: str, expected: int | None, batch: Batch, reset: bool = False) -> None:
        """Add `batch` to the course chunks and move the checkpoint, in one transaction."""
        with self._writing() as c:
            c.execute("SELECT MAX(notification_id) FROM tracking WHERE application_name = ?", (name,))
            if c.fetchone()[0] != expected:
                raise CheckpointMoved(name)
            if reset:
                c.execute("DELETE FROM view_chunks")
                c.execute("DELETE FROM view_courses")
                c.execute("DELETE FROM tracking WHERE application_name = ?", (name,))
            known = self._known(c, list(batch.streams))
            appends, inserts, courses = [], [], []
            for stream, positions in batch.streams.items():
                if stream in known:
                    course, size = known[stream]
                else:
                    c.execute(
                        "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1",
                        (stream,),
                    )
                    course, size = course_of(c.fetchone()[0]), 0
                for w in plan(size, positions):
                    if w.append:
                        appends.append((w.positions, course, w.chunk))
                    else:
                        inserts.append((course, w.chunk, w.positions))
                courses.append((course, stream, size + len(positions), positions[0]))
            c.executemany(_APPEND, appends)
            c.executemany("INSERT INTO view_chunks VALUES (?, ?, ?)", inserts)
            c.executemany(
                "INSERT INTO view_courses VALUES (?, ?, ?, ?) ON CONFLICT (course) DO UPDATE SET size = excluded.size",
                courses,
            )
            self._insert_tracking(c, Tracking(name, batch.last))

    @staticmethod
    def _known(c: SQLiteCursor, streams: list[Any]) -> dict[Any, tuple[str, int]]:
        known: dict[Any, tuple[str, int]] = {}
        for start in range(0, len(streams), 500):
            some = streams[start : start + 500]
            c.execute(
                f"SELECT stream, course, size FROM view_courses WHERE stream IN ({','.join('?' * len(some))})",
                some,
            )
            known.update((r[0], (r[1], r[2])) for r in c.fetchall())
        return known

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

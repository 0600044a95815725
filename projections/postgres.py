"""The view tables on PostgreSQL: eventsourcing's tracking recorder plus the course positions.

Imported only for postgresql:// stores. A catch-up's write transaction first
takes a self-conflicting lock on the view tables, so two processes catching up
at once are serialised (readers are not blocked) and the second finds the
checkpoint moved and starts over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from ledger.store.postgres import schema_lock, schema_ready
from ledger.store.tracking import insert_tracking
from projections import chunks

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS view_courses ("
    "course text PRIMARY KEY, stream uuid NOT NULL UNIQUE, size bigint NOT NULL, "
    "first_position bigint NOT NULL)",
    "CREATE TABLE IF NOT EXISTS view_chunks ("
    "course text NOT NULL, chunk bigint NOT NULL, positions bytea NOT NULL, "
    "PRIMARY KEY (course, chunk))",
)


class ViewRecorder(PostgresTrackingRecorder):
    """Course chunks and the checkpoint, in the ledger's PostgreSQL database."""

    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.extend(SQL(s).format() for s in SCHEMA)
        self.events_table_name = "stored_events"  # set by the runner to the ledger's

    def create_table(self) -> None:
        """Create the view tables once, as the ledger's recorder does its own."""
        if schema_ready(self.datastore, "view_chunks"):
            self.tracking_table_exists = True
            return
        with schema_lock(self.datastore):
            super().create_table()

    def _tracking(self) -> Composed:
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(self.tracking_table_name))

    def _events(self) -> Identifier:
        return Identifier(self.events_table_name)

    def progress(self, name: str) -> tuple[int, int | None]:
        """The ledger's size and the last position applied to the views (None: never built)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT (SELECT size FROM ledger_head WHERE id = 1) AS size, "
                    "(SELECT MAX(notification_id) FROM {} WHERE application_name = %s) AS done"
                ).format(self._tracking()),
                (name,),
            )
            row = curs.fetchone()
            assert row is not None
            return row["size"] or 0, row["done"]

    def select_new(self, after: int, count: int) -> list[tuple[int, Any]]:
        """The `count` log entries after `after`: (position, stream)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT position, originator_id FROM ledger_log WHERE position > %s ORDER BY position LIMIT %s",
                (after, count),
            )
            return [(r["position"], r["originator_id"]) for r in curs.fetchall()]

    @contextmanager
    def snapshot(self) -> Iterator[chunks.Snapshot]:
        """One read transaction on the view tables and the log: a consistent picture of both."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield _Writing(self, curs)

    @contextmanager
    def writing(self) -> Iterator[chunks.Writing]:
        """One transaction on the view tables, after a lock that serialises catch-ups (committed unless it raises)."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute("LOCK TABLE view_courses IN SHARE ROW EXCLUSIVE MODE")
            yield _Writing(self, curs)

    def select_course(self, course: str) -> tuple[list[bytes], list[tuple[str, bytes]]]:
        """A course's chunk rows, and its events (type, stored envelope) up to what they hold."""
        with self.datastore.transaction(commit=False) as curs:
            # One snapshot for the three reads: another reader's catch-up may commit in between.
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            curs.execute("SELECT stream, size FROM view_courses WHERE course = %s", (course,))
            row = curs.fetchone()
            if row is None:
                return [], []
            curs.execute("SELECT positions FROM view_chunks WHERE course = %s ORDER BY chunk", (course,))
            chunks = [bytes(r["positions"]) for r in curs.fetchall()]
            curs.execute(
                SQL(
                    "SELECT topic, state FROM {} WHERE originator_id = %s AND originator_version <= %s "
                    "ORDER BY originator_version"
                ).format(self._events()),
                (row["stream"], row["size"]),
            )
            return chunks, [(r["topic"], bytes(r["state"])) for r in curs.fetchall()]

    def select_courses(self) -> list[str]:
        """The courses in the views, in the order they were opened."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT course FROM view_courses ORDER BY first_position")
            return [r["course"] for r in curs.fetchall()]


class _Writing:
    """The SQL of one transaction on the views (`chunks.Writing`, `chunks.Snapshot`), on PostgreSQL."""

    def __init__(self, recorder: ViewRecorder, cursor: Cursor[DictRow]) -> None:
        self.recorder = recorder
        self.curs = cursor

    def checkpoint(self, name: str) -> int | None:
        self.curs.execute(
            SQL("SELECT MAX(notification_id) AS done FROM {} WHERE application_name = %s").format(
                self.recorder._tracking()
            ),
            (name,),
        )
        row = self.curs.fetchone()
        return row["done"] if row else None

    def clear(self, name: str) -> None:
        self.curs.execute("DELETE FROM view_chunks")
        self.curs.execute("DELETE FROM view_courses")
        self.curs.execute(
            SQL("DELETE FROM {} WHERE application_name = %s").format(self.recorder._tracking()), (name,)
        )

    def known(self, streams: list[Any]) -> dict[Any, tuple[str, int]]:
        self.curs.execute("SELECT stream, course, size FROM view_courses WHERE stream = ANY(%s)", (streams,))
        return {r["stream"]: (r["course"], r["size"]) for r in self.curs.fetchall()}

    def first_state(self, stream: Any) -> bytes:
        self.curs.execute(
            SQL("SELECT state FROM {} WHERE originator_id = %s AND originator_version = 1").format(
                self.recorder._events()
            ),
            (stream,),
        )
        row = self.curs.fetchone()
        assert row is not None  # the log names only streams that exist
        return bytes(row["state"])

    def write(
        self, appends: list[chunks.ChunkRow], inserts: list[chunks.ChunkRow], courses: list[chunks.CourseRow]
    ) -> None:
        if appends:
            self.curs.executemany(
                "UPDATE view_chunks SET positions = positions || %s WHERE course = %s AND chunk = %s",
                [(r.positions, r.course, r.chunk) for r in appends],
            )
        if inserts:
            self.curs.executemany("INSERT INTO view_chunks VALUES (%s, %s, %s)", inserts)
        self.curs.executemany(
            "INSERT INTO view_courses VALUES (%s, %s, %s, %s) ON CONFLICT (course) DO UPDATE SET size = excluded.size",
            courses,
        )

    def track(self, name: str, position: int) -> None:
        insert_tracking(self.recorder, self.curs, Tracking(name, position))  # eventsourcing's public statement

    def head(self) -> int:
        self.curs.execute("SELECT size FROM ledger_head WHERE id = 1")
        row = self.curs.fetchone()
        return int(row["size"]) if row else 0

    def log(self, upto: int) -> list[tuple[int, Any]]:
        self.curs.execute("SELECT position, originator_id FROM ledger_log WHERE position <= %s ORDER BY position", (upto,))
        return [(r["position"], r["originator_id"]) for r in self.curs.fetchall()]

    def course_rows(self) -> list[chunks.CourseRow]:
        self.curs.execute("SELECT course, stream, size, first_position FROM view_courses ORDER BY course")
        return [chunks.CourseRow(r["course"], r["stream"], r["size"], r["first_position"]) for r in self.curs.fetchall()]

    def chunk_rows(self) -> list[chunks.ChunkRow]:
        self.curs.execute("SELECT course, chunk, positions FROM view_chunks ORDER BY course, chunk")
        return [chunks.ChunkRow(r["course"], r["chunk"], bytes(r["positions"])) for r in self.curs.fetchall()]

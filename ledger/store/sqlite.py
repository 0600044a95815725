"""The embedded store: eventsourcing's SQLite recorder plus the ledger's log.

`PERSISTENCE_MODULE=ledger.store.sqlite` makes eventsourcing build `Factory`,
which hands out `LedgerRecorder`. Connections are durable (`synchronous=FULL`:
an append the CLI reported survives a power loss) and overwrite what they
delete (`secure_delete`: destroyed keys leave no bytes behind).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)

from ledger.store import log
from ledger.store.log import LogRow, RawRow

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger_log ("
    "position INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE, "
    "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, leaf BLOB NOT NULL)",
    # A course's events, in order, without reading the whole log.
    "CREATE INDEX IF NOT EXISTS ledger_log_stream ON ledger_log (originator_id, position)",
    "CREATE TABLE IF NOT EXISTS ledger_head ("
    "id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, frontier BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS material_keys ("
    "course TEXT NOT NULL, student TEXT NOT NULL, purpose TEXT NOT NULL, key BLOB NOT NULL, "
    "PRIMARY KEY (course, student, purpose))",
)

SELECT_LOG = (
    "SELECT l.position, l.event_id, l.originator_id, l.originator_version, e.topic, e.state, l.leaf "
    "FROM ledger_log l LEFT JOIN stored_events e "
    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
)


class DurablePool(SQLiteConnectionPool):
    """Connections that fsync every commit and zero what they delete."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        raw = connection._sqlite_conn
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA secure_delete=ON")
        return connection


class Datastore(SQLiteDatastore):
    """eventsourcing's datastore with durable connections."""

    def __init__(self, db_name: str, **kwargs: Any) -> None:
        super().__init__(db_name, **kwargs)
        self.pool = DurablePool(db_name=db_name, lock_timeout=kwargs.get("lock_timeout"))


def _bytes(value: object) -> bytes | None:
    """A stored value as bytes, whatever type someone gave it behind our back."""
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return str(value).encode()


def _row(r: sqlite3.Row) -> LogRow:
    return LogRow(
        position=r[0],
        event_id=UUID(bytes=r[1]),
        originator_id=UUID(r[2]),
        version=r[3],
        topic=r[4],
        state=_bytes(r[5]),  # type: ignore[arg-type]
        leaf=_bytes(r[6]),  # type: ignore[arg-type]
    )


class LedgerRecorder(SQLiteApplicationRecorder):
    """Stores events and, in the same transaction, the log, the head and the keys."""

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *SCHEMA]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        c.executemany(
            self.insert_events_statement,
            [(s.originator_id.hex, s.originator_version, s.topic, s.state) for s in stored_events],  # type: ignore[union-attr]
        )
        # The insert above holds the write lock, so the head read here is current.
        c.execute("SELECT size, frontier FROM ledger_head WHERE id = 1")
        head = c.fetchone()
        size, frontier = (head[0], head[1]) if head else (0, None)
        appended = log.extend(size, frontier, kwargs["ids"], stored_events, kwargs.get("first_position"))
        c.executemany(
            "INSERT INTO ledger_log VALUES (?, ?, ?, ?, ?)",
            [(p, i.bytes, o.hex, v, leaf) for p, i, o, v, leaf in appended.rows],
        )
        c.execute(
            "INSERT INTO ledger_head (id, size, frontier) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier",
            (appended.size, appended.frontier),
        )
        c.executemany("INSERT INTO material_keys VALUES (?, ?, ?, ?)", kwargs.get("keys", ()))
        c.executemany(
            "DELETE FROM material_keys WHERE course = ? AND student = ? AND purpose = ?",
            kwargs.get("erase", ()),
        )
        return None  # positions are known to the caller, which asked for first_position

    def select_course(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        """Position and stored state of every event of one course stream, in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.position, e.state FROM ledger_log l JOIN stored_events e "
                "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                "WHERE l.originator_id = ? ORDER BY l.position",
                (originator_id.hex,),
            )
            return c.fetchall()  # type: ignore[no-any-return]

    def select_log(self, after: int, limit: int) -> list[LogRow]:
        """Up to `limit` log rows after position `after`."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_LOG + "WHERE l.position > ? ORDER BY l.position LIMIT ?", (after, limit))
            return [_row(r) for r in c.fetchall()]

    def select_raw(self, after: int, limit: int) -> list[RawRow]:
        """Up to `limit` log rows after `after`, as stored (ids as 16 bytes): for verification."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_LOG + "WHERE l.position > ? ORDER BY l.position LIMIT ?", (after, limit))
            return [
                (r[0], r[1], bytes.fromhex(r[2]), r[3], r[4], _bytes(r[5]), _bytes(r[6]))  # type: ignore[misc]
                for r in c.fetchall()
            ]

    def select_by_id(self, event_id: UUID) -> LogRow | None:
        """The log row of one event id, if there is one."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_LOG + "WHERE l.event_id = ?", (event_id.bytes,))
            row = c.fetchone()
            return _row(row) if row else None

    def select_streams(self, event_ids: Sequence[UUID]) -> dict[UUID, UUID]:
        """Which of `event_ids` the log holds, with the stream each is in."""
        found: dict[UUID, UUID] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(event_ids), 500):  # SQLite caps the parameters of a query
                chunk = [i.bytes for i in event_ids[start : start + 500]]
                c.execute(
                    f"SELECT event_id, originator_id FROM ledger_log WHERE event_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((UUID(bytes=r[0]), UUID(r[1])) for r in c.fetchall())
        return found

    def head(self) -> tuple[int, bytes | None]:
        """The log's size and Merkle frontier."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT size, frontier FROM ledger_head WHERE id = 1")
            row = c.fetchone()
            return (row[0], row[1]) if row else (0, None)

    def select_keys(self, course: str) -> dict[tuple[str, str], bytes]:
        """The material keys of one course, by (student, purpose)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT student, purpose, key FROM material_keys WHERE course = ?", (course,))
            return {(r[0], r[1]): r[2] for r in c.fetchall()}

    def count_events(self) -> int:
        """How many events the events table holds (the log should hold as many)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT count(*) FROM stored_events")
            return int(c.fetchone()[0])

    def select_courses(self) -> list[bytes]:
        """The stored states of every CourseOpened, in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT state FROM stored_events WHERE topic = 'CourseOpened' ORDER BY rowid")
            return [r[0] for r in c.fetchall()]

    def compact(self) -> str | None:
        """Fold the write-ahead log into the main file and truncate it (after erasure)."""
        with self.datastore.get_connection(commit=True) as conn:
            conn._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return None


class Factory(SQLiteFactory):
    """eventsourcing's SQLite factory, handing out the ledger's recorder."""

    application_recorder_class = LedgerRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.datastore = Datastore(
            self.datastore.pool.db_name, lock_timeout=self.datastore.pool.lock_timeout
        )

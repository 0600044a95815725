"""The embedded store: eventsourcing's SQLite recorder plus the ledger's log.

`PERSISTENCE_MODULE=ledger.store.sqlite:Factory` makes eventsourcing build
`Factory`, which hands out `LedgerRecorder`. The recorder keeps eventsourcing's
contract (its own recorder tests run against it: `tests/test_recorder_contract.py`)
and uses only eventsourcing's public API: every write connection runs
`synchronous=FULL`, so an append the CLI reported survives a power loss.
Material keys are stored wrapped under key-encryption keys from the key file
(`ledger/store/material.py`, ADR 9). Writers take turns by a lock file beside
the store (`ledger/store/locks.py`, ADR 18).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory
from eventsourcing.utils import Environment, EnvType

from ledger.errors import StoreError
from ledger.store import material, sqlite_file
from ledger.store.append import Dialect, append_log
from ledger.store.keyfile import KeyFile
from ledger.store.locks import FileLock, NoLocks, WriteLocks
from ledger.store.log import UNSALTED_MESSAGE, LogRow, RawRow

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger_log ("
    "position INTEGER PRIMARY KEY, event_id BLOB NOT NULL UNIQUE, "
    "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, leaf BLOB NOT NULL, salt BLOB)",
    # A course's events, in order, without reading the whole log.
    "CREATE INDEX IF NOT EXISTS ledger_log_stream ON ledger_log (originator_id, position)",
    "CREATE TABLE IF NOT EXISTS ledger_head ("
    "id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, frontier BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS material_keys ("
    "course TEXT NOT NULL, student TEXT NOT NULL, purpose TEXT NOT NULL, kek BLOB NOT NULL, "
    "wrapped BLOB NOT NULL, PRIMARY KEY (course, student, purpose, kek))",
    "CREATE TABLE IF NOT EXISTS material_keks ("
    "course TEXT NOT NULL, position INTEGER NOT NULL, kek BLOB NOT NULL UNIQUE, PRIMARY KEY (course, position))",
)
TABLES = "SELECT name FROM sqlite_master WHERE type = 'table'"
# A store made before ADR 9 kept raw keys in a column `key`; one made before ADR 18 has no salts.
OLD_SCHEMA = (
    "SELECT (SELECT count(*) FROM pragma_table_info('material_keys') WHERE name = 'key'), "
    "(SELECT count(*) FROM pragma_table_info('ledger_log') WHERE name = 'salt')"
)

SELECT_LOG = (
    "SELECT l.position, l.event_id, l.originator_id, l.originator_version, e.topic, e.state, l.leaf, l.salt "
    "FROM ledger_log l LEFT JOIN stored_events e "
    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
)

# Event ids are stored as 16 bytes, stream ids as eventsourcing stores them (hex text).
DIALECT = Dialect(param="?", event_id=lambda i: i.bytes, stream_id=lambda o: o.hex)


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
        state=_bytes(r[5]),
        leaf=_bytes(r[6]) or b"",
        salt=_bytes(r[7]),
    )


class LedgerRecorder(SQLiteApplicationRecorder):
    """Stores events and, in the same transaction, the log, the head and the keys."""

    key_file: KeyFile | None = None  # set by `Factory`
    locks: WriteLocks = NoLocks()  # set by `Factory`: the lock file beside the store

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *SCHEMA]

    def create_table(self) -> None:
        """Create the tables where missing, but never in a database that is not a subledger store;
        refuse a store that keeps raw keys, or a log without salts."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(TABLES)
            tables = {r[0] for r in c.fetchall()}
        if tables and "ledger_head" not in tables:
            raise StoreError(f"{self.datastore.pool.db_name!r} is not a subledger store: it holds other tables")
        super().create_table()
        with self.datastore.transaction(commit=False) as c:
            c.execute(OLD_SCHEMA)
            raw_keys, salted = c.fetchone()
        if raw_keys:
            raise StoreError(material.RAW_KEYS_MESSAGE)
        if not salted:
            raise StoreError(UNSALTED_MESSAGE)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        """Insert events, their log rows, the head and the keys in one durable transaction.

        Returns the events' notification ids, as eventsourcing's recorders do. The
        ledger passes `ids` (the events' own ids; without them the log derives
        ids from stream and version), `first_position` (the position the
        writer expects the first event to get), `salts` (each leaf's salt;
        fresh ones without them) and `material` (the material keys made and
        destroyed: `material.Change`s, in event order).
        """
        if not stored_events:
            return []
        with (
            material.guarded(self.key_file, kwargs.get("material", ()), self.kek_history) as keys,
            self.datastore.get_connection(commit=True) as connection,
        ):
            connection.cursor().execute("PRAGMA synchronous=FULL")
            with connection.transaction(commit=True) as c:
                c.executemany(
                    self.insert_events_statement,
                    [(_hex(s.originator_id), s.originator_version, s.topic, s.state) for s in stored_events],
                )
                # Rowids in one transaction of the only writer follow each other.
                c.execute("SELECT last_insert_rowid() AS last")
                last = int(c.fetchone()["last"])
                append_log(
                    c, DIALECT, stored_events, kwargs.get("ids"), kwargs.get("first_position"), kwargs.get("salts")
                )
                keys.write(c, DIALECT)
        return list(range(last - len(stored_events) + 1, last + 1))

    def select_course(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        """Position and stored state of every event of one course stream, in order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.position, e.state FROM ledger_log l JOIN stored_events e "
                "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                "WHERE l.originator_id = ? ORDER BY l.position",
                (originator_id.hex,),
            )
            # sqlite3.Row unpacks like the tuple it stands for; converting would cost a copy per event.
            return cast("list[tuple[int, bytes]]", c.fetchall())

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
                (r[0], r[1], bytes.fromhex(r[2]), r[3], r[4], _bytes(r[5]), _bytes(r[6]) or b"", _bytes(r[7]))
                for r in c.fetchall()
            ]

    def select_leaves(self, after: int, limit: int) -> list[bytes]:
        """Up to `limit` leaf hashes after position `after`, in order: all a receipt's proof needs."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT leaf FROM ledger_log WHERE position > ? ORDER BY position LIMIT ?", (after, limit))
            return [_bytes(r[0]) or b"" for r in c.fetchall()]

    def select_by_id(self, event_id: UUID) -> LogRow | None:
        """The log row of one event id, if there is one."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(SELECT_LOG + "WHERE l.event_id = ?", (event_id.bytes,))
            row = c.fetchone()
            return _row(row) if row else None

    def select_streams(self, event_ids: Sequence[UUID]) -> dict[UUID, tuple[UUID, bytes | None]]:
        """Which of `event_ids` the log holds, with the stream each is in and its leaf's salt."""
        found: dict[UUID, tuple[UUID, bytes | None]] = {}
        with self.datastore.transaction(commit=False) as c:
            for start in range(0, len(event_ids), 500):  # SQLite caps the parameters of a query
                chunk = [i.bytes for i in event_ids[start : start + 500]]
                c.execute(
                    "SELECT event_id, originator_id, salt FROM ledger_log "
                    f"WHERE event_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((UUID(bytes=r[0]), (UUID(r[1]), _bytes(r[2]))) for r in c.fetchall())
        return found

    def head(self) -> tuple[int, bytes | None]:
        """The log's size and Merkle frontier."""
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT size, frontier FROM ledger_head WHERE id = 1")
            row = c.fetchone()
            return (row[0], row[1]) if row else (0, None)

    def select_keys(self, course: str) -> dict[tuple[str, str], bytes]:
        """The material keys of one course that still exist, by (student, purpose), unwrapped."""
        with self.datastore.transaction(commit=False) as c:
            return material.select(c, DIALECT, material.required(self.key_file), course)

    def select_wrapped(self) -> list[tuple[str, str, str, bytes, bytes]]:
        """Every row of the key table as stored: (course, student, purpose, KEK id, wrapped key)."""
        with self.datastore.transaction(commit=False) as c:
            return material.all_rows(c)

    def kek_history(self) -> list[tuple[str, int, bytes]]:
        """Every KEK id the store ever named: (course, position, id)."""
        with self.datastore.transaction(commit=False) as c:
            return material.kek_history(c)

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

    def select_topics(self, topics: Sequence[str]) -> list[tuple[int, bytes]]:
        """Position and stored state of every event of the given types, in position order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT l.position, e.state FROM ledger_log l JOIN stored_events e "
                "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                f"WHERE e.topic IN ({','.join('?' * len(topics))}) ORDER BY l.position",
                list(topics),
            )
            return [(r[0], r[1]) for r in c.fetchall()]


def create_private(path: str) -> None:
    """Make an empty file at `path`, readable and writable by its owner only, unless one is there."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise StoreError(f"cannot create the store {path!r}: {error.strerror}") from None
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
    finally:
        os.close(descriptor)


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class Factory(SQLiteFactory):
    """eventsourcing's SQLite factory, handing out the ledger's recorder with its key file.

    A new store file is made readable by its owner only (0600) before SQLite
    opens it; SQLite gives its write-ahead log and shared memory the same mode.
    Writers take turns by a lock file beside it (`ledger.sqlite.lock`, 0600).
    """

    application_recorder_class = LedgerRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        path, may_create = sqlite_file(self.datastore.pool.db_name)
        if may_create and not self.datastore.pool.is_sqlite_memory_mode:
            create_private(path)

    def application_recorder(self) -> ApplicationRecorder:
        recorder = material.with_key_file(super().application_recorder(), self.env)
        if isinstance(recorder, LedgerRecorder) and not self.datastore.pool.is_sqlite_memory_mode:
            recorder.locks = FileLock(sqlite_file(self.datastore.pool.db_name)[0] + ".lock")
        return recorder

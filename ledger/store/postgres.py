"""The shared store: eventsourcing's PostgreSQL recorder plus the ledger's log.

`PERSISTENCE_MODULE=ledger.store.postgres:Factory`. Writers take turns by
session advisory locks, one per course and one for the log (`AdvisoryLocks`,
ADR 18). Positions are given under eventsourcing's EXCLUSIVE lock on the
events table too, so they have no gaps even where the notification id sequence
has them (rolled-back inserts). Triggers
make the database itself refuse UPDATE, DELETE and TRUNCATE of the events, of
the log and of the material keys (SPEC §6), and refuse a new key-encryption
key for a course unless an erasure recorded in the log made it (ADR 9): a
writer cannot destroy keys outside an erasure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composable, Identifier

from ledger.errors import StoreError
from ledger.store import material
from ledger.store.append import Dialect, append_log
from ledger.store.keyfile import KeyFile
from ledger.store.log import UNSALTED_MESSAGE, LogRow, RawRow

APPEND_ONLY = "subledger_refuse_rewrite"
DIALECT = Dialect(param="%s", event_id=lambda i: i, stream_id=lambda o: o)  # psycopg adapts UUIDs
SCHEMA_LOCK = 0x5B1ED6E2  # advisory lock id held while one process creates the schema
# The two-key advisory locks writers take turns by (ADR 18): (COURSE_LOCKS, a course's key), (LOG_LOCK, 0).
COURSE_LOCKS = 0x5B1ED6E3
LOG_LOCK = 0x5B1ED6E4

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS ledger_log ("
    "position bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE, "
    "originator_id uuid NOT NULL, originator_version bigint NOT NULL, leaf bytea NOT NULL, salt bytea)",
    "CREATE INDEX IF NOT EXISTS ledger_log_stream ON ledger_log (originator_id, position)",
    "CREATE TABLE IF NOT EXISTS ledger_head ("
    "id int PRIMARY KEY CHECK (id = 1), size bigint NOT NULL, frontier bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS material_keys ("
    "course text NOT NULL, student text NOT NULL, purpose text NOT NULL, kek bytea NOT NULL, "
    "wrapped bytea NOT NULL, PRIMARY KEY (course, student, purpose, kek))",
    f"CREATE OR REPLACE FUNCTION {APPEND_ONLY}() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'subledger: % on % is refused: the ledger is append-only', "
    "TG_OP, TG_TABLE_NAME; END $$",
)
APPEND_ONLY_TABLES = ("ledger_log", "material_keys", "material_keks")
LAST_TABLE = "material_keks"  # created last: where it exists, the whole schema does
# A course's KEK is replaced only by an erasure recorded in the log at the KEK's
# position, after the current one; its first comes with its first application.
CHECK_KEK = (
    "CREATE OR REPLACE FUNCTION subledger_check_kek() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "DECLARE latest bigint; made_by text; its_course text; "
    "BEGIN "
    "SELECT max(position) INTO latest FROM material_keks WHERE course = NEW.course; "
    # jsonb cannot hold a NUL (U+0000): its escape is read as a space, which keeps the JSON whole
    # (the rules refuse a NUL in a course id; text elsewhere may have been written by other hands).
    "SELECT e.topic, replace(convert_from(e.state, 'UTF8'), '\\u0000', '\\u0020')::jsonb -> 'event' ->> 'course' "
    "INTO made_by, its_course "
    "FROM ledger_log l JOIN {events} e "
    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
    "WHERE l.position = NEW.position; "
    "IF its_course = NEW.course AND ("
    "(made_by = 'ApplicationMaterialErased' AND (latest IS NULL OR NEW.position > latest)) "
    "OR (made_by = 'ApplicationSubmitted' AND latest IS NULL)) THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'subledger: a new key-encryption key for % needs an erasure recorded at position %', "
    "NEW.course, NEW.position; "
    "END $$"
)


def schema_ready(datastore: Any, last_table: str) -> bool:
    """Whether the table a schema creates last exists.

    Starts check this instead of running CREATE … IF NOT EXISTS every time:
    concurrent starts doing that deadlock in the catalogue, and a role without
    CREATE privilege (an auditor, a writer) may not run it at all.
    """
    with datastore.get_connection() as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS ready", (last_table,)).fetchone()
    return bool(row and row["ready"])


@contextmanager
def schema_lock(datastore: Any) -> Iterator[None]:
    """Hold the advisory lock under which one process at a time creates tables."""
    with datastore.get_connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class AdvisoryLocks:
    """The locks writers take turns by: session advisory locks, held on one pooled connection.

    A course's lock is keyed by its stream id (two courses whose keys collide
    merely share one); the log has one lock. The connection is autocommit, so
    holding a lock is not an open transaction, and a writer that dies releases
    its locks with its session.
    """

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self._connections: dict[int, Any] = {}  # by thread: the connection holding its courses' locks

    @contextmanager
    def courses(self, streams: Sequence[UUID]) -> Iterator[None]:
        """Hold the locks of these course streams, taken in one order by every writer."""
        import threading

        keys = sorted({int.from_bytes(s.bytes[:4], "big", signed=True) for s in streams})
        thread = threading.get_ident()
        with self.datastore.get_connection() as conn:
            self._connections[thread] = conn
            try:
                for key in keys:
                    conn.execute("SELECT pg_advisory_lock(%s, %s)", (COURSE_LOCKS, key))
                yield
            finally:
                del self._connections[thread]
                _unlock_all(conn)

    @contextmanager
    def log(self) -> Iterator[None]:
        """Hold the log's lock (on the connection of this thread's courses' locks, if it holds them)."""
        import threading

        conn = self._connections.get(threading.get_ident())
        if conn is not None:
            conn.execute("SELECT pg_advisory_lock(%s, 0)", (LOG_LOCK,))
            try:
                yield
            finally:
                with suppress(Exception):  # a broken connection has lost its session, and the lock with it
                    conn.execute("SELECT pg_advisory_unlock(%s, 0)", (LOG_LOCK,))
            return
        with self.datastore.get_connection() as conn:
            try:
                conn.execute("SELECT pg_advisory_lock(%s, 0)", (LOG_LOCK,))
                yield
            finally:
                _unlock_all(conn)


def _unlock_all(conn: Any) -> None:
    """Release every advisory lock of `conn`'s session before the pool lends it out again."""
    with suppress(Exception):  # a broken connection has lost its session, and its locks with it
        conn.execute("SELECT pg_advisory_unlock_all()")


class LedgerRecorder(PostgresApplicationRecorder):
    """Stores events and, in the same transaction, the log, the head and the keys."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.locks = AdvisoryLocks(datastore)
        statements: list[Composable] = [SQL(s) for s in SCHEMA]
        statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS material_keks (course text NOT NULL, position bigint NOT NULL, "
                "kek bytea NOT NULL UNIQUE, PRIMARY KEY (course, position))"
            )
        )
        statements.append(SQL(CHECK_KEK).format(events=Identifier(self.events_table_name)))
        statements.append(
            SQL(
                "CREATE OR REPLACE TRIGGER material_keks_made_by_erasure BEFORE INSERT ON material_keks "
                "FOR EACH ROW EXECUTE FUNCTION subledger_check_kek()"
            )
        )
        for table in (self.events_table_name, *APPEND_ONLY_TABLES):
            for when, each in (("UPDATE OR DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
                name = f"{table}_append_only_{each.lower()}"
                statements.append(
                    SQL(
                        "CREATE OR REPLACE TRIGGER {name} BEFORE " + when + " ON {table} "
                        "FOR EACH " + each + " EXECUTE FUNCTION " + APPEND_ONLY + "()"
                    ).format(name=Identifier(name), table=Identifier(table))
                )
        self.sql_create_statements.extend(statements)  # type: ignore[arg-type]  # SQL and Composed both run
        self.select_log_sql = SQL(
            "SELECT l.position, l.event_id, l.originator_id, l.originator_version, e.topic, "
            "e.state, l.leaf, l.salt FROM ledger_log l LEFT JOIN {table} e "
            "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
        ).format(table=Identifier(self.events_table_name))

    key_file: KeyFile | None = None  # set by `Factory`

    def create_table(self) -> None:
        """Create the schema once; every later start only checks that it is there.

        A store that keeps raw keys (made before ADR 9), or whose log keeps no
        salts (made before ADR 18), is refused.
        """
        if not schema_ready(self.datastore, LAST_TABLE):
            with schema_lock(self.datastore):
                super().create_table()
        else:
            self.datastore.register_type_adapters()
        with self.datastore.get_connection() as conn:
            row = conn.execute(
                "SELECT bool_or(table_name = 'material_keys' AND column_name = 'key') AS raw, "
                "bool_or(table_name = 'ledger_log' AND column_name = 'salt') AS salted "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name IN ('material_keys', 'ledger_log')"
            ).fetchone()
        if row and row["raw"]:
            raise StoreError(material.RAW_KEYS_MESSAGE)
        if not (row and row["salted"]):
            raise StoreError(UNSALTED_MESSAGE)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int]:
        """Insert events, their log rows, the head and the keys in one transaction.

        Returns the events' notification ids, as eventsourcing's recorders do.
        eventsourcing's own pipelined insert commits even when code run after
        its insert raises (it re-raises after the transaction block), which
        would leave events outside the log; here any failure rolls everything
        back. The insert takes eventsourcing's EXCLUSIVE lock first, so
        positions follow commit order. Keyword arguments as on SQLite.
        """
        if not stored_events:
            return []
        events = [
            self.construct_pg_stored_event(s.originator_id, s.originator_version, s.topic, s.state)
            for s in stored_events
        ]
        with (
            material.guarded(self.key_file, kwargs.get("material", ()), self.kek_history) as keys,
            self.datastore.transaction(commit=True) as curs,
        ):
            for statement in self.lock_table_statements:
                curs.execute(statement, prepare=True)
            curs.execute(SQL("NOTIFY {}").format(Identifier(self.channel_name)))  # eventsourcing's subscriptions
            curs.execute(self.insert_events_statement, (events,))
            notification_ids = [row["notification_id"] for row in curs.fetchall()]
            append_log(
                curs, DIALECT, stored_events, kwargs.get("ids"), kwargs.get("first_position"), kwargs.get("salts")
            )
            keys.write(curs, DIALECT)
        return notification_ids

    def _rows(self, where: str, params: Sequence[Any]) -> list[LogRow]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.select_log_sql + SQL(where), params)
            return [
                LogRow(
                    position=r["position"],
                    event_id=r["event_id"],
                    originator_id=r["originator_id"],
                    version=r["originator_version"],
                    topic=r["topic"],
                    state=bytes(r["state"]) if r["state"] is not None else None,
                    leaf=bytes(r["leaf"]),
                    salt=bytes(r["salt"]) if r["salt"] is not None else None,
                )
                for r in curs.fetchall()
            ]

    def select_course(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        """Position and stored state of every event of one course stream, in order."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT l.position, e.state FROM ledger_log l JOIN {} e "
                    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                    "WHERE l.originator_id = %s ORDER BY l.position"
                ).format(Identifier(self.events_table_name)),
                (originator_id,),
            )
            return [(r["position"], bytes(r["state"])) for r in curs.fetchall()]

    def select_log(self, after: int, limit: int) -> list[LogRow]:
        """Up to `limit` log rows after position `after`."""
        return self._rows("WHERE l.position > %s ORDER BY l.position LIMIT %s", (after, limit))

    def select_raw(self, after: int, limit: int) -> list[RawRow]:
        """Up to `limit` log rows after `after`, as stored (ids as 16 bytes): for verification."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(
                SQL(
                    "SELECT l.position, uuid_send(l.event_id), uuid_send(l.originator_id), l.originator_version, "
                    "e.topic, e.state, l.leaf, l.salt FROM ledger_log l LEFT JOIN {} e "
                    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                    "WHERE l.position > %s ORDER BY l.position LIMIT %s"
                ).format(Identifier(self.events_table_name)),
                (after, limit),
            )
            return curs.fetchall()

    def select_leaves(self, after: int, limit: int) -> list[bytes]:
        """Up to `limit` leaf hashes after position `after`, in order: all a receipt's proof needs."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute("SELECT leaf FROM ledger_log WHERE position > %s ORDER BY position LIMIT %s", (after, limit))
            return [bytes(r[0]) for r in curs.fetchall()]

    def select_by_id(self, event_id: UUID) -> LogRow | None:
        """The log row of one event id, if there is one."""
        rows = self._rows("WHERE l.event_id = %s", (event_id,))
        return rows[0] if rows else None

    def select_streams(self, event_ids: Sequence[UUID]) -> dict[UUID, tuple[UUID, bytes | None]]:
        """Which of `event_ids` the log holds, with the stream each is in and its leaf's salt."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                "SELECT event_id, originator_id, salt FROM ledger_log WHERE event_id = ANY(%s)", (list(event_ids),)
            )
            return {
                r["event_id"]: (r["originator_id"], bytes(r["salt"]) if r["salt"] is not None else None)
                for r in curs.fetchall()
            }

    def head(self) -> tuple[int, bytes | None]:
        """The log's size and Merkle frontier."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute("SELECT size, frontier FROM ledger_head WHERE id = 1")
            row = curs.fetchone()
            return (row["size"], bytes(row["frontier"])) if row else (0, None)

    def select_keys(self, course: str) -> dict[tuple[str, str], bytes]:
        """The material keys of one course that still exist, by (student, purpose), unwrapped."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return material.select(curs, DIALECT, material.required(self.key_file), course)

    def select_wrapped(self) -> list[tuple[str, str, str, bytes, bytes]]:
        """Every row of the key table as stored: (course, student, purpose, KEK id, wrapped key)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return material.all_rows(curs)

    def kek_history(self) -> list[tuple[str, int, bytes]]:
        """Every KEK id the store ever named: (course, position, id)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            return material.kek_history(curs)

    def count_events(self) -> int:
        """How many events the events table holds (the log should hold as many)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(SQL("SELECT count(*) AS n FROM {}").format(Identifier(self.events_table_name)))
            row = curs.fetchone()
            return int(row["n"]) if row else 0

    def select_courses(self) -> list[bytes]:
        """The stored states of every CourseOpened, in order."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT state FROM {} WHERE topic = 'CourseOpened' ORDER BY notification_id").format(
                    Identifier(self.events_table_name)
                )
            )
            return [bytes(r["state"]) for r in curs.fetchall()]

    def select_topics(self, topics: Sequence[str]) -> list[tuple[int, bytes]]:
        """Position and stored state of every event of the given types, in position order."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT l.position, e.state FROM ledger_log l JOIN {} e "
                    "ON e.originator_id = l.originator_id AND e.originator_version = l.originator_version "
                    "WHERE e.topic = ANY(%s) ORDER BY l.position"
                ).format(Identifier(self.events_table_name)),
                (list(topics),),
            )
            return [(r["position"], bytes(r["state"])) for r in curs.fetchall()]


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, handing out the ledger's recorder with its key file."""

    application_recorder_class = LedgerRecorder

    def application_recorder(self) -> ApplicationRecorder:
        return material.with_key_file(super().application_recorder(), self.env)

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        fail_fast(self.datastore.pool)


def fail_fast(pool: Any) -> None:
    """Make a pool that never connected say why at once, instead of waiting out its timeout.

    psycopg_pool connects in a background thread and retries a failed connection
    until the waiting client times out with only "couldn't get a connection
    after N sec". Until the pool's first connection succeeds, a failure (a wrong
    password, a missing database, a refused port) is handed to every waiting
    client as it is, so that the user reads the server's own reason in one line
    at once. After that, the pool's own retrying is left alone (a long-running
    writer rides out a restarting server). Uses the pool's internals, guarded:
    where they differ, the pool just waits as before.
    """
    import weakref

    connect = getattr(type(pool), "_connect", None)
    if connect is None or not hasattr(pool, "_waiting") or not hasattr(pool, "_lock"):
        return
    # Only a weak reference: a pool that held itself through this function would wait for the
    # garbage collector, which may close it from the pool's own thread ("cannot join current thread").
    this = weakref.ref(pool)
    state = {"connected": False}

    def connect_or_fail(*args: Any, **kwargs: Any) -> Any:
        pool = this()
        assert pool is not None  # its own thread calls this
        try:
            conn = connect(pool, *args, **kwargs)
        except Exception as error:
            if not state["connected"]:
                with pool._lock:
                    waiting = list(pool._waiting)
                for client in waiting:
                    with suppress(Exception):
                        client.fail(error)
            raise
        state["connected"] = True
        return conn

    pool._connect = connect_or_fail

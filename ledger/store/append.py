"""What both stores write beside eventsourcing's events, in the same transaction: written once.

The adapters (`sqlite.py`, `postgres.py`) insert the events their own way and
then call `append_log` with a cursor of that transaction and a `Dialect` that
says how their SQL spells parameters and ids. Everything else — reading the
head, giving positions, folding the Merkle frontier — is the same code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.store import log

# The namespace of the ids the log gives events inserted without one (by
# eventsourcing's own callers, e.g. its recorder contract tests); never change it.
UNNAMED_EVENTS = UUID("0d5f3c8e-2b71-4e0a-9c66-5a1f7e3b2d94")


class Cursor(Protocol):
    """The part of a DB-API cursor the shared writes use (sqlite3 and psycopg both fit)."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


class Dialect:
    """How one store spells what the shared SQL needs: its parameter mark and its ids.

    (A plain class: a dataclass would cost every cold start half a millisecond.)
    """

    __slots__ = ("event_id", "param", "stream_id")

    def __init__(
        self, param: str, event_id: Callable[[UUID], object], stream_id: Callable[[UUID], object]
    ) -> None:
        self.param = param  # "?" (SQLite) or "%s" (PostgreSQL)
        self.event_id = event_id  # how an event id is stored
        self.stream_id = stream_id  # how a stream (originator) id is stored

    def sql(self, text: str) -> str:
        """`text`, written with `?` marks, in this store's parameter style."""
        return text if self.param == "?" else text.replace("?", self.param)


def event_ids(stored: Sequence[StoredEvent], ids: Sequence[UUID] | None) -> Sequence[UUID]:
    """The ids the log gives `stored`: those given, else ids derived from stream and version."""
    if ids is not None:
        return ids
    return [uuid.uuid5(UNNAMED_EVENTS, f"{s.originator_id}/{s.originator_version}") for s in stored]


def append_log(
    cursor: Cursor,
    dialect: Dialect,
    stored: Sequence[StoredEvent],
    ids: Sequence[UUID] | None = None,
    first_position: int | None = None,
    salts: Sequence[bytes | None] | None = None,
) -> log.Appended:
    """Give `stored` (just inserted) their log rows and move the head, in the caller's transaction.

    The caller's insert holds the store's write lock, so the head read here is current.
    """
    cursor.execute("SELECT size, frontier FROM ledger_head WHERE id = 1")
    head = cursor.fetchone()
    size, frontier = (head["size"], bytes(head["frontier"])) if head else (0, None)
    appended = log.extend(size, frontier, event_ids(stored, ids), stored, first_position, salts)
    cursor.executemany(
        dialect.sql(
            "INSERT INTO ledger_log (position, event_id, originator_id, originator_version, leaf, salt) "
            "VALUES (?, ?, ?, ?, ?, ?)"
        ),
        [(p, dialect.event_id(i), dialect.stream_id(o), v, leaf, salt) for p, i, o, v, leaf, salt in appended.rows],
    )
    cursor.execute(
        dialect.sql(
            "INSERT INTO ledger_head (id, size, frontier) VALUES (1, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET size = excluded.size, frontier = excluded.frontier"
        ),
        (appended.size, appended.frontier),
    )
    return appended


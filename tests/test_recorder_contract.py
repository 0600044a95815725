"""The ledger's recorders are eventsourcing recorders: eventsourcing's own contract tests pass on both stores.

`ledger/store/` subclasses eventsourcing's SQLite and PostgreSQL application
recorders. Here eventsourcing's `ApplicationRecorderTestCase` (shipped in its
wheel) runs against them unchanged, so an eventsourcing upgrade that breaks
what the adapters rely on fails loudly here. The module is imported, not the
classes: unittest would otherwise collect the abstract bases.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent, Tracking
from eventsourcing.tests import persistence
from eventsourcing.utils import Environment

from ledger import integrity
from ledger.store import store_env
from ledger.store.tracking import insert_tracking


def _factory(store: str) -> Any:
    """The factory eventsourcing builds for `store`, as `Ledger` and the views get it."""
    env = store_env(store)
    if store.startswith("postgresql"):
        from ledger.store.postgres import Factory as PostgresFactory

        return PostgresFactory(Environment("subledger", {**env, "POSTGRES_POOL_SIZE": "4", "POSTGRES_MAX_OVERFLOW": "10"}))
    from ledger.store.sqlite import Factory as SQLiteFactory

    return SQLiteFactory(Environment("subledger", env))


class _OnStore:
    """Builds the recorder under test on `store` (a mixin: no tests of its own to collect)."""

    store = ""
    factory: Any = None

    def create_recorder(self) -> Any:
        self.factory = _factory(self.store)
        return self.factory.application_recorder()

    def tearDown(self) -> None:
        # eventsourcing's concurrency tests leave their reader threads to stop by
        # themselves; closing the connections under them would crash the process.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(timeout=10)
        if self.factory is not None:
            self.factory.close()
        super().tearDown()  # type: ignore[misc]


class TestSQLiteRecorderContract(_OnStore, persistence.ApplicationRecorderTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.directory = tempfile.TemporaryDirectory()
        self.store = str(Path(self.directory.name) / "contract.sqlite")

    def tearDown(self) -> None:
        super().tearDown()
        self.directory.cleanup()


@pytest.mark.postgres
class TestPostgresRecorderContract(_OnStore, persistence.ApplicationRecorderTestCase):
    @pytest.fixture(autouse=True)
    def _database(self, fresh_postgres_url: str) -> None:
        self.store = fresh_postgres_url


# -- what the ledger adds keeps to the contract --------------------------------


@pytest.fixture
def factory(store_url: str) -> Iterator[Any]:
    made = _factory(store_url)
    yield made
    made.close()


def _events(count: int) -> list[StoredEvent]:
    stream = uuid4()
    return [StoredEvent(stream, version, "topic", f"state {version}".encode()) for version in range(1, count + 1)]


def test_events_inserted_without_ids_are_in_the_log_and_verify(factory: Any) -> None:
    """eventsourcing's callers pass no event ids: the log derives them and stays whole."""
    recorder = factory.application_recorder()
    assert recorder.insert_events(_events(3)) == [1, 2, 3]
    assert recorder.insert_events(_events(2)) == [4, 5]
    rows = recorder.select_log(0, 10)
    assert [r.position for r in rows] == [1, 2, 3, 4, 5]
    assert len({r.event_id for r in rows}) == 5
    assert recorder.head()[0] == 5

    class Stub:
        def __init__(self) -> None:
            self.recorder = recorder

        def head(self) -> tuple[int, bytes | None]:
            return recorder.head()  # type: ignore[no-any-return]

    assert integrity.verify(Stub(), rules=False).ok  # the log; its payloads are eventsourcing's, not events


def test_a_failed_insert_leaves_neither_events_nor_log(factory: Any) -> None:
    recorder = factory.application_recorder()
    first = _events(2)
    recorder.insert_events(first)
    with pytest.raises(IntegrityError):
        recorder.insert_events([*_events(2), first[0]])  # the last one is already there
    assert recorder.head()[0] == 2 and recorder.count_events() == 2


def test_tracking_moves_inside_the_callers_transaction(factory: Any) -> None:
    """The views record how far they got with eventsourcing's statement, in their own transaction."""
    tracker = factory.tracking_recorder()
    with tracker.datastore.transaction(commit=True) as cursor:
        insert_tracking(tracker, cursor, Tracking("views", 5))
    assert tracker.max_tracking_id("views") == 5
    with pytest.raises(IntegrityError), tracker.datastore.transaction(commit=True) as cursor:
        insert_tracking(tracker, cursor, Tracking("views", 5))  # not forward: another process got there
    with pytest.raises(RuntimeError), tracker.datastore.transaction(commit=True) as cursor:
        insert_tracking(tracker, cursor, Tracking("views", 9))
        raise RuntimeError("the view rows failed")  # … so the tracking record rolls back with them
    assert tracker.max_tracking_id("views") == 5
    with tracker.datastore.transaction(commit=True) as cursor:
        insert_tracking(tracker, cursor, Tracking("views", 9))
    assert tracker.max_tracking_id("views") == 9


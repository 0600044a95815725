"""Many first reads at once of a store whose views were never built: every one succeeds (issue 7.8).

The views' tables (eventsourcing's tracking table with its `__migration__`
record, and the course chunks) are made by the first read. Two first reads
used to race there: both looked, found nothing, and the second one's
migration record was refused ("Failed to record tracking for __migration__ 1").
"""

from __future__ import annotations

from typing import Any

import pytest

from projections.runner import Views
from tests.cli_helpers import COURSE, run, semester
from tests.test_contract import _subledger

READERS = 16


def test_a_first_read_that_loses_the_race_for_the_view_tables_finds_them_made(
    sqlite_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministically: another process makes the tables between this one's look and its create."""
    from eventsourcing.persistence import OperationalError
    from eventsourcing.sqlite import SQLiteTrackingRecorder

    semester(sqlite_path)
    looked = SQLiteTrackingRecorder.max_tracking_id
    raced: list[str] = []

    def look_then_lose(self: Any, name: str) -> int | None:
        if not raced:
            raced.append("looked")
            Views.open(sqlite_path)  # the other process, faster: tables and record made
            raise OperationalError("no such table: tracking")  # what this one found a moment before
        return looked(self, name)

    monkeypatch.setattr(SQLiteTrackingRecorder, "max_tracking_id", look_then_lose)
    views = Views.open(sqlite_path)
    monkeypatch.undo()
    assert raced, "the race was not run"
    views.catch_up()
    assert views.courses() == [COURSE]


def test_concurrent_first_reads_all_succeed(store_url: str) -> None:
    """Real processes: READERS `status` at once, on either store, whose views were never built."""
    semester(store_url)  # through the Ledger: the views' tables do not exist yet
    assert not _views_built(store_url)
    procs = [_subledger(store_url, "status", "--format", "csv") for _ in range(READERS)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    failed = [r for r in results if r[0] != 0]
    assert not failed, f"{len(failed)} of {READERS} failed: {failed[0]}"
    expected = run(store_url, "status", "--format", "csv").output
    assert "A01" in expected
    assert [r[1:] for r in results] == [(expected, "")] * READERS


def _views_built(store: str) -> bool:
    """Whether the store has its views' tables (asked without making them)."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store) as conn:
            row = conn.execute("SELECT to_regclass('view_chunks') IS NOT NULL").fetchone()
            return bool(row and row[0])
    import sqlite3

    connection = sqlite3.connect(store)
    try:
        return connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'view_chunks'").fetchone() is not None
    finally:
        connection.close()

"""`verify` reports stored views that differ from a rebuild of the log, on both stores.

The views say where each course's events sit in the log; edited behind the
program's back, they change every export while the Merkle log still verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest

from ledger import events as ev
from ledger.app import Ledger
from ledger.store import is_postgres
from projections.runner import Views
from projections.verify import verify_views
from tests.cli_helpers import run
from tests.contract_helpers import param, raw
from tests.test_views import ADA, Script


@pytest.fixture
def built(store_url: str) -> str:
    """Two courses whose views have been built by a read."""
    script = Script(store_url)
    script.semester("idl-2025")
    script.semester("dl2-2026")
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA)
    script.flush()
    views = Views.open(store_url)
    assert views.catch_up() == 31 and views.checkpoint() == 31
    return store_url


def _tracking(store: str) -> str:
    return "subledger_tracking" if is_postgres(store) else "tracking"


def _positions(cur: Any, store: str) -> None:
    """The hand-in of idl-2025 (position 31) said to be at position 30, another course's event."""
    positions = ",".join(map(str, [*range(1, 16), 30])).encode()
    cur.execute(f"UPDATE view_chunks SET positions = {param(store)} WHERE course = 'idl-2025'", (positions,))


def _size(cur: Any, store: str) -> None:
    """idl-2025 said to hold one event fewer: its last hand-in disappears from every view."""
    cur.execute("UPDATE view_courses SET size = size - 1 WHERE course = 'idl-2025'")


def _deleted(cur: Any, store: str) -> None:
    cur.execute("DELETE FROM view_courses WHERE course = 'idl-2025'")


def _swapped(cur: Any, store: str) -> None:
    """idl-2025 shown with the events of dl2-2026."""
    cur.execute("SELECT stream FROM view_courses WHERE course = 'dl2-2026'")
    (other,) = cur.fetchone()
    cur.execute("DELETE FROM view_courses WHERE course = 'dl2-2026'")
    cur.execute(f"UPDATE view_courses SET stream = {param(store)} WHERE course = 'idl-2025'", (other,))


TAMPERING: dict[str, Callable[[Any, str], None]] = {
    "positions edited": _positions,
    "size shrunk": _size,
    "course row deleted": _deleted,
    "streams swapped": _swapped,
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_an_edited_view_fails_verify_naming_its_course(built: str, tampering: str) -> None:
    with raw(built) as cur:
        TAMPERING[tampering](cur, built)
    verified = run(built, "verify")
    assert verified.exit_code == 1
    assert "verification failed: the views of course 'idl-2025' differ from a rebuild of the log (" in verified.stderr
    assert verified.stdout == ""
    assert run(built, "rebuild").exit_code == 0
    assert run(built, "verify").exit_code == 0


def test_an_edited_view_changes_what_readers_are_shown(built: str) -> None:
    """Why verify must look: the Merkle log still holds, and the audit trail is wrong."""
    args = ("--course", "idl-2025", "log", "--assignment", "A01", "--format", "csv")
    before = run(built, *args)
    assert before.exit_code == 0 and before.stdout.splitlines()[-1].startswith("31,")
    with raw(built) as cur:
        _positions(cur, built)
    after = run(built, *args)
    assert after.exit_code == 0 and after.stdout.splitlines()[-1].startswith("30,")  # another course's position
    assert "differ from a rebuild of the log (the positions of its events differ)" in run(built, "verify").stderr


def test_views_that_do_not_match_the_events_are_a_store_error(built: str) -> None:
    """Not a bug: one line that says what to run."""
    with raw(built) as cur:
        _size(cur, built)
    result = run(built, "--course", "idl-2025", "export", "gradebook")
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "error: the views of course 'idl-2025' do not match its events (16 positions, 15 events): "
        "`subledger verify` says more; `subledger rebuild` rewrites them\n"
    )
    assert "differ from a rebuild of the log (size 15, a rebuild gives 16)" in run(built, "verify").stderr


def test_a_checkpoint_moved_past_the_log_fails_verify(built: str) -> None:
    with raw(built) as cur:
        cur.execute(f"UPDATE {_tracking(built)} SET notification_id = 99")
    verified = run(built, "verify")
    assert verified.exit_code == 1
    assert verified.stderr == "verification failed: the views claim position 99, but the log holds 31\n"


def test_a_checkpoint_moved_back_fails_verify(built: str) -> None:
    with raw(built) as cur:
        cur.execute(f"UPDATE {_tracking(built)} SET notification_id = 30")
    verdict = verify_views(built)
    assert not verdict.ok and verdict.checkpoint == 30
    assert verdict.problems == [
        "the views of course 'idl-2025' differ from a rebuild of the log (size 16, a rebuild gives 15); "
        "`subledger rebuild` rewrites them"
    ]


def test_untouched_views_verify(built: str) -> None:
    verdict = verify_views(built)
    assert (verdict.ok, verdict.checkpoint, verdict.courses) == (True, 31, 2)
    verified = run(built, "verify")
    assert verified.exit_code == 0 and verified.stdout.startswith("verified 31 events of subledger/")
    # Catching up after more events keeps them verifiable.
    script = Script(built)
    script.seq = 31
    script.hand_in("A02", "2025-04-20T20:00:00+02:00", ADA)
    script.flush()
    assert verify_views(built).checkpoint == 31  # verify reads; it does not catch up
    Views.open(built).catch_up()
    assert verify_views(built).ok and verify_views(built).checkpoint == 32


def test_views_never_built_have_nothing_to_differ(store_url: str) -> None:
    script = Script(store_url)
    script.semester()
    script.flush()
    assert verify_views(store_url).ok and verify_views(store_url).checkpoint is None
    assert run(store_url, "verify").exit_code == 0


def test_a_course_read_while_another_reader_catches_up_sees_one_state(built: str) -> None:
    """A read of a course's views and events is one snapshot: a catch-up that commits in between is not half seen.

    (Found by the load test: with readers catching up beside each other, an
    export said the views "do not match its events" on PostgreSQL, where each
    statement of a plain read transaction saw a newer state than the one before.)
    """
    reader, other = Views.open(built), Views.open(built)
    late = ev.SubmissionHandedIn(
        course="idl-2025", at=datetime(2025, 4, 13, 19, tzinfo=UTC), assignment="A01", team=(ADA,), digest=None
    )
    real = reader.recorder.datastore.transaction
    raced: list[int] = []

    class Racing:
        """The read's cursor: before it reads the chunks, an append and another reader's catch-up commit."""

        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def execute(self, query: Any, *args: Any) -> Any:
            if "view_chunks" in str(query) and not raced:
                with closing(Ledger(built)) as ledger:
                    ledger.append([late], "tester")
                raced.append(other.catch_up())
            return self.cursor.execute(query, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.cursor, name)

    @contextmanager
    def racing(commit: bool = False) -> Iterator[Any]:
        with real(commit=commit) as cursor:
            yield Racing(cursor)

    with mock.patch.object(reader.recorder.datastore, "transaction", racing):
        records = reader.records("idl-2025")
    assert raced == [1] and len(records) == 16  # the state before the catch-up, whole
    assert len(reader.records("idl-2025")) == 17  # and the next read sees it

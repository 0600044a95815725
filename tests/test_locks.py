"""The locks writers take turns by (ADR 18): held by one writer at a time, re-entrant only for its own thread.

The real-process races are in `tests/test_contract.py`; here the SQLite lock
file itself, and the PostgreSQL advisory locks as the server sees them.
"""

from __future__ import annotations

import os
import stat
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, closing
from pathlib import Path

import pytest

from ledger.app import Ledger, stream_id
from ledger.store.locks import FileLock

COURSE = stream_id("idl-2025")


def holds_out(hold: Callable[[], AbstractContextManager[None]], take: Callable[[], AbstractContextManager[None]]) -> bool:
    """Whether `take()`, tried in another thread while this one holds `hold()`, waits until it is let go."""
    got = threading.Event()

    def other() -> None:
        with take():
            got.set()

    with hold():
        thread = threading.Thread(target=other)
        thread.start()
        waited = not got.wait(0.3)  # a lock that is not held is got at once
    thread.join(10)
    return waited and got.is_set()


def test_the_store_lock_is_re_entrant_for_its_thread_and_excludes_every_other(tmp_path: Path) -> None:
    lock = FileLock(str(tmp_path / "ledger.sqlite.lock"))
    other_object = FileLock(lock.path)
    def both() -> AbstractContextManager[None]:
        stack = ExitStack()
        stack.enter_context(lock.courses([COURSE]))
        stack.enter_context(lock.log())  # the log's lock inside the courses': no deadlock
        return stack

    for take in (lambda: lock.courses([COURSE]), lock.log, other_object.log):
        assert holds_out(both, take)
    with lock.log():
        pass  # let go again
    assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600


def test_the_store_lock_is_owner_only_under_a_lax_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        lock = FileLock(str(tmp_path / "ledger.sqlite.lock"))
        with lock.log():
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(lock.path).st_mode) == 0o600


def test_a_lock_file_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    from ledger.errors import StoreError

    lock = FileLock(str(tmp_path / "missing" / "ledger.sqlite.lock"))
    with pytest.raises(StoreError, match=r"^cannot open the store's lock file .*: No such file or directory$"), lock.log():
        pass


@pytest.mark.postgres
def test_postgres_course_locks_exclude_only_their_course(fresh_postgres_url: str) -> None:
    with closing(Ledger(fresh_postgres_url)) as first, closing(Ledger(fresh_postgres_url)) as second:
        mine, other = first.recorder.locks, second.recorder.locks  # type: ignore[attr-defined]
        elsewhere = stream_id("ml-2025")
        with mine.courses([COURSE]), other.courses([elsewhere]), other.log():
            pass  # another course, and the log, are free while a course is held
        assert holds_out(lambda: mine.courses([COURSE]), lambda: other.courses([elsewhere, COURSE]))
        assert holds_out(mine.log, other.log)
        with other.courses([COURSE]), other.log():
            pass  # all let go


@pytest.mark.postgres
def test_postgres_locks_are_let_go_when_a_write_fails(fresh_postgres_url: str) -> None:
    import psycopg

    with closing(Ledger(fresh_postgres_url)) as ledger:
        locks = ledger.recorder.locks  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError), locks.courses([COURSE, uuid.uuid4()]), locks.log():
            raise RuntimeError("the write failed")
    with psycopg.connect(fresh_postgres_url) as conn:
        held = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()
    assert held == (0,)

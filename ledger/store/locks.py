"""Writers take turns: what an append holds while it decides and while it takes its place (ADR 18).

An append holds its courses' locks from the moment it reads them until its
write has committed, so no other writer changes a course under a decision;
and it holds the log's lock while it reads the head and the store's clock,
gives its events their positions and `recorded_at`, and writes. Writers in
different courses decide at the same time and queue only for that short last
step; writers never decide on a state that another is about to change, so no
append is decided in vain, and none gives up.

Locks are always taken in the same order — courses (sorted), then the log,
then the key file (inside the insert, ADR 9), then the database's own write
lock — so they cannot deadlock each other.

The SQLite store has one lock for both (a `flock` on a file beside it,
`ledger.sqlite.lock`): SQLite admits one writer at a time anyway. The
PostgreSQL store takes session advisory locks (`ledger/store/postgres.py`).
The inserts still name the position and stream version they expect, so a
writer that does not take these locks (an older subledger) is caught there
and decided again.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from uuid import UUID

from ledger.errors import StoreError


class WriteLocks(Protocol):
    """The locks of one store, as one writer holds them."""

    def courses(self, streams: Sequence[UUID]) -> AbstractContextManager[None]:
        """Hold the locks of these course streams: no other writer appends to them meanwhile."""
        ...

    def log(self) -> AbstractContextManager[None]:
        """Hold the log's lock: no other writer takes a position or reads the store's clock meanwhile."""
        ...


class NoLocks:
    """The locks of a store nobody else can write: one in memory."""

    @contextmanager
    def courses(self, streams: Sequence[UUID]) -> Iterator[None]:
        """Nothing to hold."""
        yield

    @contextmanager
    def log(self) -> Iterator[None]:
        """Nothing to hold."""
        yield


class FileLock:
    """One lock for a whole store: an exclusive `flock` on a file beside it, made owner-only.

    Re-entrant for the thread that holds it (the log's lock is taken while the
    courses' is held); other threads and other objects, even in one process,
    wait for it. The file is opened for each hold and closed after it, which
    releases the lock, also when the process dies.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._holder: int | None = None  # the thread holding the lock through this object

    def courses(self, streams: Sequence[UUID]) -> AbstractContextManager[None]:
        """Hold the store's lock (the courses of one SQLite store share it)."""
        return self._hold()

    def log(self) -> AbstractContextManager[None]:
        """Hold the store's lock."""
        return self._hold()

    @contextmanager
    def _hold(self) -> Iterator[None]:
        import fcntl
        import threading

        if self._holder == threading.get_ident():
            yield  # held already, by this thread
            return
        descriptor = self._open()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._holder = threading.get_ident()
            try:
                yield
            finally:
                self._holder = None
        finally:
            os.close(descriptor)  # releases the lock

    def _open(self) -> int:
        try:
            try:
                descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return os.open(self.path, os.O_RDWR)
            os.fchmod(descriptor, 0o600)  # owner-only whatever the umask, like the store
            return descriptor
        except OSError as error:
            raise StoreError(f"cannot open the store's lock file {self.path!r}: {error.strerror}") from None

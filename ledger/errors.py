"""Named errors of the write side: what a user did wrong, said in one line."""

from __future__ import annotations

import sys


class LedgerError(Exception):
    """Base of every error the ledger reports to a user (never a traceback)."""


class Refused(LedgerError):
    """An event breaks a rule of the course; nothing was written."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"refused by rule {rule}: {detail}")
        self.rule = rule
        self.detail = detail


class BadLine(LedgerError):
    """One line of an import that cannot be read or is refused."""

    def __init__(self, line: int, message: str, cause: Refused | None = None) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message
        self.cause = cause


class ImportRejected(LedgerError):
    """A bulk import with bad lines: nothing of it was written."""

    def __init__(self, problems: list[BadLine]) -> None:
        super().__init__(f"{len(problems)} bad line(s); nothing was imported")
        self.problems = problems


class Stale(LedgerError):
    """The course changed between a command's reading it and its appending what it decided."""


class StoreError(LedgerError):
    """The store cannot be opened or used as asked."""


class Damaged(StoreError):
    """What the store holds cannot be read back (a changed row, a corrupted head): nothing is written."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the store is damaged: {detail}; run verify")
        self.detail = detail


def first_line(error: Exception) -> str:
    """A driver's error in one line (they run to several, with hints and context)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def store_failures() -> tuple[type[Exception], ...]:
    """The exceptions by which a store or its driver says it will not open or do what was asked.

    eventsourcing's own (`PersistenceError`), the drivers' (sqlite3, and psycopg
    once loaded), and the operating system's. Anything else raised while using
    a store is a bug, and is not to be reported as a store that would not open.
    """
    import sqlite3

    from eventsourcing.persistence import PersistenceError

    failures: list[type[Exception]] = [PersistenceError, sqlite3.Error, OSError]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        failures.append(psycopg.Error)
    return tuple(failures)


# SQLite's primary result codes for a database that may be read but not written.
_SQLITE_READ_ONLY = {3, 8, 23}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_AUTH
# PostgreSQL's SQLSTATEs for the same: insufficient_privilege, read_only_sql_transaction.
_POSTGRES_READ_ONLY = {"42501", "25006"}


def may_not_write(error: BaseException) -> bool:
    """Whether a store refused a write for lack of rights (not for a fault): by the driver's code, never its words."""
    for cause in (error, error.__cause__):
        sqlstate = getattr(cause, "sqlstate", None)  # psycopg's errors
        if sqlstate is not None:
            return sqlstate in _POSTGRES_READ_ONLY
        code = getattr(cause, "sqlite_errorcode", None)  # sqlite3's (Python 3.11+)
        if code is not None:
            return code & 0xFF in _SQLITE_READ_ONLY
    return False

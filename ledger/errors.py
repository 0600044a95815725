"""Named errors of the write side: what a user did wrong, said in one line."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger reports to a user (never a traceback)."""


class Refused(LedgerError):
    """An event breaks a rule of the course; nothing was written."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"refused by rule {rule}: {detail}")
        self.rule = rule
        self.detail = detail


class Conflict(LedgerError):
    """An event id already exists with different content."""


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


def first_line(error: Exception) -> str:
    """A driver's error in one line (they run to several, with hints and context)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

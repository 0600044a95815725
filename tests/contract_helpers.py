"""What the contract tests need to know about each store: raw access behind the program's back."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger import events as ev
from ledger.store import is_postgres

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)
COURSE = "idl-2025"


def events_table(store: str) -> str:
    """The name of eventsourcing's events table in this store."""
    return "subledger_events" if is_postgres(store) else "stored_events"


@contextmanager
def raw(store: str) -> Iterator[Any]:
    """A cursor straight into the store, with PostgreSQL's append-only triggers bypassed.

    This is what an attacker with database access can do; the tests use it to
    tamper and then show that `verify` notices.
    """
    if is_postgres(store):
        import psycopg

        with psycopg.connect(store, autocommit=False) as conn, conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # triggers off
            yield cur
            conn.commit()
    else:
        conn = sqlite3.connect(store)
        try:
            yield conn.cursor()
            conn.commit()
        finally:
            conn.close()


def param(store: str) -> str:
    """The SQL parameter placeholder of this store."""
    return "%s" if is_postgres(store) else "?"


def course_opened(capacity: int = 60) -> ev.CourseOpened:
    """A course whose deadlines lie well after T0."""
    return ev.CourseOpened(
        course=COURSE,
        at=T0,
        title="Introduction to Deep Learning",
        timezone="Europe/Berlin",
        capacity=capacity,
        application_deadline=T0 + timedelta(days=30),
        registration_deadline=T0 + timedelta(days=40),
        groups=(ev.Group("g1", "Thu 11:00", 40), ev.Group("g2", "Fri 13:00", 40)),
    )


def applications(count: int, first: int = 0, tag: str | None = None) -> list[ev.Event]:
    """`count` on-time applications; with `tag`, their material is unique to it (so a search hit is ours)."""
    name, email, statement = ("Name-{tag}-{i}", "mail-{tag}-{i}@st.example", "Statement-{tag}-{i}") if tag else (
        "Student {i}", "s{i}@st.example", "statement number {i}"
    )
    return [
        ev.ApplicationSubmitted(
            course=COURSE,
            at=T0 + timedelta(minutes=i + 1),
            student=f"23{i:04d}",
            name=name.format(tag=tag, i=i),
            email=email.format(tag=tag, i=i),
            programme="bachelor",
            prerequisite="Machine Learning",
            statement=statement.format(tag=tag, i=i),
        )
        for i in range(first, first + count)
    ]


def accepted(count: int) -> list[ev.Event]:
    """Acceptances of the first `count` applicants."""
    return [
        ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=1, minutes=i), student=f"23{i:04d}")
        for i in range(count)
    ]


# -- every byte a store keeps, for the erasure tests (ADR 9) -------------------


def key_file(store: str) -> Path:
    """The key file `store` uses (SUBLEDGER_KEY_FILE, or its default)."""
    from ledger.store import key_file_for

    return Path(key_file_for(store))


def store_files(store: str) -> list[Path]:
    """Every file that holds `store`'s bytes: an SQLite store's main file, write-ahead log,
    shared memory and key file; for PostgreSQL the server's whole data directory (after a
    CHECKPOINT, so that nothing lives only in its buffers) and the key file.

    Reading a server's data directory needs a superuser role and a readable directory
    (`.ci/run` runs as root); otherwise the test is skipped, which CI counts as a failure.
    """
    if not is_postgres(store):
        return [p for p in (Path(store + s) for s in ("", "-wal", "-shm")) if p.exists()] + [key_file(store)]
    import psycopg
    import pytest

    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SHOW data_directory").fetchone()
    directory = Path(row[0]) if row else None
    if directory is None or not os.access(directory, os.R_OK | os.X_OK):
        pytest.skip(f"PostgreSQL's data directory {directory} cannot be read here: run as root or as its owner")
    return [*sorted(p for p in directory.rglob("*") if p.is_file()), key_file(store)]


def found_in(files: list[Path], needles: list[bytes]) -> list[tuple[str, str]]:
    """(file, needle) for each needle found in each file; files that vanish while read are skipped."""
    hits = []
    for path in files:
        try:
            data = path.read_bytes()
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            continue
        hits.extend((str(path), needle[:24].hex()) for needle in needles if needle in data)
    return hits


def spellings(secret: bytes) -> list[bytes]:
    """A key as it might sit in a file: raw, hex, base64 and URL-safe base64."""
    import base64

    return [secret, secret.hex().encode(), base64.b64encode(secret), base64.urlsafe_b64encode(secret)]


# -- a course whose selection is over, for the erasure and key tests -------------

REJECTED = "230003"


def selected_course(store: str, tag: str = "selected") -> Any:
    """A `Ledger` on `store` with four applicants: three admitted, one rejected; selection is over."""
    from ledger.app import Ledger

    ledger = Ledger(store)
    ledger.append([course_opened(), *applications(4, tag=tag), *accepted(3)], "setup")
    ledger.append(
        [ev.ApplicationRejected(course=COURSE, at=T0 + timedelta(days=2), student=REJECTED, reason="prerequisite")],
        "setup",
    )
    return ledger


def erasure(ledger: Any) -> ev.ApplicationMaterialErased:
    """The erasure of every applicant's material not yet erased."""
    course = ledger.course(COURSE)
    students = tuple(course.holding_material())
    return ev.ApplicationMaterialErased(course=COURSE, at=T0 + timedelta(days=3), students=students)


def current_kek(ledger: Any) -> tuple[bytes, bytes]:
    """The course's current key-encryption key: (id, key)."""
    history = ledger.recorder.kek_history()
    kek_id: bytes = [k for c, _, k in history if c == COURSE][-1]
    kek: bytes | None = ledger.recorder.key_file.get(kek_id)
    assert kek is not None
    return kek_id, kek


def destruction_fails(monkeypatch: Any) -> Callable[[], None]:
    """Make the key file fail to destroy a KEK (as a crash right after the store's commit would);
    return the function that undoes it."""
    from ledger.store.keyfile import KeyFile

    destroy = KeyFile.destroy

    def crash(self: KeyFile, kek_ids: Any) -> None:
        if list(kek_ids):
            raise OSError("no space left on device")
        destroy(self, kek_ids)

    monkeypatch.setattr(KeyFile, "destroy", crash)
    return lambda: monkeypatch.setattr(KeyFile, "destroy", destroy)

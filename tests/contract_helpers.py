"""What the contract tests need to know about each store: raw access behind the program's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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


def applications(count: int, first: int = 0) -> list[ev.Event]:
    """`count` on-time applications."""
    return [
        ev.ApplicationSubmitted(
            course=COURSE,
            at=T0 + timedelta(minutes=i + 1),
            student=f"23{i:04d}",
            name=f"Student {i}",
            email=f"s{i}@st.example",
            programme="bachelor",
            prerequisite="Machine Learning",
            statement=f"statement number {i}",
        )
        for i in range(first, first + count)
    ]


def accepted(count: int) -> list[ev.Event]:
    """Acceptances of the first `count` applicants."""
    return [
        ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=1, minutes=i), student=f"23{i:04d}")
        for i in range(count)
    ]

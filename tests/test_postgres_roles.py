"""On the real server: the writer appends but cannot alter; the auditor reads and verifies only."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner

from cli.main import main
from ledger import events as ev
from ledger import integrity
from ledger.app import Ledger
from ledger.errors import StoreError
from ledger.store.roles import roles_sql
from projections.runner import VIEW_TABLES
from tests.contract_helpers import COURSE, T0, accepted, applications, course_opened

pytestmark = pytest.mark.postgres


def _as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@pytest.fixture
def roles(fresh_postgres_url: str) -> Iterator[tuple[str, str]]:
    """A store made by its owner, and URLs of a fresh writer and a fresh auditor role."""
    Ledger(fresh_postgres_url).append([course_opened(), *applications(3), *accepted(2)], "owner")
    assert CliRunner().invoke(main, ["--store", fresh_postgres_url, "rebuild"]).exit_code == 0  # the owner's views
    suffix = secrets.token_hex(4)
    writer, auditor, password = f"writer_{suffix}", f"auditor_{suffix}", secrets.token_hex(8)
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        for role in (writer, auditor):
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(roles_sql(writer, auditor, maintained=VIEW_TABLES))
    yield _as(fresh_postgres_url, writer, password), _as(fresh_postgres_url, auditor, password)
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        for role in (writer, auditor):
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_writer_appends_but_cannot_alter(roles: tuple[str, str]) -> None:
    writer_url, _ = roles
    ledger = Ledger(writer_url)
    recorded = ledger.append([ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=2), student="230002")], "staff")
    assert recorded[0].position == 7
    with psycopg.connect(writer_url, autocommit=True) as conn:
        # UPDATE is granted (for the lock) but the trigger refuses it …
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE subledger_events SET topic = 'x'")
        # … and the rest is not even granted.
        for statement in ("DELETE FROM subledger_events", "DELETE FROM ledger_log", "TRUNCATE subledger_events"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE subledger_events DISABLE TRIGGER ALL")
    assert integrity.verify(Ledger(writer_url)).ok


def test_the_auditor_reads_exports_and_verifies_but_cannot_append(roles: tuple[str, str]) -> None:
    _, auditor_url = roles
    runner = CliRunner()
    verified = runner.invoke(main, ["--store", auditor_url, "verify"])
    assert verified.exit_code == 0 and "verified 6 events" in verified.output
    exported = runner.invoke(main, ["--store", auditor_url, "export", "events"])
    assert exported.exit_code == 0 and len(exported.output.splitlines()) == 6
    with pytest.raises(StoreError, match="refused the write"):
        Ledger(auditor_url).append([ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=2), student="230002")], "auditor")
    refused = runner.invoke(main, ["--store", auditor_url, "--actor", "auditor", "accept", "230002"])
    assert refused.exit_code == 1 and refused.output.startswith("error: the store refused the write")
    assert Ledger(auditor_url).head()[0] == 6


def test_an_erasure_by_the_writer_needs_nothing_from_the_owner(roles: tuple[str, str]) -> None:
    """Erasure replaces the course's key-encryption key: no VACUUM, no owner, nothing left to do."""
    writer_url, _ = roles
    runner = CliRunner()
    base = ["--store", writer_url, "--actor", "staff"]
    assert runner.invoke(main, [*base, "reject", "230002", "--reason", "full"]).exit_code == 0
    ledger = Ledger(writer_url)
    (old,) = [k for course, _, k in ledger.recorder.kek_history() if course == COURSE]  # type: ignore[attr-defined]
    erased = runner.invoke(main, [*base, "erase-material"])
    assert erased.exit_code == 0 and erased.stderr == "", erased.output
    assert ledger.recorder.key_file.get(old) is None  # type: ignore[attr-defined]
    assert Ledger(writer_url).material_keys(COURSE, "230002") == {}


def test_the_writer_cannot_destroy_keys_outside_an_erasure(fresh_postgres_url: str, roles: tuple[str, str]) -> None:
    writer_url, _ = roles
    with psycopg.connect(writer_url, autocommit=True) as conn:
        for statement in ("DELETE FROM material_keys", "UPDATE material_keys SET wrapped = ''", "TRUNCATE material_keys",
                          "DELETE FROM material_keks", "UPDATE material_keks SET kek = ''"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # A new key-encryption key id would make every key unreadable: only an erasure may bring one.
        (position,) = conn.execute("SELECT max(position) FROM ledger_log").fetchone()  # type: ignore[misc]
        with pytest.raises(psycopg.errors.RaiseException, match="needs an erasure recorded at position"):
            conn.execute(
                "INSERT INTO material_keks VALUES (%s, %s, %s)", (COURSE, position, secrets.token_bytes(16))
            )
    # Not even the owner deletes keys while the triggers are on.
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("DELETE FROM material_keys")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute("UPDATE material_keks SET position = position + 1")
    assert len(Ledger(writer_url).material_keys(COURSE, "230000")) == 2


def test_both_roles_read_the_views(fresh_postgres_url: str, roles: tuple[str, str]) -> None:
    """The owner built the views; the writer keeps them current, the auditor reads past them."""
    writer_url, auditor_url = roles
    runner = CliRunner()

    def admitted(url: str) -> list[str]:
        shown = runner.invoke(main, ["--store", url, "export", "admission", "--format", "csv"])
        assert shown.exit_code == 0, shown.output
        return [line.split(",")[0] for line in shown.output.splitlines()[1:]]

    assert admitted(writer_url) == admitted(auditor_url) == ["230000", "230001"]
    assert runner.invoke(main, ["--store", writer_url, "--actor", "staff", "accept", "230002"]).exit_code == 0
    # The auditor may not bring the views up to date, and reads the ledger itself.
    assert admitted(auditor_url) == ["230000", "230001", "230002"]
    assert admitted(writer_url) == ["230000", "230001", "230002"]

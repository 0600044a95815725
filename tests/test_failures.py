"""Failures that are not the user's: a bug says it is one, a closed pipe is no failure,
and a reader that may not write the views is told apart from a store that fails by the
driver's error codes, never by the words of its messages."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import OperationalError, PersistenceError

from cli.main import INTERNAL_ERROR
from ledger.app import Ledger
from ledger.errors import StoreError, may_not_write
from projections.runner import Views
from tests.cli_helpers import run, semester

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "idl-2025.jsonl"


def test_a_bug_is_reported_as_one_with_its_traceback_in_a_file(
    sqlite_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    semester(sqlite_path)

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug in a view")

    monkeypatch.setattr(Views, "catch_up", broken)
    result = run(sqlite_path, "status")
    assert result.exit_code == INTERNAL_ERROR not in (0, 1, 2)
    (line,) = result.stderr.splitlines()
    assert line.startswith("internal error (a bug in subledger): ZeroDivisionError: a bug in a view")
    assert not line.startswith("error:")  # never dressed up as a refusal or a store error
    report = Path(line.rsplit("the full report is in ", 1)[1])
    try:
        text = report.read_text()
        assert "Traceback (most recent call last)" in text and "ZeroDivisionError: a bug in a view" in text
        assert "command: subledger status\n" in text
        assert sqlite_path not in text  # arguments are left out (a store URL may hold a password)
        assert report.stat().st_mode & 0o077 == 0
    finally:
        report.unlink()


def test_a_store_failure_while_catching_up_is_one_line(sqlite_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    semester(sqlite_path)

    from projections import chunks

    def busy(*args: object, **kwargs: object) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(chunks, "save", busy)
    result = run(sqlite_path, "status")
    assert (result.exit_code, result.output) == (1, "error: cannot bring the views up to date: database is locked\n")


def test_a_closed_pipe_ends_the_output_quietly(tmp_path: Path) -> None:
    store = str(tmp_path / "sample.sqlite")
    with closing(Ledger(store)) as ledger:
        ledger.import_lines(SAMPLE.read_bytes().splitlines(), "tester")
    for command in (["log"], ["export", "events"], ["export", "admission", "--format", "json"]):
        reader = subprocess.Popen(
            [sys.executable, "-m", "cli", "--store", store, *command],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.readline()
        reader.stdout.close()  # `| head -1`
        assert reader.wait(timeout=60) == 0, command
        assert reader.stderr.read() == b"", command


def _read_only_error(tmp_path: Path) -> sqlite3.Error:
    path = tmp_path / "ro.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE t (x)")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        try:
            db.execute("INSERT INTO t VALUES (1)")
        except sqlite3.Error as error:
            return error
    raise AssertionError("a read-only database took a write")


def test_may_not_write_goes_by_the_drivers_codes(tmp_path: Path) -> None:
    read_only = _read_only_error(tmp_path)
    assert may_not_write(read_only)
    wrapped = OperationalError(str(read_only))
    wrapped.__cause__ = read_only
    assert may_not_write(wrapped)
    assert may_not_write(psycopg.errors.InsufficientPrivilege("permission denied for table view_courses"))
    assert may_not_write(psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT"))
    # The words alone decide nothing: a fault that says "permission denied" is still a fault.
    assert not may_not_write(PersistenceError("permission denied; read-only database"))
    assert not may_not_write(psycopg.errors.DiskFull("could not extend file: permission denied"))
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5  # type: ignore[attr-defined]  # SQLITE_BUSY
    assert not may_not_write(busy)


def test_a_reader_who_may_not_write_reads_the_ledger_itself(sqlite_path: str) -> None:
    records = semester(sqlite_path)
    Views.open(sqlite_path).catch_up()
    with closing(Ledger(sqlite_path)) as ledger:
        ledger.import_lines([b'{"type":"ApplicationAccepted","course":"idl-2025","at":"2025-04-08T10:00:00+02:00",'
                             b'"student":"231003"}'], "tester")  # fmt: skip
    reader = Views.open(f"file:{sqlite_path}?mode=ro")
    assert reader.catch_up() == 0 and reader.direct
    assert len(reader.records("idl-2025")) == len(records) + 1
    writer = Views.open(sqlite_path)
    assert writer.catch_up() == 1 and not writer.direct


def test_a_store_that_will_not_open_is_one_line(tmp_path: Path) -> None:
    not_a_store = tmp_path / "notes.sqlite"
    not_a_store.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        Views.open(str(not_a_store))

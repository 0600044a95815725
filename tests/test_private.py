"""Private by default: a new SQLite store is its owner's alone, reads never make or change files that are not stores."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.app import Ledger
from tests.cli_helpers import COURSE, jsonl, run, semester_lines


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The common umask 022, which would leave new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_store_and_its_files_are_readable_by_their_owner_only(tmp_path: Path, lax_umask: None) -> None:
    store = tmp_path / "ledger.sqlite"
    result = run(str(store), "import", "-", input=jsonl(*semester_lines()))
    assert result.exit_code == 0, result.output
    ledger = Ledger(str(store))  # held open, so that the write-ahead log and shared memory exist
    try:
        assert ledger.course(COURSE).applications
        files = [store, Path(f"{store}-wal"), Path(f"{store}-shm"), Path(f"{store}.keys"), Path(f"{store}.lock")]
        assert {p.name: _mode(p) for p in files} == dict.fromkeys((p.name for p in files), 0o600)
    finally:
        ledger.close()


def _foreign(tmp_path: Path) -> Path:
    """Another program's SQLite database."""
    path = tmp_path / "photos.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (name TEXT)")
        db.execute("INSERT INTO photos VALUES ('cat.jpg')")
    return path


@pytest.mark.parametrize("command", [["status"], ["export", "admission"], ["log"], ["digest"], ["verify"]])
def test_reads_refuse_a_file_that_is_not_a_store_and_leave_it_alone(tmp_path: Path, command: list[str]) -> None:
    foreign, empty = _foreign(tmp_path), tmp_path / "empty.sqlite"
    empty.touch()
    for path in (foreign, empty):
        before = sorted(p.name for p in tmp_path.iterdir()), path.read_bytes()
        result = run(str(path), *command)
        assert result.exit_code == 1, result.output
        assert result.stderr == f"error: {str(path)!r} is not a subledger store\n"
        assert (sorted(p.name for p in tmp_path.iterdir()), path.read_bytes()) == before


def test_an_append_refuses_another_programs_database(tmp_path: Path) -> None:
    foreign = _foreign(tmp_path)
    result = run(str(foreign), "import", "-", input=jsonl(*semester_lines()))
    assert result.exit_code == 1
    assert result.stderr == f"error: {str(foreign)!r} is not a subledger store: it holds other tables\n"
    with sqlite3.connect(foreign) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["photos"]


def test_a_dry_run_or_a_refused_import_makes_no_file(tmp_path: Path) -> None:
    store = tmp_path / "ledger.sqlite"
    dry = run(str(store), "import", "-", "--dry-run", input=jsonl(*semester_lines()))
    assert dry.exit_code == 0 and dry.stdout.startswith("would append 16 events"), dry.output
    bad = run(str(store), "import", "-", input=jsonl(*semester_lines()) + "{not json}\n")
    assert bad.exit_code == 1 and "line 17: malformed JSON" in bad.stderr
    refused = run(str(store), "--course", COURSE, "accept", "231001")
    assert refused.exit_code == 1 and "refused by rule unknown-course" in refused.stderr
    assert list(tmp_path.iterdir()) == []
    done = run(str(store), "import", "-", input=jsonl(*semester_lines()))
    assert done.exit_code == 0 and done.stdout.startswith("appended 16 events"), done.output


def test_closing_a_ledger_on_a_store_never_written_makes_no_file(tmp_path: Path) -> None:
    """As the CLI's process ends after a dry run, the ledger is closed (or collected): still no file."""
    store = tmp_path / "ledger.sqlite"
    ledger = Ledger(str(store))
    ledger.import_lines([line.encode() for line in jsonl(*semester_lines()).splitlines()], "t", dry_run=True)
    ledger.close()
    del ledger
    assert list(tmp_path.iterdir()) == []


def test_a_ledger_opened_before_another_process_made_the_store_sees_it(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    early = Ledger(store)
    assert early.head()[0] == 0 and not os.path.exists(store)
    assert run(store, "import", "-", input=jsonl(*semester_lines())).exit_code == 0
    assert early.head()[0] == 16 and early.courses() == [COURSE]
    early.close()

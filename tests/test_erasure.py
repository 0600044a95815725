"""Application material becomes unrecoverable after selection, while the proof still holds (ADR 4, ADR 9).

The data keys that seal material are stored only wrapped under a key-encryption
key (KEK) from the key file; an erasure replaces the course's KEK and destroys
the old one. These tests search every file of the store — SQLite's main file,
write-ahead log and shared memory, PostgreSQL's whole data directory with
`pg_wal/` — and the key file, for the plaintext, the data keys and the old KEK.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from ledger import events as ev
from ledger import integrity, vault
from ledger.app import Ledger
from ledger.errors import Refused, StoreError
from ledger.store import is_postgres, material
from ledger.store.keyfile import KeyFile
from projections.events import lines as export_lines
from projections.runner import Views
from tests.cli_helpers import run
from tests.contract_helpers import (
    COURSE,
    REJECTED,
    T0,
    accepted,
    applications,
    course_opened,
    current_kek,
    destruction_fails,
    erasure,
    found_in,
    key_file,
    raw,
    selected_course,
    spellings,
    store_files,
)


def _plaintext(tag: str) -> list[bytes]:
    """Material that must never be in any file: every statement; the rejected applicant's name and email."""
    return [f"Statement-{tag}-{i}".encode() for i in range(4)] + [f"Name-{tag}-3".encode(), f"mail-{tag}-3".encode()]


def test_erasure_leaves_nothing_that_opens_the_material(store_url: str) -> None:
    tag = secrets.token_hex(6)
    ledger = selected_course(store_url, tag)
    before = integrity.checkpoint(ledger)
    keys = ledger.recorder.select_keys(COURSE)  # type: ignore[attr-defined]
    destroyed = [k for (student, purpose), k in keys.items() if purpose == vault.STATEMENT or student == REJECTED]
    old_id, old_kek = current_kek(ledger)
    wrapped = [row[4] for row in ledger.recorder.select_wrapped()]  # type: ignore[attr-defined]

    files = store_files(store_url)
    # The search reads the right bytes: the KEK is in the key file, the wrapped keys in the store ...
    assert found_in([key_file(store_url)], spellings(old_kek))
    assert found_in(files, wrapped)
    # ... and neither plaintext nor a data key ever reached any file.
    assert found_in(files, _plaintext(tag) + [s for k in keys.values() for s in spellings(k)]) == []

    ledger.append([erasure(ledger)], "lecturer")

    new_id, new_kek = current_kek(ledger)
    assert new_id != old_id
    files = store_files(store_url)
    assert found_in([key_file(store_url)], spellings(new_kek))  # the survivors' keys are under the new KEK
    needles = _plaintext(tag) + spellings(old_kek) + [s for k in destroyed for s in spellings(k)]
    assert found_in(files, needles) == []
    assert ledger.recorder.key_file.get(old_id) is None  # type: ignore[attr-defined]

    assert integrity.verify(ledger, before).ok  # the events did not change
    records = {r.event.student: r for r in ledger.records() if isinstance(r.event, ev.ApplicationSubmitted)}  # type: ignore[union-attr]
    rejected = ledger.readable(COURSE, records[REJECTED]).event
    admitted = ledger.readable(COURSE, records["230000"]).event
    assert (rejected.name, rejected.email, rejected.statement) == (vault.ERASED,) * 3  # type: ignore[union-attr]
    assert (admitted.name, admitted.email, admitted.statement) == (f"Name-{tag}-0", f"mail-{tag}-0@st.example", vault.ERASED)  # type: ignore[union-attr]


def test_erasure_while_another_connection_holds_a_read_transaction(tmp_path: Path) -> None:
    """A reader's snapshot keeps old pages in the SQLite files; the old KEK is gone all the same."""
    store = str(tmp_path / "ledger.sqlite")
    tag = secrets.token_hex(6)
    ledger = selected_course(store, tag)
    keys = ledger.recorder.select_keys(COURSE)  # type: ignore[attr-defined]
    _, old_kek = current_kek(ledger)
    ledger.close()

    reader = sqlite3.connect(store)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM material_keys").fetchone()[0] == 8
        erased = run(store, "erase-material", "--at", (T0 + timedelta(days=3)).isoformat())
        assert erased.exit_code == 0, erased.output
        assert erased.stdout.startswith("recorded ApplicationMaterialErased")
        # The reader still sees the keys as they were, and the WAL could not be folded in ...
        assert reader.execute("SELECT count(*) FROM material_keys").fetchone()[0] == 8
        files = store_files(store)
        assert {p.name for p in files} >= {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm", "ledger.sqlite.keys"}
        # ... but nothing in any file opens the material any more.
        destroyed = [k for (s, p), k in keys.items() if p == vault.STATEMENT or s == REJECTED]
        needles = _plaintext(tag) + spellings(old_kek) + [s for k in destroyed for s in spellings(k)]
        assert found_in(files, needles) == []
    finally:
        reader.close()


def test_an_erasure_cut_short_after_its_commit_is_finished_by_the_next_writer(
    sqlite_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crash-safe in two phases: the store commits the new KEK's rows, then the old KEK is destroyed."""
    tag = secrets.token_hex(6)
    ledger = selected_course(sqlite_path, tag)
    old_id, old_kek = current_kek(ledger)
    restore = destruction_fails(monkeypatch)
    with pytest.raises(StoreError, match="erasure is recorded, but its old key-encryption key is not yet destroyed"):
        ledger.append([erasure(ledger)], "lecturer")
    assert ledger.course(COURSE).erased_students()  # recorded
    assert found_in([key_file(sqlite_path)], spellings(old_kek))  # not yet destroyed

    restore()
    late = applications(1, first=4, tag=tag)[0]
    ledger.append([late], "setup")  # the next write that touches keys finishes the destruction
    assert found_in(store_files(sqlite_path), spellings(old_kek)) == []
    assert ledger.recorder.key_file.get(old_id) is None  # type: ignore[attr-defined]
    assert material.finish_destruction(ledger.recorder.key_file, ledger.recorder.kek_history()) == []  # type: ignore[attr-defined]


def test_a_write_that_fails_before_its_commit_destroys_the_kek_it_made(
    sqlite_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = secrets.token_hex(6)
    ledger = selected_course(sqlite_path, tag)
    head = ledger.head()
    live_before, _ = KeyFile(str(key_file(sqlite_path))).read()

    def broken(*args: object) -> bytes:
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr(material.Wrapping, "wrap", broken)
    with pytest.raises(RuntimeError):
        ledger.append([erasure(ledger)], "lecturer")
    live_after, destroyed = KeyFile(str(key_file(sqlite_path))).read()
    assert ledger.head() == head  # nothing recorded
    assert live_after == live_before and len(destroyed) == 1  # the KEK it made was destroyed again


def test_restore_after_erasure_stays_erased(store_url: str, tmp_path: Path) -> None:
    ledger = selected_course(store_url, secrets.token_hex(6))
    ledger.append([erasure(ledger)], "lecturer")
    exported = list(export_lines(Views.of(ledger)))
    for line in map(json.loads, exported):
        if line["type"] == "ApplicationSubmitted":
            assert "statement" in line["sealed"] and "statement" not in line.get("keys", {})
            if line["student"] == REJECTED:
                assert "keys" not in line and line["sealed"] == ["name", "email", "statement"]
    restored = Ledger(str(tmp_path / "restored.sqlite"))
    restored.import_lines(exported, "restorer")
    assert integrity.checkpoint(restored) == integrity.checkpoint(ledger)
    assert list(export_lines(Views.of(restored))) == exported
    for record in restored.records():
        if isinstance(record.event, ev.ApplicationSubmitted):
            assert restored.readable(COURSE, record).event.statement == vault.ERASED  # type: ignore[union-attr]
    assert (tmp_path / "restored.sqlite.keys").exists()  # the restored store's own KEKs


def test_erasure_waits_for_selection(store_url: str) -> None:
    ledger = Ledger(store_url)
    ledger.append([course_opened(), *applications(2), *accepted(1)], "setup")
    with pytest.raises(Refused) as refused:
        ledger.append([erasure(ledger)], "lecturer")
    assert refused.value.rule == "selection-open" and "230001" in str(refused.value)


def test_without_its_key_file_the_store_says_so(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another key file (another machine, a lost file) cannot open the material, and says which file it read."""
    selected_course(store_url, secrets.token_hex(6)).close()
    monkeypatch.setenv("SUBLEDGER_KEY_FILE", str(tmp_path / "elsewhere.keys"))
    with pytest.raises(StoreError, match="lacks the key-encryption key of idl-2025"):
        Ledger(store_url).material_keys(COURSE, "230000")
    if not is_postgres(store_url):
        result = run(store_url, "export", "admission", "--format", "csv")
        assert result.exit_code == 1 and "elsewhere.keys" in result.stderr and "Traceback" not in result.output


def test_a_store_that_keeps_raw_keys_is_refused(store_url: str) -> None:
    """Stores made before ADR 9 kept data keys unwrapped: they are not opened as if they were safe."""
    with raw(store_url) as cursor:
        cursor.execute("CREATE TABLE ledger_head (id INTEGER PRIMARY KEY, size INTEGER NOT NULL, frontier BYTEA)")
        cursor.execute(
            "CREATE TABLE material_keys (course TEXT NOT NULL, student TEXT NOT NULL, purpose TEXT NOT NULL, "
            "key BYTEA NOT NULL, PRIMARY KEY (course, student, purpose))".replace(
                "BYTEA", "bytea" if is_postgres(store_url) else "BLOB"
            )
        )
    with pytest.raises(StoreError, match="keeps application material keys unwrapped"):
        Ledger(store_url)

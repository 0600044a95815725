"""`verify` holds the material keys to the log: no key lost without an erasure, none swapped (ADR 9).

Each test tampers with the key table behind the program's back (with
PostgreSQL's triggers bypassed, as an owner could) and shows that `verify`
exits 1 naming what is wrong.
"""

from __future__ import annotations

import os
from datetime import timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st

from ledger import vault
from ledger.app import Ledger
from ledger.keycheck import verify_keys
from ledger.store import material
from ledger.store.keyfile import KeyFile
from tests.cli_helpers import run
from tests.contract_helpers import (
    COURSE,
    REJECTED,
    T0,
    applications,
    course_opened,
    current_kek,
    destruction_fails,
    erasure,
    key_file,
    param,
    raw,
    selected_course,
)


def _verify(store: str) -> tuple[int, str]:
    result = run(store, "verify")
    assert "Traceback" not in result.output
    return result.exit_code, (result.stdout + result.stderr).strip()


def _sql(store: str, statement: str, *params: object) -> list[tuple[object, ...]]:
    """Run `statement` (with `?` marks) behind the program's back; its rows, if any."""
    with raw(store) as cur:
        cur.execute(statement.replace("?", param(store)), params)
        return list(cur.fetchall()) if statement.startswith("SELECT") else []


def _row(store: str, student: str, purpose: str) -> tuple[bytes, bytes]:
    """The current row of one key: (KEK id, wrapped key)."""
    ledger = Ledger(store)
    kek_id, _ = current_kek(ledger)
    ledger.close()
    ((kek, wrapped),) = _sql(
        store, "SELECT kek, wrapped FROM material_keys WHERE student = ? AND purpose = ? AND kek = ?", student, purpose, kek_id
    )
    return bytes(kek), bytes(wrapped)  # type: ignore[arg-type]


def _set_wrapped(store: str, student: str, purpose: str, wrapped: bytes) -> None:
    kek, _ = _row(store, student, purpose)
    _sql(store, "UPDATE material_keys SET wrapped = ? WHERE student = ? AND purpose = ? AND kek = ?", wrapped, student, purpose, kek)


def test_an_untouched_store_verifies_before_and_after_erasure(store_url: str) -> None:
    ledger = selected_course(store_url)
    code, said = _verify(store_url)
    assert code == 0 and said.startswith("verified 9 events"), said
    ledger.append([erasure(ledger)], "lecturer")
    code, said = _verify(store_url)
    assert code == 0 and said.startswith("verified 10 events"), said


def test_a_deleted_key_is_missing_without_an_erasure(store_url: str) -> None:
    selected_course(store_url).close()
    _sql(store_url, "DELETE FROM material_keys WHERE student = ? AND purpose = 'identity'", "230001")
    code, said = _verify(store_url)
    assert code == 1
    assert said == (
        "verification failed: the identity key of '230001' in idl-2025 is missing, and no erasure destroyed it "
        "(first bad position: 3)"
    )


def test_swapped_keys_do_not_open(store_url: str) -> None:
    selected_course(store_url).close()
    _, first = _row(store_url, "230000", vault.IDENTITY)
    _, second = _row(store_url, "230001", vault.IDENTITY)
    _set_wrapped(store_url, "230000", vault.IDENTITY, second)
    _set_wrapped(store_url, "230001", vault.IDENTITY, first)
    code, said = _verify(store_url)
    assert code == 1
    assert "the identity key of '230000' in idl-2025 does not open: it was altered or moved" in said


def test_a_key_rewrapped_by_someone_holding_the_kek_must_still_open_its_material(store_url: str) -> None:
    ledger = selected_course(store_url)
    kek_id, kek = current_kek(ledger)
    ledger.close()
    forged = material.wrap(kek, kek_id, COURSE, "230002", vault.STATEMENT, os.urandom(32))
    _set_wrapped(store_url, "230002", vault.STATEMENT, forged)
    code, said = _verify(store_url)
    assert code == 1 and "the statement key of '230002' in idl-2025 does not open their material" in said


def test_a_key_that_survived_its_erasure_is_found(store_url: str) -> None:
    ledger = selected_course(store_url)
    ledger.append([erasure(ledger)], "lecturer")
    kek_id, kek = current_kek(ledger)
    ledger.close()
    forged = material.wrap(kek, kek_id, COURSE, REJECTED, vault.STATEMENT, os.urandom(32))
    _sql(store_url, "INSERT INTO material_keys VALUES (?, ?, ?, ?, ?)", COURSE, REJECTED, vault.STATEMENT, kek_id, forged)
    code, said = _verify(store_url)
    assert code == 1
    assert said == (
        f"verification failed: the statement key of '{REJECTED}' in idl-2025 survived the erasure at position 10 "
        "(first bad position: 10)"
    )


def test_a_lost_key_file_fails_verification(store_url: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    selected_course(store_url).close()
    monkeypatch.setenv("SUBLEDGER_KEY_FILE", os.path.join(str(tmp_path), "empty.keys"))
    code, said = _verify(store_url)
    assert code == 1 and "lacks the key-encryption key of idl-2025" in said


def test_verify_finishes_an_erasure_cut_short_or_reports_it(sqlite_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = selected_course(sqlite_path)
    old_id, _ = current_kek(ledger)
    restore = destruction_fails(monkeypatch)
    with pytest.raises(Exception, match="not yet destroyed"):
        ledger.append([erasure(ledger)], "lecturer")
    code, said = _verify(sqlite_path)  # it cannot destroy it either: it says so
    assert code == 1 and "still holds the key-encryption key that the erasure at position 10 replaced" in said
    restore()
    assert _verify(sqlite_path)[0] == 0  # now it can: it finishes the destruction, and all holds
    assert KeyFile(sqlite_path + ".keys").get(old_id) is None


def test_concurrent_writers_of_applications_share_one_kek(store_url: str) -> None:
    """Processes racing to seal the first applications of a course end with one KEK, and keys that verify."""
    import subprocess
    import sys
    from pathlib import Path

    Ledger(store_url).append([course_opened()], "setup")
    script = (
        "import sys; from ledger.app import Ledger; from tests.contract_helpers import applications; "
        "L = Ledger(sys.argv[1]); first = int(sys.argv[2]); "
        "[L.append([a], 'w') for a in applications(5, first=first)]"
    )
    root = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen([sys.executable, "-c", script, store_url, str(first)], cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
        for first in (0, 10, 20, 30)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    ledger = Ledger(store_url)
    assert len(ledger.course(COURSE).applications) == 20
    assert len([k for c, _, k in ledger.recorder.kek_history() if c == COURSE]) == 1  # type: ignore[attr-defined]
    code, said = _verify(store_url)
    assert code == 0 and said.startswith("verified 21 events"), said
    live, _ = KeyFile(str(key_file(store_url))).read()
    assert len(live) == 1  # the KEKs made by writers that lost the race were destroyed again


# -- any history of applications, decisions and erasures ------------------------

Round = tuple[int, list[str], bool, bool]  # new applicants, their decisions, a later withdrawal, an erasure


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rounds=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.lists(st.sampled_from(["accept", "reject", "withdraw"]), min_size=4, max_size=4),
            st.booleans(),
            st.sampled_from([True, True, False]),  # erasures are what this is about
        ),
        min_size=1,
        max_size=3,
    ),
    batch=st.integers(1, 4),
)
def test_keys_follow_any_history_of_applications_and_erasures(
    tmp_path_factory: pytest.TempPathFactory, rounds: list[Round], batch: int
) -> None:
    """Whatever happened, in whatever batches, the keys verify and each field reads as a small model
    of SPEC §1.9 says: statements go at every erasure, names of those never admitted too."""
    from ledger import events as ev

    store = str(tmp_path_factory.mktemp("history") / "ledger.sqlite")
    ledger = Ledger(store)
    ledger.append([course_opened()], "setup")
    at = T0
    events: list[ev.Event] = []
    statement_erased: set[str] = set()
    name_erased: set[str] = set()
    accepted: set[str] = set()
    erased: set[str] = set()
    applied = 0
    for new, decisions, withdraw_later, erase in rounds:
        students = []
        for i in range(applied, applied + new):
            at += timedelta(minutes=1)
            events.append(msgspec.structs.replace(applications(1, first=i)[0], at=at))
            students.append(f"23{i:04d}")
        applied += new
        for student, decision in zip(students, decisions, strict=False):
            at += timedelta(minutes=1)
            if decision == "accept":
                events.append(ev.ApplicationAccepted(course=COURSE, at=at, student=student))
                accepted.add(student)
            elif decision == "reject":
                events.append(ev.ApplicationRejected(course=COURSE, at=at, student=student, reason="r"))
            else:
                events.append(ev.ApplicationWithdrawn(course=COURSE, at=at, student=student, reason="w"))
        if withdraw_later:
            for student in sorted(accepted & set(students)):
                at += timedelta(minutes=1)
                events.append(ev.ApplicationWithdrawn(course=COURSE, at=at, student=student, reason="left"))
        if erase and set(f"23{i:04d}" for i in range(applied)) - erased:
            named = tuple(f"23{i:04d}" for i in range(applied) if f"23{i:04d}" not in erased)
            at += timedelta(minutes=1)
            events.append(ev.ApplicationMaterialErased(course=COURSE, at=at, students=named))
            erased.update(named)
            statement_erased.update(named)
            name_erased.update(s for s in named if s not in accepted)
    for start in range(0, len(events), batch):
        ledger.append(events[start : start + batch], "staff")

    assert verify_keys(ledger) == ("", None)
    course = ledger.course(COURSE)
    hypothesis_event(f"erasures: {len(course.erasures)}")
    for student, application in course.applications.items():
        opened = ledger.readable(COURSE, application.submitted).event
        i = int(student[2:])
        assert opened.statement == (vault.ERASED if student in statement_erased else f"statement number {i}")
        assert opened.name == (vault.ERASED if student in name_erased else f"Student {i}")
    live, _ = KeyFile(store + ".keys").read()
    assert len(live) <= 1 and not material.replaced_keks(ledger.recorder.kek_history()) & set(live)  # type: ignore[attr-defined]
    ledger.close()

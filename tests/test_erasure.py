"""Application material becomes unrecoverable after selection, while the proof still holds."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger import events as ev
from ledger import integrity, vault
from ledger.app import Ledger
from ledger.errors import Refused
from ledger.store import is_postgres
from projections.events import lines as export_lines
from projections.runner import Views
from tests.contract_helpers import COURSE, T0, accepted, applications, course_opened

REJECTED = "230003"


def _selected_course(store: str) -> Ledger:
    """Four applicants: three admitted, one rejected; selection is over."""
    from datetime import timedelta

    ledger = Ledger(store)
    ledger.append([course_opened(), *applications(4), *accepted(3)], "setup")
    ledger.append(
        [ev.ApplicationRejected(course=COURSE, at=T0 + timedelta(days=2), student=REJECTED, reason="prerequisite")],
        "setup",
    )
    return ledger


def _erase(ledger: Ledger) -> None:
    from datetime import timedelta

    course = ledger.course(COURSE)
    ledger.append(
        [ev.ApplicationMaterialErased(course=COURSE, at=T0 + timedelta(days=3), students=tuple(course.applications))],
        "lecturer",
    )


def _store_bytes(store: str) -> bytes:
    """Every byte the store keeps: the SQLite files, or a pg_dump of the database."""
    if is_postgres(store):
        pg_dump = shutil.which("pg_dump") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1]
        return subprocess.run([pg_dump, "--dbname", store], capture_output=True, check=True).stdout
    return b"".join(Path(p).read_bytes() for p in (store, store + "-wal", store + "-shm") if os.path.exists(p))


def _needles(ledger: Ledger) -> list[bytes]:
    """What must vanish: every statement, the rejected applicant's name and email, and their keys."""
    keys = ledger.recorder.select_keys(COURSE)  # type: ignore[attr-defined]
    needles = [f"statement number {i}".encode() for i in range(4)]
    needles += [b"Student 3", b"s3@st.example"]
    for (student, purpose), key in keys.items():
        if purpose == vault.STATEMENT or student == REJECTED:
            needles += [key, key.hex().encode(), base64.b64encode(key)]
    return needles


def test_erasure_leaves_no_trace_and_the_proof_holds(store_url: str) -> None:
    ledger = _selected_course(store_url)
    before = integrity.checkpoint(ledger)
    needles = _needles(ledger)
    _erase(ledger)
    found = [n for n in needles if n in _store_bytes(store_url)]
    assert found == []
    assert integrity.verify(ledger, before).ok  # the events did not change
    records = {r.event.student: r for r in ledger.records() if isinstance(r.event, ev.ApplicationSubmitted)}  # type: ignore[union-attr]
    rejected = ledger.readable(COURSE, records[REJECTED]).event
    admitted = ledger.readable(COURSE, records["230000"]).event
    assert (rejected.name, rejected.email, rejected.statement) == (vault.ERASED,) * 3  # type: ignore[union-attr]
    assert (admitted.name, admitted.email, admitted.statement) == ("Student 0", "s0@st.example", vault.ERASED)  # type: ignore[union-attr]


def test_a_store_keeps_material_readable_until_erasure(store_url: str) -> None:
    """The needles above are really there to find before erasure (so the test can fail)."""
    ledger = _selected_course(store_url)
    keys = ledger.recorder.select_keys(COURSE)  # type: ignore[attr-defined]
    assert keys and all(k.hex().encode() in _store_bytes(store_url) or k in _store_bytes(store_url) for k in keys.values())


def test_restore_after_erasure_stays_erased(store_url: str, tmp_path: Path) -> None:
    ledger = _selected_course(store_url)
    _erase(ledger)
    exported = list(export_lines(Views.of(ledger)))
    for line in map(json.loads, exported):
        if line["type"] == "ApplicationSubmitted":
            assert line["statement"].startswith(vault.PREFIX) and "statement" not in line.get("keys", {})
            if line["student"] == REJECTED:
                assert "keys" not in line and line["name"].startswith(vault.PREFIX)
    restored = Ledger(str(tmp_path / "restored.sqlite"))
    restored.import_lines(exported, "restorer")
    assert integrity.checkpoint(restored) == integrity.checkpoint(ledger)
    for record in restored.records():
        if isinstance(record.event, ev.ApplicationSubmitted):
            assert restored.readable(COURSE, record).event.statement == vault.ERASED  # type: ignore[union-attr]


def test_erasure_waits_for_selection(store_url: str) -> None:
    ledger = Ledger(store_url)
    ledger.append([course_opened(), *applications(2), *accepted(1)], "setup")
    with pytest.raises(Refused) as refused:
        _erase(ledger)
    assert refused.value.rule == "selection-open" and "230001" in str(refused.value)

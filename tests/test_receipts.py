"""Receipts through the CLI, attacked: every edit fails, material stays sealed, others stay hidden.

A receipt carries its event as stored and the hashes of a proof; `verify-receipt`
recomputes the leaf from what the receipt claims, so an edited claim fails with
exit 1 and one line (ADR 10).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger import vault
from ledger.events import Recorded
from tests.cli_helpers import ADA, EMMY, GRACE, find, run, semester


@pytest.fixture
def signed_semester(tmp_path: Path) -> tuple[str, list[Recorded], Path]:
    store = str(tmp_path / "ledger.sqlite")
    records = semester(store)
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(run(store, "digest").stdout)
    return store, records, checkpoint


def receipt_of(store: str, event_id: object, path: Path, *args: str) -> dict[str, Any]:
    made = run(store, "receipt", str(event_id), "-o", str(path), *args)
    assert made.exit_code == 0, made.output
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def verify_receipt(store: str, receipt: Path, checkpoint: Path) -> tuple[int, str, str]:
    done = run(store, "verify-receipt", str(receipt), str(checkpoint))
    return done.exit_code, done.stdout, done.stderr


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_genuine_receipt_proves_its_event(signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path) -> None:
    store, records, checkpoint = signed_semester
    hand_in = find(records, "SubmissionHandedIn")
    receipt_of(store, hand_in.id, tmp_path / "r.json")
    code, out, err = verify_receipt(store, tmp_path / "r.json", checkpoint)
    assert (code, err) == (0, "")
    first, line = out.splitlines()
    assert first.startswith(f"event {hand_in.id} is at position {hand_in.position} of subledger/")
    shown = json.loads(line)
    assert (shown["type"], shown["team"], shown["seq"]) == ("SubmissionHandedIn", [ADA, GRACE], hand_in.position)


def edits(receipt: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each claim of a genuine receipt, edited the way a forger would edit it."""
    other_id = "0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e"
    stored = receipt["stored"]
    forged_state = stored.replace('"digest":"sha256:0a1b2c"', '"digest":"sha256:ffffff"')
    assert forged_state != stored
    proof = receipt["proof"]
    return {
        "event id": {"event_id": other_id},
        "event id, not a UUID": {"event_id": "my-hand-in"},
        "event id, in the stored envelope too": {
            "event_id": other_id,
            "stored": stored.replace(receipt["event_id"], other_id),
        },
        "position": {"position": receipt["position"] + 1},
        "position and index": {"position": receipt["position"] + 1, "index": receipt["index"] + 1},
        "index": {"index": receipt["index"] - 1},
        "size": {"size": receipt["size"] - 1},
        "size, larger": {"size": receipt["size"] + 1},
        "origin": {"origin": "subledger/00000000-0000-0000-0000-000000000000"},
        "stream": {"stream": "00000000-0000-0000-0000-000000000000"},
        "version": {"version": receipt["version"] + 1},
        "topic": {"topic": "PresentationRecorded"},
        "leaf format": {"leaf_format": 2},
        "leaf": {"leaf": b64(hashlib.sha256(b"forged").digest())},
        "proof entry": {"proof": [b64(hashlib.sha256(b"x").digest()), *proof[1:]]},
        "proof, one entry dropped": {"proof": proof[:-1]},
        "proof, reordered": {"proof": proof[::-1]},
        "content hash": {"content_hash": b64(hashlib.sha256(b"other").digest())},
        "stored event": {"stored": forged_state},
        "stored event and its content hash": {
            "stored": forged_state,
            "content_hash": b64(hashlib.sha256(forged_state.encode()).digest()),
        },
        "not JSON": {"origin": object()},
    }


def test_every_edit_of_a_receipt_fails_with_one_line(
    signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path
) -> None:
    store, records, checkpoint = signed_semester
    genuine = receipt_of(store, find(records, "SubmissionHandedIn").id, tmp_path / "r.json")
    for what, change in edits(genuine).items():
        forged = tmp_path / "forged.json"
        if any(not isinstance(v, str | int | list) for v in change.values()):
            forged.write_text(json.dumps(genuine)[:-1])  # cut short: not JSON any more
        else:
            forged.write_text(json.dumps({**genuine, **change}))
        code, out, err = verify_receipt(store, forged, checkpoint)
        assert code == 1, (what, out, err)
        assert out == "" and err.startswith("verification failed: ") and err.count("\n") == 1, (what, err)


def test_a_receipt_that_is_not_text_fails(signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path) -> None:
    store, _, checkpoint = signed_semester
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    assert verify_receipt(store, bad, checkpoint) == (1, "", "verification failed: the receipt is not text\n")


def test_application_material_stays_sealed_in_a_receipt(
    signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path
) -> None:
    store, records, checkpoint = signed_semester
    emmy = find(records, "ApplicationSubmitted", student=EMMY)
    text = json.dumps(receipt_of(store, emmy.id, tmp_path / "r.json"))
    code, out, _ = verify_receipt(store, tmp_path / "r.json", checkpoint)
    assert code == 0
    for plain in ("Emmy Noether", "emmy@st.ovgu.de", "Statement of motivation"):
        assert plain not in text and plain not in out
    shown = json.loads(out.splitlines()[1])
    assert all(vault.is_sealed(shown[f]) for f in ("name", "email", "statement"))
    assert "keys" not in shown and "key" not in text


def test_a_receipt_reveals_no_other_event(signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path) -> None:
    store, records, _ = signed_semester
    hand_in = find(records, "SubmissionHandedIn")
    text = json.dumps(receipt_of(store, hand_in.id, tmp_path / "r.json"))
    for other in records[1:]:  # the first event's id names the ledger (its origin)
        if other.id != hand_in.id:
            assert str(other.id) not in text
    for name in ("Alan Turing", "Kurt Goedel", "prerequisite missing", "Week A02"):
        assert name not in text


def test_an_older_receipt_verifies_against_the_checkpoint_of_its_size(
    signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path
) -> None:
    store, records, checkpoint = signed_semester
    assert run(store, "accept", "231003").exit_code == 0  # one more event after the checkpoint
    now = receipt_of(store, records[2].id, tmp_path / "now.json")
    assert now["size"] == len(records) + 1
    code, _, err = verify_receipt(store, tmp_path / "now.json", checkpoint)
    assert code == 1 and "beyond the checkpoint's" in err
    receipt_of(store, records[2].id, tmp_path / "then.json", "--size", str(len(records)))
    assert verify_receipt(store, tmp_path / "then.json", checkpoint)[0] == 0


def test_no_receipt_for_an_event_altered_behind_the_programs_back(
    signed_semester: tuple[str, list[Recorded], Path], tmp_path: Path
) -> None:
    store, records, _ = signed_semester
    hand_in = find(records, "SubmissionHandedIn")
    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), '0a1b2c', 'ffffff') AS BLOB) "
            "WHERE topic = 'SubmissionHandedIn'"
        )
    done = run(store, "receipt", str(hand_in.id))
    assert done.exit_code == 1
    assert done.stderr == f"error: the event at position {hand_in.position} was altered: run verify\n"

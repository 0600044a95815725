"""Receipts through the CLI, attacked: every edit fails, material stays sealed, others stay hidden.

A receipt carries its event as stored, its leaf's salt and the hashes of a
proof; `verify-receipt` recomputes the leaf from what the receipt claims, so an
edited claim fails with exit 1 and one line (ADR 10). The hashes of other
events are of salted leaves, so they confirm no guess of them (ADR 18).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

import msgspec
import pytest

from ledger import events as ev
from ledger import integrity, vault, wire
from ledger.app import Ledger
from ledger.checkpoint import Checkpoint, check_receipt
from ledger.events import Envelope, Recorded, envelope_decoder, envelope_encoder
from ledger.leaves import leaf
from tests.cli_helpers import ADA, CLOSED_AT, EMMY, EXAM_AT, GRACE, find, jsonl, run, semester


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
        "leaf format, the unsalted one": {"leaf_format": 1},
        "leaf format, unknown": {"leaf_format": 3},
        "salt": {"salt": b64(bytes(16))},
        "salt, too short": {"salt": b64(bytes(15))},
        "salt, dropped": {"salt": None},
        "salt, dropped, as a leaf of format 1": {"salt": None, "leaf_format": 1},
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


# -- a neighbour's hash confirms no guess (ADR 18) ------------------------------------

GRADING = [  # appended to the semester in one import, without ids: ids derive from content
    {"type": "DeadlineChanged", "at": "2025-04-20T10:00:00+02:00", "assignment": "A03",
     "deadline": "2025-05-05T10:00:00+02:00", "reason": "holiday"},
    {"type": "CourseworkClosed", "at": CLOSED_AT},
    {"type": "ExamRegistered", "at": EXAM_AT, "student": ADA, "mode": "graded"},
    {"type": "ExamRegistered", "at": EXAM_AT, "student": GRACE, "mode": "graded"},
    {"type": "ExamGraded", "at": "2025-08-04T09:01:19+02:00", "student": ADA, "grade": 1.3},
    {"type": "ExamGraded", "at": "2025-08-04T09:04:29+02:00", "student": GRACE, "grade": 2.7},
]  # fmt: skip


def neighbour_guesses(receipt: dict[str, Any], candidates: list[ev.Event]) -> list[ev.Event]:
    """The candidates for the event beside the receipt's that the receipt's proof confirms.

    The attack of ADR 10: the proof's first hash is the leaf of the neighbour, and
    everything else that leaf commits to (position, content id, stream, version,
    `recorded_at` and `recorded_by` of a shared import) the attacker can read off
    the receipt or derive from the guess.
    """
    index = receipt["index"]
    neighbour = index + 1 if index % 2 == 0 else index - 1  # the sibling leaf is the proof's first hash
    sibling = base64.b64decode(receipt["proof"][0])
    own = envelope_decoder.decode(receipt["stored"].encode())
    stream = UUID(receipt["stream"]).bytes
    hits = []
    for event in candidates:
        event_id = wire.content_id(event)
        state = envelope_encoder.encode(Envelope(event_id, own.recorded_at, own.recorded_by, event))
        version = receipt["version"] + neighbour - index
        guessed = leaf(neighbour + 1, event_id.bytes, stream, version, ev.type_name(event).encode(), state)
        if guessed == sibling:
            hits.append(event)
    return hits


def test_a_receipt_confirms_no_guess_of_its_neighbour(tmp_path: Path) -> None:
    """From one grade receipt, try every grade of the neighbouring student: salted leaves confirm none.

    The same ledger restored from an export made before ADR 18 (its lines carry
    no salt, so its leaves keep the unsalted format 1) gives the grade away: the
    attack works, so the test can fail.
    """
    salted = str(tmp_path / "salted.sqlite")
    semester(salted)
    assert run(salted, "import", "-", input=jsonl(*GRADING)).exit_code == 0
    old_export = [
        json.dumps({k: v for k, v in json.loads(line).items() if k != "salt"})
        for line in run(salted, "export", "events").stdout.splitlines()
    ]
    unsalted = str(tmp_path / "unsalted.sqlite")
    assert run(unsalted, "import", "-", input="\n".join(old_export) + "\n").exit_code == 0
    assert run(unsalted, "digest").stdout != run(salted, "digest").stdout

    with closing(Ledger(salted)) as ledger:
        records = list(ledger.records())
    target, neighbour = records[20], records[21]  # Ada's grade and, its leaf's sibling, Grace's
    assert isinstance(target.event, ev.ExamGraded) and isinstance(neighbour.event, ev.ExamGraded)
    # The attacker is given more than they need: the neighbour's student and `at`; only the grade is guessed.
    true = neighbour.event
    candidates: list[ev.Event] = [msgspec.structs.replace(true, grade=g) for g in ev.GRADES]

    old = receipt_of(unsalted, target.id, tmp_path / "old.json")
    assert old["leaf_format"] == 1 and old["salt"] is None
    assert neighbour_guesses(old, candidates) == [true]  # the grade, recovered

    new = receipt_of(salted, target.id, tmp_path / "new.json")
    assert new["leaf_format"] == 2 and len(base64.b64decode(new["salt"])) == 16
    assert neighbour_guesses(new, candidates) == []  # not even the true content is confirmed
    # The receipt still proves its own event.
    checkpoint = tmp_path / "checkpoint.txt"
    checkpoint.write_text(run(salted, "digest").stdout)
    assert verify_receipt(salted, tmp_path / "new.json", checkpoint)[0] == 0


def test_a_receipt_reads_the_leaves_of_other_events_and_nothing_else(
    signed_semester: tuple[str, list[Recorded], Path],
) -> None:
    """A receipt needs the other events' leaf hashes only: it reads no other stored event."""
    store, records, checkpoint = signed_semester
    target = find(records, "SubmissionHandedIn")
    with closing(Ledger(store)) as ledger:
        recorder = ledger.recorder
        read_log = recorder.select_log

        def one_row_only(after: int, limit: int) -> Any:
            assert limit == 1  # the first event's row: it names the ledger
            return read_log(after, limit)

        with (
            mock.patch.object(recorder, "select_raw", side_effect=AssertionError("read every stored row")),
            mock.patch.object(recorder, "select_log", side_effect=one_row_only),
        ):
            receipt = integrity.receipt(ledger, target.id)
    assert check_receipt(receipt, Checkpoint.parse(checkpoint.read_text())).id == target.id

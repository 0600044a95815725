"""No one can backdate the record (issue 7.2, ADR 10).

`recorded_at` and `recorded_by` come from the store's clock and `--actor` at
append time. An import line may carry them only in a restore: a whole `events`
export into an empty store, positions from 1, time never running backwards or
past now, and, with `--checkpoint`, the very ledger an auditor's checkpoint
names. Each test is an attack, and each refusal writes nothing.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import clock, integrity, merkle
from ledger.app import Ledger
from ledger.errors import ImportRejected, Refused, StoreError
from tests import test_import
from tests.cli_helpers import ALAN, COURSE, count, course_opened, jsonl, run, semester
from tests.recording import clock_at

LATER = "2025-04-10T10:00:00+02:00"
store = test_import.store  # the fixture: a small semester in a store (tests/cli_helpers.semester)


def export_lines(store: str) -> list[dict[str, Any]]:
    done = run(store, "export", "events")
    assert done.exit_code == 0, done.output
    return [json.loads(line) for line in done.stdout.splitlines()]


def as_text(lines: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(line) + "\n" for line in lines)


def refusals(result: Any) -> list[str]:
    """The rule of each refused line, in order."""
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    return [line.split("refused by rule ")[1].split(":")[0] for line in result.stderr.splitlines() if "refused by rule" in line]


def accept_alan(**envelope: Any) -> dict[str, Any]:
    return {"type": "ApplicationAccepted", "course": COURSE, "at": LATER, "student": ALAN, **envelope}


# -- a store that holds events takes no envelope ---------------------------------


@pytest.mark.parametrize(
    "envelope",
    [
        {"seq": 17, "recorded_at": "2020-01-01T00:00:00Z", "recorded_by": "someone-else"},
        {"recorded_at": "2020-01-01T00:00:00Z"},
        {"recorded_by": "someone-else"},
        {"seq": 17},
        {"salt": "AAAAAAAAAAAAAAAAAAAAAA=="},  # a leaf salt one chose oneself: one's leaf could be guessed
        {"id": "0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e", "seq": 17, "recorded_at": "2020-01-01T00:00:00Z", "recorded_by": "x"},
    ],
)
def test_backdating_a_line_into_a_store_with_events_is_refused(store: str, envelope: dict[str, Any]) -> None:
    before = export_lines(store)
    in_2021 = run(store, "export", "admission", "--known-at", "2021-01-01T00:00:00Z").stdout
    result = run(store, "import", "-", input=as_text([accept_alan(**envelope)]))
    assert refusals(result) == ["restore-empty-store"]
    assert "holds 16 events" in result.stderr and "drop them" in result.stderr
    assert export_lines(store) == before
    assert run(store, "export", "admission", "--known-at", "2021-01-01T00:00:00Z").stdout == in_2021


def test_the_same_line_without_its_envelope_is_recorded_now_by_the_actor(store: str) -> None:
    result = run(store, "import", "-", input=as_text([accept_alan()]))
    assert result.exit_code == 0, result.output
    last = export_lines(store)[-1]
    assert (last["seq"], last["recorded_by"]) == (17, "tester")
    recorded = datetime.fromisoformat(last["recorded_at"])
    assert abs(recorded - datetime.now(UTC)) < timedelta(minutes=5)


def test_rerunning_a_restore_appends_nothing_but_refuses_anything_new(store: str, tmp_path: Path) -> None:
    backup = export_lines(store)
    copy = str(tmp_path / "copy.sqlite")
    assert run(copy, "import", "-", input=as_text(backup)).exit_code == 0
    again = run(copy, "import", "-", input=as_text(backup))
    assert again.exit_code == 0 and again.stdout.startswith("appended 0 events; 16 already in the store")
    # The same export with a line added at the end, carrying an envelope of its own: refused.
    added = {**accept_alan(), "id": "0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e", "seq": 17,
             "recorded_at": backup[-1]["recorded_at"], "recorded_by": "tester"}  # fmt: skip
    assert refusals(run(copy, "import", "-", input=as_text([*backup, added]))) == ["restore-empty-store"]
    assert count(copy) == 16


@pytest.mark.parametrize(
    ("change", "rule", "said"),
    [
        ({"seq": 5}, "id-conflict", "with another envelope: seq 5 (stored: 4)"),
        ({"recorded_at": "2020-01-01T00:00:00Z"}, "id-conflict", "with another envelope: recorded_at 2020-01-01T00:00:00Z (stored: "),
        ({"recorded_by": "someone-else"}, "id-conflict", "with another envelope: recorded_by someone-else (stored: tester)"),
        ({"salt": "AAAAAAAAAAAAAAAAAAAAAA=="}, "id-conflict", "with another envelope: salt AAAAAAAAAAAAAAAAAAAAAA== (stored: "),
        ({"recorded_at": "9999-12-31T23:59:59-23:59"}, "time", "recorded_at 9999-12-31T23:59:59-23:59 is out of range"),
    ],
)
def test_a_known_event_with_another_envelope_is_a_conflict(
    store: str, change: dict[str, Any], rule: str, said: str
) -> None:
    line = {**export_lines(store)[3], **change}
    result = run(store, "import", "-", input=as_text([line]))
    assert refusals(result) == [rule]
    assert said in result.stderr


# -- a restore is a whole export into an empty store -------------------------------


def restore(tmp_path: Path, lines: list[dict[str, Any]], *args: str) -> tuple[str, Any]:
    """Import `lines` into a new empty store."""
    target = str(tmp_path / f"restored-{len(list(tmp_path.glob('restored-*.sqlite')))}.sqlite")
    return target, run(target, "import", "-", *args, input=as_text(lines))


def test_a_whole_export_restores(store: str, tmp_path: Path) -> None:
    backup = export_lines(store)
    target, result = restore(tmp_path, backup)
    assert result.exit_code == 0, result.output
    assert export_lines(target) == backup


def _without(line: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k not in names}


@pytest.mark.parametrize(
    ("edit", "rule"),
    [
        # new lines after a restore's lines, in the same file
        (lambda b: [*b, accept_alan()], "restore-envelope"),
        # a line without part of its envelope
        (lambda b: [*b[:3], _without(b[3], "recorded_by"), *b[4:]], "restore-envelope"),
        (lambda b: [*b[:3], _without(b[3], "seq"), *b[4:]], "restore-envelope"),
        (lambda b: [*b[:3], _without(b[3], "id"), *b[4:]], "restore-envelope"),
        # an unsalted line after a salted one: no export holds one
        (lambda b: [*b[:3], _without(b[3], "salt"), *b[4:]], "restore-envelope"),
        # not from position 1, with a gap, out of order, or a line twice
        (lambda b: [{**line, "seq": line["seq"] + 4} for line in b], "restore-position"),
        (lambda b: [*b[:5], *b[6:]], "restore-position"),
        (lambda b: [*b[:5], b[6], b[5], *b[7:]], "restore-position"),
        (lambda b: [*b[:5], b[4], *b[5:]], "restore-position"),
        # time running backwards, or past now
        (lambda b: [*b[:3], {**b[3], "recorded_at": "2020-01-01T00:00:00Z"}, *b[4:]], "restore-order"),
        (lambda b: [*b[:-1], {**b[-1], "recorded_at": "2999-01-01T00:00:00Z"}], "restore-future"),
        # instants UTC cannot hold
        (lambda b: [{**b[0], "recorded_at": "9999-12-31T23:59:59-23:59"}, *b[1:]], "time"),
        (lambda b: [{**b[0], "recorded_at": "0001-01-01T00:00:00+01:00"}, *b[1:]], "time"),
    ],
)
def test_a_restore_that_is_not_a_whole_sound_export_is_refused(
    store: str, tmp_path: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]], rule: str
) -> None:
    target, result = restore(tmp_path, edit(export_lines(store)))
    assert refusals(result)[0] == rule  # (a refused line is not applied: what rests on it may fail too)
    assert count(target) == 0


def test_a_prefix_of_an_export_restores_and_later_lines_cannot_follow_with_their_envelope(
    store: str, tmp_path: Path
) -> None:
    backup = export_lines(store)
    target, result = restore(tmp_path, backup[:10])
    assert result.exit_code == 0, result.output
    assert refusals(run(target, "import", "-", input=as_text(backup[10:]))) == ["restore-empty-store"] * 6
    plain = [_without(line, "seq", "recorded_at", "recorded_by", "salt") for line in backup[10:]]
    assert run(target, "import", "-", input=as_text(plain)).exit_code == 0
    assert {line["recorded_at"] for line in export_lines(target)[10:]} != {line["recorded_at"] for line in backup[10:]}


# -- a checkpoint ties a restore to the original ---------------------------------------


@pytest.fixture
def checkpoint(store: str, tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.txt"
    path.write_text(run(store, "digest").stdout)
    return path


def test_a_restore_with_its_checkpoint_verifies(store: str, tmp_path: Path, checkpoint: Path) -> None:
    target, result = restore(tmp_path, export_lines(store), "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output
    assert run(target, "verify", str(checkpoint)).exit_code == 0


def test_a_newer_export_restores_against_an_older_checkpoint(store: str, tmp_path: Path, checkpoint: Path) -> None:
    assert run(store, "accept", ALAN).exit_code == 0
    target, result = restore(tmp_path, export_lines(store), "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output
    assert count(target) == 17


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        # a grade, a name: any edit of content
        (lambda b: [*b[:12], {**b[12], "title": "Week A01 (easy)"}, *b[13:]], "are not the checkpoint's"),
        # backdated, order kept (and after it happened: before, the rule `future` would refuse it first)
        (lambda b: [{**b[0], "recorded_at": "2025-03-04T00:00:00Z"}, *b[1:]], "are not the checkpoint's"),
        # someone else recorded it
        (lambda b: [*b[:-1], {**b[-1], "recorded_by": "mallory"}], "are not the checkpoint's"),
        # an older backup than the checkpoint
        (lambda b: b[:-1], "holds 15 events, fewer than the checkpoint's 16"),
    ],
)
def test_a_forged_restore_does_not_match_the_checkpoint(
    store: str, tmp_path: Path, checkpoint: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    complaint: str,
) -> None:  # fmt: skip
    forged = edit(export_lines(store))
    for dry in ([], ["--dry-run"]):
        target, result = restore(tmp_path, forged, "--checkpoint", str(checkpoint), *dry)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith("error: refused by rule restore-checkpoint: ") and complaint in result.stderr
        assert result.stderr.count("\n") == 1
        assert count(target) == 0
    # Without the checkpoint a forger's own history restores: an empty store has nothing to protect.
    assert restore(tmp_path, forged)[1].exit_code == 0


def test_an_old_export_whose_clock_stepped_back_restores_with_its_checkpoint(tmp_path: Path) -> None:
    """Before ADR 10 two writers' clocks could make recorded_at step back; a checkpoint proves such a file."""
    old = str(tmp_path / "old.sqlite")
    with closing(Ledger(old)) as ledger, mock.patch.object(Ledger, "_store_clock", lambda self, head: clock.now()):
        for hour, course in ((12, "a-2025"), (11, "b-2025"), (13, "c-2025")):
            with clock_at(datetime(2025, 3, 3, hour, tzinfo=UTC)):
                ledger.import_lines([jsonl(course_opened(course=course)).encode()], "staff")
    backup, checkpoint = export_lines(old), tmp_path / "old.txt"
    checkpoint.write_text(run(old, "digest").stdout)
    assert [line["recorded_at"][11:13] for line in backup] == ["12", "11", "13"]
    target, result = restore(tmp_path, backup)
    assert refusals(result) == ["restore-order"] and count(target) == 0
    target, result = restore(tmp_path, backup, "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output
    assert export_lines(target) == backup and run(target, "digest").stdout == checkpoint.read_text()
    # ... but only as far as the checkpoint reaches: a step back after it is still refused.
    short = tmp_path / "short.txt"
    with closing(Ledger(old)) as ledger:
        first = integrity.checkpoint(ledger)
    short.write_text(replace(first, size=1, root=leaf_root(backup[:1], old)).to_text())
    target, result = restore(tmp_path, backup, "--checkpoint", str(short))
    assert refusals(result) == ["restore-order"]


def leaf_root(lines: list[dict[str, Any]], store: str) -> bytes:
    """The Merkle root of the first len(lines) events of `store`, from its stored leaves."""
    with closing(Ledger(store)) as ledger:
        leaves = [row[6] for row in integrity.stored_rows(ledger)][: len(lines)]
    return merkle.root(leaves)


def test_a_checkpoint_of_another_ledger_or_without_a_restore_is_refused(
    store: str, tmp_path: Path, checkpoint: Path
) -> None:
    other = str(tmp_path / "other.sqlite")
    assert run(other, "import", "-", input=jsonl(course_opened(course="ml-2025"))).exit_code == 0
    foreign = tmp_path / "foreign.txt"
    foreign.write_text(run(other, "digest").stdout)
    target, result = restore(tmp_path, export_lines(store), "--checkpoint", str(foreign))
    assert "refused by rule restore-checkpoint: the checkpoint is of ledger subledger/" in result.stderr
    assert result.exit_code == 1 and count(target) == 0
    plain = run(str(tmp_path / "plain.sqlite"), "import", "-", "--checkpoint", str(checkpoint), input=jsonl(course_opened()))
    assert plain.exit_code == 1 and "refused by rule restore-checkpoint: a checkpoint checks a restore" in plain.stderr
    bad = tmp_path / "bad.txt"
    bad.write_text("not a checkpoint\n")
    assert restore(tmp_path, export_lines(store), "--checkpoint", str(bad))[1].exit_code == 2


def test_a_dry_run_with_the_right_checkpoint_would_append_everything(
    store: str, tmp_path: Path, checkpoint: Path
) -> None:
    target, result = restore(tmp_path, export_lines(store), "--checkpoint", str(checkpoint), "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("would append 16 events (positions 1-16)")
    assert count(target) == 0


# -- leaves with and without salts (ADR 18) ----------------------------------------------


def test_every_line_of_an_export_carries_its_leafs_salt(store: str) -> None:
    salts = [base64.b64decode(line["salt"]) for line in export_lines(store)]
    assert all(len(salt) == 16 for salt in salts) and len(set(salts)) == len(salts)


def test_an_export_made_before_salts_restores_with_its_digest_and_new_events_are_salted(
    store: str, tmp_path: Path
) -> None:
    """Lines without `salt` (an export of a store made before ADR 18) keep their unsalted leaves of format 1.

    So a backup and an auditor's checkpoint of such a store still restore and
    verify; whatever is appended afterwards is salted, and a restore of that
    mixed log keeps both kinds.
    """
    unsalted = [_without(line, "salt") for line in export_lines(store)]
    old, result = restore(tmp_path, unsalted)
    assert result.exit_code == 0, result.output
    checkpoint = tmp_path / "old.txt"
    checkpoint.write_text(run(old, "digest").stdout)
    assert export_lines(old) == unsalted  # nothing invented on the way
    assert run(old, "accept", ALAN).exit_code == 0
    mixed = export_lines(old)
    assert "salt" not in mixed[15] and len(base64.b64decode(mixed[16]["salt"])) == 16
    again, result = restore(tmp_path, mixed, "--checkpoint", str(checkpoint))
    assert result.exit_code == 0, result.output
    assert run(again, "digest").stdout == run(old, "digest").stdout
    assert run(again, "verify", str(checkpoint)).exit_code == 0
    receipt = tmp_path / "r.json"
    assert run(again, "receipt", mixed[3]["id"], "--size", "16", "-o", str(receipt)).exit_code == 0
    assert json.loads(receipt.read_text())["leaf_format"] == 1
    assert run(again, "verify-receipt", str(receipt), str(checkpoint)).exit_code == 0


def test_a_store_made_before_salts_is_refused_in_one_line(store: str) -> None:
    with closing(sqlite3.connect(store)) as db, db:
        db.execute("ALTER TABLE ledger_log DROP COLUMN salt")
    for args in (["status"], ["accept", ALAN], ["verify"]):
        result = run(store, *args)
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.startswith("error: this store's log keeps no salts (made before ADR 18): export")
        assert result.stderr.count("\n") == 1


@pytest.mark.postgres
def test_a_postgres_store_made_before_salts_is_refused(fresh_postgres_url: str) -> None:
    import psycopg

    with closing(Ledger(fresh_postgres_url)) as ledger:
        ledger.import_lines([jsonl(course_opened()).encode()], "staff")
    with psycopg.connect(fresh_postgres_url) as conn:
        conn.execute("ALTER TABLE ledger_log DROP COLUMN salt")
    with pytest.raises(StoreError, match=r"^this store's log keeps no salts \(made before ADR 18\)"):
        Ledger(fresh_postgres_url)


# -- two writers, and the store's clock ------------------------------------------------


def test_a_restore_loses_to_a_writer_who_came_first(store_url: str, tmp_path: Path) -> None:
    source = str(tmp_path / "source.sqlite")
    semester(source)
    backup = [json.dumps(line).encode() for line in export_lines(source)]
    restorer, other = Ledger(store_url), Ledger(store_url)
    write = restorer._write
    raced: list[object] = []

    def other_writer_first(batch, commit=True):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(other.import_lines([jsonl(course_opened(course="ml-2025")).encode()], "bob"))
        return write(batch, commit)

    restorer._write = other_writer_first  # type: ignore[method-assign]
    with pytest.raises(ImportRejected) as rejected:
        restorer.import_lines(backup, "restorer")
    rules = [p.cause.rule for p in rejected.value.problems if p.cause]
    assert rules[0] == "restore-empty-store" and len(rules) == len(backup)
    assert raced and restorer.head()[0] == 1
    assert integrity.verify(restorer).ok
    restorer.close()
    other.close()


def test_recorded_at_never_runs_backwards_whatever_the_writers_clock(store_url: str) -> None:
    """A writer whose clock is behind records at the last event's time: known-at views are prefixes."""
    with closing(Ledger(store_url)) as ledger:
        ahead, behind = datetime(2025, 3, 3, 12, tzinfo=UTC), datetime(2025, 3, 3, 11, tzinfo=UTC)
        with clock_at(ahead):
            ledger.import_lines([jsonl(course_opened()).encode()], "alice")
        with clock_at(behind):
            ledger.import_lines([jsonl(course_opened(course="ml-2025")).encode()], "bob")
        first, second = ledger.records()
        assert (first.recorded_at, second.recorded_at) == (ahead, ahead)
        assert second.recorded_by == "bob"


# -- the property: nothing an import says puts a past or a stranger into the record ----

FORGED_TIME = "2020-01-01T00:00:00Z"
FORGED_ACTOR = "mallory"
ENVELOPES = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.integers(1, 8),
        "recorded_at": st.just(FORGED_TIME),
        "recorded_by": st.just(FORGED_ACTOR),
    },
)


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(-90, 90), ENVELOPES), min_size=1, max_size=6))
def test_no_import_into_a_store_with_events_backdates_or_impersonates(
    steps: list[tuple[int, dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    store = str(tmp_path_factory.mktemp("p") / "ledger.sqlite")
    start = datetime(2025, 3, 10, 12, tzinfo=UTC)  # after the applications happened (the rule `future`)
    with closing(Ledger(store)) as ledger:
        with clock_at(start):
            ledger.import_lines([jsonl(course_opened()).encode()], "lecturer")
        for n, (minutes, envelope) in enumerate(steps):
            line = {"type": "ApplicationSubmitted", "course": COURSE, "at": "2025-03-10T10:00:00+01:00",
                    "student": f"2300{n:02d}", "name": "A B", "email": "a@b.c", "programme": "bachelor",
                    "prerequisite": "ML", "statement": "", **envelope}  # fmt: skip
            with clock_at(start + timedelta(minutes=minutes)):
                try:
                    ledger.import_lines([json.dumps(line).encode()], f"staff{n}")
                except (ImportRejected, Refused):
                    assert envelope, "a plain line is refused only for a broken rule, and these break none"
                else:
                    assert not envelope, "an envelope was accepted into a store with events"
        records = list(ledger.records())
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    assert all(a.recorded_at <= b.recorded_at for a, b in pairwise(records))
    assert all(r.recorded_at >= start and r.recorded_by != FORGED_ACTOR for r in records)

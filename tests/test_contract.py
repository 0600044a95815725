"""One contract, two stores: the write side behaves the same on SQLite and PostgreSQL.

Every test takes `store_url`, so it runs once on a fresh SQLite file and once on
a fresh PostgreSQL database (required in CI, skipped with a notice elsewhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from unittest import mock

import msgspec
import pytest

from ledger import events as ev
from ledger import integrity
from ledger.app import Ledger
from ledger.errors import Refused, StoreError
from ledger.store.locks import NoLocks
from projections.events import lines as export_lines
from projections.runner import Views
from tests.contract_helpers import COURSE, T0, accepted, applications, course_opened, events_table, param, raw

ROOT = Path(__file__).resolve().parent.parent


def test_appended_events_read_back_in_order_with_positions(store_url: str) -> None:
    ledger = Ledger(store_url)
    recorded = ledger.append([course_opened(), *applications(3)], "tester")
    assert [r.position for r in recorded] == [1, 2, 3, 4]
    back = list(ledger.records())
    assert [r.id for r in back] == [r.id for r in recorded]
    assert [r.recorded_by for r in back] == ["tester"] * 4
    assert back[0].event == recorded[0].event
    # Application material is stored sealed, and opens again with its keys.
    assert back[1].event.name.startswith("sealed:v1:")  # type: ignore[union-attr]
    assert ledger.readable(COURSE, back[1]).event == recorded[1].event
    assert ledger.courses() == [COURSE]


def test_a_refused_append_writes_nothing(store_url: str) -> None:
    ledger = Ledger(store_url)
    ledger.append([course_opened(capacity=1), *applications(2), *accepted(1)], "tester")
    before = ledger.head()
    with pytest.raises(Refused) as refused:
        ledger.append([ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=2), student="230001")], "tester")
    assert refused.value.rule == "capacity"
    assert ledger.head() == before


def test_import_twice_appends_nothing_and_restore_keeps_the_digest(store_url: str, tmp_path: Path) -> None:
    ledger = Ledger(store_url)
    lines = [msgspec.json.encode(e) for e in [course_opened(), *applications(5), *accepted(3)]]
    assert len(ledger.import_lines(lines, "tester").recorded) == 9
    again = ledger.import_lines(lines, "tester")
    assert (len(again.recorded), again.skipped) == (0, 9)
    exported = list(export_lines(Views.of(ledger)))
    restored = Ledger(str(tmp_path / "restored.sqlite"))
    restored.import_lines(exported, "someone-else")
    assert list(export_lines(Views.of(restored))) == exported
    assert restored.head() == ledger.head()
    assert integrity.checkpoint(restored) == integrity.checkpoint(ledger)


def test_a_writer_waits_for_the_course_and_decides_on_fresh_state(store_url: str) -> None:
    """Two staff accept the 60th and the 61st applicant at once: the second decides after the first's commit.

    Alice's append holds the course's lock from her decision to her commit
    (paused here in between); Bob's append waits for it, then sees her
    acceptance and is refused. Without the lock Bob would decide on the state
    Alice is about to change, and win (ADR 18).
    """
    first, second = Ledger(store_url), Ledger(store_url)
    first.append([course_opened(capacity=60), *applications(61), *accepted(59)], "setup")
    deciding, bob_moved, decided, go_on = (threading.Event() for _ in range(4))
    write, lock_courses, decide = first._write, second.recorder.locks.courses, second._decide  # type: ignore[attr-defined]

    def paused_write(batch, commit=True):  # type: ignore[no-untyped-def]
        deciding.set()
        go_on.wait(30)
        return write(batch, commit)

    def courses(streams):  # type: ignore[no-untyped-def]
        bob_moved.set()
        return lock_courses(streams)

    def noted_decide(*args):  # type: ignore[no-untyped-def]
        decided.set()
        bob_moved.set()
        return decide(*args)

    first._write = paused_write  # type: ignore[method-assign]
    outcomes: dict[str, object] = {}

    def accept(ledger: Ledger, student: str, who: str) -> None:
        try:
            outcomes[who] = ledger.append(
                [ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=3), student=student)], who
            )
        except Refused as refused:
            outcomes[who] = refused.rule

    alice = threading.Thread(target=accept, args=(first, "230059", "alice"))
    alice.start()
    assert deciding.wait(30)  # Alice has decided and holds the course
    with mock.patch.object(second.recorder.locks, "courses", courses), mock.patch.object(second, "_decide", noted_decide):
        bob = threading.Thread(target=accept, args=(second, "230060", "bob"))
        bob.start()
        assert bob_moved.wait(30)  # Bob asks for the course's lock …
        assert not decided.wait(0.5)  # … and does not decide while Alice holds it
        go_on.set()
        alice.join(30)
        bob.join(30)
    assert outcomes["bob"] == "capacity" and isinstance(outcomes["alice"], list)
    assert first.course(COURSE).seats_taken() == 60
    assert integrity.verify(first).ok


def test_a_writer_that_takes_no_lock_is_caught_by_the_insert(store_url: str) -> None:
    """An older subledger takes no lock: its append slips in between a decision and its write.

    The insert names the stream version it decided on, so it fails, and the
    append is decided again on fresh state.
    """
    first, older = Ledger(store_url), Ledger(store_url)
    first.append([course_opened(capacity=60), *applications(61), *accepted(59)], "setup")
    older.recorder.locks = NoLocks()  # type: ignore[attr-defined]
    write = first._write
    raced = []

    def other_writer_first(batch, commit=True):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(older.append([ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=3), student="230060")], "bob"))
        return write(batch, commit)

    first._write = other_writer_first  # type: ignore[method-assign]
    with pytest.raises(Refused) as refused:
        first.append([ev.ApplicationAccepted(course=COURSE, at=T0 + timedelta(days=3), student="230059")], "alice")
    assert refused.value.rule == "capacity"
    assert raced and first.course(COURSE).seats_taken() == 60
    assert integrity.verify(first).ok


def _subledger(store: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", store, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_race_for_the_last_seat(store_url: str) -> None:
    ledger = Ledger(store_url)
    ledger.append([course_opened(capacity=60), *applications(61), *accepted(59)], "setup")
    at = (T0 + timedelta(days=3)).isoformat()
    procs = [_subledger(store_url, "--actor", s, "accept", s, "--at", at) for s in ("230059", "230060")]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert loser.startswith("error: refused by rule capacity:") and "Traceback" not in loser
    assert Ledger(store_url).course(COURSE).seats_taken() == 60


def test_concurrent_writers_lose_no_event(store_url: str, tmp_path: Path) -> None:
    ledger = Ledger(store_url)
    ledger.append([course_opened(), *applications(6), *accepted(6)], "setup")
    ledger.append(
        [ev.AssignmentPublished(course=COURSE, at=T0 + timedelta(days=2), assignment="A01", title="t", deadline=T0 + timedelta(days=9))],
        "setup",
    )
    files = []
    for writer, team in enumerate((("230000", "230001"), ("230002", "230003"))):
        path = tmp_path / f"writer{writer}.jsonl"
        lines = [
            msgspec.json.encode(
                ev.SubmissionHandedIn(
                    course=COURSE, at=T0 + timedelta(days=3, minutes=i), assignment="A01", team=team, digest=f"{writer}-{i}"
                )
            )
            for i in range(25)
        ]
        files.append(path)
        path.write_bytes(b"\n".join(lines) + b"\n")
    # One import per hand-in, so the two processes interleave many small transactions.
    procs = []
    for path in files:
        script = (
            "import sys; from ledger.app import Ledger; L = Ledger(sys.argv[1]);"
            "[L.import_lines([line], 'w') for line in open(sys.argv[2], 'rb')]"
        )
        procs.append(subprocess.Popen([sys.executable, "-c", script, store_url, str(path)], cwd=ROOT))
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    records = list(Ledger(store_url).records())
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    digests = {r.event.digest for r in records if isinstance(r.event, ev.SubmissionHandedIn)}
    assert digests == {f"{w}-{i}" for w in range(2) for i in range(25)}
    assert integrity.verify(Ledger(store_url)).ok


def test_writers_take_turns_and_never_decide_in_vain(store_url: str) -> None:
    """Four processes append one event at a time, two in each of two courses: no decision is taken again.

    Each append decides under its course's lock and takes its position under
    the log's, so no write conflicts with another (before ADR 18 every append
    was guarded by the head it read, and an append in one course forced a
    retry in every other). A process fails if it ever has to decide again.
    """
    ledger = Ledger(store_url)
    for course in ("a-2025", "b-2025"):
        ledger.append(
            [
                msgspec.structs.replace(e, course=course)
                for e in [
                    course_opened(), *applications(6), *accepted(6),
                    ev.AssignmentPublished(course=COURSE, at=T0 + timedelta(days=2), assignment="A01", title="t",
                                           deadline=T0 + timedelta(days=9)),
                ]
            ],
            "setup",
        )  # fmt: skip
    script = (
        "import sys, msgspec; import ledger.app as app; from datetime import datetime, timedelta, timezone\n"
        "def never(attempt): raise SystemExit('decided again after a write conflict')\n"
        "app._back_off = never\n"
        "from ledger import events as ev\n"
        "L = app.Ledger(sys.argv[1]); team = tuple(sys.argv[3].split(','))\n"
        "for i in range(12):\n"
        "    L.append([ev.SubmissionHandedIn(course=sys.argv[2], at=datetime(2025, 3, 6, tzinfo=timezone.utc)\n"
        "        + timedelta(minutes=i), assignment='A01', team=team, digest=f'{sys.argv[2]}-{team[0]}-{i}')], 'w')\n"
    )
    teams = {("a-2025", "230000,230001"), ("a-2025", "230002,230003"), ("b-2025", "230000,230001"), ("b-2025", "230004")}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, store_url, course, team], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for course, team in sorted(teams)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    assert all(code == 0 for code, _ in outcomes), outcomes
    records = list(Ledger(store_url).records())
    assert len(records) == 2 * 14 + 4 * 12
    assert [r.position for r in records] == list(range(1, len(records) + 1))
    assert all(a.recorded_at <= b.recorded_at for a, b in pairwise(records))  # positions and time agree
    assert integrity.verify(Ledger(store_url)).ok


# -- tampering behind the program's back (SPEC §6) ----------------------------


def _store_with_history(store: str) -> tuple[Ledger, integrity.Checkpoint]:
    ledger = Ledger(store)
    ledger.append([course_opened(), *applications(8), *accepted(6)], "setup")
    return ledger, integrity.checkpoint(ledger)


def _version_at(store: str, position: int) -> int:
    with raw(store) as cur:
        cur.execute(f"SELECT originator_version FROM ledger_log WHERE position = {param(store)}", (position,))
        return int(cur.fetchone()[0])


def test_verify_passes_on_an_untouched_store(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    verdict = integrity.verify(ledger, point)
    assert verdict.ok and verdict.size == 15 and verdict.root == point.root


def test_a_changed_byte_is_found_at_its_position(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    table, p = events_table(store_url), param(store_url)
    version = _version_at(store_url, 11)
    with raw(store_url) as cur:
        cur.execute(f"SELECT state FROM {table} WHERE originator_version = {p}", (version,))
        state = bytearray(cur.fetchone()[0])
        state[-3] ^= 0x01
        cur.execute(f"UPDATE {table} SET state = {p} WHERE originator_version = {p}", (bytes(state), version))
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 11 and "altered" in verdict.problem


def test_a_deleted_event_is_found_at_its_position(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    with raw(store_url) as cur:
        cur.execute(f"DELETE FROM {events_table(store_url)} WHERE originator_version = {param(store_url)}", (_version_at(store_url, 7),))
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 7 and "missing" in verdict.problem


def test_a_deleted_log_row_is_a_gap(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    with raw(store_url) as cur:
        cur.execute("DELETE FROM ledger_log WHERE position = 4")
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 4


def test_an_inserted_event_is_found(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    table, p = events_table(store_url), param(store_url)
    with raw(store_url) as cur:
        cur.execute(f"SELECT originator_id, topic, state FROM {table} WHERE originator_version = 3")
        oid, topic, state = cur.fetchone()
        cur.execute(
            f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES ({p}, {p}, {p}, {p})",
            (oid, 99, topic, state),
        )
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 16 and "not in the log" in verdict.problem


def test_two_swapped_events_are_found_at_the_first(store_url: str) -> None:
    ledger, point = _store_with_history(store_url)
    table, p = events_table(store_url), param(store_url)
    a, b = _version_at(store_url, 5), _version_at(store_url, 9)
    with raw(store_url) as cur:
        cur.execute(f"SELECT originator_version, state FROM {table} WHERE originator_version IN ({p}, {p})", (a, b))
        states = dict(cur.fetchall())
        cur.execute(f"UPDATE {table} SET state = {p} WHERE originator_version = {p}", (bytes(states[b]), a))
        cur.execute(f"UPDATE {table} SET state = {p} WHERE originator_version = {p}", (bytes(states[a]), b))
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 5


@pytest.mark.parametrize("salt", [bytes(16), bytes(15), None], ids=["another", "too short", "dropped"])
def test_an_edited_salt_is_found_at_its_position(store_url: str, salt: bytes | None) -> None:
    """A leaf commits to its salt: a salt changed, cut short or dropped (as if the leaf were unsalted) is an alteration."""
    ledger, point = _store_with_history(store_url)
    with raw(store_url) as cur:
        cur.execute(f"UPDATE ledger_log SET salt = {param(store_url)} WHERE position = 6", (salt,))
    verdict = integrity.verify(ledger, point)
    assert not verdict.ok and verdict.bad_position == 6 and "altered" in verdict.problem
    target = list(ledger.records())[5]
    with pytest.raises(StoreError, match=r"^the event at position 6 was altered: run verify$"):
        integrity.receipt(ledger, target.id)


def test_a_rewritten_log_no_longer_extends_the_checkpoint(store_url: str) -> None:
    """An attacker who also recomputes the leaves and the head is caught by the checkpoint."""
    ledger, point = _store_with_history(store_url)
    table, p = events_table(store_url), param(store_url)
    with raw(store_url) as cur:
        cur.execute(f"SELECT state FROM {table} WHERE originator_version = 2")
        state = bytes(cur.fetchone()[0]).replace(b'"programme":"bachelor"', b'"programme":"master"')
        cur.execute(f"UPDATE {table} SET state = {p} WHERE originator_version = 2", (state,))
    rows = [r for r in _all_rows(ledger)]
    from ledger import merkle

    frontier = merkle.Frontier()
    with raw(store_url) as cur:
        for row in rows:
            leaf = integrity.recompute_leaf(row)
            frontier.append(leaf)
            cur.execute(f"UPDATE ledger_log SET leaf = {p} WHERE position = {p}", (leaf, row.position))
        cur.execute(f"UPDATE ledger_head SET frontier = {p}", (frontier.to_bytes(),))
    assert integrity.verify(ledger).ok  # consistent with itself …
    verdict = integrity.verify(ledger, point)  # … but not with what the auditor kept
    assert not verdict.ok and "does not extend" in verdict.problem


def _all_rows(ledger: Ledger) -> list:  # type: ignore[type-arg]
    return ledger.recorder.select_log(0, 1_000)  # type: ignore[attr-defined,no-any-return]


def test_receipts_prove_inclusion_offline(store_url: str) -> None:
    from ledger import checkpoint as cp

    ledger, point = _store_with_history(store_url)
    target = list(ledger.records())[6]
    receipt = integrity.receipt(ledger, target.id)
    assert cp.check_receipt(cp.Receipt.parse_json(receipt.to_json()), point) == target
    forged = cp.Receipt(**{**receipt.__dict__, "leaf": bytes(32)})
    with pytest.raises(ValueError, match="leaf hash is not that of event"):
        cp.check_receipt(forged, point)


@pytest.mark.postgres
def test_postgres_refuses_to_rewrite_history(fresh_postgres_url: str) -> None:
    import psycopg

    Ledger(fresh_postgres_url).append([course_opened(), *applications(2)], "setup")
    for statement in (
        "UPDATE subledger_events SET topic = 'x'",
        "DELETE FROM subledger_events",
        "TRUNCATE subledger_events",
        "UPDATE ledger_log SET leaf = ''",
        "DELETE FROM ledger_log",
        "TRUNCATE ledger_log",
    ):
        with psycopg.connect(fresh_postgres_url) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(statement)
    assert Ledger(fresh_postgres_url).head()[0] == 3


def test_startup_cost_has_no_postgres_driver_on_sqlite(sqlite_path: str) -> None:
    code = (
        "import sys; from ledger.app import Ledger; Ledger(sys.argv[1]);"
        "print('psycopg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, sqlite_path], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_sqlite_commits_are_durable(sqlite_path: str) -> None:
    ledger = Ledger(sqlite_path)
    ledger.append([course_opened()], "t")
    with ledger.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
        c.execute("PRAGMA synchronous")
        synchronous = c.fetchone()[0]
        c.execute("PRAGMA journal_mode")
        journal = c.fetchone()[0]
    assert (synchronous, journal) == (2, "wal")  # 2 = FULL

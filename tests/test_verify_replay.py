"""`verify` takes the append path's decisions again on the stored log (ledger/replay.py).

Events are forged as anyone who can write the store's tables can forge them:
through the store's own insert path, leaves and head kept right, no rule
asked. The Merkle log then verifies; the replay must not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from ledger import events as ev
from ledger import integrity
from ledger.app import Ledger, Pending, stream_id
from ledger.events import Envelope
from tests.cli_helpers import ALAN, COURSE, KURT, run, semester


def forge(
    store: str, event: ev.Event, recorded_at: datetime | None = None, stream: UUID | None = None, version: int = 0
) -> int:
    """Append `event` behind the program's back (recorded now, unless `recorded_at`); its position."""
    recorded_at = recorded_at or datetime.now(UTC)
    ledger = Ledger(store)
    try:
        version = version or len(ledger.course(event.course).records) + 1
        envelope = Envelope(uuid.uuid4(), recorded_at, "mallory", event)
        pending = Pending(stream or stream_id(event.course), version, envelope)
        position = ledger.head()[0] + 1
        ledger.events.put([pending], ids=[envelope.id], material=[], first_position=position)
        return int(position)
    finally:
        ledger.close()


def failed(store: str) -> str:
    result = run(store, "verify")
    assert result.exit_code == 1, result.output
    return result.stderr


@pytest.fixture(params=["inline", "beside"])
def store(request: pytest.FixtureRequest, sqlite_path: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The semester, verified with the rules taken in this process, or in a second one beside the leaves."""
    if request.param == "beside":
        monkeypatch.setattr(integrity, "BESIDE_FROM", 0)
    semester(sqlite_path)
    assert run(sqlite_path, "verify").exit_code == 0
    return sqlite_path


def test_an_event_the_rules_refuse_is_named_with_its_position_and_rule(store: str) -> None:
    assert run(store, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00").exit_code == 0  # the third of 3 seats
    position = forge(store, ev.ApplicationAccepted(course=COURSE, at=datetime(2025, 4, 7, 9, tzinfo=UTC), student=KURT))
    said = failed(store)
    assert f"position {position}" in said and "breaks rule capacity" in said and KURT in said, said


def test_a_clock_that_runs_backwards_is_found(store: str) -> None:
    position = forge(store, ev.ApplicationRejected(course=COURSE, at=datetime(2024, 4, 7, tzinfo=UTC), student=ALAN,
                                                   reason="x"), recorded_at=datetime(2020, 1, 1, tzinfo=UTC))  # fmt: skip
    said = failed(store)
    assert f"position {position} is recorded at 2020-01-01T00:00:00Z" in said and "never runs backwards" in said, said


def test_an_event_in_another_courses_stream_is_found(store: str) -> None:
    rejected = ev.ApplicationRejected(course=COURSE, at=datetime(2025, 4, 7, tzinfo=UTC), student=ALAN, reason="x")
    position = forge(store, rejected, stream=stream_id("another-course"), version=1)
    said = failed(store)
    assert f"position {position} is of course {COURSE!r} but stored in another course's stream" in said, said


def test_an_event_dated_in_the_future_is_found(store: str) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    position = forge(store, ev.ApplicationRejected(course=COURSE, at=later, student=ALAN, reason="x"))
    said = failed(store)
    assert f"position {position}" in said and "breaks rule future" in said, said


def test_a_retraction_that_breaks_a_rule_is_found(store: str) -> None:
    """A withdrawal retracted after its seat was given away: 4 of 3 seats (ADR 11), behind the program's back."""
    from tests.cli_helpers import ADA

    assert run(store, "withdraw", ADA, "--reason", "moved", "--at", "2025-04-08T10:00:00+02:00").exit_code == 0
    assert run(store, "accept", ALAN, "--at", "2025-04-08T11:00:00+02:00").exit_code == 0
    assert run(store, "accept", KURT, "--at", "2025-04-08T11:00:00+02:00").exit_code == 0  # 3 of 3 seats
    ledger = Ledger(store)
    withdrawal = ledger.course(COURSE).applications[ADA].withdrawn
    ledger.close()
    assert withdrawal is not None
    refused = run(store, "retract", str(withdrawal.id), "--reason", "x", "--at", "2025-04-08T12:00:00+02:00")
    assert refused.exit_code == 1 and "capacity" in refused.stderr  # the append path refuses it …
    position = forge(store, ev.EventRetracted(course=COURSE, at=datetime(2025, 4, 8, 10, tzinfo=UTC), event=withdrawal.id,
                                              reason="x"))  # fmt: skip
    said = failed(store)  # … and so does verify
    assert f"position {position}" in said and "breaks rule capacity" in said, said


def test_a_checkpoint_proves_a_clock_that_stepped_back_before_it(store: str, tmp_path: object) -> None:
    """As a restore does (`restore-order` is waived where a checkpoint proves the original's bytes)."""
    forge(store, ev.ApplicationRejected(course=COURSE, at=datetime(2024, 4, 7, tzinfo=UTC), student=ALAN, reason="x"),
          recorded_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    from pathlib import Path

    kept = Path(str(tmp_path)) / "checkpoint.txt"
    kept.write_text(run(store, "digest").stdout)
    assert run(store, "verify").exit_code == 1
    assert run(store, "verify", str(kept)).exit_code == 0


def test_a_nul_written_behind_the_programs_back_is_found(store: str) -> None:
    position = forge(store, ev.ApplicationRejected(course=COURSE, at=datetime(2025, 4, 7, tzinfo=UTC), student=ALAN,
                                                   reason="full\x00"))  # fmt: skip
    said = failed(store)
    assert f"position {position}" in said and "breaks rule control-character" in said, said


def test_the_second_process_finds_what_this_one_finds_on_both_stores(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    semester(store_url)
    assert run(store_url, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00").exit_code == 0
    position = forge(store_url, ev.ApplicationAccepted(course=COURSE, at=datetime(2025, 4, 7, 9, tzinfo=UTC), student=KURT))
    inline = run(store_url, "verify")
    monkeypatch.setattr(integrity, "BESIDE_FROM", 0)
    started: list[object] = []
    real = integrity.beside
    monkeypatch.setattr(integrity, "beside", lambda *a: started.append(a) or real(*a))
    said = run(store_url, "verify")
    assert started and said.exit_code == inline.exit_code == 1
    assert said.output == inline.output and f"position {position}" in said.output, said.output


def test_when_the_second_process_cannot_say_the_rules_are_taken_here(
    store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    failing = Path(str(tmp_path)) / "python"
    failing.write_text("#!/bin/sh\nexit 3\n")
    failing.chmod(0o755)
    monkeypatch.setattr(integrity, "BESIDE_FROM", 0)
    monkeypatch.setattr(integrity.sys, "executable", str(failing))
    position = forge(store, ev.ApplicationRejected(course=COURSE, at=datetime(2024, 4, 7, tzinfo=UTC), student=ALAN,
                                                   reason="x"), recorded_at=datetime(2025, 1, 1, tzinfo=UTC))  # fmt: skip
    said = failed(store)
    assert f"position {position}" in said and "the store's clock never runs backwards" in said, said

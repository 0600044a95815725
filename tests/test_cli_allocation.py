"""`allocate-groups` through the CLI: the seed, --dry-run, --verify, and a course that changes meanwhile."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

import ledger.allocation as allocation_module
from ledger.app import Ledger
from ledger.errors import Stale
from ledger.events import ApplicationWithdrawn, GroupsAllocated
from tests.cli_helpers import (
    ADA,
    ALAN,
    DECIDED_AT,
    GRACE,
    KURT,
    application,
    count,
    course_opened,
    jsonl,
    run,
)

ALLOCATED_AT = "2025-04-11T13:00:00+02:00"
WITHDRAWN_AT = datetime.fromisoformat("2025-04-11T12:30:00+02:00")
PREFERENCES = {ADA: ("g1", "g2"), GRACE: ("g1", "g2"), ALAN: ("g1",)}
CAPACITIES = {"g1": 2, "g2": 2}


def history() -> list[dict[str, Any]]:
    """Three participants (of four seats) for two groups of two: Alan ranks only g1; Ada and Grace g1, then g2."""
    return [
        course_opened(capacity=4),
        application(ADA, "Ada Lovelace", "2025-03-10T10:00:00+01:00", "master"),
        application(GRACE, "Grace Hopper", "2025-03-11T10:00:00+01:00"),
        application(ALAN, "Alan Turing", "2025-03-12T10:00:00+01:00"),
        *({"type": "ApplicationAccepted", "at": DECIDED_AT, "student": s} for s in (ADA, GRACE, ALAN)),
        *(
            {"type": "GroupPreferenceRegistered", "at": "2025-04-08T09:00:00+02:00", "student": s, "priorities": p}
            for s, p in PREFERENCES.items()
        ),
    ]


def make_store(tmp_path: Any, *more: dict[str, Any]) -> str:
    store = str(tmp_path / "ledger.sqlite")
    done = run(store, "import", "-", input=jsonl(*history(), *more))
    assert done.exit_code == 0, done.output
    return store


def expected(seed: int) -> dict[str, str]:
    return allocation_module.allocate_preferences(PREFERENCES, PREFERENCES, CAPACITIES, seed)


def seed_where(winner: str) -> int:
    """A seed whose lottery gives `winner` (Ada or Grace) the last seat in g1."""
    return next(s for s in range(100) if expected(s)[winner] == "g1")


def recorded_allocations(store: str) -> list[GroupsAllocated]:
    ledger = Ledger(store)
    try:
        return [r.event for r in ledger.records() if isinstance(r.event, GroupsAllocated)]
    finally:
        ledger.close()


def test_dry_run_shows_the_allocation_and_how_well_it_serves_and_records_nothing(tmp_path: Any) -> None:
    store = make_store(tmp_path)
    before = count(store)
    done = run(store, "allocate-groups", "--seed", "5", "--dry-run", "--at", ALLOCATED_AT)
    assert done.exit_code == 0, done.output
    lines = "".join(f"{s}\t{g}\n" for s, g in sorted(expected(5).items()))
    summary = "seed 5: 1st choice 2, 2nd choice 1, unranked 0, no preference 0, no seat 0; total rank 1\n"
    assert done.stdout == lines + summary
    assert expected(5)[ALAN] == "g1"
    assert count(store) == before


def test_recording_prints_the_seed_and_verify_re_derives_it(tmp_path: Any) -> None:
    store = make_store(tmp_path)
    done = run(store, "allocate-groups", "--seed", "2025", "--at", ALLOCATED_AT)
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("seed 2025: 1st choice 2, 2nd choice 1,")
    assert "recorded GroupsAllocated at position 11" in done.stdout
    [event] = recorded_allocations(store)
    assert (event.seed, event.allocation) == (2025, expected(2025))

    verified = run(store, "allocate-groups", "--verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.splitlines()[0].endswith(
        "re-derived from the 10 events of idl-2025 recorded before it, as of 2025-04-11T13:00:00+02:00"
    )
    assert verified.stdout.splitlines()[-1] == "the recorded allocation matches; it is rank-optimal"


def test_without_a_seed_a_fresh_one_is_drawn_printed_and_recorded(tmp_path: Any) -> None:
    store = make_store(tmp_path)
    seeds = set()
    for _ in range(2):
        shown = run(store, "allocate-groups", "--dry-run", "--at", ALLOCATED_AT)
        seeds.add(int(re.search(r"^seed (\d+):", shown.stdout, re.M).group(1)))  # type: ignore[union-attr]
    assert len(seeds) == 2 and 0 not in seeds
    done = run(store, "allocate-groups", "--at", ALLOCATED_AT)
    seed = int(re.match(r"seed (\d+):", done.stdout).group(1))  # type: ignore[union-attr]
    [event] = recorded_allocations(store)
    assert event.seed == seed
    assert run(store, "allocate-groups", "--verify").exit_code == 0


def test_verify_lists_who_is_where_when_an_optimal_allocation_is_not_the_seeds(tmp_path: Any) -> None:
    seed = seed_where(GRACE)
    imported = {"type": "GroupsAllocated", "at": ALLOCATED_AT, "seed": seed,
                "allocation": {ADA: "g1", GRACE: "g2", ALAN: "g1"}}  # fmt: skip
    store = make_store(tmp_path, imported)
    verified = run(store, "allocate-groups", "--verify")
    assert verified.exit_code == 1
    lines = verified.stdout.splitlines()
    assert lines[1:] == [
        "recorded:   1st choice 2, 2nd choice 1, unranked 0, no preference 0, no seat 0; total rank 1",
        "re-derived: 1st choice 2, 2nd choice 1, unranked 0, no preference 0, no seat 0; total rank 1",
        "the recorded allocation differs for 2 participant(s); it is rank-optimal",
        "student\trecorded\tre-derived",
        f"{ADA}\tg1\tg2",
        f"{GRACE}\tg2\tg1",
    ]
    assert verified.stderr == "verification failed: the recorded allocation is not the one its seed gives\n"


def test_verify_says_when_a_recorded_allocation_is_not_rank_optimal(tmp_path: Any) -> None:
    imported = {"type": "GroupsAllocated", "at": ALLOCATED_AT, "seed": 1,
                "allocation": {ADA: "g1", GRACE: "g1", ALAN: "g2"}}  # fmt: skip
    store = make_store(tmp_path, imported)
    verified = run(store, "allocate-groups", "--verify")
    assert verified.exit_code == 1
    assert "recorded:   1st choice 2, 2nd choice 0, unranked 1," in verified.stdout
    assert (
        "differs for 2 participant(s); it is not rank-optimal (the best: 3 in a ranked group, total rank 1)"
        in verified.stdout
    )


def test_verify_reads_the_ledger_as_it_stood_before_the_allocation(tmp_path: Any) -> None:
    seed = 11
    allocated = {"type": "GroupsAllocated", "at": ALLOCATED_AT, "seed": seed, "allocation": expected(seed)}
    store = make_store(tmp_path, allocated)
    ledger = Ledger(store)
    try:
        preference = next(r for r in ledger.records() if getattr(r.event, "student", None) == ADA
                          and type(r.event).__name__ == "GroupPreferenceRegistered")  # fmt: skip
    finally:
        ledger.close()
    # Later events change participants and preferences; the allocation stands as it was made.
    assert run(store, "retract", str(preference.id), "--reason", "typo").exit_code == 0
    assert run(store, "withdraw", GRACE, "--reason", "moved away").exit_code == 0
    assert run(store, "apply", KURT, "--name", "Kurt Goedel", "--email", "k@st.ovgu.de", "--programme", "master",
               "--prerequisite", "ML", "--at", "2025-04-06T10:00:00+02:00").exit_code == 0  # fmt: skip
    verified = run(store, "allocate-groups", "--verify")
    assert verified.exit_code == 0, verified.output
    assert "re-derived from the 10 events" in verified.stdout


def test_an_acceptance_after_the_allocations_time_is_not_part_of_it(tmp_path: Any) -> None:
    # Recorded before the allocation, but it happened after it (`at`): not a participant then.
    late = [
        application(KURT, "Kurt Goedel", "2025-04-06T10:00:00+02:00"),
        {"type": "ApplicationAccepted", "at": "2025-04-12T10:00:00+02:00", "student": KURT},
    ]
    store = make_store(tmp_path, *late)
    done = run(store, "allocate-groups", "--seed", "3", "--at", ALLOCATED_AT)
    assert done.exit_code == 0, done.output
    [event] = recorded_allocations(store)
    assert KURT not in event.allocation
    assert run(store, "allocate-groups", "--verify").exit_code == 0


def test_verify_without_an_allocation_in_effect_fails(tmp_path: Any) -> None:
    store = make_store(tmp_path)
    missing = run(store, "allocate-groups", "--verify")
    assert missing.exit_code == 1
    assert missing.stderr == "error: course 'idl-2025' has no allocation in effect to verify\n"
    run(store, "allocate-groups", "--seed", "1", "--at", ALLOCATED_AT)
    [record] = [r for r in Ledger(store).records() if isinstance(r.event, GroupsAllocated)]
    assert run(store, "retract", str(record.id), "--reason", "too early").exit_code == 0
    assert run(store, "allocate-groups", "--verify").exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--verify", "--seed", "3"], "--verify uses the recorded seed"),
        (["--verify", "--dry-run"], "--verify uses the recorded seed"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--seed", str(2**53)], "Invalid value for '--seed'"),
    ],
)
def test_wrong_usage_exits_2_and_writes_nothing(tmp_path: Any, args: list[str], message: str) -> None:
    store = make_store(tmp_path)
    before = count(store)
    done = run(store, "allocate-groups", *args)
    assert done.exit_code == 2 and message in done.output
    assert count(store) == before


def test_a_course_that_changes_while_allocating_is_allocated_again(tmp_path: Any, monkeypatch: Any) -> None:
    # Another writer withdraws Grace between the command's read and its append:
    # recording the allocation decided without knowing it would not re-derive.
    store = make_store(tmp_path)
    real = allocation_module.allocate_preferences
    calls: list[list[str]] = []

    def meanwhile(participants: Any, *args: Any) -> dict[str, str]:
        calls.append(sorted(participants))
        if len(calls) == 1:
            other = Ledger(store)
            try:
                withdrawal = ApplicationWithdrawn(course="idl-2025", at=WITHDRAWN_AT, student=GRACE, reason="moved")
                other.append([withdrawal], "someone else")
            finally:
                other.close()
        return real(participants, *args)

    monkeypatch.setattr(allocation_module, "allocate_preferences", meanwhile)
    done = run(store, "allocate-groups", "--seed", "4", "--at", ALLOCATED_AT)
    assert done.exit_code == 0, done.output
    assert "the course changed while allocating; allocating again" in done.stderr
    assert calls == [sorted([ADA, GRACE, ALAN]), sorted([ADA, ALAN])]
    [event] = recorded_allocations(store)
    assert GRACE not in event.allocation
    monkeypatch.setattr(allocation_module, "allocate_preferences", real)
    assert run(store, "allocate-groups", "--verify").exit_code == 0


def test_an_append_decided_on_an_older_course_is_refused_as_stale(tmp_path: Any) -> None:
    store = make_store(tmp_path)
    ledger = Ledger(store)
    try:
        seen = len(ledger.course("idl-2025").records)
        event = GroupsAllocated(course="idl-2025", at=WITHDRAWN_AT, allocation={}, seed=1)
        with pytest.raises(Stale):
            ledger.append([event], "tester", decided_on=seen - 1)
        assert ledger.head()[0] == seen
        assert len(ledger.append([event], "tester", decided_on=seen)) == 1
    finally:
        ledger.close()

"""Every event type declares the facts the program asks of it, in one place (ledger/events.py).

Adding an event type and forgetting one of them fails here, not in a view
that silently leaves the event out: whom and what it concerns (and whether
every student's outcomes may rest on it), its line in the audit trail, and its
rule check (an entry in `ledger.rules.CHECKS`, `no_rule` if none applies).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import get_args, get_type_hints
from uuid import UUID

import msgspec
import pytest

from ledger import events as ev
from ledger import rules, wire
from ledger.events import Recorded
from projections import scope

GOLDEN = Path(__file__).parent / "golden" / "events.jsonl"
TYPES = sorted(ev.EVENT_TYPES.items())
ID_FIELDS = (str, tuple[str, ...], dict[str, str])  # one id, several, ids as keys


def golden() -> dict[str, ev.Event]:
    """One event of each type, from the wire format's golden file."""
    events = [wire.decode_line(line).event for line in GOLDEN.read_bytes().splitlines()]
    return {ev.type_name(e): e for e in events}


class Stub:
    """Words for an audit line, with visible markers."""

    def instant(self, moment: datetime) -> str:
        return f"<{moment.isoformat()}>"

    def event(self, event_id: UUID) -> str:
        return f"<event {event_id}>"


@pytest.mark.parametrize(("name", "cls"), TYPES)
def test_each_type_declares_what_it_concerns(name: str, cls: type[ev.Event]) -> None:
    assert "concerns" in vars(cls), f"{name} must declare `concerns` (see ledger/events.py)"
    hints = get_type_hints(cls)
    fields = {f.name for f in msgspec.structs.fields(cls)}
    for field in (*cls.concerns.students, *cls.concerns.assignments):
        assert field in fields, f"{name}.concerns names {field!r}, which is not one of its fields"
        assert hints[field] in ID_FIELDS, f"{name}.{field} does not hold ids: {hints[field]}"


@pytest.mark.parametrize(("name", "cls"), TYPES)
def test_each_type_words_its_own_audit_line(name: str, cls: type[ev.Event]) -> None:
    assert "describe" in vars(cls), f"{name} must declare `describe`, its line in the audit trail"
    line = golden()[name].describe(Stub())
    assert line and "\n" not in line and line != name


@pytest.mark.parametrize(("name", "cls"), TYPES)
def test_each_type_has_its_rule_check(name: str, cls: type[ev.Event]) -> None:
    assert cls in rules.CHECKS, f"{name} needs an entry in ledger.rules.CHECKS (rules.no_rule if none applies)"


def test_the_rule_table_holds_event_types_only() -> None:
    assert set(rules.CHECKS) == set(ev.EVENT_TYPES.values())


def test_the_golden_events_name_whom_and_what_they_concern() -> None:
    events = golden()
    hand_in = events["SubmissionHandedIn"]
    assert isinstance(hand_in, ev.SubmissionHandedIn)
    assert hand_in.concerned_students() == hand_in.team
    assert hand_in.concerned_assignments() == (hand_in.assignment,)
    allocated = events["GroupsAllocated"]
    assert isinstance(allocated, ev.GroupsAllocated)
    assert allocated.concerned_students() == tuple(allocated.allocation)
    excuse = events["ExcuseGranted"]
    assert isinstance(excuse, ev.ExcuseGranted)
    assert excuse.concerned_assignments() == excuse.assignments
    for event in events.values():
        assert all(isinstance(s, str) for s in event.concerned_students())
        assert all(isinstance(a, str) for a in event.concerned_assignments())


def test_the_literals_of_the_wire_format_are_the_events_own() -> None:
    assert get_args(get_type_hints(ev.PresentationRecorded)["outcome"]) == get_args(ev.Outcome)


class Forgotten(ev.Event, frozen=True, kw_only=True, tag="Forgotten"):
    """An event type whose author declared none of its facts."""

    student: str


def test_a_type_that_forgets_its_scope_is_read_by_every_student() -> None:
    """Forgetting costs speed (every student's view decodes it), never a wrong `status STUDENT`."""
    t0 = datetime(2025, 4, 1, tzinfo=UTC)
    record = Recorded(uuid.uuid4(), 1, t0 + timedelta(minutes=1), "t", Forgotten(course="c", at=t0, student="s1"))  # type: ignore[arg-type]
    assert Forgotten.concerns.course_wide
    assert scope.share([record], "someone else") == [record]

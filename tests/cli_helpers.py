"""Helpers for tests that drive the `subledger` CLI in-process (a plain module, not a conftest).

`run` invokes the click program with a store and an actor; `semester` fills a
store with a small course through the `Ledger` API (fast, one transaction);
`count` says how many events the store holds.
"""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner, Result

from cli.main import main
from ledger.app import Ledger
from ledger.events import Recorded

COURSE = "idl-2025"
ACTOR = "tester"

# The semester's people (matriculation numbers).
ADA = "231001"  # on time, accepted, group g1
GRACE = "231002"  # on time, accepted, group g1
ALAN = "231003"  # on time, undecided
EMMY = "231004"  # on time, rejected
KURT = "231005"  # late (after the application deadline), undecided
STRANGER = "999999"  # never applied

# Instants of the semester, all with explicit offsets (Europe/Berlin: CET +01:00, CEST +02:00).
OPENED_AT = "2025-03-03T09:00:00+01:00"
APPLICATION_DEADLINE = "2025-04-04T23:59:00+02:00"
REGISTRATION_DEADLINE = "2025-04-11T12:00:00+02:00"
DECIDED_AT = "2025-04-07T10:00:00+02:00"
BEFORE_REGISTRATION_DEADLINE = "2025-04-09T10:00:00+02:00"
AFTER_REGISTRATION_DEADLINE = "2025-04-12T10:00:00+02:00"
DEADLINES = {
    "A01": "2025-04-14T10:00:00+02:00",
    "A02": "2025-04-21T10:00:00+02:00",
    "A03": "2025-04-28T10:00:00+02:00",
}
CLOSED_AT = "2025-07-15T00:00:00+02:00"
EXAM_AT = "2025-07-16T10:00:00+02:00"

_runner = CliRunner(env={"SUBLEDGER_STORE": None, "SUBLEDGER_COURSE": None, "SUBLEDGER_ACTOR": None})


def run(store: str, *args: str, input: str | bytes | None = None) -> Result:
    """`subledger --store STORE --actor tester ARGS…`, in-process."""
    return _runner.invoke(main, ["--store", store, "--actor", ACTOR, *args], input=input)


def count(store: str) -> int:
    """How many events the store holds."""
    ledger = Ledger(store)
    try:
        return ledger.head()[0]
    finally:
        ledger.close()


def jsonl(*events: dict[str, Any]) -> str:
    """Wire lines (JSONL) of `events`, each given `course` unless it has one."""
    return "".join(json.dumps({"course": COURSE, **e}) + "\n" for e in events)


def course_opened(**changes: Any) -> dict[str, Any]:
    """The semester's CourseOpened line: capacity 3, groups g1 and g2 of capacity 2."""
    return {
        "type": "CourseOpened",
        "at": OPENED_AT,
        "title": "Introduction to Deep Learning",
        "timezone": "Europe/Berlin",
        "capacity": 3,
        "application_deadline": APPLICATION_DEADLINE,
        "registration_deadline": REGISTRATION_DEADLINE,
        "max_fails": 2,
        "max_team_size": 3,
        "groups": [
            {"id": "g1", "slot": "Thu 11:00", "capacity": 2},
            {"id": "g2", "slot": "Fri 13:00", "capacity": 2},
        ],
        **changes,
    }


def application(student: str, name: str, at: str, programme: str = "bachelor") -> dict[str, Any]:
    """An ApplicationSubmitted line with material."""
    return {
        "type": "ApplicationSubmitted",
        "at": at,
        "student": student,
        "name": name,
        "email": name.split()[0].lower() + "@st.ovgu.de",
        "programme": programme,
        "prerequisite": "Machine Learning (passed)",
        "statement": f"Statement of motivation of {name}.",
    }


def semester_lines() -> list[dict[str, Any]]:
    """The events of `semester`, as wire dicts (without ids: ids derive from content)."""
    return [
        course_opened(),
        application(ADA, "Ada Lovelace", "2025-03-10T10:00:00+01:00", "master"),
        application(GRACE, "Grace Hopper", "2025-03-11T10:00:00+01:00"),
        application(ALAN, "Alan Turing", "2025-03-12T10:00:00+01:00"),
        application(EMMY, "Emmy Noether", "2025-03-13T10:00:00+01:00", "master"),
        application(KURT, "Kurt Goedel", "2025-04-06T10:00:00+02:00"),
        {"type": "ApplicationAccepted", "at": DECIDED_AT, "student": ADA},
        {"type": "ApplicationAccepted", "at": DECIDED_AT, "student": GRACE},
        {"type": "ApplicationRejected", "at": DECIDED_AT, "student": EMMY, "reason": "prerequisite missing"},
        {
            "type": "GroupPreferenceRegistered",
            "at": "2025-04-08T09:00:00+02:00",
            "student": ADA,
            "priorities": ["g1", "g2"],
        },
        {
            "type": "GroupPreferenceRegistered",
            "at": "2025-04-08T09:05:00+02:00",
            "student": GRACE,
            "priorities": ["g1"],
        },
        {
            "type": "GroupsAllocated",
            "at": "2025-04-11T13:00:00+02:00",
            "allocation": {ADA: "g1", GRACE: "g1"},
            "seed": 7,
        },
        *(
            {
                "type": "AssignmentPublished",
                "at": "2025-04-07T12:00:00+02:00",
                "assignment": a,
                "title": f"Week {a}",
                "deadline": d,
            }
            for a, d in DEADLINES.items()
        ),
        {
            "type": "SubmissionHandedIn",
            "at": "2025-04-14T09:30:00+02:00",
            "assignment": "A01",
            "team": [ADA, GRACE],
            "digest": "sha256:0a1b2c",
        },
    ]


def semester(store: str) -> list[Recorded]:
    """A small course in `store`: 16 events.

    Capacity 3, groups g1 and g2 of capacity 2. Ada and Grace are accepted and
    allocated to g1 (now full); Alan (on time) and Kurt (late) are undecided;
    Emmy is rejected. A01–A03 are published; Ada and Grace handed in A01 as a team.
    """
    ledger = Ledger(store)
    try:
        text = jsonl(*semester_lines())
        return ledger.import_lines(text.encode().splitlines(), ACTOR).recorded
    finally:
        ledger.close()


def find(records: list[Recorded], type_name: str, **fields: Any) -> Recorded:
    """The one record of `type_name` whose event has `fields`."""
    from ledger.events import type_name as name_of

    found = [
        r for r in records if name_of(r.event) == type_name and all(getattr(r.event, k) == v for k, v in fields.items())
    ]
    assert len(found) == 1, (type_name, fields, found)
    return found[0]

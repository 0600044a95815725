"""The load benchmark's own checks can fail: each rule it checks after the run is caught when broken.

(The benchmark itself needs a PostgreSQL server and runs in `bench/`; these
checks are what make its "0 invariant breaks" mean something.)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from bench.load import COURSES, Tally, failures, invariant_breaks, setup_events
from ledger import events as ev
from ledger.course import Course
from ledger.events import Recorded

T = datetime(2025, 4, 1, tzinfo=UTC)


def fold(events: list[ev.Event]) -> Course:
    records = [Recorded(uuid.uuid4(), n, T, "x", e) for n, e in enumerate(events, start=1)]  # type: ignore[arg-type]
    return Course.fold(COURSES[0], records)


def test_the_setup_breaks_nothing() -> None:
    setup = [e for e in setup_events(T) if e.course == COURSES[0]]
    assert list(invariant_breaks(fold(setup))) == []


def test_every_broken_rule_is_found() -> None:
    setup = [e for e in setup_events(T) if e.course == COURSES[0]]
    opened = setup[0]
    assert isinstance(opened, ev.CourseOpened)
    fields = {f: getattr(opened, f) for f in opened.__struct_fields__}
    small = ev.CourseOpened(**{**fields, "capacity": 59, "groups": (ev.Group("g1", "Thu 11:00", 29), opened.groups[1])})
    a, b, c = "100000", "100001", "100002"
    broken = [
        small,
        *setup[1:],
        ev.SubmissionHandedIn(course=COURSES[0], at=T, assignment="A01", team=(a, b), digest=""),
        ev.SubmissionHandedIn(course=COURSES[0], at=T, assignment="A01", team=(a, c), digest=""),
        ev.SubmissionHandedIn(course=COURSES[0], at=T, assignment="A02", team=(a, "999999"), digest=""),
        ev.SubmissionHandedIn(course=COURSES[0], at=T, assignment="A03", team=(a, b, c, "100003"), digest=""),
        ev.PresentationRecorded(course=COURSES[0], at=T, assignment="A04", student=a, outcome="explained"),
    ]
    found = list(invariant_breaks(fold(broken)))
    assert "capacity: 60 participants in 59 seats" in found
    assert any(f.startswith("group-full: 30 in group 'g1' of capacity 29") for f in found)
    assert f"two-teams: '{a}' in 2 teams for 'A01'" in found
    assert "not-a-participant: '999999' in a team for 'A02'" in found
    assert any(f.startswith("team-too-large: hand-in of 'A03'") for f in found)
    assert f"no-hand-in: PresentationRecorded of '{a}' for 'A04'" in found


def test_an_append_that_gave_up_fails_the_benchmark() -> None:
    calm = [Tally("writer 0", ids=["a"]), Tally("reader 0", latencies=[0.1])]
    assert failures(calm) == []
    crowd = [*calm, Tally("writer 3", errors=["gave up after 20 write conflicts; try again"]), Tally("reader 1", errors=["x"])]
    assert failures(crowd) == [
        "1 append(s) failed (first: gave up after 20 write conflicts; try again)",
        "1 export(s) failed (first: x)",
    ]

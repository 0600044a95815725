"""Every participant's outcomes and status agree with a separate model of SPEC §5.

The model (`tests/spec_model.py`) is written from the SPEC's words and reads
only the wire format; the read side is reached through its library. Histories
are random but valid (`tests/test_properties.history`): every event passed the
write side's rules, retractions, moved deadlines, late admissions and
withdrawals included. A few histories are spelled out where a rule turns on
an instant (on time is `at <= deadline`, to the microsecond).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

from hypothesis import HealthCheck, given, settings

from ledger import events as ev
from ledger import rules, wire
from ledger.course import Course
from ledger.events import Recorded
from projections.admission import admission
from projections.gradebook import gradebook
from projections.scope import Clock
from tests import spec_model
from tests.test_properties import T0, Intent, _opening, clocks, history, intents, reading


def boundaries(records: list[Recorded]) -> list[Clock]:
    """Clocks on the instants where a rule turns: exactly at each deadline in the history."""
    deadlines = {r.event.deadline for r in records if isinstance(r.event, ev.AssignmentPublished | ev.DeadlineChanged)}
    return [Clock(d) for d in sorted(deadlines)[:4]]


def agree(records: list[Recorded], extra: list[Clock] = ()) -> None:  # type: ignore[assignment]
    """The library's admission export and gradebook say what the model says, under every clock."""
    lines = [json.loads(wire.encode_line(r)) for r in records]
    for name in {r.event.course for r in records}:
        mine = [r for r in records if r.event.course == name]
        for clock in [*clocks(records), *boundaries(records), *extra]:
            model = spec_model.rows(spec_model.Model.of(lines, name, clock.as_of, clock.known_at))
            through = reading(name, mine, clock)
            admitted = {row.student: row for row in admission(through)}
            assert set(admitted) == set(model), clock
            for student, expected in model.items():
                row = admitted[student]
                kinds = Counter(o.split(":")[0] for o in expected.outcomes.values())
                assert (row.status, row.reasons) == (expected.status, expected.reasons), (student, clock)
                assert (row.passed, row.excused, row.failed, row.open) == (
                    kinds["passed"], kinds["excused"], kinds["failed"], kinds["open"]
                ), (student, clock)
            book = gradebook(through)
            for row in book.rows:
                assert row.assignment == model[row.student].outcomes, (row.student, clock)
            assert {row.student for row in book.rows} == {s for s, r in model.items() if r.status != "withdrawn"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=intents)
def test_outcomes_and_status_agree_with_a_model_written_from_the_spec(drawn: list[Intent]) -> None:
    agree(history(drawn))


def recorded(events: list[ev.Event]) -> list[Recorded]:
    """`events` after `c1`'s opening, each checked by the write side's rules, recorded a minute apart."""
    course = Course("c1")
    records: list[Recorded] = []
    for event in [_opening("c1"), *events]:
        rules.check(course, event)
        position = len(records) + 1
        record = Recorded(uuid.UUID(int=position), position, T0 + timedelta(minutes=position), "p", event)  # type: ignore[arg-type]
        course.apply(record)
        records.append(record)
    return records


def test_on_time_to_the_microsecond_and_clocks_on_the_deadline() -> None:
    at = T0 + timedelta(hours=1)
    deadline = T0 + timedelta(days=20)
    tick = timedelta(microseconds=1)
    people = [
        e
        for s in ("s1", "s2", "s3")
        for e in (
            ev.ApplicationSubmitted(course="c1", at=at, student=s, name=s, email=s, programme="bachelor", prerequisite="ML"),
            ev.ApplicationAccepted(course="c1", at=at, student=s),
        )
    ]
    records = recorded(
        [
            *people,
            ev.AssignmentPublished(course="c1", at=at, assignment="A1", title="t", deadline=deadline),
            ev.SubmissionHandedIn(course="c1", at=deadline, assignment="A1", team=("s1",)),  # on time, just
            ev.SubmissionHandedIn(course="c1", at=deadline + tick, assignment="A1", team=("s2",)),  # late, just
        ]
    )
    model = spec_model.Model.of([json.loads(wire.encode_line(r)) for r in records], "c1", deadline + tick)
    assert [model.outcome(s, "A1") for s in ("s1", "s2", "s3")] == ["passed", "failed:late", "failed:missed_deadline"]
    agree(records, [Clock(deadline - tick), Clock(deadline), Clock(deadline + tick)])


def test_a_deadline_that_passed_before_admission_exempts() -> None:
    deadline = T0 + timedelta(days=3)
    application = ev.ApplicationSubmitted(
        course="c1", at=T0 + timedelta(hours=1), student="s1", name="s", email="e", programme="master", prerequisite="ML"
    )
    for accepted in (deadline, deadline + timedelta(microseconds=1)):
        records = recorded(
            [
                application,
                ev.AssignmentPublished(course="c1", at=T0 + timedelta(hours=2), assignment="A1", title="t", deadline=deadline),
                ev.ApplicationAccepted(course="c1", at=accepted, student="s1"),
            ]
        )
        agree(records, [Clock(deadline + timedelta(days=30))])


def test_the_model_is_not_the_code() -> None:
    """The model imports nothing of the project: a mistake there cannot be copied here."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(spec_model))
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "dataclasses", "datetime", "typing"}

"""A retraction is an append like any other (issue 7.5; ADR 0011).

It is refused, through the CLI as anywhere, when the course it leaves breaks
a rule: one line naming the rule, the student or assignment, and the event
that rests on what would be retracted; nothing written. Retracting what rests
on an event first, then the event, succeeds. The same holds for appends that
would take back an exam candidate's admission, and for the allocation rules
of SPEC §1.3 (issue 9.4).
"""

from __future__ import annotations

import pytest

from ledger.app import Ledger
from tests.cli_helpers import (
    ADA,
    AFTER_REGISTRATION_DEADLINE,
    ALAN,
    CLOSED_AT,
    COURSE,
    EMMY,
    EXAM_AT,
    GRACE,
    KURT,
    find,
    jsonl,
    semester,
)
from tests.test_refusals import UNALLOCATE, assert_import_refused, assert_refused, ok

MISTAKE = ("--reason", "recorded by mistake")


@pytest.fixture
def store(tmp_path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    return path


def record_id(store: str, type_name: str, **fields: str) -> str:
    ledger = Ledger(store)
    try:
        return str(find(list(ledger.records()), type_name, **fields).id)
    finally:
        ledger.close()


def retract_refused(store: str, target: str, rule: str, values: list[str]) -> str:
    return assert_refused(store, rule, [target, *values] if rule == "retract-erasure" else values, "retract", target, *MISTAKE)


# -- admission -------------------------------------------------------------------


def test_retracting_a_withdrawal_may_not_seat_more_than_capacity(store: str) -> None:
    """Issue 7.5: a withdrawal retracted after its seat was given away left 4 participants in 3 seats."""
    ok(store, "accept", ALAN)  # 3 of 3
    withdrawal = ok(store, "withdraw", GRACE, "--reason", "moved away")
    ok(store, "accept", KURT)  # late, but every on-time application is decided and a seat is free
    retract_refused(store, withdrawal, "capacity", [f"'{GRACE}'", "4 participants in 3 seats"])


def test_retracting_a_withdrawal_may_not_overfill_the_group(store: str) -> None:
    ok(store, "accept", ALAN)
    withdrawal = ok(store, "withdraw", GRACE, "--reason", "moved away", "--at", "2025-04-12T10:00+02:00")
    ok(store, "change-group", ALAN, "g1", "--reason", "late admission", "--at", "2025-04-12T11:00+02:00")
    retract_refused(store, withdrawal, "group-full", [f"'{GRACE}'", "'g1'", "3 into group", "capacity 2", "week 1"])


def test_retracting_an_acceptance_that_a_hand_in_rests_on(store: str) -> None:
    acceptance = record_id(store, "ApplicationAccepted", student=ADA)
    allocation = record_id(store, "GroupsAllocated")
    retract_refused(store, acceptance, "not-a-participant", [f"'{ADA}'", "group allocation", allocation])
    ok(store, "retract", allocation, *MISTAKE)
    hand_in = record_id(store, "SubmissionHandedIn", assignment="A01")
    retract_refused(store, acceptance, "not-a-participant", [f"'{ADA}'", "'A01'", hand_in])


def test_retracting_an_application_that_a_decision_rests_on(store: str) -> None:
    application = record_id(store, "ApplicationSubmitted", student=EMMY)
    rejection = record_id(store, "ApplicationRejected", student=EMMY)
    retract_refused(store, application, "unknown-student", [f"'{EMMY}'", "rejection", rejection])


def test_retracting_the_rejection_an_accepted_late_application_waited_for(store: str) -> None:
    rejection = ok(store, "reject", ALAN, "--reason", "prerequisite missing")
    acceptance = ok(store, "accept", KURT)
    retract_refused(store, rejection, "late-application", [f"'{ALAN}'", f"'{KURT}'", acceptance])


def test_retracting_a_decision_after_selection_closed(store: str) -> None:
    ok(store, "accept", ALAN)
    ok(store, "reject", KURT, "--reason", "late")
    erasure = ok(store, "erase-material")
    rejection = record_id(store, "ApplicationRejected", student=EMMY)
    retract_refused(store, rejection, "selection-open", [f"'{EMMY}'", erasure])
    retract_refused(store, erasure, "retract-erasure", ["keys are destroyed"])


# -- coursework and exam ----------------------------------------------------------


def test_retracting_a_hand_in_that_a_presentation_rests_on(store: str) -> None:
    presentation = ok(store, "present", "A01", ADA, "--outcome", "explained", "--at", "2025-04-17T11:10+02:00")
    hand_in = record_id(store, "SubmissionHandedIn", assignment="A01")
    retract_refused(store, hand_in, "no-hand-in", [f"'{ADA}'", "'A01'", presentation])


def test_retracting_a_publication_that_a_hand_in_rests_on(store: str) -> None:
    publication = record_id(store, "AssignmentPublished", assignment="A01")
    retract_refused(store, publication, "unknown-assignment", ["'A01'", "hand-in"])


def test_retracting_the_closing_that_an_exam_registration_rests_on(store: str) -> None:
    closing = ok(store, "close-coursework", "--at", CLOSED_AT)
    registration = ok(store, "register-exam", ADA, "--mode", "graded", "--at", EXAM_AT)
    retract_refused(store, closing, "coursework-open", [f"'{ADA}'", registration])


def test_retracting_the_registration_that_a_grade_rests_on(store: str) -> None:
    ok(store, "close-coursework", "--at", CLOSED_AT)
    registration = ok(store, "register-exam", ADA, "--mode", "graded", "--at", EXAM_AT)
    grade = ok(store, "grade", ADA, "2.3")
    retract_refused(store, registration, "not-registered", [f"'{ADA}'", grade])


def _candidate_on_the_edge(store: str) -> tuple[str, str]:
    """Grace registered with 2 fails (A01 absent, A03 missed); A02 passed only thanks to a moved deadline.

    The ids of Grace's exam registration and of the deadline change.
    """
    ok(store, "present", "A01", GRACE, "--outcome", "absent", "--at", "2025-04-17T11:10+02:00")
    ok(store, "hand-in", "A02", ADA, GRACE, "--at", "2025-04-21T12:00+02:00")  # 2 hours after A02's deadline
    moved = ok(store, "move-deadline", "A02", "--deadline", "2025-04-22T10:00+02:00", "--reason", "outage",
               "--at", "2025-04-21T13:00+02:00")  # fmt: skip
    ok(store, "close-coursework", "--at", CLOSED_AT)
    registration = ok(store, "register-exam", GRACE, "--mode", "graded", "--at", EXAM_AT)
    return registration, moved


def test_retracting_what_an_exam_candidates_admission_rests_on(store: str) -> None:
    registration, moved = _candidate_on_the_edge(store)
    values = [f"'{GRACE}'", registration, "3 failed", "A01:absent;A02:late;A03:missed_deadline"]
    retract_refused(store, moved, "excluded", values)
    excuse = ok(store, "excuse", GRACE, "A03", "--certificate", "AU-1", "--at", "2025-04-27T09:00+02:00")
    # With A03 excused, the deadline change may go; then the excuse may not.
    ok(store, "retract", moved, *MISTAKE)
    retract_refused(store, excuse, "excluded", [f"'{GRACE}'", "A01:absent;A02:late;A03:missed_deadline"])


def test_a_backdated_record_may_not_exclude_a_registered_candidate(store: str) -> None:
    registration, _ = _candidate_on_the_edge(store)
    assert_refused(
        store, "excluded", [f"'{GRACE}'", registration, "A02:absent"],
        "present", "A02", GRACE, "--outcome", "absent", "--at", "2025-04-24T11:10+02:00",
    )  # fmt: skip
    # Recorded as happening after the registration, it changes nothing the registration rested on.
    ok(store, "present", "A02", GRACE, "--outcome", "absent", "--at", "2025-07-17T11:10+02:00")


# -- groups ----------------------------------------------------------------------


def test_retracting_a_move_that_made_room(store: str) -> None:
    """Grace left g1 (from week 1), Alan was placed there; retracting her move would put 3 in g1."""
    move = ok(store, "change-group", GRACE, "g2", "--reason", "clash", "--at", "2025-04-15T12:00+02:00")
    ok(store, "accept", ALAN, "--at", "2025-04-18T11:00+02:00")
    ok(store, "change-group", ALAN, "g1", "--reason", "late admission", "--at", "2025-04-18T12:00+02:00")
    retract_refused(store, move, "group-full", [move, "'g1'", "3 into group", "capacity 2", "week 1"])


def test_allocating_before_the_registration_deadline_has_passed(store: str) -> None:
    line = {"type": "GroupsAllocated", "at": "2025-04-11T11:00:00+02:00", "allocation": {ADA: "g1"}}
    assert_import_refused(store, jsonl(UNALLOCATE, line), 2, "registration-open", ["2025-04-11T10:00:00+00:00"])


def test_allocating_twice_without_retracting_the_first(store: str) -> None:
    first = record_id(store, "GroupsAllocated")
    line = {"type": "GroupsAllocated", "at": AFTER_REGISTRATION_DEADLINE, "allocation": {ADA: "g2"}}
    assert_import_refused(store, jsonl(line), 1, "allocated-twice", [COURSE, first])


def test_an_imported_allocation_is_a_fact_optimal_or_not(store: str) -> None:
    """Ada and Grace both put g1 first; an allocation giving both g2 respects capacities and is accepted."""
    line = {"type": "GroupsAllocated", "at": AFTER_REGISTRATION_DEADLINE, "allocation": {ADA: "g2", GRACE: "g2"}}
    ok(store, "import", "-", input=jsonl(UNALLOCATE, line))
    ledger = Ledger(store)
    try:
        assert ledger.course(COURSE).allocation.event.allocation == {ADA: "g2", GRACE: "g2"}  # type: ignore[union-attr]
    finally:
        ledger.close()


# -- done in order, the same retractions succeed ----------------------------------------


def test_retracting_what_rests_on_an_event_first_succeeds(store: str) -> None:
    presentation = ok(store, "present", "A01", ADA, "--outcome", "explained", "--at", "2025-04-17T11:10+02:00")
    hand_in = record_id(store, "SubmissionHandedIn", assignment="A01")
    for target in (presentation, hand_in, record_id(store, "GroupsAllocated"), record_id(store, "ApplicationAccepted", student=ADA)):
        ok(store, "retract", target, *MISTAKE)
    ledger = Ledger(store)
    try:
        course = ledger.course(COURSE)
        assert course.participants() == [GRACE]
        assert course.hand_ins == {} and course.presentations == {} and course.allocation is None
    finally:
        ledger.close()


def test_every_event_type_says_what_rests_on_it() -> None:
    """A new event type must say, in ledger.retractions.CHECKS, what its retraction could break."""
    from ledger import events as ev
    from ledger import retractions

    assert set(retractions.CHECKS) == set(ev.EVENT_TYPES.values())

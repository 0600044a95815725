"""Transfer tasks (issue 11.2): the part of an assignment that 6-CP (master) participants must complete.

An assignment published with `transfer` lets an assessor record the verdict
`transfer_missing` for a master participant; it fails them with that reason,
after `insufficient_effort` in SPEC §5's order. It is refused for a bachelor
participant and for an assignment without a transfer part. Publications
without a transfer part are stored and written exactly as before the field
existed, so old stores restore to the same digest and old files re-import to
the same ids.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from ledger import coursework, invariants, rules, wire
from ledger import events as ev
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded
from tests.cli_helpers import ADA, GRACE, run, semester
from tests.test_extensions import add, refused

C = "c"
T0 = datetime(2025, 4, 1, 8, tzinfo=UTC)
DEADLINE = datetime(2025, 4, 14, 8, tzinfo=UTC)
HOUR = timedelta(hours=1)
LATER = DEADLINE + 100 * HOUR


def _course(*events: ev.Event, transfer: bool = True, handed_in: bool = True) -> Course:
    """m (master) and b (bachelor) admitted; A1 published (with a transfer part unless told), handed in by both."""
    base: list[ev.Event] = [
        ev.CourseOpened(course=C, at=T0, title="t", timezone="Europe/Berlin", capacity=5,
                        application_deadline=T0 + 24 * HOUR, registration_deadline=T0 + 48 * HOUR,
                        groups=(ev.Group("g1", "Thu 11:00", 5),)),
        ev.ApplicationSubmitted(course=C, at=T0 + HOUR, student="m", name="m", email="e", programme="master",
                                prerequisite="p"),
        ev.ApplicationSubmitted(course=C, at=T0 + HOUR, student="b", name="b", email="e", programme="bachelor",
                                prerequisite="p"),
        ev.ApplicationAccepted(course=C, at=T0 + 2 * HOUR, student="m"),
        ev.ApplicationAccepted(course=C, at=T0 + 2 * HOUR, student="b"),
        ev.AssignmentPublished(course=C, at=T0 + 3 * HOUR, assignment="A1", title="t", deadline=DEADLINE,
                               transfer=transfer),
    ]  # fmt: skip
    if handed_in:
        base.append(ev.SubmissionHandedIn(course=C, at=DEADLINE - HOUR, assignment="A1", team=("m", "b")))
    course = Course(C)
    for event in [*base, *events]:
        add(course, event)
    return course


def assessed(student: str, verdict: str, at: datetime = DEADLINE + 2 * HOUR) -> ev.SubmissionAssessed:
    return ev.SubmissionAssessed(course=C, at=at, assignment="A1", student=student, verdict=verdict)  # type: ignore[arg-type]


def presented(student: str, outcome: str) -> ev.PresentationRecorded:
    return ev.PresentationRecorded(course=C, at=DEADLINE + HOUR, assignment="A1", student=student, outcome=outcome)  # type: ignore[arg-type]


def result(course: Course, student: str) -> tuple[str, str]:
    o = coursework.outcome(course, student, "A1", LATER)
    return o.kind, o.reason


# -- the rule check ----------------------------------------------------------------------


def test_transfer_missing_fails_a_master_participant() -> None:
    course = _course(assessed("m", "transfer_missing"))
    assert result(course, "m") == ("failed", "transfer_missing")
    assert coursework.outcome(course, "m", "A1", LATER).rule == "assessed as transfer_missing"
    assert result(course, "b") == ("passed", "")


def test_transfer_missing_is_refused_for_a_bachelor_participant() -> None:
    with pytest.raises(Refused) as refused:
        rules.check(_course(), assessed("b", "transfer_missing"))
    assert refused.value.rule == "transfer-for-master"
    assert "'b'" in str(refused.value) and "bachelor" in str(refused.value)


def test_transfer_missing_is_refused_for_an_assignment_without_a_transfer_part() -> None:
    with pytest.raises(Refused) as refused:
        rules.check(_course(transfer=False), assessed("m", "transfer_missing"))
    assert refused.value.rule == "no-transfer-part"
    assert "'A1'" in str(refused.value)


@pytest.mark.parametrize("verdict", ["sufficient", "insufficient_effort", "uncited_copy"])
def test_other_verdicts_apply_to_everyone_on_any_assignment(verdict: str) -> None:
    for transfer in (True, False):
        rules.check(_course(transfer=transfer), assessed("b", verdict))


def test_transfer_missing_still_needs_a_hand_in() -> None:
    course = _course()
    add(course, ev.AssignmentPublished(course=C, at=T0, assignment="A2", title="t", deadline=DEADLINE, transfer=True))
    with pytest.raises(Refused, match="no-hand-in"):
        rules.check(course, ev.SubmissionAssessed(course=C, at=LATER, assignment="A2", student="m",
                                                  verdict="transfer_missing"))  # fmt: skip


# -- outcomes: SPEC §5's order ---------------------------------------------------------------


def test_the_latest_verdict_counts() -> None:
    course = _course(assessed("m", "transfer_missing"), assessed("m", "sufficient", DEADLINE + 3 * HOUR))
    assert result(course, "m") == ("passed", "")
    course = _course(assessed("m", "sufficient"), assessed("m", "transfer_missing", DEADLINE + 3 * HOUR))
    assert result(course, "m") == ("failed", "transfer_missing")


def test_transfer_missing_comes_before_a_failed_presentation() -> None:
    for outcome in ("failed_to_explain", "absent"):
        course = _course(presented("m", outcome), assessed("m", "transfer_missing"))
        assert result(course, "m") == ("failed", "transfer_missing")


def test_an_excuse_covers_a_missing_transfer_part() -> None:
    excuse = ev.ExcuseGranted(course=C, at=DEADLINE, student="m", assignments=("A1",), certificate="AU")
    assert result(_course(assessed("m", "transfer_missing"), excuse), "m") == ("excused", "")


def test_a_late_hand_in_is_late_whatever_the_verdict() -> None:
    late = ev.SubmissionHandedIn(course=C, at=DEADLINE + HOUR, assignment="A1", team=("m",))
    course = _course(late, assessed("m", "transfer_missing"), handed_in=False)
    assert result(course, "m") == ("failed", "late")


# -- retractions and republishing ------------------------------------------------------------


def test_a_retracted_transfer_verdict_no_longer_fails() -> None:
    course = _course()
    verdict = add(course, assessed("m", "transfer_missing"))
    add(course, ev.EventRetracted(course=C, at=LATER, event=verdict.id, reason="the transfer part was in a notebook"))
    assert result(course, "m") == ("passed", "")


def test_a_publication_with_a_transfer_verdict_cannot_be_retracted_nor_published_again() -> None:
    course = _course()
    add(course, assessed("m", "transfer_missing"))
    publication = course.assignments["A1"]
    with pytest.raises(Refused) as refused:
        rules.check(course, ev.EventRetracted(course=C, at=LATER, event=publication.id, reason="no transfer part"))
    assert refused.value.rule == "unknown-assignment"
    again = ev.AssignmentPublished(course=C, at=LATER, assignment="A1", title="t", deadline=DEADLINE)
    with pytest.raises(Refused, match="assignment-published-twice"):
        rules.check(course, again)


def test_republished_without_a_transfer_part_the_verdict_is_refused() -> None:
    course = _course(handed_in=False)
    publication = course.assignments["A1"]
    add(course, ev.EventRetracted(course=C, at=T0 + 4 * HOUR, event=publication.id, reason="no transfer part"))
    add(course, ev.AssignmentPublished(course=C, at=T0 + 5 * HOUR, assignment="A1", title="t", deadline=DEADLINE))
    add(course, ev.SubmissionHandedIn(course=C, at=DEADLINE - HOUR, assignment="A1", team=("m",)))
    with pytest.raises(Refused, match="no-transfer-part"):
        rules.check(course, assessed("m", "transfer_missing"))


def test_the_checker_reports_a_transfer_verdict_the_rules_would_have_refused() -> None:
    """An old or forged store: the view counts the verdict as recorded, the checker names the broken rules."""
    course = _course(transfer=False)
    forged = assessed("b", "transfer_missing")
    course.apply(Recorded(uuid.uuid4(), len(course.records) + 1, forged.at, "t", forged))
    assert result(course, "b") == ("failed", "transfer_missing")
    assert {v.rule for v in invariants.violations(C, course.records)} == {"no-transfer-part", "transfer-for-master"}


# -- the wire format: a field added without changing what was written before -------------------


def test_a_publication_without_a_transfer_part_is_written_as_before() -> None:
    published = ev.AssignmentPublished(course="idl-2025", at=datetime(2025, 4, 7, 10, tzinfo=UTC), assignment="A01",
                                       title="Linear regression", deadline=datetime(2025, 4, 14, 8, tzinfo=UTC))  # fmt: skip
    before = (
        '{"assignment":"A01","at":"2025-04-07T10:00:00Z","course":"idl-2025","deadline":"2025-04-14T08:00:00Z",'
        '"title":"Linear regression","type":"AssignmentPublished"}'
    )
    assert wire.canonical_encoder.encode(published).decode() == before
    assert wire.content_id(published) == uuid.uuid5(wire.ID_NAMESPACE, before)
    assert b"transfer" not in ev.envelope_encoder.encode(published)
    flagged = wire.line_encoder.encode(msgspec.structs.replace(published, transfer=True))
    assert json.loads(flagged)["transfer"] is True


def test_an_old_line_without_transfer_reads_as_no_transfer_part() -> None:
    line = wire.decode_line(
        '{"type":"AssignmentPublished","course":"c","at":"2025-04-07T10:00:00Z","assignment":"A1","title":"t",'
        '"deadline":"2025-04-14T08:00:00Z"}'
    )
    assert isinstance(line.event, ev.AssignmentPublished) and line.event.transfer is False


# -- the commands ---------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)  # Ada (master) and Grace (bachelor) handed in A01 together; A01–A03 without transfer parts
    assert run(path, "publish", "A04", "--title", "Transfer", "--deadline", "2025-05-05T10:00", "--transfer",
               "--at", "2025-04-28T12:00").exit_code == 0  # fmt: skip
    assert run(path, "hand-in", "A04", ADA, GRACE, "--at", "2025-05-04T10:00").exit_code == 0
    return path


def test_publish_with_transfer_is_on_the_wire(store: str) -> None:
    lines = [json.loads(line) for line in run(store, "export", "events").stdout.splitlines()]
    published = {line["assignment"]: line.get("transfer") for line in lines if line["type"] == "AssignmentPublished"}
    assert published == {"A01": None, "A02": None, "A03": None, "A04": True}
    log = run(store, "log", "--assignment", "A04", "--format", "csv").stdout
    assert "A04 'Transfer', deadline 2025-05-05T10:00:00+02:00, with a transfer part" in log


def test_assess_refuses_transfer_missing_with_the_rule_and_the_value(store: str) -> None:
    assert refused(store, "assess", "A04", GRACE, "--verdict", "transfer_missing") == (
        "error: refused by rule transfer-for-master: student '231002' is in a bachelor programme (5 credits); "
        "only master participants must complete the transfer part\n"
    )
    assert refused(store, "assess", "A01", ADA, "--verdict", "transfer_missing") == (
        "error: refused by rule no-transfer-part: assignment 'A01' was published without a transfer part; "
        "cannot assess '231001' as transfer_missing\n"
    )


def test_the_admission_export_and_the_gradebook_show_a_missing_transfer_part(store: str) -> None:
    assert run(store, "assess", "A04", ADA, "--verdict", "transfer_missing", "--note", "no ablation",
               "--at", "2025-05-08T11:00").exit_code == 0  # fmt: skip
    clock = ("--as-of", "2025-05-10T12:00", "--format", "csv")
    admission = run(store, "export", "admission", *clock).stdout.splitlines()
    assert admission[1].startswith("231001,Ada Lovelace,master,6,g1,1,0,3,0,excluded,")
    assert admission[1].endswith(",A02:missed_deadline;A03:missed_deadline;A04:transfer_missing")
    assert admission[2].endswith(",A02:missed_deadline;A03:missed_deadline")
    book = run(store, "export", "gradebook", *clock).stdout.splitlines()
    assert book[1:] == [
        "231001,Ada Lovelace,passed,failed:missed_deadline,failed:missed_deadline,failed:transfer_missing,",
        "231002,Grace Hopper,passed,failed:missed_deadline,failed:missed_deadline,passed,",
    ]
    explained = run(store, "explain", ADA, "--as-of", "2025-05-10T12:00").stdout
    assert "A04 failed: transfer_missing (assessed as transfer_missing)" in explained
    assert "A04 231001: transfer_missing (no ablation)" in explained

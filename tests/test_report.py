"""The rows the report's charts draw (read models, no browser).

One small semester serves every test: on-time, late and retracted hand-ins, a
failed presentation, a copied solution, an excuse, group changes on either side
of a session, a withdrawal, and an applicant whose name is a script.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from projections.fails import FailCount, fails_by_reason
from projections.reading import read
from projections.status import course_status
from projections.timeline import timelines
from projections.timing import hand_in_timing
from projections.weeks import GroupWeek, group_weeks
from tests.test_views import ADA, ALAN, EMMY, GRACE, Script

MALLORY = "231006"
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Mallory'
LATER = "2025-06-01T12:00:00+02:00"


def semester(store: str) -> None:
    """The report's semester (Script.semester, then the events below), recorded in `store`."""
    s = Script(store)
    s.semester()
    s.add("ApplicationSubmitted", "2025-03-20T10:00:00+01:00", student=MALLORY, name=HOSTILE,
          email="m@example.org", programme="bachelor", prerequisite="none", statement="")  # fmt: skip
    s.add("ApplicationAccepted", "2025-04-07T11:00:00+02:00", student=MALLORY)
    s.add("GroupChanged", "2025-04-12T10:00:00+02:00", student=MALLORY, group="g2", reason="late placement")
    s.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)  # 14 hours early
    s.hand_in("A01", "2025-04-14T08:00:00+02:00", MALLORY)
    s.hand_in("A01", "2025-04-14T16:00:00+02:00", ALAN)  # 6 hours late
    s.present("A01", ADA, "explained", "2025-04-17T11:10:00+02:00")
    s.hand_in("A02", "2025-04-20T10:00:00+02:00", ADA, GRACE)
    s.hand_in("A02", "2025-04-20T11:00:00+02:00", EMMY)
    s.hand_in("A02", "2025-04-20T12:00:00+02:00", MALLORY)
    s.add("ExcuseGranted", "2025-04-22T09:00:00+02:00", student=ALAN, assignments=["A03", "A04"], certificate="AU-1")
    s.add("GroupChanged", "2025-04-23T10:00:00+02:00", student=EMMY, group="g1", reason="clash")  # from Thu 24
    s.add("GroupChanged", "2025-04-24T12:00:00+02:00", student=GRACE, group="g2", reason="clash")  # from May 1
    s.present("A02", GRACE, "failed_to_explain", "2025-04-24T11:05:00+02:00")
    s.assess("A02", EMMY, "uncited_copy", "2025-04-24T12:30:00+02:00")
    s.hand_in("A03", "2025-04-27T10:00:00+02:00", ADA)
    copied = s.hand_in("A03", "2025-04-27T11:00:00+02:00", EMMY)
    s.hand_in("A03", "2025-04-27T12:00:00+02:00", MALLORY)
    s.add("EventRetracted", "2025-04-28T09:00:00+02:00", event=copied, reason="handed in for someone else")
    s.add("ApplicationWithdrawn", "2025-04-29T09:00:00+02:00", student=ALAN, reason="moved away")
    s.hand_in("A04", "2025-05-04T10:00:00+02:00", MALLORY)
    s.hand_in("A04", "2025-05-05T12:00:00+02:00", ADA, GRACE)  # 2 hours late
    s.flush()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("report") / "ledger.sqlite")
    semester(path)
    return path


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- the rows the charts draw --------------------------------------------------------


def test_fails_per_assignment_by_reason(store: str) -> None:
    reading = read(store, as_of=at(LATER))
    assert fails_by_reason(reading) == [
        FailCount("A01", "missed_deadline", 1),  # Emmy
        FailCount("A02", "uncited_copy", 1),  # Emmy
        FailCount("A02", "failed_to_explain", 1),  # Grace
        FailCount("A03", "missed_deadline", 2),  # Grace; Emmy, whose hand-in was retracted
        FailCount("A04", "late", 2),  # Ada and Grace
        FailCount("A04", "missed_deadline", 1),  # Emmy
    ]
    # The same participants as the status's counts (Alan withdrew: in neither).
    per_assignment = {a.assignment: a.failed for a in course_status(reading).assignments}
    assert per_assignment == {a: sum(f.count for f in fails_by_reason(reading) if f.assignment == a) for a in per_assignment}


def test_fails_follow_the_clock(store: str) -> None:
    assert fails_by_reason(read(store, as_of=at("2025-04-14T10:00:00+02:00"))) == []  # A01 open until then
    assert fails_by_reason(read(store, as_of=at("2025-04-14T10:00:01+02:00"))) == [FailCount("A01", "missed_deadline", 2)]


def test_hand_in_times_against_the_deadline(store: str) -> None:
    timing = hand_in_timing(read(store, as_of=at(LATER)))
    assert [(t.assignment, t.team, t.hours, t.on_time) for t in timing] == [
        ("A01", (ADA, GRACE), -14.0, True),
        ("A01", (MALLORY,), -2.0, True),
        ("A01", (ALAN,), 6.0, False),
        ("A02", (ADA, GRACE), -24.0, True),
        ("A02", (EMMY,), -23.0, True),
        ("A02", (MALLORY,), -22.0, True),
        ("A03", (ADA,), -24.0, True),  # Emmy's, retracted, is not there
        ("A03", (MALLORY,), -22.0, True),
        ("A04", (MALLORY,), -24.0, True),
        ("A04", (ADA, GRACE), 2.0, False),
    ]
    first = timing[0]
    assert (first.at.isoformat(), first.deadline.isoformat()) == ("2025-04-13T20:00:00+02:00", "2025-04-14T10:00:00+02:00")


def test_hand_in_times_before_a_deadline_change_are_against_the_new_one(store: str, tmp_path: Path) -> None:
    path = str(tmp_path / "moved.sqlite")
    semester(path)
    s = Script(path)
    s.add("DeadlineChanged", "2025-05-06T09:00:00+02:00", assignment="A04", deadline="2025-05-05T14:00:00+02:00",
          reason="server outage")  # fmt: skip
    s.flush()
    late = [t for t in hand_in_timing(read(path, as_of=at(LATER))) if t.assignment == "A04"]
    assert [(t.hours, t.on_time) for t in late] == [(-28.0, True), (-2.0, True)]


def test_group_sizes_by_week(store: str) -> None:
    weeks = group_weeks(read(store, as_of=at(LATER)))
    sessions = {w.week: w.session.isoformat() for w in weeks}
    # Week 1 is that of the first earlier session (Thu 11:00) after the registration deadline (Fri 11 April);
    # the weeks end with the last deadline's (5 May), the clock being later.
    assert sessions == {1: "2025-04-17T11:00:00+02:00", 2: "2025-04-24T11:00:00+02:00", 3: "2025-05-01T11:00:00+02:00"}
    assert [(w.week, w.group, w.members, w.capacity) for w in weeks] == [
        (1, "g1", 2, 5), (1, "g2", 3, 5),  # Ada, Grace | Alan, Emmy, Mallory (placed at once)
        (2, "g1", 3, 5), (2, "g2", 2, 5),  # Emmy moved on Wednesday: from Thursday's session on
        (3, "g1", 2, 5), (3, "g2", 2, 5),  # Grace moved after Thursday's session: from next week; Alan left
    ]  # fmt: skip


def test_group_weeks_end_at_the_clock(store: str) -> None:
    weeks = group_weeks(read(store, as_of=at("2025-04-24T11:00:00+02:00")))
    assert [(w.week, w.group, w.members) for w in weeks] == [(1, "g1", 2), (1, "g2", 3), (2, "g1", 3), (2, "g2", 2)]
    assert group_weeks(read(store, as_of=at("2025-04-17T10:59:00+02:00"))) == []  # before the first session
    assert isinstance(weeks[0], GroupWeek)


def test_timelines(store: str) -> None:
    found = {t.student: t for t in timelines(read(store, as_of=at(LATER)))}
    assert list(found) == [ADA, GRACE, ALAN, EMMY, MALLORY]  # everyone admitted, in order of application
    grace = found[GRACE]
    assert (grace.name, grace.status.standing.status, grace.status.standing.group) == ("Grace Hopper", "excluded", "g2")
    assert [(m.assignment, m.event, m.against) for m in grace.moments] == [
        ("", "ApplicationSubmitted", False),
        ("", "ApplicationAccepted", False),
        ("", "GroupsAllocated", False),
        ("A01", "SubmissionHandedIn", False),
        ("A02", "SubmissionHandedIn", False),
        ("", "GroupChanged", False),
        ("A02", "PresentationRecorded", True),
        ("A04", "SubmissionHandedIn", True),
    ]
    # A retracted event and the retraction are in no one's timeline; an excuse is on each row it covers.
    assert [m.event for m in found[EMMY].moments if m.assignment == "A03"] == []
    assert [(m.assignment, m.event) for m in found[ALAN].moments if m.event == "ExcuseGranted"] == [
        ("A03", "ExcuseGranted"), ("A04", "ExcuseGranted")
    ]  # fmt: skip
    assert found[ALAN].status.standing.status == "withdrawn"
    assert found[MALLORY].name == HOSTILE
    assert [a.outcome for a in found[MALLORY].status.assignments] == ["passed"] * 4

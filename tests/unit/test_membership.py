"""Who is in which exercise group, week by week (SPEC §1.3, ADR 11): `ledger.groups` on a folded course."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger import events as ev
from ledger.groups import Weeks, groups_at, groups_in_week, stints_in_week, week_of
from tests.unit.history import DAY, HOUR, NAME, WEEK_1, History

ADA, GRACE, ALAN = "231001", "231002", "231003"
WEEK = 7 * DAY


def _history() -> History:
    h = History()
    h.admit(ADA, GRACE, ALAN)
    h.allocate({ADA: "g1", GRACE: "g1", ALAN: "g2"})
    return h


def test_week_1_begins_at_the_first_earlier_session_after_the_registration_deadline() -> None:
    weeks = Weeks(_history().course().opened)  # type: ignore[arg-type]
    assert weeks.session(1) == WEEK_1
    assert weeks.of(WEEK_1 - 30 * DAY) == 1  # anything before week 1 belongs to it
    assert (weeks.of(WEEK_1 + WEEK - HOUR), weeks.of(WEEK_1 + WEEK)) == (1, 2)
    # Seven days of wall time: across the autumn DST change the session stays at 11:00 in Berlin.
    october = weeks.of(datetime(2025, 10, 23, 9, tzinfo=UTC))
    assert weeks.session(october + 1) == datetime(2025, 10, 30, 10, tzinfo=UTC)


def test_a_change_counts_from_the_first_week_whose_earlier_session_is_after_it() -> None:
    history = _history()
    history.add(ev.GroupChanged(course=NAME, at=WEEK_1 + DAY, student=ADA, group="g2", reason="job"))
    course = history.course()
    assert groups_in_week(course, 1)[ADA] == "g1"
    assert groups_in_week(course, 2)[ADA] == "g2"
    assert groups_at(course, WEEK_1 + WEEK) == {ADA: "g2", GRACE: "g1", ALAN: "g2"}
    stints = stints_in_week(course, 1)
    assert (stints[ADA].since, stints[ADA].until) == (1, 1)
    assert (stints[GRACE].group, stints[GRACE].until) == ("g1", None)


def test_a_withdrawn_student_is_in_no_group_in_any_week() -> None:
    history = _history()
    history.add(ev.ApplicationWithdrawn(course=NAME, at=WEEK_1 + DAY, student=ADA, reason="moved away"))
    course = history.course()
    for week in (1, 2, 5):
        assert ADA not in groups_in_week(course, week)
        assert ADA not in stints_in_week(course, week)
    assert groups_at(course, WEEK_1) == {GRACE: "g1", ALAN: "g2"}


def test_a_participant_never_placed_is_in_no_group_and_a_late_one_is_placed_by_a_change() -> None:
    history = _history()
    history.admit("231009", at=WEEK_1 + 2 * DAY)
    assert "231009" not in groups_at(history.course(), WEEK_1 + 3 * DAY)
    history.add(ev.GroupChanged(course=NAME, at=WEEK_1 + 3 * DAY, student="231009", group="g2", reason="late"))
    course = history.course()
    assert groups_at(course, WEEK_1 + 3 * DAY)["231009"] == "g2"  # placed at once: they had no group
    assert week_of(course, WEEK_1 + 3 * DAY) == 1


def test_no_group_before_the_course_is_open() -> None:
    history = _history()
    closed = History()
    closed.records = []  # nothing recorded: no opening
    assert groups_at(closed.course(), WEEK_1) == {}
    assert stints_in_week(closed.course(), 1) == {}
    assert groups_at(history.course(), WEEK_1)  # and something once it is

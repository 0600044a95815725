"""Time as SPEC §2 reads it: offsets kept exactly, local times read in the course's
zone, and a local time that does not exist or is ambiguous refused, never guessed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger import clock
from ledger.app import Ledger
from tests.cli_helpers import (
    ADA,
    ALAN,
    COURSE,
    GRACE,
    KURT,
    count,
    course_opened,
    jsonl,
    run,
    semester,
)

BERLIN = "Europe/Berlin"


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    return path


def exported(store: str, type_name: str) -> list[dict]:
    result = run(store, "export", "events")
    assert result.exit_code == 0, result.output
    return [line for line in map(json.loads, result.stdout.splitlines()) if line["type"] == type_name]


APPLY = ["apply", "231010", "--name", "Lise Meitner", "--email", "lise@st.ovgu.de",
         "--programme", "master", "--prerequisite", "ML"]  # fmt: skip


def test_at_with_an_offset_keeps_the_instant_to_the_microsecond(store: str) -> None:
    result = run(store, *APPLY, "--at", "2025-03-14T10:11:12.345678+05:30")
    assert result.exit_code == 0, result.output
    ledger = Ledger(store)
    try:
        at = ledger.course(COURSE).applications["231010"].submitted.event.at
    finally:
        ledger.close()
    assert at == datetime(2025, 3, 14, 4, 41, 12, 345678, tzinfo=UTC)
    assert at.utcoffset() == timedelta(0)  # stored in UTC
    (line,) = [e for e in exported(store, "ApplicationSubmitted") if e["student"] == "231010"]
    assert line["at"] == "2025-03-14T04:41:12.345678Z"


def test_at_without_an_offset_is_read_in_the_course_zone(store: str) -> None:
    # 2025-01-15 is winter (CET, +01:00); 2025-04-01 is summer (CEST, +02:00).
    result = run(store, "publish", "A09", "--title", "Transformers",
                 "--deadline", "2025-04-01T10:00", "--at", "2025-01-15T10:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    (line,) = [e for e in exported(store, "AssignmentPublished") if e["assignment"] == "A09"]
    assert line["deadline"] == "2025-04-01T08:00:00Z"
    assert line["at"] == "2025-01-15T09:00:00Z"


def test_the_zone_is_the_course_s_own(tmp_path: Path) -> None:
    store = str(tmp_path / "ny.sqlite")
    result = run(store, "open-course", "nyc-2025", "--title", "Deep Learning in NYC", "--capacity", "5",
                 "--application-deadline", "2025-04-01T10:00", "--registration-deadline", "2025-01-15T10:00",
                 "--group", "g1:Mon 09:00:5", "--timezone", "America/New_York",
                 "--at", "2025-03-01T09:00")  # fmt: skip
    assert result.exit_code == 0, result.output
    result = run(store, *APPLY, "--at", "2025-07-04T12:00")
    assert result.exit_code == 0, result.output
    (opened,) = exported(store, "CourseOpened")
    assert opened["application_deadline"] == "2025-04-01T14:00:00Z"  # EDT, -04:00
    assert opened["registration_deadline"] == "2025-01-15T15:00:00Z"  # EST, -05:00
    assert opened["at"] == "2025-03-01T14:00:00Z"
    (applied,) = exported(store, "ApplicationSubmitted")
    assert applied["at"] == "2025-07-04T16:00:00Z"


@pytest.mark.parametrize(
    "wall, words",
    [("2025-03-30T02:30", "does not exist"), ("2025-10-26T02:30", "ambiguous")],
    ids=["gap", "fold"],
)
@pytest.mark.parametrize(
    "command",
    [
        [*APPLY, "--at", "{t}"],
        ["publish", "A09", "--title", "T", "--deadline", "{t}", "--at", "2025-03-01T10:00+01:00"],
        ["move-deadline", "A01", "--deadline", "{t}", "--reason", "outage"],
    ],
    ids=["at", "deadline", "new-deadline"],
)
def test_a_local_time_that_does_not_exist_or_is_ambiguous_is_refused(
    store: str, command: list[str], wall: str, words: str
) -> None:
    before = count(store)
    result = run(store, *(arg.format(t=wall) for arg in command))
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: refused by rule time: "), lines[0]
    assert words in lines[0] and wall in lines[0] and BERLIN in lines[0]
    assert count(store) == before


def test_the_same_wall_times_with_an_offset_are_fine(store: str) -> None:
    result = run(store, *APPLY, "--at", "2025-10-26T02:30+01:00")  # the second 02:30 (CET)
    assert result.exit_code == 0, result.output
    result = run(store, "publish", "A09", "--title", "T", "--deadline", "2025-10-26T02:30+02:00")  # the first
    assert result.exit_code == 0, result.output
    (applied,) = [e for e in exported(store, "ApplicationSubmitted") if e["student"] == "231010"]
    assert applied["at"] == "2025-10-26T01:30:00Z"
    (published,) = [e for e in exported(store, "AssignmentPublished") if e["assignment"] == "A09"]
    assert published["deadline"] == "2025-10-26T00:30:00Z"


@pytest.mark.parametrize(
    "wall, words", [("2025-03-30T02:30:00", "does not exist"), ("2025-10-26T02:30:00", "ambiguous")]
)
def test_an_import_line_with_such_a_time_is_refused(store: str, wall: str, words: str) -> None:
    text = jsonl(
        {"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00", "student": ALAN},  # naive, exists: fine
        {"type": "ApplicationRejected", "at": wall, "student": KURT, "reason": "full"},
    )
    before = count(store)
    result = run(store, "import", "-", input=text)
    assert result.exit_code == 1, result.output
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: line 2: refused by rule time: ")
    assert words in errors[0] and wall in errors[0]
    assert errors[1] == "error: 1 bad line(s); nothing was imported"
    assert count(store) == before


def test_a_naive_import_line_is_read_in_the_course_zone(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    text = jsonl(course_opened(at="2025-01-15T10:00:00", application_deadline="2025-04-01T10:00:00"))
    assert run(store, "import", "-", input=text).exit_code == 0
    (opened,) = exported(store, "CourseOpened")
    assert (opened["at"], opened["application_deadline"]) == ("2025-01-15T09:00:00Z", "2025-04-01T08:00:00Z")


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01T10:00", "2025-04-01 10:00 CEST", ""])
def test_a_bad_instant_is_a_usage_error(store: str, bad: str) -> None:
    before = count(store)
    result = run(store, "accept", ALAN, "--at", bad)
    assert result.exit_code == 2, result.output
    assert "ISO 8601" in result.stderr
    assert "Traceback" not in result.output
    assert count(store) == before


def test_deadlines_are_inclusive_to_the_microsecond(store: str) -> None:
    """On time means at <= deadline: the registration deadline is 2025-04-11T12:00+02:00."""
    result = run(store, "prefer", ADA, "g2", "--at", "2025-04-11T12:00:00.000000+02:00")
    assert result.exit_code == 0, result.output
    result = run(store, "prefer", GRACE, "g2", "--at", "2025-04-11T12:00:00.000001+02:00")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: refused by rule registration-deadline:")


def test_an_application_at_the_deadline_is_on_time(store: str) -> None:
    """The application deadline is 2025-04-04T23:59+02:00; Alan (on time) is still undecided."""
    on_time = [*APPLY, "--at", "2025-04-04T23:59:00+02:00"]
    late = ["apply", "231011", *APPLY[2:], "--at", "2025-04-04T23:59:00.000001+02:00"]
    assert run(store, *on_time).exit_code == 0
    assert run(store, *late).exit_code == 0
    result = run(store, "accept", "231011")  # one microsecond late, while Alan is undecided
    assert result.exit_code == 1
    assert result.stderr.startswith("error: refused by rule late-application: '231011'")
    assert run(store, "accept", "231010").exit_code == 0  # on time: no need to wait for Alan


# -- clock.localize, as a property ---------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]
START, END = datetime(2020, 1, 1), datetime(2030, 12, 31, 23, 59, 59, 999999)


@cache
def transitions(name: str) -> tuple[datetime, ...]:
    """Local wall times (naive) on either side of each offset change in 2020–2030."""
    zi = ZoneInfo(name)
    found = []
    t = START.replace(tzinfo=UTC)
    stop = END.replace(tzinfo=UTC)
    step = timedelta(hours=6)
    while t < stop:
        before, after = t.astimezone(zi).utcoffset(), (t + step).astimezone(zi).utcoffset()
        if before != after:
            lo, hi = 0, int(step.total_seconds())  # seconds after t; hi: first with the new offset
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if (t + timedelta(seconds=mid)).astimezone(zi).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            hi = t + timedelta(seconds=hi)
            found += [(hi + before).replace(tzinfo=None), (hi + after).replace(tzinfo=None)]
        t += step
    return tuple(found)


def near_transition() -> st.SearchStrategy[tuple[str, datetime]]:
    zones = [z for z in ZONES if transitions(z)]
    return st.sampled_from(zones).flatmap(
        lambda z: st.tuples(
            st.just(z),
            st.builds(
                lambda wall, seconds: wall + timedelta(seconds=seconds),
                st.sampled_from(transitions(z)),
                st.integers(-7200, 7200),
            ),
        )
    )


anywhere = st.tuples(st.sampled_from(ZONES), st.datetimes(min_value=START, max_value=END))


def test_transitions_are_found() -> None:
    """The strategy near DST changes really is near them (else the property proves little)."""
    assert datetime(2025, 3, 30, 2, 0) in transitions(BERLIN)
    assert datetime(2025, 10, 26, 3, 0) in transitions(BERLIN)
    assert len(transitions("Australia/Lord_Howe")) == 2 * 2 * 11
    assert transitions("Asia/Kolkata") == ()


@settings(max_examples=300, deadline=None)
@given(st.one_of(anywhere, near_transition()))
@example((BERLIN, datetime(2025, 3, 30, 2, 30)))
@example((BERLIN, datetime(2025, 10, 26, 2, 30)))
@example(("Australia/Lord_Howe", datetime(2025, 4, 6, 1, 45)))
def test_localize_round_trips_or_refuses(case: tuple[str, datetime]) -> None:
    name, moment = case
    zi = ZoneInfo(name)
    first, second = moment.replace(tzinfo=zi, fold=0), moment.replace(tzinfo=zi, fold=1)
    skipped = first.astimezone(UTC).astimezone(zi).replace(tzinfo=None) != moment
    twice = not skipped and first.utcoffset() != second.utcoffset()
    try:
        result = clock.localize(moment, name)
    except clock.BadInstant as error:
        assert skipped or twice, f"{moment} exists once in {name}, yet was refused"
        assert ("does not exist" if skipped else "ambiguous") in str(error)
        return
    assert not (skipped or twice), f"{moment} in {name} was guessed as {result}"
    assert result.tzinfo is UTC
    assert result.astimezone(zi).replace(tzinfo=None) == moment


@given(
    st.datetimes(
        min_value=START,
        max_value=END,
        timezones=st.sampled_from([ZoneInfo(z) for z in ZONES] + [timezone(timedelta(hours=-3, minutes=-30))]),
    ),
    st.sampled_from(ZONES),
)
def test_localize_keeps_the_instant_of_an_aware_time(moment: datetime, name: str) -> None:
    result = clock.localize(moment, name)
    assert result.tzinfo is UTC
    # The instant an aware time names is its wall time minus its offset (whatever `name` says).
    offset = moment.utcoffset()
    assert offset is not None
    assert result.replace(tzinfo=None) == moment.replace(tzinfo=None) - offset


def test_parse_instant() -> None:
    assert clock.parse_instant(" 2025-04-01T10:00 ", BERLIN) == datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
    assert clock.parse_instant("2025-04-01T10:00Z", BERLIN) == datetime(2025, 4, 1, 10, 0, tzinfo=UTC)
    with pytest.raises(clock.BadInstant, match="not an ISO 8601 instant"):
        clock.parse_instant("next tuesday", BERLIN)
    with pytest.raises(clock.BadInstant, match="unknown time zone"):
        clock.parse_instant("2025-04-01T10:00", "Mars/Olympus")

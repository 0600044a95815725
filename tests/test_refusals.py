"""Every refusal of SPEC §4 (and of ledger/rules.py), through the CLI.

Each refusal must: exit 1, print ONE line `error: refused by rule <rule>: …` that
names the offending value, print no traceback, and write nothing. A valid run of
the same commands succeeds, so these tests cannot pass by refusing everything.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest

from ledger import clock, wire
from ledger.app import Ledger
from ledger.groups import groups_at
from tests.cli_helpers import (
    ADA,
    AFTER_REGISTRATION_DEADLINE,
    ALAN,
    BEFORE_REGISTRATION_DEADLINE,
    CLOSED_AT,
    COURSE,
    DECIDED_AT,
    EMMY,
    EXAM_AT,
    GRACE,
    KURT,
    STRANGER,
    count,
    course_opened,
    find,
    jsonl,
    run,
    semester,
    semester_lines,
)

RECORDED = re.compile(r"^recorded (\w+) at position (\d+) \(id ([0-9a-f-]{36})\)$")


@pytest.fixture
def store(tmp_path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    return path


def ok(store: str, *args: str, input: str | None = None) -> str:
    """Run a command that must succeed; the id of what it recorded (if one line)."""
    result = run(store, *args, input=input)
    assert result.exit_code == 0, (args, result.output)
    match = RECORDED.match(result.stdout.splitlines()[0] if result.stdout else "")
    return match.group(3) if match else ""


def assert_refused(store: str, rule: str, values: list[str], *args: str) -> str:
    """Run `args`; it must be refused by `rule` naming `values`, writing nothing."""
    before = count(store)
    result = run(store, *args)
    assert result.exit_code == 1, (args, result.output)
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(f"error: refused by rule {rule}: "), line
    for value in values:
        assert value in line, (value, line)
    assert count(store) == before
    return line


def assert_import_refused(store: str, text: str, line_no: int, rule: str, values: list[str]) -> None:
    """Import `text` from stdin; exactly line `line_no` is refused by `rule`, nothing written."""
    before = count(store)
    result = run(store, "import", "-", input=text)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"error: line {line_no}: refused by rule {rule}: "), lines[0]
    for value in values:
        assert value in lines[0], (value, lines[0])
    assert lines[1] == "error: 1 bad line(s); nothing was imported"
    assert count(store) == before


GROUPS = ("--group", "g1:Thu 11:00:2", "--group", "g2:Fri 13:00:2")
OPEN = (
    "--title", "Machine Learning", "--capacity", "10",
    "--application-deadline", "2025-04-04T23:59+02:00",
    "--registration-deadline", "2025-04-11T12:00+02:00",
)  # fmt: skip

# (setup commands that must succeed, refused command, rule, offending values)
CASES = {
    "unknown-course": ([], ["--course", "ml-2025", "accept", ADA], "unknown-course", ["'ml-2025'"]),
    "unknown-student/accept": ([], ["accept", STRANGER], "unknown-student", [f"'{STRANGER}'"]),
    "unknown-student/team": ([], ["hand-in", "A02", ADA, STRANGER], "unknown-student", [f"'{STRANGER}'"]),
    "unknown-student/prefer": (
        [], ["prefer", STRANGER, "g1", "--at", BEFORE_REGISTRATION_DEADLINE], "unknown-student", [f"'{STRANGER}'"],
    ),
    "unknown-assignment/hand-in": ([], ["hand-in", "A99", ADA], "unknown-assignment", ["'A99'"]),
    "unknown-assignment/move-deadline": (
        [], ["move-deadline", "A99", "--deadline", "2025-05-01T10:00+02:00", "--reason", "outage"],
        "unknown-assignment", ["'A99'"],
    ),
    "unknown-assignment/excuse": (
        [], ["excuse", ADA, "A99", "--certificate", "AU-1"], "unknown-assignment", ["'A99'"],
    ),
    "unknown-assignment/present": (
        [], ["present", "A99", ADA, "--outcome", "explained"], "unknown-assignment", ["'A99'"],
    ),
    "unknown-group/change": ([], ["change-group", ADA, "g9", "--reason", "clash"], "unknown-group", ["'g9'"]),
    "unknown-group/prefer": (
        [], ["prefer", ADA, "g2", "g9", "--at", BEFORE_REGISTRATION_DEADLINE], "unknown-group", ["'g9'"],
    ),
    "course-opened-twice": ([], ["open-course", COURSE, *OPEN, *GROUPS], "course-opened-twice", [f"'{COURSE}'"]),
    "opening/repeated-group": (
        [], ["open-course", "ml-2025", *OPEN, "--group", "g1:Mon 10:00:5", "--group", "g1:Tue 10:00:5"],
        "repeated-group", ["'g1'"],
    ),
    "opening/group-capacity": (
        [], ["open-course", "ml-2025", *OPEN, "--group", "g1:Mon 10:00:0"], "group-capacity", ["'g1'", "capacity 0"],
    ),
    "capacity": ([["accept", ALAN]], ["accept", KURT], "capacity", [f"'{KURT}'", "all 3 seats"]),
    "late-application": ([], ["accept", KURT], "late-application", [f"'{KURT}'", f"'{ALAN}'"]),
    "decided-twice/accept-accepted": ([], ["accept", ADA], "decided-twice", [f"'{ADA}'", "accepted"]),
    "decided-twice/accept-rejected": ([], ["accept", EMMY], "decided-twice", [f"'{EMMY}'", "rejected"]),
    "decided-twice/reject-rejected": (
        [], ["reject", EMMY, "--reason", "again"], "decided-twice", [f"'{EMMY}'", "rejected"],
    ),
    "decided-twice/withdraw-withdrawn": (
        [["withdraw", GRACE, "--reason", "moved"]], ["withdraw", GRACE, "--reason", "moved"],
        "decided-twice", [f"'{GRACE}'", "withdrawn"],
    ),
    "decided-twice/accept-withdrawn": (
        [["withdraw", ALAN, "--reason", "moved"]], ["accept", ALAN], "decided-twice", [f"'{ALAN}'", "withdrawn"],
    ),
    "applied-twice": (
        [],
        ["apply", ADA, "--name", "Ada L.", "--email", "a@x.de", "--programme", "master", "--prerequisite", "ML"],
        "applied-twice", [f"'{ADA}'"],
    ),
    "repeated-group/prefer": (
        [], ["prefer", ADA, "g2", "g2", "--at", BEFORE_REGISTRATION_DEADLINE], "repeated-group", ["'g2'", f"'{ADA}'"],
    ),
    "registration-deadline": (
        [], ["prefer", ADA, "g2", "--at", AFTER_REGISTRATION_DEADLINE],
        "registration-deadline", [f"'{ADA}'", "2025-04-12T08:00:00+00:00"],
    ),
    "group-full": (
        [["accept", ALAN]], ["change-group", ALAN, "g1", "--reason", "friends"], "group-full", ["'g1'", f"'{ALAN}'"],
    ),
    "not-a-participant/change-group": (
        [], ["change-group", ALAN, "g2", "--reason", "late"], "not-a-participant", [f"'{ALAN}'"],
    ),
    "team-too-large": ([], ["hand-in", "A02", ADA, GRACE, ALAN, EMMY], "team-too-large", ["team of 4", "'A02'"]),
    "team-repeats": ([], ["hand-in", "A02", ADA, GRACE, ADA], "team-repeats", [f"'{ADA}'"]),
    "not-a-participant/team": ([], ["hand-in", "A02", ADA, EMMY], "not-a-participant", [f"'{EMMY}'"]),
    "two-teams": ([], ["hand-in", "A01", ADA], "two-teams", [f"'{ADA}'", "'A01'"]),
    "no-hand-in/present": (
        [], ["present", "A02", ADA, "--outcome", "explained"], "no-hand-in", [f"'{ADA}'", "'A02'"],
    ),
    "no-hand-in/assess": (
        [], ["assess", "A02", GRACE, "--verdict", "sufficient"], "no-hand-in", [f"'{GRACE}'", "'A02'"],
    ),
    "no-hand-in/assess-non-team-member": (
        [["accept", ALAN]], ["assess", "A01", ALAN, "--verdict", "uncited_copy"], "no-hand-in", [f"'{ALAN}'", "'A01'"],
    ),
    "certificate-required/empty": (
        [], ["excuse", ADA, "A02", "--certificate", ""], "certificate-required", [f"'{ADA}'"],
    ),
    "certificate-required/blank": (
        [], ["excuse", ADA, "A02", "--certificate", "   "], "certificate-required", [f"'{ADA}'"],
    ),
    "not-a-participant/excuse": (
        [], ["excuse", EMMY, "A02", "--certificate", "AU-7"], "not-a-participant", [f"'{EMMY}'"],
    ),
    "assignment-published-twice": (
        [], ["publish", "A01", "--title", "again", "--deadline", "2025-06-01T10:00+02:00"],
        "assignment-published-twice", ["'A01'"],
    ),
    "coursework-open": (
        [], ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT], "coursework-open", [f"'{ADA}'"],
    ),
    "coursework-closed-twice": (
        [["close-coursework", "--at", CLOSED_AT]], ["close-coursework"], "coursework-closed-twice", [f"{COURSE}"],
    ),
    "excluded": (
        [
            ["present", "A01", GRACE, "--outcome", "absent", "--at", "2025-04-17T11:00+02:00"],
            ["close-coursework", "--at", CLOSED_AT],
        ],
        ["register-exam", GRACE, "--mode", "graded", "--at", EXAM_AT],
        "excluded",
        [f"'{GRACE}'", "failed 3", "A01:absent;A02:missed_deadline;A03:missed_deadline"],
    ),
    "registered-twice": (
        [["close-coursework", "--at", CLOSED_AT], ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT]],
        ["register-exam", ADA, "--mode", "certificate"], "registered-twice", [f"'{ADA}'"],
    ),
    "not-a-participant/exam": (
        [["close-coursework", "--at", CLOSED_AT]], ["register-exam", EMMY, "--mode", "graded"],
        "not-a-participant", [f"'{EMMY}'"],
    ),
    "grade-scale": (
        [["close-coursework", "--at", CLOSED_AT], ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT]],
        ["grade", ADA, "1.5"], "grade-scale", ["grade 1.5"],
    ),
    "grade-scale/below": (
        [["close-coursework", "--at", CLOSED_AT], ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT]],
        ["grade", ADA, "0.7"], "grade-scale", ["grade 0.7"],
    ),
    "not-registered": (
        [["close-coursework", "--at", CLOSED_AT], ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT]],
        ["grade", GRACE, "2.0"], "not-registered", [f"'{GRACE}'"],
    ),
    "selection-open": ([], ["erase-material"], "selection-open", [f"'{ALAN}'", "1 more"]),
}  # fmt: skip


@pytest.mark.parametrize("setup, args, rule, values", list(CASES.values()), ids=list(CASES))
def test_cli_refuses(store: str, setup: list[list[str]], args: list[str], rule: str, values: list[str]) -> None:
    for command in setup:
        ok(store, *command)
    assert_refused(store, rule, values, *args)


def _allocation_id() -> str:
    """The id the semester's allocation gets on import (derived from its content)."""
    line = next(e for e in semester_lines() if e["type"] == "GroupsAllocated")
    event = wire.localize(wire.decode_line(json.dumps({"course": COURSE, **line})).event, "Europe/Berlin")
    return str(wire.content_id(event))


# Before another allocation is even considered, the semester's own must be retracted.
UNALLOCATE = {"type": "EventRetracted", "at": "2025-04-11T14:00:00+02:00", "event": _allocation_id(), "reason": "redo"}

# Refusals the CLI cannot even express (it demands ≥1 name, a capacity ≥1, …), via `import -`.
IMPORT_CASES = {
    "team-empty": (
        [{"type": "SubmissionHandedIn", "at": "2025-04-20T10:00:00+02:00", "assignment": "A02", "team": []}],
        "team-empty", ["'A02'"],
    ),
    "group-capacity/allocation": (
        [
            UNALLOCATE,
            {"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN},
            {"type": "GroupsAllocated", "at": "2025-04-11T13:00:00+02:00", "seed": 1,
             "allocation": {ADA: "g2", GRACE: "g2", ALAN: "g2"}},
        ],
        "group-capacity", ["'g2'", "puts 3"],
    ),
    "not-a-participant/allocation": (
        [UNALLOCATE, {"type": "GroupsAllocated", "at": "2025-04-11T13:00:00+02:00", "allocation": {ADA: "g2", EMMY: "g2"}}],
        "not-a-participant", [f"'{EMMY}'"],
    ),
    "unknown-group/allocation": (
        [UNALLOCATE, {"type": "GroupsAllocated", "at": "2025-04-11T13:00:00+02:00", "allocation": {ADA: "g7"}}],
        "unknown-group", ["'g7'"],
    ),
    "unknown-group/no-preference": (
        [{"type": "GroupPreferenceRegistered", "at": BEFORE_REGISTRATION_DEADLINE, "student": ADA, "priorities": []}],
        "unknown-group", [f"'{ADA}'"],
    ),
    "unknown-assignment/excuse-names-none": (
        [{"type": "ExcuseGranted", "at": "2025-04-20T10:00:00+02:00", "student": ADA, "assignments": [],
          "certificate": "AU-1"}],
        "unknown-assignment", [f"'{ADA}'"],
    ),
    "unknown-course/import": (
        [{"type": "ApplicationAccepted", "course": "ml-2025", "at": DECIDED_AT, "student": ADA}],
        "unknown-course", ["'ml-2025'"],
    ),
    "unknown-student/erasure": (
        [
            {"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN},
            {"type": "ApplicationRejected", "at": "2025-04-08T10:00:00+02:00", "student": KURT, "reason": "full"},
            {"type": "ApplicationMaterialErased", "at": "2025-04-09T10:00:00+02:00", "students": [ADA, STRANGER]},
        ],
        "unknown-student", [f"'{STRANGER}'"],
    ),
    "capacity/opening": ([course_opened(course="ml-2025", capacity=0)], "capacity", ["got 0"]),
    "unknown-group/opening": ([course_opened(course="ml-2025", groups=[])], "unknown-group", ["no", "group"]),
    "course-settings/opening": (
        [course_opened(course="ml-2025", max_team_size=0)], "course-settings", ["max_team_size 0"],
    ),
    "time/unknown-timezone": (
        [course_opened(course="ml-2025", timezone="Mars/Olympus")], "time", ["'Mars/Olympus'"],
    ),
    "slot/opening": (
        [course_opened(course="ml-2025", groups=[{"id": "g1", "slot": "sometime", "capacity": 2}])],
        "slot", ["'sometime'"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("events, rule, values", list(IMPORT_CASES.values()), ids=list(IMPORT_CASES))
def test_import_refuses(store: str, events: list[dict], rule: str, values: list[str]) -> None:
    assert_import_refused(store, jsonl(*events), len(events), rule, values)


# -- retractions (they need the ids of what they retract) ----------------------


def _preference_id(store: str) -> str:
    ledger = Ledger(store)
    try:
        return str(find(list(ledger.records()), "GroupPreferenceRegistered", student=GRACE).id)
    finally:
        ledger.close()


def test_retract_unknown_event(store: str) -> None:
    unknown = str(uuid.UUID("0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e"))
    assert_refused(store, "retract-unknown", [unknown], "retract", unknown, "--reason", "typo")


def test_retract_twice(store: str) -> None:
    target = _preference_id(store)
    ok(store, "retract", target, "--reason", "entered for the wrong student")
    assert_refused(store, "retracted-twice", [target], "retract", target, "--reason", "again")


def test_retract_a_retraction(store: str) -> None:
    target = _preference_id(store)
    retraction = ok(store, "retract", target, "--reason", "entered for the wrong student")
    assert retraction and retraction != target
    assert_refused(store, "retract-retraction", [retraction], "retract", retraction, "--reason", "undo")


def test_retract_the_opening(store: str) -> None:
    opening = str(find(list(Ledger(store).records()), "CourseOpened").id)
    assert_refused(store, "retract-opening", [opening], "retract", opening, "--reason", "wrong capacity")


def test_erase_twice(store: str) -> None:
    ok(store, "accept", ALAN)
    ok(store, "reject", KURT, "--reason", "late and full")
    ok(store, "erase-material")
    assert_refused(store, "nothing-to-erase", ["idl-2025"], "erase-material")


def test_withdraw_after_rejection(store: str) -> None:
    assert_refused(store, "decided-twice", [EMMY, "rejected"], "withdraw", EMMY, "--reason", "changed mind")


def test_keys_only_on_applications(store: str) -> None:
    line = '{"type": "ApplicationAccepted", "course": "idl-2025", "at": "2025-04-02T10:00:00+02:00", '
    line += '"student": "231003", "keys": {"identity": "AAAA"}}\n'
    assert_import_refused(store, line, 1, "wrong-field", ["ApplicationAccepted"])


def test_retract_needs_an_event_id(store: str) -> None:
    before = count(store)
    result = run(store, "retract", "not-a-uuid", "--reason", "x")
    assert result.exit_code == 2
    assert "not-a-uuid" in result.stderr
    assert count(store) == before


# -- the same commands, done right, succeed -------------------------------------


def test_valid_sequence_succeeds(store: str) -> None:
    excuse_id = None
    steps = [
        ["accept", ALAN],
        ["reject", KURT, "--reason", "no seats left"],
        ["prefer", ALAN, "g2", "g1", "--at", BEFORE_REGISTRATION_DEADLINE],
        ["change-group", ALAN, "g2", "--reason", "late admission"],
        ["change-group", GRACE, "g2", "--reason", "timetable clash"],
        ["change-group", ADA, "g1", "--reason", "stays"],
        ["publish", "A04", "--title", "CNNs", "--deadline", "2025-05-05T10:00+02:00", "--at", "2025-04-28T12:00+02:00"],
        ["move-deadline", "A02", "--deadline", "2025-04-22T10:00+02:00", "--reason", "server outage"],
        ["hand-in", "A02", ADA, GRACE, ALAN, "--at", "2025-04-20T18:00+02:00"],
        ["hand-in", "A02", GRACE, ADA, ALAN, "--at", "2025-04-21T09:00+02:00", "--digest", "sha256:ff"],
        ["present", "A02", ADA, "--outcome", "explained", "--at", "2025-04-24T11:10+02:00"],
        ["assess", "A02", GRACE, "--verdict", "sufficient", "--note", "fine"],
        ["excuse", ADA, "A03", "--certificate", "AU-2025-0412"],
        ["retract", "EXCUSE", "--reason", "certificate is for another week"],
        ["close-coursework", "--at", CLOSED_AT],
        ["register-exam", ADA, "--mode", "graded", "--at", EXAM_AT],
        ["register-exam", GRACE, "--mode", "certificate", "--at", EXAM_AT],
        ["grade", ADA, "1.7"],
        ["grade", GRACE, "4.0"],
        ["erase-material"],
        ["open-course", "ml-2025", *OPEN, *GROUPS],
    ]
    for step in steps:
        if step[:2] == ["retract", "EXCUSE"]:
            step = ["retract", str(excuse_id), *step[2:]]
        before = count(store)
        result = run(store, *step)
        assert result.exit_code == 0, (step, result.output)
        match = RECORDED.match(result.stdout.splitlines()[0])
        assert match, result.stdout
        assert int(match.group(2)) == before + 1
        assert count(store) == before + 1
        if step[0] == "excuse":
            excuse_id = match.group(3)
    ledger = Ledger(store)
    try:
        course = ledger.course(COURSE)
        assert set(course.participants()) == {ADA, GRACE, ALAN}
        # Alan (without a group) is placed at once; Grace moves from the next week's first session.
        assert {s for s, g in groups_at(course, clock.now()).items() if g == "g2"} == {ALAN}
        next_week = groups_at(course, clock.now() + timedelta(days=8))
        assert {s for s, g in next_week.items() if g == "g2"} == {GRACE, ALAN}
        assert course.excuses == {}  # retracted
        assert set(course.grades) == {ADA, GRACE}
        assert ledger.courses() == [COURSE, "ml-2025"]
    finally:
        ledger.close()

"""What every append path refuses whatever the course: empty ids, control characters, backdating, the future.

Each case goes through the CLI or an import, and on both stores where the
stores could differ; each is refused with one line naming the rule and the
value, and writes nothing. A valid neighbour of each case is accepted, so the
tests cannot pass by refusing everything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger import events as ev
from ledger import rules, text
from ledger.course import Course
from ledger.errors import Refused
from tests.cli_helpers import ADA, ALAN, COURSE, DECIDED_AT, count, jsonl, run, semester
from tests.test_refusals import assert_import_refused, assert_refused

_AT = datetime(2025, 4, 1, tzinfo=UTC)


@pytest.fixture
def store(sqlite_path: str) -> str:
    semester(sqlite_path)
    return sqlite_path


# -- ids: never empty, no control characters ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["accept", ""], "student"),
        (["accept", "   "], "student"),
        (["hand-in", "", ADA], "assignment"),
        (["hand-in", "A01", ADA, ""], "team"),
        (["change-group", ADA, "", "--reason", "r"], "group"),
    ],
    ids=["student", "blank-student", "assignment", "team-member", "group"],
)
def test_an_empty_id_is_refused_naming_its_field(store: str, args: list[str], field: str) -> None:
    result = run(store, *args)
    assert result.exit_code in (1, 2), result.output
    if result.exit_code == 1:
        assert result.stderr.startswith(f"error: refused by rule empty-id: {field} is empty"), result.stderr


def test_an_empty_group_in_an_opening_is_refused(sqlite_path: str) -> None:
    result = run(
        sqlite_path, "open-course", "c1", "--title", "T", "--capacity", "2",
        "--application-deadline", "2026-04-04T23:59", "--registration-deadline", "2026-04-11T12:00",
        "--group", ":Thu 11:00:2", "--at", "2026-03-01T10:00",
    )  # fmt: skip
    assert result.exit_code in (1, 2), result.output
    assert count(sqlite_path) == 0


def test_an_empty_id_in_an_import_line_names_the_line(store: str) -> None:
    line = {"type": "ApplicationSubmitted", "course": COURSE, "at": "2025-03-20T10:00:00+01:00", "student": "",
            "name": "N", "email": "n@x.org", "programme": "master", "prerequisite": "ML"}  # fmt: skip
    assert_import_refused(store, jsonl(line), 1, "empty-id", ["student is empty"])
    assert_import_refused(store, jsonl({**line, "student": "231009", "course": ""}), 1, "empty-id", ["course"])


@pytest.mark.parametrize("bad", ["\x1b", "\n", "\t", "\x7f"])
def test_a_control_character_in_an_id_is_refused(store: str, bad: str) -> None:
    assert_refused(store, "control-character", ["student", f"U+{ord(bad):04X}"], "accept", f"23{bad}1003")


def test_a_nul_in_an_id_is_refused_on_the_command_line_and_in_an_import_line(store: str) -> None:
    # No real argv holds a NUL: given in-process, it is bad usage before any rule is asked.
    before = count(store)
    refused = run(store, "accept", "23\x001003")
    assert refused.exit_code == 2 and "NUL" in refused.output and count(store) == before
    line = {"type": "ApplicationAccepted", "course": COURSE, "at": DECIDED_AT, "student": "23\x001003"}
    assert_import_refused(store, jsonl(line), 1, "control-character", ["student", "U+0000"])


def test_a_nul_in_free_text_is_refused_and_other_text_is_kept(store_url: str) -> None:
    semester(store_url)
    before = count(store_url)
    line = {"type": "ApplicationRejected", "course": COURSE, "at": DECIDED_AT, "student": ALAN, "reason": "full\x00"}
    refused = run(store_url, "import", "-", input=jsonl(line))
    assert refused.exit_code == 1 and "control-character" in refused.output and "reason" in refused.output
    assert count(store_url) == before
    # Tab and newline are text a person types: kept.
    assert run(store_url, "reject", ALAN, "--reason", "full\tsee\nmail", "--at", DECIDED_AT).exit_code == 0
    exported = run(store_url, "export", "events").stdout
    assert "full\\tsee\\nmail" in exported


def test_a_nul_in_a_restore_lines_recorded_by_is_refused(store: str, tmp_path: Path) -> None:
    lines = run(store, "export", "events").stdout.splitlines()
    first = json.loads(lines[0])
    first["recorded_by"] = "someone\x00"
    empty = str(tmp_path / "restored.sqlite")
    result = run(empty, "import", "-", input="\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert result.exit_code == 1 and "line 1" in result.stderr and "control-character" in result.stderr, result.output


def test_every_id_field_is_checked() -> None:
    """`text.ids_of` names every field of every event type that holds an id (checked on a sample of each)."""
    course = Course("c")
    assert ("course", "c") in list(text.ids_of(ev.CourseworkClosed(course="c", at=_AT)))
    allocated = ev.GroupsAllocated(course="c", at=_AT, allocation={"s1": "g1"})
    assert set(text.ids_of(allocated)) == {("course", "c"), ("allocation", "s1"), ("allocation", "g1")}
    excused = ev.ExcuseGranted(course="c", at=_AT, student="s1", assignments=("A1", ""), certificate="c")
    with pytest.raises(Refused, match="empty-id: assignments is empty"):
        rules.check(course, excused)


# -- the exam: no registration before the closing, no grade before the registration ----------


def test_a_registration_dated_before_the_closing_is_refused(store: str) -> None:
    from tests.cli_helpers import CLOSED_AT, EXAM_AT, GRACE

    assert run(store, "close-coursework", "--at", CLOSED_AT).exit_code == 0
    assert_refused(store, "coursework-open", [GRACE, "2025-07-14T23:59:59+02:00", "2025-07-15T00:00:00+02:00"],
                   "register-exam", GRACE, "--mode", "graded", "--at", "2025-07-14T23:59:59+02:00")  # fmt: skip
    assert run(store, "register-exam", GRACE, "--mode", "graded", "--at", CLOSED_AT).exit_code == 0  # at the closing
    assert_refused(store, "not-registered", [GRACE, "2025-07-14T10:00:00+02:00"], "grade", GRACE, "1.3",
                   "--at", "2025-07-14T10:00:00+02:00")  # fmt: skip
    assert run(store, "grade", GRACE, "1.3", "--at", EXAM_AT).exit_code == 0


# -- erasure: every application's material, a retracted one's too ----------------------------


def test_erasure_reaches_retracted_applications_and_a_later_one_is_erased_again(store: str) -> None:
    from ledger.app import Ledger
    from tests.cli_helpers import KURT

    ledger = Ledger(store)
    alan = ledger.course(COURSE).applications[ALAN].submitted
    ledger.close()
    assert (
        run(store, "retract", str(alan.id), "--reason", "sent twice", "--at", "2025-03-20T10:00:00+01:00").exit_code
        == 0
    )
    assert run(store, "reject", KURT, "--reason", "late", "--at", "2025-04-07T11:00:00+02:00").exit_code == 0
    assert run(store, "erase-material", "--at", "2025-04-08T10:00:00+02:00").exit_code == 0
    ledger = Ledger(store)
    try:
        course = ledger.course(COURSE)
        assert ALAN in course.erasures[-1].event.students  # type: ignore[union-attr]
        assert ledger.material_keys(COURSE, ALAN) == {} and course.holding_material() == []
    finally:
        ledger.close()
    assert_refused(store, "nothing-to-erase", [], "erase-material", "--at", "2025-04-09T10:00:00+02:00")
    # Alan applies again (his first application was retracted): his new material is erased by the next erasure.
    assert run(store, "apply", ALAN, "--name", "Alan T", "--email", "a@x.org", "--programme", "master",
               "--prerequisite", "ML", "--statement", "again", "--at", "2025-04-10T10:00:00+02:00").exit_code == 0  # fmt: skip
    assert run(store, "reject", ALAN, "--reason", "full", "--at", "2025-04-10T11:00:00+02:00").exit_code == 0
    assert run(store, "erase-material", "--at", "2025-04-10T12:00:00+02:00").exit_code == 0
    assert "Alan T" not in run(store, "export", "events").stdout
    assert run(store, "verify").exit_code == 0


# -- sealing depends on the field: `sealed` only into an empty store -------------------------


def test_a_sealed_field_into_a_store_with_events_is_refused(store_url: str) -> None:
    import base64

    semester(store_url)
    token = "sealed:v1:" + base64.urlsafe_b64encode(b"a statement written in plain text").decode()
    line = {"type": "ApplicationSubmitted", "course": COURSE, "at": "2025-03-20T10:00:00+01:00", "student": "231009",
            "name": "Mallory", "email": "m@x.org", "programme": "bachelor", "prerequisite": "ML",
            "statement": token}  # fmt: skip
    before = count(store_url)
    refused = run(store_url, "import", "-", input=jsonl({**line, "sealed": ["statement"]}))
    assert refused.exit_code == 1 and "line 1: refused by rule restore-empty-store" in refused.stderr, refused.output
    assert count(store_url) == before
    # Without `sealed`, the same text is material like any other: sealed, and erased with its key.
    assert run(store_url, "import", "-", input=jsonl(line)).exit_code == 0
    from ledger.app import Ledger

    ledger = Ledger(store_url)
    try:
        stored = ledger.course(COURSE).applications["231009"].event.statement
        assert stored != token and ledger.material_keys(COURSE, "231009")
    finally:
        ledger.close()


def test_the_postgres_kek_trigger_reads_a_stored_event_holding_a_nul(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written past the rules may hold a NUL in a text; the trigger that checks a course's first
    key-encryption key reads the event's course from it all the same (jsonb cannot hold NUL)."""
    monkeypatch.setattr(text, "check_text", lambda event, encoded=None: None)  # as a writer that skips the rules would
    opened = {"course": "c1", "type": "CourseOpened", "at": "2026-03-01T10:00:00+01:00", "title": "T",
              "timezone": "Europe/Berlin", "capacity": 2, "application_deadline": "2026-04-04T23:59:00+02:00",
              "registration_deadline": "2026-04-11T12:00:00+02:00",
              "groups": [{"id": "g1", "slot": "Thu 11:00", "capacity": 2}]}  # fmt: skip
    applied = {"course": "c1", "type": "ApplicationSubmitted", "at": "2026-03-02T10:00:00+01:00", "student": "100001",
               "name": "Ada", "email": "ada@example.org", "programme": "master", "prerequisite": "M\x00L"}  # fmt: skip
    result = run(fresh_postgres_url, "import", "-", input=jsonl(opened, applied))
    assert result.exit_code == 0, result.output
    assert count(fresh_postgres_url) == 2

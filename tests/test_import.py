"""Bulk import (SPEC §3, §4): all or nothing, idempotent, and a faithful restore."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ledger import vault
from ledger.app import Ledger
from tests.cli_helpers import (
    ADA,
    ALAN,
    COURSE,
    EMMY,
    GRACE,
    KURT,
    count,
    course_opened,
    jsonl,
    run,
    semester,
    semester_lines,
)


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "ledger.sqlite")
    semester(path)
    return path


def head(store: str) -> tuple[int, bytes | None]:
    ledger = Ledger(store)
    try:
        return ledger.head()
    finally:
        ledger.close()


def export(store: str) -> str:
    result = run(store, "export", "events")
    assert result.exit_code == 0, result.output
    return result.stdout


def test_bad_file_reports_every_bad_line_and_writes_nothing(store: str, tmp_path: Path) -> None:
    good = json.dumps(
        {"type": "ApplicationAccepted", "course": COURSE, "at": "2025-04-08T10:00:00+02:00", "student": ALAN}
    )
    lines = [
        good,  # 1: fine (and would be written, were the file not bad)
        '{"type": "ApplicationRejected", "course": "idl-2025", ',  # 2: malformed JSON
        json.dumps({"type": "ApplicationPostponed", "course": COURSE, "at": "2025-04-08T10:00:00+02:00"}),  # 3
        json.dumps({"type": "ApplicationRejected", "course": COURSE, "at": "2025-04-08T10:00:00+02:00",
                    "student": KURT, "reason": "late", "mood": "sorry"}),  # 4: unknown field
        json.dumps({"type": "ApplicationRejected", "course": COURSE, "at": "2025-04-08T10:00:00+02:00",
                    "student": 231005, "reason": "late"}),  # 5: wrong type
        "",  # 6: blank lines are skipped, but still counted
        json.dumps({"type": "ApplicationAccepted", "course": COURSE, "at": "2025-04-08T10:00:00+02:00",
                    "student": "777777"}),  # 7: broken rule
        json.dumps({"type": "ApplicationRejected", "course": COURSE, "at": "2025-04-08T10:00:00+02:00",
                    "student": KURT, "reason": "no seats left"}),  # 8: fine
    ]  # fmt: skip
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    before = head(store)

    result = run(store, "import", str(path))

    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    errors = result.stderr.splitlines()
    assert [re.match(r"error: line (\d+): ", e).group(1) for e in errors[:-1]] == ["2", "3", "4", "5", "7"]
    assert errors[0].startswith("error: line 2: malformed JSON")
    assert errors[1].startswith("error: line 3: unknown type") and "ApplicationPostponed" in errors[1]
    assert errors[2].startswith("error: line 4: wrong field") and "mood" in errors[2]
    assert errors[3].startswith("error: line 5: wrong field") and "$.student" in errors[3]
    assert errors[4].startswith("error: line 7: refused by rule unknown-student:") and "'777777'" in errors[4]
    assert errors[5] == "error: 5 bad line(s); nothing was imported"
    assert head(store) == before


def test_rule_breaking_lines_are_all_reported(store: str) -> None:
    """Rules are checked line after line on the state the earlier lines make."""
    text = jsonl(
        {"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN},  # fine: 3 of 3
        {"type": "ApplicationAccepted", "at": "2025-04-08T10:01:00+02:00", "student": KURT},  # over capacity
        {"type": "ApplicationAccepted", "at": "2025-04-08T10:02:00+02:00", "student": ALAN},  # twice
    )
    before = count(store)
    result = run(store, "import", "-", input=text)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: line 2: refused by rule capacity:") and f"'{KURT}'" in errors[0]
    assert errors[1].startswith("error: line 3: refused by rule decided-twice:") and f"'{ALAN}'" in errors[1]
    assert errors[2] == "error: 2 bad line(s); nothing was imported"
    assert count(store) == before


def test_dry_run_writes_nothing_and_says_what_it_would_append(store: str) -> None:
    text = jsonl(
        {"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN},
        {"type": "ApplicationRejected", "at": "2025-04-08T10:01:00+02:00", "student": KURT, "reason": "full"},
    )
    before = head(store)
    result = run(store, "import", "-", "--dry-run", input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("would append 2 events (positions 17-18); 0 already in the store")
    assert "ApplicationAccepted" in result.stdout and "ApplicationRejected" in result.stdout
    assert head(store) == before

    result = run(store, "import", "-", input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("appended 2 events (positions 17-18); 0 already in the store")
    assert count(store) == 18


def test_dry_run_of_a_bad_file_fails_like_the_import(store: str) -> None:
    text = jsonl({"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": KURT})
    result = run(store, "import", "-", "--dry-run", input=text)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: line 1: refused by rule late-application:")


def test_importing_the_same_file_twice_appends_nothing(tmp_path: Path) -> None:
    """Lines without `id` get one derived from their content."""
    path = tmp_path / "semester.jsonl"
    path.write_text(jsonl(*semester_lines()))
    store = str(tmp_path / "ledger.sqlite")

    first = run(store, "import", str(path))
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("appended 16 events (positions 1-16); 0 already in the store")
    exported = export(store)

    second = run(store, "import", str(path))
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("appended 0 events; 16 already in the store")
    assert count(store) == 16
    assert export(store) == exported

    # Also the export itself (explicit ids, opened material) imports as nothing new.
    third = run(store, "import", "-", input=exported)
    assert third.exit_code == 0, third.output
    assert third.stdout.startswith("appended 0 events; 16 already in the store")


def test_a_new_line_among_known_ones_is_appended_alone(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    text = jsonl(*semester_lines())
    assert run(store, "import", "-", input=text).exit_code == 0
    more = text + jsonl({"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN})
    result = run(store, "import", "-", input=more)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("appended 1 events (positions 17-17); 16 already in the store")


def test_an_existing_id_with_different_content_is_a_conflict(store: str) -> None:
    ledger = Ledger(store)
    try:
        rejected = next(r for r in ledger.records() if type(r.event).__name__ == "ApplicationRejected")
    finally:
        ledger.close()
    line = {
        "id": str(rejected.id),
        "type": "ApplicationRejected",
        "at": "2025-04-07T10:00:00+02:00",
        "student": EMMY,
        "reason": "a different reason",
    }
    before = count(store)
    result = run(store, "import", "-", input=jsonl(line))
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: line 1: refused by rule id-conflict:")
    assert str(rejected.id) in errors[0]
    assert count(store) == before

    # The very same content under that id is no conflict: it is already there.
    same = {**line, "reason": "prerequisite missing"}
    result = run(store, "import", "-", input=jsonl(same))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("appended 0 events; 1 already in the store")


def test_an_existing_id_in_another_course_is_a_conflict(store: str) -> None:
    ledger = Ledger(store)
    try:
        opened = next(ledger.records())
    finally:
        ledger.close()
    line = {"id": str(opened.id), **course_opened(course="ml-2025")}
    before = count(store)
    result = run(store, "import", "-", input=jsonl(line))
    assert result.exit_code == 1, result.output
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: line 1: refused by rule id-conflict:")
    assert str(opened.id) in errors[0] and "another course" in errors[0]
    assert count(store) == before


def test_dash_reads_stdin(store: str) -> None:
    text = jsonl({"type": "ApplicationAccepted", "at": "2025-04-08T10:00:00+02:00", "student": ALAN})
    result = run(store, "import", "-", input=text)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("appended 1 events (positions 17-17)")
    ledger = Ledger(store)
    try:
        assert ledger.course(COURSE).is_participant(ALAN)
    finally:
        ledger.close()


def test_restore_into_an_empty_store_is_byte_identical(store: str, tmp_path: Path) -> None:
    # Retractions and decisions, so that more than a bare course is restored.
    assert run(store, "accept", ALAN).exit_code == 0
    assert run(store, "reject", KURT, "--reason", "no seats left").exit_code == 0
    original = export(store)
    backup = tmp_path / "backup.jsonl"
    backup.write_text(original)

    restored = str(tmp_path / "restored.sqlite")
    result = run(restored, "import", str(backup))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("appended 18 events (positions 1-18)")

    again = export(restored)
    assert again == original
    assert head(restored) == head(store)
    lines = [json.loads(line) for line in again.splitlines()]
    assert [line["seq"] for line in lines] == list(range(1, 19))
    assert {line["recorded_by"] for line in lines} == {"tester"}
    # the material is readable again, under the very same keys
    submitted = [line for line in lines if line["type"] == "ApplicationSubmitted"]
    assert {line["name"] for line in submitted} >= {"Ada Lovelace", "Kurt Goedel"}
    assert all(set(line["keys"]) == {vault.IDENTITY, vault.STATEMENT} for line in submitted)


def test_restore_keeps_the_original_recorder_and_time(store: str, tmp_path: Path) -> None:
    original = export(store)
    restored = str(tmp_path / "restored.sqlite")
    result = run(restored, "--actor", "someone-else", "import", "-", input=original)
    assert result.exit_code == 0, result.output
    assert export(restored) == original  # recorded_by stays "tester", recorded_at as it was
    # whereas a plain import (no envelope) is recorded by whoever imports it
    fresh = str(tmp_path / "fresh.sqlite")
    result = run(fresh, "--actor", "someone-else", "import", "-", input=jsonl(*semester_lines()))
    assert result.exit_code == 0, result.output
    assert {json.loads(line)["recorded_by"] for line in export(fresh).splitlines()} == {"someone-else"}


def test_restore_into_a_non_empty_store_is_refused(store: str, tmp_path: Path) -> None:
    original = export(store)
    other = str(tmp_path / "other.sqlite")
    assert run(other, "import", "-", input=jsonl(course_opened(course="ml-2025"))).exit_code == 0

    result = run(other, "import", "-", input=original)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors[0].startswith("error: line 1: refused by rule restore-empty-store: seq, recorded_at, recorded_by and salt")
    assert "only in a restore into an empty store, and this one holds 1 events" in errors[0]
    assert errors[-1].startswith("error: ") and "nothing was imported" in errors[-1]
    assert count(other) == 1


def test_erased_material_stays_erased_after_restore(store: str, tmp_path: Path) -> None:
    for args in (["accept", ALAN], ["reject", KURT, "--reason", "no seats left"], ["erase-material"]):
        result = run(store, *args)
        assert result.exit_code == 0, result.output
    exported = export(store)
    for plain in ("Kurt Goedel", "Emmy Noether", "Statement of motivation"):
        assert plain not in exported, plain

    restored = str(tmp_path / "restored.sqlite")
    assert run(restored, "import", "-", input=exported).exit_code == 0
    again = export(restored)
    assert again == exported
    assert head(restored) == head(store)

    submitted = {
        line["student"]: line for line in map(json.loads, again.splitlines()) if line["type"] == "ApplicationSubmitted"
    }
    for student, line in submitted.items():
        assert line["statement"].startswith("sealed:v1:")
        if student in (ADA, GRACE, ALAN):  # admitted: name and email kept, under the identity key
            assert not line["name"].startswith("sealed:v1:")
            assert set(line["keys"]) == {vault.IDENTITY}
        else:  # never admitted: everything sealed, no key left anywhere
            assert line["name"].startswith("sealed:v1:") and line["email"].startswith("sealed:v1:")
            assert "keys" not in line
    ledger = Ledger(restored)
    try:
        course = ledger.course(COURSE)
        kurt = ledger.readable(COURSE, course.applications[KURT].submitted).event
        assert (kurt.name, kurt.email, kurt.statement) == (vault.ERASED,) * 3
        ada = ledger.readable(COURSE, course.applications[ADA].submitted).event
        assert (ada.name, ada.statement) == ("Ada Lovelace", vault.ERASED)
        assert ledger.material_keys(COURSE, KURT) == {}
    finally:
        ledger.close()

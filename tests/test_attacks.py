"""Attacks on subledger as it stood on main (task R): each finding is a test that fails today.

Every test is marked `xfail(strict=True)` with the number of its finding, so
the suite stays green while the finding is open, and turns red the day it is
fixed: then the marker must go, and the test guards the fix. Each says in one
line what a malicious or careless user can do.
"""

from __future__ import annotations

import base64
import json
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result

from ledger import events as ev
from ledger.app import Ledger, Pending, stream_id
from ledger.events import Envelope
from tests.cli_helpers import (
    ADA,
    ALAN,
    CLOSED_AT,
    COURSE,
    EXAM_AT,
    GRACE,
    KURT,
    count,
    jsonl,
    run,
    semester,
)
from tests.contract_helpers import found_in, store_files


def finding(number: int, what: str) -> pytest.MarkDecorator:
    """The marker of an open finding: the test fails until the finding is fixed."""
    return pytest.mark.xfail(strict=True, reason=f"finding {number}: {what}")


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _forge(store: str, event: ev.Event, recorded_at: datetime, recorded_by: str) -> None:
    """Append `event` as anyone who can write the store's tables can: through the store's own
    insert path (log row, leaf and head kept right), with an envelope of their choosing, no rule asked."""
    ledger = Ledger(store)
    try:
        version = len(ledger.course(event.course).records) + 1
        envelope = Envelope(uuid.uuid4(), recorded_at, recorded_by, event)
        pending = Pending(stream_id(event.course), version, envelope)
        ledger.events.put([pending], ids=[envelope.id], material=[], first_position=ledger.head()[0] + 1)
    finally:
        ledger.close()


# -- 1. erasure dodged by retracting the application ---------------------------------


def test_a_retracted_application_is_erased_like_any_other(store_url: str) -> None:
    semester(store_url)
    ledger = Ledger(store_url)
    alan = ledger.course(COURSE).applications[ALAN].submitted
    ledger.close()
    _ok(run(store_url, "retract", str(alan.id), "--reason", "sent twice", "--at", "2025-03-20T10:00:00+01:00"))
    _ok(run(store_url, "reject", KURT, "--reason", "late", "--at", "2025-04-07T11:00:00+02:00"))
    _ok(run(store_url, "erase-material"))
    ledger = Ledger(store_url)
    try:
        assert ledger.material_keys(COURSE, ALAN) == {}
    finally:
        ledger.close()
    exported = _ok(run(store_url, "export", "events")).output
    assert "Alan Turing" not in exported and "Statement of motivation of Alan" not in exported


# -- 2. an excluded student registers for the exam by backdating ------------------------


def test_a_backdated_exam_registration_of_an_excluded_student_is_refused(sqlite_path: str) -> None:
    semester(sqlite_path)  # Ada passed A01, handed in nothing else
    _ok(run(sqlite_path, "publish", "A04", "--title", "Week A04", "--deadline", "2025-05-05T10:00:00+02:00",
            "--at", "2025-04-07T12:00:00+02:00"))  # fmt: skip
    _ok(run(sqlite_path, "close-coursework", "--at", CLOSED_AT))
    refused = run(sqlite_path, "register-exam", ADA, "--mode", "graded", "--at", EXAM_AT)
    assert refused.exit_code == 1 and "excluded" in refused.output  # three fails: A02, A03, A04
    size = count(sqlite_path)
    backdated = run(sqlite_path, "register-exam", ADA, "--mode", "graded", "--at", "2025-04-20T10:00:00+02:00")
    assert backdated.exit_code == 1, backdated.output
    assert count(sqlite_path) == size


def test_a_grade_dated_before_its_registration_is_refused(sqlite_path: str) -> None:
    semester(sqlite_path)
    _ok(run(sqlite_path, "close-coursework", "--at", CLOSED_AT))
    _ok(run(sqlite_path, "register-exam", GRACE, "--mode", "graded", "--at", EXAM_AT))
    backdated = run(sqlite_path, "grade", GRACE, "1.0", "--at", "2025-01-01T10:00:00+01:00")
    assert backdated.exit_code == 1, backdated.output


# -- 3. erasure dodged with the `sealed` envelope field ----------------------------------


def test_text_named_sealed_in_a_new_line_is_sealed_and_erased(store_url: str) -> None:
    semester(store_url)
    secret = b"I have a chronic illness and this course is my last chance"
    token = "sealed:v1:" + base64.urlsafe_b64encode(secret).decode()
    line = {
        "type": "ApplicationSubmitted", "at": "2025-03-20T10:00:00+01:00", "student": "231009",
        "name": "Mallory", "email": "mallory@example.org", "programme": "bachelor",
        "prerequisite": "Machine Learning (passed)", "statement": token, "sealed": ["statement"],
    }  # fmt: skip
    run(store_url, "import", "-", input=jsonl(line))  # refused, or sealed: either is fine
    for student in (ALAN, KURT, "231009"):
        run(store_url, "reject", student, "--reason", "full", "--at", "2025-04-07T11:00:00+02:00")
    _ok(run(store_url, "erase-material"))
    assert found_in(store_files(store_url), [token.encode(), secret]) == []


# -- 4. terminal escapes from the ledger reach the terminal ------------------------------


@pytest.fixture
def hostile_store(sqlite_path: str) -> str:
    """A course whose title, an applicant's name and an assignment's title carry terminal escapes."""
    _ok(run(sqlite_path, "open-course", "c1", "--title", "T\x1b[2J\x1b]0;owned\x07", "--capacity", "2",
            "--application-deadline", "2026-04-04T23:59", "--registration-deadline", "2026-04-11T12:00",
            "--group", "g1:Thu 11:00:2", "--at", "2026-03-01T10:00"))  # fmt: skip
    _ok(run(sqlite_path, "apply", "100001", "--name", "Ada\x1b[31m", "--email", "a@x.org", "--programme", "master",
            "--prerequisite", "ML", "--at", "2026-03-02T10:00"))  # fmt: skip
    _ok(run(sqlite_path, "accept", "100001", "--at", "2026-04-06T10:00"))
    _ok(run(sqlite_path, "publish", "A01", "--title", "x\x1b[1m", "--deadline", "2026-04-20T10:00",
            "--at", "2026-04-07T10:00"))  # fmt: skip
    return sqlite_path


@pytest.mark.parametrize(
    "command",
    [
        ["status", "--format", "table"],
        ["explain", "100001"],
        ["export", "sheet", "--group", "g1", "--assignment", "A01", "--format", "table"],
    ],
    ids=["status", "explain", "sheet"],
)
def test_no_escape_sequence_from_the_ledger_reaches_the_terminal(hostile_store: str, command: list[str]) -> None:
    shown = _ok(run(hostile_store, *command)).output
    assert "\x1b" not in shown and "\x07" not in shown


# -- 5. empty ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["open-course", "", "--title", "T", "--capacity", "2", "--application-deadline", "2026-04-04T23:59",
         "--registration-deadline", "2026-04-11T12:00", "--group", "g1:Thu 11:00:2", "--at", "2026-03-01T10:00"],
        ["apply", "", "--name", "N", "--email", "n@x.org", "--programme", "master", "--prerequisite", "ML",
         "--at", "2025-03-20T10:00:00+01:00"],
        ["publish", "", "--title", "T", "--deadline", "2025-05-05T10:00:00+02:00", "--at", "2025-04-07T12:00:00+02:00"],
    ],
    ids=["course", "student", "assignment"],
)  # fmt: skip
def test_an_empty_id_is_refused(sqlite_path: str, command: list[str]) -> None:
    semester(sqlite_path)
    size = count(sqlite_path)
    refused = run(sqlite_path, *command)
    assert refused.exit_code in (1, 2), refused.output
    assert count(sqlite_path) == size


# -- 6. events dated in the future -------------------------------------------------------


def test_the_seats_the_rules_count_are_the_seats_the_views_show(sqlite_path: str) -> None:
    semester(sqlite_path)  # capacity 3, Ada and Grace admitted
    typo = run(sqlite_path, "accept", ALAN, "--at", "2095-04-07T10:00:00+02:00")  # 2095 for 2025
    if typo.exit_code == 0:
        shown = _ok(run(sqlite_path, "status", "--format", "table")).output
        assert "participants  3 of 3 seats" in shown, shown
    else:
        assert typo.exit_code == 1
    # Either way, what the views say is what the next decision is judged on. (The views are read
    # before it, and it is Alan's acceptance: Kurt applied late, and is refused while Alan is undecided
    # whatever the seats, so his acceptance could not tell.)
    admitted = _ok(run(sqlite_path, "export", "admission", "--format", "csv")).output
    late = run(sqlite_path, "accept", ALAN, "--at", "2025-04-08T10:00:00+02:00")
    assert (late.exit_code == 0) == (admitted.count("\n") - 1 < 3)


# -- 7. verify passes over what was appended behind the program's back -------------------


def test_verify_finds_an_appended_event_that_breaks_a_rule(sqlite_path: str) -> None:
    semester(sqlite_path)  # capacity 3: Ada and Grace admitted
    _ok(run(sqlite_path, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00"))
    fourth = ev.ApplicationAccepted(course=COURSE, at=datetime(2025, 4, 7, 9, tzinfo=UTC), student=KURT)
    _forge(sqlite_path, fourth, datetime.now(UTC), "professor")
    assert "4 of 3 seats" in _ok(run(sqlite_path, "status", "--format", "table")).output
    assert run(sqlite_path, "verify").exit_code == 1


def test_verify_finds_a_backdated_record(sqlite_path: str) -> None:
    semester(sqlite_path)
    rejected = ev.ApplicationRejected(course=COURSE, at=datetime(2025, 4, 7, 9, tzinfo=UTC), student=ALAN, reason="x")
    _forge(sqlite_path, rejected, datetime(2020, 1, 1, tzinfo=UTC), "professor")
    assert run(sqlite_path, "verify").exit_code == 1


@pytest.fixture
def writer_url(fresh_postgres_url: str) -> Iterator[str]:
    """The semester on a fresh database made by its owner, and the URL of a writer role (postgres-roles)."""
    import secrets
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    from ledger.store.roles import roles_sql
    from projections.runner import VIEW_TABLES

    semester(fresh_postgres_url)
    _ok(run(fresh_postgres_url, "rebuild"))
    suffix, password = secrets.token_hex(4), secrets.token_hex(8)
    writer, auditor = f"writer_{suffix}", f"auditor_{suffix}"
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        for role in (writer, auditor):
            conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(roles_sql(writer, auditor, maintained=VIEW_TABLES))
    parts = urlsplit(fresh_postgres_url)
    yield urlunsplit((parts.scheme, f"{writer}:{password}@{parts.hostname}:{parts.port or 5432}", parts.path, "", ""))
    with psycopg.connect(fresh_postgres_url, autocommit=True) as conn:
        for role in (writer, auditor):
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_writer_role_cannot_append_what_the_rules_refuse(writer_url: str) -> None:
    _ok(run(writer_url, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00"))
    fourth = ev.ApplicationAccepted(course=COURSE, at=datetime(2025, 4, 7, 9, tzinfo=UTC), student=KURT)
    from eventsourcing.persistence import PersistenceError

    try:
        _forge(writer_url, fourth, datetime(2020, 1, 1, tzinfo=UTC), "professor")
    except PersistenceError:
        return  # the database refusing it is one way to hold
    assert run(writer_url, "verify").exit_code == 1


# -- 8. exports that hold keys and names are world-readable ------------------------------


def test_an_events_export_is_readable_by_its_owner_only(sqlite_path: str, tmp_path: Path, lax_umask: None) -> None:
    semester(sqlite_path)
    backup = tmp_path / "backup.jsonl"
    _ok(run(sqlite_path, "export", "events", "-o", str(backup)))
    assert '"keys"' in backup.read_text() and "Ada Lovelace" in backup.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) & 0o077 == 0


# -- 9. keygen into an existing file -----------------------------------------------------


def test_keygen_never_leaves_a_private_key_readable_by_others(tmp_path: Path, lax_umask: None) -> None:
    private = tmp_path / "auditor.key"
    private.write_text("an older key\n")
    private.chmod(0o644)
    made = run(str(tmp_path / "unused.sqlite"), "keygen", str(private), str(tmp_path / "auditor.pub"))
    if made.exit_code == 0:
        assert stat.S_IMODE(private.stat().st_mode) & 0o077 == 0
    else:
        assert private.read_text() == "an older key\n"


# -- 10. a password in the store URL's query ---------------------------------------------


def test_an_error_never_shows_the_password_of_a_url_query(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setenv("POSTGRES_CONNECT_TIMEOUT", "1")
    failed = run("postgresql://someone@127.0.0.1:1/db?password=S3cretPassw0rd", "digest")
    assert failed.exit_code == 1
    assert "S3cretPassw0rd" not in failed.output


# -- 11. internal errors (exit 70) from input --------------------------------------------


def _damaged(sqlite_path: str, sql: str) -> str:
    import sqlite3

    semester(sqlite_path)
    connection = sqlite3.connect(sqlite_path)
    with connection:
        connection.execute(sql)
    connection.close()
    return sqlite_path


def _bad_port(store: str, tmp: Path) -> Result:
    return run("postgresql://u:p@127.0.0.1:99999/db", "digest")


def _bad_ipv6(store: str, tmp: Path) -> Result:
    return run("postgresql://u:p@[::1/db", "digest")


def _missing_folder(store: str, tmp: Path) -> Result:
    semester(store)
    return run(store, "export", "admission", "-o", str(tmp / "nowhere" / "admission.csv"))


def _full_disk(store: str, tmp: Path) -> Result:
    semester(store)
    return run(store, "export", "admission", "--format", "csv", "-o", "/dev/full")


def _non_utf8_argument(store: str, tmp: Path) -> Result:
    semester(store)
    return run(store, "status", "\udcff")  # what Python makes of the byte 0xff in argv


def _non_utf8_statement(store: str, tmp: Path) -> Result:
    semester(store)
    (tmp / "why.txt").write_bytes(b"\xff\xfe")
    return run(store, "apply", "231009", "--name", "N", "--email", "n@x.org", "--programme", "master",
               "--prerequisite", "ML", "--statement", f"@{tmp / 'why.txt'}", "--at", "2025-03-20T10:00:00+01:00")  # fmt: skip


def _trust_a_private_key(store: str, tmp: Path) -> Result:
    semester(store)
    _ok(run(store, "keygen", str(tmp / "a.key"), str(tmp / "a.pub")))
    (tmp / "cp.txt").write_text(_ok(run(store, "digest", "--key", str(tmp / "a.key"))).output)
    return run(store, "verify", str(tmp / "cp.txt"), "--trust", str(tmp / "a.key"))


def _corrupt_head(store: str, tmp: Path) -> Result:
    return run(_damaged(store, "UPDATE ledger_head SET frontier = x'00'"), "verify")


def _damaged_row(store: str, tmp: Path) -> Result:
    return run(_damaged(store, "UPDATE stored_events SET state = x'7b7d' WHERE rowid = 5"), "status")


def _one_id_in_two_courses(store: str, tmp: Path) -> Result:
    same = "11111111-1111-4111-8111-111111111111"
    opened = {"type": "CourseOpened", "at": "2026-03-01T10:00:00+01:00", "title": "T", "timezone": "Europe/Berlin",
              "capacity": 2, "application_deadline": "2026-04-04T23:59:00+02:00",
              "registration_deadline": "2026-04-11T12:00:00+02:00",
              "groups": [{"id": "g1", "slot": "Thu 11:00", "capacity": 2}]}  # fmt: skip
    text = json.dumps({"id": same, "course": "c1", **opened}) + "\n" + json.dumps({"id": same, "course": "c2", **opened})
    return run(store, "import", "-", input=text + "\n")


CRASHES: dict[str, Callable[[str, Path], Result]] = {
    "bad-port": _bad_port,
    "bad-ipv6-url": _bad_ipv6,
    "output-into-missing-folder": _missing_folder,
    "output-onto-full-disk": _full_disk,
    "non-utf8-argument": _non_utf8_argument,
    "non-utf8-statement-file": _non_utf8_statement,
    "verify-trust-private-key": _trust_a_private_key,
    "verify-corrupted-merkle-head": _corrupt_head,
    "status-of-damaged-row": _damaged_row,
}


@pytest.fixture
def reports_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Internal-error reports go to a folder of the test's own."""
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("case", list(CRASHES))
def test_bad_input_is_one_line_and_exit_1_or_2(case: str, sqlite_path: str, tmp_path: Path, reports_in_tmp: Path) -> None:
    result = CRASHES[case](sqlite_path, tmp_path)
    assert result.exit_code in (1, 2), result.output
    assert "internal error" not in result.output and not list(reports_in_tmp.iterdir())


def test_one_id_in_two_courses_names_its_line(sqlite_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ledger.app._back_off", lambda attempt: None)  # twenty retries, without the waits
    result = _one_id_in_two_courses(sqlite_path, Path())
    assert result.exit_code == 1 and "line 2" in result.output, result.output


# -- 12. the report's timeline judges a hand-in against the course's deadline only -------


def test_a_hand_in_within_an_extension_does_not_count_against_the_student(sqlite_path: str) -> None:
    from projections.reading import read
    from projections.timeline import timelines

    semester(sqlite_path)
    _ok(run(sqlite_path, "extend", ADA, "A02", "--until", "2025-04-25T10:00:00+02:00", "--reason", "ill",
            "--at", "2025-04-18T10:00:00+02:00"))  # fmt: skip
    _ok(run(sqlite_path, "hand-in", "A02", ADA, "--at", "2025-04-23T10:00:00+02:00"))
    (ada,) = [t for t in timelines(read(sqlite_path, COURSE)) if t.student == ADA]
    assert [a.outcome for a in ada.status.assignments if a.assignment == "A02"] == ["passed"]
    (hand_in,) = [m for m in ada.moments if m.assignment == "A02" and m.event == "SubmissionHandedIn"]
    assert not hand_in.against


# -- 13. a withdrawn student keeps a group in some views and not in others ---------------


def test_a_withdrawn_student_is_in_no_group_in_any_view(sqlite_path: str) -> None:
    semester(sqlite_path)  # Ada and Grace in g1
    _ok(run(sqlite_path, "withdraw", ADA, "--reason", "moved away", "--at", "2025-04-15T10:00:00+02:00"))
    roster = _ok(run(sqlite_path, "export", "roster", "--format", "csv")).output
    assert ADA not in roster and "g1 1/2" in _ok(run(sqlite_path, "status", "--format", "table")).output
    rows = {line.split(",")[0]: line.split(",") for line in _ok(run(sqlite_path, "export", "admission")).output.splitlines()}
    assert rows[ADA][4] == ""
    assert "group      -" in _ok(run(sqlite_path, "status", ADA, "--format", "table")).output


# -- 14. a NUL in the text: one store takes it, the other fails with its driver's words ---


def _opening_and_application(**application: str) -> str:
    opened = {"type": "CourseOpened", "at": "2026-03-01T10:00:00+01:00", "title": "T", "timezone": "Europe/Berlin",
              "capacity": 2, "application_deadline": "2026-04-04T23:59:00+02:00",
              "registration_deadline": "2026-04-11T12:00:00+02:00",
              "groups": [{"id": "g1", "slot": "Thu 11:00", "capacity": 2}]}  # fmt: skip
    applied = {"type": "ApplicationSubmitted", "at": "2026-03-02T10:00:00+01:00", "student": "100001", "name": "Ada",
               "email": "ada@example.org", "programme": "master", "prerequisite": "ML", "statement": "why", **application}  # fmt: skip
    return json.dumps({"course": "c1", **opened}) + "\n" + json.dumps({"course": "c1", **applied}) + "\n"


def test_a_nul_in_a_student_id_is_refused_naming_its_line(store_url: str) -> None:
    refused = run(store_url, "import", "-", input=_opening_and_application(student="1000\x0001"))
    assert refused.exit_code == 1 and "line 2" in refused.output, refused.output


def test_a_nul_in_a_prerequisite_is_recorded_or_refused_by_a_rule_on_postgres(fresh_postgres_url: str) -> None:
    result = run(fresh_postgres_url, "import", "-", input=_opening_and_application(prerequisite="M\x00L"))
    assert result.exit_code == 0 or "line 2" in result.output, result.output


# -- 15. a wrong password is reported as a time-out ---------------------------------------


def test_a_wrong_password_is_named(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from urllib.parse import urlsplit, urlunsplit

    monkeypatch.setenv("POSTGRES_CONNECT_TIMEOUT", "2")
    parts = urlsplit(postgres_url)
    wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:not-the-password@{parts.hostname}:{parts.port or 5432}"))
    failed = run(wrong, "digest")
    assert failed.exit_code == 1 and "not-the-password" not in failed.output
    assert "password" in failed.output or "authentication" in failed.output, failed.output


# -- 16. a --known-at view names courses opened after its cut -------------------------------


def test_a_known_at_view_knows_only_the_courses_recorded_by_then(sqlite_path: str) -> None:
    from tests.recording import clock_at

    # Each recorded after it happened (the rule `future`).
    with clock_at(datetime(2025, 5, 1, tzinfo=UTC)):
        semester(sqlite_path)
    with clock_at(datetime(2025, 9, 2, tzinfo=UTC)):
        _ok(run(sqlite_path, "open-course", "secret-course-2026", "--title", "T", "--capacity", "2",
                "--application-deadline", "2026-04-04T23:59", "--registration-deadline", "2026-04-11T12:00",
                "--group", "g1:Thu 11:00:2", "--at", "2025-09-01T10:00"))  # fmt: skip
    then = run(sqlite_path, "status", "--known-at", "2025-06-01T00:00:00+02:00", "--format", "table")
    assert then.exit_code == 0 and "secret-course-2026" not in then.output, then.output
    assert "course        idl-2025" in then.output


# -- 17. a checkpoint saved with a byte-order mark ------------------------------------------


def test_a_checkpoint_with_a_byte_order_mark_verifies(sqlite_path: str, tmp_path: Path) -> None:
    semester(sqlite_path)
    kept = tmp_path / "checkpoint.txt"
    kept.write_bytes(b"\xef\xbb\xbf" + _ok(run(sqlite_path, "digest")).output.replace("\n", "\r\n").encode())
    checked = run(sqlite_path, "verify", str(kept))
    assert checked.exit_code == 0, checked.output


def test_an_append_to_a_damaged_head_says_so(sqlite_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from ledger import merkle

    semester(sqlite_path)
    connection = sqlite3.connect(sqlite_path)
    with connection:
        leaves = [bytes(r[0]) for r in connection.execute("SELECT leaf FROM ledger_log ORDER BY position")]
        frontier = merkle.Frontier()
        frontier.extend(leaves[:-1])
        connection.execute("UPDATE ledger_head SET size = ?, frontier = ?", (len(leaves) - 1, frontier.to_bytes()))
    connection.close()
    monkeypatch.setattr("ledger.app._back_off", lambda attempt: None)  # twenty retries, without the waits
    result = run(sqlite_path, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00")
    assert result.exit_code == 1 and "write conflicts" not in result.output, result.output


# -- 18. rebuild by a reader who may not write the views ------------------------------------


def test_rebuild_without_the_right_to_write_says_it_did_not(sqlite_path: str) -> None:
    semester(sqlite_path)
    _ok(run(sqlite_path, "status"))  # the views exist
    rebuilt = run(f"file:{sqlite_path}?mode=ro", "rebuild")
    assert rebuilt.exit_code == 1, rebuilt.output

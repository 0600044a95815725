"""Input that used to end in a traceback or say the wrong thing (issue 7.8), one rule at a time.

The red-team's cases are in tests/test_attacks.py (findings 8–11, 15, 17, 18);
these pin the rules behind the fixes: the instant range, the store URL, the
files `-o` and keygen write, and a store that cannot be read back.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import clock
from ledger.errors import Damaged, LedgerError, StoreError
from ledger.store import postgres_url, redacted, store_env
from tests.cli_helpers import ALAN, count, jsonl, run, semester, semester_lines

# -- instants: years 1900 to 2999, as written and in UTC -----------------------------------

offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), tz=offsets)
def test_an_instant_is_taken_exactly_when_its_year_is_in_range_as_written_and_in_utc(
    moment: datetime, tz: timezone
) -> None:
    aware = moment.replace(tzinfo=tz)
    utc = aware.astimezone(UTC)
    inside = all(clock.FIRST_YEAR <= m.year <= clock.LAST_YEAR for m in (aware, utc))
    for text in (aware.isoformat(), moment.isoformat()):
        try:
            got = clock.localize(clock.read_instant(text), "Europe/Berlin")
        except clock.BadInstant as error:
            assert "out of range" in str(error) or "does not exist" in str(error) or "ambiguous" in str(error)
            assert not inside or text == moment.isoformat()  # a naive one may be a skipped or doubled wall time
        else:
            assert clock.FIRST_YEAR <= got.year <= clock.LAST_YEAR
            if text == aware.isoformat():
                assert inside and got == utc


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00", "1899-12-31T23:59+00:00",
                                    "3000-01-01T00:00+00:00", "1900-01-01T00:00+05:00"])  # fmt: skip
@pytest.mark.parametrize("option", ["--as-of", "--known-at"])
def test_an_instant_out_of_range_is_a_usage_error_of_the_views(sqlite_path: str, option: str, moment: str) -> None:
    semester(sqlite_path)
    result = run(sqlite_path, "status", option, moment)
    assert result.exit_code == 2 and "out of range (years 1900 to 2999)" in result.output, result.output


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00", "2999-12-31T23:59-23:59"])
def test_an_instant_out_of_range_is_refused_on_append_and_in_an_import_line(sqlite_path: str, moment: str) -> None:
    semester(sqlite_path)
    size = count(sqlite_path)
    appended = run(sqlite_path, "accept", ALAN, "--at", moment)
    assert appended.exit_code in (1, 2) and "out of range" in appended.output, appended.output
    line = jsonl({"type": "ApplicationAccepted", "at": moment, "student": ALAN})
    imported = run(sqlite_path, "import", "-", input=line)
    assert imported.exit_code == 1 and "line 1" in imported.output, imported.output
    # msgspec itself refuses an offset that takes UTC past the year 9999; the rest are out of our range
    assert "out of range (years 1900 to 2999)" in imported.output or "Invalid RFC3339" in imported.output
    assert count(sqlite_path) == size


# -- the store URL ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://staff:s3cret@db:5432/ledger", "postgresql://staff:***@db:5432/ledger"),
        ("postgresql://staff@db/ledger?password=s3cret", "postgresql://staff@db/ledger?password=***"),
        ("postgres://staff:s3cret@[::1/db", "postgres://staff:***@[::1/db"),
        ("postgresql://st:aff:s3:cret@db:99999/x?a=1&PASSWORD=s3cret#f", "postgresql://st:***@db:99999/x?a=1&PASSWORD=***#f"),
        ("postgresql://s3cret@db/x", "postgresql://s3cret@db/x"),  # a user name, not a password
        ("ledger.sqlite", "ledger.sqlite"),
    ],
)  # fmt: skip
def test_a_url_is_printed_without_its_password_even_when_it_cannot_be_parsed(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u:p@127.0.0.1:99999/db", "Port out of range"),
        ("postgresql://u:p@127.0.0.1:port/db", "Port could not be cast"),
        ("postgresql://u:p@[::1/db", "Invalid IPv6 URL"),
        ("postgresql://u@h/db?sslmode=require", "query parameter 'sslmode' is not supported"),
        ("postgresql://u@h/db?password", "is not a valid URL"),
        ("postgresql://u:p@h/db?password=q", "gives a password twice"),
    ],
)
def test_a_bad_store_url_is_one_line_naming_the_problem(url: str, problem: str) -> None:
    with pytest.raises(StoreError, match=problem):
        postgres_url(url)
    result = run(url, "digest")
    assert result.exit_code == 1 and problem in result.output and result.output.count("\n") == 1, result.output


def test_the_password_of_a_url_query_is_the_one_used() -> None:
    pytest.importorskip("psycopg")
    env = store_env("postgresql://staff@db.example/ledger?password=s%26cret")
    assert env["POSTGRES_PASSWORD"] == "s&cret" and env["POSTGRES_USER"] == "staff"
    assert store_env("postgresql://staff:pw@db.example/ledger")["POSTGRES_PASSWORD"] == "pw"


# -- files written: -o and keygen --------------------------------------------------------------


def test_every_o_file_is_owner_only_and_replaces_a_readable_one(sqlite_path: str, tmp_path: Path, lax_umask: None) -> None:
    semester(sqlite_path)
    out = tmp_path / "out"
    out.mkdir()
    old = out / "roster.csv"
    old.write_text("old\n")
    old.chmod(0o644)
    for args in (["export", "roster", "-o", str(old)], ["log", "-o", str(out / "log.json")],
                 ["explain", "231001", "-o", str(out / "why.txt")]):  # fmt: skip
        assert run(sqlite_path, *args).exit_code == 0
    assert sorted(f.name for f in out.iterdir()) == ["log.json", "roster.csv", "why.txt"]  # no partial file left
    for file in out.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert old.read_text().startswith("student,")


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_partial_one(tmp_path: Path) -> None:
    from cli.files import CannotWrite, output

    kept = tmp_path / "admission.csv"
    kept.write_text("the old export\n")
    with pytest.raises(RuntimeError), output(str(kept)) as handle:
        handle.write(b"half of the new one")
        raise RuntimeError("a bug half-way")
    assert kept.read_text() == "the old export\n" and os.listdir(tmp_path) == ["admission.csv"]
    with pytest.raises(CannotWrite, match="cannot write '/dev/full': No space left on device"), output("/dev/full") as full:
        full.write(b"x" * 100_000)
    with pytest.raises(CannotWrite, match="No such file or directory"), output(str(tmp_path / "no" / "x.csv")):
        pass
    with output(str(kept)) as handle:
        handle.write(b"new\n")
    assert kept.read_text() == "new\n" and os.listdir(tmp_path) == ["admission.csv"]


def test_a_full_disk_under_o_is_one_line(sqlite_path: str) -> None:
    semester(sqlite_path)
    full = run(sqlite_path, "export", "admission", "--format", "csv", "-o", "/dev/full")
    assert full.exit_code == 1 and full.output == "error: cannot write '/dev/full': No space left on device\n"


def test_keygen_never_overwrites_the_public_key_either(tmp_path: Path) -> None:
    public = tmp_path / "a.pub"
    public.write_text("someone's key\n")
    made = run("unused.sqlite", "keygen", str(tmp_path / "a.key"), str(public))
    assert made.exit_code == 2 and "exists already" in made.output
    assert public.read_text() == "someone's key\n" and not (tmp_path / "a.key").exists()
    same = run("unused.sqlite", "keygen", str(tmp_path / "b.key"), str(tmp_path / "b.key"))
    assert same.exit_code == 2 and not (tmp_path / "b.key").exists()
    ok = run("unused.sqlite", "keygen", str(tmp_path / "c.key"), str(tmp_path / "c.pub"))
    assert ok.exit_code == 0 and stat.S_IMODE((tmp_path / "c.key").stat().st_mode) == 0o600


def test_keygen_into_a_missing_folder_is_one_line_and_leaves_no_private_key(tmp_path: Path) -> None:
    made = run("unused.sqlite", "keygen", str(tmp_path / "a.key"), str(tmp_path / "nowhere" / "a.pub"))
    assert made.exit_code == 1 and made.output.startswith("error: cannot write") and made.output.count("\n") == 1
    assert not (tmp_path / "a.key").exists()


# -- text that is not UTF-8 ---------------------------------------------------------------------


def test_bytes_that_are_not_utf8_in_the_environment_are_a_usage_error(sqlite_path: str) -> None:
    from click.testing import CliRunner

    from cli.main import main

    result = CliRunner().invoke(main, ["status"], env={"SUBLEDGER_STORE": sqlite_path, "SUBLEDGER_COURSE": "c\udcff"})
    assert result.exit_code == 2 and "--course 'c\\udcff' is not UTF-8 text" in result.output, result.output


def test_an_import_file_that_is_not_utf8_names_its_line(sqlite_path: str) -> None:
    text = jsonl(*(dict(line, course="idl-2025") for line in semester_lines()[:2])).encode()
    broken = text.replace(b"Ada Lovelace", b"Ada \xff Lovelace")
    result = run(sqlite_path, "import", "-", input=broken)
    assert result.exit_code == 1 and "line 2" in result.output, result.output
    assert not os.path.exists(sqlite_path)


# -- a store that cannot be read back -------------------------------------------------------------


def test_the_head_is_damaged_when_its_frontier_does_not_match_its_size() -> None:
    from ledger import merkle
    from ledger.store.log import head_frontier

    frontier = merkle.Frontier()
    frontier.extend([bytes(32)] * 3)
    assert head_frontier(3, frontier.to_bytes()).root() == frontier.root()
    assert head_frontier(0, None).root() == merkle.EMPTY_ROOT
    for size, stored in ((4, frontier.to_bytes()), (3, None), (3, b"\x00"), (3, frontier.to_bytes()[:-1])):
        with pytest.raises(Damaged, match=r"the store is damaged: .*; run verify"):
            head_frontier(size, stored)


def test_a_damaged_row_is_named_by_its_position(sqlite_path: str) -> None:
    import sqlite3

    semester(sqlite_path)
    connection = sqlite3.connect(sqlite_path)
    with connection:
        position = connection.execute(
            "SELECT l.position FROM ledger_log l JOIN stored_events e ON e.originator_id = l.originator_id "
            "AND e.originator_version = l.originator_version WHERE e.rowid = 5"
        ).fetchone()[0]
        connection.execute("UPDATE stored_events SET state = x'7b7d' WHERE rowid = 5")
    connection.close()
    for args in (["status"], ["accept", ALAN, "--at", "2025-04-07T10:00:00+02:00"], ["export", "events"]):
        result = run(sqlite_path, *args)
        assert result.exit_code == 1, (args, result.output)
        assert f"the store is damaged: the event at position {position} cannot be read" in result.output, result.output
    assert issubclass(Damaged, LedgerError)


# -- found by the fuzz ------------------------------------------------------------------------------


def test_allocate_groups_reads_a_naive_at_in_the_courses_time_zone(sqlite_path: str) -> None:
    """Was: TypeError comparing a naive --at with the records' aware instants (an internal error)."""
    semester(sqlite_path)
    naive = run(sqlite_path, "allocate-groups", "--dry-run", "--seed", "1", "--at", "2025-04-20T10:00")
    aware = run(sqlite_path, "allocate-groups", "--dry-run", "--seed", "1", "--at", "2025-04-20T10:00:00+02:00")
    assert naive.exit_code == 0 and naive.output == aware.output, naive.output
    skipped = run(sqlite_path, "allocate-groups", "--dry-run", "--at", "2025-03-30T02:30")  # the clocks jump
    assert skipped.exit_code == 2 and "does not exist in Europe/Berlin" in skipped.output, skipped.output


def test_a_read_only_store_whose_views_were_never_made_is_read_and_verified(sqlite_path: str) -> None:
    """Was: 'cannot open store …: attempt to write a readonly database' for every read, and an
    internal error from verify; the views' tables cannot be made there, so the ledger is read itself."""
    semester(sqlite_path)  # through the Ledger: no view tables yet
    read_only = f"file:{sqlite_path}?mode=ro"
    for args in (["status", "--format", "csv"], ["export", "admission"], ["log"], ["explain", "231001", "--as-of", "2025-05-01T00:00"]):
        shown = run(read_only, *args)
        assert shown.exit_code == 0 and shown.output == run(sqlite_path, *args).output, (args, shown.output)
    assert run(read_only, "verify").exit_code == 0
    rebuilt = run(read_only, "rebuild")
    assert rebuilt.exit_code == 1 and rebuilt.output.startswith("error: the views were not rebuilt"), rebuilt.output
    size = count(sqlite_path)
    appended = run(read_only, "accept", ALAN, "--at", "2025-04-07T10:00:00+02:00")
    assert appended.exit_code == 1 and appended.output.count("\n") == 1 and "readonly" in appended.output
    assert count(sqlite_path) == size


@pytest.mark.parametrize("keys", ["x", 5, [], {"statement": 5}, {"statement": "not base64!"}, {"nonsense": "AAAA"},
                                  {"statement": "A" * 10_000}])  # fmt: skip
def test_a_bad_keys_field_names_its_line(sqlite_path: str, tmp_path: Path, keys: object) -> None:
    import json

    semester(sqlite_path)
    lines = run(sqlite_path, "export", "events").output.splitlines()
    at = next(i for i, line in enumerate(lines) if '"keys"' in line)
    broken = json.loads(lines[at])
    broken["keys"] = keys
    lines[at] = json.dumps(broken)
    fresh = str(tmp_path / "restored.sqlite")
    result = run(fresh, "import", "-", input="\n".join(lines) + "\n")
    assert result.exit_code == 1 and f"error: line {at + 1}: " in result.output and "keys" in result.output
    assert not os.path.exists(fresh)


def test_a_checkpoint_kept_with_a_byte_order_mark_checks_a_restore_too(sqlite_path: str, tmp_path: Path) -> None:
    semester(sqlite_path)
    kept = tmp_path / "checkpoint.txt"
    kept.write_bytes(b"\xef\xbb\xbf" + run(sqlite_path, "digest").output.encode())
    backup = run(sqlite_path, "export", "events").output
    restored = run(str(tmp_path / "restored.sqlite"), "import", "-", "--checkpoint", str(kept), input=backup)
    assert restored.exit_code == 0, restored.output


@pytest.mark.parametrize("command", [["status"], ["log"], ["export", "roster"], ["what-if"]])
def test_an_o_file_whose_extension_names_a_format_the_command_does_not_write_is_a_usage_error(
    sqlite_path: str, tmp_path: Path, command: list[str]
) -> None:
    """Was (found by the fuzz): `status -o out.html` ended in an internal error."""
    semester(sqlite_path)
    result = run(sqlite_path, *command, "-o", str(tmp_path / "out.html"))
    assert result.exit_code == 2 and "html" in result.output.splitlines()[-1], result.output  # export says it its way
    assert not (tmp_path / "out.html").exists()


def test_a_nul_in_an_argument_is_a_usage_error(tmp_path: Path) -> None:
    """Was (found by the fuzz): `import-moodle '\\x00'` ended in 'ValueError: embedded null byte'.
    No real argv can hold a NUL; a caller in-process can."""
    result = run(str(tmp_path / "s.sqlite"), "import-moodle", "\x00", "--assignment", "A01", "--dry-run")
    assert result.exit_code == 2 and "holds a NUL character" in result.output, result.output


@pytest.mark.parametrize("command", [["log", "--format", "csv"], ["schema"], ["digest"]])
def test_standard_output_onto_a_full_disk_is_one_line(sqlite_path: str, command: list[str]) -> None:
    """Was: an internal error (OSError: No space left on device) for `subledger log > /dev/full`."""
    import subprocess
    import sys

    semester(sqlite_path)
    root = Path(__file__).resolve().parent.parent
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "cli", "--store", sqlite_path, *command], cwd=root, stdout=full,
            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(root)}, timeout=60,
        )  # fmt: skip
    assert done.returncode == 1 and done.stderr == "error: cannot write the output: No space left on device\n"

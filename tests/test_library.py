"""The read side as a library, used directly with no CLI: a second front end's view of it."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.app import Ledger
from ledger.errors import StoreError
from projections import formats
from projections.admission import AdmissionRow, admission
from projections.events import events, lines
from projections.gradebook import gradebook
from projections.log import log
from projections.reading import BadClock, NotAParticipant, read
from projections.roster import RosterRow, roster
from projections.status import student_status
from tests.cli_helpers import ADA, ALAN, GRACE, semester
from tests.test_views import Script

ROOT = Path(__file__).resolve().parent.parent
LATER = datetime(2025, 6, 1, 10, tzinfo=UTC)

LIBRARY_ONLY = """
import io, sys
from datetime import datetime, UTC
from projections import formats
from projections.admission import AdmissionRow, admission
from projections.reading import read

reading = read(sys.argv[1], as_of=datetime(2025, 6, 1, 10, tzinfo=UTC))
out = io.BytesIO()
formats.render(formats.table(admission(reading), AdmissionRow, title="admission"), "csv", out)
sys.stdout.write(out.getvalue().decode())
assert not any(m == "click" or m.startswith(("cli.", "click.")) for m in sys.modules), "the CLI was loaded"
"""


def test_an_export_from_the_library_alone(sqlite_path: str) -> None:
    semester(sqlite_path)
    done = subprocess.run(
        [sys.executable, "-c", LIBRARY_ONLY, sqlite_path], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "student,name,programme,credits,group,passed,excused,failed,open,status,reasons\n"
        "231001,Ada Lovelace,master,6,g1,1,0,2,0,at_risk,A02:missed_deadline;A03:missed_deadline\n"
        "231002,Grace Hopper,bachelor,5,g1,1,0,2,0,at_risk,A02:missed_deadline;A03:missed_deadline\n"
    )


def test_typed_rows(sqlite_path: str) -> None:
    semester(sqlite_path)
    reading = read(sqlite_path, as_of=LATER)
    assert admission(reading)[0] == AdmissionRow(
        ADA, "Ada Lovelace", "master", 6, "g1", 1, 0, 2, 0, "at_risk", "A02:missed_deadline;A03:missed_deadline"
    )
    assert roster(reading) == [
        RosterRow(ADA, "Ada Lovelace", "ada@st.ovgu.de", "master", "g1", 1, None),
        RosterRow(GRACE, "Grace Hopper", "grace@st.ovgu.de", "bachelor", "g1", 1, None),
    ]
    book = gradebook(reading)
    assert book.assignments == ("A01", "A02", "A03")
    assert book.rows[1].assignment == {"A01": "passed", "A02": "failed:missed_deadline", "A03": "failed:missed_deadline"}
    first = log(reading, student=ADA)[0]
    assert (first.seq, first.event, first.at.isoformat()) == (2, "ApplicationSubmitted", "2025-03-10T10:00:00+01:00")
    # One rendering, driven by the fields, for every format.
    out = io.BytesIO()
    formats.render(formats.table(book.rows, type(book.rows[0]), "gradebook", spread=book.assignments), "json", out)
    assert b'"A03": "failed:missed_deadline"' in out.getvalue()


def test_a_reading_of_one_students_share_is_about_them_only(sqlite_path: str) -> None:
    semester(sqlite_path)
    mine = read(sqlite_path, as_of=LATER, student=GRACE)
    assert student_status(mine, GRACE).standing.status == "at_risk"
    with pytest.raises(ValueError, match="share"):
        student_status(mine, ADA)
    with pytest.raises(ValueError, match="share"):
        admission(mine)
    with pytest.raises(NotAParticipant, match="not decided yet"):
        student_status(read(sqlite_path, as_of=LATER), ALAN)


def test_the_clock_and_the_course(sqlite_path: str) -> None:
    semester(sqlite_path)
    naive = read(sqlite_path, as_of=datetime(2025, 4, 14, 10, 0))  # read in Europe/Berlin: 08:00 UTC
    assert naive.as_of == datetime(2025, 4, 14, 8, 0, tzinfo=UTC)
    assert read(sqlite_path, known_at=naive.as_of).as_of == naive.as_of  # as_of defaults to known_at
    with pytest.raises(BadClock) as bad:
        read(sqlite_path, known_at=datetime(2025, 3, 30, 2, 30))  # skipped by the clocks in Berlin
    assert bad.value.field == "known_at"
    with pytest.raises(StoreError, match="no course 'nope' in the store"):
        read(sqlite_path, "nope")
    with pytest.raises(StoreError, match="no store at"):
        read(sqlite_path + ".missing")
    assert not Path(sqlite_path + ".missing").exists()


def test_the_events_export_under_a_clock(sqlite_path: str, tmp_path: Path) -> None:
    script = Script(sqlite_path)
    script.semester()
    script.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA)
    script.flush()
    everything = list(lines(sqlite_path))
    assert len(everything) == script.seq
    # Known at a past instant: the ledger as an auditor found it then, a prefix of the log …
    then = datetime(2025, 4, 8, tzinfo=UTC)
    found = list(events(sqlite_path, known_at=then))
    assert [e.record.position for e in found] == list(range(1, len(found) + 1))
    assert 0 < len(found) < script.seq and all(e.record.recorded_at <= then for e in found)
    # … which restores into an empty store.
    copy = str(tmp_path / "copy.sqlite")
    with closing(Ledger(copy)) as ledger:
        ledger.import_lines([e.encode() for e in found], "someone")
    assert list(lines(copy)) == [e.encode() for e in found]
    # As of an instant: what had happened by then (deadlines and all).
    early = [e.record.event for e in events(sqlite_path, as_of=then)]
    assert early and all(e.at <= then for e in early) and len(early) < script.seq
    # Without an offset, an instant is read in the courses' time zone (all of them keep Europe/Berlin here).
    berlin = datetime(2025, 4, 8, 2, tzinfo=UTC)
    assert list(lines(sqlite_path, as_of=datetime(2025, 4, 8, 4))) == list(lines(sqlite_path, as_of=berlin))
    # The whole export restores to the same export.
    whole = str(tmp_path / "whole.sqlite")
    with closing(Ledger(whole)) as ledger:
        ledger.import_lines(everything, "someone")
    assert list(lines(whole)) == everything

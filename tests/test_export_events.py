"""`export events` under a clock: the ledger as it stood (a restore), or what had happened by then (a new history).

`--known-at T` alone cuts the log to a prefix: it keeps the envelopes and
restores into an empty store to the digest the ledger had at that size.
`--as-of T` leaves out what happened later, wherever it was recorded: the
positions have gaps, so the lines are new events (ids, no envelope), which
import into an empty store as a new history with the same views at T.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.app import Ledger
from ledger.errors import ImportRejected
from projections.admission import admission
from projections.events import lines
from projections.exam import exam
from projections.gradebook import gradebook
from projections.reading import read
from projections.roster import roster
from projections.status import course_status
from tests.cli_helpers import count, run
from tests.test_properties import COURSES, Intent, history, intents
from tests.test_properties import lines as wire_lines
from tests.test_views import ADA, GRACE, Script

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "idl-2025.jsonl"
ENVELOPE = ("seq", "recorded_at", "recorded_by", "salt")  # a new history carries none of the restore envelope


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = str(tmp_path_factory.mktemp("sample") / "ledger.sqlite")
    result = run(store, "import", str(SAMPLE))
    assert result.exit_code == 0, result.output
    return store


def views_at(store: str, as_of: datetime) -> dict[str, object]:
    """The views an export carries, of the only course, as of `as_of` (ids and positions left out)."""
    reading = read(store, as_of=as_of)
    return {
        "admission": admission(reading),
        "gradebook": gradebook(reading),
        "roster": roster(reading),
        "exam": exam(reading),
        "status": course_status(reading),
    }


@pytest.mark.parametrize("as_of", ["2025-04-05T00:00:00+02:00", "2025-05-20T12:00:00+02:00", "2025-07-10T00:00:00+02:00"])
def test_a_cut_as_of_imports_into_an_empty_store_as_a_new_history(sample: str, tmp_path: Path, as_of: str) -> None:
    out = tmp_path / "cut.jsonl"
    result = run(sample, "export", "events", "--as-of", as_of, "-o", str(out))
    assert result.exit_code == 0, result.output
    cut = [json.loads(line) for line in out.read_text().splitlines()]
    assert 0 < len(cut) < count(sample)
    assert not [line for line in cut if set(ENVELOPE) & set(line)] and all("id" in line for line in cut)
    copy = str(tmp_path / "copy.sqlite")
    imported = run(copy, "import", str(out))
    assert imported.exit_code == 0, imported.output
    moment = datetime.fromisoformat(as_of)
    assert views_at(copy, moment) == views_at(sample, moment)  # names too: the material keys travel
    # The same events, by id: imported into the ledger they came from, nothing is new.
    again = run(sample, "import", str(out))
    assert again.exit_code == 0 and again.stdout.startswith(f"appended 0 events; {len(cut)} already in the store")


def test_a_cut_known_at_is_the_ledger_as_it_stood_and_restores_to_its_checkpoint(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    s = Script(store)
    s.semester()
    s.flush()
    then = run(store, "digest").stdout  # the checkpoint an auditor kept
    size = count(store)
    s.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)
    s.flush()
    out = tmp_path / "then.jsonl"
    # Everything above was recorded at its `at`: by the day after the semester's setup, the first part only.
    result = run(store, "export", "events", "--known-at", "2025-04-12T00:00:00+02:00", "-o", str(out))
    assert result.exit_code == 0, result.output
    cut = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["seq"] for line in cut] == list(range(1, size + 1))
    (tmp_path / "then.txt").write_text(then)
    copy = str(tmp_path / "copy.sqlite")
    restored = run(copy, "import", str(out), "--checkpoint", str(tmp_path / "then.txt"))
    assert restored.exit_code == 0, restored.output
    assert run(copy, "digest").stdout == then


def test_a_retraction_of_an_event_left_out_is_left_out(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    s = Script(store)
    s.semester()
    late = s.hand_in("A01", "2025-04-20T10:00:00+02:00", ADA)
    early = s.hand_in("A02", "2025-04-19T10:00:00+02:00", GRACE)
    s.add("EventRetracted", "2025-04-21T10:00:00+02:00", event=late, reason="wrong student")
    s.add("EventRetracted", "2025-04-21T10:01:00+02:00", event=early, reason="wrong student")
    s.flush()
    cut = [json.loads(line) for line in lines(store, as_of=datetime(2025, 4, 19, 12, tzinfo=UTC))]
    ids = [line["id"] for line in cut]
    # The hand-in of the 20th had not happened; its retraction is left out with it. The one of the 19th
    # and its retraction stay: retractions apply in every view that has recorded them, whatever their `at`.
    assert late not in ids and early in ids
    assert [line["event"] for line in cut if line["type"] == "EventRetracted"] == [early]
    copy = str(tmp_path / "copy.sqlite")
    with closing(Ledger(copy)) as ledger:
        ledger.import_lines([json.dumps(line).encode() for line in cut], "auditor")
    assert count(copy) == len(cut)


def test_the_events_export_takes_only_jsonl(sample: str) -> None:
    assert run(sample, "export", "events", "--format", "jsonl", "--known-at", "2020-01-01T00:00").stdout == ""
    wrong = run(sample, "export", "events", "--format", "csv")
    assert wrong.exit_code == 2 and "jsonl is its only format" in wrong.output
    skipped = run(sample, "export", "events", "--as-of", "2025-03-30T02:30")
    assert skipped.exit_code == 2 and "does not exist in Europe/Berlin" in skipped.output


def test_an_instant_without_offset_is_read_in_the_courses_zone_if_they_share_one(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    s = Script(store)
    s.semester()
    s.flush()
    naive = run(store, "export", "events", "--as-of", "2025-04-07T10:00")
    assert naive.exit_code == 0
    assert naive.stdout == run(store, "export", "events", "--as-of", "2025-04-07T10:00:00+02:00").stdout
    s.add("CourseOpened", "2025-03-03T09:00:00+01:00", course="other", title="Elsewhere", timezone="America/New_York",
          capacity=1, application_deadline="2025-04-04T23:59:00-04:00", registration_deadline="2025-04-11T12:00:00-04:00",
          groups=[{"id": "g1", "slot": "Thu 11:00", "capacity": 1}])  # fmt: skip
    s.flush()
    mixed = run(store, "export", "events", "--as-of", "2025-04-07T10:00")
    assert mixed.exit_code == 2 and "different time zones: give it" in mixed.output


def _monotone(drawn: list[Intent]) -> list[Intent]:
    """The same intents, never dated back (`history` dates back an event whose hour is a multiple of 7)."""
    return [(*i[:5], i[5] + 1 if i[5] % 7 == 0 else i[5]) for i in drawn]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=intents, where=st.floats(0, 1), backdated=st.booleans())
def test_a_cut_as_of_of_any_history_imports_to_the_same_views(drawn: list[Intent], where: float, backdated: bool) -> None:
    records = history(drawn if backdated else _monotone(drawn))
    moments = sorted(r.event.at for r in records)
    as_of = moments[int(where * (len(moments) - 1))] + timedelta(minutes=1)
    with tempfile.TemporaryDirectory() as tmp:
        original, copy = str(Path(tmp) / "original.sqlite"), str(Path(tmp) / "copy.sqlite")
        with closing(Ledger(original)) as ledger:
            ledger.import_lines(wire_lines(records), "p")
        cut = list(lines(original, as_of=as_of))
        with closing(Ledger(copy)) as ledger:
            try:
                ledger.import_lines(cut, "auditor")
            except ImportRejected:
                # An event dated before one it rests on (an acceptance before its application)
                # cannot be appended without it: only histories that date events back have those.
                assert backdated
                return
        for name in COURSES:
            mine, theirs = read(original, name, as_of=as_of), read(copy, name, as_of=as_of)
            assert admission(theirs) == admission(mine)
            assert gradebook(theirs) == gradebook(mine)
            assert roster(theirs) == roster(mine)
            assert exam(theirs) == exam(mine)
            assert course_status(theirs) == course_status(mine)


def test_a_cut_as_of_that_keeps_an_event_dated_before_one_it_rests_on_is_refused_by_the_import(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    s = Script(store)
    s.open()
    s.add("ApplicationSubmitted", "2025-03-10T10:00:00+01:00", student="231009", name="Zuse", email="z@x",
          programme="bachelor", prerequisite="ML", statement="")  # fmt: skip
    # Recorded after the application, dated five days before it: the ledger allows it, the views skip it.
    s.add("ApplicationAccepted", "2025-03-05T10:00:00+01:00", recorded_at="2025-03-10T11:00:00+01:00", student="231009")
    s.flush()
    out = tmp_path / "cut.jsonl"
    assert run(store, "export", "events", "--as-of", "2025-03-07T00:00", "-o", str(out)).exit_code == 0
    copy = str(tmp_path / "copy.sqlite")
    refused = run(copy, "import", str(out))
    assert refused.exit_code == 1
    assert "line 2: refused by rule unknown-student: student '231009' has not applied" in refused.output
    assert not Path(copy).exists() or count(copy) == 0


def test_a_cut_before_a_later_erasure_says_it_carries_material_without_keys(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    assert run(store, "import", str(SAMPLE)).exit_code == 0
    before = run(store, "export", "events", "-o", str(tmp_path / "before.jsonl"))
    assert before.exit_code == 0 and "note:" not in before.stderr  # nothing erased yet: every key travels
    erased = run(store, "erase-material")
    assert erased.exit_code == 0, erased.output
    now = datetime.now(UTC).isoformat()
    whole = run(store, "export", "events", "-o", str(tmp_path / "whole.jsonl"))
    assert whole.exit_code == 0 and "note:" not in whole.stderr  # the erasure travels with the material
    cut = run(store, "export", "events", "--known-at", now, "-o", str(tmp_path / "cut.jsonl"))
    assert cut.exit_code == 0 and "note:" not in cut.stderr  # the cut holds the erasure
    applications = sum('"ApplicationSubmitted"' in line for line in SAMPLE.read_text().splitlines())
    recorded = datetime.fromisoformat(json.loads((tmp_path / "before.jsonl").read_text().splitlines()[-1])["recorded_at"])
    then = (recorded + timedelta(microseconds=1)).isoformat()
    past = run(store, "export", "events", "--known-at", then, "-o", str(tmp_path / "past.jsonl"))
    assert past.exit_code == 0, past.output
    assert f"note: the material of {applications} application(s) in this cut was erased after it" in past.stderr
    for name, verified in (("whole", 0), ("past", 1)):
        copy = str(tmp_path / f"{name}.sqlite")
        assert run(copy, "import", str(tmp_path / f"{name}.jsonl")).exit_code == 0
        checked = run(copy, "verify")
        assert checked.exit_code == verified, checked.output
    assert "is missing, and no erasure destroyed it" in checked.output

"""The shipped sample semester (samples/idl-2025.jsonl): current, well-formed, plausible, importable."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from ledger import events as ev

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
SHIPPED = SAMPLES / "idl-2025.jsonl"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_semester", SAMPLES / "make_semester.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_semester", module)
    spec.loader.exec_module(module)
    return module


make_semester = _load_script()


@pytest.fixture(scope="module")
def raw_lines() -> list[bytes]:
    return SHIPPED.read_bytes().splitlines()


@pytest.fixture(scope="module")
def decoded(raw_lines: list[bytes]) -> list[tuple[str, ev.Event]]:
    """(id, event) per line, each event decoded as the wire format's union."""
    out = []
    for line in raw_lines:
        fields: dict[str, Any] = msgspec.json.decode(line)
        line_id = fields.pop("id")
        out.append((line_id, msgspec.json.decode(msgspec.json.encode(fields), type=ev.AnyEvent)))
    return out


@pytest.fixture(scope="module")
def semester() -> Any:
    return make_semester.generate()


def _of(decoded: list[tuple[str, ev.Event]], cls: type[ev.Event]) -> list[Any]:
    return [e for _, e in decoded if isinstance(e, cls)]


def test_shipped_file_is_what_the_script_writes_now(tmp_path: Path) -> None:
    written = make_semester.main(tmp_path / "idl-2025.jsonl")
    assert written.read_bytes() == SHIPPED.read_bytes(), (
        "samples/idl-2025.jsonl is stale: run .venv/bin/python samples/make_semester.py"
    )
    assert b"".join(make_semester.lines()) == SHIPPED.read_bytes()  # and it is deterministic


def test_every_line_decodes_as_an_event_with_an_explicit_id(
    raw_lines: list[bytes], decoded: list[tuple[str, ev.Event]]
) -> None:
    assert 900 <= len(raw_lines) <= 1500
    ids = [i for i, _ in decoded]
    assert ids == [str(make_semester.line_id(n)) for n in range(1, len(ids) + 1)]
    assert len(set(ids)) == len(ids)
    for line in raw_lines:
        assert line.startswith(b'{"id":"'), "the id comes first in every object"
    assert {e.course for _, e in decoded} == {"idl-2025"}
    assert not _of(decoded, ev.ApplicationMaterialErased)


def test_instants_carry_berlin_offsets_and_lines_are_chronological(
    decoded: list[tuple[str, ev.Event]],
) -> None:
    ats = [e.at for _, e in decoded]
    assert ats == sorted(ats)
    dst = datetime.fromisoformat("2025-03-30T03:00:00+02:00")
    for at in ats:
        assert at.utcoffset() == timedelta(hours=2 if at >= dst else 1), at


def test_admission_facts(decoded: list[tuple[str, ev.Event]]) -> None:
    opened = _of(decoded, ev.CourseOpened)
    assert len(opened) == 1 and opened[0].capacity == 60
    assert [(g.id, g.slot, g.capacity) for g in opened[0].groups] == [
        ("g1", "Thu 11:00", 30),
        ("g2", "Fri 13:00", 30),
    ]
    deadline = opened[0].application_deadline
    applications = _of(decoded, ev.ApplicationSubmitted)
    assert 65 <= len(applications) <= 75
    late = {a.student for a in applications if a.at > deadline}
    assert len(late) == 3
    accepted = [a.student for a in _of(decoded, ev.ApplicationAccepted)]
    rejected = [r.student for r in _of(decoded, ev.ApplicationRejected)]
    assert len(accepted) == 60 == len(set(accepted))
    assert set(accepted) | set(rejected) == {a.student for a in applications}
    assert not set(accepted) & set(rejected)
    assert len(late & set(accepted)) == 2
    # Every on-time application is decided before the first late acceptance.
    decided = {
        e.student: e.at
        for e in _of(decoded, ev.ApplicationAccepted) + _of(decoded, ev.ApplicationRejected)
    }
    first_late_acceptance = min(decided[s] for s in late & set(accepted))
    assert all(
        decided[a.student] < first_late_acceptance for a in applications if a.student not in late
    )
    assert 1 <= len(_of(decoded, ev.ApplicationWithdrawn)) <= 2


def test_coursework_facts(decoded: list[tuple[str, ev.Event]]) -> None:
    published = _of(decoded, ev.AssignmentPublished)
    assert [p.assignment for p in published] == [f"A{k:02d}" for k in range(1, 13)]
    changes = _of(decoded, ev.DeadlineChanged)
    assert [(c.assignment, c.deadline - published[4].deadline) for c in changes] == [
        ("A05", timedelta(days=2))
    ]
    deadlines = {p.assignment: p.deadline for p in published} | {
        c.assignment: c.deadline for c in changes
    }
    hand_ins = _of(decoded, ev.SubmissionHandedIn)
    assert sum(1 for h in hand_ins if h.at > deadlines[h.assignment]) >= 3
    assert all(1 <= len(h.team) <= 3 for h in hand_ins)
    outcomes = Counter(p.outcome for p in _of(decoded, ev.PresentationRecorded))
    assert outcomes["explained"] > outcomes["failed_to_explain"] > 0 and outcomes["absent"] > 0
    verdicts = Counter(a.verdict for a in _of(decoded, ev.SubmissionAssessed))
    assert verdicts["sufficient"] and verdicts["insufficient_effort"] and verdicts["uncited_copy"]
    excuses = _of(decoded, ev.ExcuseGranted)
    assert 3 <= len(excuses) <= 4 and all(e.certificate.strip() for e in excuses)
    assert len(_of(decoded, ev.CourseworkClosed)) == 1
    grades = [g.grade for g in _of(decoded, ev.ExamGraded)]
    assert set(grades) <= set(ev.GRADES) and 5.0 in grades


def test_one_retraction_of_a_presentation_and_one_of_a_hand_in(
    decoded: list[tuple[str, ev.Event]],
) -> None:
    by_id = dict(decoded)
    retracted = [by_id[str(r.event)] for r in _of(decoded, ev.EventRetracted)]
    assert sorted(type(e).__name__ for e in retracted) == [
        "PresentationRecorded",
        "SubmissionHandedIn",
    ]


def test_designated_students_end_as_intended(semester: Any) -> None:
    fails = make_semester.standing(semester.sorted_entries(), make_semester.CLOSED_AT)
    role = semester.by_role
    assert {s for s, f in fails.items() if len(f) > 2} == {role["excluded_1"], role["excluded_2"]}
    assert {s for s, f in fails.items() if len(f) == 2} == {role["at_risk_1"], role["at_risk_2"]}
    registered = {
        e.event.student for e in semester.entries if isinstance(e.event, ev.ExamRegistered)
    }
    assert registered == {s for s, f in fails.items() if len(f) <= 2}


def test_the_importer_takes_the_whole_file(
    tmp_path: Path, raw_lines: list[bytes], semester: Any
) -> None:
    """All or nothing: a single broken rule would refuse the whole sample."""
    from ledger import coursework
    from ledger.app import Ledger

    ledger = Ledger(str(tmp_path / "ledger.sqlite"))
    imported = ledger.import_lines(raw_lines, "sample")
    assert len(imported.recorded) == len(raw_lines)
    assert not ledger.import_lines(raw_lines, "sample").recorded  # ids make it idempotent
    course = ledger.course("idl-2025")
    clock = make_semester.CLOSED_AT
    status = {
        s: coursework.admission_status(course, s, coursework.outcomes(course, s, clock))
        for s in course.participants()
    }
    role = semester.by_role
    assert sorted(s for s, v in status.items() if v == "excluded") == sorted(
        [role["excluded_1"], role["excluded_2"]]
    )
    june = make_semester.local(2025, 6, 1, 12, 0)
    view = course.view(as_of=june)
    at_risk = {
        s
        for s in view.participants()
        if coursework.admission_status(view, s, coursework.outcomes(view, s, june)) == "at_risk"
    }
    assert {role["at_risk_1"], role["at_risk_2"]} <= at_risk

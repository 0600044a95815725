"""The wire format of SPEC §3, pinned by a golden file: one line of every event type.

A renamed tag, a renamed or added field, or a changed type breaks one of these
tests; history written in the old format would otherwise stop importing.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import msgspec
import pytest

from ledger import events as ev
from ledger import vault, wire
from ledger.app import Ledger
from projections.events import lines as export_lines
from projections.runner import Views
from tests.cli_helpers import run

GOLDEN = Path(__file__).parent / "golden" / "events.jsonl"
GOLDEN_LINES = GOLDEN.read_bytes().splitlines()

SPEC_TYPES = {
    "CourseOpened",
    "ApplicationSubmitted",
    "ApplicationAccepted",
    "ApplicationRejected",
    "ApplicationWithdrawn",
    "GroupPreferenceRegistered",
    "GroupsAllocated",
    "GroupChanged",
    "GroupVisited",
    "AssignmentPublished",
    "DeadlineChanged",
    "SubmissionHandedIn",
    "PresentationRecorded",
    "SubmissionAssessed",
    "ExcuseGranted",
    "ExtensionGranted",
    "EventRetracted",
    "CourseworkClosed",
    "ExamRegistered",
    "ExamGraded",
    "ApplicationMaterialErased",
}

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))
C = "idl-2025"


def gid(n: int) -> UUID:
    return UUID(f"5e0f1a2b-{n:04d}-4c3d-8e4f-a1b2c3d4e5{n:02d}")


EXPECTED: list[tuple[UUID, ev.Event]] = [
    (gid(1), ev.CourseOpened(
        course=C, at=datetime(2025, 3, 3, 9, 0, tzinfo=CET), title="Introduction to Deep Learning",
        timezone="Europe/Berlin", capacity=60,
        application_deadline=datetime(2025, 4, 4, 23, 59, tzinfo=CEST),
        registration_deadline=datetime(2025, 4, 11, 12, 0, tzinfo=CEST),
        max_fails=2, max_team_size=3,
        groups=(ev.Group("g1", "Thu 11:00", 30), ev.Group("g2", "Fri 13:00", 30)),
    )),
    (gid(2), ev.ApplicationSubmitted(
        course=C, at=datetime(2025, 3, 20, 14, 12, tzinfo=CET), student="231045", name="Ada Lovelace",
        email="ada.lovelace@st.ovgu.de", programme="master", prerequisite="Machine Learning (passed)",
        statement="I want to understand backpropagation properly.",
    )),
    (gid(3), ev.ApplicationSubmitted(
        course=C, at=datetime(2025, 3, 21, 8, 30, tzinfo=CET), student="231046", name="Grace Hopper",
        email="grace.hopper@st.ovgu.de", programme="bachelor", prerequisite="Linear Algebra (passed)",
        statement="Compilers today, neural networks tomorrow.",
    )),
    (gid(4), ev.ApplicationSubmitted(
        course=C, at=datetime(2025, 4, 4, 23, 59, tzinfo=CEST), student="231047", name="Alan Turing",
        email="alan.turing@st.ovgu.de", programme="bachelor", prerequisite="Machine Learning (passed)",
        statement="",
    )),
    (gid(5), ev.ApplicationAccepted(course=C, at=datetime(2025, 4, 7, 10, 0, tzinfo=CEST), student="231045")),
    (gid(6), ev.ApplicationRejected(
        course=C, at=datetime(2025, 4, 7, 10, 5, tzinfo=CEST), student="231046",
        reason="prerequisite Machine Learning missing",
    )),
    (gid(7), ev.ApplicationWithdrawn(
        course=C, at=datetime(2025, 4, 6, 18, 0, tzinfo=CEST), student="231047", reason="changed programme",
    )),
    (gid(8), ev.GroupPreferenceRegistered(
        course=C, at=datetime(2025, 4, 8, 9, 30, tzinfo=CEST), student="231045", priorities=("g2", "g1"),
    )),
    (gid(9), ev.GroupsAllocated(
        course=C, at=datetime(2025, 4, 11, 13, 0, tzinfo=CEST), allocation={"231045": "g2"}, seed=2025,
    )),
    (gid(10), ev.GroupChanged(
        course=C, at=datetime(2025, 4, 15, 8, 0, tzinfo=CEST), student="231045", group="g1",
        reason="timetable clash",
    )),
    (gid(30), ev.GroupVisited(
        course=C, at=datetime(2025, 4, 16, 10, 0, tzinfo=CEST), student="231045", group="g2", week=2,
        reason="a doctor's appointment on Thursday",
    )),
    (gid(11), ev.AssignmentPublished(
        course=C, at=datetime(2025, 4, 7, 12, 0, tzinfo=CEST), assignment="A01", title="Linear regression",
        deadline=datetime(2025, 4, 14, 10, 0, tzinfo=CEST),
    )),
    (gid(12), ev.DeadlineChanged(
        course=C, at=datetime(2025, 4, 13, 20, 0, tzinfo=CEST), assignment="A01",
        deadline=datetime(2025, 4, 15, 10, 0, tzinfo=CEST), reason="server outage",
    )),
    (gid(13), ev.SubmissionHandedIn(
        course=C, at=datetime(2025, 4, 15, 9, 58, 30, 250000, tzinfo=CEST), assignment="A01",
        team=("231045",), digest="sha256:9f86d081884c7d659a2feaa0c55ad015",
    )),
    (gid(14), ev.PresentationRecorded(
        course=C, at=datetime(2025, 4, 17, 11, 20, tzinfo=CEST), assignment="A01", student="231045",
        outcome="explained",
    )),
    (gid(15), ev.SubmissionAssessed(
        course=C, at=datetime(2025, 4, 17, 11, 25, tzinfo=CEST), assignment="A01", student="231045",
        verdict="sufficient", note="clean vectorised solution",
    )),
    (gid(16), ev.ExcuseGranted(
        course=C, at=datetime(2025, 4, 18, 9, 0, tzinfo=CEST), student="231045", assignments=("A01",),
        certificate="AU-2025-0412", reason="illness",
    )),
    (gid(17), ev.EventRetracted(
        course=C, at=datetime(2025, 4, 19, 9, 0, tzinfo=CEST), event=gid(16),
        reason="the certificate covers another week",
    )),
    (gid(22), ev.ExtensionGranted(
        course=C, at=datetime(2025, 4, 16, 9, 0, tzinfo=CEST), student="231045", assignment="A01",
        deadline=datetime(2025, 4, 18, 10, 0, tzinfo=CEST), reason="ill for three days", certificate="AU-2025-0415",
    )),
    (gid(23), ev.AssignmentPublished(
        course=C, at=datetime(2025, 4, 14, 12, 0, tzinfo=CEST), assignment="A02", title="Backpropagation",
        deadline=datetime(2025, 4, 21, 10, 0, tzinfo=CEST), transfer=True,
    )),
    (gid(24), ev.SubmissionHandedIn(
        course=C, at=datetime(2025, 4, 20, 22, 10, tzinfo=CEST), assignment="A02", team=("231045",), digest=None,
    )),
    (gid(25), ev.SubmissionAssessed(
        course=C, at=datetime(2025, 4, 24, 11, 0, tzinfo=CEST), assignment="A02", student="231045",
        verdict="transfer_missing", note="no comparison with the closed-form solution",
    )),
    (gid(18), ev.CourseworkClosed(course=C, at=datetime(2025, 7, 15, 0, 0, tzinfo=CEST))),
    (gid(19), ev.ExamRegistered(
        course=C, at=datetime(2025, 7, 16, 10, 0, tzinfo=CEST), student="231045", mode="graded",
    )),
    (gid(20), ev.ExamGraded(course=C, at=datetime(2025, 7, 30, 14, 0, tzinfo=CEST), student="231045", grade=1.7)),
    (gid(21), ev.ApplicationMaterialErased(
        course=C, at=datetime(2025, 7, 31, 9, 0, tzinfo=CEST), students=("231045", "231046", "231047"),
    )),
]  # fmt: skip


S, T, N, U, NO = str, datetime, int, UUID, msgspec.NODEFAULT
TUPLE = tuple[str, ...]

# Every field of every event: name, type and default, in order (SPEC §3). A changed type
# that still reads the golden values (say `grade: float | str`) is caught here.
FIELDS: dict[str, list[tuple[str, Any, Any]]] = {
    "CourseOpened": [("title", S, NO), ("timezone", S, NO), ("capacity", N, NO), ("application_deadline", T, NO),
                     ("registration_deadline", T, NO), ("groups", tuple[ev.Group, ...], NO),
                     ("max_fails", N, 2), ("max_team_size", N, 3)],
    "ApplicationSubmitted": [("student", S, NO), ("name", S, NO), ("email", S, NO),
                             ("programme", Literal["bachelor", "master"], NO), ("prerequisite", S, NO),
                             ("statement", S, "")],
    "ApplicationAccepted": [("student", S, NO)],
    "ApplicationRejected": [("student", S, NO), ("reason", S, NO)],
    "ApplicationWithdrawn": [("student", S, NO), ("reason", S, NO)],
    "GroupPreferenceRegistered": [("student", S, NO), ("priorities", TUPLE, NO)],
    "GroupsAllocated": [("allocation", dict[str, str], NO), ("seed", N, 0)],
    "GroupChanged": [("student", S, NO), ("group", S, NO), ("reason", S, NO)],
    "GroupVisited": [("student", S, NO), ("group", S, NO), ("week", N, NO), ("reason", S, NO)],
    "AssignmentPublished": [("assignment", S, NO), ("title", S, NO), ("deadline", T, NO), ("transfer", bool, False)],
    "DeadlineChanged": [("assignment", S, NO), ("deadline", T, NO), ("reason", S, NO)],
    "SubmissionHandedIn": [("assignment", S, NO), ("team", TUPLE, NO), ("digest", str | None, None)],
    "PresentationRecorded": [("assignment", S, NO), ("student", S, NO),
                             ("outcome", Literal["explained", "failed_to_explain", "absent"], NO)],
    "SubmissionAssessed": [("assignment", S, NO), ("student", S, NO),
                           ("verdict", Literal["sufficient", "insufficient_effort", "uncited_copy", "transfer_missing"], NO),
                           ("note", S, "")],
    "ExcuseGranted": [("student", S, NO), ("assignments", TUPLE, NO), ("certificate", S, NO),
                      ("reason", Literal["illness"], "illness")],
    "ExtensionGranted": [("student", S, NO), ("assignment", S, NO), ("deadline", T, NO), ("reason", S, NO),
                         ("certificate", S, "")],
    "EventRetracted": [("event", U, NO), ("reason", S, NO)],
    "CourseworkClosed": [],
    "ExamRegistered": [("student", S, NO), ("mode", Literal["graded", "certificate"], NO)],
    "ExamGraded": [("student", S, NO), ("grade", float, NO)],
    "ApplicationMaterialErased": [("students", TUPLE, NO)],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SPEC_TYPES))
def test_fields_of_each_type_are_pinned(name: str) -> None:
    fields = [(f.name, f.type, f.default) for f in msgspec.structs.fields(ev.EVENT_TYPES[name])]
    assert fields == [("course", S, NO), ("at", T, NO), *FIELDS[name]]


def test_group_fields_are_pinned() -> None:
    assert [(f.name, f.type) for f in msgspec.structs.fields(ev.Group)] == [("id", S), ("slot", S), ("capacity", N)]


def assert_same(actual: Any, expected: Any, where: str = "$") -> None:
    """Equal, and of the same type all the way down (1 is not 1.0, a list is not a tuple)."""
    assert type(actual) is type(expected), f"{where}: {type(actual).__name__} is not {type(expected).__name__}"
    if isinstance(expected, msgspec.Struct):
        for name in expected.__struct_fields__:
            assert_same(getattr(actual, name), getattr(expected, name), f"{where}.{name}")
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}[{i}]")
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), where
        for k in expected:
            assert_same(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, datetime):
        assert actual == expected, where
        assert actual.utcoffset() == expected.utcoffset(), f"{where}: offset"
    else:
        assert actual == expected, where


def test_event_types_are_the_spec_types() -> None:
    assert set(ev.EVENT_TYPES) == SPEC_TYPES
    assert len(ev.EVENT_TYPES) == 21
    for name, cls in ev.EVENT_TYPES.items():
        assert cls.__struct_config__.tag == name


def test_golden_has_every_type_in_a_valid_order() -> None:
    assert len(GOLDEN_LINES) == len(EXPECTED)
    assert {ev.type_name(e) for _, e in EXPECTED} == SPEC_TYPES
    assert ev.type_name(EXPECTED[0][1]) == "CourseOpened"
    for raw in GOLDEN_LINES:
        assert "id" in json.loads(raw)


@pytest.mark.parametrize(
    "raw, expected", list(zip(GOLDEN_LINES, EXPECTED, strict=True)), ids=[ev.type_name(e) for _, e in EXPECTED]
)
def test_golden_line_decodes_to_exact_struct(raw: bytes, expected: tuple[UUID, ev.Event]) -> None:
    event_id, event = expected
    line = wire.decode_line(raw)
    assert line.id == event_id
    assert (line.seq, line.recorded_at, line.recorded_by, line.salt, line.keys) == (None, None, None, None, None)
    assert_same(line.event, event)


@pytest.mark.parametrize(
    "raw, expected", list(zip(GOLDEN_LINES, EXPECTED, strict=True)), ids=[ev.type_name(e) for _, e in EXPECTED]
)
def test_struct_encodes_to_the_golden_fields(raw: bytes, expected: tuple[UUID, ev.Event]) -> None:
    """The other direction: an event writes exactly the golden line's fields (no more, no fewer)."""
    golden = json.loads(raw)
    del golden["id"]
    written = json.loads(wire.line_encoder.encode(expected[1]))
    assert written.keys() == golden.keys()
    assert written["type"] == golden["type"]
    for key in ("course", "at"):
        assert key in written


def test_unknown_field_and_unknown_type_are_refused_by_the_decoder() -> None:
    raw = json.loads(GOLDEN_LINES[4])
    with pytest.raises(msgspec.ValidationError, match="unknown field `grade`"):
        wire.decode_line(json.dumps({**raw, "grade": 1.0}))
    with pytest.raises(msgspec.ValidationError, match=r"\$\.type"):
        wire.decode_line(json.dumps({**raw, "type": "ApplicationAcceptedd"}))
    with pytest.raises(msgspec.ValidationError, match=r"\$\.student"):
        wire.decode_line(json.dumps({**raw, "student": 231045}))


def _import_golden(tmp_path: Path, lines: list[bytes]) -> list[wire.Line]:
    path = str(tmp_path / "golden.sqlite")
    ledger = Ledger(path)
    try:
        imported = ledger.import_lines(lines, "tester")
        assert len(imported.recorded) == len(lines) and imported.skipped == 0
        return [wire.decode_line(line) for line in export_lines(Views.of(ledger))]
    finally:
        ledger.close()


def test_golden_before_erasure_reexports_the_same_events(tmp_path: Path) -> None:
    exported = _import_golden(tmp_path, GOLDEN_LINES[:-1])
    assert [line.id for line in exported] == [i for i, _ in EXPECTED[:-1]]
    assert [line.seq for line in exported] == list(range(1, len(EXPECTED)))
    assert {line.recorded_by for line in exported} == {"tester"}
    assert [line.event for line in exported] == [e for _, e in EXPECTED[:-1]]
    for line in exported:
        for name in ev.datetime_fields(type(line.event)):
            assert getattr(line.event, name).utcoffset() == timedelta(0)  # stored in UTC


def test_golden_reexports_the_same_events_with_material_erased(tmp_path: Path) -> None:
    exported = _import_golden(tmp_path, GOLDEN_LINES)
    assert [line.id for line in exported] == [i for i, _ in EXPECTED]
    assert [line.seq for line in exported] == list(range(1, len(EXPECTED) + 1))
    for line, (_, expected) in zip(exported, EXPECTED, strict=True):
        if not isinstance(expected, ev.ApplicationSubmitted):
            assert line.event == expected
            continue
        assert isinstance(line.event, ev.ApplicationSubmitted)
        admitted = expected.student == "231045"
        material = {"statement"} if admitted else {"name", "email", "statement"}
        # What is not material is unchanged; material is a sealed token that no key opens.
        assert msgspec.structs.replace(line.event, **{f: "" for f in material}) == msgspec.structs.replace(
            expected, **{f: "" for f in material}
        )
        for field in material:
            assert vault.is_sealed(getattr(line.event, field)), field
        assert set(line.keys or {}) == ({vault.IDENTITY} if admitted else set())


def test_schema_is_json_naming_every_type(tmp_path: Path) -> None:
    result = run(str(tmp_path / "unused.sqlite"), "schema")
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    for name in SPEC_TYPES:
        assert name in result.stdout
        definition = schema["$defs"][name + "Line"]
        assert definition["properties"]["type"] == {"enum": [name]}
        assert {"course", "at"} <= set(definition["required"])
        assert definition["additionalProperties"] is False
    assert len(schema["anyOf"]) == 21
    # The envelope's leaf salt (ADR 18): 16 bytes in base64.
    salt = schema["$defs"]["ExamGradedLine"]["properties"]["salt"]["anyOf"][0]
    assert salt["contentEncoding"] == "base64" and salt["minLength"] == salt["maxLength"] == 24
    assert not (tmp_path / "unused.sqlite").exists()  # printing the schema opens no store

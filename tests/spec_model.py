"""A small, separate model of SPEC §5, written from the SPEC's text and not from the code.

It reads the wire format (SPEC §3: one JSON object per event, with the export's
envelope `id`, `seq`, `recorded_at`) and nothing of the project but the
standard library, so that a mistake in `ledger/` cannot be copied into it.
The property test (`tests/test_spec_model.py`) holds the read side to it.

Each function cites the sentence of the SPEC it implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

Line = dict[str, Any]

NEGATIVE_VERDICTS = ("uncited_copy", "insufficient_effort", "transfer_missing")
NEGATIVE_PRESENTATIONS = ("failed_to_explain", "absent")
# "failed with the first reason that applies", in the SPEC's order.
REASONS_IN_ORDER = ("uncited_copy", "insufficient_effort", "transfer_missing", "failed_to_explain", "absent")


def instant(text: str) -> datetime:
    """An instant of the wire format (RFC 3339, `Z` for UTC)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Model:
    """One course's events as a view under a clock sees them (SPEC §2)."""

    live: list[Line]  # in view, not retracted, not retractions; in position order
    as_of: datetime

    @classmethod
    def of(cls, lines: list[Line], course: str, as_of: datetime, known_at: datetime | None = None) -> Model:
        """`--as-of T` sees events whose `at <= T`; `--known-at K` only what was recorded by K.

        "Retractions apply in every view that has recorded them."
        """
        mine = [x for x in lines if x["course"] == course]
        recorded = [x for x in mine if known_at is None or instant(x["recorded_at"]) <= known_at]
        retracted = {x["event"] for x in recorded if x["type"] == "EventRetracted"}
        live = [
            x
            for x in recorded
            if x["type"] != "EventRetracted" and x["id"] not in retracted and instant(x["at"]) <= as_of
        ]
        return cls(sorted(live, key=lambda x: x["seq"]), as_of)

    def of_type(self, kind: str, **fields: Any) -> list[Line]:
        return [x for x in self.live if x["type"] == kind and all(x.get(k) == v for k, v in fields.items())]

    @staticmethod
    def latest(lines: list[Line]) -> Line | None:
        """"Latest" means greatest `at`, then greatest position."""
        return max(lines, key=lambda x: (instant(x["at"]), x["seq"]), default=None)

    # -- who --------------------------------------------------------------------

    def applicants(self) -> list[str]:
        return [x["student"] for x in self.of_type("ApplicationSubmitted")]

    def accepted_at(self, student: str) -> datetime | None:
        if student not in self.applicants():
            return None
        accepted = self.of_type("ApplicationAccepted", student=student)
        return instant(accepted[0]["at"]) if accepted else None

    def withdrawn(self, student: str) -> bool:
        return bool(self.of_type("ApplicationWithdrawn", student=student))

    def admitted(self) -> list[str]:
        """Everyone accepted (the admission export lists the withdrawn too)."""
        return [s for s in self.applicants() if self.accepted_at(s) is not None]

    def participants(self) -> list[str]:
        """"Participants are accepted applicants not withdrawn." """
        return [s for s in self.admitted() if not self.withdrawn(s)]

    # -- what -------------------------------------------------------------------

    def assignments(self) -> list[str]:
        """Published assignments, in the order they were published."""
        return [x["assignment"] for x in self.of_type("AssignmentPublished")]

    def course_deadline(self, assignment: str) -> datetime:
        """"the course's deadline of a (the latest DeadlineChanged, else the published one)" """
        changed = self.latest(self.of_type("DeadlineChanged", assignment=assignment))
        if changed is not None:
            return instant(changed["deadline"])
        return instant(self.of_type("AssignmentPublished", assignment=assignment)[0]["deadline"])

    def deadline(self, student: str, assignment: str) -> datetime:
        """"the latest extension for (s, a) in view, else the course's deadline of a" — and, from
        issue 11 (newer than the SPEC), "an extension never turns a pass into a fail": where a
        later course-wide move overtook the extension, the course's deadline counts."""
        course = self.course_deadline(assignment)
        extension = self.latest(self.of_type("ExtensionGranted", student=student, assignment=assignment))
        return max(instant(extension["deadline"]), course) if extension is not None else course

    def outcome(self, student: str, assignment: str) -> str:
        """SPEC §5's outcome of `assignment` for `student`, as the gradebook writes it."""
        accepted_at = self.accepted_at(student)
        assert accepted_at is not None
        if self.course_deadline(assignment) < accepted_at:
            return "exempt"
        deadline = self.deadline(student, assignment)
        hand_ins = [x for x in self.of_type("SubmissionHandedIn", assignment=assignment) if student in x["team"]]
        on_time = [x for x in hand_ins if instant(x["at"]) <= deadline]
        presentation = self.latest(self.of_type("PresentationRecorded", assignment=assignment, student=student))
        assessment = self.latest(self.of_type("SubmissionAssessed", assignment=assignment, student=student))
        shown = presentation["outcome"] if presentation else None
        verdict = assessment["verdict"] if assessment else None
        if on_time and shown not in NEGATIVE_PRESENTATIONS and verdict not in NEGATIVE_VERDICTS:
            return "passed"
        if any(assignment in x["assignments"] for x in self.of_type("ExcuseGranted", student=student)):
            return "excused"
        if on_time:
            reason = next(r for r in REASONS_IN_ORDER if r in (verdict, shown))
            return f"failed:{reason}"
        if self.as_of > deadline:
            return "failed:late" if hand_ins else "failed:missed_deadline"
        return "open"

    def status(self, student: str, outcomes: dict[str, str]) -> str:
        """"Admission status: withdrawn; else excluded if fails > max_fails; else admitted once
        CourseworkClosed is in view; else at_risk if fails == max_fails; else on_track." """
        fails = sum(1 for o in outcomes.values() if o.startswith("failed"))
        most = self.of_type("CourseOpened")[0].get("max_fails", 2)
        if self.withdrawn(student):
            return "withdrawn"
        if fails > most:
            return "excluded"
        if self.of_type("CourseworkClosed"):
            return "admitted"
        return "at_risk" if fails == most else "on_track"


@dataclass(frozen=True)
class Row:
    """What the model says of one admitted student."""

    outcomes: dict[str, str]  # by assignment, in publication order
    status: str
    reasons: str  # A03:late;A05:absent, in assignment order


def rows(model: Model) -> dict[str, Row]:
    """Every admitted student's outcomes, status and reasons (none before the course opens)."""
    result: dict[str, Row] = {}
    if not model.of_type("CourseOpened"):
        return result
    for student in model.admitted():
        outcomes = {a: model.outcome(student, a) for a in model.assignments()}
        reasons = ";".join(f"{a}:{o.removeprefix('failed:')}" for a, o in outcomes.items() if o.startswith("failed"))
        result[student] = Row(outcomes, model.status(student, outcomes), reasons)
    return result

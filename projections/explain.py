"""Why a student's status and outcomes are what they are, citing the events behind them (SPEC §5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import coursework
from ledger import events as ev
from ledger.events import Recorded
from projections.log import describe
from projections.reading import Reading, participant
from projections.status import Standing, standing

CITED = ("failed", "excused", "exempt")  # outcomes that cite their evidence; the rest name the rule


def cited(outcome: coursework.Outcome) -> tuple[Recorded, ...]:
    """The evidence an explanation cites: a fail's, excuse's or exemption's, and whatever rests on an extension."""
    if outcome.kind in CITED or any(isinstance(r.event, ev.ExtensionGranted) for r in outcome.evidence):
        return outcome.evidence
    return ()


@dataclass(frozen=True, slots=True)
class Citation:
    """One event as evidence: where it is, what it says, and who recorded it when."""

    position: int
    event: str  # its type
    at: datetime  # in the course's time zone
    says: str
    id: UUID
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True, slots=True)
class Explained:
    """One assignment's outcome, its rule, and (for fails, excuses, exemptions, extensions) its evidence."""

    assignment: str
    kind: str  # passed / failed / excused / exempt / open
    reason: str  # for a fail: uncited_copy … missed_deadline
    rule: str
    evidence: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """A participant's standing at the clock, what it rests on, and why each outcome is what it is."""

    standing: Standing
    name: str
    as_of: datetime
    known_at: datetime | None
    grounds: tuple[Citation, ...]  # the withdrawal, or the closing of coursework, that the status rests on
    outcomes: tuple[Explained, ...]


def explain(reading: Reading, student: str) -> Explanation:
    """The status of `student` and, per assignment, the outcome and the records behind it."""
    course = reading.whole()
    application = participant(course, student)
    at = reading.as_of
    results = coursework.outcomes(course, student, at)
    stands = standing(course, student, at, results)
    grounds = (application.withdrawn, course.closed if stands.status == "admitted" else None)

    def cite(record: Recorded) -> Citation:
        return Citation(
            record.position, ev.type_name(record.event), reading.local(record.event.at),
            describe(record, reading.timezone), record.id, reading.local(record.recorded_at), record.recorded_by,
        )  # fmt: skip

    return Explanation(
        standing=stands,
        name=reading.names([student]).get(student, ""),
        as_of=reading.local(at),
        known_at=reading.local(reading.clock.known_at) if reading.clock.known_at else None,
        grounds=tuple(cite(r) for r in grounds if r is not None),
        outcomes=tuple(
            Explained(o.assignment, o.kind, o.reason, o.rule, tuple(map(cite, cited(o))))
            for o in results
        ),
    )

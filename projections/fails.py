"""Fails per assignment, by reason: how many participants failed each assignment, and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ledger import coursework
from projections.reading import Reading

# The reasons of a fail, in the order SPEC §5 tries them (the write side decides which applies).
REASONS = (
    "uncited_copy",
    "insufficient_effort",
    "transfer_missing",
    "failed_to_explain",
    "absent",
    "late",
    "missed_deadline",
)


@dataclass(frozen=True, slots=True)
class FailCount:
    """How many participants failed one assignment for one reason."""

    assignment: str
    reason: str
    count: int


def reason_order(reason: str) -> tuple[int, str]:
    """Where a reason sorts: SPEC §5's order, any other after them by name."""
    return (REASONS.index(reason) if reason in REASONS else len(REASONS), reason)


def fails_by_reason(reading: Reading) -> list[FailCount]:
    """Per published assignment (in order) and reason, how many current participants failed it.

    Counts the same participants as `status` does per assignment (accepted,
    not withdrawn); reasons that no one failed for are left out.
    """
    course = reading.whole()
    if course.opened is None:
        return []
    counts: dict[str, Counter[str]] = {a: Counter() for a in coursework.assignment_order(course)}
    for student in course.participants():
        for failed in coursework.fails(coursework.outcomes(course, student, reading.as_of)):
            counts[failed.assignment][failed.reason] += 1
    return [
        FailCount(assignment, reason, reasons[reason])
        for assignment, reasons in counts.items()
        for reason in sorted(reasons, key=reason_order)
    ]

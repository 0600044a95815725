"""The admission export (SPEC §5): every admitted student's outcomes and exam admission status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ledger import coursework
from ledger import events as ev
from ledger.groups import groups_at
from projections.reading import Reading


@dataclass(frozen=True, slots=True)
class AdmissionRow:
    """One admitted student (withdrawn ones included): outcome counts, status, and why they failed."""

    student: str
    name: str
    programme: str
    credits: int
    group: str  # in effect at the clock; empty if none
    passed: int
    excused: int
    failed: int
    open: int
    status: str  # on_track / at_risk / excluded / admitted / withdrawn
    reasons: str  # A03:late;A05:absent, in assignment order


def admitted(reading: Reading) -> list[str]:
    """Everyone accepted, withdrawn or not, in order of application."""
    return [s for s, a in reading.course.applications.items() if a.accepted is not None]


def admission(reading: Reading) -> list[AdmissionRow]:
    """Exam admission of every admitted student (SPEC §5), in order of application."""
    course = reading.whole()
    if course.opened is None:
        return []
    at = reading.as_of
    groups = groups_at(course, at)
    students = admitted(reading)
    names = reading.names(students)
    rows = []
    for s in students:
        results = coursework.outcomes(course, s, at)
        count = Counter(o.kind for o in results)
        programme = course.applications[s].event.programme
        rows.append(
            AdmissionRow(
                s, names.get(s, ""), programme, ev.CREDITS[programme], groups.get(s, ""),
                count["passed"], count["excused"], count["failed"], count["open"],
                coursework.admission(course, s, results).status, coursework.reasons(results),
            )
        )  # fmt: skip
    return rows

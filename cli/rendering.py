"""The read models' results as text for people: status summaries, explanations, and tables.

The library (`projections`) returns typed rows; this module lays them out for
a terminal (the tables go through `projections.formats` in any format).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli import terminal
from cli.terminal import Line

if TYPE_CHECKING:
    from projections.explain import Citation, Explanation
    from projections.formats import Table
    from projections.status import CourseStatus, StudentStatus


def student(status: StudentStatus) -> tuple[list[Line], Table]:
    """One student's summary (lines, the status a part that may be coloured) and every assignment's outcome (table)."""
    from projections.formats import table
    from projections.status import KINDS, AssignmentStatus

    who = status.standing
    lines: list[Line] = [
        f"student    {who.student}",
        f"programme  {who.programme} ({who.credits} credits)",
        f"group      {who.group or '-'}",
        ("status     ", terminal.status(who.status), f" ({status.failed} failed; max_fails {status.max_fails})"),
        "outcomes   " + ", ".join(f"{status.counts[k]} {k}" for k in KINDS),
        f"as of      {status.as_of.isoformat()}",
        "",
    ]
    return lines, table(status.assignments, AssignmentStatus, title=f"status {who.student}")


def course(status: CourseStatus) -> tuple[list[Line], Table]:
    """The course at a glance (lines, each status a part that may be coloured) and each assignment's outcome counts (table)."""
    from projections.formats import table
    from projections.status import AssignmentCounts

    sheet = table(status.assignments, AssignmentCounts, title="status")
    if not status.opened:
        return [f"{status.course}: not open at {status.as_of.isoformat()}"], sheet
    closed = f"closed {status.closed.isoformat()}" if status.closed else "open"
    statuses: list[str] = ["status        "]
    for i, (kind, n) in enumerate(status.statuses.items()):
        statuses += [", " if i else "", f"{n} ", terminal.status(kind)]
    lines: list[Line] = [
        f"course        {status.course} ({status.title})",
        f"participants  {status.participants} of {status.capacity} seats; "
        f"{status.applications} applications, {status.undecided} undecided",
        "groups        " + ", ".join(f"{g.group} {g.members}/{g.capacity}" for g in status.groups),
        f"coursework    {closed}; {len(status.assignments)} assignments",
        tuple(statuses),
        f"as of         {status.as_of.isoformat()}",
        "",
    ]
    return lines, sheet


def explanation(why: Explanation) -> list[Line]:
    """A student's status and outcomes, each fail, excuse and exemption with its evidence cited."""
    who = why.standing
    header = (
        f"{who.student} {why.name}, {who.programme} ({who.credits} credits), "
        f"group {who.group or '-'}; as of {why.as_of.isoformat()}"
    )
    if why.known_at is not None:
        header += f", known at {why.known_at.isoformat()}"
    lines: list[Line] = [header, f"status: {who.status} ({who.rule})"]
    lines.extend("  " + cite(c) for c in why.grounds)
    for o in why.outcomes:
        what = f"failed: {o.reason}" if o.kind == "failed" else o.kind
        lines.append(f"{o.assignment} {what} ({o.rule})")
        lines.extend("  " + cite(c) for c in o.evidence)
    return lines


def cite(c: Citation) -> str:
    """One event as evidence: position, type, what it says, id, and who recorded it when."""
    return (
        f"#{c.position} {c.event} at {c.at.isoformat()}: {c.says} "
        f"[id {c.id}; recorded {c.recorded_at.isoformat()} by {c.recorded_by}]"
    )

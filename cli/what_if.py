"""`subledger what-if`: the views under changed rules, with nothing appended (issue 11.3)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from cli.main import Session
from cli.params import INSTANT
from cli.views import Output, output_options, read

if TYPE_CHECKING:
    from projections.what_if import WhatIf


def _deadline(value: str) -> tuple[str, datetime]:
    assignment, sep, when = value.partition("=")
    if not sep or not assignment or not when:
        raise click.BadParameter(f"{value!r} is not ASSIGNMENT=T (e.g. A06=2025-05-20T10:00)", param_hint="--deadline")
    try:
        return assignment, INSTANT.convert(when, None, None)
    except click.BadParameter as error:
        raise click.BadParameter(f"{assignment}: {error.message}", param_hint="--deadline") from None


def _excuse(value: str) -> tuple[str, str]:
    student, sep, assignment = value.partition(":")
    if not sep or not student or not assignment:
        raise click.BadParameter(f"{value!r} is not STUDENT:ASSIGNMENT (e.g. 231045:A03)", param_hint="--excuse")
    return student, assignment


@click.command("what-if")
@click.option("--max-fails", type=click.IntRange(min=0), help="Fails allowed before exclusion.")
@click.option("--max-team-size", type=click.IntRange(min=1), help="Largest team; larger recorded teams' hand-ins count for none.")
@click.option("--deadline", "deadlines", multiple=True, metavar="A=T", help="Assignment A's deadline for the whole course (repeat).")
@click.option("--excuse", "excuses", multiple=True, metavar="S:A", help="Excuse student S from assignment A (repeat).")
@output_options()
@click.pass_obj
def what_if(
    session: Session,
    max_fails: int | None,
    max_team_size: int | None,
    deadlines: tuple[str, ...],
    excuses: tuple[str, ...],
    out: Output,
) -> None:
    """Who would change status or outcome under other rules; appends nothing.

    Evaluates the views as recorded and again with the changed rules, and
    lists every status and outcome that differs: student, name, subject
    (`status` or an assignment), before, after, and the rule that gives
    `after`. On a table, a summary comes first: the changes, how many would
    have each status, and any recorded hand-in the changed rules would have
    refused. Nothing is written to the store, not even the views' cache.

    A smaller --max-team-size treats a recorded hand-in by a larger team as
    the rule would have: refused, counting for none of its members. A
    --deadline is the latest course-wide deadline of its assignment (an
    extension later than it still counts). An --excuse must be one the rules
    would accept (a participant, a published assignment).

    \b
    Example:
      subledger what-if --max-fails 3
      subledger what-if --deadline A06=2025-05-20T10:00 --excuse 231045:A03 --excuse 231046:A03
      subledger what-if --max-team-size 2 --as-of 2025-07-15T00:00 --format json
    """
    from projections.what_if import Changes, Inapplicable
    from projections.what_if import what_if as evaluate

    changes = Changes(
        max_fails=max_fails,
        max_team_size=max_team_size,
        deadlines=tuple(_deadline(d) for d in deadlines),
        excuses=tuple(_excuse(e) for e in excuses),
    )
    reading = read(session, out, writes=False)
    try:
        result = evaluate(reading, changes)
    except Inapplicable as error:
        raise click.BadParameter(str(error), param_hint="--" + error.option) from None
    from projections.formats import table
    from projections.what_if import Change

    out.table(table(result.changes, Change, title="what-if"), summary(result))


# Refused hand-ins listed above the table; the rows' `why` names each one that changes an outcome.
SHOWN = 5


def summary(result: WhatIf) -> list[str]:
    """The lines above the table: what was changed, the statuses before and after, what would be refused."""
    counts = [f"{c.status} {c.before}" + (f" -> {c.after}" if c.after != c.before else "") for c in result.statuses]
    students = len({c.student for c in result.changes})
    known = f", known at {result.known_at.isoformat()}" if result.known_at else ""
    changed = f"{len(result.changes)} (of {students} student{'' if students == 1 else 's'})"
    return [
        f"what if    {'; '.join(result.asked) or 'the rules as recorded'}",
        f"as of      {result.as_of.isoformat()}{known}",
        f"status     {', '.join(counts)}",
        *(f"refused    {r}" for r in result.refused[:SHOWN]),
        *([f"refused    … and {len(result.refused) - SHOWN} more"] if len(result.refused) > SHOWN else []),
        f"changes    {changed if result.changes else 'none: no status or outcome would change'}",
        "",
    ]


COMMANDS: list[Any] = [what_if]

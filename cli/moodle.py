"""`import-moodle`: the hand-ins and extensions of a Moodle grading worksheet (read by `ledger.moodle`)."""

from __future__ import annotations

from typing import IO, Any

import click

from cli import terminal
from cli.main import Session


@click.command("import-moodle")
@click.argument("worksheet", type=click.File("rb"))
@click.option("--assignment", required=True, help="The assignment the worksheet is of.")
@click.option("--skip-bad", is_flag=True, help="Leave the unusable rows out (they are listed) and import the rest.")
@click.option("--dry-run", is_flag=True, help="Show what would be appended; write nothing.")
@click.pass_obj
def import_moodle(session: Session, worksheet: IO[bytes], assignment: str, skip_bad: bool, dry_run: bool) -> None:
    """Record the hand-ins of a Moodle grading worksheet (`-` for stdin), all or nothing.

    Reads the CSV of Moodle's "Download grading worksheet" (English or German)
    and finds each student by the email of their application. A row whose
    status is "Submitted for grading" is a hand-in at its "Last modified
    (submission)", read in the course's time zone (drafts are not); with a
    Group column the team is the group's submitted rows. "Extension granted
    until: DATE" records an extension (ExtensionGranted). Every unusable row
    is listed with its line and why, and nothing is written unless --skip-bad.
    Importing the same worksheet again appends nothing; a later one appends
    the resubmissions.

    \b
    Example:
      subledger import-moodle Grades-IDL-A03-1234.csv --assignment A03 --dry-run
      subledger import-moodle Grades-IDL-A03-1234.csv --assignment A03
      subledger import-moodle Grades-IDL-A03-1234.csv --assignment A03 --skip-bad
    """
    from ledger.events import type_name
    from ledger.moodle import import_worksheet

    result = import_worksheet(
        session.ledger(), worksheet, session.course(), assignment, session.actor, skip_bad=skip_bad, dry_run=dry_run
    )
    for problem in result.skipped:
        terminal.echo(f"skipped: {problem}", err=True)
    for note in result.plan.notes:
        terminal.echo(f"note: {note}", err=True)
    for recorded, planned in result.recorded:
        what = f"{_describe(recorded.event, result.timezone)} ({planned.source})"
        if dry_run:
            terminal.echo(f"would record {type_name(recorded.event)}: {what}")
        else:
            terminal.echo(
                f"recorded {type_name(recorded.event)} at position {recorded.position} (id {recorded.id}): {what}"
            )
    sheet, plan = result.sheet, result.plan
    groups = ", with groups" if sheet.grouped else ""
    terminal.echo(
        f"worksheet: {plan.rows} rows ({sheet.language.name}{groups}): {plan.submitted} submitted, "
        f"{plan.extended} with an extension"
    )
    verb = "would append" if dry_run else "appended"
    count = len(result.recorded)
    skipped = f"; {len(result.skipped)} problem(s) skipped" if skip_bad else ""
    terminal.echo(f"{verb} {count} event{'' if count == 1 else 's'}; {result.already} already in the store{skipped}")


def _describe(event: Any, timezone: str) -> str:
    from ledger import clock
    from ledger import events as ev

    if isinstance(event, ev.ExtensionGranted):
        return f"{event.assignment} for {event.student} until {clock.local(event.deadline, timezone).isoformat()}"
    assert isinstance(event, ev.SubmissionHandedIn)
    return f"{event.assignment} by {', '.join(event.team)} at {clock.local(event.at, timezone).isoformat()}"


COMMANDS: list[Any] = [import_moodle]

"""Commands that read the views: status, log, explain, export, rebuild.

Every read first catches the views up with the ledger (only what is new), then
cuts them to the clock (`--as-of`, `--known-at`) and renders. The output
options are resolved once, by `output_options`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import click

from cli.main import Session
from cli.params import INSTANT
from projections.formats import FORMATS

EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".xlsx": "xlsx", ".txt": "table"}


@dataclass(frozen=True)
class Output:
    """Where and how a command writes, and the clock of the view it shows."""

    fmt: str | None
    as_of: datetime | None
    known_at: datetime | None
    path: str | None

    def clock(self, tz: str) -> Any:
        """The view's clock: instants without an offset are read in the course's zone `tz`.

        `--as-of` defaults to `--known-at` when only that is given (the ledger
        as it was found then), else to now.
        """
        from ledger import clock
        from projections.scope import Clock

        def read(value: datetime | None, option: str) -> datetime | None:
            try:
                return None if value is None else clock.localize(value, tz)
            except clock.BadInstant as error:
                raise click.BadParameter(str(error), param_hint=option) from None

        known_at = read(self.known_at, "--known-at")
        as_of = read(self.as_of, "--as-of") or known_at or clock.now()
        return Clock(as_of, known_at)

    @property
    def format(self) -> str:
        """`--format`, else the file's extension, else table on a terminal and csv in a pipe."""
        if self.fmt:
            return self.fmt
        if self.path and self.path != "-":
            return EXTENSIONS.get(os.path.splitext(self.path)[1].lower(), "csv")
        from projections.formats import default_format

        return default_format(sys.stdout)

    @contextlib.contextmanager
    def stream(self) -> Iterator[BinaryIO]:
        """The binary stream to write to: the `-o` file, or stdout."""
        if self.path and self.path != "-":
            with open(self.path, "wb") as handle:
                yield handle
        else:
            sys.stdout.flush()
            stdout = sys.stdout.buffer
            yield stdout
            stdout.flush()

    def table(self, table: Any, preamble: list[str] | None = None) -> None:
        """Render `table`; on the `table` format, `preamble` lines come first."""
        from projections.formats import render

        fmt = self.format
        if fmt == "xlsx" and not (self.path and self.path != "-") and sys.stdout.isatty():
            raise click.UsageError("an xlsx export is binary: write it to a file with -o FILE")
        with self.stream() as out:
            if fmt == "table" and preamble:
                out.write("".join(line + "\n" for line in preamble).encode())
            render(table, fmt, out)

    def text(self, lines: list[str]) -> None:
        """Write plain lines."""
        with self.stream() as out:
            out.write("".join(line + "\n" for line in lines).encode())


def output_options(formats: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command `--as-of`, `--known-at`, `-o` (and `--format`), passed on as `out`."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def command(*args: Any, as_of: Any, known_at: Any, output: Any, fmt: Any = None, **kw: Any) -> Any:
            return fn(*args, out=Output(fmt, as_of, known_at, output), **kw)

        options = [
            click.option(
                "--as-of", type=INSTANT, metavar="T",
                help="Clock of the view: events that happened by T, deadlines judged at T "
                "(default: --known-at if given, else now).",
            ),
            click.option(
                "--known-at", type=INSTANT, metavar="T",
                help="Only what had been recorded by T (the ledger as an auditor found it then).",
            ),
            click.option(
                "-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), metavar="FILE",
                help="Write to FILE instead of stdout (its extension picks the format).",
            ),
        ]  # fmt: skip
        if formats:
            options.append(
                click.option(
                    "--format", "fmt", type=click.Choice(FORMATS),
                    help="Output format (default: table on a terminal, csv in a pipe).",
                )
            )  # fmt: skip
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# -- opening the views --------------------------------------------------------


def open_views(session: Session) -> Any:
    """The store's views, caught up with its ledger."""
    from projections.runner import Views

    session.require_store()
    views = Views.open(session.store)
    views.catch_up()
    return views


def course_name(session: Session, views: Any) -> str:
    """The course a read is about: --course, or the only one in the store."""
    from ledger.errors import StoreError

    courses = views.courses()
    if session.course_option and session.course_option not in courses:
        raise StoreError(f"no course {session.course_option!r} in the store")
    return session.course(courses)


@dataclass
class Loaded:
    """A course's records, read from the views, and the clock to cut them with."""

    views: Any
    name: str
    records: list[Any]
    clock: Any
    tz: str

    def visible(self) -> list[Any]:
        """The records the clock lets the view see."""
        from projections.scope import visible

        return visible(self.records, self.clock)

    def course(self) -> Any:
        """The course folded from what the clock lets the view see."""
        from ledger.course import Course

        return Course.fold(self.name, self.visible())


def load(session: Session, out: Output, student: str | None = None) -> Loaded:
    """Open the views, pick the course, read its records (with `student`: their share)."""
    from ledger import events as ev

    views = open_views(session)
    name = course_name(session, views)
    records = views.records(name, student)
    opened = records[0].event if records else None
    tz = opened.timezone if isinstance(opened, ev.CourseOpened) else "UTC"
    return Loaded(views, name, records, out.clock(tz), tz)


# -- the commands ----------------------------------------------------------------


@click.command("status")
@click.argument("student", required=False)
@output_options()
@click.pass_obj
def status(session: Session, student: str | None, out: Output) -> None:
    """One student's assignments, or (without STUDENT) the course at a glance.

    For a student: programme, group, admission status (on_track, at_risk,
    excluded, admitted, withdrawn) and every published assignment's outcome
    (passed, failed:REASON, excused, exempt, open) with the rule behind it.
    For the course: seats, groups, status counts, and per assignment how many
    passed, were excused, exempt, failed or are still open. With --format
    other than table, only the table is written.

    \b
    Example:
      subledger status 231045
      subledger status --as-of 2025-05-01T12:00
      subledger status --known-at 2025-05-01T12:00 --format json
    """
    from ledger.course import Course
    from projections import scope
    from projections import status as views

    loaded = load(session, out, student or None)
    at = loaded.clock.as_of
    if student:
        course = Course.fold(loaded.name, scope.share(loaded.visible(), student))
        lines, table = views.student(course, student, at)
    else:
        lines, table = views.course_glance(loaded.course(), at)
    out.table(table, lines)


@click.command("log")
@click.option("--student", help="Only events about this student.")
@click.option("--assignment", help="Only events about this assignment.")
@output_options()
@click.pass_obj
def log(session: Session, student: str | None, assignment: str | None, out: Output) -> None:
    """The audit trail: what happened when, and who recorded it when.

    Columns: seq (position), at (when it happened), recorded_at, recorded_by,
    event, details, retracted (`by #SEQ: reason` for a cancelled event) and
    id. A retraction is listed with the event it cancels. Times are in the
    course's time zone.

    \b
    Example:
      subledger log --student 231045
      subledger log --assignment A03 --known-at 2025-05-01T00:00
    """
    from projections import audit

    loaded = load(session, out)
    out.table(audit.log(loaded.visible(), loaded.tz, student, assignment))


@click.command("explain")
@click.argument("student")
@output_options(formats=False)
@click.pass_obj
def explain(session: Session, student: str, out: Output) -> None:
    """Why a student's status and outcomes are what they are.

    Names the rule of each outcome and, for every fail, excuse and exemption,
    cites the events behind it: position, type, what it says, id, and who
    recorded it when.

    \b
    Example:
      subledger explain 231045
      subledger explain 231045 --as-of 2025-05-01T12:00
    """
    from projections import audit

    loaded = load(session, out)
    course = loaded.course()
    name = loaded.views.names(course, [student]).get(student, "")
    out.text(audit.explain(course, student, name, loaded.clock))


@click.command("export")
@click.argument("view", type=click.Choice(["admission", "roster", "gradebook", "exam", "events"]))
@output_options()
@click.pass_obj
def export(session: Session, view: str, out: Output) -> None:
    """Write a view for grading; `events` is the whole ledger as JSONL.

    \b
    admission: student, name, programme, credits, group, passed, excused,
               failed, open, status, reasons (A03:late;A05:absent); every
               admitted student, withdrawn ones included
    roster:    kind, group, slot, assignment, members: a `group` row per
               exercise group, `unplaced` for participants in none, a `team`
               row per team and assignment (members joined by `;`)
    gradebook: student, name, one column per assignment (its outcome:
               passed, failed:REASON, excused, exempt, open); participants
    exam:      student, name, programme, credits, mode, grade, result,
               certificate (registered candidates)
    events:    the ledger as JSONL with ids, positions and material keys; it
               restores into an empty store to the same digest

    Formats: csv, json, jsonl, xlsx, table. Names come from the sealed
    application material (`[erased]` once it is destroyed).

    \b
    Example:
      subledger export admission -o admission.xlsx
      subledger export gradebook --as-of 2025-07-15T00:00 --format json
      subledger export events -o backup.jsonl
    """
    if view == "events":
        if out.fmt not in (None, "jsonl") or out.as_of or out.known_at:
            raise click.UsageError("the events export is the whole ledger as JSONL; it takes only -o")
        with out.stream() as stream:
            for line in session.ledger().export_lines():
                stream.write(line + b"\n")
        return
    from projections import tables

    loaded = load(session, out)
    course = loaded.course()
    at = loaded.clock.as_of
    if view == "roster":
        table = tables.roster(course, at)
    else:
        names = loaded.views.names(course, course.applications)
        if view == "admission":
            table = tables.admission(course, at, names)
        elif view == "gradebook":
            table = tables.gradebook(course, at, names)
        else:
            table = tables.exam(course, names)
    out.table(table)


@click.command("rebuild")
@click.pass_obj
def rebuild(session: Session) -> None:
    """Recompute the views from position 1 (reads keep them current by themselves).

    \b
    Example:
      subledger rebuild
    """
    from projections.runner import Views

    session.require_store()
    views = Views.open(session.store)
    with click.progressbar(length=views.head(), label="rebuilding the views", file=sys.stderr) as bar:
        applied = views.rebuild(lambda done, total: bar.update(done - bar.pos))
    courses = len(views.courses())
    click.echo(f"rebuilt the views from {applied} events ({courses} course{'' if courses == 1 else 's'})")


COMMANDS: list[Any] = [status, log, explain, export, rebuild]

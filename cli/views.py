"""Commands that read the views: status, log, explain, export, rebuild.

Each parses its options, calls the read side's library (`projections`: it
catches the views up, cuts the course to the clock and folds it) and renders
the typed rows it returns. The output options are resolved once, by
`output_options`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click

from cli import terminal
from cli.main import Session
from cli.params import INSTANT
from projections.formats import FORMATS

if TYPE_CHECKING:
    from projections.formats import Table
    from projections.reading import Reading

EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".xlsx": "xlsx", ".txt": "table", ".html": "html"}


@dataclass(frozen=True)
class Output:
    """Where and how a command writes, and the clock of the view it shows."""

    fmt: str | None
    as_of: datetime | None
    known_at: datetime | None
    path: str | None

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
            from cli.files import output

            with output(self.path) as handle:  # owner-only, whole or not at all
                yield handle
        else:
            sys.stdout.flush()
            stdout = sys.stdout.buffer
            yield stdout
            stdout.flush()

    @contextlib.contextmanager
    def data(self) -> Iterator[BinaryIO]:
        """The stream for a data format (csv, json, jsonl): exact bytes into a file or a pipe; on a
        terminal, shown with its control characters escaped (`terminal.Visible`)."""
        with self.stream() as out:
            if self.path not in (None, "-") or not terminal.is_terminal(sys.stdout):
                yield out
                return
            shown = terminal.Visible(out)
            yield cast(BinaryIO, shown)
            shown.finish()

    def table(self, table: Any, preamble: Sequence[terminal.Line] = ()) -> None:
        """Render `table`; on the `table` format, `preamble` lines come first."""
        from projections.formats import render

        fmt = self.format
        if fmt not in FORMATS:  # picked by the -o file's extension (.html is the session sheet's)
            raise click.BadParameter(
                f"{self.path!r} names the {fmt} format, which this command does not write "
                f"({', '.join(FORMATS)}): give --format or another extension",
                param_hint="-o",
            )
        if fmt == "xlsx" and not (self.path and self.path != "-") and sys.stdout.isatty():
            raise click.UsageError("an xlsx export is binary: write it to a file with -o FILE")
        if fmt != "table":
            with self.data() as out:
                render(table, fmt, out)
            return
        with self.stream() as out:
            out.write(self._lines(preamble))
            render(table, fmt, out)

    @property
    def colour(self) -> bool:
        """Whether what is written may be coloured: a table on a terminal, never a file or an export."""
        return self.path in (None, "-") and self.format == "table" and terminal.colour_on(sys.stdout)

    def text(self, lines: Sequence[terminal.Line]) -> None:
        """Write lines for people (control characters escaped; coloured where `colour`)."""
        with self.stream() as out:
            out.write(self._lines(lines))

    def _lines(self, lines: Sequence[terminal.Line]) -> bytes:
        colour = self.colour
        return "".join(terminal.shown(line, colour) + "\n" for line in lines).encode()


def output_options(formats: bool = True, more: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command `--as-of`, `--known-at`, `-o` (and `--format`, with `more` formats), passed on as `out`."""

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
                    "--format", "fmt", type=click.Choice(FORMATS + more),
                    help="Output format (default: table on a terminal, csv in a pipe).",
                )
            )  # fmt: skip
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


# -- reading ----------------------------------------------------------------------


def read(session: Session, out: Output, student: str | None = None, writes: bool = True) -> Reading:
    """The course the session names, read from its store under the output's clock (`writes`: see `projections.reading.read`)."""
    from projections.reading import BadClock
    from projections.reading import read as read_course

    try:
        return read_course(
            session.store, session.course_option, as_of=out.as_of, known_at=out.known_at, student=student, writes=writes
        )
    except BadClock as error:
        raise click.BadParameter(str(error), param_hint="--" + error.field.replace("_", "-")) from None


# -- the commands ----------------------------------------------------------------


@click.command("status")
@click.argument("student", required=False)
@output_options()
@click.pass_obj
def status(session: Session, student: str | None, out: Output) -> None:
    """One student's assignments, or (without STUDENT) the course at a glance.

    For a student: programme, group, admission status (on_track, at_risk,
    excluded, admitted, withdrawn) and every published assignment's outcome
    (passed, failed:REASON, excused, exempt, open) against their own
    deadline, with the rule behind it and the reason of an extension.
    For the course: seats, groups, status counts, and per assignment how many
    passed, were excused, exempt, failed or are still open. With --format
    other than table, only the table is written.

    \b
    Example:
      subledger status 231045
      subledger status --as-of 2025-05-01T12:00
      subledger status --known-at 2025-05-01T12:00 --format json
    """
    from cli import rendering
    from projections.status import course_status, student_status

    if student:
        lines, table = rendering.student(student_status(read(session, out, student), student))
    else:
        lines, table = rendering.course(course_status(read(session, out)))
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
    from projections import log as audit
    from projections.formats import table

    out.table(table(audit.log(read(session, out), student, assignment), audit.LogRow, title="log"))


@click.command("explain")
@click.argument("student")
@output_options(formats=False)
@click.pass_obj
def explain(session: Session, student: str, out: Output) -> None:
    """Why a student's status and outcomes are what they are.

    Names the rule of each outcome and, for every fail, excuse and exemption,
    and every outcome an extension decides, cites the events behind it:
    position, type, what it says, id, and who recorded it when.

    \b
    Example:
      subledger explain 231045
      subledger explain 231045 --as-of 2025-05-01T12:00
    """
    from cli import rendering
    from projections.explain import explain as why

    out.text(rendering.explanation(why(read(session, out), student)))


EXPORTS = ("admission", "roster", "teams", "gradebook", "exam", "events", "sheet")
HIS_VIEWS = ("exam", "admission")  # the exam office's lists (--format his)


@click.command("export")
@click.argument("view", type=click.Choice(EXPORTS))
@click.option("--group", metavar="G", help="sheet: the exercise group.")
@click.option("--assignment", metavar="A", help="sheet: the assignment presented at the session.")
@output_options(more=("html", "his"))
@click.option(
    "--exam-date", type=click.DateTime(["%Y-%m-%d", "%d.%m.%Y"]), metavar="DATE",
    help="The exam's date for --format his (pdatum; default: the day each grade was recorded at).",
)  # fmt: skip
@click.pass_obj
def export(
    session: Session, view: str, group: str | None, assignment: str | None, out: Output, exam_date: datetime | None
) -> None:
    """Write a view for grading; `events` is the whole ledger as JSONL.

    \b
    admission: student, name, programme, credits, group, passed, excused,
               failed, open, status, reasons (A03:late;A05:absent); every
               admitted student, withdrawn ones included
    roster:    student, name, email, programme, group, from_week,
               until_week: every participant, group by group (those in
               none last), in the group of the clock's week since from_week
               (until_week: its last week, when a later change is recorded)
    teams:     assignment, members, hand_ins, last: a row per team that
               handed in, per assignment (members joined by `;`)
    gradebook: student, name, one column per assignment (its outcome:
               passed, failed:REASON, excused, exempt, open), extensions
               (A02:T;… the participant's own deadlines); participants
    exam:      student, name, programme, credits, mode, grade, result,
               certificate (registered candidates)
    events:    the ledger as JSONL (--format jsonl, its only format) with ids,
               positions and material keys; it restores into an empty store
               to the same digest. --known-at T: the ledger as it stood at T,
               which restores to the digest it had then. --as-of T: the
               events that had happened by T, as new events without
               positions, which import into an empty store as a new history
    sheet:     a tutor's session sheet (--group G --assignment A): the
               session of G in which A is presented, its first after A's
               deadline; members (away ones marked), visitors, with whom and
               how each handed in A against their own deadline, and an empty
               column to tick the presentation. Columns: student, name,
               attends, other_group, handed_in_with, handed_in, deadline,
               hand_in (on_time, late, missing, open, excused, exempt),
               presented. --format html: a page that prints on A4

    Formats: csv, json, jsonl, xlsx, table (and html for the sheet, his for
    exam and admission). Names come from the sealed application material
    (`[erased]` once destroyed).

    --format his writes the exam office's list for HIS (LSF/QIS) grade entry
    (docs/exam-office.md): `exam` as mtknr, nachname, vorname, bewertung
    (grade x100: 130; certificate ++ or --), pdatum (dd.mm.yyyy), pstatus
    (BE passed, NB failed, AN registered); `admission` as mtknr, nachname,
    vorname of those admitted to the exam. CSV with `;` and a UTF-8 BOM, or
    XLSX between startHISsheet and endHISsheet when -o names a .xlsx file.

    \b
    Example:
      subledger export admission -o admission.xlsx
      subledger export gradebook --as-of 2025-07-15T00:00 --format json
      subledger export sheet --group g1 --assignment A03 -o sheet-g1-A03.html
      subledger export events -o backup.jsonl
      subledger export events --known-at 2025-06-01T00:00 -o as-found-on-1-june.jsonl
      subledger export exam --format his --exam-date 2025-07-16 -o prf-idl.xlsx
    """
    if view != "sheet" and (group or assignment):
        raise click.UsageError("--group and --assignment choose a session sheet: `export sheet --group G --assignment A`")
    if out.fmt == "his":
        _his(session, view, out, exam_date)
        return
    if exam_date is not None:
        raise click.UsageError("--exam-date is the pdatum of the exam office's list: use it with --format his")
    if view == "sheet":
        _session_sheet(session, out, group, assignment)
        return
    if out.format == "html":
        raise click.BadParameter("html is the session sheet's format; this view is csv, json, jsonl, xlsx or table",
                                 param_hint="--format")  # fmt: skip
    if view == "events":
        _events(session, out)
        return
    out.table(sheet(view, read(session, out)))


def _session_sheet(session: Session, out: Output, group: str | None, assignment: str | None) -> None:
    """A tutor's session sheet, as a table or as a printable HTML page."""
    from projections import sheet as sessions
    from projections.formats import table

    if not group or not assignment:
        raise click.UsageError("a session sheet needs --group G and --assignment A")
    fmt = out.format
    if fmt == "html" and out.path in (None, "-") and sys.stdout.isatty():
        raise click.UsageError("the sheet is an HTML page: write it to a file with -o FILE")
    found = sessions.sheet(read(session, out), group, assignment)
    if fmt == "html":
        from projections.sheet_page import html

        with out.stream() as stream:
            stream.write(html(found).encode("utf-8"))
        return
    title = f"sheet {found.group} {found.assignment} week {found.week}"
    preamble = [
        f"{found.title} ({found.course}): group {found.group} ({found.slot}), week {found.week}, "
        f"session {found.session.strftime('%a %Y-%m-%d %H:%M')} ({found.timezone})",
        f"{found.assignment} {found.assignment_title}, deadline {found.deadline.strftime('%a %Y-%m-%d %H:%M')}",
        "",
    ]
    out.table(table(found.rows, sessions.SheetRow, title=title), preamble)


def _his(session: Session, view: str, out: Output, exam_date: datetime | None) -> None:
    """The exam office's list (`exam` or `admission`) for HIS: CSV, or XLSX when -o names a .xlsx file."""
    from projections import his

    if view not in HIS_VIEWS:
        raise click.BadParameter(
            f"his is the exam office's list of {' or '.join(HIS_VIEWS)}, not of {view}", param_hint="--format"
        )
    if exam_date is not None and view != "exam":
        raise click.UsageError("--exam-date is the pdatum of the exam list: use it with export exam")
    reading = read(session, out)
    if view == "exam":
        listing = his.exam_sheet(reading, exam_date.date() if exam_date else None)
    else:
        listing = his.admission_sheet(reading)
        if reading.course.closed is None:
            terminal.echo("note: coursework is not closed: no one is admitted to the exam yet", err=True)
    with out.data() as stream:
        his.write(listing, stream, xlsx=out.path is not None and out.path.lower().endswith(".xlsx"))


def _events(session: Session, out: Output) -> None:
    """The ledger as JSONL: whole, as it stood (--known-at), or what had happened by then (--as-of)."""
    from projections.events import ErasedSince, events
    from projections.reading import BadClock

    if out.fmt not in (None, "jsonl"):
        raise click.BadParameter(
            "the events export is the whole ledger as JSONL, or a part of it under a clock: jsonl is its only format",
            param_hint="--format",
        )
    try:
        exported = events(session.store, as_of=out.as_of, known_at=out.known_at)
        first = next(exported, None)  # a bad clock is said before anything is written
    except BadClock as error:
        raise click.BadParameter(str(error), param_hint="--" + error.field.replace("_", "-")) from None
    erased_since = ErasedSince()
    with out.data() as stream:
        for line in itertools.chain([first] if first is not None else [], exported):
            stream.write(erased_since.see(line).encode() + b"\n")
    if erased_since:
        terminal.echo(
            f"note: the material of {len(erased_since)} application(s) in this cut was erased after it: they are carried"
            " sealed, without keys and without the erasure, and `verify` of a store made from this cut reports"
            " their keys as missing (docs/decisions.md, Views)",
            err=True,
        )


def sheet(view: str, reading: Reading) -> Table:
    """An export view of `reading` as a table."""
    from projections import admission, exam, gradebook, roster, teams
    from projections.formats import table

    if view == "admission":
        return table(admission.admission(reading), admission.AdmissionRow, title=view)
    if view == "roster":
        return table(roster.roster(reading), roster.RosterRow, title=view)
    if view == "teams":
        return table(teams.teams(reading), teams.TeamRow, title=view)
    if view == "gradebook":
        book = gradebook.gradebook(reading)
        return table(book.rows, gradebook.GradebookRow, title=view, spread=book.assignments)
    if view == "exam":
        return table(exam.exam(reading), exam.ExamRow, title=view)
    raise ValueError(f"no export view {view!r}")


@click.command("rebuild")
@click.pass_obj
def rebuild(session: Session) -> None:
    """Recompute the views from position 1 (reads keep them current by themselves).

    \b
    Example:
      subledger rebuild
    """
    from projections.reading import open_store

    views = open_store(session.store)
    with terminal.progress("rebuilding the views") as tell:
        applied = views.rebuild(tell)
    courses = len(views.courses())
    terminal.echo(f"rebuilt the views from {applied} events ({courses} course{'' if courses == 1 else 's'})")


COMMANDS: list[Any] = [status, log, explain, export, rebuild]

"""Hand-ins and extensions from a Moodle grading worksheet: an input adapter (SPEC §7, issue 10.1).

`import_worksheet` reads the file (`ledger.worksheet`), finds each student by
email among the course's applications, and appends what the rows stand for,
all or nothing, as `import` appends a file:

- a row whose Status begins with "Submitted for grading" is a hand-in, at its
  `Last modified (submission)` (drafts, reopened and empty rows are not);
  with a `Group` column the team is the group's submitted rows, at the
  group's time; without one each submitted row is a team of one;
- a row whose Status says "Extension granted until: <date>" is an extension
  of the assignment for that student until that date.

Ids derive from the events' content, so the same worksheet imported twice
appends nothing, and a later one appends only what changed (a resubmission:
a newer `Last modified`). Every unusable row is named with its line and why;
nothing is written unless the caller skips them (`skip_bad`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING

from ledger import clock, coursework, vault, wire, worksheet
from ledger import events as ev
from ledger.errors import BadLine, ImportRejected, Refused
from ledger.events import Recorded
from ledger.worksheet import Row, Status, Worksheet

if TYPE_CHECKING:
    from ledger.app import Ledger
    from ledger.course import Course

REASON = "Moodle: extension granted"
MINUTE = timedelta(minutes=1)


class WorksheetRejected(ImportRejected):
    """A worksheet with unusable rows: nothing of it was written."""

    def __init__(self, problems: list[BadLine]) -> None:
        super().__init__(problems)
        self.args = (f"{len(problems)} problem(s) in the worksheet; nothing was imported",)


@dataclass(frozen=True)
class Planned:
    """An event a worksheet stands for, and the rows it comes from."""

    event: ev.SubmissionHandedIn | ev.ExtensionGranted
    lines: tuple[int, ...]
    identifier: str  # of its (first) row
    group: str | None = None

    @property
    def source(self) -> str:
        """Where it comes from, in words: `line 4`, `group 'Team 2', lines 4, 5`."""
        lines = f"line{'s' if len(self.lines) > 1 else ''} {', '.join(map(str, self.lines))}"
        return lines if self.group is None else f"group {self.group!r}, {lines}"

    @property
    def subject(self) -> str:
        """What a problem with it is about, after its line: the row's identifier, or the group and its lines."""
        return repr(self.identifier) if self.group is None else self.source


@dataclass
class Plan:
    """What a worksheet stands for: the events of its usable rows, and what is wrong with the others."""

    events: list[Planned] = field(default_factory=list)
    problems: list[BadLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what is odd but not wrong
    rows: int = 0
    submitted: int = 0
    extended: int = 0


@dataclass(frozen=True)
class Emails:
    """The course's applications by email (trimmed, case-folded), and how many emails cannot be read."""

    students: dict[str, tuple[str, ...]]
    unreadable: int  # erased (or unreadable) material: these match no row


@dataclass
class MoodleImport:
    """What an import of a worksheet did (or, in a dry run, would do)."""

    sheet: Worksheet
    timezone: str  # the course's
    plan: Plan
    recorded: list[tuple[Recorded, Planned]]
    already: int  # events of the worksheet already in the store
    skipped: list[BadLine]  # unusable rows left out (with skip_bad)


def import_worksheet(
    ledger: Ledger,
    stream: IO[bytes],
    course_name: str,
    assignment: str,
    actor: str,
    *,
    skip_bad: bool = False,
    dry_run: bool = False,
) -> MoodleImport:
    """Append the hand-ins and extensions of a worksheet of `assignment`, all or nothing.

    `WorksheetRejected` lists every unusable row (and every event the rules
    refuse, by the rows it comes from); with `skip_bad` those are left out and
    the rest is appended, and `MoodleImport.skipped` lists them.
    """
    sheet = worksheet.read(stream)
    course = ledger.course(course_name)
    if course.opened is None:
        raise Refused("unknown-course", f"no course {course_name!r} has been opened")
    if assignment not in course.assignments:
        raise Refused("unknown-assignment", f"no assignment {assignment!r} in {course_name}")
    planned = plan(sheet, course, assignment, emails_of(ledger, course))
    problems = list(planned.problems)
    events = list(planned.events)
    while True:
        trial = dry_run or (bool(problems) and not skip_bad)
        try:
            result = ledger.import_events([p.event for p in events], actor, dry_run=trial)
        except ImportRejected as rejected:
            refused = {bad.line for bad in rejected.problems}
            problems.extend(_refusal(events[bad.line - 1], bad) for bad in rejected.problems)
            if not skip_bad:
                raise WorksheetRejected(_by_line(problems)) from None
            events = [p for number, p in enumerate(events, start=1) if number not in refused]
            continue
        if problems and not skip_bad:
            raise WorksheetRejected(_by_line(problems))
        by_id = {wire.content_id(p.event): p for p in events}
        recorded = [(r, by_id[r.id]) for r in result.recorded]
        return MoodleImport(sheet, course.opened.timezone, planned, recorded, result.skipped, _by_line(problems))


def emails_of(ledger: Ledger, course: Course) -> Emails:
    """The course's applications by email, opened through the ledger (erased ones match nothing)."""
    students: dict[str, list[str]] = defaultdict(list)
    unreadable = 0
    for student, application in course.applications.items():
        opened = ledger.readable(course.name, application.submitted).event
        assert isinstance(opened, ev.ApplicationSubmitted)
        email = opened.email
        if email in (vault.ERASED, vault.UNREADABLE):
            unreadable += 1
            continue
        students[_normal(email)].append(student)
    return Emails({e: tuple(s) for e, s in students.items()}, unreadable)


def _normal(email: str) -> str:
    return email.strip().casefold()


class _Unusable(ValueError):
    """Why one row cannot be used (as are the ValueErrors of reading its cells)."""


@dataclass(frozen=True)
class _Entry:
    """A row with something to record: whose it is, and what it says."""

    row: Row
    status: Status
    student: str
    until: datetime | None  # the extension's deadline, in UTC
    handed_in: datetime | None  # Last modified (submission) of a submitted row, in UTC


def plan(sheet: Worksheet, course: Course, assignment: str, emails: Emails) -> Plan:
    """The events `sheet` stands for in `course`, and the problems of its unusable rows."""
    assert course.opened is not None
    planned = Plan(rows=len(sheet.rows) + len(sheet.bad_rows))
    planned.problems.extend(BadLine(line, why) for line, why in sheet.bad_rows)
    identifiers = Counter(row.identifier for row in sheet.rows)
    entries: list[_Entry] = []
    for row in sheet.rows:
        try:
            said = worksheet.status(row.status, sheet.language)
            planned.submitted += said.submitted
            planned.extended += said.extension is not None
            if not said.submitted and said.extension is None:
                continue  # nothing to record: no submission, a draft, reopened
            entries.append(_entry(sheet, row, said, course.opened.timezone, emails, identifiers))
        except ValueError as why:  # _Unusable, or a cell that is not as Moodle writes it
            planned.problems.append(_problem(row, str(why)))
    entries = _one_row_each(entries, planned.problems)
    published = course.assignments[assignment].event
    assert isinstance(published, ev.AssignmentPublished)
    for entry in entries:
        if entry.until is not None:
            extension = _extension(course.name, published, entry)
            planned.events.append(Planned(extension, (entry.row.line,), entry.row.identifier))
    submitted = [e for e in entries if e.status.submitted]
    teams = _groups(submitted, sheet, planned.problems) if sheet.grouped else [(None, [e]) for e in submitted]
    for group, members in teams:
        at = members[0].handed_in
        assert at is not None  # every submitted entry has it
        team = tuple(sorted(e.student for e in members))
        event = ev.SubmissionHandedIn(course=course.name, at=at, assignment=assignment, team=team)
        hand_in = Planned(event, tuple(e.row.line for e in members), members[0].row.identifier, group)
        doubt = _late_in_doubt(course, assignment, members)
        if doubt:
            planned.problems.append(BadLine(hand_in.lines[0], f"{hand_in.subject}: {doubt}"))
            continue
        planned.events.append(hand_in)
    early = [p for p in planned.events if isinstance(p.event, ev.SubmissionHandedIn) and p.event.at < published.at]
    if early:
        planned.notes.append(
            f"{len(early)} hand-in(s) are dated before {assignment} was published "
            f"({clock.local(published.at, course.opened.timezone).isoformat()}): is the worksheet of "
            f"{assignment}? (first: {early[0].source})"
        )
    planned.problems[:] = _by_line(planned.problems)
    return planned


def _entry(sheet: Worksheet, row: Row, said: Status, tz: str, emails: Emails, identifiers: Counter[str]) -> _Entry:
    language = sheet.language
    if language.participant.fullmatch(row.identifier) is None:
        raise _Unusable(f"identifier {row.identifier!r} is not Moodle's ('{language.participant.pattern}')")
    if identifiers[row.identifier] > 1:
        raise _Unusable(f"identifier {row.identifier!r} is on more than one row")
    student = _student(sheet, row, emails)
    until = None
    if said.extension is not None:
        until = _instant(said.extension, language, tz, "the extension's date")
    handed_in = None
    if said.submitted:
        if row.modified.strip() == worksheet.EMPTY_DATE:
            raise _Unusable(f"submitted, but {language.modified!r} is empty ('-')")
        handed_in = _instant(row.modified, language, tz, repr(language.modified))
    return _Entry(row, said, student, until, handed_in)


def _student(sheet: Worksheet, row: Row, emails: Emails) -> str:
    if not sheet.has_email or row.email is None:
        raise _Unusable(
            f"no {sheet.language.email!r} column (blind marking, or the site shows no emails): the student "
            "cannot be found; download the worksheet with identities shown"
        )
    email = row.email.strip()
    if not email or email == "-":
        raise _Unusable("no email address: the student cannot be found")
    found = emails.students.get(_normal(email), ())
    if not found:
        erased = (
            f" ({emails.unreadable} application(s) have erased emails, which match nothing)"
            if emails.unreadable
            else ""
        )
        raise _Unusable(f"no application with the email {email!r}{erased}")
    if len(found) > 1:
        raise _Unusable(f"the email {email!r} is on the applications of {', '.join(found)}: which is meant is unclear")
    return found[0]


def _instant(text: str, language: worksheet.Language, tz: str, what: str) -> datetime:
    wall = worksheet.date(text, language)
    try:
        return clock.localize(wall, tz)
    except clock.BadInstant:
        raise _Unusable(
            f"{what} {text!r} is not one instant in {tz} (the clocks change that night: the time is skipped or "
            "happens twice); record it by hand with an offset"
        ) from None


def _one_row_each(entries: list[_Entry], problems: list[BadLine]) -> list[_Entry]:
    """The entries of students on one row only; a student on several rows is a problem on each."""
    lines: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        lines[entry.student].append(entry.row.line)
    kept = []
    for entry in entries:
        others = [n for n in lines[entry.student] if n != entry.row.line]
        if others:
            problems.append(
                _problem(entry.row, f"student {entry.student} is also on line(s) {', '.join(map(str, others))}")
            )
        else:
            kept.append(entry)
    return kept


def _groups(
    submitted: list[_Entry], sheet: Worksheet, problems: list[BadLine]
) -> list[tuple[str | None, list[_Entry]]]:
    """The teams of a worksheet with groups: each group's submitted rows, whole or not at all."""
    language = sheet.language
    unusable = {p.line for p in problems}
    members: dict[str, list[_Entry]] = defaultdict(list)
    for entry in submitted:
        group = entry.row.group or ""
        if group in language.no_group:
            problems.append(_problem(entry.row, f"submitted, but Moodle says: {group!r}"))
            unusable.add(entry.row.line)
        else:
            members[group].append(entry)
    # A group's other rows that were unusable: the group's hand-in would lose a member.
    lost: dict[str, list[int]] = defaultdict(list)
    for row in sheet.rows:
        if row.line in unusable and row.group in members:
            lost[row.group].append(row.line)
    teams: list[tuple[str | None, list[_Entry]]] = []
    for group, entries in members.items():
        if lost[group]:
            for entry in entries:
                problems.append(
                    _problem(
                        entry.row,
                        f"the hand-in of group {group!r} is recorded whole or not at all, and its line(s) "
                        f"{', '.join(map(str, lost[group]))} cannot be used",
                    )
                )
            continue
        times = {e.row.modified for e in entries}
        if len(times) > 1:
            said = "; ".join(f"line {e.row.line}: {e.row.modified!r}" for e in entries)
            for entry in entries:
                problems.append(
                    _problem(entry.row, f"the rows of group {group!r} disagree on {language.modified!r} ({said})")
                )
            continue
        teams.append((group, entries))
    return teams


def _late_in_doubt(course: Course, assignment: str, members: list[_Entry]) -> str:
    """Why the minute shown cannot tell whether a hand-in Moodle calls late was on time, if it cannot."""
    for entry in members:
        if not entry.status.late or entry.handed_in is None:
            continue
        deadline = coursework.own_deadline(course, entry.student, assignment).event.deadline
        if entry.until is not None:
            deadline = max(deadline, entry.until)
        if entry.handed_in <= deadline < entry.handed_in + MINUTE:
            assert course.opened is not None  # a worksheet is read into an opened course
            tz = course.opened.timezone
            return (
                f"Moodle says {entry.status.late + ' late'!r}, but the worksheet shows minutes only and "
                f"{clock.local(entry.handed_in, tz):%H:%M} is the minute of {entry.student}'s deadline "
                f"{clock.local(deadline, tz).isoformat()}: whether it was on time cannot be read from it; "
                "record it with `hand-in --at` and the exact time"
            )
    return ""


def _extension(course: str, published: ev.AssignmentPublished, entry: _Entry) -> ev.ExtensionGranted:
    # The worksheet does not say when the extension was granted. It is dated at the assignment's
    # published deadline, fixed once published: the same row always gives the same event (and id),
    # and the extension is in view whenever the course's deadline has passed (ADR 14).
    assert entry.until is not None
    return ev.ExtensionGranted(
        course=course, at=published.deadline, student=entry.student, assignment=published.assignment,
        deadline=entry.until, reason=REASON,
    )  # fmt: skip


def _problem(row: Row, why: str) -> BadLine:
    return BadLine(row.line, f"{row.identifier!r}: {why}")


def _refusal(planned: Planned, bad: BadLine) -> BadLine:
    return BadLine(planned.lines[0], f"{planned.subject}: {bad.message}", cause=bad.cause)


def _by_line(problems: list[BadLine]) -> list[BadLine]:
    return sorted(problems, key=lambda p: p.line)

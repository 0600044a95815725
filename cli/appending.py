"""Commands that append one event: parse the words, build the event, record, report."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, overload

import click

from cli import terminal
from cli.main import Session
from cli.params import INSTANT, choice_of
from ledger import events as ev

# What a command prints after the records: `then(ledger, records)` (what the records mean).
Then = Callable[[Any, list[Any]], list[str]]


@overload
def appends(fn: Callable[..., Any], *, then: Then | None = None) -> Callable[..., None]: ...
@overload
def appends(fn: None = None, *, then: Then | None = None) -> Callable[[Callable[..., Any]], Callable[..., None]]: ...


def appends(
    fn: Callable[..., Any] | None = None, *, then: Then | None = None
) -> Callable[..., None] | Callable[[Callable[..., Any]], Callable[..., None]]:
    """Give a command `--at`, record the event(s) it builds, and print what was recorded.

    `then(ledger, records)` gives lines to print after that (what the records mean).
    """
    if fn is None:
        return functools.partial(appends, then=then)
    build = fn

    def command(session: Session, /, at: datetime | None, **kwargs: Any) -> None:
        from ledger import clock

        built = build(session, at or clock.now(), **kwargs)
        if built is None:
            return
        record(session, built if isinstance(built, list) else [built], then=then)

    functools.update_wrapper(command, fn)  # the command's name and help are `fn`'s
    return click.option("--at", "at", type=INSTANT, help="When it happened (default: now).")(click.pass_obj(command))


def record(
    session: Session,
    events: list[Any],
    decided_on: int | None = None,
    then: Then | None = None,
) -> None:
    """Append `events` and print what was recorded (`decided_on`: see `Ledger.append`), then `then`'s lines."""
    from ledger.events import type_name

    ledger = session.ledger(must_exist=False)
    records = ledger.append(events, session.actor, decided_on)
    for recorded in records:
        terminal.echo(f"recorded {type_name(recorded.event)} at position {recorded.position} (id {recorded.id})")
    for line in then(ledger, records) if then else ():
        terminal.echo(line)
    for notice in ledger.notices:
        terminal.echo(f"note: {notice}", err=True)


def _group_spec(value: str) -> Any:
    from ledger.events import Group

    group_id, _, rest = value.partition(":")
    slot, _, capacity = rest.rpartition(":")
    if not group_id or not slot or not capacity.isdigit():
        raise click.BadParameter(f"{value!r} is not ID:SLOT:CAPACITY (e.g. g1:Thu 11:00:30)")
    return Group(group_id, slot, int(capacity))


@click.command("open-course")
@click.argument("course_id")
@click.option("--title", required=True, help="The course's title.")
@click.option("--capacity", type=click.IntRange(min=1), required=True, help="Seats.")
@click.option("--application-deadline", type=INSTANT, required=True, help="Last instant to apply on time.")
@click.option("--registration-deadline", type=INSTANT, required=True, help="Last instant to register group preferences.")
@click.option("--group", "groups", multiple=True, required=True, metavar="ID:SLOT:CAPACITY", help="An exercise group (repeat).")
@click.option("--max-fails", type=click.IntRange(min=0), default=2, show_default=True, help="Fails allowed before exclusion.")
@click.option("--max-team-size", type=click.IntRange(min=1), default=3, show_default=True, help="Largest team.")
@click.option("--timezone", default="Europe/Berlin", show_default=True, help="The course's time zone.")
@appends
def open_course(session: Session, at: datetime, course_id: str, groups: tuple[str, ...], **o: Any) -> Any:
    """Open a course offering (CourseOpened).

    \b
    Example:
      subledger open-course idl-2025 --title "Introduction to Deep Learning" \\
        --capacity 60 --application-deadline 2025-04-04T23:59 \\
        --registration-deadline 2025-04-11T12:00 \\
        --group "g1:Thu 11:00:30" --group "g2:Fri 13:00:30"
    """
    from ledger import events as ev

    return ev.CourseOpened(course=course_id, at=at, groups=tuple(_group_spec(g) for g in groups), **o)


def _text_or_file(value: str) -> str:
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as handle:
                return handle.read()
        except OSError as error:
            raise click.BadParameter(f"cannot read {value[1:]!r}: {error.strerror}") from None
        except UnicodeDecodeError as error:
            raise click.BadParameter(f"{value[1:]!r} is not UTF-8 text (byte {error.start + 1})") from None
    return value


@click.command("apply")
@click.argument("student")
@click.option("--name", required=True, help="The applicant's name.")
@click.option("--email", required=True, help="The applicant's email.")
@click.option("--programme", type=choice_of(ev.Programme), required=True, help="Study programme.")
@click.option("--prerequisite", required=True, help="The prerequisite the applicant meets.")
@click.option("--statement", default="", help="Statement of motivation: TEXT or @FILE.")
@appends
def apply(session: Session, at: datetime, student: str, statement: str, **o: Any) -> Any:
    """Record an application (ApplicationSubmitted).

    \b
    Example:
      subledger apply 231045 --name "Ada Lovelace" --email ada@st.ovgu.de \\
        --programme master --prerequisite "Machine Learning (passed)" --statement @why.txt
    """
    from ledger import events as ev

    return ev.ApplicationSubmitted(
        course=session.course(), at=at, student=student, statement=_text_or_file(statement), **o
    )


@click.command("accept")
@click.argument("student")
@appends
def accept(session: Session, at: datetime, student: str) -> Any:
    """Admit an applicant (ApplicationAccepted).

    \b
    Example:
      subledger accept 231045
    """
    from ledger import events as ev

    return ev.ApplicationAccepted(course=session.course(), at=at, student=student)


@click.command("reject")
@click.argument("student")
@click.option("--reason", required=True, help="Why.")
@appends
def reject(session: Session, at: datetime, student: str, reason: str) -> Any:
    """Turn an applicant down (ApplicationRejected).

    \b
    Example:
      subledger reject 231099 --reason "all seats taken by earlier applicants"
    """
    from ledger import events as ev

    return ev.ApplicationRejected(course=session.course(), at=at, student=student, reason=reason)


@click.command("withdraw")
@click.argument("student")
@click.option("--reason", required=True, help="Why.")
@appends
def withdraw(session: Session, at: datetime, student: str, reason: str) -> Any:
    """Record that an applicant or participant leaves (ApplicationWithdrawn).

    \b
    Example:
      subledger withdraw 231045 --reason "changed programme"
    """
    from ledger import events as ev

    return ev.ApplicationWithdrawn(course=session.course(), at=at, student=student, reason=reason)


@click.command("prefer")
@click.argument("student")
@click.argument("groups", nargs=-1, required=True)
@appends
def prefer(session: Session, at: datetime, student: str, groups: tuple[str, ...]) -> Any:
    """Register a participant's group preference, best first (GroupPreferenceRegistered).

    \b
    Example:
      subledger prefer 231045 g2 g1
    """
    from ledger import events as ev

    return ev.GroupPreferenceRegistered(course=session.course(), at=at, student=student, priorities=groups)


# JSON readers that hold numbers as doubles (JavaScript, jq) keep seeds below 2**53 exact.
SEEDS = 2**53


@click.command("allocate-groups")
@click.option("--seed", type=click.IntRange(0, SEEDS - 1), help="Seed of the lottery that breaks ties (default: a fresh one).")
@click.option("--dry-run", is_flag=True, help="Show the allocation and how well it serves, without recording it.")
@click.option("--verify", is_flag=True, help="Re-derive the recorded allocation from the ledger and its seed; exit 1 if it differs.")
@appends
def allocate_groups(session: Session, at: datetime, seed: int | None, dry_run: bool, verify: bool) -> Any:
    """Allocate participants to groups from their preferences (GroupsAllocated).

    Rank-optimal: as many as possible get a group they ranked, with the least
    total rank (first choice 0, second 1, …); a lottery drawn from the seed
    breaks ties; those without a preference fill the remaining seats evenly.
    The seed is printed and recorded. --verify re-derives the allocation in
    effect from the events recorded before it and its seed, says whether the
    two match and whether the recorded one is rank-optimal, and lists who is
    where in each when they differ.

    \b
    Example:
      subledger allocate-groups --seed 2025 --dry-run
      subledger allocate-groups
      subledger allocate-groups --verify
    """
    if verify:
        if seed is not None or dry_run:
            raise click.UsageError("--verify uses the recorded seed; it takes no --seed or --dry-run")
        _verify_allocation(session)
        return None
    import secrets

    from ledger import allocation as alloc
    from ledger import events as ev
    from ledger.errors import Stale, StoreError

    name = session.course()
    seed = secrets.randbelow(SEEDS) if seed is None else seed
    for _ in range(3):
        course = session.ledger().course(name)
        participants, preferences, capacities = alloc.inputs(course.view(as_of=_in_zone_of(course, at)))
        allocation = alloc.allocate_preferences(participants, preferences, capacities, seed)
        if dry_run:
            for student, group in allocation.items():
                terminal.echo(f"{student}\t{group}")
        tally = alloc.tally(allocation, participants, preferences, capacities)
        terminal.echo(f"seed {seed}: {tally.describe()}")
        if dry_run:
            return None
        event = ev.GroupsAllocated(course=name, at=at, allocation=allocation, seed=seed)
        try:
            record(session, [event], decided_on=len(course.records))
            return None
        except Stale:
            terminal.echo("note: the course changed while allocating; allocating again", err=True)
    raise StoreError("the course kept changing while allocating; try again")


def _in_zone_of(course: Any, at: datetime) -> datetime:
    """`at` in UTC, read in the course's time zone if it has no offset (as the ledger reads `--at`)."""
    from ledger import clock

    try:
        return clock.localize(at, course.opened.timezone if course.opened else "UTC")
    except clock.BadInstant as error:
        raise click.BadParameter(str(error), param_hint="--at") from None


def _verify_allocation(session: Session) -> None:
    from ledger import clock
    from ledger.allocation import rederive

    name = session.course()
    course = session.ledger().course(name)
    found = rederive(course)
    event = found.event
    at = event.at.astimezone(clock.zone(course.opened.timezone))
    terminal.echo(
        f"allocation at position {found.record.position} (id {found.record.id}, seed {event.seed}), "
        f"re-derived from the {found.basis} events of {name} recorded before it, as of {at.isoformat()}"
    )
    terminal.echo(f"recorded:   {found.recorded_tally.describe()}")
    terminal.echo(f"re-derived: {found.derived_tally.describe()}")
    for student in found.strangers:
        terminal.echo(f"{student} was not a participant then")
    for group, members, capacity in found.over_capacity:
        terminal.echo(f"group {group!r} holds {members}, it seats {capacity}")
    best = found.derived_tally
    optimal = (
        "it is rank-optimal"
        if found.optimal
        else f"it is not rank-optimal (the best: {best.in_ranked} in a ranked group, total rank {best.total_rank})"
    )
    if found.matches:
        terminal.echo(f"the recorded allocation matches; {optimal}")
        return
    terminal.echo(f"the recorded allocation differs for {len(found.differences)} participant(s); {optimal}")
    terminal.echo("student\trecorded\tre-derived")
    for student, recorded, derived in found.differences:
        terminal.echo(f"{student}\t{recorded or '-'}\t{derived or '-'}")
    terminal.echo("verification failed: the recorded allocation is not the one its seed gives", err=True)
    sys.exit(1)


def _from_which_week(ledger: Any, records: list[Any]) -> list[str]:
    from ledger.clock import zone
    from ledger.groups import placements

    change = records[0]
    course = ledger.course(change.event.course)
    placement, session = placements(course, change)[0]
    tz = course.opened.timezone
    when = session.astimezone(zone(tz)).strftime("%a %Y-%m-%d %H:%M")
    how = "moves to" if placement.move else "is placed at once in"
    return [f"{placement.student} {how} {placement.group} from week {placement.week}, whose earlier session is {when} ({tz})"]


@click.command("change-group")
@click.argument("student")
@click.argument("group")
@click.option("--reason", required=True, help="Why.")
@appends(then=_from_which_week)
def change_group(session: Session, at: datetime, student: str, group: str, reason: str) -> Any:
    """Move a participant to another group, or place a late admission (GroupChanged).

    A move counts from the first week whose earlier session (the week's
    earliest slot, in the course's time zone) comes after --at; it is refused
    if the group is full in any week from then on. A participant without a
    group (a late admission) is placed at once. Week 1 is the week of the first
    earlier session after the registration deadline. The command says from
    which week the change applies.

    \b
    Example:
      subledger change-group 231045 g1 --reason "timetable clash"
    """
    from ledger import events as ev

    return ev.GroupChanged(course=session.course(), at=at, student=student, group=group, reason=reason)


def _visit_session(ledger: Any, records: list[Any]) -> list[str]:
    from ledger.clock import zone
    from ledger.groups import Weeks, membership

    visit = records[0].event
    course = ledger.course(visit.course)
    opened = course.opened
    slot = next(g.slot for g in opened.groups if g.id == visit.group)
    session = Weeks(opened).session_of(slot, visit.week).astimezone(zone(opened.timezone))
    home = membership(course).group(visit.student, visit.week)
    return [
        f"{visit.student} visits {visit.group} in week {visit.week}, whose session is "
        f"{session.strftime('%a %Y-%m-%d %H:%M')} ({opened.timezone}); away from {home} that week"
    ]


@click.command("visit-group")
@click.argument("student")
@click.argument("group")
@click.option("--week", type=int, required=True, help="The week of the visit (1: the first after the registration deadline).")
@click.option("--reason", required=True, help="Why.")
@appends(then=_visit_session)
def visit_group(session: Session, at: datetime, student: str, group: str, week: int, reason: str) -> Any:
    """Let a participant sit in another group's session once (GroupVisited).

    Like a change, a visit is asked before the earlier session of its week
    (the week's earliest slot, in the course's time zone). It is refused for
    the student's own group, a group whose members fill it that week, and a
    second visit in the same week. It changes no group and takes no seat: the
    visited group's session sheet lists the student as a visitor, their own
    group's sheet as away. Week 1 is the week of the first earlier session
    after the registration deadline.

    \b
    Example:
      subledger visit-group 231045 g2 --week 5 --reason "doctor's appointment on Thursday"
    """
    from ledger import events as ev

    return ev.GroupVisited(course=session.course(), at=at, student=student, group=group, week=week, reason=reason)


@click.command("publish")
@click.argument("assignment")
@click.option("--title", required=True, help="The assignment's title.")
@click.option("--deadline", type=INSTANT, required=True, help="Hand-in deadline (inclusive).")
@click.option("--transfer", is_flag=True, help="It has a transfer part that master (6-CP) participants must complete.")
@appends
def publish(session: Session, at: datetime, assignment: str, title: str, deadline: datetime, transfer: bool) -> Any:
    """Publish a weekly assignment (AssignmentPublished).

    With --transfer, the assessor may fail a master participant's hand-in
    for a missing transfer part (assess --verdict transfer_missing).

    \b
    Example:
      subledger publish A01 --title "Linear regression" --deadline 2025-04-14T10:00
      subledger publish A06 --title "Transformers" --deadline 2025-05-19T10:00 --transfer
    """
    from ledger import events as ev

    return ev.AssignmentPublished(
        course=session.course(), at=at, assignment=assignment, title=title, deadline=deadline, transfer=transfer
    )


@click.command("move-deadline")
@click.argument("assignment")
@click.option("--deadline", type=INSTANT, required=True, help="The new deadline.")
@click.option("--reason", required=True, help="Why.")
@appends
def move_deadline(session: Session, at: datetime, assignment: str, deadline: datetime, reason: str) -> Any:
    """Move an assignment's deadline for everyone (DeadlineChanged).

    \b
    Example:
      subledger move-deadline A05 --deadline 2025-05-21T10:00 --reason "server outage"
    """
    from ledger import events as ev

    return ev.DeadlineChanged(
        course=session.course(), at=at, assignment=assignment, deadline=deadline, reason=reason
    )


@click.command("hand-in")
@click.argument("assignment")
@click.argument("team", nargs=-1, required=True)
@click.option("--digest", help="Content hash of the solution.")
@appends
def hand_in(session: Session, at: datetime, assignment: str, team: tuple[str, ...], digest: str | None) -> Any:
    """Record a team's hand-in (SubmissionHandedIn).

    \b
    Example:
      subledger hand-in A01 231045 231046 --digest sha256:9f86d081
    """
    from ledger import events as ev

    return ev.SubmissionHandedIn(course=session.course(), at=at, assignment=assignment, team=team, digest=digest)


@click.command("present")
@click.argument("assignment")
@click.argument("student")
@click.option("--outcome", type=choice_of(ev.Outcome), required=True, help="How it went.")
@appends
def present(session: Session, at: datetime, assignment: str, student: str, outcome: ev.Outcome) -> Any:
    """Record a presentation in the exercise session (PresentationRecorded).

    \b
    Example:
      subledger present A01 231045 --outcome explained
    """
    from ledger import events as ev

    return ev.PresentationRecorded(
        course=session.course(), at=at, assignment=assignment, student=student, outcome=outcome
    )


@click.command("assess")
@click.argument("assignment")
@click.argument("student")
@click.option("--verdict", type=choice_of(ev.Verdict), required=True, help="The assessor's verdict.")
@click.option("--note", default="", help="A note on the verdict.")
@appends
def assess(session: Session, at: datetime, assignment: str, student: str, verdict: ev.Verdict, note: str) -> Any:
    """Record an assessor's verdict on a hand-in (SubmissionAssessed).

    insufficient_effort, uncited_copy and transfer_missing fail the
    assignment for that student; transfer_missing only for a master
    participant, on an assignment published with --transfer.

    \b
    Example:
      subledger assess A03 231045 --verdict uncited_copy --note "copied from a blog"
    """
    from ledger import events as ev

    return ev.SubmissionAssessed(
        course=session.course(), at=at, assignment=assignment, student=student, verdict=verdict, note=note
    )


@click.command("excuse")
@click.argument("student")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--certificate", required=True, help="Reference of the medical certificate.")
@appends
def excuse(session: Session, at: datetime, student: str, assignments: tuple[str, ...], certificate: str) -> Any:
    """Excuse a student from assignments on a medical certificate (ExcuseGranted).

    \b
    Example:
      subledger excuse 231045 A04 A05 --certificate AU-2025-0412
    """
    from ledger import events as ev

    return ev.ExcuseGranted(
        course=session.course(), at=at, student=student, assignments=assignments, certificate=certificate
    )


@click.command("extend")
@click.argument("students", metavar="STUDENT...", nargs=-1, required=True)
@click.argument("assignment")
@click.option("--until", "until", type=INSTANT, required=True, help="The participant's own deadline (inclusive).")
@click.option("--reason", required=True, help="Why.")
@click.option("--certificate", default="", help="Reference of a medical certificate, if there is one.")
@appends
def extend(
    session: Session, at: datetime, students: tuple[str, ...], assignment: str, until: datetime, reason: str, certificate: str
) -> Any:
    """Give participants a later deadline for one assignment (ExtensionGranted).

    The deadline it gives must be later than the course's deadline of the
    assignment. Name every member of a team to extend it for the team: one
    event is recorded per student, all or none. The latest extension counts;
    retract one to take it back.

    \b
    Example:
      subledger extend 231045 A04 --until 2025-05-09T10:00 --reason "ill for three days"
      subledger extend 231045 231046 A05 --until 2025-05-16T10:00 --reason "server outage" \\
        --certificate AU-2025-0502
    """
    from ledger import events as ev

    name = session.course()
    return [
        ev.ExtensionGranted(
            course=name, at=at, student=s, assignment=assignment, deadline=until, reason=reason, certificate=certificate
        )
        for s in students
    ]


@click.command("retract")
@click.argument("event_id")
@click.option("--reason", required=True, help="Why the event was a mistake.")
@appends
def retract(session: Session, at: datetime, event_id: str, reason: str) -> Any:
    """Cancel a mistaken event; its record stays (EventRetracted).

    \b
    Example:
      subledger retract 0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e --reason "wrong student"
    """
    from uuid import UUID

    from ledger import events as ev

    try:
        target = UUID(event_id)
    except ValueError:
        raise click.BadParameter(f"{event_id!r} is not an event id (a UUID)") from None
    record = session.ledger().find(target)
    course = record.event.course if record else session.course()
    return ev.EventRetracted(course=course, at=at, event=target, reason=reason)


@click.command("close-coursework")
@appends
def close_coursework(session: Session, at: datetime) -> Any:
    """Close coursework: exam admission is decided (CourseworkClosed).

    \b
    Example:
      subledger close-coursework --at 2025-07-15T00:00
    """
    from ledger import events as ev

    return ev.CourseworkClosed(course=session.course(), at=at)


@click.command("register-exam")
@click.argument("student")
@click.option("--mode", type=choice_of(ev.ExamMode), required=True, help="Graded exam or certificate (Schein).")
@appends
def register_exam(session: Session, at: datetime, student: str, mode: ev.ExamMode) -> Any:
    """Register a participant for the exam (ExamRegistered).

    \b
    Example:
      subledger register-exam 231045 --mode graded
    """
    from ledger import events as ev

    return ev.ExamRegistered(course=session.course(), at=at, student=student, mode=mode)


@click.command("grade")
@click.argument("student")
@click.argument("grade", type=float)
@appends
def grade(session: Session, at: datetime, student: str, grade: float) -> Any:
    """Record an exam grade on the German scale 1.0 … 5.0 (ExamGraded).

    \b
    Example:
      subledger grade 231045 1.7
    """
    from ledger import events as ev

    return ev.ExamGraded(course=session.course(), at=at, student=student, grade=grade)


@click.command("erase-material")
@appends
def erase_material(session: Session, at: datetime) -> Any:
    """Destroy application material once selection is over (ApplicationMaterialErased).

    Statements of every applicant, and names and emails of those never
    admitted, become unrecoverable (a retracted application's too); the
    events and the digest stay as they were.

    \b
    Example:
      subledger erase-material
    """
    from ledger import events as ev

    name = session.course()
    course = session.ledger().course(name)
    students = tuple(course.holding_material())
    return ev.ApplicationMaterialErased(course=name, at=at, students=students)


COMMANDS = [
    open_course,
    apply,
    accept,
    reject,
    withdraw,
    prefer,
    allocate_groups,
    change_group,
    visit_group,
    publish,
    move_deadline,
    hand_in,
    present,
    assess,
    excuse,
    extend,
    retract,
    close_coursework,
    register_exam,
    grade,
    erase_material,
]

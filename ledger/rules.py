"""What an append must refuse (SPEC §4): one `check` per event type.

Each check takes the course as everything recorded tells it and the event to
append, and raises `Refused` naming the rule and the offending value. A check
looks at the course as it would be with the event appended: an event may not
break a rule that an earlier one rests on (an exam candidate's admission, a
group's seats in a later week). Retractions are checked in `ledger.retractions`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from ledger import clock, coursework, groups, retractions, text
from ledger import events as ev
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded

E = TypeVar("E", bound=ev.Event)

# How far an event's `at` may lie after its `recorded_at`: writers' clocks that disagree (NTP keeps
# them within milliseconds; a laptop's may drift by minutes). Anything later is a typo or a forgery.
CLOCK_SKEW = timedelta(minutes=5)


def check_record(course: Course, record: Recorded, stored: bytes | None = None) -> None:
    """Raise `Refused` if `record` may not be appended to `course`: the rules, and its time.

    The one decision an append takes on a new record, and `verify` takes again on every
    stored one (`stored`: the bytes it is stored as, which spare `check_text` encoding it).
    """
    check_time(record.event, record.recorded_at)
    check(course, record.event, stored)


def check_time(event: ev.Event, recorded_at: datetime) -> None:
    """Refuse an event that happened after it is recorded (`future`), beyond `CLOCK_SKEW`.

    The rules would count it at once, while every view hides it until its `at`
    comes (SPEC §2): what the views show would not be what decisions rest on.
    """
    if event.at > recorded_at + CLOCK_SKEW:
        raise Refused(
            "future",
            f"at {clock.iso(event.at)} is later than it is recorded ({clock.iso(recorded_at)}): record what has happened",
        )


def check(course: Course, event: ev.Event, encoded: bytes | None = None) -> None:
    """Raise `Refused` if `event` may not be appended to `course` (its time aside: `check_record`)."""
    text.check_text(event, encoded)
    if course.opened is None and not isinstance(event, ev.CourseOpened):
        raise Refused("unknown-course", f"no course {event.course!r} has been opened")
    # Every event type has its entry, if only `no_rule` (tests/test_event_facts.py).
    CHECKS[type(event)](course, event)


def no_rule(course: Course, event: ev.Event) -> None:
    """The check of an event type that no rule refuses: said in CHECKS, not left out of it."""


def _opened(course: Course, e: ev.CourseOpened) -> None:
    if course.opened is not None:
        raise Refused("course-opened-twice", f"course {e.course!r} is already open")
    _check_opening(e)


def _check_opening(e: ev.CourseOpened) -> None:
    if e.capacity < 1:
        raise Refused("capacity", f"capacity must be at least 1, got {e.capacity}")
    if not e.groups:
        raise Refused("unknown-group", "a course needs at least one exercise group")
    repeated = [g for g, n in Counter(g.id for g in e.groups).items() if n > 1]
    if repeated:
        raise Refused("repeated-group", f"group {repeated[0]!r} is listed twice")
    for group in e.groups:
        if group.capacity < 1:
            raise Refused("group-capacity", f"group {group.id!r} has capacity {group.capacity}")
        if groups.slot_offset(group.slot) is None:
            raise Refused("slot", f"group {group.id!r} has slot {group.slot!r}; write a weekday and a time, e.g. 'Thu 11:00'")
    if e.max_team_size < 1 or e.max_fails < 0:
        raise Refused(
            "course-settings", f"max_team_size {e.max_team_size}, max_fails {e.max_fails}"
        )


def _application(course: Course, student: str) -> None:
    if student not in course.applications:
        raise Refused("unknown-student", f"student {student!r} has not applied to {course.name}")


def _participant(course: Course, student: str) -> None:
    _application(course, student)
    if not course.is_participant(student):
        raise Refused("not-a-participant", f"student {student!r} is not a participant of {course.name}")


def _assignment(course: Course, assignment: str) -> None:
    if assignment not in course.assignments:
        raise Refused("unknown-assignment", f"no assignment {assignment!r} in {course.name}")


def _group(course: Course, group: str) -> None:
    assert course.opened is not None
    if group not in {g.id for g in course.opened.groups}:
        raise Refused("unknown-group", f"no group {group!r} in {course.name}")


def _submitted(course: Course, e: ev.ApplicationSubmitted) -> None:
    if e.student in course.applications:
        raise Refused("applied-twice", f"student {e.student!r} has already applied")


def _undecided(course: Course, student: str) -> None:
    _application(course, student)
    application = course.applications[student]
    if application.decided:
        state = (
            "accepted" if application.accepted else "rejected" if application.rejected else "withdrawn"
        )
        raise Refused("decided-twice", f"the application of {student!r} is already {state}")


def _accepted(course: Course, e: ev.ApplicationAccepted) -> None:
    assert course.opened is not None
    _undecided(course, e.student)
    taken = course.seats_taken()
    if taken >= course.opened.capacity:
        raise Refused(
            "capacity",
            f"all {course.opened.capacity} seats are taken; cannot accept {e.student!r}",
        )
    application = course.applications[e.student]
    if course.is_late_application(application):
        waiting = [
            s
            for s, a in course.applications.items()
            if not a.decided and not course.is_late_application(a)
        ]
        if waiting:
            raise Refused(
                "late-application",
                f"{e.student!r} applied late; on-time application of {waiting[0]!r} "
                f"(and {len(waiting) - 1} more) is undecided",
            )


def _rejected(course: Course, e: ev.ApplicationRejected) -> None:
    _undecided(course, e.student)


def _withdrawn(course: Course, e: ev.ApplicationWithdrawn) -> None:
    _application(course, e.student)
    application = course.applications[e.student]
    if application.withdrawn is not None or application.rejected is not None:
        state = "withdrawn" if application.withdrawn else "rejected"
        raise Refused("decided-twice", f"the application of {e.student!r} is already {state}")


def _preference(course: Course, e: ev.GroupPreferenceRegistered) -> None:
    assert course.opened is not None
    _application(course, e.student)
    if not e.priorities:
        raise Refused("unknown-group", f"{e.student!r} named no group")
    for group in e.priorities:
        _group(course, group)
    repeated = [g for g, n in Counter(e.priorities).items() if n > 1]
    if repeated:
        raise Refused("repeated-group", f"group {repeated[0]!r} is named twice by {e.student!r}")
    if e.at > course.opened.registration_deadline:
        raise Refused(
            "registration-deadline",
            f"preference of {e.student!r} at {e.at.isoformat()} is after the registration "
            f"deadline {course.opened.registration_deadline.isoformat()}",
        )


def _allocated(course: Course, e: ev.GroupsAllocated) -> None:
    assert course.opened is not None
    deadline = course.opened.registration_deadline
    if e.at <= deadline:
        raise Refused(
            "registration-open",
            f"allocation at {e.at.isoformat()} is before the registration deadline "
            f"{deadline.isoformat()} has passed",
        )
    if course.allocation is not None:
        raise Refused(
            "allocated-twice",
            f"the groups of {course.name} are already allocated (event {course.allocation.id}); "
            "retract that allocation first",
        )
    for student, group in e.allocation.items():
        _group(course, group)
        if not course.is_participant(student):
            raise Refused("not-a-participant", f"allocation names {student!r}, who is not a participant")
    counts = Counter(e.allocation.values())
    for g in course.opened.groups:
        if counts[g.id] > g.capacity:
            raise Refused(
                "group-capacity",
                f"allocation puts {counts[g.id]} into group {g.id!r} of capacity {g.capacity}",
            )
    full = _overfull_with(course, e)
    if full is not None:
        raise Refused(
            "group-capacity",
            f"allocation puts {full.members} into group {full.group!r} of capacity {full.capacity} "
            f"in week {full.week}, with the participants placed there by group changes",
        )


def _group_changed(course: Course, e: ev.GroupChanged) -> None:
    _participant(course, e.student)
    _group(course, e.group)
    full = _overfull_with(course, e)
    if full is not None:
        raise Refused(
            "group-full",
            f"group {full.group!r} is full in week {full.week} ({full.capacity} of {full.capacity}); "
            f"cannot move {e.student!r} into {e.group!r}",
        )


def _visited(course: Course, e: ev.GroupVisited) -> None:
    assert course.opened is not None
    _participant(course, e.student)
    _group(course, e.group)
    if not 1 <= e.week <= groups.MOST_WEEKS:
        raise Refused("week", f"week {e.week} is not a week of {course.name} (1 to {groups.MOST_WEEKS})")
    weeks = groups.Weeks(course.opened)
    slot = next(g.slot for g in course.opened.groups if g.id == e.group)
    try:
        session = weeks.session(e.week)
        weeks.session_of(slot, e.week)  # the visited session, too, is a day the calendar holds
    except OverflowError:
        raise Refused("week", f"week {e.week} of {course.name} would be after the year 9999") from None
    if e.at >= session:
        tz = course.opened.timezone
        raise Refused(
            "week-started",
            f"a visit in week {e.week} must be asked before its earlier session "
            f"{clock.local(session, tz).isoformat()}; asked at {clock.local(e.at, tz).isoformat()}",
        )
    placed = groups.membership(course)
    home = placed.group(e.student, e.week)
    if home is None:
        raise Refused("no-group", f"{e.student!r} has no group in week {e.week} to visit from; place them with change-group")
    if home == e.group:
        raise Refused("own-group", f"{e.student!r} is in group {e.group!r} in week {e.week}; a visit is of another group")
    for other in course.visits.get(e.student, ()):
        if other.event.week == e.week:
            raise Refused(
                "visited-twice",
                f"{e.student!r} already visits group {other.event.group!r} in week {e.week} "
                f"(event {other.id}); retract that visit first",
            )
    members = sum(1 for s, g in placed.placed(e.week).items() if g == e.group and course.is_participant(s))
    seats = next(g.capacity for g in course.opened.groups if g.id == e.group)
    if members >= seats:
        raise Refused(
            "group-full",
            f"group {e.group!r} is full in week {e.week} ({members} of {seats}); no seat for {e.student!r} as a visitor",
        )


def _overfull_with(course: Course, e: ev.GroupsAllocated | ev.GroupChanged) -> groups.Overfull | None:
    """A group over capacity in some week, were `e` recorded, that was not over it before."""
    before = groups.membership(course)
    after = groups.membership(course, extra=as_next(course, e))
    participants = set(course.participants())
    return groups.overfull(course, after, participants, before=(before, participants))


def as_next(course: Course, event: E) -> Recorded[E]:
    """`event` as the course's next record, for asking what the course would be with it."""
    position = course.records[-1].position + 1 if course.records else 1
    return Recorded(UUID(int=0), position, event.at, "", event)


def _published(course: Course, e: ev.AssignmentPublished) -> None:
    if e.assignment in course.assignments:
        raise Refused("assignment-published-twice", f"assignment {e.assignment!r} is already published")
    _admission_kept(course, list(course.exam), e, f"publishing {e.assignment!r}")


def _deadline_changed(course: Course, e: ev.DeadlineChanged) -> None:
    _assignment(course, e.assignment)
    _admission_kept(course, list(course.exam), e, f"moving the deadline of {e.assignment!r}")


def _admission_kept(course: Course, students: list[str], e: ev.AnyEvent, doing: str) -> None:
    """Refuse `e` if it would exclude an exam candidate (only a backdated event can)."""
    if course.exam:
        retractions.still_admitted(course, students, doing, extra=as_next(course, e))


def _handed_in(course: Course, e: ev.SubmissionHandedIn) -> None:
    assert course.opened is not None
    _assignment(course, e.assignment)
    if not e.team:
        raise Refused("team-empty", f"a hand-in for {e.assignment!r} names no student")
    team_size(course.opened.max_team_size, e)
    # (Counted only when the set shows a repeat: this runs on every hand-in of an import and of `verify`.)
    repeated = [s for s, n in Counter(e.team).items() if n > 1] if len(set(e.team)) < len(e.team) else []
    if repeated:
        raise Refused("team-repeats", f"student {repeated[0]!r} is named twice in the team")
    team = frozenset(e.team)
    for student in e.team:
        _participant(course, student)
        earlier = course.team_of.get((e.assignment, student))
        if earlier is not None and earlier != team:
            raise Refused(
                "two-teams",
                f"student {student!r} already handed in {e.assignment!r} with team "
                f"{','.join(sorted(earlier))}",
            )
    _admission_kept(course, list(e.team), e, f"this hand-in of {e.assignment!r}")


def team_size(max_team_size: int, e: ev.SubmissionHandedIn) -> None:
    """Refuse a hand-in by a team larger than `max_team_size` (SPEC §1.4)."""
    if len(e.team) > max_team_size:
        raise Refused("team-too-large", f"team of {len(e.team)} for {e.assignment!r}; at most {max_team_size}")


def _handed_in_by(course: Course, assignment: str, student: str) -> None:
    _assignment(course, assignment)
    _application(course, student)
    if (assignment, student) not in course.team_of:
        raise Refused("no-hand-in", f"student {student!r} has no hand-in for {assignment!r}")


def _presented(course: Course, e: ev.PresentationRecorded) -> None:
    _handed_in_by(course, e.assignment, e.student)
    _admission_kept(course, [e.student], e, f"this presentation of {e.assignment!r}")


def _assessed(course: Course, e: ev.SubmissionAssessed) -> None:
    _handed_in_by(course, e.assignment, e.student)
    if e.verdict == "transfer_missing":
        _transfer_required(course, e.assignment, e.student)
    _admission_kept(course, [e.student], e, f"this assessment of {e.assignment!r}")


def _transfer_required(course: Course, assignment: str, student: str) -> None:
    """Refuse `transfer_missing` unless `student` must complete `assignment`'s transfer part (SPEC §1.2)."""
    published: ev.AssignmentPublished = course.assignments[assignment].event
    if not published.transfer:
        raise Refused(
            "no-transfer-part",
            f"assignment {assignment!r} was published without a transfer part; "
            f"cannot assess {student!r} as transfer_missing",
        )
    programme = course.applications[student].event.programme
    if programme != "master":
        raise Refused(
            "transfer-for-master",
            f"student {student!r} is in a {programme} programme ({ev.CREDITS[programme]} credits); "
            "only master participants must complete the transfer part",
        )


def _excused(course: Course, e: ev.ExcuseGranted) -> None:
    if not e.certificate.strip():
        raise Refused("certificate-required", f"an excuse for {e.student!r} needs a medical certificate")
    _participant(course, e.student)
    if not e.assignments:
        raise Refused("unknown-assignment", f"the excuse for {e.student!r} names no assignment")
    for assignment in e.assignments:
        _assignment(course, assignment)


def _extended(course: Course, e: ev.ExtensionGranted) -> None:
    assert course.opened is not None
    _participant(course, e.student)
    _assignment(course, e.assignment)
    deadline = course.deadline(e.assignment)
    if e.deadline <= deadline:
        tz = course.opened.timezone
        raise Refused(
            "extension-not-later",
            f"an extension of {e.assignment!r} for {e.student!r} until {clock.local(e.deadline, tz).isoformat()} "
            f"is not later than the course's deadline {clock.local(deadline, tz).isoformat()}",
        )
    # A later extension replaces an earlier one (the latest counts): it may give less time.
    _admission_kept(course, [e.student], e, f"this extension of {e.assignment!r}")


def _retracted(course: Course, e: ev.EventRetracted) -> None:
    target = course.by_id.get(e.event)
    if target is None:
        raise Refused("retract-unknown", f"no event {e.event} in {course.name}")
    if isinstance(target.event, ev.EventRetracted):
        raise Refused("retract-retraction", f"event {e.event} is a retraction and cannot be retracted")
    if isinstance(target.event, ev.CourseOpened):
        raise Refused("retract-opening", f"event {e.event} opens {course.name}; everything else rests on it")
    if e.event in course.retractions:
        raise Refused("retracted-twice", f"event {e.event} is already retracted")
    retractions.check(course, target)


def _closed(course: Course, e: ev.CourseworkClosed) -> None:
    if course.closed is not None:
        raise Refused("coursework-closed-twice", f"coursework of {course.name} is already closed")


def _exam_registered(course: Course, e: ev.ExamRegistered) -> None:
    assert course.opened is not None
    _participant(course, e.student)
    if course.closed is None:
        raise Refused("coursework-open", f"coursework of {course.name} is not closed; cannot register {e.student!r}")
    if e.at < course.closed.event.at:
        tz = course.opened.timezone
        raise Refused(
            "coursework-open",
            f"registration of {e.student!r} at {clock.local(e.at, tz).isoformat()} is before coursework of "
            f"{course.name} was closed ({clock.local(course.closed.event.at, tz).isoformat()})",
        )
    if e.student in course.exam:
        raise Refused("registered-twice", f"{e.student!r} is already registered for the exam")
    failed = coursework.fails_if(course, e.student, e.at)
    if len(failed) > course.opened.max_fails:
        raise Refused(
            "excluded",
            f"{e.student!r} failed {len(failed)} assignments (more than {course.opened.max_fails}): "
            + coursework.reasons(failed),
        )


def _graded(course: Course, e: ev.ExamGraded) -> None:
    if e.grade not in ev.GRADES:
        raise Refused("grade-scale", f"grade {e.grade} is not on the scale {' '.join(map(str, ev.GRADES))}")
    if e.student not in course.exam:
        raise Refused("not-registered", f"{e.student!r} is not registered for the exam")
    registered = course.exam[e.student].event.at
    if e.at < registered:
        assert course.opened is not None
        tz = course.opened.timezone
        raise Refused(
            "not-registered",
            f"a grade of {e.student!r} at {clock.local(e.at, tz).isoformat()} is before their exam registration "
            f"({clock.local(registered, tz).isoformat()})",
        )


def _erased(course: Course, e: ev.ApplicationMaterialErased) -> None:
    waiting = [s for s, a in course.applications.items() if not a.decided]
    if waiting:
        raise Refused(
            "selection-open",
            f"application of {waiting[0]!r} (and {len(waiting) - 1} more) is undecided",
        )
    if not e.students:
        raise Refused("nothing-to-erase", f"no application material of {course.name} is left to erase")
    holding = set(course.holding_material())
    for student in e.students:
        if student not in course.applied:
            raise Refused("unknown-student", f"student {student!r} has not applied to {course.name}")
        if student not in holding:
            raise Refused("erased-twice", f"the material of {student!r} is already erased")


# The rule check of every event type (`no_rule` where none applies).
CHECKS: dict[type[ev.Event], Callable[[Course, Any], None]] = {
    ev.CourseOpened: _opened,
    ev.ApplicationSubmitted: _submitted,
    ev.ApplicationAccepted: _accepted,
    ev.ApplicationRejected: _rejected,
    ev.ApplicationWithdrawn: _withdrawn,
    ev.GroupPreferenceRegistered: _preference,
    ev.GroupsAllocated: _allocated,
    ev.GroupChanged: _group_changed,
    ev.GroupVisited: _visited,
    ev.AssignmentPublished: _published,
    ev.DeadlineChanged: _deadline_changed,
    ev.SubmissionHandedIn: _handed_in,
    ev.PresentationRecorded: _presented,
    ev.SubmissionAssessed: _assessed,
    ev.ExcuseGranted: _excused,
    ev.ExtensionGranted: _extended,
    ev.EventRetracted: _retracted,
    ev.CourseworkClosed: _closed,
    ev.ExamRegistered: _exam_registered,
    ev.ExamGraded: _graded,
    ev.ApplicationMaterialErased: _erased,
}

"""What a retraction may not undo (SPEC §4, ADR 0011).

A retraction is an append like any other: it is refused when the course it
leaves breaks a rule. Each check below looks only at what can rest on the type
of event retracted — a few index lookups, never a fold of the course. (The one
fold left is the exam's: when a registered candidate's coursework changes, their
fails are counted again as of their registration, as the registration was.)

Each refusal names the rule the remaining course would break and the event
that would break it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ledger import coursework
from ledger import events as ev
from ledger.course import Applicant, Course
from ledger.errors import Refused
from ledger.events import Recorded
from ledger.groups import membership, overfull

DECISIONS = {
    ev.ApplicationAccepted: "acceptance",
    ev.ApplicationRejected: "rejection",
    ev.ApplicationWithdrawn: "withdrawal",
}


def check(course: Course, target: Recorded) -> None:
    """Raise `Refused` if retracting `target` leaves `course` breaking a rule."""
    # Every event type has its entry, if only `nothing_rests` (tests/test_retractions.py).
    CHECKS[type(target.event)](course, target)


def nothing_rests(course: Course, target: Recorded) -> None:
    """The check of an event type that no rule rests on: said in CHECKS, not left out of it."""


def refused_before(course: Course, target: Recorded) -> None:
    """The check of an event type whose retraction `ledger.rules` refuses outright (an opening, a retraction)."""
    raise AssertionError(f"{ev.type_name(target.event)} reached the retraction checks")  # a bug, not a refusal


def still_admitted(
    course: Course,
    students: Iterable[str],
    doing: str,
    extra: Recorded | None = None,
    retracted: Recorded | None = None,
) -> None:
    """Refuse `extra` (an append) or retracting `retracted` if it excludes an exam candidate.

    A candidate's registration was admitted on their fails as of its `at`; only
    an event that happened by then can change them.
    """
    assert course.opened is not None
    changed = extra or retracted
    assert changed is not None
    for student in students:
        registration = course.exam.get(student)
        if registration is None or changed.event.at > registration.event.at:
            continue
        failed = coursework.fails_if(
            course, student, registration.event.at, extra, retracted.id if retracted else None
        )
        if len(failed) > course.opened.max_fails:
            raise Refused(
                "excluded",
                f"{doing} would exclude {student!r}, who is registered for the exam (event "
                f"{registration.id}): {len(failed)} failed (more than {course.opened.max_fails}): "
                + coursework.reasons(failed),
            )


def _application(course: Course, target: Recorded[ev.ApplicationSubmitted]) -> None:
    student = target.event.student
    application = course.applications.get(student)
    if application is None or application.submitted is not target:
        return
    resting: list[tuple[str, Recorded]] = [
        (DECISIONS[type(r.event)], r)
        for r in (application.accepted, application.rejected, application.withdrawn)
        if r is not None
    ]
    resting += [("group preference", r) for r in course.preferences.every(student)]
    resting += [("erasure of its material", r) for r in course.erasures if student in r.event.students]
    if resting:
        what, record = resting[0]
        raise Refused(
            "unknown-student",
            f"retracting the application of {student!r} would leave its {what} (event {record.id}) "
            "without an application",
        )


def _accepted(course: Course, target: Recorded[ev.ApplicationAccepted]) -> None:
    student = target.event.student
    application = course.applications.get(student)
    if application is None or application.accepted is not target:
        return
    resting = next(_resting_on_admission(course, student), None)
    if resting is not None:
        what, record = resting
        raise Refused(
            "not-a-participant",
            f"retracting the acceptance of {student!r} would leave the {what} (event {record.id}) "
            "naming a student never admitted",
        )
    if student in course.erased_students():
        raise Refused(
            "selection-open",
            f"the application material of {student!r} was erased as that of an admitted student; "
            "retracting the acceptance would make that erasure wrong",
        )
    _decision_gone(course, application, target)


def _resting_on_admission(course: Course, student: str) -> Iterator[tuple[str, Recorded]]:
    for allocation in course.allocations:
        if student in allocation.event.allocation:
            yield "group allocation", allocation
    for change in course.group_changes.get(student, ()):
        yield "group change", change
    for visit in course.visits.get(student, ()):
        yield "group visit", visit
    for assignment, hand_ins in course.hand_ins.items():
        for hand_in in hand_ins:
            if student in hand_in.event.team:
                yield f"hand-in of {assignment!r}", hand_in
    for excuse in course.excuses.get(student, ()):
        yield "excuse", excuse
    for (_, extended), extension in course.extensions.items():
        if extended == student:
            yield "extension", extension
    if student in course.exam:
        yield "exam registration", course.exam[student]


def _rejected(course: Course, target: Recorded[ev.ApplicationRejected]) -> None:
    application = course.applications.get(target.event.student)
    if application is not None and application.rejected is target:
        _decision_gone(course, application, target)


def _withdrawn(course: Course, target: Recorded[ev.ApplicationWithdrawn]) -> None:
    assert course.opened is not None
    student = target.event.student
    application = course.applications.get(student)
    if application is None or application.withdrawn is not target:
        return
    if application.accepted is None:
        _decision_gone(course, application, target)
        return
    # The student becomes a participant again: a seat, and a place in their groups.
    seats = course.seats_taken() + 1
    if seats > course.opened.capacity:
        raise Refused(
            "capacity",
            f"retracting the withdrawal of {student!r} would seat {seats} participants "
            f"in {course.opened.capacity} seats",
        )
    groups = membership(course)
    participants = set(course.participants())
    full = overfull(course, groups, participants | {student}, before=(groups, participants))
    if full is not None:
        raise Refused(
            "group-full",
            f"retracting the withdrawal of {student!r} would put {full.members} into group "
            f"{full.group!r} of capacity {full.capacity} in week {full.week}",
        )


def _decision_gone(course: Course, application: Applicant, target: Recorded) -> None:
    """The rules that need an application decided, when `target` was its only decision."""
    decisions = (application.accepted, application.rejected, application.withdrawn)
    if any(d is not None and d is not target for d in decisions):
        return
    student = application.event.student
    what = f"the {DECISIONS[type(target.event)]} of {student!r}"
    submitted = application.submitted.position
    if not course.is_late_application(application):
        for other, late in course.applications.items():
            accepted = late.accepted
            if accepted is not None and course.is_late_application(late) and accepted.position > submitted:
                raise Refused(
                    "late-application",
                    f"retracting {what} would leave their on-time application undecided while the "
                    f"late application of {other!r} is accepted (event {accepted.id})",
                )
    for erasure in course.erasures:
        if erasure.position > submitted:
            raise Refused(
                "selection-open",
                f"retracting {what} would leave their application undecided after selection was "
                f"closed by erasing the application material (event {erasure.id})",
            )


def _placement(course: Course, target: Recorded) -> None:
    what = "the allocation" if isinstance(target.event, ev.GroupsAllocated) else "the group change"
    participants = set(course.participants())
    full = overfull(
        course,
        membership(course, without=target.id),
        participants,
        before=(membership(course), participants),
    )
    if full is not None:
        raise Refused(
            "group-full",
            f"retracting {what} (event {target.id}) would put {full.members} into group "
            f"{full.group!r} of capacity {full.capacity} in week {full.week}",
        )


def _published(course: Course, target: Recorded[ev.AssignmentPublished]) -> None:
    assignment = target.event.assignment
    if course.assignments.get(assignment) is not target:
        return
    resting: list[tuple[str, Recorded]] = [
        ("deadline change", r) for r in course.deadlines.every(assignment) if r is not target
    ]
    resting += [("hand-in", r) for r in course.hand_ins.get(assignment, ())]
    resting += [
        ("excuse", r) for rs in course.excuses.values() for r in rs
        if assignment in r.event.assignments
    ]  # fmt: skip
    for what, index in (
        ("presentation", course.presentations),
        ("assessment", course.assessments),
        ("extension", course.extensions),
    ):
        resting += [(what, index[key]) for key in index if key[0] == assignment]
    if resting:
        what, record = resting[0]
        raise Refused(
            "unknown-assignment",
            f"retracting the publication of {assignment!r} would leave a {what} (event {record.id}) "
            "for an assignment never published",
        )


def _deadline_changed(course: Course, target: Recorded) -> None:
    still_admitted(course, list(course.exam), "retracting this deadline change", retracted=target)


def _handed_in(course: Course, target: Recorded[ev.SubmissionHandedIn]) -> None:
    e = target.event
    others = [h for h in course.hand_ins.get(e.assignment, ()) if h is not target]
    for student in e.team:
        if any(student in h.event.team for h in others):
            continue
        for what, index in (("presentation", course.presentations), ("assessment", course.assessments)):
            record = index.get((e.assignment, student))
            if record is not None:
                raise Refused(
                    "no-hand-in",
                    f"retracting this hand-in of {e.assignment!r} would leave the {what} of "
                    f"{student!r} (event {record.id}) without a hand-in",
                )
    still_admitted(course, e.team, f"retracting this hand-in of {e.assignment!r}", retracted=target)


def _about_one_student(
    course: Course,
    target: Recorded[ev.PresentationRecorded | ev.SubmissionAssessed | ev.ExcuseGranted | ev.ExtensionGranted],
) -> None:
    name = {
        ev.PresentationRecorded: "presentation",
        ev.SubmissionAssessed: "assessment",
        ev.ExtensionGranted: "extension",
    }
    what = name.get(type(target.event), "excuse")
    still_admitted(course, [target.event.student], f"retracting this {what}", retracted=target)


def _closed(course: Course, target: Recorded) -> None:
    if course.closed is not target or len(course.closures) > 1:
        return
    if course.exam:
        student, registration = next(iter(course.exam.items()))
        raise Refused(
            "coursework-open",
            f"retracting the closing of coursework would leave the exam registration of {student!r} "
            f"(event {registration.id}) before coursework is closed",
        )


def _exam_registered(course: Course, target: Recorded[ev.ExamRegistered]) -> None:
    student = target.event.student
    grade = course.grades.get(student)
    if course.exam.get(student) is target and grade is not None:
        raise Refused(
            "not-registered",
            f"retracting the exam registration of {student!r} would leave their grade "
            f"(event {grade.id}) without a registration",
        )


def _erased(course: Course, target: Recorded) -> None:
    raise Refused(
        "retract-erasure",
        f"event {target.id} erased application material; its keys are destroyed, and no "
        "retraction brings the material back",
    )


# What rests on each event type, checked when one is retracted. Each check takes the
# record of its own type (hence `Any`): `check` hands it one whose event is of that type.
CHECKS: dict[type[ev.Event], Callable[[Course, Any], None]] = {
    ev.CourseOpened: refused_before,
    ev.EventRetracted: refused_before,
    ev.GroupPreferenceRegistered: nothing_rests,  # an allocation is a recorded fact, preferences or not
    ev.ExamGraded: nothing_rests,
    ev.ApplicationSubmitted: _application,
    ev.ApplicationAccepted: _accepted,
    ev.ApplicationRejected: _rejected,
    ev.ApplicationWithdrawn: _withdrawn,
    ev.GroupsAllocated: _placement,
    ev.GroupChanged: _placement,
    ev.GroupVisited: nothing_rests,  # a visit changes no group and takes no seat
    ev.AssignmentPublished: _published,
    ev.DeadlineChanged: _deadline_changed,
    ev.SubmissionHandedIn: _handed_in,
    ev.PresentationRecorded: _about_one_student,
    ev.SubmissionAssessed: _about_one_student,
    ev.ExcuseGranted: _about_one_student,
    ev.ExtensionGranted: _about_one_student,
    ev.CourseworkClosed: _closed,
    ev.ExamRegistered: _exam_registered,
    ev.ApplicationMaterialErased: _erased,
}

"""The course's rules for assignments and exam admission (SPEC §1.5–1.7, §5).

Pure functions of a `Course` (already cut to a view) and a clock. Each outcome
carries the records it rests on, so that an auditor can be told why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from ledger import events as ev
from ledger.course import Course, visible
from ledger.events import Recorded

NEGATIVE_VERDICTS = ("uncited_copy", "insufficient_effort", "transfer_missing")
NEGATIVE_OUTCOMES = ("failed_to_explain", "absent")


@dataclass(frozen=True)
class Outcome:
    """One participant's result for one assignment, and the records behind it."""

    assignment: str
    kind: str  # exempt / passed / excused / failed / open
    reason: str = ""  # for `failed`: uncited_copy … missed_deadline
    rule: str = ""
    evidence: tuple[Recorded, ...] = field(default=())


def own_deadline(
    course: Course, student: str, assignment: str
) -> Recorded[ev.AssignmentPublished | ev.DeadlineChanged | ev.ExtensionGranted]:
    """The record that sets `student`'s deadline of `assignment` (SPEC §5).

    The latest extension for (student, assignment) in view, else the course's
    deadline (the latest DeadlineChanged, else the publication). An extension
    only ever gives more time: one that a later course-wide move has overtaken
    gives way to the course's deadline.
    """
    course_deadline = course.deadlines[assignment]
    extension = course.extensions.get((assignment, student))
    if extension is not None and extension.event.deadline > course_deadline.event.deadline:
        return extension
    return course_deadline


def outcome(course: Course, student: str, assignment: str, clock: datetime) -> Outcome:
    """What `assignment` comes to for `student` at `clock` (SPEC §5, in its order)."""
    application = course.applications[student]
    accepted = application.accepted
    assert accepted is not None
    if course.deadline(assignment) < accepted.event.at:
        return Outcome(
            assignment,
            "exempt",
            rule="the deadline passed before the student was admitted",
            evidence=(course.deadlines[assignment], accepted),
        )
    deadline_record = own_deadline(course, student, assignment)
    deadline = deadline_record.event.deadline
    extended = isinstance(deadline_record.event, ev.ExtensionGranted)
    the_deadline = "the extended deadline" if extended else "the deadline"
    hand_ins = [h for h in course.hand_ins.get(assignment, ()) if student in h.event.team]
    on_time = [h for h in hand_ins if h.event.at <= deadline]
    # The extension is evidence where only it makes a hand-in on time.
    needed = extended and on_time and all(h.event.at > course.deadline(assignment) for h in on_time)
    extension = (deadline_record,) if needed else ()
    presentation = course.presentations.get((assignment, student))
    assessment = course.assessments.get((assignment, student))
    verdict = assessment.event.verdict if assessment else None
    shown = presentation.event.outcome if presentation else None
    if on_time and verdict not in NEGATIVE_VERDICTS and shown not in NEGATIVE_OUTCOMES:
        evidence = (on_time[-1], *extension, *(r for r in (presentation, assessment) if r))
        rule = "handed in by the extended deadline" if extension else "handed in on time"
        return Outcome(assignment, "passed", rule=rule, evidence=evidence)
    for excuse in course.excuses.get(student, ()):
        if assignment in excuse.event.assignments:
            return Outcome(assignment, "excused", rule="medical certificate", evidence=(excuse,))
    if on_time:
        if verdict in NEGATIVE_VERDICTS:
            assert assessment is not None
            return Outcome(
                assignment, "failed", str(verdict), "assessed as " + str(verdict), (on_time[-1], *extension, assessment)
            )
        assert presentation is not None
        return Outcome(
            assignment, "failed", str(shown), "presentation: " + str(shown), (on_time[-1], *extension, presentation)
        )
    if clock > deadline:
        if hand_ins:
            return Outcome(
                assignment, "failed", "late", f"handed in after {the_deadline}", (deadline_record, *hand_ins)
            )
        return Outcome(
            assignment,
            "failed",
            "missed_deadline",
            f"nothing handed in by {the_deadline}",
            (deadline_record,),
        )
    return Outcome(assignment, "open", rule=f"{the_deadline} has not passed", evidence=(deadline_record,))


def assignment_order(course: Course) -> list[str]:
    """Published assignments in the order they were published."""
    return list(course.assignments)


def outcomes(course: Course, student: str, clock: datetime) -> list[Outcome]:
    """Every published assignment's outcome for `student`, in assignment order."""
    return [outcome(course, student, a, clock) for a in assignment_order(course)]


def fails(results: list[Outcome]) -> list[Outcome]:
    """The failed ones."""
    return [o for o in results if o.kind == "failed"]


@dataclass(frozen=True)
class Admission:
    """A participant's admission status (SPEC §5) and the rule that gives it, in words."""

    status: str  # withdrawn / excluded / admitted / at_risk / on_track
    rule: str


def admission(course: Course, student: str, results: list[Outcome]) -> Admission:
    """The admission status of `student` given their outcomes, and why (SPEC §5, in its order)."""
    assert course.opened is not None
    application = course.applications[student]
    failed = len(fails(results))
    most = course.opened.max_fails
    if application.withdrawn is not None:
        return Admission("withdrawn", "withdrawn from the course")
    if failed > most:
        return Admission("excluded", f"{failed} failed assignments, more than max_fails {most}")
    if course.closed is not None:
        return Admission("admitted", f"coursework is closed, with {failed} failed (max_fails {most})")
    if failed == most:
        return Admission("at_risk", f"{failed} failed assignments, as many as max_fails {most} allows")
    return Admission("on_track", f"{failed} failed assignments, fewer than max_fails {most}")


def admission_status(course: Course, student: str, results: list[Outcome]) -> str:
    """withdrawn / excluded / admitted / at_risk / on_track (SPEC §5): `admission(…).status`."""
    return admission(course, student, results).status


def reasons(results: list[Outcome]) -> str:
    """`A03:late;A05:absent` in assignment order."""
    return ";".join(f"{o.assignment}:{o.reason}" for o in fails(results))


def exam_result(grade: float | None) -> str:
    """passed / failed for a grade, empty while ungraded."""
    if grade is None:
        return ""
    return "passed" if grade <= ev.PASSING_GRADE else "failed"


def fails_if(
    course: Course,
    student: str,
    clock: datetime,
    extra: Recorded | None = None,
    without: UUID | None = None,
) -> list[Outcome]:
    """The failed assignments of `student` as of `clock`, were `extra` recorded or `without` retracted.

    A fold of what happened by `clock`: the rules ask it only for a student
    registered for the exam, whose admission an append could take back.
    """
    records = [r for r in visible(course.records, as_of=clock) if r.id != without]
    if extra is not None and extra.event.at <= clock:
        records.append(extra)
    view = Course.fold(course.name, records)
    if not view.is_participant(student):
        return []
    return fails(outcomes(view, student, clock))

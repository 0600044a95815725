"""Property tests: for random valid histories, the stored views are exact and never raise.

A history is drawn as a list of loose intents (who, what, when); each is turned
into an event against the courses as folded so far and kept only if the write
side's rules accept it, so every history is one the ledger could hold —
retractions of anything retractable, moved deadlines, withdrawals, late
admissions, erasure included.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import coursework, invariants, rules
from ledger import events as ev
from ledger.app import Ledger
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Recorded
from projections import chunks, runner, scope
from projections.admission import admission, admitted
from projections.exam import exam
from projections.explain import explain
from projections.gradebook import gradebook
from projections.log import log
from projections.reading import Reading, read
from projections.roster import roster
from projections.runner import Views
from projections.sheet import NoSheet, sheet
from projections.status import course_status, student_status
from projections.teams import teams
from tests.recording import append_as_recorded
from tests.test_projection import dump
from tests.unit import test_invariants as forged

T = TypeVar("T")
T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
COURSES = ("c1", "c2")
STUDENTS = ("s1", "s2", "s3", "s4", "s5")
ASSIGNMENTS = ("A1", "A2", "A3")
GROUPS = ("g1", "g2")
# Each kind of event, as often as a semester has it (roughly).
KINDS = (
    *["apply"] * 3, *["accept"] * 3, "reject", "withdraw", "prefer", "allocate", "change", "visit", *["publish"] * 2,
    "move", *["hand_in"] * 6, *["present"] * 3, *["assess"] * 3, "excuse", "extend", *["retract"] * 2, "close",
    *["register"] * 2, *["grade"] * 2, "erase",
)  # fmt: skip

Intent = tuple[int, int, int, int, int, int]  # course, kind, a, b, c, hour

intents = st.lists(
    st.tuples(
        st.integers(0, 1),
        st.integers(0, len(KINDS) - 1),
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(0, 9),
        st.integers(0, 600),
    ),
    min_size=30,
    max_size=120,
)


def _pick(options: Sequence[T], i: int) -> T:
    return options[i % len(options)]


def _opening(name: str) -> ev.CourseOpened:
    return ev.CourseOpened(
        course=name, at=T0, title=name, timezone="Europe/Berlin", capacity=3,
        application_deadline=T0 + timedelta(hours=200), registration_deadline=T0 + timedelta(hours=300),
        groups=(ev.Group("g1", "Thu 11:00", 2), ev.Group("g2", "Fri 13:00", 2)), max_fails=1, max_team_size=2,
    )  # fmt: skip


def _event(course: Course, intent: Intent, at: datetime) -> ev.Event | None:
    """The event an intent comes to in `course`: it picks among those it may concern."""
    _, k, a, b, c, _ = intent
    kind, name = KINDS[k], course.name
    applicants = list(course.applications) or list(STUDENTS)
    undecided = [s for s, x in course.applications.items() if not x.decided] or applicants
    participants = course.participants() or applicants
    published = list(course.assignments) or list(ASSIGNMENTS)
    handed = sorted(course.team_of) or [(x, y) for x in ASSIGNMENTS for y in STUDENTS]
    student, other = _pick(participants, a), _pick(participants, b)
    assignment = _pick(published, b)
    match kind:
        case "apply":
            new = [s for s in STUDENTS if s not in course.applications] or list(STUDENTS)
            who = _pick(new, a)
            return ev.ApplicationSubmitted(course=name, at=at, student=who, name=f"N {who}", email=f"{who}@x",
                                           programme=_pick(("bachelor", "master"), b), prerequisite="ML",
                                           statement="s")  # fmt: skip
        case "accept":
            return ev.ApplicationAccepted(course=name, at=at, student=_pick(undecided, a))
        case "reject":
            return ev.ApplicationRejected(course=name, at=at, student=_pick(undecided, a), reason="r")
        case "withdraw":
            return ev.ApplicationWithdrawn(course=name, at=at, student=_pick(applicants, a), reason="r")
        case "prefer":
            return ev.GroupPreferenceRegistered(course=name, at=at, student=_pick(applicants, a),
                                                priorities=GROUPS if b % 2 else GROUPS[::-1])  # fmt: skip
        case "allocate":
            allocation = {s: _pick(GROUPS, i + b) for i, s in enumerate(course.participants())}
            return ev.GroupsAllocated(course=name, at=at, allocation=allocation, seed=b)
        case "change":
            return ev.GroupChanged(course=name, at=at, student=student, group=_pick(GROUPS, b), reason="r")
        case "visit":
            return ev.GroupVisited(course=name, at=at, student=student, group=_pick(GROUPS, b), week=1 + c % 4,
                                   reason="r")  # fmt: skip
        case "publish":
            fresh = [x for x in ASSIGNMENTS if x not in course.assignments] or list(ASSIGNMENTS)
            return ev.AssignmentPublished(course=name, at=at, assignment=_pick(fresh, b), title="t",
                                          deadline=at + timedelta(hours=24 * (1 + c)), transfer=a % 2 == 0)  # fmt: skip
        case "move":
            return ev.DeadlineChanged(course=name, at=at, assignment=assignment,
                                      deadline=at + timedelta(hours=12 * c - 30), reason="r")  # fmt: skip
        case "hand_in":
            team = (student,) if c % 2 or other == student else (student, other)
            return ev.SubmissionHandedIn(course=name, at=at, assignment=assignment, team=team)
        case "present":
            done, who = _pick(handed, a)
            outcome = _pick(("explained", "failed_to_explain", "absent"), c)
            return ev.PresentationRecorded(course=name, at=at, assignment=done, student=who,
                                           outcome=outcome)  # type: ignore[arg-type]  # fmt: skip
        case "assess":
            done, who = _pick(handed, a)
            verdict = _pick(("sufficient", "insufficient_effort", "uncited_copy", "transfer_missing"), c)
            return ev.SubmissionAssessed(course=name, at=at, assignment=done, student=who,
                                         verdict=verdict)  # type: ignore[arg-type]  # fmt: skip
        case "excuse":
            covered = tuple(dict.fromkeys((assignment, _pick(published, c))))
            return ev.ExcuseGranted(course=name, at=at, student=student, assignments=covered, certificate="AU")
        case "extend":
            base = course.deadline(assignment) if assignment in course.assignments else at
            return ev.ExtensionGranted(course=name, at=at, student=student, assignment=assignment,
                                       deadline=base + timedelta(hours=6 * c - 6), reason="ill")  # fmt: skip
        case "retract":
            if not course.records:
                return None
            target = course.records[(a * 10 + b) % len(course.records)]
            return ev.EventRetracted(course=name, at=at, event=target.id, reason="mistake")
        case "close":
            return ev.CourseworkClosed(course=name, at=at)
        case "register":
            mode = _pick(("graded", "certificate"), c)
            return ev.ExamRegistered(course=name, at=at, student=student, mode=mode)  # type: ignore[arg-type]
        case "grade":
            registered = list(course.exam) or participants
            grade = ev.GRADES[(b * 10 + c) % len(ev.GRADES)]
            return ev.ExamGraded(course=name, at=at, student=_pick(registered, a), grade=grade)
        case "erase":
            return ev.ApplicationMaterialErased(course=name, at=at, students=tuple(sorted({student, other})))
    return None


def history(drawn: list[Intent]) -> list[Recorded]:
    """The records of the valid events among `drawn`, both courses opened first."""
    courses = {n: Course(n) for n in COURSES}
    records: list[Recorded] = []

    def keep(event: ev.Event) -> None:
        position = len(records) + 1
        # Recorded a minute after the last, and never before it happened (the rule `future`).
        recorded_at = max(records[-1].recorded_at + timedelta(minutes=1) if records else T0, event.at)
        record = Recorded(uuid.UUID(int=position), position, recorded_at, "p", event)  # type: ignore[arg-type]
        courses[event.course].apply(record)
        records.append(record)

    for name in COURSES:
        keep(_opening(name))
    clock = dict.fromkeys(COURSES, T0)
    for intent in drawn:
        course = courses[COURSES[intent[0]]]
        # Time mostly moves on; now and then an event is dated back.
        step = timedelta(hours=intent[5] % 60 - (15 if intent[5] % 7 == 0 else 0))
        clock[course.name] = at = clock[course.name] + step
        event = _event(course, intent, at)
        if event is None:
            continue
        try:
            rules.check(course, event)
        except Refused:
            continue
        keep(event)
    return records


def lines(records: list[Recorded]) -> list[bytes]:
    from ledger import wire

    return [wire.encode_line(r) for r in records]


def clocks(records: list[Recorded]) -> list[scope.Clock]:
    """A few clocks that cut a history in interesting places."""
    last = records[-1]
    middle = records[len(records) // 2]
    return [
        scope.Clock(T0 + timedelta(hours=5000)),
        scope.Clock(middle.event.at),
        scope.Clock(T0 + timedelta(hours=300), known_at=middle.recorded_at),
        scope.Clock(last.event.at + timedelta(microseconds=1), known_at=last.recorded_at),
    ]


class NoNames:
    """Views that open no names (the property tests look at outcomes, not at material)."""

    def names(self, course: Course, students: object) -> dict[str, str]:
        return {}

    def contacts(self, course: Course, students: object) -> dict[str, tuple[str, str]]:
        return {}


def reading(name: str, records: list[Recorded], clock: scope.Clock, student: str | None = None) -> Reading:
    """The library's view of one course's records (with `student`: of their share) under `clock`."""
    return Reading(NoNames(), name, "Europe/Berlin", records, clock, student)  # type: ignore[arg-type]


def every_view(name: str, records: list[Recorded], clock: scope.Clock) -> dict[str, Any]:
    """Every view of one course under `clock`, as plain data (none may raise)."""
    whole = reading(name, records, clock)
    out: dict[str, Any] = {
        "admission": admission(whole),
        "gradebook": gradebook(whole),
        "roster": roster(whole),
        "teams": teams(whole),
        "exam": exam(whole),
        "glance": course_status(whole),
        "log": log(whole),
    }
    course, at = whole.course, clock.as_of
    for group in GROUPS:
        for assignment in course.assignments:
            try:
                out[f"sheet {group} {assignment}"] = sheet(whole, group, assignment)
            except NoSheet as no:  # only a deadline after the last week has no session
                assert "no session presents it" in str(no)
    for student in admitted(whole):
        share = Course.fold(name, scope.share(whole.records, student))
        # A student's share folds to the same outcomes and status as the whole course.
        assert coursework.outcomes(share, student, at) == coursework.outcomes(course, student, at)
        assert coursework.admission(share, student, coursework.outcomes(share, student, at)) == (
            coursework.admission(course, student, coursework.outcomes(course, student, at))
        )
        out[f"status {student}"] = student_status(reading(name, scope.share(records, student), clock, student), student)
        assert student_status(whole, student) == out[f"status {student}"]
        out[f"explain {student}"] = explain(whole, student)
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn=intents, cuts=st.lists(st.integers(1, 20), min_size=1, max_size=8),
       chunk=st.integers(1, 6), page=st.integers(1, 9))  # fmt: skip
def test_catching_up_in_any_chunks_equals_rebuild_and_a_plain_fold(
    drawn: list[Intent], cuts: list[int], chunk: int, page: int
) -> None:
    records = history(drawn)
    raw = lines(records)
    saved = (chunks.CHUNK, runner.PAGE)
    chunks.CHUNK, runner.PAGE = chunk, page
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = str(Path(tmp) / "ledger.sqlite")
            with closing(Ledger(store)) as ledger:
                views = Views.of(ledger)
                done, i = 0, 0
                while done < len(raw):
                    step = cuts[i % len(cuts)]
                    cut = [json.loads(line) for line in raw[done : done + step]]
                    # One import per cut, recorded when its last event was (the store's clock; none is
                    # recorded before it happened).
                    append_as_recorded(ledger, [{**line, "recorded_at": cut[-1]["recorded_at"]} for line in cut])
                    done, i = done + step, i + 1
                    views.catch_up()
                incremental = dump(views)
                views.rebuild()
                assert dump(views) == incremental
                assert views.checkpoint() == len(records)
                log = list(ledger.records())
                for name in COURSES:
                    folded = [r for r in log if r.event.course == name]
                    stored = views.records(name)
                    assert stored == folded
                    for student in STUDENTS:  # the cheap read of one student's share is exact
                        assert scope.share(views.records(name, student), student) == scope.share(folded, student)
                    for clock in clocks(records):
                        # The library's read of the views cuts them by the clock as the log's own records are cut.
                        # (The views of equal records are equal: comparing them again could not fail.)
                        through = read(views, name, as_of=clock.as_of, known_at=clock.known_at)
                        assert through.records == scope.visible(folded, clock)
                        for student in admitted(through):
                            alone = read(views, name, as_of=clock.as_of, known_at=clock.known_at, student=student)
                            assert student_status(alone, student) == student_status(through, student)
    finally:
        chunks.CHUNK, runner.PAGE = saved


@settings(max_examples=200, deadline=None)
@given(drawn=intents)
def test_no_valid_history_makes_a_view_raise(drawn: list[Intent]) -> None:
    records = history(drawn)
    for name in COURSES:
        mine = [r for r in records if r.event.course == name]
        for clock in clocks(records):
            every_view(name, mine, clock)


def test_retracting_everything_retractable() -> None:
    """The deepest retraction case, spelled out: every event but the openings is cancelled."""
    drawn: list[Intent] = [(0, KINDS.index(k), a, b, 3, 10) for n, (k, a, b) in enumerate(
        [("apply", 0, 0), ("apply", 1, 0), ("accept", 0, 0), ("accept", 1, 0), ("publish", 0, 0),
         ("publish", 0, 1), ("hand_in", 0, 1), ("present", 0, 0), ("assess", 0, 0), ("excuse", 1, 1), ("extend", 0, 1),
         ("move", 0, 0), ("allocate", 0, 0), ("change", 1, 1), ("withdraw", 1, 0)]
    )]  # fmt: skip
    records = history(drawn)
    course = Course.fold("c1", [r for r in records if r.event.course == "c1"])
    # What rests on an event must go first (ADR 0011): retract in passes until none is left.
    progress = True
    while progress:
        progress = False
        for target in list(course.live())[1:]:
            retraction = ev.EventRetracted(course="c1", at=T0 + timedelta(hours=2000), event=target.id, reason="x")
            try:
                rules.check(course, retraction)
            except Refused:
                continue
            record = Recorded(uuid.uuid4(), len(records) + 1, T0 + timedelta(days=400), "p", retraction)
            course.apply(record)
            records.append(record)
            progress = True
    assert course.participants() == [] and course.assignments == {}
    mine = [r for r in records if r.event.course == "c1"]
    assert len(mine) > 20
    for clock in clocks(records):
        every_view("c1", mine, clock)
    everything = every_view("c1", mine, scope.Clock(T0 + timedelta(days=500)))
    assert everything["admission"] == [] and everything["gradebook"].rows == ()


def test_histories_are_rich() -> None:
    """The generator is no straw man: typical histories have most kinds of event."""
    import random

    rng = random.Random(7)
    seen: set[str] = set()
    sizes = []
    for _ in range(50):
        drawn = [(rng.randint(0, 1), rng.randrange(len(KINDS)), rng.randint(0, 9), rng.randint(0, 9),
                  rng.randint(0, 9), rng.randint(0, 600)) for _ in range(80)]  # fmt: skip
        records = history(drawn)
        sizes.append(len(records))
        seen.update(ev.type_name(r.event) for r in records)
    assert seen == set(ev.EVENT_TYPES)
    assert sum(sizes) / len(sizes) > 25


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), forged.steps)
def test_histories_the_rules_never_saw_fold_check_and_show_without_crashing(
    capacity: int, g1: int, g2: int, drawn: list[forged.Step]
) -> None:
    """An old or forged store may hold anything: the fold forgets, the checker reports, views show.

    (The histories are those of the invariants' unit tests; here the views are shown as well.)
    """
    name, start = forged.NAME, forged.T0
    course = Course.fold(name, [Recorded(uuid.uuid4(), 1, start, "t", forged.opening(capacity, g1, g2))])
    for step in drawn:
        event = forged.build(course, step)
        if event is not None:
            course.apply(Recorded(uuid.uuid4(), len(course.records) + 1, event.at, "t", event))  # type: ignore[arg-type]
    invariants.violations(name, course.records)
    for days in (0, 40, 80, 160):
        every_view(name, course.records, scope.Clock(start + timedelta(days=days), None))

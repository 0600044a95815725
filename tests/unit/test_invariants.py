"""Every rule of SPEC §4 holds after any sequence of accepted appends, retractions included.

Random histories are offered to `rules.check` one event at a time, as the
ledger does; whatever it accepts is applied. After every step the whole-state
checker `ledger.invariants.violations` (which re-derives every fact from the
records, without the fold's indexes) must find nothing, and the fold's
indexes, kept by forgetting retracted records, must equal a fold of the
records that count.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger import invariants, rules
from ledger.course import Course
from ledger.errors import Refused
from ledger.events import Envelope, Recorded, envelope_encoder
from ledger.replay import Replay
from ledger.streams import stream_id

NAME = "c"
T0 = datetime(2025, 3, 3, 8, tzinfo=UTC)
APPLICATION_DEADLINE = datetime(2025, 4, 4, 21, 59, tzinfo=UTC)
REGISTRATION_DEADLINE = datetime(2025, 4, 11, 10, tzinfo=UTC)  # a Friday, 12:00 in Berlin
DEADLINES = [datetime(2025, 4, 21, 8, tzinfo=UTC) + timedelta(weeks=2 * k) for k in range(3)]
STUDENTS = [f"s{i}" for i in range(6)]
ASSIGNMENTS = ["A1", "A2", "A3"]
GROUPS = ("g1", "g2")
KINDS = (
    "apply", "apply", "accept", "accept", "reject", "withdraw", "prefer", "allocate", "change", "change", "visit",
    "publish", "publish", "move", "hand_in", "hand_in", "hand_in", "present", "present", "assess", "excuse",
    "excuse", "extend", "close", "register", "register", "grade",
    "erase", "retract", "retract", "retract",
)  # fmt: skip

# When each kind of event tends to happen in a semester (a step may still be drawn out of turn).
PHASE = {
    "apply": 0, "accept": 1, "reject": 1, "withdraw": 3, "prefer": 2, "allocate": 3, "change": 4, "publish": 3,
    "move": 5, "hand_in": 5, "present": 6, "assess": 6, "excuse": 6, "extend": 5, "close": 8, "register": 9, "grade": 10,
    "erase": 4, "retract": 5, "visit": 4,
}  # fmt: skip

Step = tuple[int, int, int, int, int]

# What a retraction aims at, by the step's j (rules rest on these).
RETRACTED: list[tuple[type[ev.Event], ...]] = [
    (ev.ApplicationWithdrawn, ev.ApplicationSubmitted),
    (ev.ApplicationAccepted, ev.ApplicationRejected),
    (ev.GroupChanged, ev.GroupsAllocated, ev.GroupVisited),
    (ev.SubmissionHandedIn, ev.PresentationRecorded, ev.SubmissionAssessed, ev.ExcuseGranted, ev.DeadlineChanged,
     ev.ExtensionGranted),
    (ev.CourseworkClosed, ev.ExamRegistered, ev.AssignmentPublished, ev.ApplicationMaterialErased),
]


def semester_order(drawn: list[tuple[int, int, int, int, int, int]]) -> list[Step]:
    """Steps roughly in the order of a semester: by phase, shuffled by `jitter` across neighbours."""
    def key(d: tuple[int, int, int, int, int, int]) -> int:
        # A retraction may come at any time; the rest keep close to their phase.
        return d[5] * 9 if KINDS[d[0]] == "retract" else PHASE[KINDS[d[0]]] * 4 + d[5]

    ordered = sorted(drawn, key=key)
    return [d[:5] for d in ordered]


steps = st.lists(
    st.tuples(
        st.integers(0, len(KINDS) - 1), st.integers(0, 5), st.integers(0, 5), st.integers(0, 5),
        st.integers(0, 200), st.integers(0, 9),
    ),
    min_size=30,
    max_size=80,
).map(semester_order)  # fmt: skip


def when(kind: str, assignment: int, t: int) -> datetime:
    """A plausible `at` for `kind`; one step in five gets an arbitrary one (backdated or late)."""
    if t % 5 == 0 or kind == "retract":
        return T0 + timedelta(hours=17 * t)
    hours = timedelta(hours=1)
    deadline = DEADLINES[assignment]
    closing = DEADLINES[-1] + timedelta(days=5)
    start, step = {
        "apply": (T0, 4 * hours), "accept": (APPLICATION_DEADLINE, hours), "reject": (APPLICATION_DEADLINE, hours),
        "withdraw": (APPLICATION_DEADLINE, 8 * hours), "prefer": (APPLICATION_DEADLINE, 0.8 * hours),
        "allocate": (REGISTRATION_DEADLINE, 0.5 * hours), "change": (REGISTRATION_DEADLINE, 5 * hours),
        "visit": (REGISTRATION_DEADLINE, 5 * hours),
        "publish": (REGISTRATION_DEADLINE - 100 * hours, hours), "move": (REGISTRATION_DEADLINE, 5 * hours),
        "hand_in": (deadline - 100 * hours, 0.6 * hours), "present": (deadline, 0.5 * hours),
        "assess": (deadline, 0.5 * hours), "excuse": (deadline - 20 * hours, 0.5 * hours),
        "extend": (deadline - 30 * hours, 0.5 * hours),
        "close": (closing, hours), "register": (closing + timedelta(days=1), hours),
        "grade": (closing + timedelta(days=10), hours), "erase": (APPLICATION_DEADLINE + timedelta(days=10), hours),
    }[kind]  # fmt: skip
    return start + t * step


def opening(capacity: int, g1: int, g2: int) -> ev.CourseOpened:
    return ev.CourseOpened(
        course=NAME, at=T0, title="t", timezone="Europe/Berlin", capacity=capacity,
        application_deadline=APPLICATION_DEADLINE, registration_deadline=REGISTRATION_DEADLINE,
        groups=(ev.Group("g1", "Thu 11:00", g1), ev.Group("g2", "Fri 13:00", g2)), max_fails=1, max_team_size=2,
    )  # fmt: skip


def build(course: Course, step: Step) -> ev.Event | None:
    """The event a step stands for, given the course so far (None: nothing to do)."""
    kind, i, j, k, t = step
    at = when(KINDS[kind], k % 3, t)
    a = ASSIGNMENTS[k % 3]
    # Mostly someone the event could be about (so that histories get far); j == 5: anyone.
    pools = {
        "accept": [x for x, p in course.applications.items() if not p.decided],
        "reject": [x for x, p in course.applications.items() if not p.decided],
        "present": [x for (b, x) in course.team_of if b == a],
        "assess": [x for (b, x) in course.team_of if b == a],
        "grade": list(course.exam),
        "apply": [x for x in STUDENTS if x not in course.applications],
    }
    pool = STUDENTS if j == 5 else pools.get(KINDS[kind], course.participants()) or STUDENTS
    s, other = pool[i % len(pool)], pool[(i + j) % len(pool)]
    common = {"course": NAME, "at": at}
    match KINDS[kind]:
        case "apply":
            return ev.ApplicationSubmitted(
                **common, student=s, name="n", email="e", programme="master" if j % 2 else "bachelor", prerequisite="p"
            )
        case "accept":
            return ev.ApplicationAccepted(**common, student=s)
        case "reject":
            return ev.ApplicationRejected(**common, student=s, reason="r")
        case "withdraw":
            return ev.ApplicationWithdrawn(**common, student=s, reason="r")
        case "prefer":
            first = GROUPS[k % 2]
            return ev.GroupPreferenceRegistered(
                **common, student=s, priorities=(first,) if j % 2 else (first, GROUPS[1 - k % 2])
            )
        case "allocate":
            rng = random.Random(i * 36 + j * 6 + k)
            names = course.participants() if j else STUDENTS[: k + 1]
            allocation = {p: rng.choice(GROUPS) for p in names if rng.random() < 0.9}
            return ev.GroupsAllocated(**common, allocation=allocation, seed=i)
        case "change":
            return ev.GroupChanged(**common, student=s, group=GROUPS[k % 2] if j else "g9", reason="r")
        case "visit":  # in the week of `at` (begun: refused) or the next
            week = 1 + t // 34 + j % 2
            return ev.GroupVisited(**common, student=s, group=GROUPS[k % 2] if j else "g9", week=week, reason="r")
        case "publish":
            return ev.AssignmentPublished(
                **common, assignment=a, title="t", deadline=DEADLINES[k % 3] + timedelta(days=j - 2), transfer=i % 2 == 0
            )
        case "move":
            return ev.DeadlineChanged(**common, assignment=a, deadline=DEADLINES[k % 3] + timedelta(days=j - 3), reason="r")
        case "hand_in":
            team = (s,) if j % 3 == 0 or s == other else (s, other)
            return ev.SubmissionHandedIn(**common, assignment=a, team=team)
        case "present":
            outcome = ("explained", "failed_to_explain", "absent")[j % 3]
            return ev.PresentationRecorded(**common, assignment=a, student=s, outcome=outcome)  # type: ignore[arg-type]
        case "assess":
            verdict = ("sufficient", "insufficient_effort", "uncited_copy", "transfer_missing")[(j + i) % 4]
            return ev.SubmissionAssessed(**common, assignment=a, student=s, verdict=verdict)  # type: ignore[arg-type]
        case "excuse":
            return ev.ExcuseGranted(**common, student=s, assignments=(a,), certificate="" if j == 5 else "AU-1")
        case "extend":
            base = course.deadline(a) if a in course.deadlines else DEADLINES[k % 3]
            return ev.ExtensionGranted(**common, student=s, assignment=a, deadline=base + timedelta(days=j - 1), reason="r")
        case "close":
            return ev.CourseworkClosed(**common)
        case "register":
            return ev.ExamRegistered(**common, student=s, mode="graded" if j % 2 else "certificate")
        case "grade":
            return ev.ExamGraded(**common, student=s, grade=1.5 if j == 5 else ev.GRADES[(j * 3 + k) % 11])
        case "erase":
            erased = course.erased_students()
            students = tuple(x for x in course.applications if x not in erased) if j else (s,)
            return ev.ApplicationMaterialErased(**common, students=students)
        case _:  # retract
            if j == 5:  # anything, even a retraction or what is already retracted
                pool = course.records
            else:
                live = list(course.live())[1:]
                pool = [r for r in live if isinstance(r.event, RETRACTED[j])] or live
            if not pool:
                return None
            target = pool[(i * 6 + k + t) % len(pool)]
            return ev.EventRetracted(**common, event=target.id, reason="mistake")


def replay(capacity: int, g1: int, g2: int, drawn: list[Step], check_each: bool = True) -> tuple[Course, int]:
    """Offer every step to the rules; the course of what they accepted, and how many they refused."""
    course = Course.fold(NAME, [Recorded(uuid.uuid4(), 1, T0, "t", opening(capacity, g1, g2))])
    refused = 0
    for step in drawn:
        event = build(course, step)
        if event is None:
            continue
        try:
            rules.check(course, event)
        except Refused:
            refused += 1
            continue
        course.apply(Recorded(uuid.uuid4(), len(course.records) + 1, event.at, "t", event))  # type: ignore[arg-type]
        if check_each:
            found = invariants.violations(NAME, course.records)
            assert found == [], (ev.type_name(event), [str(v) for v in found])
    return course, refused


def indexes(course: Course) -> dict[str, object]:
    """Everything the fold derives, in comparable form."""

    def ids(records: object) -> object:
        if isinstance(records, Recorded):
            return records.id
        if isinstance(records, list):
            return [r.id for r in records]
        return records

    return {
        "opened": course.opened,
        "applications": {
            s: (a.submitted.id, ids(a.accepted), ids(a.rejected), ids(a.withdrawn))
            for s, a in course.applications.items()
        },
        "preferences": {s: r.id for s, r in course.preferences.items()},
        "allocations": ids(course.allocations),
        "group_changes": {s: ids(rs) for s, rs in course.group_changes.items()},
        "assignments": {a: r.id for a, r in course.assignments.items()},
        "deadlines": {a: r.id for a, r in course.deadlines.items()},
        "hand_ins": {a: ids(rs) for a, rs in course.hand_ins.items()},
        "team_of": dict(course.team_of),
        "presentations": {k: r.id for k, r in course.presentations.items()},
        "assessments": {k: r.id for k, r in course.assessments.items()},
        "excuses": {s: ids(rs) for s, rs in course.excuses.items()},
        "closures": ids(course.closures),
        "exam": {s: r.id for s, r in course.exam.items()},
        "grades": {s: r.id for s, r in course.grades.items()},
        "erasures": ids(course.erasures),
        "seats": course.seats_taken(),
    }


@settings(max_examples=250, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), steps)
def test_every_rule_holds_after_any_accepted_sequence(capacity: int, g1: int, g2: int, drawn: list[Step]) -> None:
    course, _ = replay(capacity, g1, g2, drawn)
    assert course.seats_taken() == len(course.participants())  # the count the fold keeps
    # Forgetting a retracted record leaves the indexes a fold of what counts would build.
    assert indexes(course) == indexes(Course.fold(NAME, course.live()))
    assert indexes(course) == indexes(course.view())


def test_histories_reach_every_rule() -> None:
    """The generator is no straw man: it gets most kinds of event accepted, and retractions refused."""
    rng = random.Random(11)
    accepted: set[str] = set()
    refused = 0
    for _ in range(40):
        drawn = [
            (rng.randrange(len(KINDS)), rng.randrange(6), rng.randrange(6), rng.randrange(6), rng.randrange(201))
            for _ in range(60)
        ]
        course, n = replay(3, 1, 2, semester_order([(*d, rng.randrange(10)) for d in drawn]), check_each=False)
        refused += n
        accepted.update(ev.type_name(r.event) for r in course.records)
    assert accepted == set(ev.EVENT_TYPES)
    assert refused > 100


def test_the_checker_sees_what_the_rules_would_have_refused() -> None:
    """A history written past the rules (as an old store may hold) is reported, rule by rule."""
    course = Course.fold(NAME, [Recorded(uuid.uuid4(), 1, T0, "t", opening(1, 1, 1))])
    at = T0 + timedelta(days=1)
    forced: list[ev.Event] = [
        ev.ApplicationSubmitted(course=NAME, at=at, student="s0", name="n", email="e", programme="bachelor", prerequisite="p"),
        ev.ApplicationSubmitted(course=NAME, at=at, student="s1", name="n", email="e", programme="bachelor", prerequisite="p"),
        ev.ApplicationAccepted(course=NAME, at=at, student="s0"),
        ev.ApplicationAccepted(course=NAME, at=at, student="s1"),
        ev.GroupChanged(course=NAME, at=at, student="s0", group="g1", reason="r"),
        ev.GroupChanged(course=NAME, at=at, student="s1", group="g1", reason="r"),
        ev.ExamGraded(course=NAME, at=at, student="s0", grade=1.0),
    ]  # fmt: skip
    for event in forced:
        course.apply(Recorded(uuid.uuid4(), len(course.records) + 1, at, "t", event))  # type: ignore[arg-type]
    rules_broken = {v.rule for v in invariants.violations(NAME, course.records)}
    assert rules_broken == {"capacity", "group-full", "not-registered"}


def record_as_stored(course: Course, drawn: list[Step], early: list[bool]) -> tuple[Course, Counter[str]]:
    """Offer every step to the append path's decision (`rules.check_record`), recorded by a store's clock.

    The clock never runs backwards; it reaches each event's `at` when it is offered, unless the step is
    drawn `early`: then it is offered before it happened (a typo of a year, a clock that lags), which
    the rule `future` must refuse unless within the clock skew. Backdated steps come from `when`.
    """
    clock = T0
    refused: Counter[str] = Counter()
    for step, soon in zip(drawn, early, strict=False):
        event = build(course, step)
        if event is None:
            continue
        clock = clock + timedelta(minutes=1) if soon else max(clock + timedelta(minutes=1), event.at)
        record = Recorded(uuid.uuid4(), len(course.records) + 1, clock, "t", event)  # type: ignore[arg-type]
        try:
            rules.check_record(course, record)
        except Refused as refusal:
            refused[refusal.rule] += 1
            continue
        course.apply(record)
    return course, refused


def replayed(course: Course) -> list[str]:
    """What `verify`'s replay says of each stored record of `course` (all "" when it agrees)."""
    replay = Replay()
    stream = stream_id(NAME).bytes
    return [
        replay.take(r.position, stream, n, envelope_encoder.encode(Envelope(r.id, r.recorded_at, r.recorded_by, r.event)))
        for n, r in enumerate(course.records, start=1)
    ]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 2), steps, st.lists(st.booleans(), min_size=80, max_size=80))
def test_what_the_append_path_accepts_verify_accepts_and_every_invariant_holds(
    capacity: int, g1: int, g2: int, drawn: list[Step], early: list[bool]
) -> None:
    opened = Course.fold(NAME, [Recorded(uuid.uuid4(), 1, T0, "t", opening(capacity, g1, g2))])
    course, _ = record_as_stored(opened, drawn, early)
    assert invariants.violations(NAME, course.records) == []
    assert [p for p in replayed(course) if p] == []
    assert all(r.event.at <= r.recorded_at + rules.CLOCK_SKEW for r in course.records)


def test_histories_offered_early_are_refused_as_future_and_the_replay_catches_a_forgery() -> None:
    """The property above is not empty: `future` refuses, and a record the rules refuse is named by the replay."""
    rng = random.Random(7)
    refused: Counter[str] = Counter()
    for _ in range(20):
        drawn = [(*(rng.randrange(n) for n in (len(KINDS), 6, 6, 6, 201)), rng.randrange(10)) for _ in range(60)]
        opened = Course.fold(NAME, [Recorded(uuid.uuid4(), 1, T0, "t", opening(3, 1, 2))])
        _, n = record_as_stored(opened, semester_order(drawn), [rng.random() < 0.3 for _ in range(60)])  # type: ignore[arg-type]
        refused += n
    assert refused["future"] > 10 and refused["capacity"] + refused["decided-twice"] > 0
    course = Course.fold(NAME, [Recorded(uuid.uuid4(), 1, T0, "t", opening(1, 1, 1))])
    course.apply(Recorded(uuid.uuid4(), 2, T0, "t", ev.ExamGraded(course=NAME, at=T0, student="s0", grade=1.0)))
    assert replayed(course)[1].startswith("the event at position 2 (ExamGraded) breaks rule not-registered")

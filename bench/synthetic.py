"""Synthetic but rule-abiding semesters, as JSONL lines, for benchmarks.

One course offering is 741 events (70 applicants, 60 participants, 12
assignments, team hand-ins, presentations, medical excuses), 20 of them
retractions, as real semesters have them: a hand-in uploaded with the wrong
file and handed in again (6), a presentation recorded for the wrong student
or outcome and recorded again (8), an excuse whose certificate was for another
week (6, half of them granted again with the right one). A store of N events
is about N/741 such offerings, so every append and read works on a realistic
course.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import msgspec

from ledger import events as ev
from ledger.wire import content_id

START = datetime(2025, 3, 1, 9, tzinfo=UTC)
encoder = msgspec.json.Encoder()
NEGATIVE: tuple[ev.Outcome, ...] = ("failed_to_explain", "absent")


def _retract(event: ev.Event, at: datetime, reason: str) -> ev.EventRetracted:
    """The retraction of `event` as imported without an id (its id derives from its content)."""
    return ev.EventRetracted(course=event.course, at=at, event=content_id(event), reason=reason)


def course_events(name: str, seed: int) -> Iterator[ev.Event]:
    """One semester of course `name`, in order."""
    rng = random.Random(seed)
    t = START

    def tick(minutes: int = 7) -> datetime:
        nonlocal t
        t += timedelta(minutes=minutes)
        return t

    groups = (ev.Group("g1", "Thu 11:00", 30), ev.Group("g2", "Fri 13:00", 30))
    yield ev.CourseOpened(
        course=name,
        at=tick(),
        title=f"Introduction to Deep Learning ({name})",
        timezone="Europe/Berlin",
        capacity=60,
        application_deadline=START + timedelta(days=30),
        registration_deadline=START + timedelta(days=40),
        groups=groups,
    )
    students = [f"{seed % 1000:03d}{i:03d}" for i in range(70)]
    for s in students:
        yield ev.ApplicationSubmitted(
            course=name, at=tick(), student=s, name=f"Student {s}", email=f"s{s}@st.example",
            programme=rng.choice(("bachelor", "master")), prerequisite="Machine Learning",
            statement="I would like to learn deep learning.",
        )
    participants = students[:60]
    for s in participants:
        yield ev.ApplicationAccepted(course=name, at=tick(), student=s)
    for s in students[60:]:
        yield ev.ApplicationRejected(course=name, at=tick(), student=s, reason="seats filled")
    for s in participants:
        yield ev.GroupPreferenceRegistered(course=name, at=tick(), student=s, priorities=("g1", "g2"))
    yield ev.GroupsAllocated(
        course=name, at=START + timedelta(days=41),
        allocation={s: ("g1" if i < 30 else "g2") for i, s in enumerate(participants)}, seed=seed,
    )
    t = START + timedelta(days=42)
    teams = [participants[i : i + 3] for i in range(0, 60, 3)]
    for week in range(1, 13):
        assignment = f"A{week:02d}"
        deadline = START + timedelta(days=42 + 7 * week)
        yield ev.AssignmentPublished(
            course=name, at=tick(), assignment=assignment, title=f"Week {week}", deadline=deadline
        )
        hand_ins = []
        for team in teams:
            late = rng.random() < 0.05
            hand_in = ev.SubmissionHandedIn(
                course=name, at=deadline + timedelta(hours=2) if late else deadline - timedelta(hours=rng.randint(1, 90)),
                assignment=assignment, team=tuple(team), digest=f"sha256:{rng.getrandbits(64):016x}",
            )
            hand_ins.append(hand_in)
            yield hand_in
        if week % 2 == 0:  # the wrong file: retracted, handed in again
            wrong = rng.choice(hand_ins)
            yield _retract(wrong, wrong.at + timedelta(minutes=30), "wrong file uploaded")
            yield msgspec.structs.replace(
                wrong, at=wrong.at + timedelta(minutes=40), digest=f"sha256:{rng.getrandbits(64):016x}"
            )
        if week <= 8:  # someone falls ill; most certificates turn out to be for another week
            ill = rng.choice(participants)
            excuse = ev.ExcuseGranted(
                course=name, at=deadline - timedelta(days=1), student=ill, assignments=(assignment,),
                certificate=f"AU-{seed}-{week}",
            )
            yield excuse
            if week % 4:
                yield _retract(excuse, excuse.at + timedelta(hours=5), "certificate for another week")
                if week % 2:
                    yield msgspec.structs.replace(excuse, at=excuse.at + timedelta(hours=6), certificate=f"AU-{seed}-{week}b")
        presentations = []
        for team in teams:
            student = rng.choice(team)
            outcome: ev.Outcome = "explained" if rng.random() < 0.9 else rng.choice(NEGATIVE)
            presentation = ev.PresentationRecorded(
                course=name, at=deadline + timedelta(days=3), assignment=assignment, student=student, outcome=outcome
            )
            presentations.append(presentation)
            yield presentation
        if week % 3:  # recorded for the wrong outcome: retracted, recorded again
            wrong_p = rng.choice(presentations)
            yield _retract(wrong_p, wrong_p.at + timedelta(hours=1), "recorded the wrong outcome")
            yield msgspec.structs.replace(wrong_p, at=wrong_p.at + timedelta(minutes=5), outcome="explained")
        t = deadline
    yield ev.CourseworkClosed(course=name, at=START + timedelta(days=140))


def lines(total: int, first_course: int = 0) -> Iterator[bytes]:
    """About `total` JSONL lines: whole courses, then a cut-off one."""
    count = 0
    index = first_course
    while count < total:
        for event in course_events(f"course-{index:05d}", index):
            yield encoder.encode(event)
            count += 1
            if count >= total:
                return
        index += 1

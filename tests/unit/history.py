"""A course written as events in a test, folded with no store: `History` keeps the records, `course()` folds them.

Berlin time, summer 2025: opened 3 March, application deadline 4 April,
registration deadline Friday 11 April; the groups meet Thursdays 11:00 (g1)
and Fridays 13:00 (g2), so week 1's earlier session is Thursday 17 April.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from ledger import events as ev
from ledger.course import Course
from ledger.events import Recorded

NAME = "c"
OPENED = datetime(2025, 3, 3, 8, tzinfo=UTC)
APPLICATION_DEADLINE = datetime(2025, 4, 4, 21, 59, tzinfo=UTC)
REGISTRATION_DEADLINE = datetime(2025, 4, 11, 10, tzinfo=UTC)
ACCEPTED = datetime(2025, 4, 7, 8, tzinfo=UTC)
WEEK_1 = datetime(2025, 4, 17, 9, tzinfo=UTC)  # Thursday 11:00 in Berlin (CEST)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class History:
    """Records of one course in position order, each recorded when it happened (or when told)."""

    def __init__(self, capacity: int = 10, max_fails: int = 2, seats: int = 2) -> None:
        self.records: list[Recorded] = []
        self.add(ev.CourseOpened(
            course=NAME, at=OPENED, title="t", timezone="Europe/Berlin", capacity=capacity,
            application_deadline=APPLICATION_DEADLINE, registration_deadline=REGISTRATION_DEADLINE,
            max_fails=max_fails, groups=(ev.Group("g1", "Thu 11:00", seats), ev.Group("g2", "Fri 13:00", seats)),
        ))  # fmt: skip

    def add(self, event: ev.Event, recorded_at: datetime | None = None) -> Recorded:
        """Append `event` (position next); returns its record."""
        record = Recorded(uuid4(), len(self.records) + 1, recorded_at or event.at, "tester", event)
        self.records.append(record)
        return record

    def course(self) -> Course:
        """The course folded from every record."""
        return Course.fold(NAME, self.records)

    # -- the pieces of a course -------------------------------------------------------

    def admit(self, *students: str, at: datetime = ACCEPTED, programme: ev.Programme = "bachelor") -> None:
        """Each of `students` applies on time and is accepted at `at`."""
        for student in students:
            self.add(ev.ApplicationSubmitted(course=NAME, at=OPENED + DAY, student=student, name=f"N{student}",
                                             email=f"{student}@x.org", programme=programme, prerequisite="ML"))  # fmt: skip
            self.add(ev.ApplicationAccepted(course=NAME, at=at, student=student))

    def publish(self, assignment: str, deadline: datetime, transfer: bool = False) -> Recorded:
        return self.add(ev.AssignmentPublished(course=NAME, at=ACCEPTED + HOUR, assignment=assignment,
                                               title=assignment, deadline=deadline, transfer=transfer))  # fmt: skip

    def hand_in(self, assignment: str, at: datetime, *team: str) -> Recorded:
        return self.add(ev.SubmissionHandedIn(course=NAME, at=at, assignment=assignment, team=team))

    def present(self, assignment: str, student: str, outcome: ev.Outcome, at: datetime) -> Recorded:
        return self.add(ev.PresentationRecorded(course=NAME, at=at, assignment=assignment, student=student,
                                                outcome=outcome))  # fmt: skip

    def assess(self, assignment: str, student: str, verdict: ev.Verdict, at: datetime) -> Recorded:
        return self.add(ev.SubmissionAssessed(course=NAME, at=at, assignment=assignment, student=student,
                                              verdict=verdict, note=""))  # fmt: skip

    def allocate(self, allocation: dict[str, str], at: datetime = REGISTRATION_DEADLINE + HOUR) -> Recorded:
        return self.add(ev.GroupsAllocated(course=NAME, at=at, allocation=allocation, seed=1))

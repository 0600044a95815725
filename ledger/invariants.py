"""Every rule of SPEC §4 as a property of a whole course, checked from its records alone.

`ledger.rules` guards one append at a time against the course's indexes;
this module looks at everything at once, without those indexes, so that a
test can hold the first to the second: after any sequence of accepted appends,
retractions included, `violations` finds nothing (ADR 0011). It is slow on
purpose (it re-derives every fact) and is not on any append's path.

A rule about "when" is read as the position order of the log: a hand-in's
team were participants when it was recorded, a late application was accepted
after every on-time one recorded before it was decided, and so on. A rule that
a later event may legitimately end (a participant withdraws) is checked as "was
admitted", not "is a participant".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from ledger import coursework
from ledger import events as ev
from ledger.course import Course, visible
from ledger.events import Recorded, holds
from ledger.groups import MOST_WEEKS, Membership, Weeks

F = TypeVar("F", bound=ev.Event)


@dataclass(frozen=True)
class Violation:
    """A rule the course breaks, and where."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def live(records: Iterable[Recorded]) -> list[Recorded]:
    """The records that count: neither retracted nor retractions, in position order.

    An opening counts even if retracted (a retraction the rules refuse; the fold ignores it).
    """
    records = sorted(records, key=lambda r: r.position)
    retracted = {r.event.event for r in records if isinstance(r.event, ev.EventRetracted)}
    return [
        r for r in records
        if isinstance(r.event, ev.CourseOpened) or (r.id not in retracted and not isinstance(r.event, ev.EventRetracted))
    ]  # fmt: skip


def violations(name: str, records: Iterable[Recorded]) -> list[Violation]:
    """Every rule of SPEC §4 that the course `name`, as `records` tell it, breaks."""
    records = list(records)
    found: list[Violation] = []
    _Checker(name, records, found).run()
    return found


class _Checker:
    def __init__(self, name: str, records: list[Recorded], found: list[Violation]) -> None:
        self.name = name
        self.records = records
        self.live = live(records)
        self.found = found
        self._by_type: dict[type[ev.Event], list[Recorded]] = defaultdict(list)
        for record in self.live:
            self._by_type[type(record.event)].append(record)

    def of(self, kind: type[F]) -> list[Recorded[F]]:
        """The live records of `kind`, in position order."""
        return [r for r in self._by_type[kind] if holds(r, kind)]

    def bad(self, rule: str, detail: str) -> None:
        self.found.append(Violation(rule, detail))

    def run(self) -> None:
        openings = self.of(ev.CourseOpened)
        retracted = {r.event.event: r for r in self.records if isinstance(r.event, ev.EventRetracted)}
        for opening in openings:
            if opening.id in retracted:
                self.bad("retract-opening", f"the opening is retracted at position {retracted[opening.id].position}")
        if len(openings) > 1:
            self.bad("course-opened-twice", f"{len(openings)} openings")
        if not openings:
            if self.live:
                self.bad("unknown-course", f"{len(self.live)} events of a course never opened")
            return
        if self.live[0] is not openings[0]:
            self.bad("unknown-course", f"event at position {self.live[0].position} comes before the opening")
        self.opened = openings[0].event
        self.group_ids = {g.id for g in self.opened.groups}
        self._applications()
        self._groups()
        self._coursework()
        self._exam()
        self._erasures()

    # -- admission -----------------------------------------------------------

    def _applications(self) -> None:
        self.applications: dict[str, Recorded[ev.ApplicationSubmitted]] = {}
        for r in self.of(ev.ApplicationSubmitted):
            student = r.event.student
            if student in self.applications:
                self.bad("applied-twice", f"{student!r} at position {r.position}")
            self.applications.setdefault(student, r)
        self.decisions: dict[str, dict[type[ev.Event], list[Recorded]]] = defaultdict(lambda: defaultdict(list))
        decisions: tuple[type[ev.ApplicationAccepted | ev.ApplicationRejected | ev.ApplicationWithdrawn], ...] = (
            ev.ApplicationAccepted, ev.ApplicationRejected, ev.ApplicationWithdrawn
        )  # fmt: skip
        for kind in decisions:
            for r in self.of(kind):
                student = r.event.student
                application = self.applications.get(student)
                if application is None or application.position > r.position:
                    self.bad("unknown-student", f"decision at position {r.position} for {student!r}, who has not applied")
                self.decisions[student][kind].append(r)
        for student, made in self.decisions.items():
            accepted, rejected, withdrawn = (
                made[ev.ApplicationAccepted], made[ev.ApplicationRejected], made[ev.ApplicationWithdrawn]
            )  # fmt: skip
            twice = len(accepted) > 1 or len(rejected) > 1 or len(withdrawn) > 1
            twice = twice or bool(accepted and rejected) or bool(rejected and withdrawn)
            twice = twice or bool(accepted and withdrawn and withdrawn[0].position < accepted[0].position)
            if twice:
                self.bad("decided-twice", f"the application of {student!r}")
        self.admitted = {s for s, made in self.decisions.items() if made[ev.ApplicationAccepted]}
        self.participants = {s for s in self.admitted if not self.decisions[s][ev.ApplicationWithdrawn]}
        if len(self.participants) > self.opened.capacity:
            self.bad("capacity", f"{len(self.participants)} participants in {self.opened.capacity} seats")
        for student in sorted(self.admitted):
            if student not in self.applications or not self._late(student):
                continue
            accepted_at = self.decisions[student][ev.ApplicationAccepted][0].position
            for other, application in self.applications.items():
                if not self._late(other) and application.position < accepted_at and not self._decided(other):
                    self.bad(
                        "late-application",
                        f"{student!r} (late) is accepted while the on-time application of {other!r} is undecided",
                    )

    def _late(self, student: str) -> bool:
        return self.applications[student].event.at > self.opened.application_deadline

    def _decided(self, student: str) -> bool:
        return any(self.decisions[student].values()) if student in self.decisions else False

    # -- groups --------------------------------------------------------------

    def _groups(self) -> None:
        for r in self.of(ev.GroupPreferenceRegistered):
            e = r.event
            application = self.applications.get(e.student)
            if application is None or application.position > r.position:
                self.bad("unknown-student", f"preference of {e.student!r}, who has not applied")
            if not e.priorities or not set(e.priorities) <= self.group_ids:
                self.bad("unknown-group", f"preference of {e.student!r}: {e.priorities}")
            if len(set(e.priorities)) != len(e.priorities):
                self.bad("repeated-group", f"preference of {e.student!r}: {e.priorities}")
            if e.at > self.opened.registration_deadline:
                self.bad("registration-deadline", f"preference of {e.student!r} at {e.at.isoformat()}")
        allocations = self.of(ev.GroupsAllocated)
        if len(allocations) > 1:
            self.bad("allocated-twice", f"{len(allocations)} allocations")
        capacity = {g.id: g.capacity for g in self.opened.groups}
        for r in allocations:
            a = r.event
            if a.at <= self.opened.registration_deadline:
                self.bad("registration-open", f"allocation at {a.at.isoformat()}")
            for student, group in a.allocation.items():
                if group not in self.group_ids:
                    self.bad("unknown-group", f"allocation puts {student!r} in {group!r}")
                if student not in self.admitted:
                    self.bad("not-a-participant", f"allocation names {student!r}")
            for group, n in Counter(a.allocation.values()).items():
                if n > capacity.get(group, n):
                    self.bad("group-capacity", f"allocation puts {n} into {group!r}")
        for r in self.of(ev.GroupChanged):
            c = r.event
            if c.student not in self.admitted:
                self.bad("not-a-participant", f"group change of {c.student!r}")
            if c.group not in self.group_ids:
                self.bad("unknown-group", f"group change into {c.group!r}")
        self._visits()
        membership = Membership(Weeks(self.opened), allocations + self.of(ev.GroupChanged))
        for week in membership.changes():
            placed = membership.placed(week)
            counts = Counter(g for s, g in placed.items() if s in self.participants)
            for group, n in counts.items():
                if n > capacity.get(group, n):
                    self.bad("group-full", f"{n} in group {group!r} of capacity {capacity[group]} in week {week}")

    def _visits(self) -> None:
        # Whether the visited group had a free seat, and the student another group, is asked
        # of the groups as they stood at the request: a later change may make a visit moot
        # (the views then count it for nothing), never wrong.
        weeks = Weeks(self.opened)
        seen: dict[tuple[str, int], Recorded] = {}
        for r in self.of(ev.GroupVisited):
            v = r.event
            if v.student not in self.admitted:
                self.bad("not-a-participant", f"visit of {v.student!r}")
            if v.group not in self.group_ids:
                self.bad("unknown-group", f"visit of {v.group!r}")
            try:
                session = weeks.session(v.week) if 1 <= v.week <= MOST_WEEKS else None
            except OverflowError:  # a week after the year 9999
                session = None
            if session is None:
                self.bad("week", f"visit of {v.student!r} in week {v.week}")
            elif v.at >= session:
                self.bad("week-started", f"visit of {v.student!r} in week {v.week} asked at {v.at.isoformat()}")
            if (v.student, v.week) in seen:
                self.bad("visited-twice", f"{v.student!r} in week {v.week}")
            seen.setdefault((v.student, v.week), r)

    # -- coursework ----------------------------------------------------------

    def _coursework(self) -> None:
        published: dict[str, Recorded[ev.AssignmentPublished]] = {}
        for r in self.of(ev.AssignmentPublished):
            assignment = r.event.assignment
            if assignment in published:
                self.bad("assignment-published-twice", f"{assignment!r}")
            published.setdefault(assignment, r)

        def known(assignment: str, r: Recorded, what: str) -> None:
            if assignment not in published or published[assignment].position > r.position:
                self.bad("unknown-assignment", f"{what} at position {r.position} for {assignment!r}")

        for r in self.of(ev.DeadlineChanged):
            known(r.event.assignment, r, "deadline change")
        teams: dict[tuple[str, str], set[frozenset[str]]] = defaultdict(set)
        for r in self.of(ev.SubmissionHandedIn):
            h = r.event
            known(h.assignment, r, "hand-in")
            if not h.team:
                self.bad("team-empty", f"hand-in of {h.assignment!r}")
            if len(h.team) > self.opened.max_team_size:
                self.bad("team-too-large", f"hand-in of {h.assignment!r} by {h.team}")
            if len(set(h.team)) != len(h.team):
                self.bad("team-repeats", f"hand-in of {h.assignment!r} by {h.team}")
            for student in h.team:
                if student not in self.admitted:
                    self.bad("not-a-participant", f"{student!r} in a team for {h.assignment!r}")
                teams[(h.assignment, student)].add(frozenset(h.team))
        for (assignment, student), seen in teams.items():
            if len(seen) > 1:
                self.bad("two-teams", f"{student!r} in {len(seen)} teams for {assignment!r}")
        judged: tuple[type[ev.PresentationRecorded | ev.SubmissionAssessed], ...] = (
            ev.PresentationRecorded, ev.SubmissionAssessed
        )  # fmt: skip
        for kind in judged:
            for r in self.of(kind):
                key = (r.event.assignment, r.event.student)
                if key not in teams:
                    self.bad("no-hand-in", f"{ev.type_name(r.event)} of {key[1]!r} for {key[0]!r}")
        for r in self.of(ev.SubmissionAssessed):
            assessed = r.event
            if assessed.verdict != "transfer_missing":
                continue
            publication = published.get(assessed.assignment)
            if publication is not None and not publication.event.transfer:
                self.bad("no-transfer-part", f"transfer_missing of {assessed.student!r} for {assessed.assignment!r}")
            application = self.applications.get(assessed.student)
            if application is not None and application.event.programme != "master":
                self.bad("transfer-for-master", f"transfer_missing of {assessed.student!r} for {assessed.assignment!r}")
        for r in self.of(ev.ExcuseGranted):
            x = r.event
            if not x.certificate.strip():
                self.bad("certificate-required", f"excuse of {x.student!r}")
            if x.student not in self.admitted:
                self.bad("not-a-participant", f"excuse of {x.student!r}")
            if not x.assignments:
                self.bad("unknown-assignment", f"excuse of {x.student!r} names none")
            for assignment in x.assignments:
                known(assignment, r, "excuse")
        for r in self.of(ev.ExtensionGranted):
            extension = r.event
            if extension.student not in self.admitted:
                self.bad("not-a-participant", f"extension of {extension.student!r}")
            known(extension.assignment, r, "extension")

    # -- exam ----------------------------------------------------------------

    def _exam(self) -> None:
        closures = self.of(ev.CourseworkClosed)
        if len(closures) > 1:
            self.bad("coursework-closed-twice", f"{len(closures)} closings")
        registered: dict[str, Recorded[ev.ExamRegistered]] = {}
        for r in self.of(ev.ExamRegistered):
            student = r.event.student
            if student in registered:
                self.bad("registered-twice", f"{student!r}")
            registered.setdefault(student, r)
            if student not in self.admitted:
                self.bad("not-a-participant", f"exam registration of {student!r}")
            if not any(c.position < r.position and c.event.at <= r.event.at for c in closures):
                self.bad("coursework-open", f"exam registration of {student!r} before coursework is closed")
            view = Course.fold(self.name, visible(self.records, as_of=r.event.at))
            if view.is_participant(student):
                failed = coursework.fails(coursework.outcomes(view, student, r.event.at))
                if len(failed) > self.opened.max_fails:
                    self.bad("excluded", f"{student!r} is registered with {coursework.reasons(failed)}")
        for r in self.of(ev.ExamGraded):
            g = r.event
            if g.grade not in ev.GRADES:
                self.bad("grade-scale", f"grade {g.grade} of {g.student!r}")
            if g.student not in registered or g.at < registered[g.student].event.at:
                self.bad("not-registered", f"grade of {g.student!r}")

    # -- erasure -------------------------------------------------------------

    def _erasures(self) -> None:
        live = {r.id for r in self.live}
        for r in self.records:
            if isinstance(r.event, ev.ApplicationMaterialErased) and r.id not in live:
                self.bad("retract-erasure", f"the erasure at position {r.position} is retracted; its keys are gone")
        # An erasure erases what an application sealed, whether or not the application counts now.
        applied: dict[str, list[int]] = defaultdict(list)
        for r in self.records:
            if isinstance(r.event, ev.ApplicationSubmitted):
                applied[r.event.student].append(r.position)
        erased: dict[str, int] = {}
        for r in self.of(ev.ApplicationMaterialErased):
            for student in r.event.students:
                before = [p for p in applied.get(student, ()) if p < r.position]
                if not before:
                    self.bad("unknown-student", f"erasure names {student!r}")
                elif student in erased and max(before) < erased[student]:
                    self.bad("erased-twice", f"{student!r}")
                erased[student] = r.position
            for student, application in self.applications.items():
                if application.position < r.position and not self._decided(student):
                    self.bad("selection-open", f"{student!r} is undecided after the erasure at position {r.position}")
            # Whom the erasure found admitted kept their name and email: they must stay admitted.
            for student in r.event.students:
                if student not in self.admitted and self._accepted_at(student, r.position):
                    self.bad("selection-open", f"{student!r} was erased as admitted, and is not admitted now")

    def _accepted_at(self, student: str, position: int) -> bool:
        """Whether an acceptance of `student` stood at `position` of the log."""
        retracted_at = {
            r.event.event: r.position for r in self.records if isinstance(r.event, ev.EventRetracted)
        }
        return any(
            isinstance(r.event, ev.ApplicationAccepted) and r.event.student == student
            and r.position < position < retracted_at.get(r.id, position + 1)
            for r in self.records
        )  # fmt: skip

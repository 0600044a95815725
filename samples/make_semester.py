"""Write samples/idl-2025.jsonl: a realistic, deterministic sample semester.

"Introduction to Deep Learning" (course id `idl-2025`), summer 2025: about
seventy applications, sixty participants in two exercise groups, twelve weekly
assignments handed in by teams, oral checks, assessments, medical excuses, two
retractions, exam registration and grades. Every event is built as the
project's own `ledger.events` Struct, so the file always matches the wire
format; every line carries an explicit, deterministic `id`.

The script uses one `random.Random(2025)` (and, for the group allocation, the
ledger's own `allocate-groups --seed 2025` algorithm and lottery), so its
output is byte-identical on every run.

    .venv/bin/python samples/make_semester.py [OUTPUT]
"""

from __future__ import annotations

import hashlib
import random
import sys
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger import events as ev  # noqa: E402 - after the path set-up above, for running as a script
from ledger.allocation import allocate_preferences  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "idl-2025.jsonl"
COURSE = "idl-2025"
SEED = 2025
# The namespace of the sample's line ids: uuid5(ID_NAMESPACE, "idl-2025:<line number>").
ID_NAMESPACE = uuid.UUID("5d9e3b1c-7a44-4f0e-b2c8-1e6a0f93d2a7")
BERLIN = ZoneInfo("Europe/Berlin")

CAPACITY = 60
GROUP_CAPACITY = 30
MAX_FAILS = 2
MAX_TEAM = 3
N_ON_TIME = 67  # on-time applications
N_REJECTED_ON_TIME = 9  # so that 58 on-time + 2 late are accepted
N_ASSIGNMENTS = 12


def fixed(moment: datetime) -> datetime:
    """`moment` with the explicit offset Berlin had then (+01:00 or +02:00)."""
    local = moment.astimezone(BERLIN)
    offset = local.utcoffset()
    assert offset is not None
    return local.replace(tzinfo=timezone(offset))


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    """A Berlin wall-clock time (never one skipped or repeated at a DST change)."""
    return fixed(datetime(y, m, d, hh, mm, ss, tzinfo=BERLIN))


def plus(moment: datetime, **delta: float) -> datetime:
    """`moment` moved by a duration, with the offset right for the new instant."""
    return fixed(moment + timedelta(**delta))


OPENED_AT = local(2025, 3, 1, 10, 0)
APPLICATIONS_FROM = local(2025, 3, 3, 8, 0)
APPLICATION_DEADLINE = local(2025, 4, 4, 23, 59, 59)
REGISTRATION_DEADLINE = local(2025, 4, 11, 12, 0)
DECISIONS_FROM = local(2025, 4, 7, 9, 0)
ALLOCATED_AT = local(2025, 4, 11, 12, 30)
FIRST_PUBLICATION = local(2025, 4, 7, 10, 0)  # Mondays 10:00, deadline a week later
CLOSED_AT = local(2025, 7, 7, 9, 0)
EXAM_GRADED_FROM = local(2025, 8, 4, 9, 0)

GROUPS = (("g1", "Thu 11:00", 3, 11), ("g2", "Fri 13:00", 4, 13))  # id, slot, weekday, hour

TITLES = (
    "Linear regression with NumPy",
    "Logistic regression and gradient descent",
    "Backpropagation by hand",
    "A multilayer perceptron in PyTorch",
    "Regularisation: dropout and weight decay",
    "Convolutional networks for CIFAR-10",
    "Optimisers: momentum, RMSProp and Adam",
    "Batch normalisation and residual connections",
    "Recurrent networks for text",
    "Attention and a small Transformer",
    "Autoencoders and variational autoencoders",
    "Generative adversarial networks",
)

# (first names, last names, weight): names are drawn within one origin.
ORIGINS: tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...] = (
    (
        (
            "Lukas",
            "Leonie",
            "Jonas",
            "Hannah",
            "Felix",
            "Lea",
            "Maximilian",
            "Sophie",
            "Paul",
            "Marie",
            "Tim",
            "Anna",
            "Niklas",
            "Laura",
            "Jan",
            "Lena",
            "Moritz",
            "Johanna",
            "Tobias",
            "Clara",
            "Florian",
            "Katharina",
            "David",
            "Julia",
            "Sebastian",
            "Miriam",
            "Jannik",
            "Svenja",
            "Björn",
            "Greta",
            "Malte",
            "Frieda",
        ),
        (
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Schäfer",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
            "Hartmann",
            "Lange",
            "Werner",
            "Krause",
            "Lehmann",
            "Köhler",
            "Fuchs",
            "Vogel",
            "Jäger",
            "Günther",
        ),
        50,
    ),
    (
        ("Ayşe", "Mehmet", "Zeynep", "Emre", "Elif", "Can", "Deniz", "Burak"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Öztürk", "Aydın", "Arslan"),
        6,
    ),
    (
        ("Anh", "Minh", "Linh", "Duc", "Thao", "Huy"),
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu"),
        4,
    ),
    (
        ("Wei", "Mei", "Jing", "Hao", "Xiaoyu", "Yifan"),
        ("Wang", "Li", "Zhang", "Chen", "Liu", "Zhao"),
        6,
    ),
    (
        ("Priya", "Arjun", "Ananya", "Rahul", "Sneha", "Vikram", "Aditi", "Rohan"),
        ("Patel", "Sharma", "Kumar", "Singh", "Iyer", "Reddy", "Nair", "Gupta"),
        8,
    ),
    (
        ("Luca", "Giulia", "Marco", "Chiara", "Matteo"),
        ("Rossi", "Bianchi", "Romano", "Ricci", "Esposito"),
        3,
    ),
    (
        ("Carlos", "Sofía", "Mateo", "Valentina", "Lucía", "Diego"),
        ("García", "Fernández", "López", "Martínez", "Rodríguez", "Gómez"),
        4,
    ),
    (("Jakub", "Zofia", "Kacper", "Natalia"), ("Nowak", "Wójcik", "Kaczmarek", "Mazur"), 3),
    (("Ioana", "Andrei", "Maria", "Mihai"), ("Popescu", "Ionescu", "Dumitru", "Stan"), 2),
    (
        ("Olena", "Dmytro", "Iryna", "Oleksandr"),
        ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko"),
        3,
    ),
    (("Yuki", "Kenji", "Haruka", "Sota"), ("Tanaka", "Sato", "Suzuki", "Takahashi"), 2),
    (
        ("Chinedu", "Amara", "Ngozi", "Emeka", "Kwame", "Abena"),
        ("Okafor", "Mensah", "Adeyemi", "Boateng", "Eze", "Owusu"),
        3,
    ),
    (
        ("Omar", "Layla", "Ahmed", "Fatima", "Yusuf", "Nour"),
        ("Haddad", "Khan", "Hassan", "Mansour", "Khalil", "Saleh"),
        5,
    ),
)

TOPICS = (
    "medical image segmentation",
    "speech recognition",
    "perception for autonomous driving",
    "protein structure prediction",
    "machine translation",
    "anomaly detection in production data",
    "recommender systems",
    "forecasting for energy grids",
    "robot grasping",
    "document understanding",
    "remote sensing",
    "music generation",
)
FIRST_SENTENCES = (
    "I want to understand how deep neural networks learn useful representations.",
    "Deep learning is central to my planned thesis on {topic}.",
    "After the Machine Learning course I would like to go much deeper into neural networks.",
    "I work as a student assistant on {topic} and need solid foundations in deep learning.",
    "I am curious how modern models for {topic} actually work under the hood.",
    "My project seminar touched on {topic} and I want to learn the methods properly.",
)
SECOND_SENTENCES = (
    "",
    " I am comfortable with Python and NumPy and have used a little PyTorch.",
    " I would especially like to implement the models from scratch.",
    " I enjoyed the programming assignments in Machine Learning and want more of that.",
    " Weekly team assignments fit my schedule well this semester.",
    " I already know a classmate who wants to take the course, so we can form a team.",
)
ACCEPTED_PREREQUISITES = (
    ("Machine Learning (passed)", 8),
    ("Machine Learning (passed, 2024)", 3),
    ("Introduction to Machine Learning (passed, recognised from previous university)", 2),
    ("Statistical Learning (passed, Erasmus transcript)", 1),
)
REJECTIONS = (  # (prerequisite as stated, reason)
    ("Machine Learning (not yet taken)", "prerequisite not met: Machine Learning not passed"),
    ("Machine Learning (currently attending)", "prerequisite not met: Machine Learning not passed"),
    ("Machine Learning (not yet taken)", "prerequisite not met: Machine Learning not passed"),
    ("Mathematics III (passed)", "prerequisite not met: Machine Learning not passed"),
    ("Machine Learning (failed, retaking)", "prerequisite not met: Machine Learning not passed"),
    ("Machine Learning (currently attending)", "prerequisite not met: Machine Learning not passed"),
    ("Machine Learning (passed)", "application incomplete: no transcript of records attached"),
    ("Machine Learning (passed)", "application incomplete: no transcript of records attached"),
    ("Machine Learning (passed)", "already passed Introduction to Deep Learning in summer 2024"),
)

# Designated outcomes per role: assignment number -> what happens to that student.
PLANS: dict[str, dict[int, str]] = {
    "excluded_1": {3: "missed", 6: "absent", 9: "late"},
    "excluded_2": {
        2: "uncited_copy",
        5: "failed_to_explain",
        8: "missed",
        10: "insufficient_effort",
    },
    "at_risk_1": {2: "late", 6: "insufficient_effort"},
    "at_risk_2": {4: "failed_to_explain", 7: "uncited_copy"},
}
EXCUSES: dict[str, tuple[tuple[int, ...], str]] = {
    "excused_1": ((3,), "AU-2025-0412"),
    "excused_2": ((6, 7), "AU-2025-0587"),
    "excused_3": ((10,), "AU-2025-0733"),
    "excused_4": ((11,), "AU-2025-0861"),
}
NOTES = {
    "uncited_copy": "Task 2 copied from a public GitHub repository without citing the source",
    "insufficient_effort": "Only the provided notebook template with a few lines changed; "
    "tasks 2-4 not attempted",
}
SUFFICIENT_NOTES = (
    "",
    "Solid solution, clearly documented",
    "Correct approach; plots missing axis labels",
    "Works, but the learning rate search is very coarse",
    "Nicely vectorised",
)


class Entry:
    """One line to be: an event (or, for a retraction, its target and reason)."""

    __slots__ = ("at", "event", "id", "order", "reason", "target")

    def __init__(
        self,
        at: datetime,
        order: int,
        event: ev.Event | None,
        target: Entry | None = None,
        reason: str = "",
    ) -> None:
        self.at = at
        self.order = order
        self.event = event
        self.target = target
        self.reason = reason
        self.id: uuid.UUID | None = None


def line_id(number: int) -> uuid.UUID:
    """The id of line `number` (from 1) of the sample."""
    return uuid.uuid5(ID_NAMESPACE, f"{COURSE}:{number}")


def email_of(first: str, last: str) -> str:
    """`firstname.lastname@st.ovgu.de`, transliterated the German way."""

    def plain(text: str) -> str:
        for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), ("ı", "i")):
            text = text.replace(a, b).replace(a.upper(), b.capitalize())
        text = unicodedata.normalize("NFKD", text)
        return "".join(c for c in text if not unicodedata.combining(c)).lower()

    return f"{plain(first)}.{plain(last)}@st.ovgu.de"


def digest(*parts: object) -> str:
    """A content hash of a fake hand-in."""
    return "sha256:" + hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()


def assignment_id(k: int) -> str:
    return f"A{k:02d}"


class Semester:
    """Builds the semester's events; `lines()` turns them into the file."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.entries: list[Entry] = []
        self.order: list[str] = []  # students in order of application
        self.info: dict[str, dict[str, Any]] = {}
        self.accepted_at: dict[str, datetime] = {}
        self.withdrawn_at: dict[str, datetime] = {}
        self.groups: dict[str, list[tuple[datetime, str]]] = {}
        self.roles: dict[str, str] = {}
        self.budget: dict[str, int] = {}  # random fails a student may still take
        self.late_applicants: list[str] = []
        self.publications: dict[int, datetime] = {}
        self.deadlines: dict[int, datetime] = {}
        self.finished: list[Entry] | None = None
        self.by_role: dict[str, str] = {}

    # -- recording -----------------------------------------------------------

    def emit(self, cls: type[ev.Event], at: datetime, **fields: Any) -> Entry:
        entry = Entry(at, len(self.entries), cls(course=COURSE, at=at, **fields))
        self.entries.append(entry)
        return entry

    def retract(self, target: Entry, at: datetime, reason: str) -> Entry:
        entry = Entry(at, len(self.entries), None, target=target, reason=reason)
        self.entries.append(entry)
        return entry

    def between(self, start: datetime, end: datetime) -> datetime:
        """A whole-second instant in [start, end]."""
        span = int((end - start).total_seconds())
        return plus(start, seconds=self.rng.randint(0, max(span, 0)))

    # -- the semester --------------------------------------------------------

    def build(self) -> None:
        self.open_course()
        self.applications()
        self.decisions()
        self.preferences_and_allocation()
        self.cast()
        self.coursework()
        self.exam()

    def open_course(self) -> None:
        self.emit(
            ev.CourseOpened,
            OPENED_AT,
            title="Introduction to Deep Learning",
            timezone="Europe/Berlin",
            capacity=CAPACITY,
            application_deadline=APPLICATION_DEADLINE,
            registration_deadline=REGISTRATION_DEADLINE,
            groups=tuple(ev.Group(g, slot, GROUP_CAPACITY) for g, slot, _, _ in GROUPS),
            max_fails=MAX_FAILS,
            max_team_size=MAX_TEAM,
        )

    def names(self, n: int) -> list[tuple[str, str]]:
        rng = self.rng
        weights = [w for _, _, w in ORIGINS]
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        while len(out) < n:
            firsts, lasts, _ = rng.choices(ORIGINS, weights)[0]
            first, last = rng.choice(firsts), rng.choice(lasts)
            email = email_of(first, last)
            if email not in seen:
                seen.add(email)
                out.append((first, last))
        return out

    def statement(self) -> str:
        rng = self.rng
        topic = rng.choice(TOPICS)
        return rng.choice(FIRST_SENTENCES).format(topic=topic) + rng.choice(SECOND_SENTENCES)

    def applications(self) -> None:
        rng = self.rng
        n = N_ON_TIME + 3
        numbers = [str(x) for x in rng.sample(range(200000, 240000), n)]
        names = self.names(n)
        span = int((APPLICATION_DEADLINE - APPLICATIONS_FROM).total_seconds()) - 3600
        times = [
            plus(APPLICATIONS_FROM, seconds=o)
            for o in sorted(rng.sample(range(span), N_ON_TIME - 2))
        ]
        # Two last-minute applications: one 41 s before, one exactly at the (inclusive) deadline.
        times += [plus(APPLICATION_DEADLINE, seconds=-41), APPLICATION_DEADLINE]
        times += [
            local(2025, 4, 5, 16, 12, 33),
            local(2025, 4, 12, 21, 37, 5),
            local(2025, 4, 13, 11, 5, 48),
        ]
        rejected = sorted(
            rng.sample(range(N_ON_TIME - 2), N_REJECTED_ON_TIME)
        )  # last-minute ones are admitted
        reasons = dict(zip(rejected, REJECTIONS, strict=True))
        prerequisites = [p for p, _ in ACCEPTED_PREREQUISITES]
        weights = [w for _, w in ACCEPTED_PREREQUISITES]
        for i, (student, (first, last), at) in enumerate(zip(numbers, names, times, strict=True)):
            programme = "master" if rng.random() < 0.4 else "bachelor"
            prerequisite = reasons[i][0] if i in reasons else rng.choices(prerequisites, weights)[0]
            self.emit(
                ev.ApplicationSubmitted,
                at,
                student=student,
                name=f"{first} {last}",
                email=email_of(first, last),
                programme=programme,
                prerequisite=prerequisite,
                statement=self.statement(),
            )
            self.order.append(student)
            self.info[student] = {
                "name": f"{first} {last}",
                "programme": programme,
                "applied_at": at,
                "rejection": reasons[i][1] if i in reasons else None,
            }
        self.late_applicants = numbers[N_ON_TIME:]

    def decisions(self) -> None:
        rng = self.rng
        at = DECISIONS_FROM
        for student in self.order[:N_ON_TIME]:
            at = plus(at, seconds=rng.randint(40, 150))
            reason = self.info[student]["rejection"]
            if reason is None:
                self.emit(ev.ApplicationAccepted, at, student=student)
                self.accepted_at[student] = at
            else:
                self.emit(ev.ApplicationRejected, at, student=student, reason=reason)
        assert len(self.accepted_at) == CAPACITY - 2
        late_1, late_2, late_3 = self.late_applicants
        for student, at in (
            (late_1, local(2025, 4, 8, 10, 3, 12)),
            (late_2, local(2025, 4, 15, 9, 30, 4)),
        ):
            self.emit(ev.ApplicationAccepted, at, student=student)
            self.accepted_at[student] = at
        self.emit(
            ev.ApplicationRejected,
            local(2025, 4, 15, 9, 41, 27),
            student=late_3,
            reason="applied after the deadline and all 60 seats are taken",
        )
        self.roles[late_1] = "late_admission_before_allocation"
        self.roles[late_2] = "late_admission_after_allocation"

    def participants_at(self, at: datetime) -> list[str]:
        return [
            s
            for s in self.order
            if s in self.accepted_at
            and self.accepted_at[s] <= at
            and (s not in self.withdrawn_at or self.withdrawn_at[s] > at)
        ]

    def group_at(self, student: str, at: datetime) -> str | None:
        current = None
        for since, group in self.groups.get(student, ()):
            if since <= at:
                current = group
        return current

    def preferences_and_allocation(self) -> None:
        rng = self.rng
        eligible = self.participants_at(REGISTRATION_DEADLINE)
        registering = sorted(rng.sample(eligible, len(eligible) - 6), key=self.order.index)
        preferences: dict[str, tuple[str, ...]] = {}
        for student in registering:
            at = self.between(
                plus(self.accepted_at[student], minutes=10), plus(REGISTRATION_DEADLINE, minutes=-5)
            )
            r = rng.random()
            priorities = (
                ("g1",)
                if r < 0.05
                else ("g2",)
                if r < 0.08
                else ("g1", "g2")
                if r < 0.58
                else ("g2", "g1")
            )
            self.emit(ev.GroupPreferenceRegistered, at, student=student, priorities=priorities)
            preferences[student] = priorities
        # The ledger's own algorithm, so `allocate-groups --seed 2025` proposes the same.
        capacities = {g: GROUP_CAPACITY for g, _, _, _ in GROUPS}
        allocation = allocate_preferences(self.participants_at(ALLOCATED_AT), preferences, capacities, SEED)
        room = {g: capacities[g] - list(allocation.values()).count(g) for g in capacities}
        self.emit(ev.GroupsAllocated, ALLOCATED_AT, allocation=allocation, seed=SEED)
        for student, group in allocation.items():
            self.groups[student] = [(ALLOCATED_AT, group)]
        # The late admittee accepted after the allocation is placed where a seat is left.
        late_2 = self.late_applicants[1]
        group = max(room, key=lambda g: room[g])
        assert room[group] == 1
        at = local(2025, 4, 15, 9, 45, 51)
        self.emit(ev.GroupChanged, at, student=late_2, group=group, reason="late admission")
        self.groups[late_2] = [(at, group)]

    def cast(self) -> None:
        """Pick who withdraws, who moves, who fails what, who falls ill."""
        rng = self.rng
        late = set(self.late_applicants)
        pool = [s for s in self.participants_at(CLOSED_AT) if s not in late]
        in_group = {
            g: [s for s in pool if self.group_at(s, ALLOCATED_AT) == g] for g, _, _, _ in GROUPS
        }
        withdrawer_1 = rng.choice(in_group["g1"])
        mover = rng.choice(in_group["g2"])
        rest = [s for s in pool if s not in (withdrawer_1, mover)]
        names = (
            "withdrawn_2",
            "excluded_1",
            "excluded_2",
            "at_risk_1",
            "at_risk_2",
            "excused_1",
            "excused_2",
            "excused_3",
            "excused_4",
            "explained_on_second_try",
            "presentation_corrected",
        )
        chosen = rng.sample(rest, len(names))
        self.roles[withdrawer_1] = "withdrawn_1"
        self.roles[mover] = "moved_g2_to_g1"
        for student, role in zip(chosen, names, strict=True):
            self.roles[student] = role
        self.by_role = {role: s for s, role in self.roles.items()}
        for student in self.accepted_at:
            self.budget[student] = 1
        for role in (
            *PLANS,
            "withdrawn_1",
            "withdrawn_2",
            "explained_on_second_try",
            "presentation_corrected",
        ):
            self.budget[self.by_role[role]] = 0

    # -- coursework ----------------------------------------------------------

    def partition(self, members: list[str]) -> list[list[str]]:
        rng = self.rng
        members = list(members)
        rng.shuffle(members)
        teams = []
        while members:
            size = min(rng.choices((1, 2, 3), (1, 4, 5))[0], len(members))
            teams.append(members[:size])
            members = members[size:]
        return teams

    def session(self, group: str, k: int) -> datetime:
        """The start of `group`'s first session after assignment k's deadline."""
        _, _, weekday, hour = next(g for g in GROUPS if g[0] == group)
        day = self.deadlines[k].date() + timedelta(days=1)
        while day.weekday() != weekday:
            day += timedelta(days=1)
        return local(day.year, day.month, day.day, hour, 0)

    def active(self, student: str, k: int) -> bool:
        deadline = self.deadlines[k]
        accepted = self.accepted_at.get(student)
        withdrawn = self.withdrawn_at.get(student)
        return (
            accepted is not None
            and accepted < plus(deadline, days=-1)
            and (withdrawn is None or withdrawn > deadline)
        )

    def coursework(self) -> None:
        rng = self.rng
        role = self.by_role
        for k in range(1, N_ASSIGNMENTS + 1):
            published = plus(FIRST_PUBLICATION, days=7 * (k - 1))
            self.publications[k] = published
            self.deadlines[k] = plus(published, days=7)
            self.emit(
                ev.AssignmentPublished,
                published,
                assignment=assignment_id(k),
                title=f"{assignment_id(k)}: {TITLES[k - 1]}",
                deadline=self.deadlines[k],
            )
        # The server was down over the weekend before A05's deadline.
        self.deadlines[5] = plus(self.deadlines[5], days=2)
        self.emit(
            ev.DeadlineChanged,
            local(2025, 5, 11, 18, 0),
            assignment="A05",
            deadline=self.deadlines[5],
            reason="server outage",
        )
        withdrawals = (
            (
                "withdrawn_1",
                local(2025, 4, 30, 14, 20, 11),
                "took up a part-time job; no time for the assignments",
            ),
            ("withdrawn_2", local(2025, 6, 4, 16, 5, 37), "leaving for an internship abroad"),
        )
        for name, at, reason in withdrawals:
            self.emit(ev.ApplicationWithdrawn, at, student=role[name], reason=reason)
            self.withdrawn_at[role[name]] = at
        mover = role["moved_g2_to_g1"]
        moved_at = local(2025, 5, 5, 9, 15, 2)
        self.emit(
            ev.GroupChanged,
            moved_at,
            student=mover,
            group="g1",
            reason="timetable clash with the robotics lab on Fridays",
        )
        self.groups[mover].append((moved_at, "g1"))

        excused = {(k, role[name]) for name, (ks, _) in EXCUSES.items() for k in ks}
        plans = {(k, role[name]): what for name, plan in PLANS.items() for k, what in plan.items()}

        teams: list[list[str]] = []
        for g, _, _, _ in GROUPS:
            teams += self.partition(
                [
                    s
                    for s in self.participants_at(ALLOCATED_AT)
                    if self.group_at(s, ALLOCATED_AT) == g
                ]
            )

        for k in range(1, N_ASSIGNMENTS + 1):
            a = assignment_id(k)
            published, deadline = self.publications[k], self.deadlines[k]
            # Teams change a little over the semester.
            teams = [[s for s in t if self.active(s, k)] for t in teams]
            teams = [t for t in teams if t]
            for student in self.order:
                if self.active(student, k) and not any(student in t for t in teams):
                    self.join(teams, student, published)  # a late admittee
            if k == 5:
                for t in teams:
                    if mover in t:
                        t.remove(mover)
                teams = [t for t in teams if t]
                self.join(teams, mover, published)
            if k in (5, 9):
                for g, _, _, _ in GROUPS:
                    own = [t for t in teams if self.group_at(t[0], published) == g]
                    picked = rng.sample(own, 3)
                    teams = [t for t in teams if t not in picked]
                    teams += self.partition([s for t in picked for s in t])
            # This week's teams: the ill and the designated no-shows stay away.
            away = {
                s
                for t in teams
                for s in t
                if (k, s) in excused or plans.get((k, s)) in ("missed", "late")
            }
            weekly = [[s for s in t if s not in away] for t in teams]
            weekly = [t for t in weekly if t]
            fates: list[str] = []
            for t in weekly:
                ok = all(self.budget[s] > 0 for s in t)
                r = rng.random()
                fate = "none" if ok and r < 0.02 else "late" if ok and r < 0.05 else "on_time"
                if fate != "on_time":
                    for s in t:
                        self.budget[s] -= 1
                fates.append(fate)
            for s in sorted(away):
                if plans.get((k, s)) == "late":
                    weekly.append([s])
                    fates.append("late")
            earliest: dict[int, datetime] = {}
            if k == 8:
                earliest = self.mistaken_hand_in(k, weekly, fates, plans)
            on_time_teams = []
            exactly_at_deadline = k == 3
            for i, (t, fate) in enumerate(zip(weekly, fates, strict=True)):
                if fate == "none":
                    continue
                if fate == "late":
                    at = plus(deadline, seconds=rng.randint(1800, 40 * 3600))
                    self.emit(
                        ev.SubmissionHandedIn,
                        at,
                        assignment=a,
                        team=tuple(t),
                        digest=digest(a, *t, "late"),
                    )
                    continue
                start = max(
                    plus(published, hours=3),
                    *(plus(self.accepted_at[s], hours=1) for s in t),
                    earliest.get(i, published),
                )
                if exactly_at_deadline and not any((k, s) in plans for s in t):
                    at = deadline  # on time, to the second (SPEC §2: inclusive)
                    exactly_at_deadline = False
                else:
                    at = plus(deadline, seconds=-(int(rng.expovariate(1 / 18) * 3600) + 30))
                    if at < start:
                        at = self.between(
                            start, plus(start, seconds=(deadline - start).total_seconds() / 2)
                        )
                if rng.random() < 0.15 and (at - start) > timedelta(hours=2):
                    first = self.between(start, plus(at, hours=-1))
                    self.emit(
                        ev.SubmissionHandedIn,
                        first,
                        assignment=a,
                        team=tuple(t),
                        digest=digest(a, *t, 1),
                    )
                self.emit(
                    ev.SubmissionHandedIn, at, assignment=a, team=tuple(t), digest=digest(a, *t, 2)
                )
                on_time_teams.append(t)
            self.presentations(k, on_time_teams, plans)
        for name, (ks, certificate) in EXCUSES.items():
            day = plus(self.deadlines[ks[-1]], days=self.rng.randint(1, 3)).date()
            at = self.between(
                local(day.year, day.month, day.day, 9, 0),
                local(day.year, day.month, day.day, 15, 30),
            )
            self.emit(
                ev.ExcuseGranted,
                at,
                student=role[name],
                assignments=tuple(assignment_id(k) for k in ks),
                certificate=certificate,
                reason="illness",
            )
        self.emit(ev.CourseworkClosed, CLOSED_AT)

    def join(self, teams: list[list[str]], student: str, at: datetime) -> None:
        """Put `student` into the smallest team of their group with room (or alone)."""
        group = self.group_at(student, at) or self.groups[student][0][1]
        open_teams = [t for t in teams if len(t) < MAX_TEAM and self.group_at(t[0], at) == group]
        if not open_teams:
            teams.append([student])
            return
        smallest = min(len(t) for t in open_teams)
        self.rng.choice([t for t in open_teams if len(t) == smallest]).append(student)

    def mistaken_hand_in(
        self, k: int, weekly: list[list[str]], fates: list[str], plans: dict[tuple[int, str], str]
    ) -> dict[int, datetime]:
        """A team lists a student from another team by mistake; the hand-in is retracted."""
        a = assignment_id(k)
        plain = [
            i
            for i, (t, fate) in enumerate(zip(weekly, fates, strict=True))
            if fate == "on_time" and not any((k, s) in plans for s in t)
        ]
        pair = next(i for i in plain if len(weekly[i]) == 2)
        other = next(i for i in plain if i != pair)
        team, stray = weekly[pair], weekly[other][0]
        wrong = self.emit(
            ev.SubmissionHandedIn,
            local(2025, 5, 31, 18, 42, 10),
            assignment=a,
            team=(*team, stray),
            digest=digest(a, *team, 1),
        )
        retracted_at = local(2025, 6, 1, 9, 10, 44)
        self.retract(
            wrong,
            retracted_at,
            f"team entered wrongly: {stray} is not in this team; the team hands in again",
        )
        self.roles.setdefault(stray, "listed_in_a_retracted_hand_in")
        return {pair: plus(retracted_at, minutes=20), other: plus(retracted_at, minutes=20)}

    def presentations(
        self, k: int, teams: list[list[str]], plans: dict[tuple[int, str], str]
    ) -> None:
        rng = self.rng
        a = assignment_id(k)
        role = self.by_role
        for t in teams:
            for s in t:
                group = self.group_at(s, self.deadlines[k])
                assert group is not None
                session = self.session(group, k)
                if s in self.withdrawn_at and self.withdrawn_at[s] < session:
                    continue
                at = plus(session, seconds=rng.randint(5 * 60, 85 * 60))
                plan = plans.get((k, s))
                if plan in ("absent", "failed_to_explain"):
                    self.emit(ev.PresentationRecorded, at, assignment=a, student=s, outcome=plan)
                elif plan in ("uncited_copy", "insufficient_effort"):
                    self.assess(k, s, plan, NOTES[plan])
                elif k == 4 and s == role["explained_on_second_try"]:
                    self.emit(
                        ev.PresentationRecorded,
                        at,
                        assignment=a,
                        student=s,
                        outcome="failed_to_explain",
                    )
                    again = plus(self.session(group, k + 1), minutes=rng.randint(5, 85))
                    self.emit(
                        ev.PresentationRecorded, again, assignment=a, student=s, outcome="explained"
                    )
                elif k == 6 and s == role["presentation_corrected"]:
                    self.emit(
                        ev.PresentationRecorded, at, assignment=a, student=s, outcome="explained"
                    )
                    wrong = self.emit(
                        ev.PresentationRecorded,
                        plus(at, minutes=25),
                        assignment=a,
                        student=s,
                        outcome="failed_to_explain",
                    )
                    self.retract(
                        wrong,
                        plus(session, days=1, hours=-2),
                        f"recorded for the wrong student: {s} explained the solution",
                    )
                elif rng.random() < 0.45:
                    r = rng.random()
                    outcome = "explained"
                    if self.budget[s] > 0 and r < 0.065:
                        outcome = "failed_to_explain" if r < 0.04 else "absent"
                        self.budget[s] -= 1
                    self.emit(ev.PresentationRecorded, at, assignment=a, student=s, outcome=outcome)
                elif rng.random() < 0.06:
                    self.assess(k, s, "sufficient", rng.choice(SUFFICIENT_NOTES))

    def assess(self, k: int, student: str, verdict: str, note: str) -> None:
        at = plus(
            self.deadlines[k], days=3, hours=self.rng.randint(5, 9), minutes=self.rng.randint(0, 59)
        )
        self.emit(
            ev.SubmissionAssessed,
            at,
            assignment=assignment_id(k),
            student=student,
            verdict=verdict,
            note=note,
        )

    # -- the exam ------------------------------------------------------------

    def exam(self) -> None:
        rng = self.rng
        fails = standing(self.sorted_entries(), CLOSED_AT)
        registered = []
        for student in self.participants_at(CLOSED_AT):
            if len(fails[student]) > MAX_FAILS:
                continue
            at = self.between(plus(CLOSED_AT, hours=1), local(2025, 7, 18, 23, 0))
            mode = "certificate" if rng.random() < 0.2 else "graded"
            self.emit(ev.ExamRegistered, at, student=student, mode=mode)
            registered.append(student)
        ungraded = set(rng.sample(registered, 3))
        graded = [s for s in registered if s not in ungraded]
        failing = set(rng.sample(graded, 2))
        scale = [g for g in ev.GRADES if g != 5.0]
        weights = (4, 6, 9, 11, 12, 11, 9, 7, 5, 4)
        at = EXAM_GRADED_FROM
        for student in graded:
            at = plus(at, seconds=rng.randint(60, 240))
            grade = 5.0 if student in failing else rng.choices(scale, weights)[0]
            self.emit(ev.ExamGraded, at, student=student, grade=grade)
        for student in sorted(ungraded):
            self.roles.setdefault(student, "exam_not_yet_graded")
        for student in sorted(failing):
            self.roles.setdefault(student, "exam_failed")

    # -- output --------------------------------------------------------------

    def sorted_entries(self) -> list[Entry]:
        return sorted(self.entries, key=lambda e: (e.at, e.order))

    def finish(self) -> list[Entry]:
        if self.finished is None:
            entries = self.sorted_entries()
            for number, entry in enumerate(entries, start=1):
                entry.id = line_id(number)
            for entry in entries:
                if entry.target is not None:
                    assert entry.target.id is not None
                    entry.event = ev.EventRetracted(
                        course=COURSE, at=entry.at, event=entry.target.id, reason=entry.reason
                    )
            self.finished = entries
        return self.finished

    def lines(self) -> list[bytes]:
        out = []
        for entry in self.finish():
            body = msgspec.to_builtins(entry.event)
            out.append(msgspec.json.encode({"id": str(entry.id), **body}) + b"\n")
        return out


def standing(entries: Iterable[Entry], clock: datetime) -> dict[str, list[str]]:
    """Each participant's failed assignments (`A03:late`) at `clock`, as SPEC §5 counts them."""
    entries = list(entries)
    retracted = {id(e.target) for e in entries if e.target is not None}
    live = [e for e in entries if e.target is None and id(e) not in retracted and e.at <= clock]
    accepted: dict[str, datetime] = {}
    withdrawn: set[str] = set()
    deadlines: dict[str, datetime] = {}
    hand_ins: dict[str, list[ev.SubmissionHandedIn]] = {}
    shown: dict[tuple[str, str], str] = {}
    verdicts: dict[tuple[str, str], str] = {}
    excused: set[tuple[str, str]] = set()
    for entry in live:  # in (at, position) order, so the last one written is the latest
        e = entry.event
        if isinstance(e, ev.ApplicationAccepted):
            accepted[e.student] = e.at
        elif isinstance(e, ev.ApplicationWithdrawn):
            withdrawn.add(e.student)
        elif isinstance(e, (ev.AssignmentPublished, ev.DeadlineChanged)):
            deadlines[e.assignment] = e.deadline
        elif isinstance(e, ev.SubmissionHandedIn):
            hand_ins.setdefault(e.assignment, []).append(e)
        elif isinstance(e, ev.PresentationRecorded):
            shown[(e.assignment, e.student)] = e.outcome
        elif isinstance(e, ev.SubmissionAssessed):
            verdicts[(e.assignment, e.student)] = e.verdict
        elif isinstance(e, ev.ExcuseGranted):
            excused.update((a, e.student) for a in e.assignments)
    result: dict[str, list[str]] = {}
    for student, accepted_at in accepted.items():
        if student in withdrawn:
            continue
        fails = []
        for a, deadline in deadlines.items():
            if deadline < accepted_at:
                continue  # exempt
            mine = [h for h in hand_ins.get(a, ()) if student in h.team]
            on_time = [h for h in mine if h.at <= deadline]
            verdict, outcome = verdicts.get((a, student)), shown.get((a, student))
            bad_verdict = verdict in ("uncited_copy", "insufficient_effort")
            bad_outcome = outcome in ("failed_to_explain", "absent")
            if on_time and not bad_verdict and not bad_outcome:
                continue
            if (a, student) in excused:
                continue
            if on_time:
                fails.append(f"{a}:{verdict if bad_verdict else outcome}")
            elif clock > deadline:
                fails.append(f"{a}:{'late' if mine else 'missed_deadline'}")
        result[student] = fails
    return result


def generate() -> Semester:
    """The sample semester, built."""
    semester = Semester()
    semester.build()
    return semester


def lines() -> list[bytes]:
    """The sample file's lines, each ending in a newline."""
    return generate().lines()


def main(path: str | Path = OUTPUT) -> Path:
    """Write the sample to `path`."""
    path = Path(path)
    path.write_bytes(b"".join(lines()))
    return path


if __name__ == "__main__":
    written = main(sys.argv[1] if len(sys.argv) > 1 else OUTPUT)
    print(f"wrote {written}")

"""Exercise groups from ranked preferences (SPEC §1.3): rank-optimal, with a seeded lottery.

What an allocation optimises, in this order (ADR 0012):

1. as many participants as possible get a group they ranked;
2. among those allocations, the smallest total rank (first choice 0, second 1, …);
3. among those, a seeded lottery: every (participant, ranked group) pair draws
   a ticket from the seed, and the allocation with the smallest sum of tickets
   wins. Tickets are scaled so that all of them together weigh less than one
   rank step: they only ever choose between allocations that tie on 1 and 2.

Everyone else — participants whose ranked groups are all full, then those
without a preference — fills the remaining seats in ticket order, each into
the group with the fewest members (ties between groups by ticket too), so that
group sizes stay as even as the seats allow.

Steps 1–3 are one max-flow-min-cost problem, solved by OR-Tools' network
solver, imported only here. A ticket is a keyed hash of the seed, the student
and the group: never the student number's order, nor the order of
registration, and the same in any process, so anyone can re-derive an
allocation from the ledger and its recorded seed (`rederive`).
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from ledger.course import Course, visible
from ledger.errors import LedgerError, Refused
from ledger.events import GroupsAllocated

if TYPE_CHECKING:
    from ledger.events import Recorded

# Tickets are cut to at most this many bits; fewer when the problem is so large
# that the costs would not fit OR-Tools' int64 arithmetic (it scales every cost
# by the number of nodes, and refuses above about 2**61: we keep 3 bits spare).
TICKET_BITS = 40
COST_BUDGET = 2**58


def ticket(seed: int, purpose: str, *key: str) -> int:
    """A 64-bit lottery number for `key`, drawn from `seed` (the same in every process)."""
    data = msgspec.json.encode([purpose, seed, *key])
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=b"subledger-alloc").digest(), "big")


def allocate(course: Course, seed: int) -> dict[str, str]:
    """Place the participants of `course` in its groups from the preferences they registered."""
    participants, preferences, capacities = inputs(course)
    return allocate_preferences(participants, preferences, capacities, seed)


def inputs(course: Course) -> tuple[list[str], dict[str, tuple[str, ...]], dict[str, int]]:
    """What an allocation of `course` is computed from: participants, their preferences, capacities."""
    if course.opened is None:
        raise Refused("unknown-course", f"no course {course.name!r} has been opened")
    participants = course.participants()
    preferences = {
        s: record.event.priorities
        for s, record in course.preferences.items()
        if course.is_participant(s)
    }
    return participants, preferences, {g.id: g.capacity for g in course.opened.groups}


def allocate_preferences(
    participants: Iterable[str],
    preferences: Mapping[str, Sequence[str]],
    capacities: Mapping[str, int],
    seed: int,
) -> dict[str, str]:
    """Place participants in groups: rank-optimal, ties by a lottery drawn from `seed` (see the module)."""
    students = set(participants)
    ranked = {s: _ranking(preferences.get(s, ()), capacities) for s in students}
    ranked = {s: r for s, r in ranked.items() if r}
    allocation = _rank_optimal(ranked, capacities, seed)
    rest = _by_ticket((s for s in ranked if s not in allocation), seed)
    rest += _by_ticket((s for s in students if s not in ranked), seed)
    _fill_evenly(allocation, rest, capacities, seed)
    return dict(sorted(allocation.items()))


def _ranking(priorities: Sequence[str], capacities: Mapping[str, int]) -> tuple[str, ...]:
    """The groups a participant ranked, best first: the course's groups, each once."""
    return tuple(dict.fromkeys(g for g in priorities if g in capacities))


def _by_ticket(students: Iterable[str], seed: int) -> list[str]:
    """`students` in the order of their tickets (the student id only splits a 64-bit tie)."""
    return sorted(students, key=lambda s: (ticket(seed, "order", s), s))


def _rank_optimal(ranked: Mapping[str, tuple[str, ...]], capacities: Mapping[str, int], seed: int) -> dict[str, str]:
    """Steps 1–3 of the module: as many in a ranked group as can be, least total rank, lottery."""
    if not ranked:
        return {}
    net = network(ranked, capacities, seed)
    return net.allocation(solve(net))


@dataclass(frozen=True)
class Network:
    """Steps 1–3 as a flow network: a unit of flow from each participant to a group they ranked.

    Arc `a` runs from participant `tails[a]` to group `heads[a]` at `costs[a]`;
    group `g` passes at most `capacities[g]` on to the sink.
    """

    students: list[str]
    groups: list[str]
    capacities: list[int]
    tails: list[int]
    heads: list[int]
    costs: list[int]

    def allocation(self, arcs: Iterable[int]) -> dict[str, str]:
        """The allocation that sends flow along `arcs`."""
        return {self.students[self.tails[a]]: self.groups[self.heads[a]] for a in arcs}


def network(ranked: Mapping[str, tuple[str, ...]], capacities: Mapping[str, int], seed: int) -> Network:
    """The flow network of `ranked` participants (non-empty rankings) with the seed's tickets."""
    # Participants in ticket order: even a tie the tickets leave (a chance of
    # about one in 2**bits) is broken by the seed, not by student numbers.
    students = _by_ticket(ranked, seed)
    groups = list(capacities)
    index = {g: i for i, g in enumerate(groups)}
    bits = _ticket_bits(len(students), max(map(len, ranked.values())), len(students) + len(groups) + 2)
    # A rank step weighs more than all tickets together: n tickets below 2**bits each.
    step = len(students) << bits
    tails, heads, costs = [], [], []
    for i, student in enumerate(students):
        for rank, group in enumerate(ranked[student]):
            tails.append(i)
            heads.append(index[group])
            costs.append(rank * step + (ticket(seed, "rank", student, group) >> (64 - bits)))
    return Network(students, groups, [capacities[g] for g in groups], tails, heads, costs)


def solve(net: Network) -> list[int]:
    """The arcs of the maximum flow of least cost, by OR-Tools' min-cost flow."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    n, m = len(net.students), len(net.groups)
    source, sink = n + m, n + m + 1
    flow = min_cost_flow.SimpleMinCostFlow()
    choices = flow.add_arcs_with_capacity_and_unit_cost(
        np.array(net.tails, np.int32),
        np.array(net.heads, np.int32) + n,
        np.ones(len(net.tails), np.int64),
        np.array(net.costs, np.int64),
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.full(n, source, np.int32), np.arange(n, dtype=np.int32), np.ones(n, np.int64), np.zeros(n, np.int64)
    )
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n, n + m, dtype=np.int32),
        np.full(m, sink, np.int32),
        np.array(net.capacities, np.int64),
        np.zeros(m, np.int64),
    )
    flow.set_node_supply(source, n)
    flow.set_node_supply(sink, -n)
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:  # a bug or a limit of ours, never the user's input
        raise RuntimeError(f"the min-cost flow solver stopped with {status.name}")
    return [int(a) for a in np.flatnonzero(flow.flows(choices))]


def _ticket_bits(participants: int, longest: int, nodes: int) -> int:
    """How many bits of each ticket fit OR-Tools' cost range for a problem of this size."""
    # The dearest arc costs under (longest - 1) * participants * 2**bits + 2**bits.
    spread = participants * (longest - 1) + 1
    bits = min(TICKET_BITS, (COST_BUDGET // (spread * (nodes + 1))).bit_length() - 1)
    if bits < 8:
        raise LedgerError(f"{participants} participants with preferences are too many for one allocation")
    return bits


def _fill_evenly(allocation: dict[str, str], students: Sequence[str], capacities: Mapping[str, int], seed: int) -> None:
    """Seat `students`, in order, each in the group with the fewest members that has room."""
    size = Counter(allocation.values())
    room = [(size[g], ticket(seed, "group", g), g) for g in capacities if size[g] < capacities[g]]
    heapq.heapify(room)
    for student in students:
        if not room:
            return
        members, order, group = heapq.heappop(room)
        allocation[student] = group
        if members + 1 < capacities[group]:
            heapq.heappush(room, (members + 1, order, group))


# -- how good an allocation is -------------------------------------------------


@dataclass(frozen=True)
class Tally:
    """How many participants an allocation gives their 1st, 2nd, … choice, and the rest."""

    by_rank: tuple[int, ...]  # by_rank[r]: placed in the group they ranked r-th (from 0)
    unranked: int  # placed in a group they did not rank
    no_preference: int  # placed, without having registered a preference
    no_seat: int  # participants the allocation leaves without a group

    @property
    def total_rank(self) -> int:
        """The sum of the ranks participants got (first choice 0), over ranked groups."""
        return sum(rank * count for rank, count in enumerate(self.by_rank))

    @property
    def in_ranked(self) -> int:
        """How many are placed in a group they ranked."""
        return sum(self.by_rank)

    def describe(self) -> str:
        """One line: `1st choice 40, 2nd choice 18, unranked 2, no preference 0, no seat 0; total rank 18`."""
        parts = [f"{ordinal(r + 1)} choice {n}" for r, n in enumerate(self.by_rank)]
        parts += [f"unranked {self.unranked}", f"no preference {self.no_preference}", f"no seat {self.no_seat}"]
        return f"{', '.join(parts)}; total rank {self.total_rank}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, … 11th, 12th, 13th, … 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def tally(
    allocation: Mapping[str, str],
    participants: Iterable[str],
    preferences: Mapping[str, Sequence[str]],
    capacities: Mapping[str, int],
) -> Tally:
    """How `allocation` serves `participants` with these preferences."""
    rankings = {s: _ranking(p, capacities) for s, p in preferences.items()}
    longest = max((len(r) for r in rankings.values()), default=0)
    by_rank = [0] * longest
    unranked = no_preference = no_seat = 0
    for student in participants:
        group = allocation.get(student)
        ranking = rankings.get(student, ())
        if group is None:
            no_seat += 1
        elif not ranking:
            no_preference += 1
        elif group in ranking:
            by_rank[ranking.index(group)] += 1
        else:
            unranked += 1
    return Tally(tuple(by_rank), unranked, no_preference, no_seat)


# -- re-deriving a recorded allocation -----------------------------------------


@dataclass(frozen=True)
class Rederived:
    """A recorded allocation next to the one its seed gives on the ledger as it then stood."""

    record: Recorded
    event: GroupsAllocated
    basis: int  # how many of the course's events were recorded before it
    recorded: dict[str, str]
    derived: dict[str, str]
    recorded_tally: Tally
    derived_tally: Tally
    differences: list[tuple[str, str | None, str | None]]  # (student, recorded group, re-derived group)
    strangers: list[str]  # named by the recorded allocation, but not participants then
    over_capacity: list[tuple[str, int, int]]  # (group, members, capacity) in the recorded allocation

    @property
    def matches(self) -> bool:
        """Whether the recorded allocation is exactly the re-derived one."""
        return self.recorded == self.derived

    @property
    def optimal(self) -> bool:
        """Whether the recorded allocation is rank-optimal too (the lottery aside)."""
        mine, best = self.recorded_tally, self.derived_tally
        return (
            not self.strangers
            and not self.over_capacity
            and (mine.no_seat, mine.in_ranked, mine.total_rank) == (best.no_seat, best.in_ranked, best.total_rank)
        )


def as_it_stood(course: Course, record: Recorded) -> Course:
    """The course as an allocation recorded as `record` saw it: the events recorded before it, as of its `at`."""
    before = [r for r in course.records if r.position < record.position]
    return Course.fold(course.name, visible(before, as_of=record.event.at))


def rederive(course: Course) -> Rederived:
    """Re-derive the allocation in effect in `course` from its recorded seed, and compare."""
    record = course.allocation
    if record is None:
        raise LedgerError(f"course {course.name!r} has no allocation in effect to verify")
    event = record.event
    assert isinstance(event, GroupsAllocated)  # what Course.allocation indexes
    then = as_it_stood(course, record)
    participants, preferences, capacities = inputs(then)
    recorded = dict(event.allocation)
    derived = allocate_preferences(participants, preferences, capacities, event.seed)
    students = sorted(set(recorded) | set(derived))
    members = Counter(recorded.values())
    return Rederived(
        record=record,
        event=event,
        basis=len([r for r in course.records if r.position < record.position]),
        recorded=recorded,
        derived=derived,
        recorded_tally=tally(recorded, participants, preferences, capacities),
        derived_tally=tally(derived, participants, preferences, capacities),
        differences=[(s, recorded.get(s), derived.get(s)) for s in students if recorded.get(s) != derived.get(s)],
        strangers=sorted(set(recorded) - set(participants)),
        over_capacity=[(g, members[g], c) for g, c in capacities.items() if members[g] > c]
        + [(g, members[g], 0) for g in members if g not in capacities],
    )

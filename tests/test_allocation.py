"""Allocating exercise groups from ranked preferences (SPEC §1.3), over many cases."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledger.allocation import allocate_preferences

GROUPS = ("g1", "g2", "g3")

cases = st.builds(
    lambda students, capacities, ranks, seed: (
        students,
        dict(zip(GROUPS, capacities, strict=True)),
        {s: tuple(r) for s, r in zip(students, ranks, strict=False) if r},
        seed,
    ),
    st.lists(st.text("0123456789", min_size=6, max_size=6), unique=True, max_size=40),
    st.tuples(*(st.integers(0, 20) for _ in GROUPS)),
    st.lists(st.lists(st.sampled_from(GROUPS), unique=True, max_size=3), max_size=40),
    st.integers(0, 2**32),
)


@given(cases)
def test_no_group_overflows_and_everyone_fits_who_can(case) -> None:  # type: ignore[no-untyped-def]
    students, capacities, preferences, seed = case
    allocation = allocate_preferences(students, preferences, capacities, seed)
    assert set(allocation) <= set(students)
    for group, capacity in capacities.items():
        assert list(allocation.values()).count(group) <= capacity
    # Only when every seat is taken does anyone stay without a group.
    assert len(allocation) == min(len(students), sum(capacities.values()))
    # The seed makes it repeatable.
    assert allocate_preferences(students, preferences, capacities, seed) == allocation


@given(cases)
def test_with_room_for_all_everyone_gets_their_first_choice(case) -> None:  # type: ignore[no-untyped-def]
    students, _, preferences, seed = case
    roomy = dict.fromkeys(GROUPS, len(students))
    allocation = allocate_preferences(students, preferences, roomy, seed)
    for student, ranked in preferences.items():
        assert allocation[student] == ranked[0]

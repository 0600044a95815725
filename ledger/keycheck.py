"""`verify` of the material keys: every key is there unless an erasure destroyed it, and opens (ADR 9).

The Merkle log proves the events; the keys live beside them and are not in
it. Deleting or swapping rows of the key table would turn names into
`[erased]` without any erasure event. So this check replays what the log says
about material — applications, decisions, retractions, erasures — and holds
the store's key table to it:
- each applicant's identity and statement key exists, unless a recorded
  erasure destroyed it (judged as the writer judged it, on the course as it
  stood at the erasure), and no destroyed key survived;
- each key row opens under its course's current key-encryption key (a row
  moved to another applicant or altered does not), and each key opens the
  material it seals;
- the key file holds no key-encryption key that an erasure replaced (an
  erasure cut short): this check destroys such a KEK if it can, and reports
  it if it cannot.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from ledger import events as ev
from ledger import vault
from ledger.course import Course
from ledger.errors import StoreError
from ledger.events import Recorded, decode_stored
from ledger.store import material

# What the log says about material: everything that changes who applied, who was admitted, what was erased.
MATERIAL_EVENTS = (
    ev.ApplicationSubmitted,
    ev.ApplicationAccepted,
    ev.ApplicationRejected,
    ev.ApplicationWithdrawn,
    ev.EventRetracted,
    ev.ApplicationMaterialErased,
)
TOPICS = tuple(name for name, cls in ev.EVENT_TYPES.items() if cls in MATERIAL_EVENTS)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")

Slot = tuple[str, str, str]  # course, student, purpose


def checked(ledger: Any, verdict: V) -> V:
    """`verdict` of the log, or — if the log verified — the first problem of the keys in its place."""
    if not getattr(verdict, "ok", False):
        return verdict
    problem, position = verify_keys(ledger)
    if not problem:
        return verdict
    return dataclasses.replace(verdict, problem=problem, bad_position=position)


def verify_keys(ledger: Any) -> tuple[str, int | None]:
    """The first problem of the material keys (and the position of the event it concerns), or ("", None)."""
    recorder = ledger.recorder
    expected, destroyed_at, applications = _expected(recorder.select_topics(TOPICS))
    history = recorder.kek_history()
    current = {course: kek for course, _, kek in history}  # the last one of each course wins
    rows = {(c, s, p): (kek, wrapped) for c, s, p, kek, wrapped in recorder.select_wrapped() if current.get(c) == kek}

    for slot, position in expected.items():
        if slot not in rows:
            course, student, purpose = slot
            return f"the {purpose} key of {student!r} in {course} is missing, and no erasure destroyed it", position
    for slot in rows:
        if slot not in expected:
            course, student, purpose = slot
            erased = destroyed_at.get(slot)
            if erased is not None:
                return f"the {purpose} key of {student!r} in {course} survived the erasure at position {erased}", erased
            return f"the {purpose} key of {student!r} in {course} belongs to no application", None

    key_file = recorder.key_file
    if key_file is None:
        return "the store was opened without its key file: the keys cannot be checked", None
    stale = _unfinished(key_file, history)
    if stale:
        return stale, None
    by_course: dict[str, list[tuple[str, str, bytes]]] = {}
    for (course, student, purpose), (_, wrapped) in rows.items():
        by_course.setdefault(course, []).append((student, purpose, wrapped))
    for course, course_rows in sorted(by_course.items()):
        try:
            wrapping = material.Wrapping(course, current[course], material.kek_of(key_file, course, current[course]))
        except StoreError as error:
            return str(error), None
        for student, purpose, wrapped in course_rows:
            key = wrapping.unwrap(student, purpose, wrapped)
            record = applications[(course, student)]
            if key is None:
                return (
                    f"the {purpose} key of {student!r} in {course} does not open: it was altered or moved from "
                    "another applicant's row",
                    record.position,
                )
            if not _opens(key, record, purpose):
                return f"the {purpose} key of {student!r} in {course} does not open their material", record.position
    return "", None


def _expected(
    rows: Iterable[tuple[int, bytes]],
) -> tuple[dict[Slot, int], dict[Slot, int], dict[tuple[str, str], Recorded]]:
    """What the log says of the keys: those that must exist (with the position of the application
    that made them), those destroyed (with the erasure's position), and each applicant's latest application.

    A restore line that carries a field as its token (its key destroyed before the export) is followed
    in the log by the erasure that destroyed the key, so the replay comes to the same keys.
    """
    expected: dict[Slot, int] = {}
    destroyed_at: dict[Slot, int] = {}
    applications: dict[tuple[str, str], Recorded] = {}
    courses: dict[str, Course] = {}
    for record in _records(rows):
        event = record.event
        course = courses.get(event.course)
        if course is None:
            course = courses[event.course] = Course(event.course)
        if isinstance(event, ev.ApplicationSubmitted):
            applications[(event.course, event.student)] = record
            for purpose in vault.PURPOSES:
                expected.setdefault((event.course, event.student, purpose), record.position)
        elif isinstance(event, ev.ApplicationMaterialErased):
            for student, purpose in vault.destroyed(course, event):
                slot = (event.course, student, purpose)
                expected.pop(slot, None)
                destroyed_at[slot] = record.position
        course.apply(record)
    return expected, destroyed_at, applications


def _records(rows: Iterable[tuple[int, bytes]]) -> Iterator[Recorded]:
    for position, state in rows:
        envelope = decode_stored(state, position)
        yield Recorded(envelope.id, position, envelope.recorded_at, envelope.recorded_by, envelope.event)


def _opens(key: bytes, record: Recorded, purpose: str) -> bool:
    """Whether `key` opens the stored application's material of `purpose` (one field is enough:
    every field of a purpose is sealed under the same key)."""
    event = record.event
    assert isinstance(event, ev.ApplicationSubmitted)
    field = next(f for f, p in vault.FIELDS.items() if p == purpose)
    return vault.opens(key, record.id, field, getattr(event, field))


def _unfinished(key_file: Any, history: list[tuple[str, int, bytes]]) -> str:
    """Finish a destruction an erasure left undone, if this process may; say what is left."""
    with contextlib.suppress(StoreError, OSError):  # e.g. a read-only key file: reported below
        material.finish_destruction(key_file, history)
    live, _ = key_file.read()
    replaced_by = {old: new for (c, _, old), (d, new, _) in itertools.pairwise(history) if c == d}
    stale = [kek for kek in replaced_by if kek in live]
    if not stale:
        return ""
    return (
        f"the key file {key_file.path!r} still holds the key-encryption key that the erasure at position "
        f"{replaced_by[stale[0]]} replaced: its destruction is unfinished"
    )

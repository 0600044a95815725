"""How the views keep a course: its log positions, in fixed-size chunks.

A course is one eventsourcing stream; its records in fold order are the
stream's events, version 1, 2, 3 … The views keep, per course, the stream and
the ledger position of every version (`positions`: `1,5,9`, JSON without its
brackets, so that appending is a byte concatenation the database does itself).
Reading a course is then one range read of the stream by its primary key and
one decode, never a scan of the log; and a rebuild reads the log's positions
only, never an event. The events stay where the ledger stored them, so the
views hold no application material at all, sealed or not.

Chunk k of a course holds the positions of versions k·CHUNK+1 … (k+1)·CHUNK,
whatever batches they arrived in, so incremental catch-up and rebuild write
identical rows, and an append touches one short row, never the whole course.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, NamedTuple, Protocol

import msgspec

from ledger.events import EVENT_TYPES, Envelope, Recorded, decode_stored

CHUNK = 1024
# The stored names of the event types every student's outcomes rest on.
COURSE_WIDE = frozenset(name for name, cls in EVENT_TYPES.items() if cls.concerns.course_wide)

_positions = msgspec.json.Decoder(list[int])
_envelopes = msgspec.json.Decoder(list[Envelope])


class _CourseOf(msgspec.Struct):
    course: str


class _EnvelopeCourse(msgspec.Struct):
    event: _CourseOf


_course_of = msgspec.json.Decoder(_EnvelopeCourse)


def course_of(state: bytes) -> str:
    """The course a stored envelope belongs to (reads that field only)."""
    return _course_of.decode(state).event.course


class CheckpointMoved(Exception):
    """Another process moved the views on while this one was catching up: start over."""


class Batch(NamedTuple):
    """New log entries: the positions of each stream, in order, and the last position."""

    streams: dict[Any, list[int]]
    last: int


def group(rows: list[tuple[int, Any]]) -> Batch:
    """Log entries (position, stream) grouped by stream."""
    streams: dict[Any, list[int]] = {}
    for position, stream in rows:
        positions = streams.get(stream)
        if positions is None:
            streams[stream] = [position]
        else:
            positions.append(position)
    return Batch(streams, rows[-1][0])


class Write(NamedTuple):
    """One chunk row to write: appended to if it exists (`append`), else inserted."""

    chunk: int
    positions: bytes
    append: bool


class ChunkRow(NamedTuple):
    """A row of `view_chunks`: the positions of a course's versions chunk·CHUNK+1 …, as JSON without brackets."""

    course: str
    chunk: int
    positions: bytes


class CourseRow(NamedTuple):
    """A row of `view_courses`: a course, its stream, how many records the views hold, its first position."""

    course: str
    stream: Any  # the stream id as the store keeps it (text on SQLite, uuid on PostgreSQL)
    size: int
    first_position: int


class Writing(Protocol):
    """One write transaction on a store's view tables: the SQL each store speaks, nothing more.

    `save` holds what both stores do; each adapter (`projections.sqlite`,
    `projections.postgres`) implements these in its own dialect.
    """

    def checkpoint(self, name: str) -> int | None:
        """The last position applied under tracking name `name` (None: never built)."""
        ...

    def clear(self, name: str) -> None:
        """Delete every view row and the checkpoint."""
        ...

    def known(self, streams: list[Any]) -> dict[Any, tuple[str, int]]:
        """The course and size the views hold for each of `streams` they know."""
        ...

    def first_state(self, stream: Any) -> bytes:
        """The stored envelope of version 1 of `stream` (it names the course)."""
        ...

    def write(self, appends: list[ChunkRow], inserts: list[ChunkRow], courses: list[CourseRow]) -> None:
        """Append to existing chunk rows, insert new ones, and insert or resize the courses."""
        ...

    def track(self, name: str, position: int) -> None:
        """Move the checkpoint to `position`."""
        ...


class Snapshot(Protocol):
    """One read transaction on a store's view tables and its log (to check the views against it)."""

    def checkpoint(self, name: str) -> int | None:
        """The last position applied under tracking name `name` (None: never built)."""
        ...

    def head(self) -> int:
        """How many events the log holds."""
        ...

    def log(self, upto: int) -> list[tuple[int, Any]]:
        """The log's entries up to position `upto`: (position, stream)."""
        ...

    def first_state(self, stream: Any) -> bytes:
        """The stored envelope of version 1 of `stream` (it names the course)."""
        ...

    def course_rows(self) -> list[CourseRow]:
        """Every row of `view_courses`, by course."""
        ...

    def chunk_rows(self) -> list[ChunkRow]:
        """Every row of `view_chunks`, by course and chunk."""
        ...


class ViewStore(Protocol):
    """The view tables of either store (`projections.sqlite`, `projections.postgres`)."""

    def progress(self, name: str) -> tuple[int, int | None]:
        """The log's head and the last position applied under `name` (None: never built), read together."""
        ...

    def select_new(self, after: int, count: int) -> list[tuple[int, Any]]:
        """Up to `count` records of the log after position `after`, as (position, stored row)."""
        ...

    def writing(self) -> AbstractContextManager[Writing]:
        """A write transaction on the view tables."""
        ...

    def snapshot(self) -> AbstractContextManager[Snapshot]:
        """A read transaction on the view tables and the log."""
        ...

    def select_course(self, course: str) -> tuple[list[bytes], list[tuple[str, bytes]]]:
        """A course's chunk rows and its events, read together."""
        ...

    def select_courses(self) -> list[str]:
        """The courses the views hold, in the order they were opened."""
        ...


def save(tx: Writing, name: str, expected: int | None, batch: Batch, reset: bool = False) -> None:
    """Add `batch` to the course chunks and move the checkpoint, within `tx`.

    `expected` is the checkpoint the batch was read after; if another process
    moved it meanwhile, `CheckpointMoved` (the caller looks again). `reset`
    first clears the views (a rebuild's first page).
    """
    if tx.checkpoint(name) != expected:
        raise CheckpointMoved(name)
    if reset:
        tx.clear(name)
    known = tx.known(list(batch.streams))
    appends: list[ChunkRow] = []
    inserts: list[ChunkRow] = []
    courses: list[CourseRow] = []
    for stream, positions in batch.streams.items():
        if stream in known:
            course, size = known[stream]
        else:
            course, size = course_of(tx.first_state(stream)), 0
        for w in plan(size, positions):
            (appends if w.append else inserts).append(ChunkRow(course, w.chunk, w.positions))
        courses.append(CourseRow(course, stream, size + len(positions), positions[0]))
    tx.write(appends, inserts, courses)
    tx.track(name, batch.last)


def plan(size: int, positions: list[int]) -> list[Write]:
    """The chunk writes that add `positions` to a course holding `size` records."""
    writes = []
    done = 0
    total = len(positions)
    while done < total:
        offset = size % CHUNK
        take = min(CHUNK - offset, total - done)
        text = ",".join(map(str, positions[done : done + take])).encode()
        writes.append(Write(size // CHUNK, b"," + text if offset else text, append=offset != 0))
        size += take
        done += take
    return writes


def positions(rows: list[bytes]) -> list[int]:
    """The positions held by a course's chunk rows, in order."""
    return _positions.decode(b"[" + b",".join(map(bytes, rows)) + b"]") if rows else []


def records(positions: list[int], events: list[tuple[str, bytes]], student: str | None = None) -> list[Recorded]:
    """Records from a stream's events (type, stored envelope; versions 1, 2 …) and positions.

    With `student`, only course-wide events and those whose bytes name the
    student are decoded: a cheap superset of the student's share, which
    `projections.scope.share` then cuts exactly.
    """
    pairs = zip(positions, events, strict=True)
    if student is not None:
        needle = msgspec.json.encode(student)
        pairs = ((p, e) for p, e in pairs if e[0] in COURSE_WIDE or needle in e[1])
    kept = list(pairs)
    if not kept:
        return []
    try:
        envelopes = _envelopes.decode(b"[" + b",".join(bytes(e[1]) for _, e in kept) + b"]")
    except msgspec.DecodeError:  # one of them is not an envelope: name it
        envelopes = [decode_stored(bytes(e[1]), p) for p, e in kept]
    return [Recorded(e.id, p, e.recorded_at, e.recorded_by, e.event) for (p, _), e in zip(kept, envelopes, strict=True)]

"""The ledger's log beside eventsourcing's table: positions, ids, Merkle leaves.

Both stores write, in the same transaction as the events themselves:
- one log row per event: its position (1, 2, 3 … without gaps), its id, the
  stream and version it was stored under, and its Merkle leaf hash;
- the head: the log's size and the Merkle frontier, so the root is known
  without reading the log;
- the material keys that seal application material (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger import merkle
from ledger.leaves import leaf

# A log row as stored, for verification: position, event id (16 bytes), stream id
# (16 bytes), version, topic, state, leaf (None where the event row is missing).
RawRow = tuple[int, bytes, bytes, int, str | None, bytes | None, bytes]


class PositionTaken(IntegrityError):
    """A restore expected a position that another writer has taken."""


class LogRow(NamedTuple):
    """One row of the log joined with the event stored for it."""

    position: int
    event_id: UUID
    originator_id: UUID
    version: int
    topic: str
    state: bytes | None  # None when the event row is missing
    leaf: bytes


class Appended(NamedTuple):
    """What the log gains from one insert: rows to write and the new head."""

    rows: list[tuple[int, UUID, UUID, int, bytes]]
    size: int
    frontier: bytes


def extend(
    size: int,
    frontier_bytes: bytes | None,
    ids: Sequence[UUID],
    stored: Sequence[StoredEvent],
    first_position: int | None = None,
) -> Appended:
    """Give `stored` the next positions after `size` and fold their leaves into the frontier.

    A restore names the position it expects; if another writer took it, the
    whole insert fails (`PositionTaken`) and the import is decided again.
    """
    if first_position is not None and first_position != size + 1:
        raise PositionTaken(f"position {first_position} is taken; the log has {size} events")
    frontier = merkle.Frontier.from_bytes(frontier_bytes) if frontier_bytes else merkle.Frontier()
    streams: dict[object, tuple[UUID, bytes]] = {}  # a course's stream id, converted once
    rows = []
    for position, event_id, s in zip(range(size + 1, size + len(stored) + 1), ids, stored, strict=True):
        stream = streams.get(s.originator_id)
        if stream is None:
            oid = s.originator_id if isinstance(s.originator_id, UUID) else UUID(s.originator_id)
            stream = streams[s.originator_id] = (oid, oid.bytes)
        hashed = leaf(position, event_id.bytes, stream[1], s.originator_version, s.topic.encode(), s.state)
        rows.append((position, event_id, stream[0], s.originator_version, hashed))
    frontier.extend([row[4] for row in rows])
    return Appended(rows, size + len(stored), frontier.to_bytes())

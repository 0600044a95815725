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
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger import merkle

LEAF_FORMAT = 1


def leaf_data(
    position: int, event_id: UUID, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The bytes a Merkle leaf commits to: everything stored for one event."""
    name = topic.encode()
    return b"".join(
        (
            LEAF_FORMAT.to_bytes(1, "big"),
            position.to_bytes(8, "big"),
            event_id.bytes,
            originator_id.bytes,
            version.to_bytes(8, "big"),
            len(name).to_bytes(2, "big"),
            name,
            state,
        )
    )


@dataclass(frozen=True)
class LogRow:
    """One row of the log joined with the event stored for it."""

    position: int
    event_id: UUID
    originator_id: UUID
    version: int
    topic: str
    state: bytes
    leaf: bytes


@dataclass(frozen=True)
class Appended:
    """What the log gains from one insert: rows to write and the new head."""

    rows: list[tuple[int, UUID, UUID, int, bytes]]
    size: int
    frontier: bytes


def extend(
    size: int, frontier_bytes: bytes | None, ids: Sequence[UUID], stored: Sequence[StoredEvent]
) -> Appended:
    """Give `stored` the next positions after `size` and fold their leaves into the frontier."""
    frontier = merkle.Frontier.from_bytes(frontier_bytes) if frontier_bytes else merkle.Frontier()
    rows = []
    for offset, (event_id, s) in enumerate(zip(ids, stored, strict=True)):
        position = size + offset + 1
        originator_id = s.originator_id if isinstance(s.originator_id, UUID) else UUID(s.originator_id)
        leaf = merkle.leaf_hash(
            leaf_data(position, event_id, originator_id, s.originator_version, s.topic, s.state)
        )
        frontier.append(leaf)
        rows.append((position, event_id, originator_id, s.originator_version, leaf))
    return Appended(rows, size + len(stored), frontier.to_bytes())

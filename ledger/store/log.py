"""The ledger's log beside eventsourcing's table: positions, ids, Merkle leaves.

Both stores write, in the same transaction as the events themselves:
- one log row per event: its position (1, 2, 3 … without gaps), its id, the
  stream and version it was stored under, its Merkle leaf hash, and the salt
  the leaf commits to (ADR 18; none in rows of leaf format 1);
- the head: the log's size and the Merkle frontier, so the root is known
  without reading the log;
- the material keys that seal application material (SPEC §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger import merkle
from ledger.leaves import leaf, new_salts

if TYPE_CHECKING:
    from ledger.store.keyfile import KeyFile
    from ledger.store.locks import WriteLocks

# A log row as stored, for verification: position, event id (16 bytes), stream id
# (16 bytes), version, topic, state (topic and state None where the event row is
# missing), leaf, salt (None in a row of leaf format 1).
RawRow = tuple[int, bytes, bytes, int, str | None, bytes | None, bytes, bytes | None]


# A store made before ADR 18 has no salt column in its log.
UNSALTED_MESSAGE = (
    "this store's log keeps no salts (made before ADR 18): export its events with the subledger it was "
    "made with, and import them into a new store (the digest stays the same)"
)


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
    salt: bytes | None = None  # what the leaf commits to beside the event (None: leaf format 1)


@runtime_checkable
class LogStore(Protocol):
    """What the ledger reads and locks in either store: both stores' `LedgerRecorder` answer it."""

    @property
    def locks(self) -> WriteLocks:
        """The locks writers take turns by (ADR 18)."""
        ...

    @property
    def key_file(self) -> KeyFile | None:
        """Where the key-encryption keys are kept (ADR 9)."""
        ...

    def head(self) -> tuple[int, bytes | None]:
        """The log's size and its Merkle frontier."""
        ...

    def select_course(self, originator_id: UUID) -> list[tuple[int, bytes]]:
        """A course stream's events, as (position, state), in position order."""
        ...

    def select_courses(self) -> list[bytes]:
        """The state of each course's first event, in the order the courses were opened."""
        ...

    def select_log(self, after: int, limit: int) -> list[LogRow]:
        """Up to `limit` log rows after position `after`."""
        ...

    def select_raw(self, after: int, limit: int) -> list[RawRow]:
        """Up to `limit` log rows after `after`, as stored, for verification."""
        ...

    def select_leaves(self, after: int, limit: int) -> list[bytes]:
        """Up to `limit` Merkle leaves after `after`."""
        ...

    def select_by_id(self, event_id: UUID) -> LogRow | None:
        """The log row of one event id."""
        ...

    def select_streams(self, event_ids: Sequence[UUID]) -> dict[UUID, tuple[UUID, bytes | None]]:
        """The stream and leaf salt of each of `event_ids` the store holds."""
        ...

    def select_topics(self, topics: Sequence[str]) -> list[tuple[int, bytes]]:
        """Every event of these types, as (position, state)."""
        ...

    def select_keys(self, course: str) -> dict[tuple[str, str], bytes]:
        """The material keys of `course` that still exist, by (student, purpose)."""
        ...

    def select_wrapped(self) -> list[tuple[str, str, str, bytes, bytes]]:
        """Every row of the key table as stored: (course, student, purpose, KEK id, wrapped key)."""
        ...

    def kek_history(self) -> list[tuple[str, int, bytes]]:
        """Every KEK id the store ever named: (course, position, id)."""
        ...

    def count_events(self) -> int:
        """How many events eventsourcing's table holds."""
        ...


class Appended(NamedTuple):
    """What the log gains from one insert: rows to write and the new head."""

    rows: list[tuple[int, UUID, UUID, int, bytes, bytes | None]]  # position, id, stream, version, leaf, salt
    size: int
    frontier: bytes


def head_frontier(size: int, stored: bytes | None) -> merkle.Frontier:
    """The head's Merkle frontier as stored for a log of `size` events; `Damaged` when it is not one."""
    from ledger.errors import Damaged

    if not stored:
        if size:
            raise Damaged(f"the head claims {size} events but holds no Merkle frontier")
        return merkle.Frontier()
    try:
        found = merkle.Frontier.from_bytes(stored)
    except ValueError as error:
        raise Damaged(f"the head's Merkle frontier cannot be read ({error})") from None
    if found.size != size:
        raise Damaged(f"the head claims {size} events but its Merkle frontier holds {found.size}")
    return found


def extend(
    size: int,
    frontier_bytes: bytes | None,
    ids: Sequence[UUID],
    stored: Sequence[StoredEvent],
    first_position: int | None = None,
    salts: Sequence[bytes | None] | None = None,
) -> Appended:
    """Give `stored` the next positions after `size` and fold their leaves into the frontier.

    Each leaf commits to its event's salt (`salts`; fresh ones where none are
    given; None for an unsalted leaf of format 1, which only a restore of an
    old export asks for). The writer names the position it expects; if
    another writer took it, the whole insert fails (`PositionTaken`) and the
    append is decided again.
    """
    if first_position is not None and first_position != size + 1:
        raise PositionTaken(f"position {first_position} is taken; the log has {size} events")
    frontier = head_frontier(size, frontier_bytes)
    streams: dict[object, tuple[UUID, bytes]] = {}  # a course's stream id, converted once
    if salts is None:
        salts = new_salts(len(stored))
    rows = []
    for position, event_id, s, salt in zip(range(size + 1, size + len(stored) + 1), ids, stored, salts, strict=True):
        stream = streams.get(s.originator_id)
        if stream is None:
            oid = s.originator_id if isinstance(s.originator_id, UUID) else UUID(s.originator_id)
            stream = streams[s.originator_id] = (oid, oid.bytes)
        hashed = leaf(position, event_id.bytes, stream[1], s.originator_version, s.topic.encode(), s.state, salt)
        rows.append((position, event_id, stream[0], s.originator_version, hashed, salt))
    frontier.extend([row[4] for row in rows])
    return Appended(rows, size + len(stored), frontier.to_bytes())

"""What a Merkle leaf of the ledger commits to: every byte stored for one event.

The store computes each leaf when it appends, `verify` recomputes them from the
stored rows, and a receipt's verifier recomputes one from what the receipt
carries, offline. All three use these functions, and so agree by construction.
This module needs neither the store nor eventsourcing, so that checking a
receipt imports neither.

Leaf data, format 1 (big-endian):
    0x01 ‖ position (8) ‖ event id (16) ‖ stream id (16) ‖ version (8)
         ‖ topic length (2) ‖ topic (UTF-8) ‖ stored state
and the leaf hash is RFC 9162's SHA-256(0x00 ‖ leaf data).
"""

from __future__ import annotations

import struct
from hashlib import sha256
from uuid import UUID

LEAF_FORMAT = 1


def leaf_data(
    position: int, event_id: UUID, originator_id: UUID, version: int, topic: str, state: bytes
) -> bytes:
    """The bytes a Merkle leaf commits to: everything stored for one event (format 1)."""
    return _joined(_FORMAT, position, event_id.bytes, originator_id.bytes, version, topic.encode(), state)


def leaf(position: int, event_id: bytes, originator_id: bytes, version: int, topic: bytes, state: bytes) -> bytes:
    """The leaf hash of one stored event: RFC 9162's SHA-256(0x00 ‖ leaf data), in one pass."""
    return sha256(_joined(_LEAF_PREFIX, position, event_id, originator_id, version, topic, state)).digest()


def _joined(
    head: bytes, position: int, event_id: bytes, originator_id: bytes, version: int, topic: bytes, state: bytes
) -> bytes:
    # One struct call packs the fixed-width fields: this runs once per appended event.
    return b"".join(
        (
            head,
            _FIXED.pack(position, event_id, originator_id, version, len(topic)),
            topic,
            state,
        )
    )


_FORMAT = LEAF_FORMAT.to_bytes(1, "big")
_LEAF_PREFIX = b"\x00" + _FORMAT  # RFC 9162's leaf prefix, then the format byte
# position, event id, stream id, version, topic length: the fixed-width fields, big-endian
_FIXED = struct.Struct(">Q16s16sQH")

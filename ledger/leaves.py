"""What a Merkle leaf of the ledger commits to: every byte stored for one event, and its salt.

The store computes each leaf when it appends, `verify` recomputes them from the
stored rows, and a receipt's verifier recomputes one from what the receipt
carries, offline. All three use these functions, and so agree by construction.
This module needs neither the store nor eventsourcing, so that checking a
receipt imports neither.

Leaf data, format 2 (big-endian), what the store writes (ADR 18):
    0x02 ‖ position (8) ‖ event id (16) ‖ stream id (16) ‖ version (8)
         ‖ salt (16) ‖ topic length (2) ‖ topic (UTF-8) ‖ stored state
The salt is 16 random bytes per event, kept in its log row: a leaf hash then
confirms no guess of the event's content without the salt, so the hashes of
neighbours in a receipt's proof reveal nothing about them.

Format 1, without a salt, is what stores wrote before; a restore of an export
made then (its lines carry no salt) writes format 1 again, so its digest stays
the same. The format byte separates the two: no leaf of one format is a leaf of
the other.
    0x01 ‖ position (8) ‖ event id (16) ‖ stream id (16) ‖ version (8)
         ‖ topic length (2) ‖ topic (UTF-8) ‖ stored state

The leaf hash is RFC 9162's SHA-256(0x00 ‖ leaf data).
"""

from __future__ import annotations

import os
import struct
from hashlib import sha256
from uuid import UUID

LEAF_FORMAT = 2  # the format the store writes
FORMATS = (1, 2)  # the formats a log may hold: 1 unsalted (older stores and their restores), 2 salted
SALT_SIZE = 16


def new_salts(count: int) -> list[bytes]:
    """Fresh salts for `count` events' leaves (one call for the randomness of them all)."""
    pool = os.urandom(SALT_SIZE * count)
    return [pool[i : i + SALT_SIZE] for i in range(0, SALT_SIZE * count, SALT_SIZE)]


def format_of(salt: bytes | None) -> int:
    """The leaf format of an event with `salt` (None: format 1, unsalted)."""
    return 1 if salt is None else 2


def leaf_data(
    position: int, event_id: UUID, originator_id: UUID, version: int, topic: str, state: bytes, salt: bytes | None = None
) -> bytes:
    """The bytes a Merkle leaf commits to: everything stored for one event (format 2 with a salt, else 1)."""
    head = _FORMAT_1 if salt is None else _FORMAT_2
    return _joined(head, position, event_id.bytes, originator_id.bytes, version, topic.encode(), state, salt)


def leaf(
    position: int, event_id: bytes, originator_id: bytes, version: int, topic: bytes, state: bytes, salt: bytes | None = None
) -> bytes:
    """The leaf hash of one stored event: RFC 9162's SHA-256(0x00 ‖ leaf data), in one pass."""
    head = _PREFIX_1 if salt is None else _PREFIX_2
    return sha256(_joined(head, position, event_id, originator_id, version, topic, state, salt)).digest()


def _joined(
    head: bytes, position: int, event_id: bytes, originator_id: bytes, version: int, topic: bytes, state: bytes,
    salt: bytes | None,
) -> bytes:  # fmt: skip
    # One struct call packs the fixed-width fields: this runs once per appended event.
    if salt is None:
        fixed = _FIXED_1.pack(position, event_id, originator_id, version, len(topic))
    elif len(salt) != SALT_SIZE:
        raise ValueError(f"a leaf's salt is {SALT_SIZE} bytes, not {len(salt)}")
    else:
        fixed = _FIXED_2.pack(position, event_id, originator_id, version, salt, len(topic))
    return b"".join((head, fixed, topic, state))


_FORMAT_1, _FORMAT_2 = b"\x01", b"\x02"
_PREFIX_1, _PREFIX_2 = b"\x00" + _FORMAT_1, b"\x00" + _FORMAT_2  # RFC 9162's leaf prefix, then the format byte
# position, event id, stream id, version, [salt,] topic length: the fixed-width fields, big-endian
_FIXED_1 = struct.Struct(">Q16s16sQH")
_FIXED_2 = struct.Struct(">Q16s16sQ16sH")

"""Application material sealed with per-student keys, so that it can be erased.

The events never change; the keys are held apart from them and destroyed on
erasure, after which the sealed text cannot be read by anyone (crypto-shredding).
Two keys per applicant: `identity` seals name and email (kept for participants),
`statement` seals the statement (destroyed for everyone).

What is sealed depends on the field, never on what its text looks like: every
`name`, `email` and `statement` is sealed, also text that happens to start
with `sealed:v1:`. The one exception is a restore line whose key for a field
was destroyed: that field already holds the stored token, and is kept as it is.

Sealing is deterministic for a given key, event id and field (the nonce is
derived from them), so restoring an export with its keys reproduces the stored
bytes exactly and the Merkle root with them. A key seals each (id, field) once,
so a nonce is never reused for different text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable
from uuid import UUID

import msgspec

from ledger import events as ev
from ledger.course import Course

PREFIX = "sealed:v1:"
ERASED = "[erased]"
UNREADABLE = "[unreadable]"
IDENTITY, STATEMENT = "identity", "statement"
FIELDS = {"name": IDENTITY, "email": IDENTITY, "statement": STATEMENT}
PURPOSES = (IDENTITY, STATEMENT)
KEY_SIZE = 32
_NONCE, _TAG = 12, 16


def by_student(keys: dict[tuple[str, str], bytes]) -> dict[str, dict[str, bytes]]:
    """A course's keys as the store lists them, (student, purpose) → key, grouped by student."""
    grouped: dict[str, dict[str, bytes]] = {}
    for (student, purpose), key in keys.items():
        grouped.setdefault(student, {})[purpose] = key
    return grouped


def new_key() -> bytes:
    """A fresh 256-bit key."""
    return os.urandom(KEY_SIZE)


def _nonce(key: bytes, event_id: UUID, field: str) -> bytes:
    return hmac.new(key, event_id.bytes + field.encode(), hashlib.sha256).digest()[:12]


def seal(key: bytes, event_id: UUID, field: str, text: str) -> str:
    """`text` sealed with AES-256-GCM under `key`, as a printable token."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = _nonce(key, event_id, field)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), event_id.bytes + field.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, event_id: UUID, field: str, token: str) -> str:
    """The text of a token made by `seal` (raises if it was altered)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
    plain = AESGCM(key).decrypt(raw[:12], raw[12:], event_id.bytes + field.encode())
    return plain.decode()


def opens(key: bytes, event_id: UUID, field: str, token: str) -> bool:
    """Whether `key` opens `token`, the sealed `field` of event `event_id`."""
    from cryptography.exceptions import InvalidTag

    try:
        unseal(key, event_id, field, token)
    except (InvalidTag, ValueError):  # altered, or not a token at all
        return False
    return True


def _unseal_or_mark(key: bytes | None, event_id: UUID, field: str, token: str) -> str:
    """The text, `[erased]` without a key, `[unreadable]` if the token does not open."""
    if key is None:
        return ERASED
    from cryptography.exceptions import InvalidTag

    try:
        return unseal(key, event_id, field, token)
    except (InvalidTag, ValueError):  # altered, or not a token at all
        return UNREADABLE


def is_sealed(value: str) -> bool:
    """Whether `value` is a well-formed token (to check a restore line; sealing never asks)."""
    if not value.startswith(PREFIX):
        return False
    try:
        raw = base64.urlsafe_b64decode(value[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return len(raw) >= _NONCE + _TAG


def seal_application(
    event: ev.ApplicationSubmitted,
    event_id: UUID,
    keys: dict[str, bytes],
    already_sealed: Iterable[str] = (),
) -> ev.ApplicationSubmitted:
    """The application with every material field sealed under `keys` (by purpose).

    `already_sealed` names fields that hold their stored token already (a
    restore line whose key was destroyed); they are kept as they are.
    """
    kept = set(already_sealed)
    changes = {
        field: seal(keys[purpose], event_id, field, getattr(event, field))
        for field, purpose in FIELDS.items()
        if field not in kept
    }
    return msgspec.structs.replace(event, **changes)


def open_application(
    event: ev.ApplicationSubmitted,
    event_id: UUID,
    keys: dict[str, bytes],
    keep_sealed: bool = False,
) -> ev.ApplicationSubmitted:
    """A stored (sealed) application with its material readable where its key exists.

    Where the key is gone, the field reads `[erased]`, or keeps its sealed token
    with `keep_sealed` (an export that must restore to the same bytes).
    """
    changes = {}
    for field, purpose in FIELDS.items():
        key = keys.get(purpose)
        if key is None and keep_sealed:
            continue
        changes[field] = _unseal_or_mark(key, event_id, field, getattr(event, field))
    return msgspec.structs.replace(event, **changes)


def destroyed(course: Course, erasure: ev.ApplicationMaterialErased) -> list[tuple[str, str]]:
    """The keys an erasure destroys, as (student, purpose), judged on `course` as it stood then.

    Every statement; name and email of those never admitted.
    """
    gone = []
    for student in erasure.students:
        gone.append((student, STATEMENT))
        application = course.applications.get(student)
        if application is None or application.accepted is None:
            gone.append((student, IDENTITY))
    return gone

"""Material keys in the store: wrapped under their course's key-encryption key (ADR 9).

Both stores keep, beside the events and in the same transaction:
- `material_keys(course, student, purpose, kek, wrapped)`: each data key that
  seals an applicant's material, wrapped (AES-256-GCM) under a KEK of the
  course; the wrapping is bound to course, student, purpose and KEK id, so a
  row moved to another applicant does not open;
- `material_keks(course, position, kek)`: the ids of the course's KEKs, each
  with the position of the event that made it (the first application, or an
  erasure). The one with the greatest position is current.

Both tables are only ever inserted into. An erasure makes a new KEK, wraps
the surviving keys under it, and leaves the destroyed ones out; once the
transaction commits, the old KEK is destroyed in the key file, and every row
wrapped under it — in the table, in free pages, in the write-ahead log — is
noise. Raw data keys never reach the store's files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol, TypeVar, runtime_checkable

from eventsourcing.utils import Environment

from ledger.errors import StoreError
from ledger.store import KEY_FILE_ENV as _KEY_FILE_ENV
from ledger.store.append import Cursor, Dialect
from ledger.store.keyfile import KeyFile

_NONCE = 12
R = TypeVar("R")
RAW_KEYS_MESSAGE = (
    "this store keeps application material keys unwrapped (made before ADR 9): export its events "
    "with the subledger it was made with, and import them into a new store"
)


# (Plain classes, not NamedTuples or dataclasses: this module is imported by every cold start.)


class NewKey:
    """A data key an event made: for `student`'s material of `purpose`, at `position`."""

    __slots__ = ("course", "key", "position", "purpose", "student")

    def __init__(self, course: str, position: int, student: str, purpose: str, key: bytes) -> None:
        self.course, self.position, self.student, self.purpose, self.key = course, position, student, purpose, key


class Destroyed:
    """The data keys an erasure at `position` destroys, as (student, purpose)."""

    __slots__ = ("course", "keys", "position")

    def __init__(self, course: str, position: int, keys: tuple[tuple[str, str], ...]) -> None:
        self.course, self.position, self.keys = course, position, keys


Change = NewKey | Destroyed


def _aad(course: str, student: str, purpose: str, kek_id: bytes) -> bytes:
    return b"\0".join((b"subledger-key-v1", course.encode(), student.encode(), purpose.encode(), kek_id))


class Wrapping:
    """Wraps and unwraps the data keys of one course under one KEK (AES-256-GCM, made once)."""

    def __init__(self, course: str, kek_id: bytes, kek: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.course, self.kek_id, self._cipher = course, kek_id, AESGCM(kek)

    def wrap(self, student: str, purpose: str, key: bytes) -> bytes:
        """`key` wrapped for this row: nonce ‖ ciphertext and tag, bound to course, student, purpose, KEK."""
        import os

        nonce = os.urandom(_NONCE)
        return nonce + self._cipher.encrypt(nonce, key, _aad(self.course, student, purpose, self.kek_id))

    def unwrap(self, student: str, purpose: str, wrapped: bytes) -> bytes | None:
        """The key wrapped in a row, or None if the row does not open (altered, or moved from another row)."""
        from cryptography.exceptions import InvalidTag

        try:
            aad = _aad(self.course, student, purpose, self.kek_id)
            return self._cipher.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], aad)
        except (InvalidTag, ValueError):
            return None


def wrap(kek: bytes, kek_id: bytes, course: str, student: str, purpose: str, key: bytes) -> bytes:
    """`key` wrapped under `kek` for one row (see `Wrapping`)."""
    return Wrapping(course, kek_id, kek).wrap(student, purpose, key)


def unwrap(kek: bytes, kek_id: bytes, course: str, student: str, purpose: str, wrapped: bytes) -> bytes | None:
    """The key in one row wrapped under `kek`, or None if it does not open (see `Wrapping`)."""
    return Wrapping(course, kek_id, kek).unwrap(student, purpose, wrapped)


# -- reading ------------------------------------------------------------------------


def current_kek(cursor: Cursor, dialect: Dialect, course: str) -> bytes | None:
    """The id of the course's current KEK (None: no material was ever sealed in it)."""
    cursor.execute(
        dialect.sql("SELECT kek FROM material_keks WHERE course = ? ORDER BY position DESC LIMIT 1"), (course,)
    )
    row = cursor.fetchone()
    return bytes(row["kek"]) if row else None


def kek_history(cursor: Cursor) -> list[tuple[str, int, bytes]]:
    """Every KEK the store ever named: (course, position, id), in position order per course."""
    cursor.execute("SELECT course, position, kek FROM material_keks ORDER BY course, position")
    return [(r["course"], r["position"], bytes(r["kek"])) for r in cursor.fetchall()]


def replaced_keks(history: Sequence[tuple[str, int, bytes]]) -> set[bytes]:
    """The KEK ids of `history` that a later one of the same course replaced."""
    latest: dict[str, bytes] = {}
    every: set[bytes] = set()
    for course, _, kek_id in history:
        latest[course] = kek_id
        every.add(kek_id)
    return every - set(latest.values())


def wrapped_rows(cursor: Cursor, dialect: Dialect, course: str, kek_id: bytes) -> list[tuple[str, str, bytes]]:
    """The rows of `course` wrapped under `kek_id`: (student, purpose, wrapped)."""
    cursor.execute(
        dialect.sql("SELECT student, purpose, wrapped FROM material_keys WHERE course = ? AND kek = ?"),
        (course, kek_id),
    )
    return [(r["student"], r["purpose"], bytes(r["wrapped"])) for r in cursor.fetchall()]


def kek_of(key_file: KeyFile, course: str, kek_id: bytes) -> bytes:
    """The KEK `kek_id` of `course` from the key file; a StoreError naming the file if it lacks it."""
    kek = key_file.get(kek_id)
    if kek is None:
        raise StoreError(
            f"the key file {key_file.path!r} lacks the key-encryption key of {course} ({kek_id.hex()}): "
            f"use the store's own key file ({_KEY_FILE_ENV})"
        )
    return kek


@runtime_checkable
class KeyHolder(Protocol):
    """A recorder that keeps material keys: the ledger's, on either store."""

    key_file: KeyFile | None


def with_key_file(recorder: R, env: Environment) -> R:
    """`recorder` given the key file its environment names (SUBLEDGER_KEY_FILE, set by `store_env`)."""
    path = env.get(_KEY_FILE_ENV)
    if path and isinstance(recorder, KeyHolder):
        recorder.key_file = KeyFile(path)
    return recorder


def required(key_file: KeyFile | None) -> KeyFile:
    """The recorder's key file; a store opened without one cannot open material."""
    if key_file is None:
        raise StoreError(f"this store was opened without a key file (set {_KEY_FILE_ENV})")
    return key_file


def all_rows(cursor: Cursor) -> list[tuple[str, str, str, bytes, bytes]]:
    """Every row of the key table as stored: (course, student, purpose, KEK id, wrapped key)."""
    cursor.execute("SELECT course, student, purpose, kek, wrapped FROM material_keys ORDER BY course, student, purpose")
    return [(r["course"], r["student"], r["purpose"], bytes(r["kek"]), bytes(r["wrapped"])) for r in cursor.fetchall()]


def select(cursor: Cursor, dialect: Dialect, key_file: KeyFile, course: str) -> dict[tuple[str, str], bytes]:
    """The data keys of `course` that still exist, by (student, purpose); rows that do not open are left out."""
    kek_id = current_kek(cursor, dialect, course)
    if kek_id is None:
        return {}
    wrapping = Wrapping(course, kek_id, kek_of(key_file, course, kek_id))
    keys = {}
    for student, purpose, wrapped in wrapped_rows(cursor, dialect, course, kek_id):
        key = wrapping.unwrap(student, purpose, wrapped)
        if key is not None:
            keys[(student, purpose)] = key
    return keys


# -- writing ------------------------------------------------------------------------


class KeyWrite:
    """The key changes of one insert, written inside its transaction (`write`), KEKs around it."""

    def __init__(self, key_file: KeyFile | None, changes: Sequence[Change]) -> None:
        self.key_file = key_file
        self.changes = changes
        self.made: list[bytes] = []  # KEKs added to the key file
        self.replaced: list[bytes] = []  # KEKs to destroy once committed
        self.written = False  # the transaction's work is done: only its commit is left

    def write(self, cursor: Cursor, dialect: Dialect) -> None:
        """Insert the rows and KEK ids the changes need; call it last in the transaction."""
        if self.changes:
            assert self.key_file is not None
            plans = [self._plan(cursor, dialect, course, ops) for course, ops in _by_course(self.changes).items()]
            fresh = iter(self.key_file.add(sum(1 for p in plans if p.position is not None)))  # one fsync
            for plan in plans:
                self._apply(cursor, dialect, plan, fresh)
        self.written = True

    def _plan(self, cursor: Cursor, dialect: Dialect, course: str, ops: list[Change]) -> _Plan:
        """What one course's changes come to: its keys to write, and whether it needs a new KEK."""
        assert self.key_file is not None
        current = current_kek(cursor, dialect, course)
        erasures = [op for op in ops if isinstance(op, Destroyed)]
        live: dict[tuple[str, str], bytes] = {}
        if erasures and current is not None:
            old = Wrapping(course, current, kek_of(self.key_file, course, current))
            for student, purpose, wrapped in wrapped_rows(cursor, dialect, course, current):
                key = old.unwrap(student, purpose, wrapped)
                if key is not None:  # a row that does not open protects nothing; verify reports it
                    live[(student, purpose)] = key
        for op in ops:
            if isinstance(op, NewKey):
                live[(op.student, op.purpose)] = op.key
            else:
                for gone in op.keys:
                    live.pop(gone, None)
        if (not erasures and current is not None) or (not live and current is None):
            return _Plan(course, current, live, None)  # the current KEK serves; or nothing was ever sealed
        return _Plan(course, current, live, erasures[-1].position if erasures else ops[0].position)

    def _apply(self, cursor: Cursor, dialect: Dialect, plan: _Plan, fresh: Iterator[tuple[bytes, bytes]]) -> None:
        assert self.key_file is not None
        if plan.position is None:
            if plan.current is None:
                return
            wrapping = Wrapping(plan.course, plan.current, kek_of(self.key_file, plan.course, plan.current))
        else:
            kek_id, kek = next(fresh)
            self.made.append(kek_id)
            wrapping = Wrapping(plan.course, kek_id, kek)
            cursor.execute(
                dialect.sql("INSERT INTO material_keks (course, position, kek) VALUES (?, ?, ?)"),
                (plan.course, plan.position, kek_id),
            )
            if plan.current is not None:
                self.replaced.append(plan.current)
        cursor.executemany(
            dialect.sql("INSERT INTO material_keys (course, student, purpose, kek, wrapped) VALUES (?, ?, ?, ?, ?)"),
            [
                (plan.course, student, purpose, wrapping.kek_id, wrapping.wrap(student, purpose, key))
                for (student, purpose), key in plan.live.items()
            ],
        )


class _Plan:
    """What one course's key changes come to."""

    __slots__ = ("course", "current", "live", "position")

    def __init__(
        self, course: str, current: bytes | None, live: dict[tuple[str, str], bytes], position: int | None
    ) -> None:
        self.course = course
        self.current = current  # the course's KEK before this insert
        self.live = live  # the keys to write
        self.position = position  # where a new KEK comes from (None: no new KEK)


def _by_course(changes: Sequence[Change]) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for change in changes:
        grouped.setdefault(change.course, []).append(change)
    return grouped


@contextmanager
def guarded(
    key_file: KeyFile | None, changes: Sequence[Change], history: Callable[[], list[tuple[str, int, bytes]]]
) -> Iterator[KeyWrite]:
    """Run an insert's transaction inside the key file's lock, in two phases around it.

    Before the commit, new KEKs are on disk (`KeyFile.add`); after it, the KEKs
    an erasure replaced are destroyed. If the transaction fails before its
    commit, the KEKs it made are destroyed again (nothing uses them); if the
    commit itself fails, they are left (harmless: the store may or may not name
    them, and a KEK it never names protects nothing).
    """
    job = KeyWrite(key_file, changes)
    if not changes:
        yield job
        return
    with required(key_file).locked():
        assert key_file is not None
        finish_destruction(key_file, history())
        try:
            yield job
        except BaseException:
            if not job.written:
                key_file.destroy(job.made)
            raise
        try:
            key_file.destroy(job.replaced)
        except (StoreError, OSError) as error:
            raise StoreError(
                f"the erasure is recorded, but its old key-encryption key is not yet destroyed ({error}); "
                "any later erasure, import of applications or `subledger verify` finishes it"
            ) from None


def finish_destruction(key_file: KeyFile, history: Sequence[tuple[str, int, bytes]]) -> list[bytes]:
    """Destroy the KEKs of the key file that the store replaced (an erasure cut short); return their ids."""
    live, _ = key_file.read()
    stale = sorted(replaced_keks(history) & set(live))
    key_file.destroy(stale)
    return stale

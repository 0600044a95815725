"""Proof that the ledger was only ever appended to (SPEC §6).

`verify` trusts nothing the store says about itself: it recomputes every leaf
from the stored bytes, checks the positions run 1, 2, 3 … without gaps, that no
event sits outside the log, that the recomputed root is the one the store
recorded, and — given an auditor's checkpoint — that a consistency proof
(RFC 9162 §2.1.4) leads from the checkpoint's root to today's. In the same
pass it takes the append path's decisions again on every event
(`ledger.replay`): an event the rules refuse, a clock that runs backwards or
an event in another course's stream is found, even when written with the
store's own insert path behind the program's back.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger import merkle
from ledger.bulk import paused_gc
from ledger.checkpoint import Checkpoint, Receipt
from ledger.errors import Damaged, LedgerError, Refused, StoreError
from ledger.leaves import format_of, leaf
from ledger.replay import Replay
from ledger.store import log
from ledger.store.log import LogRow, RawRow

ORIGIN_PREFIX = "subledger/"
PAGE = 20_000
# From how many events `verify` takes the rules again in a second process (below, starting it costs more).
BESIDE_FROM = 100_000


class NotInLog(LedgerError):
    """A receipt was asked for an event the log does not hold."""


@dataclass(frozen=True)
class Verification:
    """What `verify` found: the log it checked, and the first problem if any."""

    origin: str
    size: int
    root: bytes
    bad_position: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problem


def origin_of(first_event_id: Any) -> str:
    """The name of a ledger: fixed by its first event, so no two ledgers share it."""
    return f"{ORIGIN_PREFIX}{first_event_id}" if first_event_id else f"{ORIGIN_PREFIX}empty"


def checkpoint(ledger: Any) -> Checkpoint:
    """The ledger's checkpoint as the store records it (size and root from the head)."""
    size, frontier = ledger.head()
    root = log.head_frontier(size, frontier).root()
    return Checkpoint(_origin(ledger), size, root)


def _origin(ledger: Any) -> str:
    first = ledger.recorder.select_log(0, 1)
    return origin_of(first[0].event_id if first else None)


def stored_rows(ledger: Any) -> Iterator[RawRow]:
    """Every log row with what is stored for its event, in position order, a page at a time."""
    after = 0
    while True:
        rows = ledger.recorder.select_raw(after, PAGE)
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def recompute_leaf(row: LogRow) -> bytes:
    """The leaf hash of a log row, from the bytes stored for its event and its salt."""
    assert row.state is not None and row.topic is not None
    return leaf(
        row.position, row.event_id.bytes, row.originator_id.bytes, row.version, row.topic.encode(), row.state, row.salt
    )


def verify(
    ledger: Any,
    trusted: Checkpoint | None = None,
    progress: Callable[[int, int], None] | None = None,
    rules: bool = True,
) -> Verification:
    """Check the whole log; name the first bad position if there is one.

    `progress(done, total)` is told how many leaves are checked, a page at a time.
    Without `rules`, the log alone is checked, not the events in it (a recorder
    holding other payloads than subledger's, as its contract tests write).
    From `BESIDE_FROM` events on, the rules are taken again in a second process
    beside the leaves (`replay.beside`); the first problem by position is the same.
    """
    leaves: list[bytes] = []
    size_now = ledger.head()[0]
    claimed = size_now if progress is not None else 0
    # The append path's decisions, taken again (a checkpoint proves its positions' clock as a restore's does).
    proven = trusted.size if trusted is not None else 0
    side = beside(ledger, proven, size_now) if rules and size_now >= BESIDE_FROM and not ledger.unborn else None
    replay = Replay(proven) if rules and side is None else None
    with paused_gc():  # the replay keeps every course's records: nothing for the collector to free
        origin, problem, bad = _walk(ledger, leaves, replay, progress, claimed)
    if side is not None:
        replayed, at = side.result()
        if replayed and at is not None and (bad is None or at < bad):  # at one position, the leaf's problem first
            problem, bad = replayed, at
            del leaves[at - 1 :]  # as the walk that replays stops there
    if progress is not None:
        progress(len(leaves), max(claimed, len(leaves)))
    root = merkle.root(leaves)
    size = len(leaves)
    if not problem:
        problem, bad = _check_head(ledger, size, root)
    if not problem:
        stray = ledger.recorder.count_events() - size
        if stray:
            problem, bad = f"{stray} event(s) in the store are not in the log", size + 1
    if not problem and trusted is not None:
        problem, bad = _check_extends(trusted, origin, leaves, root)
    return Verification(origin, size, root, bad, problem)


def replayed(ledger: Any, proven: int, upto: int) -> tuple[str, int | None]:
    """The first problem the append path's decisions find in the stored log up to `upto`, and its position."""
    replay = Replay(proven)
    for position, _, stream, version, _, state, _, _ in stored_rows(ledger):
        if position > upto or state is None:  # what lies beyond, or is missing, the leaves' walk names
            break
        problem = replay.take(position, stream, version, state)
        if problem:
            return problem, position
    return "", None


@dataclass
class Beside:
    """The rules taken again in a second process (`python -m ledger.replay_beside`) while this one checks the leaves."""

    process: subprocess.Popen[bytes]
    ledger: Any
    proven: int
    upto: int

    def result(self) -> tuple[str, int | None]:
        """What the second process found; taken here instead if it could not say."""
        assert self.process.stdout is not None
        with self.process.stdout:
            out = self.process.stdout.read()
        if self.process.wait() == 0:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                found = json.loads(out)
                return str(found["problem"]), found["position"]
        with paused_gc():
            return replayed(self.ledger, self.proven, self.upto)


def beside(ledger: Any, proven: int, upto: int) -> Beside | None:
    """Start taking the rules again on `ledger`'s store in a second process (None if it cannot start).

    The store is named on its standard input, never on its command line, where
    anyone could read a password.
    """
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ledger.replay_beside"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    assert process.stdin is not None
    try:
        process.stdin.write(json.dumps({"store": ledger.store, "proven": proven, "upto": upto}).encode())
        process.stdin.close()
    except OSError:
        pass  # it ended early: `result` takes the rules here
    return Beside(process, ledger, proven, upto)


def _walk(
    ledger: Any, leaves: list[bytes], replay: Replay | None, progress: Callable[[int, int], None] | None, claimed: int
) -> tuple[str, str, int | None]:
    """One pass over the log: each leaf recomputed into `leaves`, each event replayed; the origin, and the first problem."""
    origin = origin_of(None)
    for position, event_id, stream, version, topic, state, stored_leaf, salt in stored_rows(ledger):
        expected = len(leaves) + 1
        if progress is not None and expected % PAGE == 0:
            progress(expected, max(claimed, expected))
        if position != expected:
            return origin, f"position {expected} is missing from the log", expected
        if expected == 1:
            origin = origin_of(UUID(bytes=event_id))
        if state is None or topic is None:
            return origin, f"the event at position {expected} is missing", expected
        try:
            recomputed = leaf(position, event_id, stream, version, topic.encode(), state, salt)
        except ValueError:  # a salt of the wrong size: no writer stores one
            recomputed = b""
        if recomputed != stored_leaf:
            return origin, f"the event at position {expected} was altered", expected
        if replay is not None:
            problem = replay.take(position, stream, version, state)
            if problem:
                return origin, problem, expected
        leaves.append(recomputed)
    return origin, "", None


def _check_head(ledger: Any, size: int, root: bytes) -> tuple[str, int | None]:
    head_size, frontier = ledger.head()
    if head_size != size:
        return f"the store claims {head_size} events but the log holds {size}", min(head_size, size) + 1
    try:
        recorded = log.head_frontier(head_size, frontier).root()
    except Damaged as damaged:
        return damaged.detail, None
    if recorded != root:
        return "the root recorded in the store does not match the events", None
    return "", None


def _check_extends(
    trusted: Checkpoint, origin: str, leaves: list[bytes], root: bytes
) -> tuple[str, int | None]:
    if trusted.origin != origin:
        return f"the checkpoint is of ledger {trusted.origin}, this is {origin}", None
    if trusted.size > len(leaves):
        return (
            f"the log holds {len(leaves)} events, fewer than the checkpoint's {trusted.size}",
            len(leaves) + 1,
        )
    proof = merkle.consistency_proof(leaves, trusted.size, len(leaves))
    if not merkle.verify_consistency(trusted.size, len(leaves), trusted.root, root, proof):
        return (
            f"the log does not extend the checkpoint of {trusted.size} events: "
            "an event at or before that size was changed",
            None,  # a checkpoint holds only a root: it cannot say which leaf changed
        )
    return "", None


def check_restore(
    expected: Checkpoint, ids: Sequence[UUID], stored: Sequence[StoredEvent], salts: Sequence[bytes | None]
) -> None:
    """`Refused` unless a restore of `stored` into an empty store extends the checkpoint `expected`.

    The leaves are those the store will write (the very function it uses, with
    the salts the export carries), so what is checked here is what would be
    committed.
    """
    leaves = [row[4] for row in log.extend(0, None, ids, stored, salts=salts).rows]
    origin = origin_of(ids[0] if ids else None)
    if expected.origin != origin:
        raise Refused("restore-checkpoint", f"the checkpoint is of ledger {expected.origin}, this restore is {origin}")
    if expected.size > len(leaves):
        raise Refused(
            "restore-checkpoint", f"the restore holds {len(leaves)} events, fewer than the checkpoint's {expected.size}"
        )
    if merkle.root(leaves[: expected.size]) != expected.root:
        raise Refused(
            "restore-checkpoint",
            f"the first {expected.size} events of the restore are not the checkpoint's: "
            "an event was changed, added, dropped or moved",
        )


def receipt(ledger: Any, event_id: UUID, size: int | None = None) -> Receipt:
    """One event as stored, with an inclusion proof in the log of `size` events (default: all).

    Of the other events only their leaf hashes are read: the proof needs nothing else.
    """
    row = ledger.recorder.select_by_id(event_id)
    if row is None:
        raise NotInLog(f"no event {event_id} in the log")
    if row.state is None:
        raise StoreError(f"the event at position {row.position} is missing from the store: run verify")
    try:
        sound = recompute_leaf(row) == row.leaf
    except ValueError:  # a salt of the wrong size
        sound = False
    if not sound:
        # A receipt for altered bytes could never verify; say where the trouble is.
        raise StoreError(f"the event at position {row.position} was altered: run verify")
    held = ledger.head()[0] if size is None else size
    leaves = _leaves(ledger, held)
    size = len(leaves) if size is None else size
    if not row.position <= size <= len(leaves):
        raise NotInLog(f"event {event_id} is at position {row.position}, outside a log of {size}")
    return Receipt(
        origin=_origin(ledger),
        size=size,
        index=row.position - 1,
        position=row.position,
        event_id=row.event_id,
        stream=row.originator_id,
        version=row.version,
        topic=row.topic,
        stored=row.state,
        content_hash=sha256(row.state).digest(),
        leaf=row.leaf,
        proof=merkle.inclusion_proof(leaves, row.position - 1, size),
        salt=row.salt,
        leaf_format=format_of(row.salt),
    )


def _leaves(ledger: Any, size: int) -> list[bytes]:
    """The first `size` leaf hashes of the log (fewer if it holds fewer), a page at a time."""
    leaves: list[bytes] = []
    while len(leaves) < size:
        page = ledger.recorder.select_leaves(len(leaves), min(PAGE * 5, size - len(leaves)))
        if not page:
            break
        leaves.extend(page)
    return leaves

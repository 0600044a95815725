"""The ledger application: load a course, check the rules, append, retry on conflict.

Each course offering is one eventsourcing stream (a small aggregate: its size is
bounded by the course, not by the store). Writers take turns (ADR 18): an
append holds its courses' locks from reading them to its commit, so it decides
on a state no other writer changes meanwhile, and holds the log's lock only
while it takes its positions and its time from the store's clock and writes.
The inserts still name the stream version and position they expect: a writer
that took no lock (an older subledger) is caught there, and the append is
decided again on fresh state (ADR 2).
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Mapper,
    PersistenceError,
    StoredEvent,
)

from ledger import clock, rules, vault, wire
from ledger import events as ev
from ledger.bulk import paused_gc
from ledger.course import Course
from ledger.errors import BadLine, Damaged, ImportRejected, LedgerError, Refused, Stale, StoreError, first_line
from ledger.events import Envelope, Recorded, envelope_encoder
from ledger.leaves import new_salts
from ledger.store import LogRow, cannot_open, is_postgres, material, sqlite_file, store_env
from ledger.store.log import LogStore, PositionTaken
from ledger.streams import stream_id as stream_id  # where the stores and tests have always found it
from ledger.text import no_nul

if TYPE_CHECKING:
    from ledger.checkpoint import Checkpoint  # only a restore with --checkpoint needs it

MAX_ATTEMPTS = 20
PROGRESS_EVERY = 1_000  # lines checked between two reports of an import's progress


class Pending(NamedTuple):
    """An envelope on its way into a course stream, at a given version."""

    originator_id: UUID
    originator_version: int
    envelope: Envelope


class EnvelopeMapper(Mapper[UUID]):
    """Stores envelopes as msgspec JSON under the event's stable type name."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        pending: Pending = domain_event
        return StoredEvent(
            originator_id=pending.originator_id,
            originator_version=pending.originator_version,
            topic=ev.type_name(pending.envelope.event),
            state=envelope_encoder.encode(pending.envelope),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return ev.decode_stored(stored_event.state)


def to_recorded(row: LogRow) -> Recorded:
    """The record a log row holds."""
    if row.state is None:
        raise StoreError(f"the event at position {row.position} is missing from the store: run verify")
    return record_from(row.position, row.state)


def record_from(position: int, state: bytes) -> Recorded:
    """The record stored as `state` at `position`."""
    envelope = ev.decode_stored(state, position)
    return Recorded(envelope.id, position, envelope.recorded_at, envelope.recorded_by, envelope.event)


@dataclass
class Imported:
    """What an import did: the records it appended and how many lines were already there."""

    recorded: list[Recorded] = field(default_factory=list)
    skipped: int = 0


@dataclass
class _Batch:
    """One attempt at recording lines: the courses it touches and what it adds."""

    head: int
    courses: dict[str, Course] = field(default_factory=dict)
    stored_versions: dict[str, int] = field(default_factory=dict)
    new: list[tuple[Recorded, dict[str, str] | None]] = field(default_factory=list)
    skipped: int = 0
    problems: list[BadLine] = field(default_factory=list)
    restoring: bool = False  # a whole export into an empty store: envelopes are kept
    restore_seen: int = 0  # lines of the restore so far: the seq the next one must carry
    last_recorded_at: datetime | None = None  # of the restore's previous line
    # The leaf salts a restore's lines carry, by record id (None: an unsalted leaf of format 1,
    # from an export made before ADR 18); every other new record gets a fresh salt when written.
    restored_salts: dict[UUID, bytes | None] = field(default_factory=dict)
    restore_salted: bool = False  # a line of the restore carried a salt: every later one must
    expected: Checkpoint | None = None  # the checkpoint a restore must match
    # Application material, by the id of the new record it concerns: fields of a
    # line that hold their stored token already, and the keys each erasure
    # destroys (judged on the course as it stood at the erasure).
    already_sealed: dict[UUID, frozenset[str]] = field(default_factory=dict)
    destroyed: dict[UUID, list[tuple[str, str]]] = field(default_factory=dict)
    lines_of: dict[UUID, tuple[str, int]] = field(default_factory=dict)  # new records' ids: (course, line)


class Ledger(Application[UUID]):
    """Records a course's events in a store and reads them back."""

    name = "subledger"

    def __init__(self, store: str) -> None:
        self.store = store
        self.notices: list[str] = []  # what a user should know after a command succeeded
        # An SQLite store that does not exist yet is made by the first write, not before:
        # until then an empty in-memory store answers (a dry run or a refusal leaves no file).
        self.unborn = not is_postgres(store) and not os.path.exists(sqlite_file(store)[0])
        self._opening = False
        self._open(":memory:" if self.unborn else store)

    def _open(self, where: str) -> None:
        env = {"MAPPER_TOPIC": "ledger.app:EnvelopeMapper", **store_env(self.store)}
        if where != self.store:
            env["SQLITE_DBNAME"] = where
        self._opening = True
        try:
            Application.__init__(self, env=env)
        except LedgerError:
            self._close_unopened()
            raise
        except Exception as error:  # noqa: BLE001 - each driver raises its own kinds; say them in one line
            self._close_unopened()
            raise cannot_open(self.store, error) from None
        finally:
            self._opening = False

    def _close_unopened(self) -> None:
        """Close what a failed open made, now, in this thread: left to the garbage collector, a
        PostgreSQL pool may be closed from its own worker thread ("cannot join current thread")."""
        factory = getattr(self, "_factory", None)
        if factory is not None:
            with suppress(Exception):
                factory.close()

    def _be_born(self) -> None:
        """Open the store file: made (owner-only) now that something is to be written to it,
        or made meanwhile by another process."""
        self.unborn = False
        self.close()
        self._open(self.store)

    @property
    def recorder(self) -> ApplicationRecorder:
        """The store's recorder (once another process has made an unborn store, that store's)."""
        if self.unborn and not self._opening and os.path.exists(sqlite_file(self.store)[0]):
            self._be_born()
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: ApplicationRecorder) -> None:
        self._recorder = recorder

    @property
    def log_store(self) -> LogStore:
        """The store's recorder as the ledger's log: its positions, head, locks and keys."""
        recorder = self.recorder
        assert isinstance(recorder, LogStore), f"{type(recorder).__name__} is not a subledger store's recorder"
        return recorder

    @property
    def factory(self) -> InfrastructureFactory[Any]:
        """The store's infrastructure; asking for it (to open the views on the store) makes the store."""
        if self.unborn and not self._opening:
            self._be_born()
        return self._factory

    @factory.setter
    def factory(self, factory: InfrastructureFactory[Any]) -> None:
        self._factory = factory

    def close(self) -> None:
        """Close the store (an unborn one stays unmade)."""
        self.closing.set()
        self._factory.close()

    # -- writing -------------------------------------------------------------

    def append(self, events: Sequence[ev.AnyEvent], actor: str, decided_on: int | None = None) -> list[Recorded]:
        """Append `events` in order, all or nothing; raise `Refused` on the first broken rule.

        `decided_on` is how many events of the course the caller read to build
        `events` (e.g. an allocation); if the course has more by now, `Stale`.
        """
        try:
            lines = [(0, wire.Line(e, id=uuid.uuid4())) for e in events]
            return self._record_lines(lines, actor, decided_on=decided_on).recorded
        except ImportRejected as rejected:
            raise rejected.problems[0].cause or rejected from None

    def import_lines(
        self,
        raw: Iterable[bytes],
        actor: str,
        dry_run: bool = False,
        checkpoint: Checkpoint | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Imported:
        """Append a JSONL file, all or nothing; raise `ImportRejected` naming every bad line.

        Lines with envelopes restore an export into an empty store; with
        `checkpoint`, the restored log must match it before anything is written.
        `progress(done, total)` is told how many lines the rules have checked.
        """
        lines: list[tuple[int, wire.Line]] = []
        problems: list[BadLine] = []
        for number, text in enumerate(raw, start=1):
            if not text.strip():
                continue
            try:
                lines.append((number, wire.decode_line(text)))
            except msgspec.MsgspecError as error:
                problems.append(BadLine(number, wire.describe_error(error)))
        if problems:
            # Rule checks need every line readable; report what can be read too.
            try:
                self._record_lines(lines, actor, dry_run=True)
            except ImportRejected as rejected:
                problems.extend(rejected.problems)
            raise ImportRejected(sorted(problems, key=lambda p: p.line))
        with paused_gc():
            return self._record_lines(lines, actor, dry_run=dry_run, expected=checkpoint, progress=progress)

    def import_events(self, events: Sequence[ev.AnyEvent], actor: str, dry_run: bool = False) -> Imported:
        """Append `events` as `import` appends lines without ids: all or nothing, each id derived
        from its content (so an event already in the store is skipped, not appended again).

        For input adapters (a Moodle worksheet): `ImportRejected` names each refused event by
        its number in `events`, from 1, for the adapter to say where in its input it came from.
        """
        lines = [(number, wire.Line(event)) for number, event in enumerate(events, start=1)]
        return self._record_lines(lines, actor, dry_run=dry_run)

    def _record_lines(
        self,
        lines: list[tuple[int, wire.Line]],
        actor: str,
        dry_run: bool = False,
        expected: Checkpoint | None = None,
        decided_on: int | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Imported:
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                _back_off(attempt)
            with self._deciding(lines, dry_run):
                batch = self._decide(lines, actor, expected, progress)
                if decided_on is not None and any(n != decided_on for n in batch.stored_versions.values()):
                    raise Stale("the course changed while the command was deciding")
                if batch.problems:
                    raise ImportRejected(batch.problems)
                if expected is not None and not batch.restoring:
                    raise Refused(
                        "restore-checkpoint",
                        "a checkpoint checks a restore of an events export into an empty store; this import is not one",
                    )
                if dry_run or not batch.new:
                    if dry_run and batch.expected is not None:
                        self._write(batch, commit=False)  # checks the checkpoint, writes nothing
                    return Imported([r for r, _ in batch.new], batch.skipped)
                try:
                    placed = self._write(batch)
                except IntegrityError:
                    continue  # a writer that took no lock came first: decide again on fresh state
                except PersistenceError as error:
                    raise StoreError(f"the store refused the write: {first_line(error)}") from None
                return Imported(placed, batch.skipped)
        raise StoreError(f"gave up after {MAX_ATTEMPTS} write conflicts; try again")

    def _deciding(self, lines: list[tuple[int, wire.Line]], dry_run: bool) -> AbstractContextManager[None]:
        """The locks of the courses `lines` name, held from the decision to the commit (ADR 18).

        None for a dry run, which writes nothing, nor on a store not yet made: a
        refusal must leave no file, so its write takes the lock once it has made
        the store, and checks there what the decision rested on.
        """
        if dry_run or self.unborn:
            return nullcontext()
        streams = {stream_id(line.event.course) for _, line in lines}
        return self.log_store.locks.courses(sorted(streams))

    def _decide(
        self,
        lines: list[tuple[int, wire.Line]],
        actor: str,
        expected: Checkpoint | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> _Batch:
        batch = _Batch(head=self.log_store.head()[0])
        batch.restoring = batch.head == 0 and any(line.restores for _, line in lines)
        batch.expected = expected if batch.restoring else None
        elsewhere = self._ids_elsewhere(batch.head, lines)
        now = clock.now()  # the records' time until the write gives them the store's (`_place`)
        for done, (number, line) in enumerate(lines, start=1):
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, len(lines))
            decided = len(batch.new)
            try:
                already_sealed = _material_of(line)
                self._decide_line(batch, line, actor, now, elsewhere)
                if len(batch.new) > decided:
                    _note_material(batch, batch.new[-1][0], already_sealed)
                    batch.lines_of[batch.new[-1][0].id] = (line.event.course, number)
            except Refused as refused:
                batch.problems.append(_bad(number, refused))
            except clock.BadInstant as error:  # SPEC §2: an instant that needs a guess
                batch.problems.append(_bad(number, Refused("time", str(error))))
        if progress is not None:
            progress(len(lines), len(lines))
        return batch

    def _decide_line(
        self,
        batch: _Batch,
        line: wire.Line,
        actor: str,
        now: datetime,
        elsewhere: dict[UUID, tuple[UUID, bytes | None]],
    ) -> None:
        event = line.event  # its keys and sealed fields were checked by _material_of
        batch.restore_seen += batch.restoring  # counted before any refusal: one bad line is one error
        course = self._course_in(batch, event.course)
        if isinstance(event, ev.CourseOpened):
            tz = event.timezone
            clock.zone(tz)
        elif course.opened is not None:
            tz = course.opened.timezone
        else:
            rules.check(course, event)  # refuses it: an unknown course (or an id it may not be)
            raise AssertionError(f"the rules took an event of the unopened course {event.course!r}")
        event = wire.localize(event, tz)
        event_id = line.id or wire.content_id(event)
        if event_id in elsewhere and elsewhere[event_id][0] != stream_id(event.course):
            raise Refused("id-conflict", f"event {event_id} exists in another course")
        earlier = batch.lines_of.get(event_id)
        if earlier is not None and earlier[0] != event.course:
            raise Refused("id-conflict", f"event {event_id} is line {earlier[1]}'s, in course {earlier[0]!r}")
        existing = course.by_id.get(event_id)
        if existing is not None:
            stored = existing.position <= batch.head
            if not self._same_content(course, existing, event, stored=stored):
                raise Refused("id-conflict", f"event {event_id} exists with different content")
            # The stored salt of an event is known where the line named its id (a restore's lines do).
            known = elsewhere.get(event_id) if stored else None
            _check_same_envelope(line, existing, known[1] if known else None, known is not None)
            batch.skipped += 1
            return
        position = batch.head + len(batch.new) + 1
        if line.sealed and batch.head:
            # Text is sealed by its field, never taken as sealed for its looks: a line may carry a
            # sealed token (its key destroyed) only into an empty store, from an export (ADR 10).
            raise Refused(
                "restore-empty-store",
                f"sealed ({', '.join(line.sealed)}) carries material whose key was destroyed, as an export "
                f"writes it; a line carries it only into an empty store, and this one holds {batch.head} "
                "events: drop sealed to import the text as new, sealed like any other",
            )
        if batch.restoring:
            recorded_at, recorded_by = _restored_envelope(batch, line, position, now)
            batch.restored_salts[event_id] = line.salt
        elif line.restores:
            raise Refused(
                "restore-empty-store",
                "seq, recorded_at, recorded_by and salt come from the store's clock, --actor and chance; a "
                f"line keeps them only in a restore into an empty store, and this one holds {batch.head} "
                "events: drop them to import the event as a new one",
            )
        else:
            recorded_at, recorded_by = now, actor
        record = Recorded(
            id=event_id,
            position=position,
            recorded_at=recorded_at,
            recorded_by=recorded_by,
            event=event,
        )
        # Judged at `now`: the write records it at the store's clock, never earlier (`_place`).
        rules.check_record(course, record)
        course.apply(record)
        batch.new.append((record, line.keys))

    def _store_clock(self, head: int) -> datetime:
        """Now, as the store records it: never before the last event's `recorded_at`.

        So `recorded_at` never decreases along the log, whatever the writers'
        clocks say, and a `--known-at` view is always a prefix of the log: the
        ledger as it was at some moment (ADR 10). It is read under the log's
        lock, with `head`, so no other writer slips in between (ADR 18).
        """
        now = clock.now()
        if head == 0:
            return now
        last = self.log_store.select_log(head - 1, 1)
        if not last or last[0].state is None:
            return now  # a damaged store: `verify` says so; the clock need not
        return max(now, record_from(last[0].position, last[0].state).recorded_at)

    def _course_in(self, batch: _Batch, name: str) -> Course:
        course = batch.courses.get(name)
        if course is None:
            course = self.course(name)
            batch.courses[name] = course
            batch.stored_versions[name] = len(course.records)
        return course

    def _ids_elsewhere(self, head: int, lines: list[tuple[int, wire.Line]]) -> dict[UUID, tuple[UUID, bytes | None]]:
        """Explicit ids of imported `lines` that the store already holds, with their streams and leaf salts."""
        ids = [line.id for number, line in lines if line.id is not None and number]
        if head == 0 or not ids:
            return {}  # an empty store holds none; a command's own ids (line 0) are new
        return self.log_store.select_streams(ids)

    def _same_content(self, course: Course, existing: Recorded, incoming: ev.Event, stored: bool) -> bool:
        """Whether `incoming` says what `existing` says; a `stored` application is opened first.

        Material whose key was destroyed reads `[erased]`: it is left out of the
        comparison, on both sides.
        """
        before = existing.event
        if isinstance(before, ev.ApplicationSubmitted) and isinstance(incoming, ev.ApplicationSubmitted):
            if stored:
                before = self.readable(course.name, existing).event
            blank = {f: "" for f in vault.FIELDS if getattr(before, f) == vault.ERASED}
            incoming = msgspec.structs.replace(incoming, **blank)
            before = msgspec.structs.replace(before, **blank)
        return before == incoming

    def _write(self, batch: _Batch, commit: bool = True) -> list[Recorded]:
        """Write the batch, each record at its place; return the records as written.

        Under the log's lock the head and the store's clock are read, the
        records get their positions and `recorded_at` from them, and the
        insert commits before the lock is let go: positions and `recorded_at`
        rise together along the log, so a `--known-at` view is a prefix of it
        (ADR 10). A restore was decided for an empty store: if another writer
        came first, `PositionTaken`, and it is decided again (and refused).
        With `commit` False (a dry run) a restore's checkpoint is checked and
        nothing is written.
        """
        if not commit:
            self._checked(batch, [r for r, _ in batch.new])
            return []
        if self.unborn:
            self._be_born()
        with self.log_store.locks.log():
            head = self.log_store.head()[0]
            if batch.restoring and head != batch.head:
                raise PositionTaken(f"the store holds {head} events now; a restore needs an empty one")
            placed = self._place(batch, head)
            pending, ids, salts, changes = self._checked(batch, placed)
            try:
                self.events.put(pending, ids=ids, salts=salts, material=changes, first_position=head + 1)
            except IntegrityError:
                # Under the log's lock no writer of this program came first: a log that
                # runs past its head was damaged (a head set back), and no retry mends it.
                if self.log_store.select_log(head, 1):
                    raise Damaged(f"the log holds events after position {head}, where its head ends") from None
                raise
        return placed

    def _place(self, batch: _Batch, head: int) -> list[Recorded]:
        """The new records at their places after `head`, recorded now by the store's clock
        (a restore's keep the positions and times they carry: the store was empty)."""
        if batch.restoring:
            return [record for record, _ in batch.new]
        now = self._store_clock(head)
        return [
            msgspec.structs.replace(record, position=head + n, recorded_at=now)
            for n, (record, _) in enumerate(batch.new, start=1)
        ]

    def _checked(
        self, batch: _Batch, placed: list[Recorded]
    ) -> tuple[list[Pending], list[UUID], list[bytes | None], list[material.Change]]:
        """What the store is to write for `placed`, the batch's records at their places:
        the pending events, their ids and leaf salts, and the material keys they make or
        destroy. A restore must be its checkpoint's log, or `Refused` before anything is written."""
        versions = dict(batch.stored_versions)
        pending: list[Pending] = []
        ids: list[UUID] = []
        salts: list[bytes | None] = []
        changes: list[material.Change] = []
        keys_of: dict[str, dict[tuple[str, str], bytes]] = {}
        fresh = iter(new_salts(0 if batch.restoring else len(placed)))
        for record, (_, line_keys) in zip(placed, batch.new, strict=True):
            event = record.event
            name = event.course
            if isinstance(event, ev.ApplicationSubmitted):
                if name not in keys_of:
                    keys_of[name] = self.log_store.select_keys(name)
                event, created = _seal(
                    event, record.id, keys_of[name], line_keys, batch.already_sealed.get(record.id)
                )
                changes.extend(
                    material.NewKey(name, record.position, event.student, purpose, key)
                    for purpose, key in created.items()
                )
            elif isinstance(event, ev.ApplicationMaterialErased):
                gone = tuple(batch.destroyed[record.id])
                changes.append(material.Destroyed(name, record.position, gone))
                for student_purpose in gone:  # a later application in this batch gets new keys
                    keys_of.get(name, {}).pop(student_purpose, None)
            versions[name] += 1
            envelope = Envelope(record.id, record.recorded_at, record.recorded_by, event)
            pending.append(Pending(stream_id(name), versions[name], envelope))
            ids.append(record.id)
            salts.append(batch.restored_salts[record.id] if batch.restoring else next(fresh))
        if batch.expected is not None:  # a restore must be the checkpoint's log before it is written
            from ledger.integrity import check_restore

            check_restore(batch.expected, ids, [self.mapper.to_stored_event(p) for p in pending], salts)
        return pending, ids, salts, changes

    # -- reading -------------------------------------------------------------

    def course(self, name: str) -> Course:
        """One course offering as everything recorded tells it."""
        rows = self.log_store.select_course(stream_id(name))
        return Course.fold(name, (record_from(position, state) for position, state in rows))

    def courses(self) -> list[str]:
        """The course offerings in the store, in the order they were opened."""
        states = self.log_store.select_courses()
        return [ev.decode_stored(s).event.course for s in states]

    def records(self, after: int = 0, page: int = 10_000) -> Iterator[Recorded]:
        """Every record after position `after`, in position order."""
        while True:
            rows = self.log_store.select_log(after, page)
            if not rows:
                return
            yield from map(to_recorded, rows)
            after = rows[-1].position

    def find(self, event_id: UUID) -> Recorded | None:
        """The record of one event id."""
        row = self.log_store.select_by_id(event_id)
        return to_recorded(row) if row else None

    def head(self) -> tuple[int, bytes | None]:
        """The log's size and its Merkle frontier."""
        return self.log_store.head()

    def material_keys(self, course: str, student: str) -> dict[str, bytes]:
        """The keys that still open a student's application material, by purpose."""
        return vault.by_student(self.log_store.select_keys(course)).get(student, {})

    def readable(self, course: str, record: Recorded) -> Recorded:
        """`record` with application material opened where its keys still exist."""
        event = record.event
        if not isinstance(event, ev.ApplicationSubmitted):
            return record
        opened = vault.open_application(event, record.id, self.material_keys(course, event.student))
        return msgspec.structs.replace(record, event=opened)


def _back_off(attempt: int) -> None:
    """Wait a little, at random, before deciding again: writers that keep
    colliding in lockstep would otherwise collide forever."""
    import random  # only after a conflict: not worth its import on every start
    import time

    time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))


def _restored_envelope(batch: _Batch, line: wire.Line, position: int, now: datetime) -> tuple[datetime, str]:
    """The envelope a restore line keeps; `Refused` unless it continues a whole, sound export.

    A restore is the one way to write a past `recorded_at` or another's
    `recorded_by`, so it must be the whole of an export: every line carries its
    envelope, positions run 1, 2, 3 … and time never runs backwards (except
    where a checkpoint proves it did in the original) or past now.
    """
    lacking = line.lacks()
    if lacking:
        raise Refused(
            "restore-envelope",
            f"a restore is a whole events export, each line with {', '.join(wire.RESTORE_FIELDS)}; "
            f"this line lacks {', '.join(lacking)}",
        )
    assert line.seq is not None and line.recorded_at is not None and line.recorded_by is not None
    no_nul("recorded_by", line.recorded_by)
    if line.salt is None and batch.restore_salted:
        # A store salts every leaf since ADR 18; only events recorded before lack a salt.
        raise Refused(
            "restore-envelope",
            "this line lacks salt, and a line before it carries one: in an export, every event after "
            "a salted one is salted",
        )
    batch.restore_salted = batch.restore_salted or line.salt is not None
    expected = batch.restore_seen
    if line.seq != expected or (position != expected and not batch.problems):
        # (The second: a line before it was already in the store, i.e. in the file twice.)
        raise Refused(
            "restore-position",
            f"seq {line.seq} would be stored at position {position}; a restore is a whole events "
            "export, seq 1, 2, 3 … without gaps, into an empty store",
        )
    recorded_at = _utc(line.recorded_at)
    if recorded_at > now:
        raise Refused("restore-future", f"recorded_at {clock.iso(recorded_at)} is later than now ({clock.iso(now)})")
    # Lines the checkpoint covers are the original's very bytes (checked before anything is
    # written): a step back there is the original's, e.g. two writers' clocks before ADR 10.
    proven = batch.expected is not None and position <= batch.expected.size
    if batch.last_recorded_at is not None and recorded_at < batch.last_recorded_at and not proven:
        raise Refused(
            "restore-order",
            f"recorded_at {clock.iso(recorded_at)} is earlier than {clock.iso(batch.last_recorded_at)} of the line "
            "before: an export lists events in the order they were recorded",
        )
    batch.last_recorded_at = recorded_at
    return recorded_at, line.recorded_by


def _check_same_envelope(line: wire.Line, existing: Recorded, salt: bytes | None, salt_known: bool) -> None:
    """`Refused` when a line names an event in the store but not the envelope it was stored with
    (`salt`: its leaf's, where known)."""
    if not line.restores:
        return
    given: dict[str, tuple[object, object]] = {
        "seq": (line.seq, existing.position),
        "recorded_at": (
            _utc(line.recorded_at) if line.recorded_at else None,
            existing.recorded_at,
        ),
        "recorded_by": (line.recorded_by, existing.recorded_by),
        "salt": (line.salt if salt_known else None, salt),
    }
    differs = [
        f"{name} {_shown(said)} (stored: {_shown(kept)})"
        for name, (said, kept) in given.items()
        if said is not None and said != kept
    ]
    if differs:
        raise Refused("id-conflict", f"event {existing.id} is in the store with another envelope: {'; '.join(differs)}")


def _utc(moment: datetime) -> datetime:
    """A line's `recorded_at` in UTC (naive: read as UTC); `BadInstant` when UTC cannot hold it."""
    try:
        return clock.localize(moment, "UTC")
    except clock.BadInstant as error:  # e.g. 9999-12-31T23:59:59-23:59, a day past what UTC can hold
        raise clock.BadInstant(f"recorded_at {error}") from None


def _shown(value: object) -> str:
    """An envelope field's value as a line would carry it."""
    if isinstance(value, datetime):
        return clock.iso(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return "none" if value is None else str(value)


def _bad(number: int, refused: Refused) -> BadLine:
    return BadLine(number, str(refused), cause=refused)


_NOTHING_SEALED: frozenset[str] = frozenset()


def _material_of(line: wire.Line) -> frozenset[str]:
    """Check a line's material envelope; the fields it carries as their sealed token.

    Only fields the line names in `sealed` (an `events` export names those whose
    key was destroyed) are taken as tokens; every other material field is
    sealed, whatever its text.
    """
    event = line.event
    if (line.keys is not None or line.sealed is not None) and not isinstance(event, ev.ApplicationSubmitted):
        raise Refused("wrong-field", f"only ApplicationSubmitted lines carry keys or sealed, not {ev.type_name(event)}")
    for purpose, key in (line.keys or {}).items():
        if purpose not in vault.PURPOSES:
            raise Refused("bad-keys", f"keys names {purpose!r}; the purposes are {', '.join(vault.PURPOSES)}")
        try:
            raw = base64.b64decode(key, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != vault.KEY_SIZE:
            raise Refused("bad-keys", f"the {purpose} key is not {vault.KEY_SIZE} bytes in base64")
    sealed = frozenset(line.sealed or ())
    for name in sorted(sealed):
        if vault.FIELDS[name] in (line.keys or {}):
            raise Refused("sealed-material", f"{name} is both sealed and given its key")
        if not vault.is_sealed(getattr(event, name)):
            raise Refused("sealed-material", f"{name} is named in sealed but is not a sealed token")
    return sealed


def _note_material(batch: _Batch, record: Recorded, already_sealed: frozenset[str]) -> None:
    """Remember what a new record means for material: sealed fields, or the keys it destroys."""
    event = record.event
    if already_sealed:
        batch.already_sealed[record.id] = already_sealed
    if isinstance(event, ev.ApplicationMaterialErased):
        batch.destroyed[record.id] = vault.destroyed(batch.courses[event.course], event)


def _seal(
    event: ev.ApplicationSubmitted,
    event_id: UUID,
    known: dict[tuple[str, str], bytes],
    line_keys: dict[str, str] | None,
    already_sealed: frozenset[str] | None,
) -> tuple[ev.ApplicationSubmitted, dict[str, bytes]]:
    """The application sealed, and the keys that had to be made (or came with the line)."""
    given = {p: base64.b64decode(k) for p, k in (line_keys or {}).items()}
    kept = already_sealed or frozenset()
    created: dict[str, bytes] = {}
    for purpose in {p for f, p in vault.FIELDS.items() if f not in kept}:
        if (event.student, purpose) not in known:
            created[purpose] = given.get(purpose) or vault.new_key()
            known[(event.student, purpose)] = created[purpose]
    keys = {p: known[(event.student, p)] for p in vault.PURPOSES if (event.student, p) in known}
    return vault.seal_application(event, event_id, keys, kept), created

"""Load on the shared store: eight writers and two readers on one PostgreSQL database at once.

Eight writer processes record hand-ins and presentations in four courses (two
writers per course, so they race for the same course stream, and all eight for
the log's head) for 60 s (`--quick`: 10 s), while two reader processes export
views through the CLI. Reported: appends/s and p50/p99 append latency, against
one writer alone on the same store just before (the baseline), and the readers'
exports. Then the store is checked: no event lost or duplicated, every course
rule still holds when the final store is folded (seats, teams, presentations),
`verify` passes, and no append failed (writers take turns by the store's
locks, ADR 18: under this load none may give up). A check that fails fails
the benchmark.

The server: `SUBLEDGER_LOAD_STORE`, else `SUBLEDGER_TEST_POSTGRES`: the URL of
a role that may create databases. The run makes a fresh database there and
drops it afterwards. Without either, the group is skipped with a note. Alone:

    python -m bench --only load                     # with one of the variables set
    python -m bench.load --store postgresql://user:pass@host:port/db [--quick]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from multiprocessing.synchronize import Event as EventFlag
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.harness import Config, Result, log, table
from ledger import events as ev

GROUP = "load"
ENV = ("SUBLEDGER_LOAD_STORE", "SUBLEDGER_TEST_POSTGRES")
COURSES = [f"load-{n}" for n in range(4)]
WRITERS = 8
READERS = 2
STUDENTS = 60  # per course: two writers, thirty students each, ten teams of three
ASSIGNMENTS = 12
VIEWS = ("admission", "gradebook", "roster")


# -- the store -----------------------------------------------------------------


def server_url() -> str | None:
    """The server to load, from the environment."""
    return next((os.environ[name] for name in ENV if os.environ.get(name)), None)


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new empty database on `server`, dropped afterwards; yields its URL."""
    import psycopg
    from psycopg import sql

    name = f"subledger_load_{secrets.token_hex(6)}"
    with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server)._replace(path="/" + name))
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def students(course: int) -> list[str]:
    return [f"{course + 1}{n:05d}" for n in range(STUDENTS)]


def setup_events(start: datetime) -> Iterator[ev.Event]:
    """Four courses with sixty participants each, in two groups, and twelve assignments open."""
    far = start + timedelta(days=365)
    for n, name in enumerate(COURSES):
        yield ev.CourseOpened(
            course=name, at=start, title=f"Load {n}", timezone="Europe/Berlin", capacity=STUDENTS,
            application_deadline=far, registration_deadline=start,
            groups=(ev.Group("g1", "Thu 11:00", STUDENTS // 2), ev.Group("g2", "Fri 13:00", STUDENTS // 2)),
        )  # fmt: skip
        people = students(n)
        for s in people:
            yield ev.ApplicationSubmitted(
                course=name, at=start, student=s, name=f"Student {s}", email=f"{s}@example.org",
                programme="bachelor", prerequisite="ML", statement="",
            )  # fmt: skip
        for s in people:
            yield ev.ApplicationAccepted(course=name, at=start, student=s)
        allocation = {s: "g1" if i < STUDENTS // 2 else "g2" for i, s in enumerate(people)}
        # Groups are allocated once the registration deadline has passed (SPEC §1.3).
        yield ev.GroupsAllocated(course=name, at=start + timedelta(minutes=1), allocation=allocation, seed=n)
        for a in range(1, ASSIGNMENTS + 1):
            yield ev.AssignmentPublished(course=name, at=start, assignment=f"A{a:02d}", title=f"Week {a}", deadline=far)


# -- the processes -------------------------------------------------------------


@dataclass
class Tally:
    """What one process did."""

    role: str
    ids: list[str] = field(default_factory=list)  # of the events it appended
    latencies: list[float] = field(default_factory=list)  # seconds per append (or export)
    errors: list[str] = field(default_factory=list)
    retries: int = 0  # decisions taken again after another writer came first
    seconds: float = 0.0


def writer(url: str, number: int, phase: str, ready: Any, stop: EventFlag, results: Any) -> None:
    """Record hand-ins and presentations for this writer's half of one course until `stop`."""
    import ledger.app as app
    from ledger.app import Ledger
    from ledger.errors import LedgerError

    tally = Tally(f"writer {number}")
    backing_off = app._back_off

    def counted(attempt: int) -> None:
        tally.retries += 1
        backing_off(attempt)

    app._back_off = counted  # only to count how often writers collided
    course = COURSES[number % len(COURSES)]
    half = number // len(COURSES)
    mine = students(number % len(COURSES))[half * STUDENTS // 2 : (half + 1) * STUDENTS // 2]
    teams = [tuple(mine[i : i + 3]) for i in range(0, len(mine), 3)]
    ledger = Ledger(url)
    ready.wait()
    begun = time.perf_counter()
    step = 0
    while not stop.is_set():
        # A team hands in, then one of its members presents it; round the assignments, again and again.
        turn = step // 2
        team = teams[turn % len(teams)]
        assignment = f"A{(turn // len(teams)) % ASSIGNMENTS + 1:02d}"
        now = datetime.now(UTC)
        event: ev.Event
        if step % 2 == 0:
            event = ev.SubmissionHandedIn(
                course=course, at=now, assignment=assignment, team=team, digest=f"{phase}-w{number}-{turn}"
            )
        else:
            event = ev.PresentationRecorded(
                course=course, at=now, assignment=assignment, student=team[turn % 3], outcome="explained"
            )
        start = time.perf_counter()
        try:
            recorded = ledger.append([event], f"writer{number}")
        except LedgerError as error:
            tally.errors.append(str(error))
        else:
            tally.latencies.append(time.perf_counter() - start)
            tally.ids.append(str(recorded[0].id))
        step += 1
    tally.seconds = time.perf_counter() - begun
    ledger.close()
    results.put(tally)


def reader(url: str, number: int, ready: Any, stop: EventFlag, results: Any) -> None:
    """Export views through the CLI (in this process), course after course, until `stop`."""
    import io

    from cli.main import main

    tally = Tally(f"reader {number}")
    ready.wait()
    begun = time.perf_counter()
    step = number
    while not stop.is_set():
        course, view = COURSES[step % len(COURSES)], VIEWS[(step // len(COURSES)) % len(VIEWS)]
        args = ["--store", url, "--course", course, "export", view, "--format", "csv", "-o", os.devnull]
        errors = io.StringIO()
        start = time.perf_counter()
        try:
            with redirect_stdout(io.StringIO()), redirect_stderr(errors):
                main.main(args, prog_name="subledger", standalone_mode=False)
        except SystemExit as exit_:
            if exit_.code:
                tally.errors.append(errors.getvalue().strip() or f"exit {exit_.code}")
        else:
            tally.latencies.append(time.perf_counter() - start)
        step += 1
    tally.seconds = time.perf_counter() - begun
    results.put(tally)


def run_phase(url: str, phase: str, writers: list[int], readers: int, seconds: float) -> list[Tally]:
    """Start the processes, let them all work for `seconds` from one start, collect their tallies."""
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no connection pool is copied
    ready = context.Barrier(len(writers) + readers + 1)  # everyone imported and connected
    stop, results = context.Event(), context.Queue()
    procs = [context.Process(target=writer, args=(url, n, phase, ready, stop, results)) for n in writers]
    procs += [context.Process(target=reader, args=(url, n, ready, stop, results)) for n in range(readers)]
    for p in procs:
        p.start()
    try:
        ready.wait(timeout=120)
        time.sleep(seconds)
        stop.set()
        tallies = [results.get(timeout=120) for _ in procs]
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    return tallies


# -- the checks ------------------------------------------------------------------


def check_store(url: str, expected_ids: set[str], setup_size: int) -> tuple[int, list[str]]:
    """How many events the store holds, and every problem found in it."""
    from ledger import integrity
    from ledger.app import Ledger
    from ledger.course import Course

    problems: list[str] = []
    ledger = Ledger(url)
    try:
        records = list(ledger.records())
        if [r.position for r in records] != list(range(1, len(records) + 1)):
            problems.append("positions do not run 1, 2, 3 … without gaps")
        if any(a.recorded_at > b.recorded_at for a, b in pairwise(records)):
            problems.append("recorded_at steps back along the log: a --known-at view would not be a prefix")
        appended = [str(r.id) for r in records[setup_size:]]
        lost = expected_ids - set(appended)
        strangers = set(appended) - expected_ids
        duplicated = len(appended) - len(set(appended))
        digests = [r.event.digest for r in records if isinstance(r.event, ev.SubmissionHandedIn)]
        duplicated += len(digests) - len(set(digests))
        if lost:
            problems.append(f"{len(lost)} event(s) a writer was told were recorded are missing")
        if strangers:
            problems.append(f"{len(strangers)} event(s) in the store that no writer recorded")
        if duplicated:
            problems.append(f"{duplicated} event(s) recorded twice")
        for name in COURSES:
            course = Course.fold(name, (r for r in records if r.event.course == name))
            problems.extend(f"{name}: {p}" for p in invariant_breaks(course))
        verification = integrity.verify(ledger)
        if not verification.ok:
            problems.append(f"verify failed: {verification.problem}")
        return len(records), problems
    finally:
        ledger.close()


def invariant_breaks(course: Any) -> Iterator[str]:
    """Course rules (SPEC §4) that the folded course breaks, checked from its records alone."""
    from ledger.invariants import violations

    for violation in violations(course.name, course.records):
        yield str(violation)


def failures(tallies: list[Tally]) -> list[str]:
    """The appends and exports that failed, as problems: under this load none may (ADR 18)."""
    problems = []
    for kind, role in (("append", "writer"), ("export", "reader")):
        failed = [e for t in tallies if t.role.startswith(role) for e in t.errors]
        if failed:
            problems.append(f"{len(failed)} {kind}(s) failed (first: {failed[0]})")
    return problems


# -- the benchmark ----------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_shared_store(cfg: Config, server: str | None = None) -> list[Result]:
    """Eight writers and two readers on one PostgreSQL database: appends/s, latency, and no harm done."""
    server = server or server_url()
    if server is None:
        print(
            f"load: skipped: set {ENV[0]} (or {ENV[1]}) to a PostgreSQL server URL whose role may "
            "create databases, or run `python -m bench.load --store URL`",
            file=sys.stderr,
        )
        return []
    seconds = cfg.pick(60.0, 10.0)
    solo_seconds = cfg.pick(15.0, 4.0)
    from ledger.app import Ledger

    with fresh_database(server) as url:
        setup = list(setup_events(datetime.now(UTC) - timedelta(days=1)))
        with _closing(Ledger(url)) as ledger:
            ledger.append(setup, "setup")
        log(cfg, f"[load] {len(setup)} events of setup; 1 writer alone for {solo_seconds:.0f} s")
        solo = run_phase(url, "solo", [0], 0, solo_seconds)
        log(cfg, f"[load] {WRITERS} writers and {READERS} readers for {seconds:.0f} s")
        crowd = run_phase(url, "crowd", list(range(WRITERS)), READERS, seconds)
        expected = {i for t in solo + crowd for i in t.ids}
        size, problems = check_store(url, expected, len(setup))
    writers = [t for t in crowd if t.role.startswith("writer")]
    readers = [t for t in crowd if t.role.startswith("reader")]
    latencies = [x for t in writers for x in t.latencies]
    solo_latencies = solo[0].latencies
    rate = len(latencies) / max(t.seconds for t in writers)
    solo_rate = len(solo_latencies) / solo[0].seconds
    exports = [x for t in readers for x in t.latencies]
    failed = [e for t in solo + writers for e in t.errors]
    read_failed = [e for t in readers for e in t.errors]
    problems.extend(failures(solo + crowd))
    figures = (
        f"{size:,} events in the end, {len(expected):,} appended by the writers; "
        f"{len(failed)} append(s) failed, {sum(t.retries for t in solo + crowd):,} decision(s) taken again after "
        f"a write conflict; {len(read_failed)} export(s) failed; "
        + ("0 lost, 0 duplicated, 0 invariant breaks, verify passed" if not problems else "; ".join(problems))
    )
    label = f"{WRITERS} writers, {len(COURSES)} courses, {READERS} readers, {seconds:.0f} s"
    results = [
        Result(GROUP, f"appends/s ({label})", rate, "appends/s", solo_rate, "1 writer alone",
               higher_is_better=True, note=figures),
        Result(GROUP, "append latency p50", statistics.median(latencies) if latencies else float("nan"), "s",
               statistics.median(solo_latencies) if solo_latencies else None, "1 writer alone"),
        Result(GROUP, "append latency p99", percentile(latencies, 0.99), "s",
               percentile(solo_latencies, 0.99), "1 writer alone"),
        Result(GROUP, f"exports/s by {READERS} readers (admission, gradebook, roster)",
               len(exports) / max(t.seconds for t in readers), "exports/s"),
        Result(GROUP, "export latency p50 (CLI in-process)", statistics.median(exports) if exports else float("nan"), "s"),
    ]
    if problems:
        raise AssertionError(f"the shared store was harmed, or writers gave up, under load: {figures}")
    return results


@contextmanager
def _closing(ledger: Any) -> Iterator[Any]:
    try:
        yield ledger
    finally:
        with suppress(Exception):
            ledger.close()


BENCHMARKS: dict[str, Callable[[Config], list[Result]]] = {
    "shared-store": bench_shared_store,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--store", metavar="URL", help=f"PostgreSQL server URL (default: ${ENV[0]}, ${ENV[1]})")
    parser.add_argument("--quick", action="store_true", help="10 s instead of 60 s")
    args = parser.parse_args(argv)
    if not (args.store or server_url()):
        parser.error(f"give --store URL or set {ENV[0]}")
    results = bench_shared_store(Config(quick=args.quick), args.store)
    print(table(results))
    for r in results:
        if r.note:
            print(f"- {r.group}: {r.name}: {r.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

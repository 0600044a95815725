"""The write side: bulk import, one append from a cold process, append cost vs history.

Targets (from the issue), each judged as a ratio against a baseline measured
in the same run:

- `import`: bulk import of 100,000 events on SQLite with every rule checked
  runs at least as many events/s as eventsourcing's own batched `save()` of
  100,000 plain aggregates, 100 per call (NOTES: ~52,000 events/s).
- `cold`: `subledger hand-in …` from a cold process costs at most 1.3× the
  import floor (`python -c "import click, msgspec, eventsourcing.application,
  eventsourcing.sqlite"`); `subledger --help` at most `python -c "import click"`.
- `growth`: an append into a store of ~100,000 events costs at most 1.2× one
  into a store holding only the target course (in-process and as a CLI run).
"""

from __future__ import annotations

import atexit
import gc
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from bench import synthetic
from bench.harness import (
    BIN,
    PYTHON,
    Config,
    FreshStores,
    Result,
    cold_env,
    command,
    interleave,
    log,
    median,
    temp_dir,
    uncompiled_env,
)
from ledger import events as ev
from ledger import integrity
from ledger.app import Ledger
from ledger.checkpoint import Checkpoint

GROUP = "write"
ACTOR = "bench"
TARGET_COURSE = "course-00000"  # the first offering synthetic.lines() makes (seed 0)
FLOOR_IMPORTS = "import click, msgspec, eventsourcing.application, eventsourcing.sqlite"


# -- the target course -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A course to append into, and a hand-in that is valid again and again."""

    name: str
    lines: list[bytes]
    assignment: str
    team: tuple[str, ...]
    at: datetime  # before the assignment's deadline: a resubmission by the same team

    def event(self) -> ev.SubmissionHandedIn:
        return ev.SubmissionHandedIn(
            course=self.name, at=self.at, assignment=self.assignment, team=self.team,
            digest="sha256:bench",
        )

    def hand_in_argv(self, store: str) -> list[str]:
        return [
            str(BIN / "subledger"), "--store", store, "--course", self.name,
            "hand-in", self.assignment, *self.team, "--at", self.at.isoformat(),
        ]


def target(name: str = TARGET_COURSE, seed: int = 0) -> Target:
    """The synthetic course `name`, and its last assignment's first team, an hour early."""
    events = list(synthetic.course_events(name, seed))
    deadlines = {e.assignment: e.deadline for e in events if isinstance(e, ev.AssignmentPublished)}
    assignment = max(deadlines)
    team = next(
        e.team for e in events
        if isinstance(e, ev.SubmissionHandedIn) and e.assignment == assignment
    )
    return Target(
        name=name,
        lines=[synthetic.encoder.encode(e) for e in events],
        assignment=assignment,
        team=tuple(team),
        at=deadlines[assignment] - timedelta(hours=1),
    )


def build_store(path: str, lines: list[bytes]) -> int:
    """Import `lines` into a new store at `path`; its size."""
    ledger = Ledger(path)
    try:
        ledger.import_lines(lines, ACTOR)
        return int(ledger.head()[0])
    finally:
        ledger.close()


@dataclass(frozen=True)
class BigStore:
    """The run's big store: its path, a checkpoint taken halfway, and how long it took to build."""

    path: str
    halfway: Checkpoint
    seconds: float
    chunk: int


_BIG: dict[int, BigStore] = {}


def big_store(cfg: Config) -> BigStore:
    """A store of 1,000,000 synthetic events (100,000 under --quick), built once per run.

    The read and integrity groups share it; a benchmark that appends to it
    reads the size it finds rather than the size it was built with.
    """
    total = cfg.pick(1_000_000, 100_000)
    if total not in _BIG:
        directory = tempfile.mkdtemp(prefix="subledger-bench-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        path = str(Path(directory) / "big.sqlite")
        chunk = 100_000
        log(cfg, f"[bench] building a store of {total:,} events, {chunk:,} per import")
        start = time.perf_counter()
        ledger = Ledger(path)
        halfway: Checkpoint | None = None
        try:
            lines = synthetic.lines(total)
            while batch := list(islice(lines, chunk)):
                ledger.import_lines(batch, ACTOR)
                if halfway is None and ledger.head()[0] >= total // 2:
                    halfway = integrity.checkpoint(ledger)
            size = int(ledger.head()[0])
        finally:
            ledger.close()
        assert halfway is not None
        seconds = time.perf_counter() - start
        log(cfg, f"[bench] built {size:,} events in {seconds:.1f} s ({size / seconds:,.0f} events/s)")
        _BIG[total] = BigStore(path, halfway, seconds, chunk)
    return _BIG[total]


# -- bulk import -------------------------------------------------------------


def _es_app(path: str) -> Application[Any]:
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path})


class Thing(Aggregate):
    """A trivial aggregate for the baseline: its one event is Created."""


def es_save_batched(path: str, total: int, per_save: int) -> float:
    """Seconds to save `total` new trivial aggregates, `per_save` per `save()`, into `path`."""
    gc.collect()
    start = time.perf_counter()
    app = _es_app(path)
    for first in range(0, total, per_save):
        app.save(*[Thing() for _ in range(min(per_save, total - first))])
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed


def ledger_import(path: str, lines: list[bytes]) -> float:
    """Seconds of `Ledger(path).import_lines(lines, "bench")` on a fresh file."""
    gc.collect()
    start = time.perf_counter()
    ledger = Ledger(path)
    imported = ledger.import_lines(lines, ACTOR)
    elapsed = time.perf_counter() - start
    ledger.close()
    if len(imported.recorded) != len(lines):
        raise AssertionError(f"imported {len(imported.recorded)} of {len(lines)} lines")
    return elapsed


def bench_import(cfg: Config) -> list[Result]:
    """Bulk import vs eventsourcing's batched save() (events/s)."""
    total = cfg.pick(100_000, 20_000)
    rounds = cfg.pick(3, 1)
    lines = list(synthetic.lines(total))
    log(cfg, f"[write.import] {len(lines):,} events, {rounds} round(s) of 3 runs")
    with temp_dir() as directory:
        stores = FreshStores(directory)

        def job(run: Callable[[str], float]) -> Callable[[], float]:
            def timed_on_fresh_file() -> float:
                path = stores.fresh()
                try:
                    return run(path)
                finally:
                    stores.remove(path)

            return timed_on_fresh_file

        samples = interleave(
            {
                "es100": job(lambda p: es_save_batched(p, total, 100)),
                "es1": job(lambda p: es_save_batched(p, total, total)),
                "ours": job(lambda p: ledger_import(p, lines)),
            },
            rounds,
        )
    rates = {name: [total / s for s in values] for name, values in samples.items()}
    rate = {name: total / median(values) for name, values in samples.items()}
    return [
        Result(
            GROUP, f"import {total:,} events, every rule checked (events/s)",
            rate["ours"], "events/s", rate["es100"], "es save(), 100 per call",
            target=1.0, higher_is_better=True,
            samples=rates["ours"], baseline_samples=rates["es100"],
        ),
        Result(
            GROUP, f"info: es one save() of {total:,} (events/s)",
            rate["es1"], "events/s", rate["es100"], "es save(), 100 per call",
            samples=rates["es1"], baseline_samples=rates["es100"],
        ),
    ]


# -- one append from a cold process -------------------------------------------


def bench_cold(cfg: Config) -> list[Result]:
    """Cold `subledger hand-in` / `--help` vs the import floor."""
    rounds = cfg.pick(15, 5)
    course = target()
    env = cold_env()
    with temp_dir() as directory:
        store = str(directory / "one-course.sqlite")
        size = build_store(store, course.lines)
        log(cfg, f"[write.cold] store of {size:,} events, {rounds} interleaved rounds")
        samples = interleave(
            {
                "floor": command([PYTHON, "-c", FLOOR_IMPORTS], env),
                "append": command(course.hand_in_argv(store), env),
                "click": command([PYTHON, "-c", "import click"], env),
                "help": command([str(BIN / "subledger"), "--help"], env),
                "uncompiled": command(course.hand_in_argv(store), uncompiled_env()),
            },
            rounds,
            warmup=1,
        )
    m = {name: median(values) for name, values in samples.items()}
    return [
        Result(
            GROUP, "cold `subledger hand-in` (1 append)", m["append"], "s",
            m["floor"], "import floor", target=1.3,
            samples=samples["append"], baseline_samples=samples["floor"],
        ),
        Result(
            GROUP, "cold `subledger --help`", m["help"], "s",
            m["click"], "python -c 'import click'", target=1.0,
            samples=samples["help"], baseline_samples=samples["click"],
        ),
        Result(
            GROUP, "info: cold hand-in without bytecode cache", m["uncompiled"], "s",
            m["append"], "with cache",
            samples=samples["uncompiled"], baseline_samples=samples["append"],
            note="PYTHONDONTWRITEBYTECODE=1: the project's modules are compiled in every process",
        ),
    ]


# -- append cost vs history --------------------------------------------------


def _appender(ledger: Ledger, event: ev.AnyEvent) -> Callable[[], float]:
    """A job that appends `event` once and returns the seconds `append` took."""

    def append_once() -> float:
        start = time.perf_counter()
        ledger.append([event], ACTOR)
        return time.perf_counter() - start

    return append_once


def bench_growth(cfg: Config) -> list[Result]:
    """Append into a ~100k-event store vs a one-course store."""
    big_total = cfg.pick(100_000, 20_000)
    rounds = cfg.pick(30, 10)
    cli_rounds = cfg.pick(9, 3)
    course = target()
    env = cold_env()
    with temp_dir() as directory:
        small = str(directory / "small.sqlite")
        big = str(directory / "big.sqlite")
        small_size = build_store(small, course.lines)
        # synthetic.lines() starts with the target course, then other offerings.
        big_lines = list(synthetic.lines(big_total))
        if big_lines[: len(course.lines)] != course.lines:
            raise AssertionError("synthetic.lines() no longer starts with the target course")
        big_size = build_store(big, big_lines)
        del big_lines
        others = math.ceil(big_size / len(course.lines)) - 1  # offerings besides the target
        log(
            cfg,
            f"[write.growth] stores of {small_size:,} and {big_size:,} events "
            f"(target + ~{others} offerings); {rounds} in-process and {cli_rounds} CLI rounds",
        )
        ledgers = {"small": Ledger(small), "big": Ledger(big)}
        try:
            event = course.event()
            inproc = interleave(
                {name: _appender(ledger, event) for name, ledger in ledgers.items()},
                rounds,
                warmup=2,
            )
        finally:
            for ledger in ledgers.values():
                ledger.close()
        cli = interleave(
            {
                "small": command(course.hand_in_argv(small), env),
                "big": command(course.hand_in_argv(big), env),
            },
            cli_rounds,
            warmup=1,
        )
    label = f"{big_size // 1000:,}k vs {small_size:,}-event store"
    note = (
        f"{small_size:,} events = the target course alone; {big_size:,} = it plus "
        f"~{others} other offerings; medians of {rounds} in-process / {cli_rounds} CLI appends"
    )
    results = []
    for kind, samples in (("in-process Ledger.append", inproc), ("cold CLI hand-in", cli)):
        results.append(
            Result(
                GROUP, f"append, {kind} ({label})", median(samples["big"]), "s",
                median(samples["small"]), f"{small_size:,}-event store", target=1.2,
                samples=samples["big"], baseline_samples=samples["small"],
                note=note,
            )
        )
    return results


BENCHMARKS: dict[str, Callable[[Config], list[Result]]] = {
    "import": bench_import,
    "cold": bench_cold,
    "growth": bench_growth,
}

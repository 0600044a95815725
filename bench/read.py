"""The read side: rebuild of the views, a cold `status`, catching up after one append.

Targets (from the issue), each judged as a ratio against a baseline measured
in the same run:

- `rebuild`: a full rebuild of the views of 1,000,000 events on SQLite (a
  realistic mix over ~1,440 course offerings) runs at least 2× the events/s of
  eventsourcing's stock replay of the same store (the ledger application's own
  `recorder.select_notifications` in pages of 10,000 + `mapper.to_domain_event`
  on each; NOTES: ~128,000 events/s), and peaks under 500 MB of memory.
- `cold`: `subledger status STUDENT` from a cold process on a caught-up store
  of 1,000,000 events costs at most 1.5× the import floor (`python -c "import
  click, msgspec, eventsourcing.application, eventsourcing.sqlite"`).
- `catchup`: catching the views up after one new event costs at most a few
  milliseconds (budget here: 5 ms), independent of history size (1,000,000-
  vs 10,000-event store: at most 1.2×).

The big store is built once per run (imports of 100,000 lines; ~40 s; see
bench.write.big_store, shared with the integrity group); `catchup` appends a few resubmissions to it,
so it runs last. Rebuild and replay each run in a fresh process, which times
its own work (the store opened, the replay or rebuild) and reports its peak
resident memory (VmHWM), so no run inherits another's heap.
"""

from __future__ import annotations

import gc
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

from bench import synthetic
from bench.harness import (
    BIN,
    PYTHON,
    CommandFailed,
    Config,
    Result,
    clean_env,
    cold_env,
    command,
    interleave,
    log,
    median,
    temp_dir,
)
from bench.write import ACTOR, FLOOR_IMPORTS, big_store, build_store, target
from ledger import events as ev
from ledger.app import Ledger

GROUP = "read"
PAGE = 10_000  # the stock replay's page size
MEMORY_BUDGET_MB = 500.0
CATCHUP_BUDGET = 0.005  # seconds: "at most a few milliseconds"
STATUS_COURSE = 500  # course-00500 (or the middle one of a smaller store)

# -- the shared big store --------------------------------------------------------

def store_size(path: str) -> int:
    ledger = Ledger(path)
    try:
        return int(ledger.head()[0])
    finally:
        ledger.close()


# -- rebuild vs stock replay, each in its own process --------------------------------

# Each script prints one JSON object: seconds of its work, events handled, and
# peak resident memory in KiB. The modules are imported before the clock starts
# (both sides alike); opening the store is timed. The peak is VmHWM, the
# high-water mark of the process's own memory since exec: `ru_maxrss` would not
# do, as Linux carries it over fork and exec, so a child started by this (big)
# process would report at least the RSS this one had at the fork.
_PRELUDE = """\
import json, resource, sys, time
import ledger.store.sqlite

def peak_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

"""

_REPLAY = _PRELUDE + """\
from ledger.app import Ledger
path = sys.argv[1]
page = int(sys.argv[2])
start = time.perf_counter()
app = Ledger(path)
done = 0
position = 0
while True:
    notifications = app.recorder.select_notifications(position, page, inclusive_of_start=False)
    if not notifications:
        break
    for n in notifications:
        app.mapper.to_domain_event(n)
    done += len(notifications)
    position = notifications[-1].id
elapsed = time.perf_counter() - start
app.close()
print(json.dumps({"seconds": elapsed, "events": done, "peak_kib": peak_kib(),
                  "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

_REBUILD = _PRELUDE + """\
from projections.runner import Views
path = sys.argv[1]
start = time.perf_counter()
views = Views.open(path)
done = views.rebuild()
elapsed = time.perf_counter() - start
courses = len(views.courses())
print(json.dumps({"seconds": elapsed, "events": done, "courses": courses, "peak_kib": peak_kib(),
                  "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _in_process_of_its_own(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [PYTHON, "-c", script, *args], env=clean_env(), capture_output=True, check=False
    )
    if done.returncode != 0:
        raise CommandFailed(f"a replay/rebuild process exited {done.returncode}:\n"
                            f"{done.stderr.decode(errors='replace')}")
    result: dict[str, Any] = json.loads(done.stdout)  # the script prints one JSON object
    return result


def bench_rebuild(cfg: Config) -> list[Result]:
    """Rebuild of the views of 1M events vs eventsourcing's stock replay (events/s, peak MB)."""
    rounds = cfg.pick(3, 1)
    path = big_store(cfg).path
    size = store_size(path)
    log(cfg, f"[read.rebuild] {size:,} events, {rounds} interleaved round(s), one process each")
    reports: dict[str, list[dict[str, Any]]] = {"replay": [], "rebuild": []}

    def job(name: str, script: str, *args: str) -> Callable[[], float]:
        def run() -> float:
            report = _in_process_of_its_own(script, path, *args)
            if report["events"] != size:
                raise AssertionError(f"{name} handled {report['events']:,} of {size:,} events")
            reports[name].append(report)
            return float(report["seconds"])

        return run

    samples = interleave(
        {"replay": job("replay", _REPLAY, str(PAGE)), "rebuild": job("rebuild", _REBUILD)}, rounds
    )
    rates = {name: [size / s for s in values] for name, values in samples.items()}
    rate = {name: size / median(values) for name, values in samples.items()}
    mb = {name: [r["peak_kib"] / 1024 for r in rs] for name, rs in reports.items()}
    ru = {name: [r["ru_maxrss_kib"] / 1024 for r in rs] for name, rs in reports.items()}
    courses = reports["rebuild"][-1]["courses"]
    label = f"{size // 1000:,}k events, {courses:,} courses"
    return [
        Result(
            GROUP, f"rebuild of the views ({label}; events/s)", rate["rebuild"], "events/s",
            rate["replay"], f"es replay, pages of {PAGE:,}", target=2.0, higher_is_better=True,
            samples=rates["rebuild"], baseline_samples=rates["replay"],
            note=f"{median(samples['rebuild']):.2f} s vs {median(samples['replay']):.2f} s "
            f"for {size:,} events; medians of {rounds}, interleaved, a fresh process each "
            "(store opened in the timing, imports not)",
        ),
        Result(
            GROUP, f"rebuild, peak memory (peak RSS, {size // 1000:,}k events)", max(mb["rebuild"]), "MB",
            MEMORY_BUDGET_MB, "budget", target=1.0, samples=mb["rebuild"],
            note="VmHWM of the rebuilding process, interpreter and imports included, the largest "
            f"of the runs; its ru_maxrss read {max(ru['rebuild']):,.0f} MB, but that counts this "
            "benchmark process's RSS at the fork too (Linux keeps ru_maxrss across fork and exec)",
        ),
        Result(
            GROUP, "info: stock replay, peak memory (peak RSS)", max(mb["replay"]), "MB",
            samples=mb["replay"], note=f"VmHWM; ru_maxrss read {max(ru['replay']):,.0f} MB",
        ),
    ]


# -- a cold status ---------------------------------------------------------------------


def _participant(course: int) -> tuple[str, str]:
    """The name of synthetic course number `course` and its first accepted student."""
    name = f"course-{course:05d}"
    student = next(
        e.student for e in synthetic.course_events(name, course) if isinstance(e, ev.ApplicationAccepted)
    )
    return name, student


def _check_output(argv: list[str], env: dict[str, str], expect: bytes) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    if done.returncode != 0 or expect not in done.stdout:
        raise CommandFailed(
            f"{' '.join(argv)} exited {done.returncode} without {expect!r} in its output:\n"
            f"{done.stderr.decode(errors='replace')}{done.stdout[:500].decode(errors='replace')}"
        )


def bench_cold(cfg: Config) -> list[Result]:
    """Cold `subledger status STUDENT` on a caught-up 1M store vs the import floor."""
    rounds = cfg.pick(15, 5)
    path = big_store(cfg).path
    size = store_size(path)
    courses = size // len(target().lines)
    course, student = _participant(min(STATUS_COURSE, courses // 2))
    from projections.runner import Views

    start = time.perf_counter()
    caught = Views.open(path).catch_up()
    log(
        cfg,
        f"[read.cold] {size:,} events; caught up {caught:,} in {time.perf_counter() - start:.1f} s; "
        f"{course} student {student}; {rounds} interleaved rounds",
    )
    env = cold_env()
    base = [str(BIN / "subledger"), "--store", path, "--course", course]
    argv = {
        "status": [*base, "status", student],
        "glance": [*base, "status"],
        "admission": [*base, "export", "admission", "--format", "csv"],
    }
    _check_output(argv["status"], env, b"A12,")
    _check_output(argv["glance"], env, b"A12")
    _check_output(argv["admission"], env, student.encode())
    samples = interleave(
        {
            "floor": command([PYTHON, "-c", FLOOR_IMPORTS], env),
            **{name: command(line, env) for name, line in argv.items()},
        },
        rounds,
        warmup=1,
    )
    m = {name: median(values) for name, values in samples.items()}
    label = f"{size // 1000:,}k-event store"
    return [
        Result(
            GROUP, f"cold `subledger status STUDENT` ({label})", m["status"], "s",
            m["floor"], "import floor", target=1.5,
            samples=samples["status"], baseline_samples=samples["floor"],
            note=f"{course}, student {student}; views caught up beforehand; medians of {rounds}, "
            "interleaved, bytecode cached for both sides",
        ),
        Result(
            GROUP, f"info: cold `subledger status` ({label})", m["glance"], "s",
            m["floor"], "import floor",
            samples=samples["glance"], baseline_samples=samples["floor"],
        ),
        Result(
            GROUP, f"info: cold `subledger export admission --format csv` ({label})", m["admission"], "s",
            m["floor"], "import floor",
            samples=samples["admission"], baseline_samples=samples["floor"],
        ),
    ]


# -- catching up after one new event ------------------------------------------------------


def bench_catchup(cfg: Config) -> list[Result]:
    """`Views.catch_up()` after one append: 1M-event store vs 10,000-event store."""
    rounds = cfg.pick(30, 10)
    course = target()  # course-00000: the first offering of both stores
    event = course.event()
    big = big_store(cfg).path
    from projections.runner import Views

    with temp_dir() as directory:
        small = str(directory / "small.sqlite")
        lines = list(synthetic.lines(10_000))
        if lines[: len(course.lines)] != course.lines:
            raise AssertionError("synthetic.lines() no longer starts with the target course")
        build_store(small, lines)
        del lines
        paths = {"small": small, "big": big}
        ledgers = {name: Ledger(p) for name, p in paths.items()}
        views = {name: Views.open(p) for name, p in paths.items()}
        try:
            for v in views.values():
                v.catch_up()
            sizes = {name: v.head() for name, v in views.items()}
            log(
                cfg,
                f"[read.catchup] stores of {sizes['small']:,} and {sizes['big']:,} events; "
                f"{rounds} interleaved append + catch-up each",
            )

            def job(name: str) -> Callable[[], float]:
                ledger, view = ledgers[name], views[name]

                def once() -> float:
                    ledger.append([event], ACTOR)  # untimed
                    gc.collect()
                    start = time.perf_counter()
                    applied = view.catch_up()
                    elapsed = time.perf_counter() - start
                    if applied != 1:
                        raise AssertionError(f"catch_up applied {applied} records, not 1")
                    return elapsed

                return once

            samples = interleave({name: job(name) for name in paths}, rounds, warmup=2)
            records = len(views["big"].records(course.name))
            if records != len(course.lines) + rounds + 2:
                raise AssertionError(f"the views hold {records} records of {course.name}")
        finally:
            for ledger in ledgers.values():
                ledger.close()
    small_m, big_m = median(samples["small"]), median(samples["big"])
    label = f"{sizes['big'] // 1000:,}k vs {sizes['small'] // 1000:,}k-event store"
    return [
        Result(
            GROUP, f"catch-up after one append ({label})", big_m, "s",
            small_m, f"{sizes['small']:,}-event store", target=1.2,
            samples=samples["big"], baseline_samples=samples["small"],
            note=f"{big_m * 1000:.2f} ms vs {small_m * 1000:.2f} ms; in-process Views.catch_up() after "
            f"one Ledger.append (a resubmission to {course.name}); medians of {rounds}, interleaved",
        ),
        Result(
            GROUP, f"catch-up after one append, absolute ({sizes['big'] // 1000:,}k store)", big_m, "s",
            CATCHUP_BUDGET, f"budget {CATCHUP_BUDGET * 1000:.0f} ms", target=1.0,
            samples=samples["big"],
        ),
    ]


BENCHMARKS: dict[str, Callable[[Config], list[Result]]] = {
    "rebuild": bench_rebuild,
    "cold": bench_cold,
    "catchup": bench_catchup,
}

"""Shared machinery of the benchmark suite: timing, temp stores, result rows, the table.

Shared machines are noisy, so every figure the suite judges is a *ratio*
against a baseline measured in the same run, with the two interleaved where
that is possible (so that a burst of load hits both alike). Seconds are
printed for information only; nothing passes or fails on them.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PYTHON = sys.executable  # the venv's python when run as `.venv/bin/python -m bench`
BIN = Path(PYTHON).parent


@dataclass
class Config:
    """What the command line asked for."""

    quick: bool = False
    verbose: bool = True

    def pick(self, full: Any, quick: Any) -> Any:
        """`quick` under --quick, else `full`."""
        return quick if self.quick else full


@dataclass
class Result:
    """One row of the table.

    `ratio` is measured/baseline. `higher_is_better` says which way the target
    points: for a rate (events/s) the ratio must be at least `target`, for a
    time at most `target`. Without a target the row is for information.
    """

    group: str
    name: str
    measured: float
    unit: str  # "s" (a duration) or e.g. "events/s" (a rate)
    baseline: float | None = None
    baseline_name: str = ""
    target: float | None = None
    higher_is_better: bool = False
    samples: list[float] = field(default_factory=list)
    baseline_samples: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.measured / self.baseline

    @property
    def ok(self) -> bool | None:
        if self.target is None or self.ratio is None:
            return None
        return self.ratio >= self.target if self.higher_is_better else self.ratio <= self.target

    def target_text(self) -> str:
        if self.target is None:
            return "(info)"
        return f"{'≥' if self.higher_is_better else '≤'} {self.target:.2f}×"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, ok=self.ok, target_text=self.target_text())
        return data


# -- timing ------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds one call of `fn` takes (after a collection, so earlier garbage is not billed)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def repeat(
    fn: Callable[[], Any],
    times: int,
    setup: Callable[[], Any] | None = None,
    teardown: Callable[[], Any] | None = None,
) -> list[float]:
    """Seconds of `times` calls of `fn`; `setup`/`teardown` run untimed around each."""
    samples = []
    for _ in range(times):
        if setup is not None:
            setup()
        samples.append(timed(fn))
        if teardown is not None:
            teardown()
    return samples


def interleave(
    jobs: Mapping[str, Callable[[], float | None]], rounds: int, warmup: int = 0
) -> dict[str, list[float]]:
    """Run each job once per round, rotating the order each round, and collect seconds.

    A job returns its own duration, or None to be timed here (around the call).
    Rotating the order keeps any job from always running right after another
    (caches, a load burst). `warmup` rounds run first and are not kept.
    """
    names = list(jobs)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(warmup + rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            own = jobs[name]()
            elapsed = time.perf_counter() - start if own is None else own
            if round_ >= warmup:
                samples[name].append(elapsed)
    return samples


class CommandFailed(RuntimeError):
    pass


def run_command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Seconds a command line takes, from `subprocess.run` call to return; it must exit 0."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise CommandFailed(
            f"{' '.join(argv)} exited {done.returncode}:\n"
            f"{done.stderr.decode(errors='replace')}{done.stdout.decode(errors='replace')}"
        )
    return elapsed


def command(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Callable[[], float]:
    """A job for `interleave` that runs `argv` and returns its time."""
    argv = list(argv)
    return lambda: run_command(argv, env)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for timed commands: ours, minus settings that would steer the CLI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLEDGER_")}
    env.update(extra)
    return env


_PYCACHE: list[str] = []


def cold_env(**extra: str) -> dict[str, str]:
    """`clean_env()` with a bytecode cache, as an installed program has.

    Without one (PYTHONDONTWRITEBYTECODE=1 is set on these machines, and the
    project is an editable install) every cold process compiles the project's
    modules from source, ~20 ms that an installed `subledger` never pays. The
    cache lives in a temp directory (PYTHONPYCACHEPREFIX), so nothing is written
    into the source tree; the warm-up round of a timing fills it. The floor
    commands get the same environment, so both sides read their bytecode alike.
    """
    if not _PYCACHE:
        directory = tempfile.mkdtemp(prefix="subledger-bench-pycache-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        _PYCACHE.append(directory)
    env = clean_env(**extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE[0]
    return env


def uncompiled_env(**extra: str) -> dict[str, str]:
    """`clean_env()` that compiles the project's modules afresh in every process."""
    env = clean_env(**extra)
    env.pop("PYTHONPYCACHEPREFIX", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


# -- temp stores -------------------------------------------------------------


@contextmanager
def temp_dir(prefix: str = "subledger-bench-") -> Iterator[Path]:
    """A directory removed afterwards (SQLite files and their -wal/-shm)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class FreshStores:
    """Hands out new SQLite paths in one temp directory; `fresh()` for each timed run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def fresh(self, stem: str = "store") -> str:
        self.count += 1
        return str(self.directory / f"{stem}-{self.count}.sqlite")

    @staticmethod
    def remove(path: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with suppress(FileNotFoundError):
                os.remove(path + suffix)


# -- reporting ---------------------------------------------------------------


def log(cfg: Config, message: str) -> None:
    if cfg.verbose:
        print(message, file=sys.stderr, flush=True)


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value * 1000:,.1f} ms" if value < 10 else f"{value:,.2f} s"
    return f"{value:,.0f} {unit}"


def table(results: Sequence[Result]) -> str:
    """The results as a markdown table."""
    header = "| name | measured | baseline | ratio | target | ok? |"
    lines = [header, "|---|---:|---|---:|---|---|"]
    for r in results:
        baseline = fmt_value(r.baseline, r.unit)
        if r.baseline_name:
            baseline = f"{baseline} ({r.baseline_name})"
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        ok = {True: "yes", False: "**NO**", None: "—"}[r.ok]
        name = f"{r.group}: {r.name}"
        lines.append(
            f"| {name} | {fmt_value(r.measured, r.unit)} | {baseline} | {ratio} "
            f"| {r.target_text()} | {ok} |"
        )
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    """Facts about the run that help compare one JSON file with another."""
    import platform

    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "executable": PYTHON,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    with suppress(OSError):
        info["loadavg"] = os.getloadavg()
    try:
        from importlib.metadata import version

        info["versions"] = {p: version(p) for p in ("eventsourcing", "msgspec", "click")}
    except Exception as error:  # noqa: BLE001 - information only
        info["versions"] = repr(error)
    return info

"""The benchmark suite: `python -m bench [--only NAME[,NAME]] [--quick] [--json FILE]`.

Every figure is a median, judged as a ratio against a baseline measured in the
same run (shared machines are noisy; absolute seconds are never pass/fail).
Each group is a module `bench/<group>.py` with a `BENCHMARKS` dict of
name -> function(Config) -> list[Result]; register a group by adding its name
to GROUPS below.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from types import ModuleType

from bench.harness import Config, Result, environment, log, table

GROUPS = [
    "write",
    "read",
    "integrity",
    "allocation",
    "load",
    "report",
]

Benchmark = Callable[[Config], list[Result]]


def load_groups() -> dict[str, ModuleType]:
    return {name: importlib.import_module(f"bench.{name}") for name in GROUPS}


def select(groups: dict[str, ModuleType], only: str | None) -> list[tuple[str, str, Benchmark]]:
    """The benchmarks to run, in order; `only` names groups, `group.bench`es or bare benches."""
    every = [
        (group, name, fn)
        for group, module in groups.items()
        for name, fn in module.BENCHMARKS.items()
    ]
    if not only:
        return every
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    chosen: list[tuple[str, str, Benchmark]] = []
    for w in wanted:
        hits = [b for b in every if w in (b[0], f"{b[0]}.{b[1]}", b[1])]
        if not hits:
            names = ", ".join(sorted({g for g, _, _ in every} | {f"{g}.{n}" for g, n, _ in every}))
            raise LookupError(f"no benchmark or group {w!r}; there are: {names}")
        chosen.extend(h for h in hits if h not in chosen)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run the benchmark suite and print medians and ratios against "
        "baselines measured in the same run.",
    )
    parser.add_argument(
        "--only", metavar="NAME[,NAME]",
        help="run only these groups (write) or benchmarks (write.import, import, …)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    groups = load_groups()
    try:
        chosen = select(groups, args.only)
    except LookupError as error:
        parser.error(str(error))  # exits 2
    if args.list:
        for group, name, fn in chosen:
            doc = (fn.__doc__ or "").strip().splitlines()
            print(f"{group}.{name}" + (f"  {doc[0]}" if doc else ""))
        return 0

    cfg = Config(quick=args.quick, verbose=not args.quiet)
    env = environment()
    log(cfg, f"bench: {len(chosen)} benchmark(s), {'quick' if cfg.quick else 'full'} mode, "
             f"{env.get('cpus')} cpus, load {env.get('loadavg')}")
    results: list[Result] = []
    timings: dict[str, float] = {}
    failures: dict[str, str] = {}
    for group, name, fn in chosen:
        start = time.perf_counter()
        try:
            results.extend(fn(cfg))
        except Exception as error:  # noqa: BLE001 - report it, and carry on with the others
            failures[f"{group}.{name}"] = f"{type(error).__name__}: {error}"
            log(cfg, f"[{group}.{name}] FAILED: {failures[f'{group}.{name}']}")
        timings[f"{group}.{name}"] = time.perf_counter() - start
        log(cfg, f"[{group}.{name}] {timings[f'{group}.{name}']:.1f} s")

    print()
    print(table(results))
    print()
    print("medians; ratio = measured / baseline from the same run; "
          f"{'quick' if cfg.quick else 'full'} mode; {sum(timings.values()):.0f} s in all")
    for r in results:
        if r.note:
            print(f"- {r.group}: {r.name}: {r.note}")
    for key, message in failures.items():
        print(f"FAILED {key}: {message}")

    if args.json:
        env["loadavg_after"] = environment().get("loadavg")
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "quick": cfg.quick,
                    "environment": env,
                    "seconds": timings,
                    "failures": failures,
                    "results": [r.as_dict() for r in results],
                },
                handle,
                indent=2,
            )
            handle.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

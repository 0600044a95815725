"""The report: a cold `subledger report` of the sample semester (1,000 events, 60 students).

Baseline: the plotting floor, a cold process that only imports what any
command imports plus matplotlib's figure and SVG backend; what the report adds
on top is reading the course, folding the charts' rows, drawing five charts and
writing the page. Medians of interleaved rounds, bytecode cached on both sides.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.harness import BIN, PYTHON, Config, Result, cold_env, command, interleave, log, median, run_command, temp_dir
from bench.write import FLOOR_IMPORTS

GROUP = "report"
SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "idl-2025.jsonl"
PLOTTING_FLOOR = FLOOR_IMPORTS + ", matplotlib.figure, matplotlib.backends.backend_svg"


def bench_report(cfg: Config) -> list[Result]:
    """Cold `subledger report -o FILE` on the sample semester vs the plotting floor."""
    rounds = cfg.pick(9, 3)
    env = cold_env()
    with temp_dir() as tmp:
        store, page = str(tmp / "sample.sqlite"), str(tmp / "report.html")
        run_command([str(BIN / "subledger"), "--store", store, "import", str(SAMPLE)], env)
        argv = [str(BIN / "subledger"), "--store", store, "report", "-o", page]
        samples = interleave(
            {"floor": command([PYTHON, "-c", PLOTTING_FLOOR], env), "report": command(argv, env)}, rounds, warmup=1
        )
        size = os.path.getsize(page)
    m = {name: median(values) for name, values in samples.items()}
    log(cfg, f"[report] {rounds} interleaved rounds; the page is {size / 1024:,.0f} KiB")
    return [
        Result(
            GROUP, "cold `subledger report` (sample semester)", m["report"], "s", m["floor"], "plotting floor",
            target=4.0, samples=samples["report"], baseline_samples=samples["floor"],
            note=f"the page: {size / 1024:,.0f} KiB, five charts, 60 students' timelines",
        ),
    ]


BENCHMARKS = {"report": bench_report}

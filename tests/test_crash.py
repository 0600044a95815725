"""kill -9 during a bulk import leaves none or all of it, a log that verifies, and keys that verify."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import synthetic
from ledger import integrity, keycheck
from ledger.app import Ledger

ROOT = Path(__file__).resolve().parent.parent
KILLS = 20
EVENTS_PER_IMPORT = 1_500


def _import(store: str, path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "--store", store, "import", str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_during_import_leaves_none_or_all(store_url: str, tmp_path: Path) -> None:
    rng = random.Random(9)
    files = []
    for i in range(KILLS + 2):  # two to time imports with, then one per kill
        path = tmp_path / f"import{i}.jsonl"
        path.write_bytes(b"\n".join(synthetic.lines(EVENTS_PER_IMPORT, first_course=3 * i)) + b"\n")  # no course in two files
        files.append(path)
    # How long an import takes here (the slower of two), so that kills land before, during and after
    # the write, whatever the load on the machine.
    durations = []
    for path in files[:2]:
        started = time.perf_counter()
        assert _import(store_url, path).wait(timeout=120) == 0
        durations.append(time.perf_counter() - started)
    duration = max(durations)
    outcomes = []
    for path in files[2:] + files[:2]:
        before = Ledger(store_url).head()[0]
        process = _import(store_url, path)
        time.sleep(rng.uniform(0.1, 2.0) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        ledger = Ledger(store_url)
        after = ledger.head()[0]
        already = path in files[:2]
        assert after - before in ((0,) if already else (0, EVENTS_PER_IMPORT)), (path, before, after)
        verdict = integrity.verify(ledger)
        assert verdict.ok, verdict.problem
        # A kill between the key file's new KEK and the commit leaves a KEK nothing uses: harmless.
        assert keycheck.verify_keys(ledger) == ("", None)
        outcomes.append(after - before)
    # Both kinds of outcome happened, so the kills really landed inside imports.
    assert 0 in outcomes[:-2] and EVENTS_PER_IMPORT in outcomes, outcomes

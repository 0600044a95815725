"""Integrity: `verify` against a plain read-and-hash, and what the Merkle log costs writers.

Targets (from the issue), each judged against a baseline measured in the same run:

- `verify`: `integrity.verify` of 1,000,000 events takes at most 3× the time of
  `read_and_hash` (read the same stored rows, SHA-256 each once).
- `merkle-import`: keeping the Merkle log current adds at most 10% to a bulk
  import of 100,000 events (vs the same import with the Merkle work a no-op).
- `merkle-append`: … and at most 5 ms to a single in-process append into a
  store of ~100,000 events.

"Without the Merkle work" patches, inside this process only and only around
the timed call, the three things `ledger.store.log.extend` does for the log's
hashes: building and hashing a leaf (`log.leaf`,
which then returns a constant 32-byte value, so rows keep their size) and
folding it into the frontier (`merkle.Frontier`, a stub). Positions, log rows
and the head row are still written, so the difference is the hashing alone.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from hashlib import sha256
from typing import Any
from unittest import mock

from bench import synthetic
from bench.harness import (
    Config,
    FreshStores,
    Result,
    interleave,
    log,
    median,
    temp_dir,
)
from bench.write import ACTOR, big_store, build_store, ledger_import, target
from ledger import integrity
from ledger.app import Ledger
from ledger.store import log as store_log

GROUP = "integrity"
APPEND_BUDGET = 0.005  # seconds the Merkle upkeep may add to one append


# -- the Merkle work as a no-op ------------------------------------------------

_NO_LEAF = bytes(32)


class _NoFrontier:
    """Stands in for `merkle.Frontier` in `log.extend`: keeps nothing, hashes nothing."""

    __slots__ = ()

    @classmethod
    def from_bytes(cls, data: bytes) -> _NoFrontier:
        return cls()

    def append(self, leaf: bytes) -> None:
        pass

    def extend(self, leaves: list[bytes]) -> None:
        pass

    def to_bytes(self) -> bytes:
        return bytes(8)  # a well-formed frontier of size 0


def _no_leaf(*_: Any) -> bytes:
    return _NO_LEAF


def _no_frontier(size: int, stored: bytes | None) -> _NoFrontier:
    return _NoFrontier()  # neither read nor checked against the head's size


@contextmanager
def merkle_off() -> Iterator[None]:
    """Within the block, `log.extend` writes rows and head without any Merkle work."""
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(store_log, "leaf", _no_leaf))
        stack.enter_context(mock.patch.object(store_log, "head_frontier", _no_frontier))  # what log.extend asks
        yield


# -- verify vs read-and-hash ---------------------------------------------------


def read_and_hash(ledger: Ledger) -> int:
    """Read every stored row and hash it once: the floor `verify` is measured against."""
    count = 0
    for row in integrity.stored_rows(ledger):
        sha256(row[5] or b"").digest()
        count += 1
    return count


def _timed_on(path: str, run: Callable[[Ledger], Any], check: Callable[[Any], None]) -> Callable[[], float]:
    """A job: open the store (untimed), time `run(ledger)`, check its answer, close."""

    def job() -> float:
        ledger = Ledger(path)
        try:
            gc.collect()
            start = time.perf_counter()
            answer = run(ledger)
            elapsed = time.perf_counter() - start
        finally:
            ledger.close()
        check(answer)
        return elapsed

    return job


def bench_verify(cfg: Config) -> list[Result]:
    """verify() of 1M events vs reading the rows and SHA-256-ing each once."""
    rounds = cfg.pick(3, 1)
    big = big_store(cfg)
    path, trusted = big.path, big.halfway
    with Ledger(path) as ledger:
        size = int(ledger.head()[0])  # another group may have appended to the shared store
    log(cfg, f"[integrity.verify] {size:,} events (checkpoint at {trusted.size:,}); {rounds} interleaved round(s)")

    def counted(count: int) -> None:
        if count != size:
            raise AssertionError(f"read_and_hash read {count:,} rows, the store holds {size:,}")

    def sound(verification: integrity.Verification) -> None:
        if not verification.ok or verification.size != size:
            raise AssertionError(f"verify found a problem in a sound store: {verification}")

    samples = interleave(
        {
            "baseline": _timed_on(path, read_and_hash, counted),
            "verify": _timed_on(path, integrity.verify, sound),
            "checkpoint": _timed_on(path, lambda led: integrity.verify(led, trusted), sound),
        },
        rounds,
    )
    m = {name: median(values) for name, values in samples.items()}
    label = f"{size // 1000:,}k events"
    return [
        Result(
            GROUP, f"verify ({label})", m["verify"], "s",
            m["baseline"], "read rows + SHA-256 each", target=3.0,
            samples=samples["verify"], baseline_samples=samples["baseline"],
            note=f"medians of {rounds}, interleaved; the store is opened untimed",
        ),
        Result(
            GROUP, f"info: verify with a checkpoint at {trusted.size:,} ({label})",
            m["checkpoint"], "s", m["baseline"], "read rows + SHA-256 each",
            samples=samples["checkpoint"], baseline_samples=samples["baseline"],
            note="includes building and checking the consistency proof (RFC 9162 §2.1.4)",
        ),
        Result(
            GROUP, f"info: building the {label} store", big.seconds, "s",
            note=f"{size / big.seconds:,.0f} events/s, imports of {big.chunk:,} lines",
        ),
    ]


# -- Merkle upkeep on a bulk import ----------------------------------------------


def bench_merkle_import(cfg: Config) -> list[Result]:
    """Bulk import with the Merkle log vs with its hashing a no-op."""
    total = cfg.pick(100_000, 20_000)
    rounds = cfg.pick(3, 1)
    lines = list(synthetic.lines(total))
    log(cfg, f"[integrity.merkle-import] {len(lines):,} events, {rounds} interleaved round(s)")
    with temp_dir() as directory:
        stores = FreshStores(directory)

        def job(merkle: bool) -> Callable[[], float]:
            def on_fresh_file() -> float:
                path = stores.fresh()
                try:
                    if merkle:
                        return ledger_import(path, lines)
                    with merkle_off():
                        return ledger_import(path, lines)
                finally:
                    stores.remove(path)

            return on_fresh_file

        samples = interleave({"with": job(True), "without": job(False)}, rounds)
    with_, without = median(samples["with"]), median(samples["without"])
    return [
        Result(
            GROUP, f"import {total:,} events, Merkle log kept", with_, "s",
            without, "Merkle work a no-op", target=1.10,
            samples=samples["with"], baseline_samples=samples["without"],
            note=f"overhead (with − without) / without = {(with_ - without) / without:+.1%} "
            f"(target ≤ +10%); {total / with_:,.0f} vs {total / without:,.0f} events/s; "
            f"medians of {rounds}, interleaved, fresh files",
        ),
    ]


# -- Merkle upkeep on a single append ----------------------------------------------


def bench_merkle_append(cfg: Config) -> list[Result]:
    """One in-process append into a ~100k store, with the Merkle log vs without."""
    total = cfg.pick(100_000, 20_000)
    rounds = cfg.pick(30, 10)
    course = target()
    lines = list(synthetic.lines(total))
    if lines[: len(course.lines)] != course.lines:
        raise AssertionError("synthetic.lines() no longer starts with the target course")
    with temp_dir() as directory:
        # Two identical stores: appends without the Merkle work leave a stub head
        # behind, which the other store never sees.
        paths = {"with": str(directory / "with.sqlite"), "without": str(directory / "without.sqlite")}
        sizes = {name: build_store(path, lines) for name, path in paths.items()}
        del lines
        log(
            cfg,
            f"[integrity.merkle-append] two stores of {sizes['with']:,} events; "
            f"{rounds} interleaved appends each",
        )
        ledgers = {name: Ledger(path) for name, path in paths.items()}
        event = course.event()

        def append(name: str) -> Callable[[], float]:
            ledger = ledgers[name]

            def once() -> float:
                with ExitStack() as stack:
                    if name == "without":
                        stack.enter_context(merkle_off())
                    start = time.perf_counter()
                    ledger.append([event], ACTOR)
                    return time.perf_counter() - start

            return once

        try:
            samples = interleave({name: append(name) for name in ledgers}, rounds, warmup=2)
            check = integrity.verify(ledgers["with"])
            if not check.ok:
                raise AssertionError(f"the store with the Merkle log does not verify: {check}")
        finally:
            for ledger in ledgers.values():
                ledger.close()
    with_, without = median(samples["with"]), median(samples["without"])
    return [
        Result(
            GROUP, f"append, in-process, Merkle log kept ({sizes['with'] // 1000:,}k store)",
            with_, "s", without + APPEND_BUDGET,
            f"no Merkle work {without * 1000:.2f} ms + {APPEND_BUDGET * 1000:.0f} ms", target=1.0,
            samples=samples["with"], baseline_samples=samples["without"],
            note=f"Merkle upkeep adds {(with_ - without) * 1000:+.3f} ms to one append "
            f"(target ≤ {APPEND_BUDGET * 1000:.0f} ms; {with_ * 1000:.2f} vs {without * 1000:.2f} ms); "
            f"medians of {rounds}, interleaved",
        ),
    ]


BENCHMARKS: dict[str, Callable[[Config], list[Result]]] = {
    "verify": bench_verify,
    "merkle-import": bench_merkle_import,
    "merkle-append": bench_merkle_append,
}

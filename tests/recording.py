"""Histories recorded over weeks, in tests: the store's clock is set, envelopes are not written.

`recorded_at` and `recorded_by` come from the store's clock and the actor at
append time; only a restore of a whole export into an empty store carries them
(ADR 10). A test that needs events recorded at given instants, appended over
several imports, sets the clock for each run of lines instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import groupby
from typing import Any
from unittest import mock

from ledger.app import Ledger

ENVELOPE = ("seq", "recorded_at", "recorded_by", "salt")


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Within the block, the store's clock reads `moment`."""
    with mock.patch("ledger.clock.now", return_value=moment.astimezone(UTC)):
        yield


def _instant(value: str | datetime) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def append_as_recorded(ledger: Ledger, lines: Sequence[dict[str, Any]]) -> None:
    """Append wire lines whose `recorded_at`/`recorded_by` say when and by whom, as then."""
    for (when, by), run in groupby(lines, key=lambda line: (line["recorded_at"], line["recorded_by"])):
        plain = [json.dumps({k: v for k, v in line.items() if k not in ENVELOPE}).encode() for line in run]
        with clock_at(_instant(when)):
            ledger.import_lines(plain, by)

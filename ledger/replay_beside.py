"""`python -m ledger.replay_beside`: the second process of `verify` (`integrity.beside`, ADR 19).

Reads `{"store", "proven", "upto"}` on standard input, writes
`{"problem", "position"}`: the first event up to `upto` that the append
path's decisions refuse ("" and null when none). Its own module, so that
nothing imports it: `ledger.integrity` starts it by name.
"""

from __future__ import annotations

import json
import os
import sys

from ledger.app import Ledger
from ledger.bulk import paused_gc
from ledger.integrity import replayed


def main() -> None:
    """Replay the store named on standard input; say the first problem on standard output."""
    asked = json.load(sys.stdin)
    ledger = Ledger(asked["store"])
    try:
        with paused_gc():
            problem, position = replayed(ledger, int(asked["proven"]), int(asked["upto"]))
    finally:
        ledger.close()
    sys.stdout.write(json.dumps({"problem": problem, "position": position}))
    sys.stdout.flush()
    os._exit(0)  # a million folded records need no teardown


if __name__ == "__main__":
    main()

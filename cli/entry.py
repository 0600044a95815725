"""The `subledger` entry point: a bare `--help` is answered without loading click.

`cli/help.txt` is the help click renders for the program (a test keeps the two
the same); printing it costs less than importing click, so `subledger --help`
starts as fast as Python can.
"""

from __future__ import annotations

import os
import sys

from cli.failures import flush
from cli.helpfile import HELP_FILE


def run() -> None:
    """Run the subledger program."""
    if sys.argv[1:] in (["--help"], ["-h"]):
        with open(HELP_FILE, encoding="utf-8") as handle:
            sys.stdout.write(handle.read())
        flush()
        return
    from cli.main import main

    try:
        main()
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    # Everything a command writes is committed (and on SQLite fsynced) before it
    # returns, so the interpreter's teardown — collecting every module and
    # closing pools that hold nothing — is pure cost: about 13 ms, a sixth of
    # a command. Flush what we printed and leave.
    if not flush() and code == 0:
        code = 1  # the output was not written (a full disk): said in one line
    os._exit(code)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")  # what Python itself does with a message
    return 1

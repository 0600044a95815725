"""What the program does when something other than the user's input goes wrong.

A closed pipe (`subledger log | head -1`) is no failure: output stops
quietly. An unexpected exception is a bug in subledger: it is said to be one,
in one line, and its traceback goes to a report file that the line names.
(Imported by the entry point on every start: standard library only, loaded late.)
"""

from __future__ import annotations

import os
import sys


def closed_pipe() -> None:
    """Send whatever is still buffered for stdout nowhere, so that flushing it at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file behind stdout (e.g. under a test runner)
        pass


def flush() -> bool:
    """Flush stdout and stderr; a reader that has gone away (`| head`) did not want the rest.

    False when the output could not be written (a full disk behind `> file`), said in one line.
    """
    written = True
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        closed_pipe()
    except OSError as error:
        closed_pipe()
        sys.stderr.write(f"{cannot_write(error)}\n")
        written = False
    sys.stderr.flush()
    return written




def out_of_space(error: OSError) -> bool:
    """Whether `error` is a disk (or quota, or file size limit) that is full."""
    import errno

    return error.errno in {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def cannot_write(error: OSError) -> str:
    """The one line for output that could not be written."""
    where = f" {error.filename!r}" if error.filename else " the output"
    return f"error: cannot write{where}: {error.strerror or error}"


def internal_error(error: BaseException, command: str | None) -> str | None:
    """Report a bug: one line on stderr naming a file that holds the traceback. Returns the file's path.

    The report holds the traceback, the versions and the command's name, never
    its arguments (a store URL may carry a password).
    """
    import platform
    import tempfile
    import traceback

    summary = f"{type(error).__name__}: {error}".splitlines()[0]
    report = "".join(
        [
            "subledger internal error\n",
            f"command: subledger {command or ''}\n",
            f"python {platform.python_version()} on {platform.platform()}\n\n",
            *traceback.format_exception(error),
        ]
    )
    line = f"internal error (a bug in subledger): {summary}"
    try:
        descriptor, path = tempfile.mkstemp(prefix="subledger-internal-error-", suffix=".txt")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:  # mkstemp: readable by its owner only
            handle.write(report)
    except OSError:
        sys.stderr.write(f"{report}{line}\n")
        return None
    sys.stderr.write(f"{line}; the full report is in {path}\n")
    return path

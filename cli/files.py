"""Files the program writes (`-o FILE`, keygen's keys): owner-only, whole or not at all, failures in one line.

An `-o` file may hold what the ledger keeps from most readers (an `events`
export carries the material keys and the applicants' statements), so every
file written with `-o` is made readable by its owner only (0600), whatever
the umask, and an existing file that is overwritten is set to 0600 too.
A regular file is written beside its target and renamed onto it when
complete: a full disk or a refusal half-way leaves the old file (or none),
never half an export. A device or pipe (`/dev/stdout`, a FIFO) is written
as it is.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from ledger.errors import LedgerError

OWNER_ONLY = 0o600


class CannotWrite(LedgerError):
    """A file could not be written (a missing folder, a full disk, no right to): nothing was written."""

    def __init__(self, path: str, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        super().__init__(f"cannot write {path!r}: {reason}")
        self.path = path


@contextlib.contextmanager
def output(path: str) -> Iterator[BinaryIO]:
    """A binary stream onto `path`, made 0600; renamed into place only when the block ends without error."""
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise CannotWrite(path, error) from None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        yield from _in_place(path)
        return
    folder = os.path.dirname(os.path.abspath(path))
    import tempfile

    try:
        descriptor, partial = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".partial")
    except OSError as error:
        raise CannotWrite(path, error) from None
    try:
        with os.fdopen(descriptor, "wb") as handle:  # mkstemp: 0600 whatever the umask
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as error:
        _remove(partial)
        raise CannotWrite(path, error) from None
    except BaseException:
        _remove(partial)
        raise


def _in_place(path: str) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "wb")  # noqa: SIM115 - closed below, its errors said as ours
    except OSError as error:
        raise CannotWrite(path, error) from None
    try:
        yield handle
        handle.flush()
    except OSError as error:
        raise CannotWrite(path, error) from None
    finally:
        with contextlib.suppress(OSError):
            handle.close()


def _remove(partial: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(partial)


def create_new(path: str, content: bytes, mode: int) -> None:
    """Write `content` into a file that must not exist yet (O_CREAT|O_EXCL), with `mode` from the moment it exists.

    `mode` is applied whatever the umask. An existing file is never touched.
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise LedgerError(f"{path!r} exists already: it is not overwritten; choose another name or move it away") from None
    except OSError as error:
        raise CannotWrite(path, error) from None
    try:
        os.fchmod(descriptor, mode)  # the umask may have taken bits away (or, for 0600, left none to take)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        _remove(path)
        raise CannotWrite(path, error) from None

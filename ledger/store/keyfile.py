"""The key file: key-encryption keys (KEKs), kept outside the event store (ADR 9).

The store holds each applicant's data keys only wrapped under a KEK of their
course; the KEKs live here. Erasing material replaces the course's KEK and
then destroys the old one in this file: the wrapped keys left in the store's
files, its write-ahead log or a database's data directory can then never be
unwrapped again.

The file is text, one KEK per line, written only in place so that no copy of
a key is left in blocks the file no longer owns:

    # subledger key-encryption keys (format 1) …
    <32 hex digits: KEK id> <44 base64 characters: the KEK>

A new KEK is appended (and fsynced) before the store commits anything wrapped
under it. A KEK is destroyed by overwriting its 44 characters with `-` in
place, fsynced, and read back. Every writer holds an exclusive `flock` on the
file. The file is created readable and writable by its owner only (0600).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ledger.errors import StoreError

HEADER = (
    b"# subledger key-encryption keys (format 1). Keep this file secret and apart from backups\n"
    b"# of the store: a copy of it taken before an erasure can undo that erasure (docs/operations.md).\n"
)
ID_SIZE = 16
KEK_SIZE = 32
_KEK_TEXT = 44  # base64 of 32 bytes
DESTROYED = b"-" * _KEK_TEXT


def new_id() -> bytes:
    """A fresh KEK id."""
    return os.urandom(ID_SIZE)


class KeyFile:
    """One key file: its KEKs by id, read on demand."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cache: dict[bytes, bytes] = {}

    # -- reading -----------------------------------------------------------------

    def read(self) -> tuple[dict[bytes, bytes], set[bytes]]:
        """The live KEKs by id, and the ids of destroyed ones (nothing if there is no file)."""
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return {}, set()
        except OSError as error:
            raise StoreError(f"cannot read the key file {self.path!r}: {error.strerror}") from None
        live: dict[bytes, bytes] = {}
        destroyed: set[bytes] = set()
        for line in data.splitlines():
            if not line or line.startswith(b"#"):
                continue
            parsed = _parse(line)
            if parsed is None:
                continue  # a line torn by a crash while it was appended: it was never used
            kek_id, kek = parsed
            if kek is None:
                destroyed.add(kek_id)
            else:
                live[kek_id] = kek
        self._cache = live
        return live, destroyed

    def get(self, kek_id: bytes) -> bytes | None:
        """The KEK with id `kek_id`, if the file holds it."""
        if kek_id not in self._cache:
            self.read()
        return self._cache.get(kek_id)

    # -- writing -------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's exclusive lock (creating the file, owner-only, if there is none)."""
        import fcntl

        descriptor = self._open(os.O_RDWR)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    def add(self, count: int = 1) -> list[tuple[bytes, bytes]]:
        """`count` new KEKs, appended and on disk (one fsync) before this returns: [(id, key)]."""
        if count <= 0:
            return []
        made = [(new_id(), os.urandom(KEK_SIZE)) for _ in range(count)]
        lines = b"".join(kek_id.hex().encode() + b" " + base64.b64encode(kek) + b"\n" for kek_id, kek in made)
        descriptor = self._open(os.O_RDWR | os.O_APPEND)
        try:
            end = os.fstat(descriptor).st_size
            if end and os.pread(descriptor, 1, end - 1) != b"\n":
                lines = b"\n" + lines  # after a line torn by a crash, start a fresh one
            os.write(descriptor, lines)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.read()
        if any(self._cache.get(kek_id) != kek for kek_id, kek in made):
            raise StoreError(f"the key file {self.path!r} did not keep its new key-encryption keys")
        return made

    def destroy(self, kek_ids: Iterable[bytes]) -> None:
        """Overwrite the KEKs `kek_ids` in place, fsync, and check that they are gone."""
        wanted = {i.hex().encode() for i in kek_ids}
        if not wanted:
            return
        descriptor = self._open(os.O_RDWR)
        try:
            offset = 0
            for line in _read_all(descriptor).splitlines(keepends=True):
                head = line[: ID_SIZE * 2]
                if head in wanted and _parse(line.rstrip(b"\n")) is not None:
                    os.pwrite(descriptor, DESTROYED, offset + ID_SIZE * 2 + 1)
                offset += len(line)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        for kek_id in kek_ids:
            self._cache.pop(kek_id, None)
        live, _ = self.read()
        left = [i.hex() for i in live if i.hex().encode() in wanted]
        if left:
            raise StoreError(f"the key file {self.path!r} still holds key-encryption key(s) {', '.join(left)}")

    def _open(self, flags: int) -> int:
        """Open the file, creating it (0600, with its header, fsynced with its folder) if missing."""
        folder = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            try:
                os.makedirs(folder, mode=0o700, exist_ok=True)
            except OSError as error:
                raise StoreError(f"cannot make the folder of the key file {self.path!r}: {error.strerror}") from None
        try:
            descriptor = os.open(self.path, flags | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            try:
                return os.open(self.path, flags)
            except OSError as error:
                raise StoreError(f"cannot open the key file {self.path!r}: {error.strerror}") from None
        except OSError as error:
            raise StoreError(f"cannot create the key file {self.path!r}: {error.strerror}") from None
        os.fchmod(descriptor, 0o600)  # whatever the umask
        os.pwrite(descriptor, HEADER, 0)
        os.fsync(descriptor)
        _fsync_folder(folder)
        return descriptor


def _parse(line: bytes) -> tuple[bytes, bytes | None] | None:
    """(id, KEK) of one line, (id, None) for a destroyed KEK, None for a line that is not whole."""
    parts = line.split(b" ")
    if len(parts) != 2 or len(parts[0]) != ID_SIZE * 2 or len(parts[1]) != _KEK_TEXT:
        return None
    try:
        kek_id = bytes.fromhex(parts[0].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    if parts[1] == DESTROYED:
        return kek_id, None
    try:
        kek = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        return None
    return (kek_id, kek) if len(kek) == KEK_SIZE else None


def _read_all(descriptor: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(descriptor, 1 << 16, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _fsync_folder(folder: str) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

"""Where the ledger keeps its events: SQLite (embedded) or PostgreSQL (shared)."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from ledger.errors import StoreError, first_line
from ledger.store.log import LogRow

__all__ = ["LogRow", "cannot_open", "is_postgres", "redacted", "store_env"]


def is_postgres(store: str) -> bool:
    """Whether `store` names a PostgreSQL database rather than an SQLite file."""
    return store.startswith(("postgresql://", "postgres://"))


def redacted(store: str) -> str:
    """`store` fit to print: a PostgreSQL URL without its password."""
    if not is_postgres(store):
        return store
    url = urlsplit(store)
    if url.password is None:
        return store
    return url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@")).geturl()


def cannot_open(store: str, error: Exception) -> StoreError:
    """The one-line error for a store that would not open, without its password."""
    return StoreError(f"cannot open store {redacted(store)!r}: {first_line(error)}")


def store_env(store: str) -> dict[str, str]:
    """The eventsourcing environment that opens `store`."""
    if not is_postgres(store):
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite:Factory",
            "SQLITE_DBNAME": store,
            "CREATE_TABLE": "true",
        }
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise StoreError("a PostgreSQL store needs the driver: pip install 'subledger[postgres]'")
    url = urlsplit(store)
    if not url.hostname or not url.path.strip("/"):
        raise StoreError(f"store URL {redacted(store)!r} needs a host and a database name")
    env = {
        "PERSISTENCE_MODULE": "ledger.store.postgres:Factory",
        "POSTGRES_DBNAME": unquote(url.path.strip("/")),
        "POSTGRES_HOST": url.hostname,
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        # A server that does not answer is reported in seconds, not after half a minute.
        "POSTGRES_CONNECT_TIMEOUT": os.environ.get("POSTGRES_CONNECT_TIMEOUT", "5"),
        "CREATE_TABLE": "true",
    }
    return env

"""Where the ledger keeps its events: SQLite (embedded) or PostgreSQL (shared)."""

from __future__ import annotations

import os
import re
from urllib.parse import SplitResult, unquote, urlsplit

from ledger.errors import StoreError, first_line
from ledger.store.log import LogRow

__all__ = [
    "KEY_FILE_ENV",
    "LogRow",
    "cannot_open",
    "is_postgres",
    "key_file_for",
    "postgres_url",
    "redacted",
    "require_store",
    "sqlite_file",
    "store_env",
]

KEY_FILE_ENV = "SUBLEDGER_KEY_FILE"


def is_postgres(store: str) -> bool:
    """Whether `store` names a PostgreSQL database rather than an SQLite file."""
    return store.startswith(("postgresql://", "postgres://"))


def redacted(store: str) -> str:
    """`store` fit to print: a PostgreSQL URL without its password (in the user part or `?password=`).

    Works on text alone, so that even a URL that cannot be parsed is printed without it.
    """
    if not is_postgres(store):
        return store
    scheme, _, rest = store.partition("://")
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    user, at, host = netloc.rpartition("@")
    if at and ":" in user:
        netloc = f"{user.partition(':')[0]}:***@{host}"
    tail = re.sub(r"([?&]password=)[^&#]*", r"\1***", tail, flags=re.IGNORECASE)
    return f"{scheme}://{netloc}{tail}"


# The query parameters of a postgresql:// URL that subledger honours (libpq knows more; they are refused, not ignored).
URL_PARAMETERS = ("password",)


def postgres_url(store: str) -> tuple[SplitResult, dict[str, str]]:
    """A postgresql:// URL's parts and its query parameters, or a StoreError naming what is wrong (never its password)."""
    from urllib.parse import parse_qs

    try:
        url = urlsplit(store)
        url.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
        query = parse_qs(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError as error:
        raise StoreError(f"store URL {redacted(store)!r} is not a valid URL: {error}") from None
    unknown = sorted(set(query) - set(URL_PARAMETERS))
    if unknown:
        raise StoreError(
            f"store URL {redacted(store)!r}: query parameter {unknown[0]!r} is not supported "
            f"(supported: {', '.join(URL_PARAMETERS)})"
        )
    if url.password is not None and "password" in query:
        raise StoreError(f"store URL {redacted(store)!r} gives a password twice (user part and ?password=)")
    return url, {name: values[-1] for name, values in query.items()}


def cannot_open(store: str, error: Exception) -> StoreError:
    """The one-line error for a store that would not open, without its password."""
    return StoreError(f"cannot open store {redacted(store)!r}: {first_line(error)}")


def sqlite_file(store: str) -> tuple[str, bool]:
    """The file an SQLite store names, and whether opening it may create it.

    A store may be a path or an SQLite `file:` URI (`file:ledger.sqlite?mode=ro`
    opens it read-only; only the default `mode=rwc` creates a missing file).
    """
    if not store.startswith("file:"):
        return store, True
    from urllib.parse import parse_qs

    parts = urlsplit(store)
    return unquote(parts.path), parse_qs(parts.query).get("mode", ["rwc"])[-1] == "rwc"


def require_store(store: str) -> None:
    """Refuse, in one line, to read a store that is not there or is not a subledger store.

    A read must never create a file, nor tables inside someone else's database.
    """
    if is_postgres(store):
        return  # a PostgreSQL database is created by its owner; an empty one reads as empty
    path, _ = sqlite_file(store)
    if not os.path.exists(path):
        raise StoreError(f"no store at {store!r}: open a course first or pass --store")
    import sqlite3
    from urllib.parse import quote

    try:
        connection = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True)
        try:
            found = connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'ledger_head'").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise cannot_open(store, error) from None
    if found is None:
        raise StoreError(f"{store!r} is not a subledger store")


def key_file_for(store: str) -> str:
    """Where `store` keeps its key-encryption keys (ADR 9): SUBLEDGER_KEY_FILE if set, else

    beside an SQLite store (`ledger.sqlite.keys`), and for a PostgreSQL store in
    the user's data folder, named after server and database
    (`$XDG_DATA_HOME/subledger/keys/HOST-PORT-DBNAME.keys`, by default under
    `~/.local/share`).
    """
    given = os.environ.get(KEY_FILE_ENV)
    if given:
        return given
    if not is_postgres(store):
        return sqlite_file(store)[0] + ".keys"
    from urllib.parse import quote

    url, _ = postgres_url(store)
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    name = f"{url.hostname}-{url.port or 5432}-{unquote(url.path.strip('/'))}"
    return os.path.join(data, "subledger", "keys", quote(name, safe="._-") + ".keys")


def store_env(store: str) -> dict[str, str]:
    """The eventsourcing environment that opens `store`."""
    if not is_postgres(store):
        return {
            "PERSISTENCE_MODULE": "ledger.store.sqlite:Factory",
            "SQLITE_DBNAME": store,
            "CREATE_TABLE": "true",
            KEY_FILE_ENV: key_file_for(store),
        }
    import importlib.util

    if importlib.util.find_spec("psycopg") is None:
        raise StoreError("a PostgreSQL store needs the driver: pip install 'subledger[postgres]'")
    url, query = postgres_url(store)
    if not url.hostname or not url.path.strip("/"):
        raise StoreError(f"store URL {redacted(store)!r} needs a host and a database name")
    env = {
        "PERSISTENCE_MODULE": "ledger.store.postgres:Factory",
        "POSTGRES_DBNAME": unquote(url.path.strip("/")),
        "POSTGRES_HOST": url.hostname,
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": unquote(url.password or "") or query.get("password", ""),
        # A server that does not answer is reported in seconds, not after half a minute.
        "POSTGRES_CONNECT_TIMEOUT": os.environ.get("POSTGRES_CONNECT_TIMEOUT", "5"),
        "CREATE_TABLE": "true",
        KEY_FILE_ENV: key_file_for(store),
    }
    return env

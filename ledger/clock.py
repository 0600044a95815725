"""Instants as SPEC §2 reads them: offsets kept, local times checked at DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


class BadInstant(ValueError):
    """An instant that cannot be read without guessing."""


# The years an instant may name, as written and in UTC (docs/decisions.md): wide enough
# for any course, narrow enough that a week or a day more never leaves what Python can hold.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def in_range(moment: datetime) -> datetime:
    """`moment` itself, or BadInstant when it names a year outside FIRST_YEAR to LAST_YEAR."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise BadInstant(f"{moment.isoformat()} is out of range (years {FIRST_YEAR} to {LAST_YEAR})")
    return moment


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The time zone called `name`, or BadInstant if there is none."""
    # Imported here: an append whose instants carry offsets needs no zone data.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInstant(f"unknown time zone {name!r}") from None


def localize(moment: datetime, tz: str) -> datetime:
    """`moment` in UTC; a naive one is read as wall-clock time in `tz`."""
    in_range(moment)  # and so its UTC time, at most a day away, can be held
    utc = _localize(moment, tz)
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise BadInstant(
            f"{moment.isoformat()} is {utc.isoformat()} in UTC, out of range (years {FIRST_YEAR} to {LAST_YEAR})"
        )
    return utc


def _localize(moment: datetime, tz: str) -> datetime:
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    zi = zone(tz)
    early = moment.replace(tzinfo=zi, fold=0)
    # A wall time that the clocks skip does not survive the round trip through UTC.
    if early.astimezone(UTC).astimezone(zi).replace(tzinfo=None) != moment:
        raise BadInstant(
            f"{moment.isoformat()} does not exist in {tz} (the clocks jump forward); "
            "give the offset"
        )
    if early.utcoffset() != moment.replace(tzinfo=zi, fold=1).utcoffset():
        raise BadInstant(
            f"{moment.isoformat()} is ambiguous in {tz} (it happens twice when the clocks "
            "go back); give the offset"
        )
    return early.astimezone(UTC)


def read_instant(text: str) -> datetime:
    """ISO 8601 `text` as written: with its offset, or naive (to be read in a course's zone later).

    The one parser of instants typed by people (the CLI's options and `parse_instant`).
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInstant(f"{text!r} is not an ISO 8601 instant (e.g. 2025-04-14T10:00+02:00)") from None
    return in_range(moment)


def parse_instant(text: str, tz: str) -> datetime:
    """Parse ISO 8601 `text` into a UTC instant, reading it in `tz` if it has no offset."""
    return localize(read_instant(text), tz)


def local(moment: datetime, tz: str) -> datetime:
    """`moment` as the wall clock in `tz` shows it (aware, with that zone's offset)."""
    return moment.astimezone(zone(tz))


def iso(moment: datetime) -> str:
    """An instant as the ledger writes it in messages: ISO 8601, UTC as `Z`."""
    return moment.isoformat().replace("+00:00", "Z")


def now() -> datetime:
    """The current instant in UTC."""
    return datetime.now(UTC)

"""Parameter types shared by commands: instants, and choices taken from the event types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

import click

from ledger import clock

if TYPE_CHECKING:  # click >= 8.2 types its parameters; older ones take no arguments at run time
    _InstantBase = click.ParamType[datetime, Any]
    _Choice = click.Choice[str]
else:
    _InstantBase = click.ParamType
    _Choice = click.Choice


class Instant(_InstantBase):
    """An ISO 8601 instant; without an offset it is read in the course's time zone."""

    name = "T"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return clock.read_instant(str(value))
        except clock.BadInstant as error:
            self.fail(str(error), param, ctx)


INSTANT = Instant()


def choice_of(literal: Any) -> _Choice:
    """A click choice of the values of a `Literal` type of the events (one list, kept there)."""
    return click.Choice(get_args(literal))

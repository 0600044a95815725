"""Parameter types shared by commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click


class Instant(click.ParamType):
    """An ISO 8601 instant; without an offset it is read in the course's time zone."""

    name = "T"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 instant (e.g. 2025-04-14T10:00+02:00)", param, ctx)


INSTANT = Instant()

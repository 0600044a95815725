"""Manners on a terminal: progress bars and colour there, and nowhere else.

A progress bar is drawn on stderr only when stderr is a terminal, and only for
work of some size; piped or redirected, nothing of it is written. Colour is
used only on a terminal, never when `NO_COLOR` is set to anything
(no-color.org) or `TERM` is `dumb`, and never in a file or an export.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

# Below this many steps the work is over before a bar could tell anything.
LEAST = 500

# Admission statuses (SPEC §5) as colours: a glance finds who is in trouble.
STATUS_COLOURS = {"on_track": "green", "at_risk": "yellow", "excluded": "red", "admitted": "blue", "withdrawn": "bright_black"}

Progress = Callable[[int, int], None]


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (a closed or fake stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def colour_on(stream: TextIO | None = None) -> bool:
    """Whether to colour what goes to `stream` (default stdout): a terminal, no NO_COLOR, not TERM=dumb."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream or sys.stdout)


def paint(text: str, colour: str | None, stream: TextIO | None = None) -> str:
    """`text` in `colour` where `stream` (default stdout) takes colour; else as it is."""
    return click.style(text, fg=colour) if colour and colour_on(stream) else text


def status(text: str, stream: TextIO | None = None) -> str:
    """An admission status, in its colour where `stream` takes colour."""
    return paint(text, STATUS_COLOURS.get(text), stream)


def plain(text: str, colour: str | None = None) -> str:
    """`text` as it is: the painter of files and pipes."""
    return text


@contextmanager
def progress(label: str) -> Iterator[Progress]:
    """A `tell(done, total)` for long work: it draws a bar on stderr when that is a terminal.

    The bar appears on the first call with a total of at least `LEAST`;
    otherwise (and whenever stderr is not a terminal) telling does nothing.
    """
    if not is_terminal(sys.stderr):
        yield _nothing
        return
    bar: ProgressBar[int] | None = None
    try:

        def tell(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                if total < LEAST:
                    return
                bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
                bar.__enter__()
            bar.length = total
            bar.update(done - bar.pos)

        yield tell
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _nothing(done: int, total: int) -> None:
    """Telling progress to no one."""

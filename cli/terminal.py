"""Manners on a terminal: progress bars and colour there, and nowhere else; no control character from the ledger.

A progress bar is drawn on stderr only when stderr is a terminal, and only for
work of some size; piped or redirected, nothing of it is written. Colour is
used only on a terminal, never when `NO_COLOR` is set to anything
(no-color.org) or `TERM` is `dumb`, and never in a file or an export.

Text for people (lines, messages, the table format) is shown through
`projections.formats.visible`: a control character from the ledger (an
escape sequence in a name, a title, a reason) is written as its escape
(`\x1b`), never as itself. Colour is the program's own: only `Styled` parts,
which hold the program's words, are coloured, after the rest is escaped.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, BinaryIO, TextIO

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


class Styled(str):
    """Words of the program's own (never text from the ledger), in `colour` where the output takes colour."""

    colour: str | None

    def __new__(cls, text: str, colour: str | None) -> Styled:
        styled = super().__new__(cls, text)
        styled.colour = colour
        return styled


def status(text: str) -> Styled:
    """An admission status, in its colour where the output takes colour."""
    return Styled(text, STATUS_COLOURS.get(text))


# A line for people: text, or parts of which the `Styled` ones may be coloured.
Line = str | tuple[str, ...]


def shown(line: Line, colour: bool = False, lines: bool = False) -> str:
    """`line` as a terminal may show it: every control character escaped, then (with `colour`) its
    `Styled` parts coloured; with `lines`, line ends and tabs are kept (`formats.visible`)."""
    from projections.formats import visible

    parts = (line,) if isinstance(line, str) else line
    return "".join(
        click.style(visible(p, lines), fg=p.colour) if colour and isinstance(p, Styled) and p.colour else visible(p, lines)
        for p in parts
    )


def echo(*parts: str, err: bool = False, nl: bool = True, lines: bool = True) -> None:
    """Write a message (its `parts` joined) to stdout or stderr, as `shown` shows it: line ends and
    tabs kept unless not `lines` (an error is one line, whatever the values it quotes hold)."""
    click.echo(shown(parts, colour_on(sys.stderr if err else sys.stdout), lines), err=err, nl=nl)


class Visible:
    """A binary stream onto a terminal: what is written to it (UTF-8) goes on with its control
    characters escaped, line ends and tabs kept (the data formats, shown on a terminal)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="backslashreplace")

    def write(self, data: bytes) -> int:
        """Write `data`; a character split between two writes is shown whole."""
        self.out.write(shown(self._decoder.decode(data), lines=True).encode("utf-8"))
        return len(data)

    def writelines(self, chunks: Iterator[bytes] | list[bytes]) -> None:
        """Write each of `chunks`."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Flush what has been written (a character begun but not ended waits for its rest)."""
        self.out.flush()

    def finish(self) -> None:
        """Write what is pending (a character never ended, shown as its bytes), and flush."""
        rest = self._decoder.decode(b"", final=True)
        if rest:
            self.out.write(shown(rest, lines=True).encode("utf-8"))
        self.out.flush()


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

"""`subledger report`: the course as one self-contained HTML page with charts."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli.main import Session
from cli.views import Output, output_options, read


@click.command("report")
@output_options(formats=False)
@click.pass_obj
def report(session: Session, out: Output) -> None:
    """Write the course as one HTML page with charts, to look at offline.

    Charts: admission status; fails per assignment, by reason; hand-in times
    against the deadline; group sizes by week; and each admitted student's
    timeline, picked from a list. The page is self-contained: it fetches
    nothing (no scripts, fonts or images from anywhere), so it can be mailed
    or opened without a network. --as-of and --known-at show the course as it
    stood then.

    \b
    Example:
      subledger report -o report.html
      subledger report -o report-june.html --as-of 2025-06-01T00:00
    """
    from projections.report import html
    from projections.report import report as gather

    if out.path in (None, "-") and sys.stdout.isatty():
        raise click.UsageError("the report is an HTML page: write it to a file with -o FILE")
    page = html(gather(read(session, out))).encode("utf-8")
    with out.stream() as stream:
        stream.write(page)


COMMANDS: list[Any] = [report]

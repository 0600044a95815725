"""Commands that move many events at once or describe the format: import, export, schema."""

from __future__ import annotations

import sys
from collections import Counter
from typing import IO, Any

import click

from cli.main import Session


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every line against the rules; write nothing.")
@click.pass_obj
def import_(session: Session, file: IO[bytes], dry_run: bool) -> None:
    """Append the events of a JSONL file (`-` for stdin), all or nothing.

    Every bad line is reported with its line number, and then nothing is
    written. Lines already in the store (same id, same content) are skipped,
    so importing the same file twice appends nothing the second time.

    \b
    Example:
      subledger import samples/idl-2025.jsonl
      cat late-hand-ins.jsonl | subledger import - --dry-run
    """
    from ledger.events import type_name

    ledger = session.ledger(must_exist=False)
    result = ledger.import_lines(file, session.actor, dry_run=dry_run)
    counts = Counter(type_name(r.event) for r in result.recorded)
    verb = "would append" if dry_run else "appended"
    where = f" (positions {result.recorded[0].position}-{result.recorded[-1].position})" if result.recorded else ""
    click.echo(f"{verb} {len(result.recorded)} events{where}; {result.skipped} already in the store")
    for name, count in counts.most_common():
        click.echo(f"  {count:6d}  {name}")


@click.command("export")
@click.argument("view", type=click.Choice(["events"]))
@click.option("-o", "--output", type=click.File("wb"), default="-", help="Write to FILE instead of stdout.")
@click.pass_obj
def export(session: Session, view: str, output: IO[bytes]) -> None:
    """Write a view of the ledger; `events` is the whole ledger as JSONL.

    An `events` export carries each event's envelope (id, seq, recorded_at,
    recorded_by) and the keys of application material not yet erased, so it
    restores into an empty store to the same events and the same digest.

    \b
    Example:
      subledger export events -o backup.jsonl
    """
    for line in session.ledger().export_lines():
        output.write(line + b"\n")


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of the event wire format (one JSONL line).

    \b
    Example:
      subledger schema > subledger.schema.json
    """
    import msgspec

    from ledger import wire

    sys.stdout.write(msgspec.json.format(msgspec.json.encode(wire.schema())).decode() + "\n")


COMMANDS: list[Any] = [import_, export, schema]

"""Commands that move many events at once or describe the format: import, schema.

(`export`, which writes every view including `events`, is in cli/views.py.)
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import IO, Any

import click

from cli import terminal
from cli.main import Session


@click.command("import")
@click.argument("file", type=click.File("rb"))
@click.option("--dry-run", is_flag=True, help="Check every line against the rules; write nothing.")
@click.option("--checkpoint", "checkpoint_file", type=click.File("r", encoding="utf-8-sig"), help="A restore must be the ledger of this checkpoint (size and root), or nothing is written.")
@click.pass_obj
def import_(session: Session, file: IO[bytes], dry_run: bool, checkpoint_file: IO[str] | None) -> None:
    """Append the events of a JSONL file (`-` for stdin), all or nothing.

    Every bad line is reported with its line number, and then nothing is
    written. Lines already in the store (same id, same content) are skipped,
    so importing the same file twice appends nothing the second time.

    An `events` export imported into an empty store is a restore: it keeps
    ids, positions, recorded_at and recorded_by, and so the digest. Only a
    whole export restores; with --checkpoint it must be the checkpoint's ledger.

    \b
    Example:
      subledger import samples/idl-2025.jsonl
      cat late-hand-ins.jsonl | subledger import - --dry-run
      subledger --store new.sqlite import backup.jsonl --checkpoint checkpoint.txt
    """
    from ledger.checkpoint import Checkpoint
    from ledger.events import type_name

    expected = None
    if checkpoint_file is not None:
        try:
            expected = Checkpoint.parse(checkpoint_file.read())
        except (ValueError, UnicodeDecodeError) as error:
            message = "the checkpoint is not text" if isinstance(error, UnicodeDecodeError) else str(error)
            raise click.BadParameter(message, param_hint="--checkpoint") from None
    ledger = session.ledger(must_exist=False)
    with terminal.progress("checking the lines") as tell:
        result = ledger.import_lines(file, session.actor, dry_run=dry_run, checkpoint=expected, progress=tell)
    counts = Counter(type_name(r.event) for r in result.recorded)
    verb = "would append" if dry_run else "appended"
    where = f" (positions {result.recorded[0].position}-{result.recorded[-1].position})" if result.recorded else ""
    terminal.echo(f"{verb} {len(result.recorded)} events{where}; {result.skipped} already in the store")
    for name, count in counts.most_common():
        terminal.echo(f"  {count:6d}  {name}")


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


COMMANDS: list[Any] = [import_, schema]

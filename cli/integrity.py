"""Commands for auditors: checkpoints, verification, receipts."""

from __future__ import annotations

import sys
from typing import IO, Any

import click

from cli import terminal
from cli.main import Session


def _read(file: IO[str], what: str) -> str:
    try:
        return file.read()
    except UnicodeDecodeError:
        raise click.BadParameter(f"the {what} is not text") from None


@click.command("digest")
@click.option("--key", "key_file", type=click.File("rb"), help="Sign with this Ed25519 private key (PEM).")
@click.option("--key-name", default="subledger", show_default=True, help="Name of the signer in the signature line.")
@click.pass_obj
def digest(session: Session, key_file: IO[bytes] | None, key_name: str) -> None:
    """Print a checkpoint of the ledger: origin, size and Merkle root.

    Keep it: `verify CHECKPOINT` later proves the ledger still extends it.

    \b
    Example:
      subledger digest > checkpoint-2025-07-01.txt
      subledger digest --key auditor.key > signed-checkpoint.txt
    """
    from ledger import checkpoint as cp
    from ledger import integrity

    point = integrity.checkpoint(session.ledger())
    if key_file is None:
        terminal.echo(point.to_text(), nl=False)
        return
    try:
        terminal.echo(cp.sign(point, key_file.read(), key_name), nl=False)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--key") from None


@click.command("verify")
@click.argument("checkpoint_file", metavar="[CHECKPOINT]", type=click.File("r", encoding="utf-8-sig"), required=False)
@click.option("--trust", "trust_file", type=click.File("rb"), help="Require the checkpoint to be signed by this public key (PEM).")
@click.pass_obj
def verify(session: Session, checkpoint_file: IO[str] | None, trust_file: IO[bytes] | None) -> None:
    """Recompute every leaf and the root; prove the log extends CHECKPOINT.

    Exit 0 when everything holds; exit 1 naming the first bad position when
    an event was changed, deleted, inserted or reordered.

    \b
    Example:
      subledger verify checkpoint-2025-07-01.txt
      subledger verify signed-checkpoint.txt --trust auditor.pub
    """
    from ledger import checkpoint as cp
    from ledger import integrity, keycheck

    trusted = None
    if checkpoint_file is not None:
        text = _read(checkpoint_file, "checkpoint")
        try:
            trusted = cp.Checkpoint.parse(text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="CHECKPOINT") from None
        if trust_file is not None:
            try:
                signed = cp.verify_signature(text, trust_file.read())
            except ValueError as error:  # not a public key (a private one, say)
                raise click.BadParameter(str(error), param_hint="--trust") from None
            if not signed:
                _failed("the checkpoint is not signed by the trusted key")
                sys.exit(1)
    elif trust_file is not None:
        raise click.UsageError("--trust needs a CHECKPOINT to check")
    with terminal.progress("verifying the log") as tell:
        verification = integrity.verify(session.ledger(), trusted, tell)
    verification = keycheck.checked(session.ledger(), verification)  # the material keys (ADR 9)
    if not verification.ok:
        where = f" (first bad position: {verification.bad_position})" if verification.bad_position else ""
        _failed(f"{verification.problem}{where}")
        sys.exit(1)
    from projections.verify import verify_views

    views = verify_views(session.store)  # the stored views against a rebuild of the log
    for problem in views.problems:
        _failed(problem)
    if not views.ok:
        sys.exit(1)
    against = f"; extends the checkpoint of {trusted.size} events" if trusted else ""
    terminal.echo(terminal.Styled("verified", "green"), f" {verification.size} events of {verification.origin}{against}")


def _failed(problem: str) -> None:
    terminal.echo(terminal.Styled("verification failed", "red"), f": {problem}", err=True)


@click.command("receipt")
@click.argument("event_id")
@click.option("--size", type=click.IntRange(min=1), help="Prove inclusion in the log as it was at this size (default: now).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-", help="Write to FILE instead of stdout.")
@click.pass_obj
def receipt(session: Session, event_id: str, size: int | None, output: str) -> None:
    """Print a receipt: one event as stored, with a proof that it is in the ledger.

    Checked offline with `verify-receipt` against a checkpoint of the same
    size. It carries this event as stored (application material stays
    sealed) and only hashes of the others, so it reveals no other event.

    \b
    Example:
      subledger receipt 0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e -o receipt.json
      subledger receipt 0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e --size 1009 -o receipt.json
    """
    from uuid import UUID

    from ledger import integrity

    try:
        target = UUID(event_id)
    except ValueError:
        raise click.BadParameter(f"{event_id!r} is not an event id (a UUID)") from None
    made = integrity.receipt(session.ledger(), target, size).to_json()
    if output == "-":
        click.echo(made, nl=False)
        return
    from cli.files import output as output_file

    with output_file(output) as handle:  # owner-only, whole or not at all
        handle.write(made.encode("utf-8"))


@click.command("verify-receipt")
@click.argument("receipt_file", metavar="RECEIPT", type=click.File("rb"))
@click.argument("checkpoint_file", metavar="CHECKPOINT", type=click.File("r", encoding="utf-8-sig"))
def verify_receipt(receipt_file: IO[bytes], checkpoint_file: IO[str]) -> None:
    """Check a receipt against a checkpoint, offline, without the store.

    Prints where the event is and the event itself, as `export events` writes
    it (application material sealed). Exit 1 when the receipt does not prove
    its event under the checkpoint: any edit of a receipt fails.

    \b
    Example:
      subledger verify-receipt receipt.json checkpoint.txt
    """
    from ledger import checkpoint as cp
    from ledger import wire

    try:
        point = cp.Checkpoint.parse(_read(checkpoint_file, "checkpoint"))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="CHECKPOINT") from None
    try:
        # The receipt is what is being verified: whatever is wrong with it is a failed verification.
        held = cp.Receipt.parse_json(receipt_file.read().decode("utf-8"))
        proven = cp.check_receipt(held, point)
    except (ValueError, UnicodeDecodeError) as error:
        message = "the receipt is not text" if isinstance(error, UnicodeDecodeError) else str(error)
        terminal.echo(f"verification failed: {message}", err=True)
        sys.exit(1)
    terminal.echo(f"event {proven.id} is at position {proven.position} of {point.origin} ({point.size} events):")
    terminal.echo(wire.encode_line(proven).decode())


@click.command("keygen")
@click.argument("private_path", metavar="PRIVATE", type=click.Path(dir_okay=False))
@click.argument("public_path", metavar="PUBLIC", type=click.Path(dir_okay=False))
def keygen(private_path: str, public_path: str) -> None:
    """Make an Ed25519 key pair for signing checkpoints (PEM files).

    Neither file may exist (a key is never overwritten); the private key is
    readable by its owner only (0600) from the moment it exists.

    \b
    Example:
      subledger keygen auditor.key auditor.pub
    """
    import os

    from cli.files import OWNER_ONLY, create_new
    from ledger import checkpoint as cp

    if os.path.abspath(private_path) == os.path.abspath(public_path):
        raise click.UsageError("PRIVATE and PUBLIC must be two files")
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise click.BadParameter(f"{path!r} exists already: a key file is never overwritten")
    private, public = cp.generate_keypair()
    create_new(private_path, private, OWNER_ONLY)  # O_CREAT|O_EXCL: readable by its owner only from the start
    try:
        create_new(public_path, public, 0o644)
    except Exception:
        os.unlink(private_path)  # no half a key pair
        raise
    terminal.echo("wrote the private key (keep it secret) and the public key (share it)")


@click.command("postgres-roles")
@click.argument("writer")
@click.argument("auditor")
def postgres_roles(writer: str, auditor: str) -> None:
    """Print the SQL that gives a writer role and a read-only auditor role their rights.

    Run it with psql as the owner, after the owner has created the tables
    (`subledger rebuild` creates the ledger's and the views'). The writer
    appends but cannot alter; the auditor reads, exports and verifies.

    \b
    Example:
      subledger postgres-roles staff auditor | psql "$OWNER_URL"
    """
    import re

    from ledger.store.roles import roles_sql
    from projections.runner import VIEW_TABLES

    for role in (writer, auditor):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", role):
            raise click.BadParameter(f"{role!r} is not a plain PostgreSQL role name (letters, digits, _)")
    terminal.echo(roles_sql(writer, auditor, maintained=VIEW_TABLES), nl=False)


COMMANDS: list[Any] = [digest, verify, receipt, verify_receipt, keygen, postgres_roles]

"""The auditor's commands through the CLI: checkpoints, signatures, receipts, roles SQL."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from ledger.store import redacted
from tests.cli_helpers import run, semester


def test_digest_verify_and_receipt(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    records = semester(store)
    checkpoint = tmp_path / "checkpoint.txt"
    digest = run(store, "digest")
    assert digest.exit_code == 0
    origin, size, root = digest.output.splitlines()
    assert origin == f"subledger/{records[0].id}" and size == str(len(records)) and len(root) == 44
    checkpoint.write_text(digest.output)
    verified = run(store, "verify", str(checkpoint))
    assert verified.exit_code == 0
    assert verified.output == f"verified {len(records)} events of {origin}; extends the checkpoint of {size} events\n"
    receipt = tmp_path / "receipt.json"
    assert run(store, "receipt", str(records[5].id), "-o", str(receipt)).exit_code == 0
    checked = run(store, "verify-receipt", str(receipt), str(checkpoint))
    assert checked.exit_code == 0
    proven, line = checked.output.splitlines()
    assert proven == f"event {records[5].id} is at position 6 of {origin} ({size} events):"
    shown = json.loads(line)  # an application: its material stays sealed in a receipt
    assert (shown["id"], shown["seq"], shown["type"]) == (str(records[5].id), 6, "ApplicationSubmitted")
    assert shown["name"].startswith("sealed:v1:")
    tampered = tmp_path / "other.txt"
    tampered.write_text(digest.output.replace(root, "A" * 43 + "="))
    failed = run(store, "verify-receipt", str(receipt), str(tampered))
    assert failed.exit_code == 1 and failed.stderr.startswith("verification failed: the inclusion proof")


def test_signed_checkpoints(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    semester(store)
    private, public, other = tmp_path / "a.key", tmp_path / "a.pub", tmp_path / "b.pub"
    assert run(store, "keygen", str(private), str(public)).exit_code == 0
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert run(store, "keygen", str(tmp_path / "b.key"), str(other)).exit_code == 0
    signed = tmp_path / "signed.txt"
    signed.write_text(run(store, "digest", "--key", str(private)).output)
    assert "\n\n\u2014 subledger " in signed.read_text()
    assert run(store, "verify", str(signed), "--trust", str(public)).exit_code == 0
    wrong = run(store, "verify", str(signed), "--trust", str(other))
    assert wrong.exit_code == 1 and "not signed by the trusted key" in wrong.stderr


def test_postgres_roles_sql_takes_plain_names_only() -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["postgres-roles", "staff", "auditor"])
    assert ok.exit_code == 0 and 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "auditor";' in ok.output
    bad = runner.invoke(main, ["postgres-roles", 'staff"; DROP TABLE x; --', "auditor"])
    assert bad.exit_code == 2 and "not a plain PostgreSQL role name" in bad.output


def test_store_urls_are_printed_without_passwords() -> None:
    assert redacted("postgresql://staff:s3cret@db.example:5432/ledger") == "postgresql://staff:***@db.example:5432/ledger"
    assert redacted("ledger.sqlite") == "ledger.sqlite"

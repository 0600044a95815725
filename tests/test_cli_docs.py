"""docs/cli.md is the commands' own --help, kept current; shell completion works in bash, zsh and fish."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import COMMAND_MODULES, main
from cli.reference import REFERENCE, reference
from cli.shell import SHELLS, script

SUBLEDGER = str(Path(sys.executable).parent / "subledger")
ENV = {"SUBLEDGER_STORE": None, "SUBLEDGER_COURSE": None, "SUBLEDGER_ACTOR": None}


def test_the_reference_is_current() -> None:
    kept = Path(REFERENCE).read_text(encoding="utf-8")
    assert kept == reference(main), "refresh it: python -c 'import cli.main as m; m.write_help()'"


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_the_reference_holds_each_commands_help_as_it_prints_it(name: str) -> None:
    printed = CliRunner(env=ENV).invoke(main, [name, "--help"], prog_name="subledger").output
    kept = Path(REFERENCE).read_text(encoding="utf-8")
    assert f"## subledger {name}\n\n```text\n{printed}```\n" in kept
    assert f"- [`{name}`](#subledger-{name}): " in kept
    assert "Example:" in printed


def test_the_programs_help_is_there_too() -> None:
    printed = CliRunner(env=ENV).invoke(main, ["--help"], prog_name="subledger").output
    assert f"## subledger\n\n```text\n{printed}```\n" in Path(REFERENCE).read_text(encoding="utf-8")


def complete(words: str, shell: str = "bash") -> list[str]:
    """What click offers for the last of `words` (bash's protocol: `type,value` per line)."""
    parts = words.split(" ")
    env = {**ENV, "_SUBLEDGER_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner(env=env).invoke(main, [], prog_name="subledger")
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_completion_offers_commands_views_formats_and_files() -> None:
    assert complete("subledger exp") == ["plain,explain", "plain,export"]
    assert complete("subledger export ") == [f"plain,{v}" for v in ("admission", "roster", "teams", "gradebook", "exam", "events", "sheet")]
    assert "plain,xlsx" in complete("subledger export admission --format ")
    assert complete("subledger present A01 231045 --outcome ") == [
        "plain,explained", "plain,failed_to_explain", "plain,absent"
    ]  # fmt: skip
    assert complete("subledger import sam") == ["file,sam"]
    assert complete("subledger completion ") == [f"plain,{s}" for s in SHELLS]


@pytest.mark.parametrize("shell", SHELLS)
def test_the_completion_command_prints_clicks_script(shell: str) -> None:
    printed = CliRunner(env=ENV).invoke(main, ["completion", shell], prog_name="subledger")
    assert printed.exit_code == 0 and printed.output == script(shell) + "\n"
    environment = {**os.environ, "_SUBLEDGER_COMPLETE": f"{shell}_source"}
    sourced = subprocess.run([SUBLEDGER], env=environment, capture_output=True, text=True, check=False)
    assert sourced.returncode == 0 and sourced.stdout.strip() == script(shell).strip()
    assert "_SUBLEDGER_COMPLETE" in printed.output and "subledger" in printed.output


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completes_with_the_script() -> None:
    program = f"""
    export PATH={Path(SUBLEDGER).parent}:$PATH
    eval "$(subledger completion bash)"
    COMP_WORDS=(subledger export ev); COMP_CWORD=2
    _subledger_completion subledger
    echo "${{COMPREPLY[@]}}"
    """
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "events"

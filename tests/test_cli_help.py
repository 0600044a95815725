"""The program's help: kept in step with the commands, an example on every command."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.helpfile import HELP_FILE
from cli.main import COMMAND_MODULES, main, rendered_help

ROOT = Path(__file__).resolve().parent.parent


def test_the_fast_help_is_what_click_renders() -> None:
    kept = Path(HELP_FILE).read_text(encoding="utf-8")
    assert kept == rendered_help(), "refresh it: python -c 'import cli.main as m; m.write_help()'"


def test_bare_help_does_not_load_click() -> None:
    code = "import sys; sys.argv = ['subledger', '--help']; from cli.entry import run; run(); print('click' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.startswith("Usage: subledger") and out.rstrip().endswith("False")


def test_every_command_is_where_the_map_says() -> None:
    found = {}
    for module_name in sorted(set(COMMAND_MODULES.values())):
        for command in importlib.import_module(module_name).COMMANDS:
            found[command.name] = module_name
    assert found == COMMAND_MODULES


@pytest.mark.parametrize("name", sorted(COMMAND_MODULES))
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and f"subledger {name}" in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["hand-out"])
    assert result.exit_code == 2 and "No such command" in result.output
    assert isinstance(main, click.Group)


@pytest.mark.parametrize(
    ("command", "option", "literal"),
    [("apply", "--programme", "Programme"), ("present", "--outcome", "Outcome"),
     ("assess", "--verdict", "Verdict"), ("register-exam", "--mode", "ExamMode")],
)  # fmt: skip
def test_choices_are_the_event_types_own(command: str, option: str, literal: str) -> None:
    from typing import get_args

    from ledger import events as ev

    found = CliRunner().invoke(main, [command, "--help"]).output
    choices = "[" + "|".join(get_args(getattr(ev, literal))) + "]"
    assert choices in found.replace("\n", "").replace(" ", ""), (option, choices)

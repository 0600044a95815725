"""`subledger completion SHELL`: click's shell completion script, for bash, zsh or fish."""

from __future__ import annotations

from typing import Any

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_SUBLEDGER_COMPLETE"


def script(shell: str) -> str:
    """The completion script click writes for `shell` (what `_SUBLEDGER_COMPLETE={shell}_source subledger` prints)."""
    from click.shell_completion import get_completion_class

    from cli.main import main

    completion = get_completion_class(shell)
    assert completion is not None, shell
    return completion(main, {}, "subledger", COMPLETE_VAR).source()


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Commands, options, views and formats, the choices of options and file
    names complete on TAB. Load it once per shell (bash 4.4 or later):

    \b
      bash: add  eval "$(subledger completion bash)"  to ~/.bashrc
      zsh:  add  eval "$(subledger completion zsh)"   to ~/.zshrc
      fish: subledger completion fish > ~/.config/fish/completions/subledger.fish

    \b
    Example:
      subledger completion bash > ~/.local/share/bash-completion/completions/subledger
    """
    click.echo(script(shell))


COMMANDS: list[Any] = [completion]

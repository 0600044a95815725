"""docs/cli.md, the command-line reference: written from the program's own `--help`, never by hand.

`cli.main.write_help()` writes it, with cli/help.txt; `tests/test_cli_docs.py`
fails when it is not what the commands say. (The program is passed in, so this
module imports nothing of the CLI it describes.)
"""

from __future__ import annotations

import os

import click

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
REFERENCE = os.path.join(DOCS, "cli.md")

INTRODUCTION = """\
# Command-line reference

<!-- Generated from the commands' --help by `python -c 'import cli.main as m; m.write_help()'`; edit the help, not this file. -->

Every command of `subledger`, with the help it prints (`subledger COMMAND
--help`). Exit codes: 0 done; 1 refused by a rule, verification failed, or a
store that would not open; 2 wrong usage; 70 a bug in subledger (it says so
and names a file with the details).

On a terminal, long imports, rebuilds and verifications draw a progress bar on
stderr, and statuses and verdicts are coloured; piped or written to a file,
neither is (and `NO_COLOR` or `TERM=dumb` turns colour off everywhere).

## Shell completion

Commands, options, the views and formats of `export`, the choices of options
and file names complete on TAB in bash (4.4 or later), zsh and fish, with
click's shell completion. Load it once:

```sh
# bash: in ~/.bashrc
eval "$(subledger completion bash)"
# zsh: in ~/.zshrc
eval "$(subledger completion zsh)"
# fish
subledger completion fish > ~/.config/fish/completions/subledger.fish
```

(`_SUBLEDGER_COMPLETE=bash_source subledger` prints the same script, as for any
click program; a script saved to a file is faster to load than `eval`.)
"""


def _help(command: click.Command, ctx: click.Context) -> str:
    return "```text\n" + command.get_help(ctx) + "\n```\n"


def reference(main: click.Group) -> str:
    """The reference of the program `main` as Markdown: its help, then every command's, in order."""
    with click.Context(main, info_name="subledger", **main.context_settings) as ctx:
        names = main.list_commands(ctx)
        commands = [(name, main.get_command(ctx, name)) for name in names]
        contents = "\n".join(
            f"- [`{name}`](#subledger-{name}): {command.get_short_help_str(limit=200)}"
            for name, command in commands
            if command is not None
        )
        parts = [INTRODUCTION, "## Commands\n", contents + "\n", "## subledger\n", _help(main, ctx)]
        for name, command in commands:
            assert command is not None, name
            with click.Context(command, info_name=name, parent=ctx) as sub:
                parts.extend([f"## subledger {name}\n", _help(command, sub)])
    return "\n".join(parts)


def write_reference(main: click.Group, path: str = REFERENCE) -> bool:
    """Write the reference of `main` to `path` if its folder exists (a source tree); whether it did."""
    if not os.path.isdir(os.path.dirname(path)):
        return False
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(reference(main))
    return True

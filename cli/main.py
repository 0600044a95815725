"""The `subledger` program: global options, one-line errors, the command groups.

Only click is imported at start: each command imports what it needs when it
runs, so `subledger --help` costs no more than click itself.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from cli import terminal
from ledger.errors import ImportRejected, LedgerError


class Session:
    """What every command shares: the store, the course and who is recording."""

    def __init__(self, store: str, course: str | None, actor: str | None) -> None:
        self.store = store
        self.course_option = course
        self.actor = actor or _login_name()
        self._ledger: Any = None

    def require_store(self) -> None:
        """Refuse to go on (and so to create an SQLite file, or tables in a foreign one) where a read expects a store."""
        from ledger.store import require_store

        require_store(self.store)

    def ledger(self, must_exist: bool = True) -> Any:
        """The opened store."""
        if self._ledger is None:
            from ledger.app import Ledger

            if must_exist:
                self.require_store()
            self._ledger = Ledger(self.store)
        return self._ledger

    def course(self) -> str:
        """The course an append is about: --course (the rules check it), or the store's only one."""
        if self.course_option:
            return self.course_option
        from projections.reading import choose_course

        return choose_course(self.ledger().courses(), None)


def refuse_non_utf8(value: str, what: str) -> None:
    """A usage error for text that is not UTF-8 (Python keeps such bytes of argv and the environment as
    surrogates), or that holds a NUL (which no real argv or environment can: only a caller in-process)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise click.UsageError(f"{what} {value!r} is not UTF-8 text") from None
    if "\x00" in value:
        raise click.UsageError(f"{what} {value!r} holds a NUL character")


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


class LedgerGroup(click.Group):
    """A click group that loads commands on demand and turns the ledger's errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMAND_MODULES.get(cmd_name)
        if module_name is None:
            return None
        import importlib

        module = importlib.import_module(module_name)
        command: click.Command = next(c for c in module.COMMANDS if c.name == cmd_name)
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            refuse_non_utf8(arg, "argument")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ImportRejected as rejected:
            for problem in rejected.problems:
                terminal.echo(f"error: {problem}", err=True, lines=False)
            terminal.echo(f"error: {rejected}", err=True, lines=False)
            sys.exit(1)
        except LedgerError as error:
            terminal.echo(f"error: {error}", err=True, lines=False)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # usage errors and the like: click says them
        except BrokenPipeError:
            # The reader went away (`subledger log | head -1`): nothing is wrong, say nothing.
            from cli.failures import closed_pipe

            closed_pipe()
            sys.exit(0)
        except OSError as error:
            from cli.failures import cannot_write, closed_pipe, internal_error, out_of_space

            if not out_of_space(error):  # anything else is a bug: shown as one
                internal_error(error, ctx.invoked_subcommand)
                sys.exit(INTERNAL_ERROR)
            closed_pipe()  # what is still buffered for a full disk goes nowhere
            terminal.echo(cannot_write(error), err=True)
            sys.exit(1)
        except Exception as error:  # noqa: BLE001 - a bug: shown as one, never as a refusal
            from cli.failures import internal_error

            internal_error(error, ctx.invoked_subcommand)
            sys.exit(INTERNAL_ERROR)


# The exit code of a bug (sysexits' EX_SOFTWARE): neither a refusal (1) nor wrong usage (2).
INTERNAL_ERROR = 70

# A fixed width keeps help text the same on every terminal (cli/help.txt is a copy).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 80, "terminal_width": 80}


@click.group(cls=LedgerGroup, context_settings=CONTEXT)
@click.option(
    "--store",
    envvar="SUBLEDGER_STORE",
    default="ledger.sqlite",
    show_default=True,
    help="SQLite file or postgresql:// URL (env SUBLEDGER_STORE).",
)
@click.option(
    "--course",
    envvar="SUBLEDGER_COURSE",
    help="Course offering id; needed only when the store holds several (env SUBLEDGER_COURSE).",
)
@click.option(
    "--actor",
    envvar="SUBLEDGER_ACTOR",
    help="Who is recording (env SUBLEDGER_ACTOR; default: your login name).",
)
@click.version_option("0.1.0", prog_name="subledger")
@click.pass_context
def main(ctx: click.Context, store: str, course: str | None, actor: str | None) -> None:
    """An event-sourced ledger for a university course.

    Every application, decision, hand-in, presentation and excuse is an
    immutable event; admission status, rosters and the gradebook are derived.

    \b
    Example:
      subledger import samples/idl-2025.jsonl
      subledger status
    """
    for name, value in (("--store", store), ("--course", course), ("--actor", actor)):
        if value is not None:
            refuse_non_utf8(value, name)  # also when it came from the environment
    ctx.obj = Session(store, course, actor)


# Where each command lives: a command's module is imported only when it runs
# (or when help lists them all), so one append pays for its own imports only.
COMMAND_MODULES = {
    **dict.fromkeys(
        [
            "open-course", "apply", "accept", "reject", "withdraw", "prefer", "allocate-groups",
            "change-group", "visit-group", "publish", "move-deadline", "hand-in", "present", "assess",
            "excuse", "extend", "retract", "close-coursework", "register-exam", "grade", "erase-material",
        ],
        "cli.appending",
    ),
    **dict.fromkeys(["import", "schema"], "cli.reading"),
    **dict.fromkeys(["status", "log", "explain", "export", "rebuild"], "cli.views"),
    **dict.fromkeys(["digest", "verify", "receipt", "verify-receipt", "keygen", "postgres-roles"], "cli.integrity"),
    "import-moodle": "cli.moodle",
    "report": "cli.report",
    "what-if": "cli.what_if",
    "completion": "cli.shell",
}


def rendered_help() -> str:
    """The program's help as click renders it (what cli/help.txt must hold)."""
    with click.Context(main, info_name="subledger", **main.context_settings) as ctx:
        return main.get_help(ctx) + "\n"


def write_help() -> None:
    """Refresh cli/help.txt and docs/cli.md after changing a command: `python -c 'import cli.main as m; m.write_help()'`."""
    from cli.helpfile import HELP_FILE
    from cli.reference import write_reference

    with open(HELP_FILE, "w", encoding="utf-8") as handle:
        handle.write(rendered_help())
    write_reference(main)

"""`python -m cli` runs the subledger program."""

from cli.entry import run

run()

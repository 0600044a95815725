"""`python -m cli` runs the subledger program."""

from cli.main import main

main()

"""Where the program's rendered help is kept: `cli/help.txt` (see `cli.entry` and `cli.main.write_help`)."""

from __future__ import annotations

import os

HELP_FILE = os.path.join(os.path.dirname(__file__), "help.txt")

"""Terminal manners, in a real pseudo-terminal: bars and colour on a terminal, nothing of them elsewhere.

Each run starts the installed `subledger` with stdout and stderr each on a
pseudo-terminal of its own or on a pipe, as a shell would, and reads both.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.test_views import Script

SUBLEDGER = str(Path(sys.executable).parent / "subledger")
SAMPLE = str(Path(__file__).resolve().parent.parent / "samples" / "idl-2025.jsonl")
ESC = "\x1b["


def started(*args: str, out_tty: bool = True, err_tty: bool = True, **env: str) -> tuple[int, str, str]:
    """Run `subledger ARGS` with stdout and stderr on terminals (or pipes); its exit code, stdout, stderr."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SUBLEDGER_", "NO_COLOR"))}
    environment.update({"TERM": "xterm-256color", "COLUMNS": "100", **env})
    ends: dict[str, int] = {}
    streams: dict[str, int] = {}
    for name, tty in (("out", out_tty), ("err", err_tty)):
        if tty:
            parent, child = pty.openpty()
            ends[name] = parent
            streams[name] = child
        else:
            streams[name] = subprocess.PIPE
    process = subprocess.Popen(
        [SUBLEDGER, *args], stdin=subprocess.DEVNULL, stdout=streams["out"], stderr=streams["err"], env=environment
    )
    for name in ends:
        os.close(streams[name])
    got = {"out": b"", "err": b""}
    pipes = {"out": process.stdout, "err": process.stderr}
    open_ends = {fd: name for name, fd in ends.items()} | {p.fileno(): n for n, p in pipes.items() if p is not None}
    while open_ends:
        ready, _, _ = select.select(list(open_ends), [], [], 30)
        assert ready, "subledger hung"
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a terminal whose other side has closed (EIO on Linux)
                chunk = b""
            if chunk:
                got[open_ends[fd]] += chunk
            else:
                del open_ends[fd]
    for fd in ends.values():
        os.close(fd)
    code = process.wait(timeout=30)
    text = {k: v.decode().replace("\r\n", "\n") for k, v in got.items()}
    return code, text["out"], text["err"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> str:
    store = str(tmp_path_factory.mktemp("terminal") / "ledger.sqlite")
    assert run(store, "import", SAMPLE).exit_code == 0
    return store


def test_an_import_shows_progress_on_a_terminal_and_nothing_in_a_pipe(tmp_path: Path) -> None:
    code, out, err = started("--store", str(tmp_path / "a.sqlite"), "import", SAMPLE, out_tty=False)
    assert code == 0 and out.startswith("appended 998 events (positions 1-998)")
    assert "checking the lines" in err and "998/998" in err
    code, piped, err = started("--store", str(tmp_path / "b.sqlite"), "import", SAMPLE, out_tty=False, err_tty=False)
    assert code == 0 and piped == out and err == ""


def test_a_rebuild_and_a_verification_show_progress_on_a_terminal_only(sample: str) -> None:
    code, out, err = started("--store", sample, "rebuild")
    assert code == 0 and "rebuilding the views" in err and out == "rebuilt the views from 998 events (1 course)\n"
    code, out, err = started("--store", sample, "rebuild", err_tty=False)
    assert code == 0 and err == ""  # not even the bar's label
    code, out, err = started("--store", sample, "verify")
    assert code == 0 and "verifying the log" in err and "998/998" in err
    code, out, err = started("--store", sample, "verify", out_tty=False, err_tty=False)
    assert code == 0 and err == "" and out.startswith("verified 998 events of subledger/")


def test_small_work_draws_no_bar(tmp_path: Path) -> None:
    store = str(tmp_path / "small.sqlite")
    s = Script(store)
    s.semester()
    s.flush()
    code, _, err = started("--store", store, "verify")
    assert code == 0 and err == ""


def test_colour_on_a_terminal_only(sample: str, tmp_path: Path) -> None:
    code, out, _ = started("--store", sample, "status", "--as-of", "2025-05-01T00:00")
    assert code == 0 and f"{ESC}32mon_track{ESC}0m" in out
    assert f"{ESC}33mat_risk{ESC}0m" in out
    table = out.split("\n\n", 1)[1]
    assert ESC not in table  # the table's cells are data: never coloured
    plain = out.replace(f"{ESC}32m", "").replace(f"{ESC}33m", "").replace(f"{ESC}31m", "")
    plain = plain.replace(f"{ESC}34m", "").replace(f"{ESC}90m", "").replace(f"{ESC}0m", "")
    # NO_COLOR (any value), TERM=dumb, a pipe, a file, another format: the same text, no colour.
    assert started("--store", sample, "status", "--as-of", "2025-05-01T00:00", NO_COLOR="1")[1] == plain
    assert started("--store", sample, "status", "--as-of", "2025-05-01T00:00", TERM="dumb")[1] == plain
    assert started("--store", sample, "status", "--as-of", "2025-05-01T00:00", out_tty=False)[1].startswith("assignment,")
    assert ESC in started("--store", sample, "status", "--as-of", "2025-05-01T00:00", NO_COLOR="")[1]
    saved = tmp_path / "status.txt"
    started("--store", sample, "status", "--as-of", "2025-05-01T00:00", "-o", str(saved))
    assert saved.read_text() == plain
    assert ESC not in started("--store", sample, "status", "--format", "csv")[1]


def test_verification_says_yes_in_green_and_no_in_red(sample: str, tmp_path: Path) -> None:
    code, out, _ = started("--store", sample, "verify")
    assert code == 0 and out.startswith(f"{ESC}32mverified{ESC}0m 998 events")
    key, other = tmp_path / "a", tmp_path / "b"
    assert run(sample, "keygen", f"{key}.key", f"{key}.pub").exit_code == 0
    assert run(sample, "keygen", f"{other}.key", f"{other}.pub").exit_code == 0
    signed = tmp_path / "signed.txt"
    signed.write_text(run(sample, "digest", "--key", f"{key}.key").stdout)
    code, _, err = started("--store", sample, "verify", str(signed), "--trust", f"{other}.pub")
    assert code == 1 and err == f"{ESC}31mverification failed{ESC}0m: the checkpoint is not signed by the trusted key\n"
    code, _, err = started("--store", sample, "verify", str(signed), "--trust", f"{other}.pub", NO_COLOR="yes")
    assert code == 1 and err == "verification failed: the checkpoint is not signed by the trusted key\n"


# -- text from the ledger never drives the terminal (finding 4) ----------------------------

COLOURS = [f"{ESC}{n}m" for n in (0, 31, 32, 33, 34, 90)]
HOSTILE_TITLE = "T\x1b[2J\x1b]0;owned\x07"
HOSTILE_NAME = "Ada\x1b[31m\x9b2J"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A course whose title, an applicant's name, an assignment's title and a rejection's reason
    carry escape sequences (ESC, BEL, the 8-bit CSI)."""
    store = str(tmp_path_factory.mktemp("hostile") / "ledger.sqlite")
    for command in (
        ["open-course", "c1", "--title", HOSTILE_TITLE, "--capacity", "2", "--application-deadline",
         "2026-04-04T23:59", "--registration-deadline", "2026-04-11T12:00", "--group", "g1:Thu 11:00:2",
         "--at", "2026-03-01T10:00"],
        ["apply", "100001", "--name", HOSTILE_NAME, "--email", "a@x.org", "--programme", "master",
         "--prerequisite", "ML", "--at", "2026-03-02T10:00"],
        ["apply", "100002", "--name", "Bob", "--email", "b@x.org", "--programme", "master",
         "--prerequisite", "ML", "--at", "2026-03-02T11:00"],
        ["accept", "100001", "--at", "2026-04-06T10:00"],
        ["reject", "100002", "--reason", "full\x1b[8m\nerror: forged", "--at", "2026-04-06T10:00"],
        ["change-group", "100001", "g1", "--reason", "moved\x1b[1m", "--at", "2026-04-12T10:00"],
        ["publish", "A01", "--title", "x\x1b[1m", "--deadline", "2026-04-20T10:00", "--at", "2026-04-07T10:00"],
        ["hand-in", "A01", "100001", "--at", "2026-04-19T10:00"],
        ["close-coursework", "--at", "2026-07-15T00:00"],
        ["register-exam", "100001", "--mode", "graded", "--at", "2026-07-16T10:00"],
    ):  # fmt: skip
        result = run(store, *command)
        assert result.exit_code == 0, result.output
    return store


def _uncoloured(text: str) -> str:
    for colour in COLOURS:
        text = text.replace(colour, "")
    return text


def _no_control_but_layout(text: str) -> None:
    """No control character but line ends (and the tabs of the program's own layout)."""
    assert not [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0], repr(text)


@pytest.mark.parametrize(
    "command",
    [
        ["status", "--format", "table"],
        ["status", "100001", "--format", "table"],
        ["explain", "100001"],
        ["log", "--format", "table"],
        *(["export", view, "--format", "table"] for view in ("admission", "roster", "teams", "gradebook", "exam")),
        ["export", "sheet", "--group", "g1", "--assignment", "A01", "--format", "table"],
        ["what-if", "--max-fails", "0", "--format", "table"],
    ],
    ids=lambda command: "-".join(command[:2]),
)
def test_text_for_people_shows_the_ledgers_control_characters_as_escapes(hostile: str, command: list[str]) -> None:
    result = run(hostile, *command)
    assert result.exit_code == 0, result.output
    _no_control_but_layout(result.output)
    assert "\t" not in result.output  # every tab in a table or a line for people is data


def test_the_escapes_are_shown_as_such(hostile: str) -> None:
    status = run(hostile, "status", "--format", "table").output
    assert "course        c1 (T\\x1b[2J\\x1b]0;owned\\x07)" in status
    assert "Ada\\x1b[31m\\x9b2J" in run(hostile, "explain", "100001").output


def test_an_error_line_that_quotes_the_ledger_stays_one_line(hostile: str) -> None:
    refused = run(hostile, "status", "100002")
    assert refused.exit_code == 1
    assert refused.output == "error: 100002 was not admitted: rejected (full\\x1b[8m\\nerror: forged)\n"


def test_data_keeps_its_bytes_in_files_and_pipes(hostile: str, tmp_path: Path) -> None:
    piped = run(hostile, "export", "admission", "--format", "csv").output
    assert f"100001,{HOSTILE_NAME}," in piped
    saved = tmp_path / "admission.json"
    assert run(hostile, "export", "admission", "-o", str(saved)).exit_code == 0
    assert json.loads(saved.read_text())[0]["name"] == HOSTILE_NAME


@pytest.mark.parametrize("command", [
    ["status"], ["explain", "100001"], ["log"], ["export", "sheet", "--group", "g1", "--assignment", "A01"],
    ["export", "admission", "--format", "csv"], ["export", "admission", "--format", "json"],
    ["export", "exam", "--format", "his"], ["export", "events"],
], ids=lambda command: "-".join(command[:3]))  # fmt: skip
def test_on_a_real_terminal_only_the_programs_colours_are_escape_sequences(hostile: str, command: list[str]) -> None:
    code, out, err = started("--store", hostile, *command)
    assert code == 0, err
    _no_control_but_layout(_uncoloured(out))
    assert "\\x1b" in out or "\\u001b" in out  # the ledger's escapes, shown


def test_an_error_on_a_real_terminal_is_one_line(hostile: str) -> None:
    code, _, err = started("--store", hostile, "status", "100002")
    assert code == 1 and err == "error: 100002 was not admitted: rejected (full\\x1b[8m\\nerror: forged)\n"

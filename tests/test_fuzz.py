"""Fuzzing the command line: no input ends in a traceback or an internal error (issue 7.8).

Hypothesis drives the program in-process with commands drawn from its own
command list and arguments that are plausible or hostile (empty, huge,
control characters, bytes that are not UTF-8, instants at and past the ends of
the calendar, negative and huge numbers, paths into nowhere), and drives
`import` with lines of the semester (and of its `events` export, which carries
keys and envelopes) mutated: fields deleted, replaced or retyped, lines
truncated, duplicated, swapped, their JSON garbled. Every run must end with
exit 0, 1 or 2, with no traceback and no internal-error report.

Budget: a fixed number of examples each (SUBLEDGER_FUZZ_EXAMPLES, default
150), no deadline, random each run; the seed is printed at the end of the
run and with every failure (and taken from SUBLEDGER_FUZZ_SEED to replay one).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from cli.main import COMMAND_MODULES, main
from tests.cli_helpers import ACTOR, jsonl, semester, semester_lines

SEED = int(os.environ.get("SUBLEDGER_FUZZ_SEED") or random.SystemRandom().randrange(2**32))  # set by conftest
EXAMPLES = int(os.environ.get("SUBLEDGER_FUZZ_EXAMPLES") or 150)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # each run explores afresh; a failure is replayed by its seed
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REPLAY = f"replay with SUBLEDGER_FUZZ_SEED={SEED}"

_runner = CliRunner(env={"SUBLEDGER_STORE": None, "SUBLEDGER_COURSE": None, "SUBLEDGER_ACTOR": None})


# -- the places a run may touch ---------------------------------------------------------


class Place:
    """A folder of the fuzz's own: the store, files to read, and where `-o` and keygen may write."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = str(root / "ledger.sqlite")
        semester(self.store)
        self.reports = root / "reports"
        self.reports.mkdir()
        self.work = root / "work"  # the current folder of every run: relative paths land here
        self.work.mkdir()
        (root / "not-utf8.txt").write_bytes(b"\xff\xfe\x00bad")
        (root / "empty.txt").write_bytes(b"")
        (root / "checkpoint.txt").write_text(_ok(run(self.store, ["digest"])).output)
        (root / "bom-checkpoint.txt").write_bytes(b"\xef\xbb\xbf" + (root / "checkpoint.txt").read_bytes())
        (root / "garbage.pem").write_text("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n")
        (root / "not-a-store.sqlite").write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
        self.export = _ok(run(self.store, ["export", "events"])).output.splitlines()
        self.ids = [json.loads(line)["id"] for line in self.export[:6]]
        for name in COMMANDS:
            _params(name)  # every command module loaded before the fuzz draws

    def values(self) -> list[str]:
        """Argument values, plausible and hostile."""
        r = self.root
        return [
            # ids and names of the semester
            "231001", "231003", "999999", "A01", "A03", "A99", "g1", "g2", "g9", "idl-2025", "other-course",
            "Ada Lovelace", "ada@st.ovgu.de", "master", "bachelor", "graded", "ungraded", "1.0", "5.0", "4.3",
            "g1:Thu 11:00:2", "g1:Thu 25:00:2", "g1::", "Thu 11:00", "ill", "late",
            # instants: ordinary, naive, at DST changes, at and past the ends of the calendar, not instants
            "2025-04-07T10:00:00+02:00", "2025-04-07T10:00", "2025-03-30T02:30", "2025-10-26T02:30",
            "1900-01-01T00:00+05:00", "2999-12-31T23:59-23:59", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00",
            "2025-02-30T10:00", "2025-04-07T10:00:00+25:00", "next tuesday", "2025", "T", "2025-04-07",
            "2025-04-07T10:00:00Z", "24:00",
            # numbers
            "0", "-1", "1", "3", "60", "2147483648", "99999999999999999999999", "-99999999999999999999", "1e308",
            "NaN", "inf", "0x10", "½",
            # text: empty, blank, huge, control characters, escapes, not UTF-8, odd Unicode
            "", " ", "\t", "\n", "\x00", "\x1b[2J", "\x07", "a" * 5000, "ä" * 300, "\u202e", "\ufeff",
            "\udcff", "\ud800", "x\udcfey", "-", "--", "--help", "-o", "@",
            # files
            f"@{r / 'not-utf8.txt'}", f"@{r / 'empty.txt'}", f"@{r / 'nowhere.txt'}", f"@{r}",
            str(r / "checkpoint.txt"), str(r / "bom-checkpoint.txt"), str(r / "not-utf8.txt"),
            str(r / "garbage.pem"), str(r / "empty.txt"), str(r), str(r / "nowhere" / "out.csv"),
            "out.csv", "out.xlsx", "out.html", "out.json", "key.pem", "/dev/full", "/dev/null",
            # formats and choices
            "csv", "json", "jsonl", "xlsx", "table", "html", "his", "bash", "admission", "events", "sheet",
            # event ids
            "00000000-0000-0000-0000-000000000000", "not-a-uuid", "32662eb2-af90-5f84-9f42-4feb724ba4c0",
        ]  # fmt: skip

    def stores(self) -> list[str]:
        """Stores: the semester's mostly, and some that are missing, read-only, not stores, or bad URLs."""
        r = self.root
        return [self.store] * 24 + [
            str(r / "missing.sqlite"), f"file:{self.store}?mode=ro", str(r / "not-a-store.sqlite"),
            str(r / "not-utf8.txt"), str(r), "/dev/null", "",
            "postgresql://u:S3cret@127.0.0.1:1/db", "postgresql://u:p@127.0.0.1:99999/db",
            "postgresql://u:p@[::1/db", "postgresql://u@127.0.0.1:1/db?password=S3cret", "postgresql://",
            "postgresql://u@127.0.0.1:1/db?sslmode=x", "file:?mode=ro", "file:x?mode=bogus",
        ]  # fmt: skip


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Place:
    return Place(tmp_path_factory.mktemp("fuzz"))


def run(store: str, args: list[str], input: bytes | None = None) -> Result:
    return _runner.invoke(main, ["--store", store, "--actor", ACTOR, *args], input=input)


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


@contextlib.contextmanager
def _inside(place: Place) -> Iterator[None]:
    """Run with the place's folder as the current one, and internal-error reports kept in it."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(place.reports)
    try:
        with contextlib.chdir(place.work):
            yield
    finally:
        tempfile.tempdir = previous


def _check(result: Result, place: Place, what: object) -> None:
    """Exit 0, 1 or 2, no traceback, no internal error, no report; the message says how to replay."""
    shown = f"{what!r}\n{REPLAY}\n--- output ---\n{result.output[-3000:]}"
    exception = result.exception
    if exception is not None and not isinstance(exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(exception))
        pytest.fail(f"uncaught {type(exception).__name__}: {exception}\n{shown}\n{trace}", pytrace=False)
    reports = sorted(place.reports.iterdir())
    if reports:
        report = reports[0].read_text(errors="replace")
        for file in reports:
            file.unlink()
        pytest.fail(f"internal error\n{shown}\n--- report ---\n{report}", pytrace=False)
    assert result.exit_code in (0, 1, 2), shown
    assert "Traceback (most recent call last)" not in result.output, shown
    assert "internal error" not in result.output, shown
    assert "S3cret" not in result.output, shown  # no password is ever shown


# -- the command line -----------------------------------------------------------------------


@functools.cache
def _params(name: str) -> list[click.Parameter]:
    """A command's parameters, from click itself (the command list is the program's own)."""
    with click.Context(main) as ctx:
        command = main.get_command(ctx, name)
    assert command is not None
    return list(command.params)


COMMANDS = sorted(COMMAND_MODULES)
INSTANTS = [  # good ones (the edges are among the hostile values)
    "2025-04-07T10:00:00+02:00", "2025-04-20T10:00", "2025-05-01T12:00", "2025-07-16T10:00:00+02:00",
]  # fmt: skip


def _plausible(param: click.Parameter, place: Place) -> list[str]:
    """Values `param` expects, so that a command gets past its parsing and into its work."""
    r = place.root
    by_name: dict[str, list[str]] = {
        "student": ["231001", "231002", "231003", "231005"], "students": ["231001", "231003"],
        "team": ["231002", "231003"], "assignment": ["A01", "A02", "A03"], "assignments": ["A01", "A02"],
        "group": ["g1", "g2"], "groups": ["g1:Thu 11:00:2", "g1", "g2"], "course_id": ["c2", "idl-2025"],
        "title": ["Week A04", "T"], "reason": ["ill", "moved away"], "note": ["fine"], "email": ["n@x.org"],
        "name": ["N N"], "prerequisite": ["ML"], "statement": ["why", f"@{r / 'empty.txt'}"],
        "timezone": ["Europe/Berlin", "UTC"], "grade": ["1.0", "2.3", "5.0"], "week": ["1", "3", "14"],
        "event_id": place.ids, "digest": ["sha256:" + "0" * 64], "certificate": ["med-1"],
        "deadlines": ["A01=2025-05-01T10:00"], "excuses": ["231001:A01"], "key_name": ["audit"],
        "writer": ["staff"], "auditor": ["audit"], "exam_date": ["2025-07-16", "16.07.2025"],
        "output": ["out.csv", "out.xlsx", "out.html", "out.json", "-"], "private_path": ["k.pem"],
        "public_path": ["k.pub"], "checkpoint_file": [str(r / "checkpoint.txt")], "file": ["-"],
        "trust_file": [str(r / "garbage.pem")], "receipt_file": [str(r / "checkpoint.txt")],
        "worksheet": [str(r / "empty.txt")], "key_file": [str(r / "garbage.pem")],
    }  # fmt: skip
    kind = param.type
    if isinstance(kind, click.Choice):
        return [str(c) for c in kind.choices]
    if kind.name == "T":  # cli.params.Instant
        return INSTANTS
    if param.name in by_name:
        return by_name[param.name]
    return ["1", "2", "3"] if isinstance(kind, (click.IntRange, click.types.IntParamType)) else ["x"]


@st.composite
def command_lines(draw: st.DrawFn, place: Place) -> tuple[str, list[str], bytes | None]:
    """A command with a value for each of its arguments and required options and some of its
    other options: values it expects, but one or two hostile ones (or all, now and then);
    stray pieces now and then; a store (mostly the semester's); something on stdin."""
    anything = st.one_of(
        st.sampled_from(place.values()),
        st.text(max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.binary(max_size=20).map(lambda b: b.decode("utf-8", "surrogateescape")),  # argv as Python sees bytes
    )
    name = draw(st.sampled_from(COMMANDS))
    hostile = draw(st.sampled_from([0.0, 0.15, 0.15, 0.3, 1.0]))  # the share of hostile values

    def value(param: click.Parameter) -> str:
        if draw(st.floats(0, 1)) < hostile:
            return draw(anything)
        return draw(st.sampled_from(_plausible(param, place)))

    args = [name]
    for param in _params(name):
        if isinstance(param, click.Argument):
            count = param.nargs if param.nargs > 0 else draw(st.integers(1 if param.required else 0, 2))
            if not param.required and draw(st.integers(0, 3)) == 0:
                count = 0
            args.extend(value(param) for _ in range(count))
        elif isinstance(param, click.Option) and (param.required or draw(st.integers(0, 2)) == 0):
            args.append(draw(st.sampled_from(param.opts)))
            if not (param.is_flag or param.count):
                args.extend(value(param) for _ in range(max(param.nargs, 1)))
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(1, len(args)))
        args[at:at] = draw(st.lists(anything, min_size=1, max_size=3))  # a stray piece anywhere
    if draw(st.integers(0, 4)) == 0:
        args = ["--course", draw(st.one_of(st.just("idl-2025"), anything)), *args]
    store = draw(st.sampled_from(place.stores()))
    stdin = draw(st.one_of(st.none(), st.sampled_from([b"", b"\xff\xfe", b"not json\n"]), st.binary(max_size=50)))
    return store, args, stdin


@FUZZ
@seed(SEED)
@given(data=st.data())
def test_no_command_line_ends_in_a_traceback(place: Place, data: st.DataObject) -> None:
    store, args, stdin = data.draw(command_lines(place), label="command line")
    with _inside(place):
        result = run(store, args, input=stdin)
    _check(result, place, (store, args, stdin))


# -- import with mutated lines ----------------------------------------------------------------


HOSTILE_JSON: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**70, -(2**70), 1e308, "", " ", "x" * 3000, "\u0000", "\x1b[2J", "\ud800",
    [], {}, [None], {"a": 1}, "9999-12-31T23:59:59-23:59", "0001-01-01T00:00", "2025-03-30T02:30",
    "2025-04-07T10:00", "not a time", "00000000-0000-0000-0000-000000000000", "not-a-uuid", "g1", "A01", "231001",
    {"statement": "not a key"}, {"statement": ""}, {"name": "AAAA"}, ["statement"], "sealed:v1:AAAA",
]  # fmt: skip


def _fields(lines: list[dict[str, Any]]) -> list[str]:
    return sorted({k for line in lines for k in line} | {"keys", "id", "seq", "recorded_at", "recorded_by", "salt"})


@st.composite
def mutated_imports(draw: st.DrawFn, place: Place) -> tuple[bytes, bool]:
    """A JSONL text: the semester's lines or its export's, mutated a few times."""
    if draw(st.booleans()):
        lines: list[Any] = [dict(line, course="idl-2025") for line in semester_lines()]
    else:
        lines = [json.loads(text) for text in place.export]
    fields = _fields([line for line in lines if isinstance(line, dict)])
    values = st.one_of(st.sampled_from(HOSTILE_JSON), st.text(max_size=20), st.integers())
    texts: list[bytes] | None = None
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["delete", "replace", "retype", "add", "duplicate", "swap", "drop", "raw"]))
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        if how in ("delete", "replace", "retype", "add") and isinstance(line, dict):
            key = draw(st.sampled_from(sorted(line) if how != "add" and line else fields))
            if how == "delete":
                line.pop(key, None)
            elif how == "retype" and key in line:
                line[key] = [line[key]] if draw(st.booleans()) else str(line[key])
            else:
                line[key] = draw(values)
        elif how == "duplicate":
            lines.insert(draw(st.integers(0, len(lines))), json.loads(json.dumps(line)))
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "drop" and len(lines) > 1:
            del lines[i]
        elif how == "raw":
            texts = texts or [json.dumps(x).encode("utf-8", "surrogatepass") for x in lines]
            k = draw(st.integers(0, len(texts) - 1))
            text = texts[k]
            cut = draw(st.integers(0, len(text)))
            damage = draw(st.sampled_from(["truncate", "byte", "garble", "blank", "bom"]))
            if damage == "truncate":
                texts[k] = text[:cut]
            elif damage == "byte":
                texts[k] = text[:cut] + draw(st.binary(min_size=1, max_size=4)) + text[cut:]
            elif damage == "garble":
                texts[k] = text[:cut] + draw(st.sampled_from([b"{", b"}", b'"', b",", b"\\", b"]", b"\n"])) + text[cut:]
            elif damage == "blank":
                texts[k] = b"   "
            else:
                texts[k] = b"\xef\xbb\xbf" + text
    if texts is None:
        texts = [json.dumps(x).encode("utf-8", "surrogatepass") for x in lines]
    return b"\n".join(texts) + b"\n", draw(st.booleans())


@FUZZ
@seed(SEED)
@given(data=st.data())
def test_no_import_ends_in_a_traceback(place: Place, data: st.DataObject) -> None:
    text, dry_run = data.draw(mutated_imports(place), label="import")
    store = str(Path(tempfile.mkdtemp(dir=place.root)) / "ledger.sqlite")  # a fresh store each time
    with _inside(place):
        result = run(store, ["import", "-", *(["--dry-run"] if dry_run else [])], input=text)
    _check(result, place, (text[:2000], dry_run))


def test_the_unmutated_lines_import(place: Place, tmp_path: Path) -> None:
    """The fuzz's starting points are good input: what it finds is its mutations' doing."""
    assert run(str(tmp_path / "a.sqlite"), ["import", "-"], input=jsonl(*semester_lines()).encode()).exit_code == 0
    restored = run(str(tmp_path / "b.sqlite"), ["import", "-"], input="\n".join(place.export).encode() + b"\n")
    assert restored.exit_code == 0, restored.output

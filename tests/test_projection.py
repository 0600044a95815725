"""The stored views on both stores: checkpoint, incremental catch-up, rebuild, concurrency."""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest

from ledger.app import Ledger
from projections import chunks, runner
from projections.runner import Views
from tests.cli_helpers import run
from tests.test_views import ADA, ALAN, GRACE, NAMES, Script


def dump(views: Views) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of the view tables, in a stable order, as plain tuples."""
    with views.recorder.datastore.transaction(commit=False) as c:
        c.execute("SELECT course, size, first_position FROM view_courses ORDER BY course")
        courses = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]
        c.execute("SELECT course, chunk, positions FROM view_chunks ORDER BY course, chunk")
        rows = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]
    return courses, [(course, chunk, bytes(p)) for course, chunk, p in rows]


def week(script: Script, n: int) -> None:
    """Some events of week `n` (hand-ins, a presentation, sometimes a retraction)."""
    a = f"A0{1 + n % 4}"
    day = f"2025-04-{10 + n:02d}T09:00:00+02:00"
    script.hand_in(a, day, ADA, GRACE)
    script.present(a, GRACE, "absent" if n % 2 else "explained", day.replace("09:", "11:"))
    if n % 3 == 0:
        wrong = script.hand_in(a, day.replace("09:", "10:"), ALAN)
        script.add("EventRetracted", day.replace("09:", "12:"), event=wrong, reason="wrong assignment")


@pytest.fixture
def filled(store_url: str) -> Script:
    script = Script(store_url)
    script.semester("idl-2025")
    script.semester("dl2-2026")
    script.flush()
    return script


def test_first_read_builds_then_catches_up_only_what_is_new(filled: Script) -> None:
    views = Views.open(filled.store)
    assert views.checkpoint() is None
    assert views.catch_up() == 30
    assert views.checkpoint() == views.head() == 30
    assert views.catch_up() == 0
    filled.hand_in("A01", "2025-04-13T09:00:00+02:00", ADA)
    filled.flush()
    assert views.catch_up() == 1
    assert views.checkpoint() == 31


def test_views_hold_the_write_sides_fold(filled: Script) -> None:
    for n in range(6):
        week(filled, n)
    filled.flush()
    views = Views.open(filled.store)
    views.catch_up()
    assert views.courses() == ["idl-2025", "dl2-2026"]
    with closing(Ledger(filled.store)) as ledger:
        for name in views.courses():
            assert views.records(name) == ledger.course(name).records


def test_views_of_an_opened_ledger_share_its_datastore(filled: Script) -> None:
    with closing(Ledger(filled.store)) as ledger:
        views = Views.of(ledger)
        views.catch_up()
        assert views.factory is ledger.factory
        assert views.records("idl-2025") == ledger.course("idl-2025").records


def test_incremental_equals_rebuild_row_for_row(filled: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK", 4)  # many chunk boundaries
    views = Views.open(filled.store)
    views.catch_up()
    for n in range(8):
        week(filled, n)
        filled.flush()
        views.catch_up()
    incremental = dump(views)
    assert views.rebuild() == filled.seq
    assert dump(views) == incremental
    assert views.checkpoint() == filled.seq


def test_pages_split_anywhere(filled: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK", 5)
    for n in range(5):
        week(filled, n)
    filled.flush()
    views = Views.open(filled.store)
    views.rebuild()
    whole = dump(views)
    monkeypatch.setattr(runner, "PAGE", 7)
    seen: list[int] = []
    views.rebuild(lambda done, total: seen.append(done))
    assert dump(views) == whole
    assert seen == [*range(7, filled.seq, 7), filled.seq]


def test_checkpoint_and_rows_commit_together(filled: Script, monkeypatch: pytest.MonkeyPatch) -> None:
    views = Views.open(filled.store)
    views.catch_up()
    before = dump(views)
    week(filled, 1)
    filled.flush()

    def broken(*args: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(f"{type(views.recorder).__module__}.insert_tracking", broken)
    with pytest.raises(RuntimeError):
        views.catch_up()
    assert (dump(views), views.checkpoint()) == (before, 30)
    monkeypatch.undo()
    assert views.catch_up() == 2


def test_a_second_process_finds_the_checkpoint_moved(filled: Script) -> None:
    mine, theirs = Views.open(filled.store), Views.open(filled.store)
    mine.catch_up()
    week(filled, 0)
    filled.flush()
    head, done = theirs.recorder.progress(runner.NAME)
    batch = chunks.group(theirs.recorder.select_new(done, head - done))
    assert mine.catch_up() == 4
    with pytest.raises(chunks.CheckpointMoved), theirs.recorder.writing() as tx:
        chunks.save(tx, runner.NAME, done, batch)
    assert theirs.catch_up() == 0
    assert dump(theirs) == dump(mine)


def test_views_hold_no_material(filled: Script) -> None:
    views = Views.open(filled.store)
    views.catch_up()
    text = repr(dump(views))
    assert not any(name.split()[0] in text for name in NAMES.values())


def test_rebuild_command(filled: Script) -> None:
    result = run(filled.store, "rebuild")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rebuilt the views from 30 events (2 courses)\n"
    assert result.stderr == ""  # no progress bar in a pipe (tests/test_terminal.py: one on a terminal)


def test_reading_an_empty_store(store_url: str) -> None:
    with closing(Ledger(store_url)):
        pass
    views = Views.open(store_url)
    assert (views.catch_up(), views.courses(), views.records("idl-2025")) == (0, [], [])
    assert run(store_url, "status").output == "error: the store holds no course yet: open one with open-course\n"

"""The PostgreSQL test harness itself: fresh databases are real, empty and distinct."""

from __future__ import annotations

import os
from collections.abc import Callable


def _connect(url: str):
    import psycopg

    return psycopg.connect(url, connect_timeout=10)


def _database_names(url: str) -> set[str]:
    with _connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_fresh_database_answers(fresh_postgres_url: str) -> None:
    with _connect(fresh_postgres_url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        dbname = conn.execute("SELECT current_database()").fetchone()[0]
        assert dbname.startswith("subledger_test_")
        assert fresh_postgres_url.endswith("/" + dbname)
        # brand-new: nothing in its public schema
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
        assert tables == 0
        # the test role may create tables in it (it owns the database)
        conn.execute("CREATE TABLE probe (x int)")
        conn.execute("INSERT INTO probe VALUES (1)")
        assert conn.execute("SELECT x FROM probe").fetchall() == [(1,)]


def test_two_fresh_databases_are_distinct(
    postgres_url: str, make_postgres_database: Callable[[], str]
) -> None:
    first, second = make_postgres_database(), make_postgres_database()
    assert first != second
    with _connect(first) as a, _connect(second) as b:
        name_a = a.execute("SELECT current_database()").fetchone()[0]
        name_b = b.execute("SELECT current_database()").fetchone()[0]
        assert name_a != name_b
        a.execute("CREATE TABLE only_in_a (x int)")
        a.commit()
        seen_in_b = b.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'only_in_a'"
        ).fetchone()[0]
        assert seen_in_b == 0
    assert {name_a, name_b} <= _database_names(postgres_url)


def test_store_url_is_fresh_for_each_kind(store_url: str) -> None:
    if store_url.startswith("postgresql://"):
        with _connect(store_url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchone()[0]
            assert tables == 0
    else:
        assert store_url.endswith(".sqlite")
        assert not os.path.exists(store_url)

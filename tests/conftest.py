"""Shared fixtures, and the switch that runs the PostgreSQL tests.

Everything runs on SQLite on any machine. The PostgreSQL tests run when
``SUBLEDGER_TEST_POSTGRES`` holds the URL of a server where the role may create
databases (``postgresql://user:pass@host:port/db``); ``.ci/run`` starts such a
server. Without it they are skipped, and the run says so plainly at the end.

With ``SUBLEDGER_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) a PostgreSQL test
that does not run is a failure, not a skip, so CI cannot go green without
having exercised PostgreSQL.

Fixtures:

- ``sqlite_path``: a path (str) for a fresh SQLite store file;
- ``postgres_url``: the server's URL (session scope; skips when unset);
- ``fresh_postgres_url``: the URL of a brand-new empty database, dropped after
  the test (``make_postgres_database`` makes more than one);
- ``store_url``: parametrised ``sqlite`` / ``postgres``, a fresh store of
  either kind, for contract tests that must hold on both stores;
- ``browser``: a headless Chromium (``tests/browser.py``); skipped where the
  machine has none, and a failure instead with ``SUBLEDGER_REQUIRE_BROWSER=1``
  (set by ``.ci/run``, which installs Debian's ``chromium``).

A test that uses a PostgreSQL fixture is marked ``postgres`` automatically, so
``-m "not postgres"`` deselects them all.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import settings

PG_ENV = "SUBLEDGER_TEST_POSTGRES"
REQUIRE_ENV = "SUBLEDGER_REQUIRE_POSTGRES"
SKIP_REASON = (
    "PostgreSQL tests skipped: set SUBLEDGER_TEST_POSTGRES="
    "postgresql://user:pass@host:port/db (see .ci/run)"
)
NOT_SET_LINE = "PostgreSQL tests were skipped: SUBLEDGER_TEST_POSTGRES is not set"
POSTGRES_FIXTURES = frozenset({"postgres_url", "make_postgres_database", "fresh_postgres_url"})
CONNECT_TIMEOUT = 10  # seconds; a dead server fails fast instead of hanging


def _pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _require_pg() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _with_database(url: str, dbname: str) -> str:
    """The same server URL (user, password, host, port, query) naming another database."""
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


# Timing is for the benchmarks: a slow example on a loaded machine is not a failure.
settings.register_profile("subledger", deadline=None, print_blob=True)
settings.load_profile("subledger")

# The seed of tests/test_fuzz.py: random each run (printed at the end), or the one given to replay a failure.
FUZZ_SEED_ENV = "SUBLEDGER_FUZZ_SEED"
os.environ[FUZZ_SEED_ENV] = os.environ.get(FUZZ_SEED_ENV) or str(secrets.randbelow(2**32))


# --- fixtures ------------------------------------------------------------------


@pytest.fixture
def sqlite_path(tmp_path) -> str:
    """A path for a fresh SQLite store file (the file does not exist yet)."""
    return str(tmp_path / "ledger.sqlite")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of the test server (``SUBLEDGER_TEST_POSTGRES``); skips when unset.

    When it is set but the server cannot be reached, the tests that need it
    error out (they are not skipped): a configured server that is down is a bug
    in the setup, not an absent feature.
    """
    url = _pg_url()
    if url is None:
        pytest.skip(SKIP_REASON)
    import psycopg

    problem = None
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        problem = str(exc)
    if problem is not None:
        pytest.fail(f"{PG_ENV}={_redacted(url)} is set but unusable: {problem}", pytrace=False)
    return url


@pytest.fixture
def make_postgres_database(postgres_url: str) -> Iterator[Callable[[], str]]:
    """A factory of brand-new empty databases on the test server.

    Each call creates ``subledger_test_<random hex>`` and returns its URL; all
    of them are dropped when the test ends.
    """
    import psycopg
    from psycopg import sql

    created: list[str] = []

    def admin():
        return psycopg.connect(postgres_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)

    def make() -> str:
        dbname = f"subledger_test_{secrets.token_hex(6)}"
        with admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        created.append(dbname)
        return _with_database(postgres_url, dbname)

    try:
        yield make
    finally:
        if created:
            with admin() as conn:
                for dbname in created:
                    # FORCE ends sessions still open on it (e.g. a pool left behind).
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(dbname)
                        )
                    )


@pytest.fixture
def fresh_postgres_url(make_postgres_database: Callable[[], str]) -> str:
    """URL of a brand-new empty database on the test server, dropped afterwards."""
    return make_postgres_database()


@pytest.fixture(autouse=True)
def _key_files_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL stores keep their key files in the user's data folder (ADR 9): in tests, a temporary one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    """A fresh, empty store: a SQLite file path, or a ``postgresql://`` URL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_path")
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium, driven by Playwright, with the network cut off by each page's test."""
    from tests import browser as real

    path = real.chromium_path()
    problem = None
    if path is None:
        problem = "no chromium on PATH (apt-get install chromium, or set SUBLEDGER_CHROMIUM)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            problem = "the playwright package is missing (pip install -e '.[test]')"
    if problem is not None:
        if real.required():
            pytest.fail(f"{real.REQUIRE_ENV}=1 but the browser tests cannot run: {problem}", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=real.CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


# --- the PostgreSQL switch -------------------------------------------------------

_pg_skipped: list[str] = []  # node ids of tests skipped for want of PostgreSQL
_pg_failed_required: list[str] = []  # ... and of those failed instead, when required
_pg_passed: list[str] = []
_browser_passed: list[str] = []


def _needs_postgres(item: pytest.Item) -> bool:
    return item.get_closest_marker("postgres") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if POSTGRES_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
    reason = reason or str(longrepr or "")
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when == "call" and report.passed and _needs_postgres(item):
        _pg_passed.append(item.nodeid)
    if report.when == "call" and report.passed and "browser" in getattr(item, "fixturenames", ()):
        _browser_passed.append(item.nodeid)
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report)
    for_want_of_pg = SKIP_REASON in reason or PG_ENV in reason or _needs_postgres(item)
    if not for_want_of_pg:
        return
    if _require_pg():
        _pg_failed_required.append(item.nodeid)
        report.outcome = "failed"
        report.longrepr = (
            f"{REQUIRE_ENV}=1 but this PostgreSQL test did not run.\n"
            f"Skip reason: {reason}\n"
            f"{PG_ENV}={_redacted(_pg_url()) if _pg_url() else '(not set)'}"
        )
    else:
        _pg_skipped.append(item.nodeid)


def pytest_report_header(config: pytest.Config) -> str:
    url = _pg_url()
    required = " (required)" if _require_pg() else ""
    if url is None:
        return f"postgres: not configured{required}; {SKIP_REASON}"
    return f"postgres: {_redacted(url)}{required}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Required but nothing ran on PostgreSQL (e.g. deselected with -m, or no
    # such test collected): that must not pass as a green CI run.
    if _require_pg() and exitstatus == 0 and not _pg_passed:
        session.config._subledger_pg_none_ran = True  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    from tests.browser import required as browser_required

    if browser_required() and exitstatus == 0 and not _browser_passed:
        session.config._subledger_browser_none_ran = True  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    fuzzed = [r for rs in terminalreporter.stats.values() for r in rs if "test_fuzz.py" in getattr(r, "nodeid", "")]
    if fuzzed:
        seed = os.environ[FUZZ_SEED_ENV]
        terminalreporter.section("fuzz", sep="=", bold=True)
        terminalreporter.write_line(f"tests/test_fuzz.py ran with seed {seed} (replay: {FUZZ_SEED_ENV}={seed})")
    if getattr(config, "_subledger_browser_none_ran", False):
        terminalreporter.section("browser", sep="=", red=True, bold=True)
        terminalreporter.write_line("FAILED: SUBLEDGER_REQUIRE_BROWSER=1 but no browser test ran and passed.", red=True)
    if getattr(config, "_subledger_pg_none_ran", False):
        terminalreporter.section("PostgreSQL", sep="=", red=True, bold=True)
        terminalreporter.write_line(
            f"FAILED: {REQUIRE_ENV}=1 but no PostgreSQL test ran and passed.", red=True
        )
    if _pg_url() is None and _require_pg():
        count = len(_pg_failed_required)
        terminalreporter.section("PostgreSQL", sep="=", red=True, bold=True)
        terminalreporter.write_line(
            f"PostgreSQL tests FAILED instead of skipping ({count} test"
            f"{'s' if count != 1 else ''}): {PG_ENV} is not set and {REQUIRE_ENV}=1.",
            red=True,
        )
    elif _pg_url() is None:
        count = len(_pg_skipped)
        terminalreporter.section("PostgreSQL", sep="=", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{NOT_SET_LINE} ({count} test{'s' if count != 1 else ''} skipped); "
            "run `bash .ci/run` to test against a real server.",
            yellow=True,
        )


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """A umask that lets others read new files, as many users have: what the program writes must not rely on it."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)

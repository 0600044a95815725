"""The tutor's session sheet (issue 9.6; projections.sheet, projections.sheet_page; ADR 0017).

One semester serves every test: g1 (Thursday 11:00) holds 30, g2 (Friday
13:00) a few; a visit each way in week 2, a move that counts from week 2, a
late admission placed before the session and one placed after it, a withdrawal
after it, teams across groups, late, missing and excused hand-ins, a name that
is a script and one that is a formula. The sheet is checked as rows (the
library), through `export sheet` in every format, and as a page printed by a
real Chromium: one A4 page for a group of 30, every row there, nothing cut.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
import pytest

from ledger.app import Ledger
from projections.reading import read
from projections.sheet import NoSheet, Sheet, SheetRow, sheet
from projections.sheet_page import POLICY, html
from tests.browser import pdf_pages
from tests.cli_helpers import application, course_opened, jsonl, run

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

S = [f"2300{i:02d}" for i in range(30)]  # g1's thirty
T = [f"2400{i:02d}" for i in range(3)]  # g2's three
K, L = "250001", "250002"  # admitted late: K placed before week 2's session, L after it
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Mallory'
FORMULA = "=HYPERLINK(\"http://x\",\"Click\") Formula"
LONG = "Maximiliane Alexandra Theodora Freifrau von und zu Hohenzollern-Sigmaringen-Habsburg"
NAMES = {s: f"Student {s[-2:]} G1" for s in S} | {t: f"Student {t[-2:]} G2" for t in T}
NAMES |= {S[7]: HOSTILE, S[8]: LONG, S[9]: FORMULA, K: "Kurt Late", L: "Lise Later"}
LATER = "2025-05-20T12:00:00+02:00"


def events() -> list[dict[str, Any]]:
    def at(day: str, time: str = "10:00") -> str:
        return f"2025-{day}T{time}:00+02:00"

    lines: list[dict[str, Any]] = [
        course_opened(capacity=40, groups=[{"id": "g1", "slot": "Thu 11:00", "capacity": 32},
                                           {"id": "g2", "slot": "Fri 13:00", "capacity": 30}]),
        *(application(s, NAMES[s], at("03-20")) for s in [*S, *T, K, L]),
        *({"type": "ApplicationAccepted", "at": at("04-07"), "student": s} for s in [*S, *T]),
        {"type": "GroupsAllocated", "at": at("04-11", "13:00"), "seed": 1, "allocation": {s: "g1" for s in S} | {t: "g2" for t in T}},
        *({"type": "AssignmentPublished", "at": at("04-07", "12:00"), "assignment": a, "title": f"Week {a}", "deadline": d}
          for a, d in (("A01", at("04-14")), ("A02", at("04-21")), ("A03", at("05-01", "12:00")))),
        *({"type": "SubmissionHandedIn", "at": at("04-13"), "assignment": "A01", "team": [s]} for s in S),
        {"type": "SubmissionHandedIn", "at": at("04-20"), "assignment": "A02", "team": [S[0], S[1]]},
        {"type": "SubmissionHandedIn", "at": at("04-21", "11:00"), "assignment": "A02", "team": [S[2]]},  # late
        {"type": "SubmissionHandedIn", "at": at("04-20"), "assignment": "A02", "team": [S[3], T[1]]},  # across groups
        {"type": "SubmissionHandedIn", "at": at("04-20", "11:00"), "assignment": "A02", "team": [T[0]]},
        {"type": "SubmissionHandedIn", "at": at("04-21", "09:00"), "assignment": "A02", "team": [S[0], S[1]]},  # again
        {"type": "ExcuseGranted", "at": at("04-20"), "student": S[6], "assignments": ["A02"], "certificate": "AU-6"},
        {"type": "GroupVisited", "at": at("04-20"), "student": T[0], "group": "g1", "week": 2, "reason": "clash"},
        {"type": "GroupVisited", "at": at("04-20"), "student": S[5], "group": "g2", "week": 2, "reason": "clash"},
        {"type": "GroupChanged", "at": at("04-22"), "student": S[28], "group": "g2", "reason": "moves from week 2"},
        {"type": "ApplicationAccepted", "at": at("04-22", "12:00"), "student": K},  # after A02's deadline: exempt
        {"type": "ApplicationAccepted", "at": at("04-22", "12:00"), "student": L},
        {"type": "GroupChanged", "at": at("04-23"), "student": K, "group": "g1", "reason": "late admission"},
        {"type": "GroupChanged", "at": at("04-24", "12:00"), "student": L, "group": "g1", "reason": "late admission"},
        {"type": "ApplicationWithdrawn", "at": at("04-25"), "student": S[29], "reason": "moved away"},
    ]  # fmt: skip
    return lines


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("sheet") / "ledger.sqlite")
    ledger = Ledger(path)
    try:
        ledger.import_lines(jsonl(*events()).encode().splitlines(), "tester")
    finally:
        ledger.close()
    return path


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def rows_of(found: Sheet) -> dict[str, SheetRow]:
    return {r.student: r for r in found.rows}


# -- the rows ------------------------------------------------------------------------------


def test_the_session_is_the_groups_first_after_the_deadline(store: str) -> None:
    reading = read(store, as_of=at(LATER))
    first = sheet(reading, "g1", "A01")  # deadline Mon 14 April: week 1 began on Thursday 17th
    assert (first.week, first.session.isoformat()) == (1, "2025-04-17T11:00:00+02:00")
    # A03's deadline is Thursday 1 May 12:00: after g1's session that week, before g2's on Friday.
    g1, g2 = sheet(reading, "g1", "A03"), sheet(reading, "g2", "A03")
    assert (g1.week, g1.session.isoformat()) == (4, "2025-05-08T11:00:00+02:00")
    assert (g2.week, g2.session.isoformat()) == (3, "2025-05-02T13:00:00+02:00")
    assert (g1.slot, g1.assignment_title, g1.deadline.isoformat()) == ("Thu 11:00", "Week A03", "2025-05-01T12:00:00+02:00")


def test_members_visitors_and_those_away_as_the_group_stood_at_the_session(store: str) -> None:
    found = sheet(read(store, as_of=at(LATER)), "g1", "A02")  # week 2, Thursday 24 April 11:00
    rows = rows_of(found)
    present = [r.student for r in found.rows if r.attends == "member"]
    # S28 moved to g2 from week 2; K was placed on Wednesday, L on Thursday after the session;
    # S29 withdrew on Friday, after it: still on this sheet.
    assert sorted(present) == sorted([*S[:5], *S[6:28], S[29], K])
    assert [(r.student, r.other_group) for r in found.rows if r.attends == "visitor"] == [(T[0], "g2")]
    assert [(r.student, r.other_group) for r in found.rows if r.attends == "away"] == [(S[5], "g2")]
    assert len(found.rows) == 31 and L not in rows and S[28] not in rows
    # Present members first, then visitors, then those away; each by name.
    assert [r.attends for r in found.rows] == ["member"] * 29 + ["visitor", "away"]
    names = [r.name for r in found.rows[:29]]
    assert names == sorted(names, key=str.casefold)
    other = sheet(read(store, as_of=at(LATER)), "g2", "A02")  # week 2, Friday 25 April
    assert [(r.student, r.attends, r.other_group) for r in other.rows] == [
        (T[1], "member", ""), (T[2], "member", ""), (S[28], "member", ""), (S[5], "visitor", "g1"), (T[0], "away", "g1")
    ]  # fmt: skip


def test_who_handed_in_with_whom_and_how(store: str) -> None:
    found = sheet(read(store, as_of=at(LATER)), "g1", "A02")
    rows = rows_of(found)
    assert (rows[S[0]].handed_in_with, rows[S[0]].hand_in) == ((S[1],), "on_time")
    assert rows[S[0]].handed_in == at("2025-04-21T09:00:00+02:00")  # the team's latest hand-in
    assert (rows[S[2]].handed_in_with, rows[S[2]].hand_in) == ((), "late")
    assert (rows[S[3]].handed_in_with, rows[S[3]].hand_in) == ((T[1],), "on_time")  # a teammate from g2
    assert found.names[T[1]] == NAMES[T[1]]
    assert (rows[S[4]].handed_in, rows[S[4]].hand_in) == (None, "missing")
    assert rows[S[6]].hand_in == "excused"
    assert rows[K].hand_in == "exempt"  # A02's deadline passed before K was admitted
    assert (rows[T[0]].attends, rows[T[0]].hand_in) == ("visitor", "on_time")
    assert all(r.deadline == found.deadline and r.presented == "" for r in found.rows)


def test_the_clock_decides_who_is_there_and_what_is_due(store: str) -> None:
    early = sheet(read(store, as_of=at("2025-04-21T09:30:00+02:00")), "g1", "A02")  # before A02's deadline
    rows = rows_of(early)
    assert rows[S[4]].hand_in == "open" and rows[S[2]].hand_in == "open"
    assert rows[S[0]].hand_in == "on_time"
    assert S[28] in rows and K not in rows  # S28's move and K's admission are not recorded yet
    with pytest.raises(NoSheet, match="no assignment 'A02' published in idl-2025 at this time"):
        sheet(read(store, as_of=at("2025-04-01T00:00:00+02:00")), "g1", "A02")
    later = sheet(read(store, as_of=at(LATER)), "g1", "A03")  # week 4: S29 withdrew before it
    assert S[29] not in rows_of(later) and K in rows_of(later) and L in rows_of(later)


def test_a_sheet_of_what_the_course_does_not_have_says_so(store: str) -> None:
    reading = read(store, as_of=at(LATER))
    with pytest.raises(NoSheet, match=r"no group 'g9' in idl-2025 \(groups: g1, g2\)"):
        sheet(reading, "g9", "A02")
    with pytest.raises(NoSheet, match="no assignment 'A99'"):
        sheet(reading, "g1", "A99")


def test_a_deadline_past_the_last_week_has_no_session(tmp_path: Path) -> None:
    path = str(tmp_path / "far.sqlite")
    far = [course_opened(), {"type": "AssignmentPublished", "at": "2025-04-07T12:00:00+02:00", "assignment": "A99",
                             "title": "t", "deadline": "2999-12-30T10:00:00+01:00"}]  # fmt: skip
    assert run(path, "import", "-", input=jsonl(*far)).exit_code == 0
    done = run(path, "export", "sheet", "--group", "g1", "--assignment", "A99", "--as-of", LATER)
    assert done.exit_code == 1, done.output
    assert done.stderr.startswith("error: A99's deadline 2999-12-30T09:00:00+00:00 is after group g1's last session")


# -- the command -----------------------------------------------------------------------------


def export(store: str, *args: str) -> Any:
    return run(store, "export", "sheet", "--group", "g1", "--assignment", "A02", "--as-of", LATER, *args)


def test_csv_has_a_row_per_student_and_neutralises_formulas(store: str) -> None:
    done = export(store, "--format", "csv")
    assert done.exit_code == 0, done.output
    table = list(csv.reader(io.StringIO(done.stdout)))
    assert table[0] == ["student", "name", "attends", "other_group", "handed_in_with", "handed_in", "deadline",
                        "hand_in", "presented"]  # fmt: skip
    assert len(table) == 32
    by_student = {row[0]: row for row in table[1:]}
    assert by_student[S[0]] == [S[0], NAMES[S[0]], "member", "", S[1], "2025-04-21T09:00:00+02:00",
                                "2025-04-21T10:00:00+02:00", "on_time", ""]  # fmt: skip
    assert by_student[T[0]][2:4] == ["visitor", "g2"] and by_student[S[5]][2:4] == ["away", "g2"]
    assert by_student[S[9]][1] == "'" + FORMULA


def test_the_table_names_the_session_above_the_rows(store: str) -> None:
    done = export(store, "--format", "table")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert lines[0] == "Introduction to Deep Learning (idl-2025): group g1 (Thu 11:00), week 2, session Thu 2025-04-24 11:00 (Europe/Berlin)"
    assert lines[1] == "A02 Week A02, deadline Mon 2025-04-21 10:00"
    assert lines[3].split() == ["student", "name", "attends", "other_group", "handed_in_with", "handed_in", "deadline",
                                "hand_in", "presented"]  # fmt: skip


def test_xlsx_is_a_sheet_named_after_the_session(store: str, tmp_path: Path) -> None:
    out = tmp_path / "sheet.xlsx"
    assert export(store, "-o", str(out)).exit_code == 0
    book = openpyxl.load_workbook(out)
    ws = book.active
    assert ws.title == "sheet g1 A02 week 2"
    assert ws.max_row == 32
    assert {ws.cell(row=r, column=2).value for r in range(2, 33)} >= {HOSTILE, "'" + FORMULA}
    assert all(ws.cell(row=r, column=2).data_type == "s" for r in range(2, 33))


def test_html_goes_to_a_file_and_names_the_session(store: str, tmp_path: Path) -> None:
    out = tmp_path / "sheet.html"
    assert export(store, "-o", str(out)).exit_code == 0  # the extension picks the format
    page = out.read_text(encoding="utf-8")
    assert page == html(sheet(read(store, as_of=at(LATER)), "g1", "A02"))
    assert "<script" not in page.replace("&lt;script", "")
    assert f'content="{POLICY}"' in page and "default-src 'none'" in POLICY
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;" in page


def test_every_text_of_the_page_is_escaped() -> None:
    """Titles, group, slot, assignment, ids and teammates' names come from whoever recorded them."""
    bad = "<b onmouseover=x>&"
    when = at("2025-04-24T11:00:00+02:00")
    row = SheetRow(bad, bad, "visitor", bad, (bad,), when, at("2025-04-25T11:00:00+02:00"), "on_time", "")
    found = Sheet(bad, bad, bad, bad, bad, 2, when, bad, bad, when, when, when, (row,), {bad: bad})
    page = html(found)
    assert "<b " not in page
    assert page.count("&lt;b onmouseover=x&gt;&amp;") >= 10
    assert "(by 04-25 11:00)" in page  # an extension shows its own deadline


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--group", "g9", "--assignment", "A02"], 1, "error: no group 'g9' in idl-2025 (groups: g1, g2)\n"),
        (["--group", "g1", "--assignment", "A99"], 1, "error: no assignment 'A99' published in idl-2025 at this time\n"),
        (["--group", "g1"], 2, "a session sheet needs --group G and --assignment A"),
        (["--assignment", "A02"], 2, "a session sheet needs --group G and --assignment A"),
    ],
)
def test_what_the_sheet_refuses(store: str, args: list[str], code: int, says: str) -> None:
    done = run(store, "export", "sheet", *args)
    assert done.exit_code == code, done.output
    assert "Traceback" not in done.output and done.stdout == ""
    assert done.stderr == says if code == 1 else says in done.stderr


def test_the_other_views_take_neither_a_group_nor_html(store: str) -> None:
    done = run(store, "export", "roster", "--group", "g1")
    assert done.exit_code == 2 and "--group and --assignment choose a session sheet" in done.stderr
    done = run(store, "export", "roster", "--format", "html")
    assert done.exit_code == 2 and "html is the session sheet's format" in done.stderr


# -- the page, printed by a real browser ------------------------------------------------------

# A4 less the page's margins (12 mm each side, 12 mm top and 14 mm bottom), in CSS pixels (96 per inch).
PRINT_WIDTH = round((210 - 24) / 25.4 * 96)
PRINT_HEIGHT = round((297 - 26) / 25.4 * 96)


def printed(browser: Browser, page: str, tmp_path: Path) -> tuple[Page, bytes, list[str]]:
    """The page opened from a file with the network cut off, laid out for print; its PDF and its requests."""
    path = tmp_path / "sheet.html"
    path.write_text(page, encoding="utf-8")
    tab = browser.new_page(viewport={"width": PRINT_WIDTH, "height": PRINT_HEIGHT})
    requests: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    tab.goto(path.as_uri())
    pdf = tab.pdf(format="A4", prefer_css_page_size=True)
    tab.emulate_media(media="print")
    assert requests == [path.as_uri()]
    return tab, pdf, requests


def assert_nothing_cut(tab: Page, rows: int) -> None:
    """Every row there, no cell's text running over its cell, nothing wider than the page or below its foot."""
    laid = tab.evaluate(
        """() => ({
            rows: document.querySelectorAll("tbody tr").length,
            overflowing: [...document.querySelectorAll("td, th")]
                .filter(c => c.scrollWidth > c.clientWidth + 1 || c.scrollHeight > c.clientHeight + 1)
                .map(c => c.textContent),
            width: document.documentElement.scrollWidth,
            right: document.querySelector("table").getBoundingClientRect().right,
            bottom: document.querySelector("footer").getBoundingClientRect().bottom,
        })"""
    )
    assert laid["rows"] == rows
    assert laid["overflowing"] == []
    assert laid["width"] <= PRINT_WIDTH and laid["right"] <= PRINT_WIDTH
    assert laid["bottom"] <= PRINT_HEIGHT, laid


def test_a_group_of_thirty_with_a_visitor_prints_on_one_a4_page(browser: Browser, store: str, tmp_path: Path) -> None:
    found = sheet(read(store, as_of=at(LATER)), "g1", "A02")
    tab, pdf, _ = printed(browser, html(found), tmp_path)
    assert pdf_pages(pdf) == 1
    assert_nothing_cut(tab, 31)
    text = tab.locator("tbody").inner_text()
    for row in found.rows:
        assert row.student in text and row.name in text, row.student
    assert tab.evaluate("typeof window.pwned") == "undefined"
    visitor = tab.locator(f"tr:has(td:text-is('{T[0]}'))").inner_text()
    away = tab.locator(f"tr:has(td:text-is('{S[5]}'))").inner_text()
    assert "visitor from g2" in visitor and "away, visits g2" in away
    assert tab.locator("td.tick span").count() == 30  # a box to tick for all but the one away
    tab.close()


def synthetic(members: int) -> Sheet:
    """A sheet of `members` rows, each with a long name and two teammates with long names (two lines a row)."""
    when = at("2025-04-24T11:00:00+02:00")
    rows = tuple(
        SheetRow(f"{230000 + i}", f"Maximiliane Hohenzollern-Sigmaringen {i:02d}", "member", "",
                 (f"{240000 + i}", f"{250000 + i}"), when, when, "late", "")
        for i in range(members)
    )  # fmt: skip
    names = {r.handed_in_with[k]: f"Konstantinos Papadopoulos-Schmidt {k}" for r in rows for k in (0, 1)}
    return Sheet("idl-2025", "Introduction to Deep Learning", "Europe/Berlin", "g1", "Thu 11:00", 2, when, "A02",
                 "Week A02", when, when, None, rows, names)  # fmt: skip


def test_thirty_with_long_names_and_teams_of_three_fit_one_page_and_sixty_run_on_to_a_second(
    browser: Browser, tmp_path: Path
) -> None:
    tab, pdf, _ = printed(browser, html(synthetic(30)), tmp_path)
    assert pdf_pages(pdf) == 1
    assert_nothing_cut(tab, 30)
    tab.close()
    tab, pdf, _ = printed(browser, html(synthetic(60)), tmp_path)
    assert pdf_pages(pdf) == 2  # the header row repeats on the second page (thead: table-header-group)
    tab.close()


def test_each_member_is_judged_against_their_own_deadline(tmp_path: Path) -> None:
    """An extension makes a hand-in after the course's deadline on time for that member alone."""
    path = str(tmp_path / "ledger.sqlite")
    extension = {"type": "ExtensionGranted", "at": "2025-04-20T12:00:00+02:00", "student": S[2], "assignment": "A02",
                 "deadline": "2025-04-21T12:00:00+02:00", "reason": "ill for three days"}  # fmt: skip
    ledger = Ledger(path)
    try:
        ledger.import_lines(jsonl(*events(), extension).encode().splitlines(), "tester")
    finally:
        ledger.close()
    found = sheet(read(path, as_of=at(LATER)), "g1", "A02")
    rows = rows_of(found)
    assert (rows[S[2]].hand_in, rows[S[2]].deadline) == ("on_time", at("2025-04-21T12:00:00+02:00"))
    assert rows[S[4]].deadline == found.deadline  # nobody else's deadline moved

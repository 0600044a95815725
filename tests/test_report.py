"""The HTML report: the rows its charts draw (read models, no browser), and the page in a real Chromium.

One small semester serves every test: on-time, late and retracted hand-ins, a
failed presentation, a copied solution, an excuse, group changes on either side
of a session, a withdrawal, and an applicant whose name is a script.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from projections.fails import FailCount, fails_by_reason
from projections.reading import read
from projections.report import POLICY, SCRIPT, html, report
from projections.report_charts import GREEN, LATE, ON_TIME, ORANGE, REASON_COLOURS, STATUS_COLOURS, VERMILLION
from projections.status import course_status
from projections.timeline import timelines
from projections.timing import hand_in_timing
from projections.weeks import GroupWeek, group_weeks
from tests.browser import ink
from tests.cli_helpers import run
from tests.test_views import ADA, ALAN, EMMY, GRACE, Script

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MALLORY = "231006"
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">Mallory'
LATER = "2025-06-01T12:00:00+02:00"


def semester(store: str) -> None:
    """The report's semester (Script.semester, then the events below), recorded in `store`."""
    s = Script(store)
    s.semester()
    s.add("ApplicationSubmitted", "2025-03-20T10:00:00+01:00", student=MALLORY, name=HOSTILE,
          email="m@example.org", programme="bachelor", prerequisite="none", statement="")  # fmt: skip
    s.add("ApplicationAccepted", "2025-04-07T11:00:00+02:00", student=MALLORY)
    s.add("GroupChanged", "2025-04-12T10:00:00+02:00", student=MALLORY, group="g2", reason="late placement")
    s.hand_in("A01", "2025-04-13T20:00:00+02:00", ADA, GRACE)  # 14 hours early
    s.hand_in("A01", "2025-04-14T08:00:00+02:00", MALLORY)
    s.hand_in("A01", "2025-04-14T16:00:00+02:00", ALAN)  # 6 hours late
    s.present("A01", ADA, "explained", "2025-04-17T11:10:00+02:00")
    s.hand_in("A02", "2025-04-20T10:00:00+02:00", ADA, GRACE)
    s.hand_in("A02", "2025-04-20T11:00:00+02:00", EMMY)
    s.hand_in("A02", "2025-04-20T12:00:00+02:00", MALLORY)
    s.add("ExcuseGranted", "2025-04-22T09:00:00+02:00", student=ALAN, assignments=["A03", "A04"], certificate="AU-1")
    s.add("GroupChanged", "2025-04-23T10:00:00+02:00", student=EMMY, group="g1", reason="clash")  # from Thu 24
    s.add("GroupChanged", "2025-04-24T12:00:00+02:00", student=GRACE, group="g2", reason="clash")  # from May 1
    s.present("A02", GRACE, "failed_to_explain", "2025-04-24T11:05:00+02:00")
    s.assess("A02", EMMY, "uncited_copy", "2025-04-24T12:30:00+02:00")
    s.hand_in("A03", "2025-04-27T10:00:00+02:00", ADA)
    copied = s.hand_in("A03", "2025-04-27T11:00:00+02:00", EMMY)
    s.hand_in("A03", "2025-04-27T12:00:00+02:00", MALLORY)
    s.add("EventRetracted", "2025-04-28T09:00:00+02:00", event=copied, reason="handed in for someone else")
    s.add("ApplicationWithdrawn", "2025-04-29T09:00:00+02:00", student=ALAN, reason="moved away")
    s.hand_in("A04", "2025-05-04T10:00:00+02:00", MALLORY)
    s.hand_in("A04", "2025-05-05T12:00:00+02:00", ADA, GRACE)  # 2 hours late
    s.flush()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("report") / "ledger.sqlite")
    semester(path)
    return path


@pytest.fixture(scope="module")
def page(store: str) -> str:
    return html(report(read(store, as_of=datetime.fromisoformat(LATER))))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- the rows the charts draw --------------------------------------------------------


def test_fails_per_assignment_by_reason(store: str) -> None:
    reading = read(store, as_of=at(LATER))
    assert fails_by_reason(reading) == [
        FailCount("A01", "missed_deadline", 1),  # Emmy
        FailCount("A02", "uncited_copy", 1),  # Emmy
        FailCount("A02", "failed_to_explain", 1),  # Grace
        FailCount("A03", "missed_deadline", 2),  # Grace; Emmy, whose hand-in was retracted
        FailCount("A04", "late", 2),  # Ada and Grace
        FailCount("A04", "missed_deadline", 1),  # Emmy
    ]
    # The same participants as the status's counts (Alan withdrew: in neither).
    per_assignment = {a.assignment: a.failed for a in course_status(reading).assignments}
    assert per_assignment == {a: sum(f.count for f in fails_by_reason(reading) if f.assignment == a) for a in per_assignment}


def test_fails_follow_the_clock(store: str) -> None:
    assert fails_by_reason(read(store, as_of=at("2025-04-14T10:00:00+02:00"))) == []  # A01 open until then
    assert fails_by_reason(read(store, as_of=at("2025-04-14T10:00:01+02:00"))) == [FailCount("A01", "missed_deadline", 2)]


def test_hand_in_times_against_the_deadline(store: str) -> None:
    timing = hand_in_timing(read(store, as_of=at(LATER)))
    assert [(t.assignment, t.team, t.hours, t.on_time) for t in timing] == [
        ("A01", (ADA, GRACE), -14.0, True),
        ("A01", (MALLORY,), -2.0, True),
        ("A01", (ALAN,), 6.0, False),
        ("A02", (ADA, GRACE), -24.0, True),
        ("A02", (EMMY,), -23.0, True),
        ("A02", (MALLORY,), -22.0, True),
        ("A03", (ADA,), -24.0, True),  # Emmy's, retracted, is not there
        ("A03", (MALLORY,), -22.0, True),
        ("A04", (MALLORY,), -24.0, True),
        ("A04", (ADA, GRACE), 2.0, False),
    ]
    first = timing[0]
    assert (first.at.isoformat(), first.deadline.isoformat()) == ("2025-04-13T20:00:00+02:00", "2025-04-14T10:00:00+02:00")


def test_hand_in_times_before_a_deadline_change_are_against_the_new_one(store: str, tmp_path: Path) -> None:
    path = str(tmp_path / "moved.sqlite")
    semester(path)
    s = Script(path)
    s.add("DeadlineChanged", "2025-05-06T09:00:00+02:00", assignment="A04", deadline="2025-05-05T14:00:00+02:00",
          reason="server outage")  # fmt: skip
    s.flush()
    late = [t for t in hand_in_timing(read(path, as_of=at(LATER))) if t.assignment == "A04"]
    assert [(t.hours, t.on_time) for t in late] == [(-28.0, True), (-2.0, True)]


def test_group_sizes_by_week(store: str) -> None:
    weeks = group_weeks(read(store, as_of=at(LATER)))
    sessions = {w.week: w.session.isoformat() for w in weeks}
    # Week 1 is that of the first earlier session (Thu 11:00) after the registration deadline (Fri 11 April);
    # the weeks end with the last deadline's (5 May), the clock being later.
    assert sessions == {1: "2025-04-17T11:00:00+02:00", 2: "2025-04-24T11:00:00+02:00", 3: "2025-05-01T11:00:00+02:00"}
    assert [(w.week, w.group, w.members, w.capacity) for w in weeks] == [
        (1, "g1", 2, 5), (1, "g2", 3, 5),  # Ada, Grace | Alan, Emmy, Mallory (placed at once)
        (2, "g1", 3, 5), (2, "g2", 2, 5),  # Emmy moved on Wednesday: from Thursday's session on
        (3, "g1", 2, 5), (3, "g2", 2, 5),  # Grace moved after Thursday's session: from next week; Alan left
    ]  # fmt: skip


def test_group_weeks_end_at_the_clock(store: str) -> None:
    weeks = group_weeks(read(store, as_of=at("2025-04-24T11:00:00+02:00")))
    assert [(w.week, w.group, w.members) for w in weeks] == [(1, "g1", 2), (1, "g2", 3), (2, "g1", 3), (2, "g2", 2)]
    assert group_weeks(read(store, as_of=at("2025-04-17T10:59:00+02:00"))) == []  # before the first session
    assert isinstance(weeks[0], GroupWeek)


def test_timelines(store: str) -> None:
    found = {t.student: t for t in timelines(read(store, as_of=at(LATER)))}
    assert list(found) == [ADA, GRACE, ALAN, EMMY, MALLORY]  # everyone admitted, in order of application
    grace = found[GRACE]
    assert (grace.name, grace.status.standing.status, grace.status.standing.group) == ("Grace Hopper", "excluded", "g2")
    assert [(m.assignment, m.event, m.against) for m in grace.moments] == [
        ("", "ApplicationSubmitted", False),
        ("", "ApplicationAccepted", False),
        ("", "GroupsAllocated", False),
        ("A01", "SubmissionHandedIn", False),
        ("A02", "SubmissionHandedIn", False),
        ("", "GroupChanged", False),
        ("A02", "PresentationRecorded", True),
        ("A04", "SubmissionHandedIn", True),
    ]
    # A retracted event and the retraction are in no one's timeline; an excuse is on each row it covers.
    assert [m.event for m in found[EMMY].moments if m.assignment == "A03"] == []
    assert [(m.assignment, m.event) for m in found[ALAN].moments if m.event == "ExcuseGranted"] == [
        ("A03", "ExcuseGranted"), ("A04", "ExcuseGranted")
    ]  # fmt: skip
    assert found[ALAN].status.standing.status == "withdrawn"
    assert found[MALLORY].name == HOSTILE
    assert [a.outcome for a in found[MALLORY].status.assignments] == ["passed"] * 4


def test_the_report_of_a_course_not_open_yet_and_of_one_just_opened(store: str, tmp_path: Path) -> None:
    before = html(report(read(store, as_of=at("2025-03-01T00:00:00+01:00"))))
    assert "is not open at this time" in before and "<svg" not in before
    path = str(tmp_path / "new.sqlite")
    s = Script(path)
    s.open()
    s.flush()
    empty = report(read(path, as_of=at(LATER)))
    assert (empty.fails, empty.timing, empty.timelines) == ((), (), ())
    # Without a deadline or a closing, the weeks run to the clock: 17 April … 29 May, no one in a group.
    assert [(w.week, w.members) for w in empty.weeks if w.group == "g1"] == [(n, 0) for n in range(1, 8)]
    assert html(empty).count("<svg") == 4  # the charts say there is nothing to show; no timeline yet


# -- the page, as text ------------------------------------------------------------


def test_every_name_is_escaped_and_ours_is_the_only_script(page: str) -> None:
    assert HOSTILE not in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned = 2&quot;&gt;" in page
    assert page.count("<script") == 1 and f"<script>{SCRIPT}</script>" in page


def test_hostile_titles_groups_and_assignments_are_drawn_and_escaped(tmp_path: Path) -> None:
    path = str(tmp_path / "hostile.sqlite")
    s = Script(path)
    title, group, assignment = "</title><script>window.pwned = 3</script>", '<g1 onclick="x()">', "$\\frac{1}{0}$ <i>"
    s.add("CourseOpened", "2025-03-03T09:00:00+01:00", title=title, timezone="Europe/Berlin", capacity=5,
          application_deadline="2025-04-04T23:59:00+02:00", registration_deadline="2025-04-11T12:00:00+02:00",
          groups=[{"id": group, "slot": "Thu 11:00", "capacity": 5}])  # fmt: skip
    s.apply(ADA, "2025-03-10T10:00:00+01:00")
    s.add("ApplicationAccepted", "2025-04-07T10:00:00+02:00", student=ADA)
    s.add("GroupChanged", "2025-04-08T10:00:00+02:00", student=ADA, group=group, reason="placed")
    s.add("AssignmentPublished", "2025-04-07T12:00:00+02:00", assignment=assignment, title="t",
          deadline="2025-04-14T10:00:00+02:00")  # fmt: skip
    s.hand_in(assignment, "2025-04-15T10:00:00+02:00", ADA)
    s.flush()
    hostile = html(report(read(path, as_of=at(LATER))))  # mathtext is off: "$\frac{1}{0}$" is drawn as written
    for text in (title, group, assignment):
        assert text not in hostile
    assert "&lt;/title&gt;&lt;script&gt;window.pwned = 3&lt;/script&gt;" in hostile
    assert "&lt;g1 onclick=&quot;x()&quot;&gt;" in hostile and "$\\frac{1}{0}$ &lt;i&gt;" in hostile
    assert hostile.count("<script") == 1 and hostile.count("<svg") == 5


def test_the_page_fetches_nothing_by_construction(page: str) -> None:
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None and policy[1] == POLICY
    assert "default-src 'none'" in POLICY and "'unsafe-inline'" not in POLICY.split("script-src")[1].split(";")[0]
    # No source or link to anywhere: references stay inside the page, web addresses only name XML namespaces.
    assert not re.search(r"\bsrc=|@import|url\((?!#)", page.replace("src=x", ""))
    assert {m for m in re.findall(r'href="([^"]*)"', page) if not m.startswith("#")} == set()
    assert set(re.findall(r"https?://[^\"' ]+", page)) <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page


def test_ids_are_unique_across_the_charts(page: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    referenced = set(re.findall(r'href="#([^"]+)"', page)) | set(re.findall(r"url\(#([^)]+)\)", page))
    assert referenced <= set(ids)


def test_report_command_writes_the_page(store: str, page: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run(store, "report", "-o", str(out), "--as-of", LATER)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == page  # the same ledger and clock: the same bytes
    known = run(store, "report", "-o", "-", "--known-at", "2025-03-01T00:00:00+01:00")
    assert known.exit_code == 0 and "as the ledger stood at 2025-03-01 00:00" in known.stdout
    assert "is not open at this time" in known.stdout  # nothing had been recorded then
    assert run(store, "report", "--format", "csv").exit_code == 2


# -- the page, in a real browser -------------------------------------------------------


def pixels(png: bytes, colour: str, tolerance: int = 24) -> int:
    """How many pixels of `png` are `colour` (#rrggbb), give or take `tolerance` per channel."""
    import io

    from PIL import Image

    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    total = Image.open(io.BytesIO(png)).size
    return total[0] * total[1] - ink(png, rgb, tolerance)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report_file(page: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def open_page(browser: Browser, path: Path, suffix: str = "") -> tuple[Page, list[str], list[str]]:
    """A page showing `path`, and the requests it made and the console messages it printed."""
    tab = browser.new_page(viewport={"width": 1100, "height": 900})
    requests: list[str] = []
    messages: list[str] = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.on("console", lambda m: messages.append(m.text))
    tab.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
    tab.goto(path.as_uri() + suffix)
    return tab, requests, messages


def plot(tab: Page, chart: str) -> bytes:
    """A screenshot of a chart's plotting area (legends and labels left out): where its data is drawn."""
    area = tab.locator(f"#chart-{chart} #{chart}-plot")
    box = area.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 50, (chart, box)
    return area.screenshot()


def test_each_chart_is_drawn_with_its_data(browser: Browser, report_file: Path) -> None:
    tab, requests, messages = open_page(browser, report_file)
    shot = {name: plot(tab, name) for name in ("status", "fails", "timing", "groups")}
    # Admission status: on_track (Ada, Mallory), excluded (Grace, Emmy), withdrawn (Alan); none at risk.
    for status in ("on_track", "excluded", "withdrawn"):
        assert pixels(shot["status"], STATUS_COLOURS[status]) > 200, status
    assert pixels(shot["status"], STATUS_COLOURS["at_risk"]) == 0
    for reason in ("uncited_copy", "failed_to_explain", "late", "missed_deadline"):
        assert pixels(shot["fails"], REASON_COLOURS[reason], 12) > 200, reason
    assert pixels(shot["fails"], REASON_COLOURS["insufficient_effort"], 12) == 0
    assert pixels(shot["timing"], ON_TIME, 12) > 200 and pixels(shot["timing"], LATE, 12) > 100
    assert pixels(shot["groups"], ON_TIME, 12) > 500 and pixels(shot["groups"], ORANGE, 12) > 500
    assert requests == [report_file.as_uri()]
    assert not [m for m in messages if "Content Security Policy" in m]
    tab.close()


def test_the_student_picker_switches_the_timeline(browser: Browser, report_file: Path) -> None:
    tab, _, _ = open_page(browser, report_file)
    ada = plot(tab, "timeline")
    assert pixels(ada, ON_TIME, 12) > 50 and pixels(ada, GREEN, 12) > 50  # hand-ins, passed deadlines
    assert tab.locator(".student:not([hidden])").inner_text().startswith(f"{ADA} Ada Lovelace")
    tab.select_option("#student", label=f"{GRACE} Grace Hopper")
    grace = plot(tab, "timeline")
    assert grace != ada and pixels(grace, VERMILLION, 12) > 50  # a late hand-in, a failed presentation
    assert tab.locator(".student:not([hidden])").inner_text().startswith(f"{GRACE} Grace Hopper")
    assert tab.evaluate("location.hash") == f"#{GRACE}"
    tab.select_option("#student", index=4)  # Mallory: everything passed, nothing against her
    mallory = plot(tab, "timeline")
    assert pixels(mallory, GREEN, 12) > 50 and pixels(mallory, VERMILLION, 12) == 0
    tab.close()
    tab, _, _ = open_page(browser, report_file, f"#{GRACE}")  # a link to one student's timeline
    assert tab.locator(".student:not([hidden])").inner_text().startswith(f"{GRACE} Grace Hopper")
    tab.close()


def test_a_hostile_name_is_shown_not_run(browser: Browser, report_file: Path) -> None:
    tab, requests, _ = open_page(browser, report_file)
    assert tab.evaluate("typeof window.pwned") == "undefined"
    assert tab.locator("#student option").nth(4).inner_text() == f"{MALLORY} {HOSTILE}"
    assert requests == [report_file.as_uri()]  # not even the <img src=x> of the name
    tab.close()


def test_without_its_policy_the_page_still_fetches_nothing(browser: Browser, page: str, tmp_path: Path) -> None:
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page), encoding="utf-8")
    tab, requests, _ = open_page(browser, bare)
    assert requests == [bare.as_uri()]
    assert tab.evaluate("typeof window.pwned") == "undefined"
    assert tab.locator("#chart-timeline svg").screenshot() != b""
    tab.close()


def test_a_report_of_the_whole_sample_semester_draws(browser: Browser, tmp_path: Path) -> None:
    path = str(tmp_path / "sample.sqlite")
    result = run(path, "import", str(Path(__file__).resolve().parent.parent / "samples" / "idl-2025.jsonl"))
    assert result.exit_code == 0, result.output
    out = tmp_path / "sample.html"
    assert run(path, "report", "-o", str(out)).exit_code == 0
    tab, requests, messages = open_page(browser, out)
    assert requests == [out.as_uri()] and not [m for m in messages if "Content Security Policy" in m]
    assert tab.locator("#student option").count() == 60
    for name in ("status", "fails", "timing", "groups", "timeline"):
        assert ink(tab.locator(f"#chart-{name} svg").screenshot()) > 5000, name
    tab.close()

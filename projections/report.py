"""The course as one self-contained HTML page with charts (`subledger report`).

`report(reading)` gathers the rows the charts draw, from the read models;
`html(report)` writes the page. The page fetches nothing: the charts are
inline SVG (`projections.report_charts`), the style and the one small script
are inline, and a Content-Security-Policy forbids every fetch and every script
but that one (by its hash), so a name that slipped through unescaped still
could not run. Every text from the ledger is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from projections.fails import FailCount, fails_by_reason
from projections.reading import Reading
from projections.status import CourseStatus, course_status
from projections.timeline import Timeline, timelines
from projections.timing import HandInTiming, hand_in_timing
from projections.weeks import GroupWeek, group_weeks


@dataclass(frozen=True, slots=True)
class Report:
    """What the page shows: the course at the clock and the rows of each chart."""

    status: CourseStatus
    known_at: datetime | None  # in the course's time zone
    fails: tuple[FailCount, ...]
    timing: tuple[HandInTiming, ...]
    weeks: tuple[GroupWeek, ...]
    timelines: tuple[Timeline, ...]


def report(reading: Reading) -> Report:
    """The rows of every chart of the course, as `reading` sees it."""
    known_at = reading.clock.known_at
    return Report(
        status=course_status(reading),
        known_at=reading.local(known_at) if known_at else None,
        fails=tuple(fails_by_reason(reading)),
        timing=tuple(hand_in_timing(reading)),
        weeks=tuple(group_weeks(reading)),
        timelines=tuple(timelines(reading)),
    )


# -- the page -----------------------------------------------------------------

SCRIPT = """
(() => {
  const pick = document.getElementById("student");
  const show = () => {
    const chosen = pick.value;
    for (const panel of document.querySelectorAll(".student")) {
      panel.hidden = panel.dataset.student !== chosen;
    }
    for (const mark of document.querySelectorAll("#chart-timeline g[id^='timeline-student-']")) {
      mark.style.display = mark.id.startsWith("timeline-student-" + chosen + "-") ? "inline" : "none";
    }
  };
  const wanted = decodeURIComponent(location.hash.slice(1));
  for (const option of pick.options) {
    if (option.dataset.id === wanted) pick.value = option.value;
  }
  pick.addEventListener("change", () => {
    history.replaceState(null, "", "#" + encodeURIComponent(pick.selectedOptions[0].dataset.id));
    show();
  });
  show();
})();
"""

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.5rem 3rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .4rem; border-bottom: 1px solid #ddd; }
.facts { color: #555; margin: 0; }
figure { margin: .5rem 0; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption, .note { color: #555; font-size: .9rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .4rem 0; }
th, td { text-align: left; padding: .1rem .6rem .1rem 0; vertical-align: top; border-bottom: 1px solid #eee; }
td.n { text-align: right; }
details summary { cursor: pointer; color: #555; font-size: .9rem; }
label { font-weight: 600; }
select { font: inherit; margin-left: .4rem; }
.against { color: #b34700; }
#chart-timeline g[id^="timeline-student-"] { display: none; }
#chart-timeline g[id^="timeline-student-0-"] { display: inline; }
"""


def _hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()


# Nothing may be fetched (no default source), no form sent, no base changed; styles
# are inline (the charts carry style attributes), and the one script runs by its hash.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src '{_hash(SCRIPT)}'; base-uri 'none'; form-action 'none'"
)


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _table(head: Sequence[str], rows: Iterable[Sequence[object]], numeric: Sequence[bool] = ()) -> str:
    header = "".join(f"<th>{_text(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{_text(v)}</td>' if i < len(numeric) and numeric[i] else f"<td>{_text(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _numbers(table: str) -> str:
    return f"<details><summary>The numbers</summary>{table}</details>"


def _figure(name: str, title: str, svg: str, caption: str, numbers: str) -> str:
    return (
        f'<section><h2>{_text(title)}</h2><figure id="chart-{name}" aria-label="{_text(title)}">{svg}'
        f"<figcaption>{_text(caption)}</figcaption></figure>{_numbers(numbers)}</section>"
    )


def html(report: Report) -> str:
    """The report as one HTML page that fetches nothing."""
    from projections import report_charts as charts

    status = report.status
    title = f"{status.title} ({status.course})" if status.opened else status.course
    known = f", as the ledger stood at {_when(report.known_at)}" if report.known_at else ""
    head = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}: course report</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{_text(title)}</h1>"
        f'<p class="facts">As of {_when(status.as_of)} {_text(status.as_of.tzname() or "")}{_text(known)}.</p></header>'
    )
    if not status.opened:
        return head + f"<p>The course {_text(status.course)} is not open at this time.</p></body></html>\n"
    assignments = [a.assignment for a in status.assignments]
    closed = f"closed {_when(status.closed)}" if status.closed else "open"
    parts = [
        head,
        '<p class="facts">'
        f"{status.participants} participants of {status.capacity} seats; {status.applications} applications, "
        f"{status.undecided} undecided; groups {_text(', '.join(f'{g.group} {g.members}/{g.capacity}' for g in status.groups))}; "
        f"coursework {closed}; {len(assignments)} assignments.</p>",
        _figure(
            "status", "Admission status", charts.status_chart(status.statuses),
            "Everyone admitted, by their status for the exam (SPEC §5).",
            _table(("status", "students"), status.statuses.items(), (False, True)),
        ),
        _figure(
            "fails", "Fails per assignment, by reason", charts.fails_chart(report.fails, assignments),
            "Current participants who failed each assignment, by the first reason that applies.",
            _table(("assignment", "reason", "participants"), ((f.assignment, f.reason, f.count) for f in report.fails),
                   (False, False, True)),
        ),
        _figure(
            "timing", "Hand-in times against the deadline", charts.timing_chart(report.timing),
            "Each hand-in (a team's, resubmissions too), by hours before or after the course's deadline "
            "of its assignment; hand-ins more than 14 days early or 7 days late are counted in the outermost bar.",
            _table(("assignment", "handed in", "deadline", "hours", "team"),
                   ((t.assignment, _when(t.at), _when(t.deadline), f"{t.hours:+.1f}", " ".join(t.team))
                    for t in report.timing), (False, False, False, True)),
        ),
        _figure(
            "groups", "Group sizes by week", charts.weeks_chart(report.weeks),
            "Participants in each exercise group at each week's first session (a change counts from the "
            "first week whose first session comes after it).",
            _table(("week", "first session", "group", "members", "seats"),
                   ((w.week, _when(w.session), w.group, w.members, w.capacity) for w in report.weeks),
                   (True, False, False, True, True)),
        ),
        _timeline(report.timelines, assignments, charts.timeline_chart(report.timelines, assignments)),
        f"<script>{SCRIPT}</script></body></html>\n",
    ]  # fmt: skip
    return "".join(parts)


def _timeline(found: Sequence[Timeline], assignments: Sequence[str], svg: str) -> str:
    if not found:
        return "<section><h2>A student's timeline</h2><p>No one has been admitted yet.</p></section>"
    options = "".join(
        f'<option value="{n}" data-id="{_text(t.student)}">{_text(t.student)} {_text(t.name)}</option>'
        for n, t in enumerate(found)
    )
    panels = "".join(_panel(n, t) for n, t in enumerate(found))
    return (
        "<section><h2>A student's timeline</h2>"
        f'<p><label for="student">Student</label><select id="student">{options}</select></p>'
        f'<figure id="chart-timeline" aria-label="the chosen student\'s timeline">{svg}'
        "<figcaption>A row per assignment: its deadline coloured by the outcome, and every hand-in, "
        "presentation, assessment and excuse; the top row holds the application, the decision, the "
        "groups and the exam.</figcaption></figure>"
        f"{panels}</section>"
    )


def _panel(n: int, timeline: Timeline) -> str:
    status = timeline.status
    who = status.standing
    hidden = "" if n == 0 else " hidden"
    summary = (
        f"<p><strong>{_text(who.student)} {_text(timeline.name)}</strong>: {_text(who.programme)} "
        f"({who.credits} credits), group {_text(who.group or '-')}; <strong>{_text(who.status)}</strong> "
        f"({_text(who.rule)}).</p>"
    )
    outcomes = _table(
        ("assignment", "deadline", "outcome", "why"),
        ((a.assignment, _when(a.deadline), a.outcome, a.why) for a in status.assignments),
    )
    shown = {m.position: m for m in timeline.moments}  # an excuse of several assignments is one event
    events = "".join(
        f'<tr{" class=against" if m.against else ""}><td class="n">#{m.position}</td><td>{_when(m.at)}</td>'
        f"<td>{_text(m.event)}</td><td>{_text(m.says)}</td></tr>"
        for m in shown.values()
    )
    return (
        f'<div class="student" data-student="{n}"{hidden}>{summary}{outcomes}'
        f"<details><summary>The events about {_text(who.student)}</summary><table><thead><tr><th>#</th>"
        f"<th>at</th><th>event</th><th>what it says</th></tr></thead><tbody>{events}</tbody></table></details></div>"
    )

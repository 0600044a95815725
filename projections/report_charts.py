"""The report's charts: matplotlib draws each as SVG, made fit to sit inline in one HTML page.

matplotlib is imported only here, and only when a report is made (it costs
about half a second). Text is drawn as paths (`svg.fonttype: path`), so a chart
needs no font and fetches nothing; mathtext is off, so an assignment called
`$x$` is drawn as written. No applicant's name is ever drawn in a chart.
Colours are the Okabe–Ito palette, which colour-blind readers can tell apart.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from projections.fails import FailCount, reason_order
from projections.status import STATUSES
from projections.timeline import Timeline
from projections.timing import HandInTiming
from projections.weeks import GroupWeek

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, GREY = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999",
)  # fmt: skip
STATUS_COLOURS = {"on_track": GREEN, "at_risk": ORANGE, "excluded": VERMILLION, "admitted": BLUE, "withdrawn": GREY}
REASON_COLOURS = {
    "uncited_copy": PURPLE,
    "insufficient_effort": ORANGE,
    "transfer_missing": YELLOW,
    "failed_to_explain": SKY,
    "absent": BLUE,
    "late": VERMILLION,
    "missed_deadline": BLACK,
}
GROUP_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, YELLOW)
ON_TIME, LATE = BLUE, VERMILLION
OUTCOME_COLOURS = {"passed": GREEN, "failed": VERMILLION, "excused": SKY, "exempt": GREY, "open": GREY}

WIDTH = 7.5  # inches; at 72 points an inch the SVG is 540 points wide
# How far a hand-in can be from its deadline before it is counted in the outermost bin.
EARLIEST, LATEST = -14 * 24.0, 7 * 24.0

# Ids in an inline SVG share the page's namespace: each chart's get its own prefix.
_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_DROPPED = re.compile(r"<!--.*?-->|<metadata>.*?</metadata>\s*", re.S)


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.fonttype": "path",  # glyphs as paths: no font to load
            "svg.hashsalt": "subledger",  # the same ledger gives the same page
            "text.parse_math": False,
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        yield


def _figure(height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, height), layout="constrained")


def inline(svg: str, prefix: str) -> str:
    """A standalone SVG made fit for an HTML page: no XML prologue (its DOCTYPE names a DTD on the
    web), no comments or metadata, and every id (and reference to one) prefixed with `prefix`."""
    svg = _DROPPED.sub("", svg[svg.index("<svg") :])
    svg = _ID.sub(lambda m: f'id="{prefix}-{m[1]}"', svg)
    svg = _HREF.sub(lambda m: f'{m[1]}="#{prefix}-{m[2]}"', svg)
    return _URL.sub(lambda m: f"url(#{prefix}-{m[1]})", svg)


def _svg(figure: Figure, prefix: str) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return inline(out.getvalue(), prefix)


def _counts(axis: Axis) -> None:
    """Counts of people and hand-ins: ticks on whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _nothing(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def _drawn(height: float, prefix: str, draw: Callable[[Axes], None]) -> str:
    with _style():
        figure = _figure(height)
        ax = figure.add_subplot()
        ax.patch.set_gid("plot")  # the plotting area (PREFIX-plot in the page): where the data is drawn
        draw(ax)
        return _svg(figure, prefix)


def status_chart(statuses: Mapping[str, int]) -> str:
    """Participants by admission status: a bar per status, in SPEC §5's order."""

    def draw(ax: Axes) -> None:
        names = [s for s in STATUSES if s in statuses] + [s for s in statuses if s not in STATUSES]
        counts = [statuses[s] for s in names]
        bars = ax.barh(names, counts, color=[STATUS_COLOURS.get(s, GREY) for s in names])
        ax.bar_label(bars, padding=3)
        ax.invert_yaxis()
        ax.set_xlabel("students")
        _counts(ax.xaxis)
        ax.margins(x=0.1)
        if not any(counts):
            _nothing(ax, "no one admitted yet")

    return _drawn(2.4, "status", draw)


def fails_chart(fails: Sequence[FailCount], assignments: Sequence[str]) -> str:
    """Fails per assignment, stacked by reason."""

    def draw(ax: Axes) -> None:
        if not assignments:
            _nothing(ax, "no assignment published yet")
            return
        reasons = sorted({f.reason for f in fails}, key=reason_order)
        bottom = dict.fromkeys(assignments, 0)
        for reason in reasons:
            counts = Counter({f.assignment: f.count for f in fails if f.reason == reason})
            heights = [counts[a] for a in assignments]
            ax.bar(assignments, heights, bottom=[bottom[a] for a in assignments],
                   color=REASON_COLOURS.get(reason, GREY), label=reason.replace("_", " "))  # fmt: skip
            for a in assignments:
                bottom[a] += counts[a]
        ax.set_ylabel("participants who failed")
        _counts(ax.yaxis)
        if reasons:
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        else:
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "no fails", ha="center", va="center", transform=ax.transAxes, color=GREY)
        ax.tick_params(axis="x", labelrotation=90 if len(assignments) > 16 else 0)

    return _drawn(3.0, "fails", draw)


def timing_chart(timing: Sequence[HandInTiming]) -> str:
    """Hand-ins by hours before (negative) or after their deadline: a histogram, late ones in their colour."""

    def draw(ax: Axes) -> None:
        if not timing:
            _nothing(ax, "no hand-ins yet")
            return
        hours = [min(max(t.hours, EARLIEST), LATEST) for t in timing]
        low = min(-24.0, 24.0 * (min(hours) // 24))
        high = max(24.0, 24.0 * -(-max(hours) // 24))
        step = 6.0 if high - low <= 10 * 24 else 12.0
        bins = [low + step * i for i in range(int((high - low) / step) + 1)]
        on_time = [h for h, t in zip(hours, timing, strict=True) if t.on_time]
        late = [h for h, t in zip(hours, timing, strict=True) if not t.on_time]
        ax.hist([on_time, late], bins=bins, stacked=True, color=[ON_TIME, LATE], label=["on time", "late"])
        ax.axvline(0, color=BLACK, linewidth=1)
        ax.text(0, 1, " deadline", transform=ax.get_xaxis_transform(), va="top", fontsize=8)
        ax.set_xticks([h for h in range(int(low), int(high) + 1, 24)])
        ax.set_xlabel("hours after the deadline (negative: before it)")
        ax.set_ylabel("hand-ins")
        _counts(ax.yaxis)
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))

    return _drawn(2.8, "timing", draw)


def weeks_chart(weeks: Sequence[GroupWeek]) -> str:
    """Each group's members, week by week: a bar per group and week, its seats as a line above."""

    def draw(ax: Axes) -> None:
        if not weeks:
            _nothing(ax, "no week of sessions yet")
            return
        groups = list(dict.fromkeys(w.group for w in weeks))
        numbers = sorted({w.week for w in weeks})
        width = 0.8 / len(groups)
        for i, group in enumerate(groups):
            rows = [w for w in weeks if w.group == group]
            colour = GROUP_COLOURS[i % len(GROUP_COLOURS)]
            xs = [w.week - 0.4 + width * (i + 0.5) for w in rows]
            ax.bar(xs, [w.members for w in rows], width=width * 0.9, color=colour, label=group)
            ax.hlines([w.capacity for w in rows], [x - width / 2 for x in xs], [x + width / 2 for x in xs],
                      colors=BLACK, linewidth=1)  # fmt: skip
        sessions = {w.week: w.session for w in weeks}
        ax.set_xticks(numbers, [f"{n}\n{sessions[n]:%d %b}" for n in numbers])
        ax.set_xlabel("week (its first session)")
        ax.set_ylabel("members (line: seats)")
        _counts(ax.yaxis)
        ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))

    return _drawn(2.8, "groups", draw)


# The kinds of mark on a timeline: marker, and colour for a moment that counts for / against.
_MARKS = {
    "SubmissionHandedIn": ("o", ON_TIME, LATE),
    "PresentationRecorded": ("^", GREEN, VERMILLION),
    "SubmissionAssessed": ("s", GREEN, VERMILLION),
    "ExcuseGranted": ("D", SKY, SKY),
}
_COURSE_MARK = ("o", GREY, VERMILLION)
COURSE_ROW = "course"


def timeline_chart(timelines: Sequence[Timeline], assignments: Sequence[str]) -> str:
    """Every student's timeline in one chart, each student's marks a group of its own
    (`timeline-student-N-…`, N their index) for the page to show one at a time.

    A row per assignment (and one for the course's own steps); deadlines as
    bars coloured by the outcome, hand-ins, presentations, assessments and
    excuses as marks, red where they count against the student.
    """

    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    def draw(ax: Axes) -> None:
        rows = [COURSE_ROW, *assignments]
        y = {row: i for i, row in enumerate(rows)}
        moments = [m.at for t in timelines for m in t.moments]
        deadlines = [a.deadline for t in timelines for a in t.status.assignments]
        if not moments and not deadlines:
            _nothing(ax, "no admitted student yet")
            return
        start, end = min(moments + deadlines), max(moments + deadlines)
        pad = max((end - start) / 40, timedelta(hours=12))
        ax.xaxis_date()
        ax.set_xlim(_x(start - pad), _x(end + pad))
        dates = AutoDateLocator(maxticks=8)  # type: ignore[no-untyped-call]  # untyped in its stubs
        ax.xaxis.set_major_locator(dates)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(dates))  # type: ignore[no-untyped-call]  # the same
        ax.set_yticks(range(len(rows)), rows)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_autoscale_on(False)  # the limits are set: hundreds of marks need not move them
        ax.grid(axis="y", color="#eeeeee")
        _legend(ax)
        # The marks move nothing (the limits are set): lay the chart out before there are hundreds of them.
        figure = ax.figure
        assert isinstance(figure, Figure)
        figure.draw_without_rendering()
        figure.set_layout_engine("none")
        for n, timeline in enumerate(timelines):
            _student(ax, n, timeline, y)

    return _drawn(1.2 + 0.22 * (len(assignments) + 1), "timeline", draw)


def _x(moment: datetime) -> float:
    """Where a local time sits on a date axis: at its wall time (the axis shows it as it is)."""
    from matplotlib.dates import date2num

    return float(date2num(moment.replace(tzinfo=None)))  # type: ignore[no-untyped-call]  # untyped in its stubs


def _student(ax: Axes, n: int, timeline: Timeline, y: Mapping[str, int]) -> None:
    # One line of marks per kind and colour (lighter than a scatter of many colours), each
    # with an id of the student's group: timeline-student-N-K once the page prefixes it.
    marks: dict[tuple[str, str], list[tuple[datetime, int]]] = {}
    for a in timeline.status.assignments:
        colour = OUTCOME_COLOURS.get(a.outcome.partition(":")[0], GREY)
        marks.setdefault(("|", colour), []).append((a.deadline, y[a.assignment]))
    for m in timeline.moments:
        marker, good, bad = _MARKS.get(m.event, _COURSE_MARK)
        row = y.get(m.assignment or COURSE_ROW)
        if row is not None:
            marks.setdefault((marker, bad if m.against else good), []).append((m.at, row))
    for k, ((marker, colour), points) in enumerate(marks.items()):
        bar = marker == "|"  # a deadline is a line; the other marks are filled shapes
        (line,) = ax.plot(
            [_x(at) for at, _ in points], [row for _, row in points], linestyle="", marker=marker,
            color=colour, markersize=12 if bar else 6, markeredgewidth=2 if bar else 0, zorder=2 if bar else 3,
        )  # fmt: skip
        line.set_gid(f"student-{n}-{k}")


def _legend(ax: Axes) -> None:
    from matplotlib.lines import Line2D

    def mark(marker: str, colour: str, label: str) -> Line2D:
        return Line2D([], [], linestyle="", marker=marker, color=colour, markersize=7 if marker != "|" else 12,
                      markeredgewidth=2 if marker == "|" else 0, label=label)  # fmt: skip

    handles = [
        mark("|", GREEN, "deadline: passed"),
        mark("|", VERMILLION, "deadline: failed"),
        mark("|", SKY, "deadline: excused"),
        mark("|", GREY, "deadline: open / exempt"),
        mark("o", ON_TIME, "hand-in on time"),
        mark("o", LATE, "hand-in late"),
        mark("^", GREEN, "explained"),
        mark("^", VERMILLION, "failed to explain / absent"),
        mark("s", GREEN, "assessed: sufficient"),
        mark("s", VERMILLION, "assessed: insufficient / copied"),
        mark("D", SKY, "excuse"),
        mark("o", GREY, "application, group, exam"),
    ]
    ax.legend(handles=handles, frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))

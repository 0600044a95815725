"""The session sheet as one HTML page that prints on A4 (`export sheet --format html`).

The page is self-contained: its style is inline, it has no script, and a
Content-Security-Policy forbids every fetch, so it prints the same anywhere,
offline. A group of 30, with a few visitors, fits one A4 page; a longer list
runs on, its header repeated on every page. Every text from the ledger is
escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from projections.sheet import Sheet, SheetRow

# Nothing may be fetched, no form sent, no base changed, no script run; the style is inline.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
@page { size: A4 portrait; margin: 10mm 12mm 12mm; }
html { font: 8.5pt/1.15 Arial, "Liberation Sans", Helvetica, sans-serif; color: #000; background: #fff; }
body { margin: 0; }
h1 { font-size: 12pt; margin: 0 0 1mm; }
p, footer { font-size: 8.5pt; }
p { margin: 0 0 0.8mm; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin-top: 1.5mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 0.25mm solid #444; padding: 0.3mm 1.2mm; height: 5mm; text-align: left; vertical-align: middle;
         overflow-wrap: anywhere; }
th { background: #e8e8e8; }
col.n { width: 7mm; } col.id { width: 16mm; } col.team { width: 62mm; } col.hand { width: 19mm; }
col.tick { width: 19mm; }
.who { display: inline-block; max-width: 100%; }
td.n { text-align: right; }
.note { font-style: italic; }
tr.away td { color: #555; }
td.tick span { display: inline-block; width: 3.5mm; height: 3.5mm; border: 0.3mm solid #000; }
.late { font-weight: bold; }
footer { margin-top: 1.5mm; color: #333; }
@media screen { body { max-width: 186mm; margin: 1rem auto; padding: 0 1rem; } }
"""

HAND_IN_WORDS = {
    "on_time": "on time", "late": "late", "missing": "missing", "open": "not yet due",
    "excused": "excused", "exempt": "exempt",
}  # fmt: skip


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _when(moment: datetime) -> str:
    return moment.strftime("%a %Y-%m-%d %H:%M")


def html(sheet: Sheet) -> str:
    """The sheet as one printable HTML page that fetches nothing."""
    known = f"; the ledger as it stood at {_when(sheet.known_at)}" if sheet.known_at else ""
    members = sum(1 for r in sheet.rows if r.attends != "visitor")
    visitors = sum(1 for r in sheet.rows if r.attends == "visitor")
    away = sum(1 for r in sheet.rows if r.attends == "away")
    title = f"{sheet.group}, week {sheet.week}: {sheet.assignment}"
    rows = "".join(_row(n, row, sheet) for n, row in enumerate(sheet.rows, start=1))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<title>Session sheet {_text(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Session sheet: group {_text(sheet.group)}, week {sheet.week}</h1>"
        f"<p><strong>{_text(sheet.title)}</strong> ({_text(sheet.course)}). Session {_text(_when(sheet.session))} "
        f"({_text(sheet.timezone)}; slot {_text(sheet.slot)}).</p>"
        f"<p>Assignment <strong>{_text(sheet.assignment)}</strong> {_text(sheet.assignment_title)}, deadline "
        f"{_text(_when(sheet.deadline))}. {members} members ({away} away), {visitors} visitors.</p>"
        '<table><colgroup><col class="n"><col class="id"><col><col class="team"><col class="hand">'
        '<col class="tick"></colgroup>'
        "<thead><tr><th>#</th><th>Student</th><th>Name</th><th>Handed in with</th><th>Hand-in</th>"
        "<th>Presented</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<footer>As of {_text(_when(sheet.as_of))}{_text(known)}. Hand-ins against each student's own deadline. "
        "Visitors sit in this session this week only; members away visit another group's.</footer>"
        "</body></html>\n"
    )


def _row(n: int, row: SheetRow, sheet: Sheet) -> str:
    note = ""
    if row.attends == "visitor":
        note = f" (visitor from {row.other_group})"
    elif row.attends == "away":
        note = f" (away, visits {row.other_group})"
    # Teammates wrap between names, and inside one only if it is longer than the column.
    team = ", ".join(f'<span class="who">{_text(sheet.names.get(s) or s)}</span>' for s in row.handed_in_with)
    if not row.handed_in_with and row.handed_in is not None:
        team = "alone"
    hand_in = HAND_IN_WORDS[row.hand_in]
    if row.deadline != sheet.deadline:  # an extension
        hand_in += f" (by {row.deadline.strftime('%m-%d %H:%M')})"
    tick = "" if row.attends == "away" else "<span></span>"
    late = ' class="late"' if row.hand_in in ("late", "missing") else ""
    return (
        f'<tr class="{row.attends}"><td class="n">{n}</td><td>{_text(row.student)}</td>'
        f'<td>{_text(row.name)}<span class="note">{_text(note)}</span></td>'
        f"<td>{team}</td><td{late}>{_text(hand_in)}</td>"
        f'<td class="tick">{tick}</td></tr>'
    )

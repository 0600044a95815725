"""Check the stored views against the log: are they what a rebuild would write?

The views are the read side's own copy of where each course's events sit in
the log (`projections.chunks`). Anyone with write access to the database can
edit them behind the program's back and so change what every export shows,
while the Merkle log (`ledger.integrity`) still verifies. This recomputes, in
memory, the rows a rebuild up to the views' checkpoint would write, reading
the log's positions and streams only, and compares them with the stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.errors import store_failures
from projections import chunks
from projections.runner import NAME, Views


@dataclass(frozen=True)
class ViewsVerdict:
    """Whether the stored views match a rebuild of the log; if not, which courses differ and how."""

    checkpoint: int | None  # the last position the views had applied (None: never built)
    courses: int  # how many courses the views hold
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the views are what a rebuild would write."""
        return not self.problems


class _Rebuilt:
    """A rebuild written to memory (`chunks.Writing`), its course names read from the store."""

    def __init__(self, store: chunks.Snapshot) -> None:
        self.store = store
        self.courses: dict[str, chunks.CourseRow] = {}
        self.chunks: dict[tuple[str, int], bytes] = {}
        self.done: int | None = None

    def checkpoint(self, name: str) -> int | None:
        return self.done

    def clear(self, name: str) -> None:
        self.courses.clear()
        self.chunks.clear()

    def known(self, streams: list[Any]) -> dict[Any, tuple[str, int]]:
        by_stream = {row.stream: row for row in self.courses.values()}
        return {s: (by_stream[s].course, by_stream[s].size) for s in streams if s in by_stream}

    def first_state(self, stream: Any) -> bytes:
        return self.store.first_state(stream)

    def write(self, appends: list[chunks.ChunkRow], inserts: list[chunks.ChunkRow], courses: list[chunks.CourseRow]) -> None:
        for row in appends:
            self.chunks[(row.course, row.chunk)] += row.positions
        for row in inserts:
            self.chunks[(row.course, row.chunk)] = row.positions
        for course in courses:
            first = self.courses.get(course.course)
            self.courses[course.course] = course._replace(first_position=first.first_position) if first else course

    def track(self, name: str, position: int) -> None:
        self.done = position


def verify_views(source: str | Views) -> ViewsVerdict:
    """Compare the stored views with a rebuild of the log up to their checkpoint (reads only)."""
    from projections.reading import open_store

    views = open_store(source) if isinstance(source, str) else source
    with views.recorder.snapshot() as store:
        try:
            done, head = store.checkpoint(NAME), store.head()
        except store_failures():
            if not views.direct:
                raise
            return ViewsVerdict(None, 0)  # a reader's store whose views were never made: none to check
        stored_courses = {row.course: row for row in store.course_rows()}
        stored_chunks: dict[str, list[chunks.ChunkRow]] = {}
        for row in store.chunk_rows():
            stored_chunks.setdefault(row.course, []).append(row)
        if done is None:
            return ViewsVerdict(None, len(stored_courses))
        if done > head:
            return ViewsVerdict(done, len(stored_courses), [f"the views claim position {done}, but the log holds {head}"])
        rebuilt = _Rebuilt(store)
        entries = store.log(done)
        if entries:
            chunks.save(rebuilt, NAME, None, chunks.group(entries))
    problems = []
    for course in sorted(set(stored_courses) | set(rebuilt.courses)):
        expected = rebuilt.courses.get(course)
        found = stored_courses.get(course)
        if found != expected:
            problems.append(_differs(course, _how(found, expected)))
            continue
        rows = [(r.chunk, r.positions) for r in stored_chunks.get(course, [])]
        if rows != sorted((chunk, p) for (c, chunk), p in rebuilt.chunks.items() if c == course):
            problems.append(_differs(course, "the positions of its events differ"))
    return ViewsVerdict(done, len(stored_courses), problems)


def _differs(course: str, how: str) -> str:
    return f"the views of course {course!r} differ from a rebuild of the log ({how}); `subledger rebuild` rewrites them"


def _how(found: chunks.CourseRow | None, expected: chunks.CourseRow | None) -> str:
    if found is None:
        return "the views hold no row for it"
    if expected is None:
        return "the log holds no such course"
    return "; ".join(
        f"{name} {mine!r}, a rebuild gives {theirs!r}"
        for name, mine, theirs in zip(chunks.CourseRow._fields, found, expected, strict=True)
        if mine != theirs
    )

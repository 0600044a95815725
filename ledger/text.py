"""What text an event may hold: ids that are not empty and hold no control character, and no NUL anywhere.

One check of every id and text field (`check_text`), asked by `ledger.rules.check`
on every append path and in `verify`'s replay; `ids_of` names every id an event holds.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from functools import cache
from typing import Any

import msgspec

from ledger import events as ev
from ledger.errors import Refused

# A control character in an id is never meant (and SQLite's and PostgreSQL's text disagree on NUL).
_NOT_IN_IDS = re.compile("[\x00-\x1f\x7f]")
# How a field holds its text: one string (or None), several, a mapping's keys and values, groups.
_ONE, _MANY, _MAPPING, _GROUPS, _GROUP_IDS = range(5)
_encoder = msgspec.json.Encoder()
_GROUP_FIELDS: dict[type[ev.Event], tuple[str, ...]] = {
    ev.CourseOpened: ("groups",),
    ev.GroupChanged: ("group",),
    ev.GroupVisited: ("group",),
    ev.GroupPreferenceRegistered: ("priorities",),
    ev.GroupsAllocated: ("allocation",),  # its keys are students (concerns), its values groups
}


def check_text(event: ev.Event, encoded: bytes | None = None) -> None:
    """Refuse an empty id (`empty-id`) or a control character in one, and a NUL anywhere (`control-character`).

    The one check of every id and text field, on every append path (CLI,
    import, restore) and in `verify`'s replay. Free text may hold tab, newline
    and the other control characters a person can type; only NUL is refused
    there, which no text store keeps alike (PostgreSQL's text and jsonb refuse it).
    Fields are walked by a plan made once per event type: this runs on every
    event of an import and of `verify`. `encoded`: JSON that holds the event (its stored
    envelope), searched for NUL instead of encoding the event again.
    """
    ids, texts = _plans(type(event))
    for name, shape in ids:
        if shape == _ONE:
            value = getattr(event, name)
            if not value or value.isspace() or not value.isprintable():
                _check_id(name, value)
            continue
        for value in _values(getattr(event, name), shape):
            if not value or value.isspace() or not value.isprintable():
                _check_id(name, value)
    # JSON writes a NUL as its escape: one search of the encoded event, and the fields only if it is there
    # (or a text spells the escape out).
    if b"\\u0000" in (encoded if encoded is not None else _encoder.encode(event)):
        for name, shape in texts:
            for value in _values(getattr(event, name), shape):
                no_nul(name, value)


def _check_id(field: str, value: str) -> None:
    if not value.strip():
        raise Refused("empty-id", f"{field} is empty; give the {field} an id")
    bad = _NOT_IN_IDS.search(value)
    if bad:  # (other characters Python does not call printable, e.g. a no-break space, are left alone)
        raise Refused("control-character", f"{field} {value!r} holds the control character U+{ord(bad.group()):04X}")


def no_nul(field: str, text: str) -> None:
    """Refuse a NUL in the text of `field` (`control-character`)."""
    if "\x00" in text:
        raise Refused("control-character", f"{field} {text!r} holds the control character U+0000 (NUL)")


def _values(value: Any, shape: int) -> tuple[str, ...] | Iterator[str]:
    if shape == _ONE:
        return () if value is None else (value,)
    if shape == _MANY:
        return value  # type: ignore[no-any-return]
    if shape == _MAPPING:
        return (text for pair in value.items() for text in pair)
    if shape == _GROUP_IDS:
        return (group.id for group in value)
    return (text for group in value for text in (group.id, group.slot))


@cache
def _plans(cls: type[ev.Event]) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]:
    """The fields of `cls` that hold ids, and those that hold any text, each with its shape."""
    shapes: dict[str, int] = {}
    for field in msgspec.structs.fields(cls):
        kind, args = typing.get_origin(field.type), typing.get_args(field.type)
        if field.type is str or (args and set(args) == {str, type(None)}):
            shapes[field.name] = _ONE
        elif kind is tuple and args[0] is str:
            shapes[field.name] = _MANY
        elif kind is dict:
            shapes[field.name] = _MAPPING
        elif kind is tuple and args[0] is ev.Group:
            shapes[field.name] = _GROUPS
    named = ("course", *cls.concerns.students, *cls.concerns.assignments, *_GROUP_FIELDS.get(cls, ()))
    ids = tuple((name, _GROUP_IDS if shapes[name] == _GROUPS else shapes[name]) for name in dict.fromkeys(named))
    return ids, tuple(shapes.items())


def ids_of(event: ev.Event) -> Iterator[tuple[str, str]]:
    """Every id `event` names, with the field that names it: course, students, assignments, groups."""
    ids, _ = _plans(type(event))
    for name, shape in ids:
        for value in _values(getattr(event, name), shape):
            yield name, value

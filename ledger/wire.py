"""The JSONL wire format (SPEC §3): lines in, lines out.

A line is an event's fields plus, optionally, the envelope an export adds
(`id`, `seq`, `recorded_at`, `recorded_by`, and `salt`, the salt of the
event's Merkle leaf, so that a restore writes the very same leaves) and
`keys`, the material keys an export carries so that a restore seals the
material to the very same bytes, and `sealed`, the material fields it carries
as tokens because their key was destroyed.
Each event type gets a line type derived from it, so one decoder built once
reads any line, refuses unknown fields, and names what is wrong.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union
from uuid import UUID

import msgspec

from ledger import clock
from ledger import events as ev
from ledger.leaves import SALT_SIZE

# The namespace of ids derived from content; never change it (ids would change).
ID_NAMESPACE = UUID("6f1c7a52-3d0e-4b8e-9a51-2c5e0f7d9b10")

# Material fields an export line carries as their sealed token (their key was destroyed).
MaterialField = Literal["name", "email", "statement"]
# The salt of an event's Merkle leaf (ADR 18), base64 on the wire.
Salt = Annotated[bytes, msgspec.Meta(min_length=SALT_SIZE, max_length=SALT_SIZE)]

E = TypeVar("E", bound=ev.Event)

ENVELOPE_FIELDS: list[tuple[str, Any, Any]] = [
    ("id", UUID | None, None),
    ("seq", int | None, None),
    ("recorded_at", datetime | None, None),
    ("recorded_by", str | None, None),
    ("salt", Salt | None, None),
    ("keys", dict[str, str] | None, None),
    ("sealed", tuple[MaterialField, ...] | None, None),
]



@cache
def line_types() -> dict[type[ev.AnyEvent], type[ev.Event]]:
    """The line type of each event type (built on first use: a CLI append reads no line)."""
    return {
        cls: msgspec.defstruct(  # type: ignore[misc]  # a subclass of cls, by `bases`
            cls.__name__ + "Line",
            ENVELOPE_FIELDS,
            bases=(cls,),
            tag=name,
            frozen=True,
            kw_only=True,
            forbid_unknown_fields=True,
        )
        for name, cls in ev.EVENT_TYPES.items()
    }


@cache
def _event_of_line() -> dict[type[ev.Event], type[ev.AnyEvent]]:
    return {line: cls for cls, line in line_types().items()}

line_encoder = msgspec.json.Encoder()
canonical_encoder = msgspec.json.Encoder(order="sorted")
ENVELOPE_NAMES = tuple(name for name, _, _ in ENVELOPE_FIELDS)


class Line(msgspec.Struct, frozen=True):
    """One decoded import line: the event and whatever envelope it carried."""

    event: ev.AnyEvent
    id: UUID | None = None
    seq: int | None = None
    recorded_at: datetime | None = None
    recorded_by: str | None = None
    salt: bytes | None = None
    keys: dict[str, str] | None = None
    sealed: tuple[MaterialField, ...] | None = None

    @property
    def restores(self) -> bool:
        """Whether the line carries a record's envelope (`seq`, `recorded_at`, `recorded_by`, `salt`).

        Those come from the store's clock, the `--actor` and fresh randomness
        at append time; a line may carry them only in a restore of a whole
        export into an empty store (ADR 10, ADR 18).
        """
        return (
            self.seq is not None or self.recorded_at is not None or self.recorded_by is not None or self.salt is not None
        )

    def lacks(self) -> list[str]:
        """The envelope fields a restore line must carry and this one lacks."""
        return [name for name in RESTORE_FIELDS if getattr(self, name) is None]


# What every line of a restore carries: the whole envelope an export writes.
RESTORE_FIELDS = ("id", "seq", "recorded_at", "recorded_by")


@cache
def _any_line() -> Any:
    return Union[tuple(line_types().values())]  # noqa: UP007 - built at run time


@cache
def _line_decoder() -> msgspec.json.Decoder[Any]:
    # Built on first use: a single append from the CLI never reads a line.
    return msgspec.json.Decoder(_any_line())


def decode_line(raw: bytes | str) -> Line:
    """Read one JSONL line (raises msgspec.ValidationError / DecodeError)."""
    line = _line_decoder().decode(raw)
    cls = _event_of_line()[type(line)]
    fields = {f: getattr(line, f) for f in cls.__struct_fields__}
    envelope = {f: getattr(line, f) for f in ENVELOPE_NAMES}
    return Line(cls(**fields), **envelope)


def describe_error(error: msgspec.MsgspecError) -> str:
    """A decoding error in the words of the wire format."""
    text = str(error)
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return f"malformed JSON: {text}"
    if "`$.type`" in text or "tag" in text.lower():
        return f"unknown type: {text}"
    return f"wrong field: {text}"


def localize(event: E, tz: str) -> E:
    """`event` with every instant in UTC, naive ones read as wall time in `tz`."""
    changes = {}
    for name in ev.datetime_fields(type(event)):
        value: datetime = getattr(event, name)
        fixed = clock.localize(value, tz)
        if fixed is not value:
            changes[name] = fixed
    return msgspec.structs.replace(event, **changes) if changes else event


def content_id(event: ev.Event) -> UUID:
    """The id an event without one gets: derived from its content, material left out.

    Material is left out so that the id keeps no trace of it after erasure.
    """
    if isinstance(event, ev.ApplicationSubmitted):
        event = msgspec.structs.replace(event, name="", email="", statement="")
    return uuid.uuid5(ID_NAMESPACE, canonical_encoder.encode(event).decode())


def encode_line(
    record: ev.Recorded,
    keys: dict[str, str] | None = None,
    event: ev.Event | None = None,
    sealed: tuple[str, ...] = (),
    restores: bool = True,
    salt: bytes | None = None,
) -> bytes:
    """One export line: the envelope, then the event (or a readable copy of it).

    Without `restores`, the envelope holds the id only: the line imports as a
    new event, recorded when and by whom it is imported, with a fresh salt.
    """
    envelope: dict[str, Any] = {"id": record.id}
    if restores:
        envelope.update(seq=record.position, recorded_at=record.recorded_at, recorded_by=record.recorded_by)
        if salt is not None:
            envelope["salt"] = salt  # base64
    if keys:
        envelope["keys"] = keys
    if sealed:
        envelope["sealed"] = sealed
    head = line_encoder.encode(envelope)
    body = line_encoder.encode(event if event is not None else record.event)
    return head[:-1] + b"," + body[1:]


def schema() -> dict[str, Any]:
    """The JSON Schema of an import/export line."""
    return msgspec.json.schema(_any_line())

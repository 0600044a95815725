"""Checkpoints and receipts an auditor keeps (SPEC §6).

A checkpoint names a ledger, a log size and the Merkle root at that size, in the
text format of a C2SP tlog checkpoint, optionally signed as a C2SP signed note
with Ed25519. A receipt is one event as stored, with its leaf's salt and an
inclusion proof of its leaf that, checked against a checkpoint, shows the event
is in the log without revealing any other: the other events appear only as
hashes of salted leaves, which confirm no guess of their content (ADR 18).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.leaves import FORMATS, LEAF_FORMAT, SALT_SIZE, format_of, leaf
from ledger.merkle import HASH_SIZE, verify_inclusion

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from ledger.events import Recorded

__all__ = [
    "Checkpoint",
    "NoteSignature",
    "Receipt",
    "check_receipt",
    "generate_keypair",
    "sign",
    "verify_signature",
]

# C2SP signed note: a signature line starts with an em dash and a space.
SIGNATURE_PREFIX = "\u2014 "
# C2SP signed note: the signature type byte of Ed25519, hashed into the key id.
_ED25519_TYPE = b"\x01"
_KEY_ID_SIZE = 4
_ED25519_SIGNATURE_SIZE = 64
# Decimal without sign, separators or leading zeros, so each size has one spelling.
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
# Note text may hold no control character but the newline (C2SP signed note).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_MAX_SIZE = 2**64 - 1


def _b64decode(text: str, what: str) -> bytes:
    """Decode canonical standard base64; ValueError naming what otherwise."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError(f"{what} is not base64: {text!r}") from None
    # Re-encoding must give the same text: one spelling per value, as signed.
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError(f"{what} is not canonical base64: {text!r}")
    return raw


def _b64encode(raw: bytes) -> str:
    """Encode standard base64 with padding."""
    return base64.b64encode(raw).decode("ascii")


def _check_key_name(name: str) -> None:
    """Raise ValueError unless name is a valid signed-note key name."""
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL.search(name):
        raise ValueError(f"key name must be non-empty without spaces or '+': {name!r}")


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id and signature bytes."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        """Validate the fields."""
        _check_key_name(self.name)
        if len(self.key_id) != _KEY_ID_SIZE:
            raise ValueError(f"key id must be {_KEY_ID_SIZE} bytes")
        if not self.signature:
            raise ValueError("signature is empty")

    def to_line(self) -> str:
        """Return the line '— <name> <base64(key id || signature)>' without newline."""
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}"


@dataclass(frozen=True)
class Checkpoint:
    """Which ledger, how many events, and the Merkle root over them."""

    origin: str
    size: int
    root: bytes
    signatures: tuple[NoteSignature, ...] = ()

    def __post_init__(self) -> None:
        """Validate the fields."""
        if not isinstance(self.origin, str):
            raise TypeError("checkpoint origin must be a string")
        if not self.origin:
            raise ValueError("checkpoint origin is empty")
        if "\n" in self.origin or _CONTROL.search(self.origin):
            raise ValueError(f"checkpoint origin has a control character: {self.origin!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise TypeError("checkpoint size must be an integer")
        if not 0 <= self.size <= _MAX_SIZE:
            raise ValueError(f"checkpoint size {self.size} is outside 0..2^64-1")
        if not isinstance(self.root, bytes):
            raise TypeError("checkpoint root must be bytes")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"checkpoint root must be {HASH_SIZE} bytes")
        object.__setattr__(self, "signatures", tuple(self.signatures))

    def body(self) -> str:
        """Return the signed text: origin, size and base64 root, one per line."""
        return f"{self.origin}\n{self.size}\n{_b64encode(self.root)}\n"

    def to_text(self) -> str:
        """Return the body, then a blank line and the signature lines if any."""
        if not self.signatures:
            return self.body()
        lines = "".join(s.to_line() + "\n" for s in self.signatures)
        return f"{self.body()}\n{lines}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse to_text output (signed or not); ValueError on malformed text."""
        # Forgive what copying through editors and mail does to a kept file:
        # CRLF line ends and a lost final newline. Neither changes what is signed.
        # (A byte-order mark is dropped where the file is read: utf-8-sig.)
        text = text.replace("\r\n", "\n")
        if not text.strip():
            raise ValueError("checkpoint text is empty")
        if not text.endswith("\n"):
            text += "\n"
        bad = _CONTROL.search(text)
        if bad:
            line_no = text.count("\n", 0, bad.start()) + 1
            raise ValueError(f"checkpoint line {line_no} has a control character")
        body, blank, rest = text.partition("\n\n")
        lines = body.split("\n") if blank else text[:-1].split("\n")
        if len(lines) < 3:
            raise ValueError(
                f"checkpoint has {len(lines)} line(s); expected origin, size and root hash"
            )
        if len(lines) > 3:
            raise ValueError(
                f"checkpoint line 4 is {lines[3]!r}; expected a blank line before signatures"
            )
        origin, size_text, root_text = lines
        if not origin:
            raise ValueError("checkpoint line 1 (origin) is empty")
        if not _DECIMAL.fullmatch(size_text):
            raise ValueError(f"checkpoint line 2 (size) is not a decimal number: {size_text!r}")
        size = int(size_text)
        if size > _MAX_SIZE:
            raise ValueError(f"checkpoint line 2 (size) is too large: {size_text}")
        root = _b64decode(root_text, "checkpoint line 3 (root hash)")
        if len(root) != HASH_SIZE:
            raise ValueError(f"checkpoint line 3 (root hash) is {len(root)} bytes, not 32")
        sig_lines = rest[:-1].split("\n") if rest else []
        signatures = tuple(_parse_signature_line(s, n) for n, s in enumerate(sig_lines, start=5))
        return cls(origin, size, root, signatures)


def _parse_signature_line(line: str, line_no: int) -> NoteSignature:
    """Parse one '— <name> <base64>' line; ValueError naming line_no otherwise."""
    where = f"checkpoint line {line_no}"
    parts = line.removeprefix(SIGNATURE_PREFIX).split(" ")
    if not line.startswith(SIGNATURE_PREFIX) or len(parts) != 2:
        raise ValueError(f"{where} is not a signature line '— <key name> <base64>': {line!r}")
    name, blob_text = parts
    try:
        _check_key_name(name)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None
    blob = _b64decode(blob_text, f"{where} (signature)")
    if len(blob) <= _KEY_ID_SIZE:
        raise ValueError(f"{where} (signature) is too short for a key id and a signature")
    return NoteSignature(name, blob[:_KEY_ID_SIZE], blob[_KEY_ID_SIZE:])


def _key_id(name: str, public_raw: bytes) -> bytes:
    """Return the C2SP signed-note key id of an Ed25519 key under a name."""
    digest = hashlib.sha256(name.encode() + b"\n" + _ED25519_TYPE + public_raw).digest()
    return digest[:_KEY_ID_SIZE]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    """Return the 32 raw bytes of an Ed25519 public key."""
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _load_private(pem: bytes) -> Ed25519PrivateKey:
    """Load an unencrypted Ed25519 private key from PEM; ValueError otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not an unencrypted PEM private key") from None
    if isinstance(key, Ed25519PrivateKey):
        return key
    # A wrong kind of key is a bad value of the PEM input, hence ValueError.
    raise ValueError("the private key is not an Ed25519 key")


def _load_public(pem: bytes) -> Ed25519PublicKey:
    """Load an Ed25519 public key from PEM; ValueError otherwise."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a PEM public key") from None
    if isinstance(key, Ed25519PublicKey):
        return key
    raise ValueError("the public key is not an Ed25519 key")


def generate_keypair() -> tuple[bytes, bytes]:
    """Return a new Ed25519 key pair as (PEM private key, PEM public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def sign(cp: Checkpoint, private_key_pem: bytes, name: str) -> str:
    """Return cp as a signed note with an Ed25519 signature by the key under name added."""
    _check_key_name(name)
    key = _load_private(private_key_pem)
    key_id = _key_id(name, _raw_public(key.public_key()))
    new = NoteSignature(name, key_id, key.sign(cp.body().encode()))
    # Re-signing with the same key replaces its line rather than piling up.
    kept = tuple(s for s in cp.signatures if (s.name, s.key_id) != (name, key_id))
    return replace(cp, signatures=(*kept, new)).to_text()


def verify_signature(text: str, public_key_pem: bytes) -> bool:
    """Tell whether the text carries a valid signature by the key; ValueError if malformed."""
    from cryptography.exceptions import InvalidSignature

    cp = Checkpoint.parse(text)
    key = _load_public(public_key_pem)
    raw = _raw_public(key)
    message = cp.body().encode()
    for s in cp.signatures:
        # The key id binds the key name too, so only lines naming this key count.
        if s.key_id != _key_id(s.name, raw) or len(s.signature) != _ED25519_SIGNATURE_SIZE:
            continue
        try:
            key.verify(s.signature, message)
        except InvalidSignature:
            continue
        return True
    return False


_RECEIPT_FIELDS = (
    "origin",
    "size",
    "index",
    "position",
    "event_id",
    "stream",
    "version",
    "topic",
    "leaf_format",
    "salt",
    "content_hash",
    "leaf",
    "proof",
    "stored",
)
# The JSON type of each field; hashes and the stored bytes travel as strings.
_RECEIPT_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "origin": str,
    "size": int,
    "index": int,
    "position": int,
    "event_id": str,
    "stream": str,
    "version": int,
    "topic": str,
    "leaf_format": int,
    "salt": (str, type(None)),
    "content_hash": str,
    "leaf": str,
    "proof": list,
    "stored": str,
}
_JSON_NAMES: dict[type | tuple[type, ...], str] = {
    str: "string", int: "integer", list: "array", (str, type(None)): "string or null",
}  # fmt: skip
_MAX_TOPIC = 2**16 - 1  # the leaf stores the topic's length in two bytes


def _uuid(text: str, what: str) -> UUID:
    """A UUID in its one canonical spelling; ValueError naming what otherwise."""
    try:
        value = UUID(text)
    except ValueError:
        raise ValueError(f"receipt {what} is not a UUID: {text!r}") from None
    if str(value) != text:
        raise ValueError(f"receipt {what} is not a UUID in canonical form: {text!r}")
    return value


@dataclass(frozen=True)
class Receipt:
    """One event as stored, with an inclusion proof of its leaf in the log of a given size.

    The receipt carries everything its leaf commits to (position, ids, version,
    topic, the salt and the stored bytes), so its verifier recomputes the leaf
    instead of trusting one: no claim of a receipt can be changed without
    breaking the proof (ADR 10). The stored bytes are the event's envelope as
    the store holds it, application material sealed; the proof holds only
    hashes of the others, of salted leaves (ADR 18).
    """

    origin: str
    size: int
    index: int  # 0-based leaf index in the Merkle log: position - 1
    position: int  # 1-based position of the event in the store
    event_id: UUID
    stream: UUID  # the course stream the event is stored in
    version: int  # its version in that stream
    topic: str  # its type, as stored
    stored: bytes  # the stored state: the envelope as JSON, material sealed
    content_hash: bytes  # SHA-256 of `stored`
    leaf: bytes
    proof: Sequence[bytes]
    salt: bytes | None = None  # of this event's leaf; None only in a leaf of format 1
    leaf_format: int = LEAF_FORMAT

    def __post_init__(self) -> None:
        """Validate the fields and freeze the proof as a tuple."""
        kinds: dict[str, type] = {
            "origin": str, "size": int, "index": int, "position": int, "event_id": UUID,
            "stream": UUID, "version": int, "topic": str, "stored": bytes,
            "content_hash": bytes, "leaf": bytes, "leaf_format": int,
        }  # fmt: skip
        for name, kind in kinds.items():
            value = getattr(self, name)
            # bool passes isinstance(int) but is never a count or a position.
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"receipt {name} must be {kind.__name__}")
        if not self.origin:
            raise ValueError("receipt origin must not be empty")
        if not 0 <= self.index < self.size <= _MAX_SIZE:
            raise ValueError(f"receipt index {self.index} is outside 0..{self.size - 1}")
        if not 1 <= self.position <= _MAX_SIZE:
            raise ValueError(f"receipt position {self.position} is not a position (1..2^64-1)")
        if not 0 <= self.version <= _MAX_SIZE:
            raise ValueError(f"receipt version {self.version} is outside 0..2^64-1")
        try:
            topic_size = len(self.topic.encode())
        except UnicodeEncodeError:
            topic_size = 0
        if not 0 < topic_size <= _MAX_TOPIC:
            raise ValueError(f"receipt topic is not an event type's name: {self.topic!r}")
        for name in ("content_hash", "leaf"):
            if len(getattr(self, name)) != HASH_SIZE:
                raise ValueError(f"receipt {name} must be {HASH_SIZE} bytes")
        if self.salt is not None and (not isinstance(self.salt, bytes) or len(self.salt) != SALT_SIZE):
            raise ValueError(f"receipt salt must be {SALT_SIZE} bytes")
        proof = tuple(self.proof)
        if not all(isinstance(p, bytes) and len(p) == HASH_SIZE for p in proof):
            raise ValueError(f"every receipt proof hash must be {HASH_SIZE} bytes")
        object.__setattr__(self, "proof", proof)

    def to_json(self) -> str:
        """Return the receipt as indented JSON: hashes in base64, the stored bytes as text."""
        data: dict[str, object] = {k: getattr(self, k) for k in _RECEIPT_FIELDS}
        data.update(
            event_id=str(self.event_id),
            stream=str(self.stream),
            content_hash=_b64encode(self.content_hash),
            leaf=_b64encode(self.leaf),
            proof=[_b64encode(p) for p in self.proof],
            salt=_b64encode(self.salt) if self.salt is not None else None,
            stored=self.stored.decode("utf-8"),  # the store writes JSON: always UTF-8
        )
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def parse_json(cls, text: str) -> Receipt:
        """Parse to_json output; ValueError naming what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"receipt is not JSON: {e}") from None
        # Exact JSON types: a JSON true is not a size, whatever Python's bool says.
        if type(data) is not dict:
            raise ValueError("receipt is not a JSON object")
        data.setdefault("salt", None)  # receipts made before ADR 18 have none: their leaves are unsalted (format 1)
        missing = [k for k in _RECEIPT_FIELDS if k not in data]
        unknown = sorted(k for k in data if k not in _RECEIPT_FIELDS)
        if missing:
            raise ValueError(f"receipt lacks field(s): {', '.join(missing)}")
        if unknown:
            raise ValueError(f"receipt has unknown field(s): {', '.join(unknown)}")
        for name, kind in _RECEIPT_JSON_TYPES.items():
            if type(data[name]) not in (kind if isinstance(kind, tuple) else (kind,)):
                raise ValueError(f"receipt {name} is not a JSON {_JSON_NAMES[kind]}")
        proof = data["proof"]
        if not all(type(p) is str for p in proof):
            raise ValueError("receipt proof is not a list of base64 strings")
        try:
            stored = data["stored"].encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("receipt stored is not text") from None
        return cls(
            origin=data["origin"],
            size=data["size"],
            index=data["index"],
            position=data["position"],
            event_id=_uuid(data["event_id"], "event_id"),
            stream=_uuid(data["stream"], "stream"),
            version=data["version"],
            topic=data["topic"],
            leaf_format=data["leaf_format"],
            salt=_b64decode(data["salt"], "receipt salt") if data["salt"] is not None else None,
            stored=stored,
            content_hash=_b64decode(data["content_hash"], "receipt content_hash"),
            leaf=_b64decode(data["leaf"], "receipt leaf"),
            proof=[_b64decode(p, f"receipt proof[{i}]") for i, p in enumerate(proof)],
        )


def check_receipt(receipt: Receipt, checkpoint: Checkpoint) -> Recorded:
    """The record `receipt` proves is in the log under `checkpoint`; ValueError naming the failure.

    Every claim is checked against the leaf, recomputed here from what the
    receipt carries, and the leaf against the checkpoint's root.
    """
    if receipt.origin != checkpoint.origin:
        raise ValueError(
            f"receipt is for ledger {receipt.origin!r}, the checkpoint for {checkpoint.origin!r}"
        )
    if receipt.size > checkpoint.size:
        raise ValueError(
            f"receipt is for a log of {receipt.size} events, "
            f"beyond the checkpoint's {checkpoint.size}"
        )
    if receipt.size < checkpoint.size:
        # A proof is tied to one tree size; an older receipt cannot reach a newer root.
        raise ValueError(
            f"receipt is for a log of {receipt.size} events, the checkpoint of "
            f"{checkpoint.size}; get a receipt at the checkpoint's size"
        )
    if receipt.index != receipt.position - 1:
        raise ValueError(
            f"receipt index {receipt.index} does not go with position {receipt.position}"
        )
    if receipt.leaf_format not in FORMATS:
        raise ValueError(
            f"receipt leaf format {receipt.leaf_format} is unknown "
            f"(this program knows {', '.join(map(str, FORMATS))})"
        )
    if receipt.leaf_format != format_of(receipt.salt):
        raise ValueError(
            f"receipt leaf format {receipt.leaf_format} does not go with "
            + ("a salt" if receipt.salt is not None else "no salt")
        )
    if hashlib.sha256(receipt.stored).digest() != receipt.content_hash:
        raise ValueError("the receipt's content hash is not the SHA-256 of the event it carries")
    recomputed = leaf(
        receipt.position,
        receipt.event_id.bytes,
        receipt.stream.bytes,
        receipt.version,
        receipt.topic.encode(),
        receipt.stored,
        receipt.salt,
    )
    if recomputed != receipt.leaf:
        raise ValueError(
            f"the receipt's leaf hash is not that of event {receipt.event_id} "
            f"as stored at position {receipt.position}"
        )
    if not verify_inclusion(recomputed, receipt.index, receipt.size, receipt.proof, checkpoint.root):
        raise ValueError(
            f"the inclusion proof for position {receipt.position} "
            f"(event {receipt.event_id}) does not lead to the checkpoint's root hash"
        )
    return _proven_record(receipt)


def _proven_record(receipt: Receipt) -> Recorded:
    """The record in a receipt whose leaf is proven; ValueError if its bytes disagree with it."""
    import msgspec

    from ledger.events import Recorded, envelope_decoder, type_name

    try:
        envelope = envelope_decoder.decode(receipt.stored)
    except msgspec.MsgspecError as error:
        raise ValueError(f"the receipt's event is in the log but not readable here: {error}") from None
    if envelope.id != receipt.event_id:
        raise ValueError(f"the receipt's event has id {envelope.id}, not {receipt.event_id}")
    if type_name(envelope.event) != receipt.topic:
        raise ValueError(f"the receipt's event is a {type_name(envelope.event)}, not a {receipt.topic}")
    return Recorded(
        envelope.id, receipt.position, envelope.recorded_at, envelope.recorded_by, envelope.event
    )

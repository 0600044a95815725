"""Checkpoints, their signatures, and receipts an auditor keeps (SPEC §6)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import events as ev
from ledger.checkpoint import (
    Checkpoint,
    Receipt,
    check_receipt,
    generate_keypair,
    sign,
    verify_signature,
)
from ledger.events import Envelope, envelope_encoder
from ledger.leaves import leaf
from ledger.merkle import inclusion_proof, leaf_hash, root

ROOT = hashlib.sha256(b"some root").digest()
ROOT64 = base64.b64encode(ROOT).decode()
# Bytes 0xfb encode to '+' and '/' in standard base64, '-' and '_' in the URL-safe kind.
URLSAFE64 = base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode()

# Key generation is the slow part; share a pair (and a stranger's) across tests.
PRIVATE, PUBLIC = generate_keypair()
OTHER_PRIVATE, OTHER_PUBLIC = generate_keypair()

origins = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
checkpoints = st.builds(
    Checkpoint,
    origin=origins,
    size=st.integers(0, 2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
)


def one_line(e: pytest.ExceptionInfo[ValueError]) -> str:
    message = str(e.value)
    assert message and "\n" not in message
    return message


# --- Text format ----------------------------------------------------------------


def test_text_format() -> None:
    cp = Checkpoint("idl-2025", 42, ROOT)
    assert cp.to_text() == f"idl-2025\n42\n{ROOT64}\n"
    assert Checkpoint.parse(cp.to_text()) == cp


@given(cp=checkpoints)
def test_text_round_trip(cp: Checkpoint) -> None:
    assert Checkpoint.parse(cp.to_text()) == cp


def test_parse_forgives_crlf_and_a_lost_final_newline() -> None:
    cp = Checkpoint("idl-2025", 42, ROOT)
    assert Checkpoint.parse(cp.to_text().rstrip("\n")) == cp
    assert Checkpoint.parse(cp.to_text().replace("\n", "\r\n")) == cp
    signed = sign(cp, PRIVATE, "auditor")
    assert verify_signature(signed.replace("\n", "\r\n").rstrip("\r\n"), PUBLIC)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("\n\n", "empty"),
        ("idl\n", "1 line"),
        ("idl\n42\n", "2 line"),
        (f"\n42\n{ROOT64}\n", "line"),
        (f"idl\n042\n{ROOT64}\n", "size"),
        (f"idl\n-1\n{ROOT64}\n", "size"),
        (f"idl\n+1\n{ROOT64}\n", "size"),
        (f"idl\n1_000\n{ROOT64}\n", "size"),
        (f"idl\n 42\n{ROOT64}\n", "size"),
        (f"idl\n\u0664\u0662\n{ROOT64}\n", "size"),
        (f"idl\n{2**64}\n{ROOT64}\n", "size"),
        ("idl\n42\nnot base64!\n", "root"),
        (f"idl\n42\n{base64.b64encode(ROOT[:31]).decode()}\n", "root"),
        (f"idl\n42\n{ROOT64.rstrip('=')}\n", "root"),
        (f"idl\n42\n{URLSAFE64}\n", "root"),
        (f"idl\n42\n{ROOT64}\nextension\n", "line 4"),
        (f"idl\n42\n{ROOT64}\n\nnot a signature\n", "line 5"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 name\n", "line 5"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 name AAAA AAAA\n", "line 5"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 name not-base64\n", "line 5"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 name AAAA\n", "too short"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 na+me {ROOT64}\n", "key name"),
        (f"idl\n42\n{ROOT64}\n\n\u2014 name {ROOT64}\n\n", "line 6"),
        (f"idl\tx\n42\n{ROOT64}\n", "control"),
        (f"idl\n42\r\n{ROOT64}\r", "control"),
    ],
)
def test_malformed_text_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(ValueError) as e:
        Checkpoint.parse(text)
    assert complaint in one_line(e)


def test_non_canonical_base64_root_is_refused() -> None:
    # 32 bytes leave two unused bits in the last base64 digit; setting one
    # decodes to the same root but is not the text that was signed.
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = ROOT64[-2]
    other = digits[digits.index(last) ^ 1]
    bent = ROOT64[:-2] + other + "="
    assert base64.b64decode(bent) == ROOT
    with pytest.raises(ValueError, match="canonical"):
        Checkpoint.parse(f"idl\n42\n{bent}\n")


def test_invalid_fields_are_refused() -> None:
    with pytest.raises(ValueError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(ValueError):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(ValueError):
        Checkpoint("idl", -1, ROOT)
    with pytest.raises(ValueError):
        Checkpoint("idl", 1, ROOT[:31])
    with pytest.raises(TypeError):
        Checkpoint("idl", True, ROOT)


# --- Signatures -----------------------------------------------------------------


def test_signed_note_format() -> None:
    cp = Checkpoint("idl-2025", 42, ROOT)
    text = sign(cp, PRIVATE, "idl-auditor")
    body, sig_line = text.split("\n\n")
    assert body + "\n" == cp.to_text()
    assert sig_line.startswith("\u2014 idl-auditor ") and sig_line.endswith("\n")
    blob = base64.b64decode(sig_line.split(" ")[2])
    assert len(blob) == 4 + 64
    # C2SP signed note key id: SHA-256(name || "\n" || 0x01 || raw public key)[:4].
    from cryptography.hazmat.primitives import serialization

    raw = serialization.load_pem_public_key(PUBLIC).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert blob[:4] == hashlib.sha256(b"idl-auditor\n\x01" + raw).digest()[:4]
    parsed = Checkpoint.parse(text)
    assert parsed.to_text() == text
    assert replace(parsed, signatures=()) == cp


@settings(max_examples=20, deadline=None)
@given(cp=checkpoints)
def test_signature_verifies_with_the_right_key_only(cp: Checkpoint) -> None:
    text = sign(cp, PRIVATE, "auditor")
    assert verify_signature(text, PUBLIC)
    assert not verify_signature(text, OTHER_PUBLIC)


def test_signature_fails_after_changing_size_or_root() -> None:
    cp = Checkpoint("idl-2025", 42, ROOT)
    text = sign(cp, PRIVATE, "auditor")
    other_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for forged in [
        text.replace("\n42\n", "\n43\n"),
        text.replace(ROOT64, other_root),
        text.replace("idl-2025", "idl-2026"),
    ]:
        assert forged != text
        assert not verify_signature(forged, PUBLIC)


def test_signature_is_bound_to_the_key_name() -> None:
    text = sign(Checkpoint("idl", 1, ROOT), PRIVATE, "alice")
    assert not verify_signature(text.replace("\u2014 alice ", "\u2014 mallory "), PUBLIC)


def test_tampered_signature_fails() -> None:
    text = sign(Checkpoint("idl", 1, ROOT), PRIVATE, "alice")
    head, blob64 = text.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(blob64))
    blob[-1] ^= 1
    assert not verify_signature(f"{head} {base64.b64encode(bytes(blob)).decode()}\n", PUBLIC)


def test_cosigning_and_resigning() -> None:
    cp = Checkpoint("idl", 7, ROOT)
    both = sign(Checkpoint.parse(sign(cp, PRIVATE, "lecturer")), OTHER_PRIVATE, "auditor")
    assert len(Checkpoint.parse(both).signatures) == 2
    assert verify_signature(both, PUBLIC) and verify_signature(both, OTHER_PUBLIC)
    again = sign(Checkpoint.parse(both), PRIVATE, "lecturer")
    assert len(Checkpoint.parse(again).signatures) == 2


def test_unsigned_checkpoint_does_not_verify() -> None:
    assert not verify_signature(Checkpoint("idl", 1, ROOT).to_text(), PUBLIC)


def test_bad_keys_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_private = ec_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ec_public = ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    cp = Checkpoint("idl", 1, ROOT)
    for pem in [b"garbage", PUBLIC, ec_private]:
        with pytest.raises(ValueError):
            sign(cp, pem, "auditor")
    text = sign(cp, PRIVATE, "auditor")
    for pem in [b"garbage", PRIVATE, ec_public]:
        with pytest.raises(ValueError):
            verify_signature(text, pem)
    for name in ["", "two words", "a+b"]:
        with pytest.raises(ValueError):
            sign(cp, PRIVATE, name)


def test_importing_stays_cheap() -> None:
    code = "import sys, ledger.checkpoint; print('cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- Receipts -----------------------------------------------------------------------
#
# A small log of real stored events (envelopes as the store writes them), so that
# receipts carry what their leaves commit to and check_receipt recomputes them.

STREAM = uuid.uuid5(uuid.NAMESPACE_DNS, "idl-2025")
T = datetime(2025, 8, 4, 9, 0, tzinfo=UTC)


def stored_event(i: int) -> tuple[uuid.UUID, str, bytes]:
    """Event i of the little log: id, topic and stored bytes."""
    event = ev.ExamGraded(course="idl-2025", at=T + timedelta(minutes=i), student=f"{200000 + i}", grade=2.7)
    event_id = uuid.UUID(int=i + 1)
    return event_id, "ExamGraded", envelope_encoder.encode(Envelope(event_id, T, "lecturer", event))


def salt_of(i: int) -> bytes:
    """The salt of event i's leaf (fixed, so that shapes can be pinned)."""
    return hashlib.sha256(f"salt {i}".encode()).digest()[:16]


def ledger_of(n: int, salted: bool = True) -> tuple[list[bytes], Checkpoint]:
    leaves = []
    for i in range(n):
        event_id, topic, state = stored_event(i)
        salt = salt_of(i) if salted else None
        leaves.append(leaf(i + 1, event_id.bytes, STREAM.bytes, i + 1, topic.encode(), state, salt))
    return leaves, Checkpoint("subledger/idl", n, root(leaves))


def receipt_for(leaves: list[bytes], index: int, origin: str = "subledger/idl", salted: bool = True) -> Receipt:
    event_id, topic, state = stored_event(index)
    return Receipt(
        origin=origin,
        size=len(leaves),
        index=index,
        position=index + 1,
        event_id=event_id,
        stream=STREAM,
        version=index + 1,
        topic=topic,
        stored=state,
        content_hash=hashlib.sha256(state).digest(),
        leaf=leaves[index],
        proof=inclusion_proof(leaves, index, len(leaves)),
        salt=salt_of(index) if salted else None,
        leaf_format=2 if salted else 1,
    )


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_receipt_checks_and_round_trips(n: int, data: st.DataObject) -> None:
    leaves, cp = ledger_of(n)
    index = data.draw(st.integers(0, n - 1))
    receipt = receipt_for(leaves, index)
    proven = check_receipt(receipt, cp)
    assert (proven.id, proven.position, proven.recorded_by) == (uuid.UUID(int=index + 1), index + 1, "lecturer")
    assert proven.event.student == f"{200000 + index}"
    back = Receipt.parse_json(receipt.to_json())
    assert back == receipt
    check_receipt(back, cp)


def test_a_receipt_for_an_unsalted_leaf_of_format_1_checks() -> None:
    """Rows restored from an export made before ADR 18 keep format 1: their receipts still prove them."""
    leaves, cp = ledger_of(9, salted=False)
    receipt = Receipt.parse_json(receipt_for(leaves, 4, salted=False).to_json())
    assert (receipt.salt, receipt.leaf_format) == (None, 1)
    assert check_receipt(receipt, cp).position == 5
    # A receipt made before ADR 18 has no salt field at all: it still checks, …
    old = json.loads(receipt.to_json())
    del old["salt"]
    assert check_receipt(Receipt.parse_json(json.dumps(old)), cp).position == 5
    # … but a salted receipt whose salt field is dropped does not.
    salted_leaves, salted_cp = ledger_of(9)
    dropped = json.loads(receipt_for(salted_leaves, 4).to_json())
    del dropped["salt"]
    with pytest.raises(ValueError, match="leaf format 2 does not go with no salt"):
        check_receipt(Receipt.parse_json(json.dumps(dropped)), salted_cp)
    # Claiming the other format, either way, fails.
    with pytest.raises(ValueError, match="leaf format 2 does not go with no salt"):
        check_receipt(replace(receipt, leaf_format=2), cp)
    with pytest.raises(ValueError, match="leaf hash is not that"):
        check_receipt(replace(receipt, salt=salt_of(4), leaf_format=2), cp)


def test_receipt_json_shape() -> None:
    leaves, _ = ledger_of(5)
    data = json.loads(receipt_for(leaves, 2).to_json())
    _, _, state = stored_event(2)
    assert data == {
        "origin": "subledger/idl",
        "size": 5,
        "index": 2,
        "position": 3,
        "event_id": "00000000-0000-0000-0000-000000000003",
        "stream": str(STREAM),
        "version": 3,
        "topic": "ExamGraded",
        "leaf_format": 2,
        "salt": base64.b64encode(salt_of(2)).decode(),
        "content_hash": base64.b64encode(hashlib.sha256(state).digest()).decode(),
        "leaf": base64.b64encode(leaves[2]).decode(),
        "proof": [base64.b64encode(p).decode() for p in inclusion_proof(leaves, 2, 5)],
        "stored": state.decode(),
    }


def with_fixed_leaf(receipt: Receipt) -> Receipt:
    """`receipt` with its leaf recomputed from its (edited) claims, as a forger would."""
    return replace(
        receipt,
        leaf=leaf(
            receipt.position, receipt.event_id.bytes, receipt.stream.bytes, receipt.version,
            receipt.topic.encode(), receipt.stored, receipt.salt,
        ),
    )  # fmt: skip


def test_every_edited_claim_fails() -> None:
    leaves, cp = ledger_of(10)
    receipt = receipt_for(leaves, 3)
    other_state = stored_event(4)[2]
    edited = {
        "origin": replace(receipt, origin="subledger/other"),
        "size (larger)": receipt_for([*leaves, leaf_hash(b"later")], 3),
        "size (smaller)": receipt_for(leaves[:9], 3),
        "index": replace(receipt, index=4),
        "position": replace(receipt, position=5),
        "position and index": replace(receipt, position=5, index=4),
        "event id": replace(receipt, event_id=uuid.UUID(int=99)),
        "stream": replace(receipt, stream=uuid.uuid4()),
        "version": replace(receipt, version=7),
        "topic": replace(receipt, topic="ExamRegistered"),
        "leaf format, the unsalted one": replace(receipt, leaf_format=1),
        "leaf format, unknown": replace(receipt, leaf_format=3),
        "salt": replace(receipt, salt=salt_of(4)),
        "salt, dropped": replace(receipt, salt=None),
        "salt, dropped, as format 1": replace(receipt, salt=None, leaf_format=1),
        "leaf": replace(receipt, leaf=leaf_hash(b"forged")),
        "stored": replace(receipt, stored=other_state),
        "content hash": replace(receipt, content_hash=hashlib.sha256(other_state).digest()),
        "stored and content hash": replace(
            receipt, stored=other_state, content_hash=hashlib.sha256(other_state).digest()
        ),
        "proof entry": replace(receipt, proof=[*receipt.proof[:-1], ROOT]),
        "proof shortened": replace(receipt, proof=receipt.proof[:-1]),
        "proof lengthened": replace(receipt, proof=[*receipt.proof, ROOT]),
        "proof reordered": replace(receipt, proof=receipt.proof[::-1]),
    }
    # A forger who also recomputes the leaf from the edited claims gets no further.
    for claim in (
        "position and index", "event id", "stream", "version", "topic", "stored and content hash", "salt",
        "salt, dropped, as format 1",
    ):  # fmt: skip
        edited[f"{claim}, leaf recomputed"] = with_fixed_leaf(
            replace(edited[claim], content_hash=hashlib.sha256(edited[claim].stored).digest())
        )
    for what, bad in edited.items():
        with pytest.raises(ValueError) as e:
            check_receipt(bad, cp)
        assert one_line(e), what
    with pytest.raises(ValueError, match="does not lead"):
        check_receipt(receipt, replace(cp, root=ROOT))


def test_receipt_check_names_what_fails() -> None:
    leaves, cp = ledger_of(10)
    receipt = receipt_for(leaves, 3)
    cases = [
        (replace(receipt, origin="subledger/other"), "ledger"),
        (receipt_for([*leaves, leaf_hash(b"later")], 3), "beyond"),
        (receipt_for(leaves[:9], 3), "receipt at the checkpoint's size"),
        (replace(receipt, index=4), "does not go with position 4"),
        (replace(receipt, leaf_format=3), "leaf format 3 is unknown"),
        (replace(receipt, leaf_format=1), "leaf format 1 does not go with a salt"),
        (replace(receipt, salt=salt_of(4)), "leaf hash is not that of event 00000000-0000-0000-0000-000000000004"),
        (replace(receipt, content_hash=ROOT), "content hash"),
        (replace(receipt, event_id=uuid.UUID(int=99)), "leaf hash is not that of event 00000000-0000-0000-0000-000000000063"),
        (with_fixed_leaf(replace(receipt, position=5, index=4)), "does not lead"),
    ]
    for bad, complaint in cases:
        with pytest.raises(ValueError) as e:
            check_receipt(bad, cp)
        assert complaint in one_line(e)


def test_a_receipt_whose_bytes_disagree_with_its_log_row_fails() -> None:
    """The leaf binds the log's id and topic; the stored envelope must say the same."""
    event_id, _, state = stored_event(0)
    for claimed_id, topic, complaint in [
        (uuid.UUID(int=42), "ExamGraded", "has id 00000000-0000-0000-0000-000000000001"),
        (event_id, "ExamRegistered", "is a ExamGraded, not a ExamRegistered"),
    ]:
        one = [leaf(1, claimed_id.bytes, STREAM.bytes, 1, topic.encode(), state, salt_of(0))]
        receipt = replace(receipt_for(one, 0), event_id=claimed_id, topic=topic)
        with pytest.raises(ValueError) as e:
            check_receipt(receipt, Checkpoint("subledger/idl", 1, root(one)))
        assert complaint in one_line(e)
    garbage = b'{"not":"an envelope"}'
    one = [leaf(1, event_id.bytes, STREAM.bytes, 1, b"ExamGraded", garbage, salt_of(0))]
    receipt = replace(
        receipt_for(one, 0), stored=garbage, content_hash=hashlib.sha256(garbage).digest()
    )
    with pytest.raises(ValueError, match="in the log but not readable here"):
        check_receipt(receipt, Checkpoint("subledger/idl", 1, root(one)))


def test_receipt_after_signed_checkpoint() -> None:
    # The auditor's whole story: keep a signed checkpoint, later check a receipt.
    leaves, cp = ledger_of(33)
    kept = sign(cp, PRIVATE, "lecturer")
    assert verify_signature(kept, PUBLIC)
    check_receipt(Receipt.parse_json(receipt_for(leaves, 17).to_json()), Checkpoint.parse(kept))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"size": "5"}, "size"),
        ({"size": True}, "size"),
        ({"size": 2**64}, "index"),
        ({"index": 5}, "index"),
        ({"index": -1}, "index"),
        ({"position": 0}, "position"),
        ({"position": 2**64}, "position"),
        ({"version": -1}, "version"),
        ({"origin": ""}, "origin"),
        ({"event_id": 7}, "event_id"),
        ({"event_id": "evt-2"}, "event_id is not a UUID: 'evt-2'"),
        ({"event_id": "00000000-0000-0000-0000-00000000000A"}, "canonical"),
        ({"event_id": "{00000000-0000-0000-0000-000000000003}"}, "canonical"),
        ({"stream": "idl-2025"}, "stream is not a UUID"),
        ({"topic": ""}, "topic"),
        ({"topic": "\ud800"}, "topic"),
        ({"leaf_format": "1"}, "leaf_format"),
        ({"salt": 7}, "salt is not a JSON string or null"),
        ({"salt": "!!"}, "salt is not base64"),
        ({"salt": base64.b64encode(b"x" * 15).decode()}, "salt must be 16 bytes"),
        ({"content_hash": "AAAA"}, "content_hash"),
        ({"stored": {"id": 1}}, "stored"),
        ({"stored": "\ud800"}, "stored is not text"),
        ({"leaf": "!!"}, "leaf"),
        ({"leaf": base64.b64encode(b"x" * 31).decode()}, "leaf"),
        ({"proof": "AAAA"}, "proof"),
        ({"proof": [1]}, "proof"),
        ({"proof": ["AAAA"]}, "proof"),
        ({"extra": 1}, "unknown field(s): extra"),
    ],
)
def test_malformed_receipt_json_is_refused(change: dict[str, object], complaint: str) -> None:
    leaves, _ = ledger_of(5)
    data = json.loads(receipt_for(leaves, 2).to_json())
    data.update(change)
    with pytest.raises(ValueError) as e:
        Receipt.parse_json(json.dumps(data))
    assert complaint in one_line(e)


def test_receipt_json_that_is_not_a_receipt() -> None:
    leaves, _ = ledger_of(5)
    data = json.loads(receipt_for(leaves, 2).to_json())
    del data["leaf"]
    for text, complaint in [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        (json.dumps(data), "lacks field(s): leaf"),
    ]:
        with pytest.raises(ValueError) as e:
            Receipt.parse_json(text)
        assert complaint in one_line(e)

"""Application material sealed under per-student keys (SPEC §6): crypto-shredding."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from cryptography.exceptions import InvalidTag

from ledger import events as ev
from ledger import vault, wire
from ledger.app import Ledger
from projections.events import lines as export_lines
from projections.runner import Views
from tests.cli_helpers import ALAN, COURSE, KURT, course_opened, run, semester
from tests.contract_helpers import store_files

EVENT_ID = UUID("0b6c3f0e-8a1d-4c52-9d3e-7f1a2b3c4d5e")
OTHER_ID = UUID("1c7d4f1f-9b2e-4d63-8e4f-8a2b3c4d5e6f")
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
TEXT = "Ich möchte Backpropagation endlich verstehen."

NAME = "Quintessa Zwiebelgruber-Yarrow"
STATEMENT = "MARMALADE-ZEPPELIN-4471: my distinctive statement of motivation"
EMAIL = "quintessa.zwiebelgruber@st.ovgu.de"


def application(**changes: str) -> ev.ApplicationSubmitted:
    fields = {"name": NAME, "email": EMAIL, "statement": STATEMENT, **changes}
    return ev.ApplicationSubmitted(
        course=COURSE,
        at=datetime(2025, 3, 20, 13, 0, tzinfo=UTC),
        student="231077",
        programme="master",
        prerequisite="ML",
        **fields,
    )


def test_seal_and_unseal_round_trip() -> None:
    token = vault.seal(KEY, EVENT_ID, "statement", TEXT)
    assert vault.is_sealed(token) and token.startswith("sealed:v1:")
    assert vault.unseal(KEY, EVENT_ID, "statement", token) == TEXT
    assert vault.unseal(KEY, EVENT_ID, "statement", vault.seal(KEY, EVENT_ID, "statement", "")) == ""


def test_sealing_is_deterministic_per_key_id_and_field() -> None:
    token = vault.seal(KEY, EVENT_ID, "statement", TEXT)
    assert vault.seal(KEY, EVENT_ID, "statement", TEXT) == token
    assert vault.seal(OTHER_KEY, EVENT_ID, "statement", TEXT) != token
    assert vault.seal(KEY, OTHER_ID, "statement", TEXT) != token
    assert vault.seal(KEY, EVENT_ID, "name", TEXT) != token


def test_a_token_opens_only_for_its_key_id_and_field() -> None:
    token = vault.seal(KEY, EVENT_ID, "statement", TEXT)
    for key, event_id, field in [
        (OTHER_KEY, EVENT_ID, "statement"),
        (KEY, OTHER_ID, "statement"),
        (KEY, EVENT_ID, "name"),
    ]:
        with pytest.raises(InvalidTag):
            vault.unseal(key, event_id, field, token)
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(InvalidTag):
        vault.unseal(KEY, EVENT_ID, "statement", tampered)


def test_the_token_holds_no_plaintext() -> None:
    token = vault.seal(KEY, EVENT_ID, "statement", STATEMENT)
    raw = base64.urlsafe_b64decode(token[len(vault.PREFIX) :])
    assert STATEMENT not in token
    assert STATEMENT.encode() not in raw
    assert b"MARMALADE" not in raw and "MARMALADE" not in token


def test_open_application_with_the_right_keys() -> None:
    keys = {vault.IDENTITY: KEY, vault.STATEMENT: OTHER_KEY}
    sealed = vault.seal_application(application(), EVENT_ID, keys)
    assert all(vault.is_sealed(getattr(sealed, f)) for f in ("name", "email", "statement"))
    assert sealed.student == "231077" and sealed.prerequisite == "ML"  # not material
    assert vault.open_application(sealed, EVENT_ID, keys) == application()


def test_open_application_with_a_different_key_is_unreadable() -> None:
    sealed = vault.seal_application(application(), EVENT_ID, {vault.IDENTITY: KEY, vault.STATEMENT: KEY})
    opened = vault.open_application(sealed, EVENT_ID, {vault.IDENTITY: OTHER_KEY, vault.STATEMENT: KEY})
    assert (opened.name, opened.email) == (vault.UNREADABLE, vault.UNREADABLE)
    assert opened.statement == STATEMENT


def test_open_application_without_keys_is_erased() -> None:
    sealed = vault.seal_application(application(), EVENT_ID, {vault.IDENTITY: KEY, vault.STATEMENT: OTHER_KEY})
    opened = vault.open_application(sealed, EVENT_ID, {vault.IDENTITY: KEY})
    assert (opened.name, opened.email, opened.statement) == (NAME, EMAIL, vault.ERASED)
    nothing = vault.open_application(sealed, EVENT_ID, {})
    assert (nothing.name, nothing.email, nothing.statement) == (vault.ERASED,) * 3
    kept = vault.open_application(sealed, EVENT_ID, {vault.IDENTITY: KEY}, keep_sealed=True)
    assert (kept.name, kept.statement) == (NAME, sealed.statement)


def test_the_id_derived_from_an_application_keeps_no_trace_of_its_material() -> None:
    """A content id is a hash: were material in it, a guessed name could be confirmed after erasure."""
    other = application(name="Someone Else", email="else@st.ovgu.de", statement="other")
    assert wire.content_id(application()) == wire.content_id(other)
    assert wire.content_id(application()) != wire.content_id(msgspec.structs.replace(other, student="231078"))


def store_bytes(store: str) -> bytes:
    """Every byte of the SQLite store: the database, its write-ahead log, shared memory and key file."""
    return b"".join(path.read_bytes() for path in store_files(store) if path.exists())


def _apply(store: str, name: str, statement: str, prerequisite: str = "ML") -> None:
    """`subledger apply 231077` on a semester store, with this name and statement."""
    semester(store)
    result = run(
        store, "apply", "231077", "--name", name, "--email", EMAIL, "--programme", "master",
        "--prerequisite", prerequisite, "--statement", statement, "--at", "2025-03-20T14:00+01:00",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_the_store_files_hold_no_plaintext_material(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    _apply(store, NAME, STATEMENT, "Deep Thought (passed)")

    data = store_bytes(store)
    assert b"Deep Thought (passed)" in data  # not material: stored as it is (so the search works)
    for secret in (NAME, EMAIL, STATEMENT, "MARMALADE-ZEPPELIN", "Zwiebelgruber"):
        assert secret.encode() not in data, secret
        assert secret.encode("utf-16-le") not in data, secret

    # and yet the ledger can read it back while the keys exist
    ledger = Ledger(store)
    try:
        record = ledger.course(COURSE).applications["231077"].submitted
        assert vault.is_sealed(record.event.statement)
        opened = ledger.readable(COURSE, record).event
        assert (opened.name, opened.email, opened.statement) == (NAME, EMAIL, STATEMENT)
    finally:
        ledger.close()


def test_data_keys_never_reach_the_store_files_and_erasure_destroys_them(tmp_path: Path) -> None:
    """The store keeps data keys only wrapped; after erasure the erased ones open nothing."""
    store = str(tmp_path / "ledger.sqlite")
    semester(store)
    ledger = Ledger(store)
    try:
        kurt = ledger.material_keys(COURSE, KURT)
        alan = ledger.material_keys(COURSE, ALAN)
        assert set(kurt) == set(alan) == {vault.IDENTITY, vault.STATEMENT}
        for key in (*kurt.values(), *alan.values()):
            assert key not in store_bytes(store)
        at = datetime(2025, 4, 9, 8, 0, tzinfo=UTC)
        ledger.append([ev.ApplicationAccepted(course=COURSE, at=at, student=ALAN)], "tester")
        ledger.append([ev.ApplicationRejected(course=COURSE, at=at, student=KURT, reason="full")], "tester")
        ledger.append([ev.ApplicationMaterialErased(course=COURSE, at=at, students=(ALAN, KURT))], "tester")
        assert ledger.material_keys(COURSE, KURT) == {}  # never admitted: everything destroyed
        assert ledger.material_keys(COURSE, ALAN) == {vault.IDENTITY: alan[vault.IDENTITY]}  # a participant's name stays
        course = ledger.course(COURSE)
        opened = ledger.readable(COURSE, course.applications[KURT].submitted).event
        assert (opened.name, opened.statement) == (vault.ERASED, vault.ERASED)
        assert ledger.readable(COURSE, course.applications[ALAN].submitted).event.name == "Alan Turing"
    finally:
        ledger.close()


# -- sealing depends on the field, never on what the text looks like (issue 7.3) --

# Text that looks like material already sealed: a real token of other text, and a bare prefix.
LOOKS_SEALED_NAME = vault.seal(KEY, EVENT_ID, "name", "someone else")
LOOKS_SEALED_STATEMENT = "sealed:v1:MARMALADE-ZEPPELIN-4471 my statement, in plain words"


def test_text_that_looks_sealed_is_sealed_like_any_other() -> None:
    keys = {vault.IDENTITY: KEY, vault.STATEMENT: OTHER_KEY}
    plain = application(name=LOOKS_SEALED_NAME, statement=LOOKS_SEALED_STATEMENT)
    sealed = vault.seal_application(plain, OTHER_ID, keys)
    assert sealed.name != LOOKS_SEALED_NAME and sealed.statement != LOOKS_SEALED_STATEMENT
    assert "MARMALADE" not in sealed.statement
    assert vault.open_application(sealed, OTHER_ID, keys) == plain
    assert (vault.open_application(sealed, OTHER_ID, {}).name, vault.open_application(sealed, OTHER_ID, {}).statement) == (
        vault.ERASED,
        vault.ERASED,
    )


def _decide_and_erase(store: str, *extra: str) -> None:
    for args in (["accept", ALAN], ["reject", KURT, "--reason", "full"], *(["reject", s, "--reason", "full"] for s in extra)):
        result = run(store, *args, "--at", "2025-04-09T08:00+02:00")
        assert result.exit_code == 0, result.output
    erased = run(store, "erase-material", "--at", "2025-04-09T09:00+02:00")
    assert erased.exit_code == 0, erased.output


def _assert_reads(store: str, student: str, expected: tuple[str, str]) -> None:
    """The look-alike text is in none of the store's files, and `student`'s name and statement read `expected`."""
    for text in (LOOKS_SEALED_NAME, LOOKS_SEALED_STATEMENT, "MARMALADE-ZEPPELIN"):
        assert text.encode() not in store_bytes(store), text
    ledger = Ledger(store)
    try:
        record = ledger.course(COURSE).applications[student].submitted
        opened = ledger.readable(COURSE, record).event
        assert (opened.name, opened.statement) == expected
        exported = b"\n".join(export_lines(Views.of(ledger)))
        assert (b"MARMALADE" in exported) == (expected != (vault.ERASED, vault.ERASED))
    finally:
        ledger.close()


def _assert_sealed_then_erased(store: str, student: str) -> None:
    """Sealed like any text: it reads back while its keys exist, and reads [erased] after erasure."""
    _assert_reads(store, student, (LOOKS_SEALED_NAME, LOOKS_SEALED_STATEMENT))
    _decide_and_erase(store, student)
    _assert_reads(store, student, (vault.ERASED, vault.ERASED))


def test_apply_seals_text_that_looks_sealed_and_erasure_destroys_it(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    _apply(store, LOOKS_SEALED_NAME, LOOKS_SEALED_STATEMENT)
    _assert_sealed_then_erased(store, "231077")


def test_import_seals_text_that_looks_sealed_and_erasure_destroys_it(tmp_path: Path) -> None:
    store = str(tmp_path / "ledger.sqlite")
    semester(store)
    line = msgspec.json.encode(application(name=LOOKS_SEALED_NAME, statement=LOOKS_SEALED_STATEMENT))
    result = run(store, "import", "-", input=line + b"\n")
    assert result.exit_code == 0, result.output
    _assert_sealed_then_erased(store, "231077")


@pytest.mark.parametrize(
    ("envelope", "rule"),
    [
        ({"sealed": ["statement"]}, "sealed-material"),  # named as sealed, but plain text
        ({"keys": {"identity": "bm90IGEga2V5"}}, "bad-keys"),  # base64, but not 32 bytes
        ({"keys": {"identity": "%%%"}}, "bad-keys"),  # not base64
        ({"keys": {"other": base64.b64encode(KEY).decode()}}, "bad-keys"),
        ({"sealed": ["name"], "keys": {"identity": base64.b64encode(KEY).decode()}}, "sealed-material"),
    ],
)
def test_a_bad_material_envelope_is_refused_and_nothing_written(tmp_path: Path, envelope: dict[str, object], rule: str) -> None:
    store = str(tmp_path / "ledger.sqlite")
    semester(store)
    fields = msgspec.to_builtins(application())
    line = msgspec.json.encode({**envelope, "type": "ApplicationSubmitted", **fields})
    result = run(store, "import", "-", input=line + b"\n")
    assert result.exit_code == 1 and f"refused by rule {rule}" in result.stderr, result.output
    assert "Traceback" not in result.output


def test_a_line_naming_a_sealed_token_keeps_it(tmp_path: Path) -> None:
    """An export names the fields whose key was destroyed; only those are kept as tokens (into an empty store:
    tests/test_write_trust.py refuses them into one with events)."""
    store = str(tmp_path / "ledger.sqlite")
    token = vault.seal(KEY, OTHER_ID, "statement", STATEMENT)
    fields = msgspec.to_builtins(application(statement=token))
    line = {"id": str(OTHER_ID), "sealed": ["statement"], "type": "ApplicationSubmitted", **fields}
    opened = msgspec.json.encode({"course": COURSE, **course_opened()})
    assert run(store, "import", "-", input=opened + b"\n" + msgspec.json.encode(line) + b"\n").exit_code == 0
    ledger = Ledger(store)
    try:
        record = ledger.course(COURSE).applications["231077"].submitted
        assert record.event.statement == token  # stored as given
        assert ledger.readable(COURSE, record).event.name == NAME  # the rest sealed under a new key
    finally:
        ledger.close()

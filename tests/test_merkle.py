"""The Merkle log against RFC 9162 §2.1, its published test vectors, and itself (SPEC §6)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- A naive reference, transcribed from RFC 9162 §2.1 over the entries D[n] ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n, found the slow way."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) of §2.1.1."""
    n = len(d)
    if n == 0:
        return _sha(b"")
    if n == 1:
        return _sha(b"\x00" + d[0])
    k = _k(n)
    return _sha(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of §2.1.4.1."""
    return ref_subproof(m, d, True)


# Which side each proof hash sits on, leaf first: two sizes with the same shape
# take the same proof, because RFC 9162 proofs do not bind the tree size (the
# signed checkpoint does).
def path_shape(m: int, n: int) -> tuple[str, ...]:
    if n == 1:
        return ()
    k = _k(n)
    return path_shape(m, k) + ("R",) if m < k else path_shape(m - k, n - k) + ("L",)


def subproof_shape(m: int, n: int, b: bool = True) -> tuple[str, ...]:
    if m == n:
        return () if b else ("S",)
    k = _k(n)
    return (
        subproof_shape(m, k, b) + ("R",) if m <= k else subproof_shape(m - k, n - k, False) + ("L",)
    )


def entries(n: int, salt: int = 0) -> list[bytes]:
    return [f"event {salt}/{i}".encode() for i in range(n)]


def leaves_of(d: list[bytes]) -> list[bytes]:
    return [leaf_hash(x) for x in d]


def flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


sizes = st.integers(min_value=1, max_value=300)
salts = st.integers(min_value=0, max_value=2**32)
bits = st.integers(min_value=0, max_value=255)


# --- Known answers ---------------------------------------------------------------

# RFC 6962 test vectors as published by transparency-dev/merkle (testonly/constants.go).
CT_ENTRIES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
CT_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
CT_INCLUSION = {
    (0, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_CONSISTENCY = {
    (2, 8): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    expected = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == expected
    assert root([]).hex() == expected
    assert Frontier().root().hex() == expected


def test_hash_prefixes() -> None:
    assert leaf_hash(b"x") == _sha(b"\x00x")
    assert node_hash(b"a" * 32, b"b" * 32) == _sha(b"\x01" + b"a" * 32 + b"b" * 32)


def test_published_roots() -> None:
    leaves = leaves_of(CT_ENTRIES)
    for n, expected in enumerate(CT_ROOTS):
        assert root(leaves[:n]) == expected, n
        assert ref_mth(CT_ENTRIES[:n]) == expected, n


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_published_inclusion_proofs(index: int, size: int) -> None:
    leaves = leaves_of(CT_ENTRIES)
    expected = [bytes.fromhex(h) for h in CT_INCLUSION[index, size]]
    assert inclusion_proof(leaves, index, size) == expected
    assert verify_inclusion(leaves[index], index, size, expected, CT_ROOTS[size])


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_published_consistency_proofs(old: int, new: int) -> None:
    leaves = leaves_of(CT_ENTRIES)
    expected = [bytes.fromhex(h) for h in CT_CONSISTENCY[old, new]]
    assert consistency_proof(leaves, old, new) == expected
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], expected)


# --- Against the reference, exhaustively for small trees -------------------------


def test_small_trees_match_reference_exhaustively() -> None:
    d = entries(40)
    leaves = leaves_of(d)
    for n in range(41):
        assert root(leaves[:n]) == ref_mth(d[:n])
        for i in range(n):
            assert inclusion_proof(leaves, i, n) == ref_path(i, d[:n]), (i, n)
        for m in range(1, n + 1):
            assert consistency_proof(leaves, m, n) == ref_proof(m, d[:n]), (m, n)


@settings(max_examples=40, deadline=None)
@given(n=sizes, salt=salts, data=st.data())
def test_proofs_match_reference(n: int, salt: int, data: st.DataObject) -> None:
    d = entries(n, salt)
    leaves = leaves_of(d)
    assert root(leaves) == ref_mth(d)
    i = data.draw(st.integers(0, n - 1), label="index")
    assert inclusion_proof(leaves, i, n) == ref_path(i, d)
    m = data.draw(st.integers(1, n), label="old size")
    assert consistency_proof(leaves, m, n) == ref_proof(m, d)


# --- Proofs verify, and nothing else does -----------------------------------------


@settings(max_examples=25, deadline=None)
@given(n=sizes, salt=salts)
def test_every_inclusion_proof_verifies(n: int, salt: int) -> None:
    leaves = leaves_of(entries(n, salt))
    r = root(leaves)
    for i in range(n):
        assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i, n), r), i


@settings(max_examples=25, deadline=None)
@given(n=sizes, salt=salts)
def test_every_consistency_proof_verifies(n: int, salt: int) -> None:
    leaves = leaves_of(entries(n, salt))
    new_root = root(leaves)
    frontier = Frontier()
    for m in range(n + 1):
        proof = consistency_proof(leaves, m, n)
        assert verify_consistency(m, n, frontier.root(), new_root, proof), m
        if m < n:
            frontier.append(leaves[m])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 300), salt=salts, data=st.data())
def test_tampered_inclusion_proof_fails(n: int, salt: int, data: st.DataObject) -> None:
    leaves = leaves_of(entries(n, salt))
    r = root(leaves)
    i = data.draw(st.integers(0, n - 1), label="index")
    proof = inclusion_proof(leaves, i, n)
    assert verify_inclusion(leaves[i], i, n, proof, r)

    at = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(bits, label="bit")
    bent = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    assert not verify_inclusion(leaves[i], i, n, bent, r)
    assert not verify_inclusion(flip(leaves[i], bit), i, n, proof, r)
    assert not verify_inclusion(leaves[i], i, n, proof, flip(r, bit))
    assert not verify_inclusion(leaves[i], i, n, proof[:-1], r)
    assert not verify_inclusion(leaves[i], i, n, [*proof, r], r)

    j = data.draw(st.integers(-3, n + 3).filter(lambda j: j != i), label="wrong index")
    assert not verify_inclusion(leaves[i], j, n, proof, r)

    s = data.draw(st.integers(0, 2 * n + 3).filter(lambda s: s != n), label="wrong size")
    # A proof carries no size: another size passes exactly when its proof has
    # the same shape (e.g. leaf 0 of 3 and of 4), never otherwise.
    same_shape = i < s and path_shape(i, s) == path_shape(i, n)
    assert verify_inclusion(leaves[i], i, s, proof, r) == same_shape


@settings(max_examples=200, deadline=None)
@given(n=st.integers(2, 300), salt=salts, data=st.data())
def test_tampered_consistency_proof_fails(n: int, salt: int, data: st.DataObject) -> None:
    leaves = leaves_of(entries(n, salt))
    m = data.draw(st.integers(1, n - 1), label="old size")
    old, new = root(leaves[:m]), root(leaves)
    proof = consistency_proof(leaves, m, n)
    assert verify_consistency(m, n, old, new, proof)

    at = data.draw(st.integers(0, len(proof) - 1), label="element")
    bit = data.draw(bits, label="bit")
    bent = [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]
    assert not verify_consistency(m, n, old, new, bent)
    assert not verify_consistency(m, n, flip(old, bit), new, proof)
    assert not verify_consistency(m, n, old, flip(new, bit), proof)
    assert not verify_consistency(m, n, old, new, proof[:-1])
    assert not verify_consistency(m, n, old, new, [*proof, new])

    m2 = data.draw(st.integers(0, n).filter(lambda x: x != m), label="wrong old size")
    assert not verify_consistency(m2, n, old, new, proof)
    n2 = data.draw(st.integers(0, 2 * n + 3).filter(lambda x: x != n), label="wrong new size")
    # As with inclusion: only a new size whose proof has the same shape passes.
    same_shape = m < n2 and subproof_shape(m, n2) == subproof_shape(m, n)
    assert verify_consistency(m, n2, old, new, proof) == same_shape


def test_rewritten_history_is_inconsistent() -> None:
    leaves = leaves_of(entries(20))
    forged = list(leaves)
    forged[3] = leaf_hash(b"rewritten")
    old = root(leaves[:10])
    for n in range(10, 21):
        assert not verify_consistency(
            10, n, old, root(forged[:n]), consistency_proof(forged, 10, n)
        )


def test_trivial_consistency_cases() -> None:
    leaves = leaves_of(entries(8))
    r4, r5 = root(leaves[:4]), root(leaves[:5])
    assert consistency_proof(leaves, 4, 4) == []
    assert consistency_proof(leaves, 0, 5) == []
    assert verify_consistency(4, 4, r4, r4, [])
    assert not verify_consistency(4, 4, r4, r5, [])
    assert not verify_consistency(4, 4, r4, r4, [r4])
    assert verify_consistency(0, 5, EMPTY_ROOT, r5, [])
    assert not verify_consistency(0, 5, r4, r5, [])
    assert not verify_consistency(4, 5, r4, r5, [])
    assert not verify_consistency(5, 4, r5, r4, consistency_proof(leaves, 4, 5))


def test_malformed_hashes_do_not_verify() -> None:
    leaves = leaves_of(entries(8))
    r = root(leaves)
    proof = inclusion_proof(leaves, 5, 8)
    assert not verify_inclusion(leaves[5][:31], 5, 8, proof, r)
    assert not verify_inclusion(leaves[5], 5, 8, proof, r[:31])
    assert not verify_inclusion(leaves[5], 5, 8, [proof[0] + b"\x00", *proof[1:]], r)
    # Moving a byte across two elements keeps the concatenation, not the tree.
    assert not verify_inclusion(
        leaves[5], 5, 8, [proof[0][:31], proof[1][-1:] + proof[1], *proof[2:]], r
    )
    cproof = consistency_proof(leaves, 6, 8)
    assert not verify_consistency(6, 8, root(leaves[:6]), r, [cproof[0][:31], *cproof[1:]])


def test_generators_reject_bad_arguments() -> None:
    leaves = leaves_of(entries(8))
    for index, size in [(8, 8), (-1, 8), (0, 9), (0, 0), (0, -1)]:
        with pytest.raises(ValueError):
            inclusion_proof(leaves, index, size)
    for old, new in [(5, 3), (-1, 3), (0, 9)]:
        with pytest.raises(ValueError):
            consistency_proof(leaves, old, new)


def test_large_tree_without_deep_recursion() -> None:
    n = 100_003
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    frontier = Frontier()
    frontier.extend(leaves)
    r = root(leaves)
    assert frontier.root() == r
    for i in (0, 65_536, n - 1):
        assert verify_inclusion(leaves[i], i, n, inclusion_proof(leaves, i, n), r)
    assert verify_consistency(
        77_777, n, root(leaves[:77_777]), r, consistency_proof(leaves, 77_777, n)
    )


# --- Frontier ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 300), salt=salts)
def test_frontier_root_after_every_append(n: int, salt: int) -> None:
    leaves = leaves_of(entries(n, salt))
    frontier = Frontier()
    for k, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.size == k
        assert len(frontier.hashes) == k.bit_count()
        assert frontier.root() == root(leaves[:k])
        assert Frontier.from_bytes(frontier.to_bytes()) == frontier
    extended = Frontier()
    extended.extend(leaves)
    assert extended == frontier


@given(n=st.integers(0, 300), salt=salts)
def test_frontier_round_trips_through_bytes(n: int, salt: int) -> None:
    frontier = Frontier()
    frontier.extend(leaves_of(entries(n, salt)))
    data = frontier.to_bytes()
    assert len(data) == 8 + 32 * n.bit_count()
    assert data[:8] == n.to_bytes(8, "big")
    back = Frontier.from_bytes(data)
    assert back == frontier and back.size == n and back.root() == frontier.root()
    # A restored frontier keeps growing as the original would.
    more = leaves_of(entries(5, salt + 1))
    back.extend(more)
    frontier.extend(more)
    assert back.root() == frontier.root()


def test_frontier_rejects_malformed_input() -> None:
    frontier = Frontier()
    frontier.extend(leaves_of(entries(5)))
    data = frontier.to_bytes()
    for bad in [
        b"",
        data[:7],
        data[:-1],
        data + b"\x00",
        data[:8],
        (7).to_bytes(8, "big") + data[8:],
    ]:
        with pytest.raises(ValueError):
            Frontier.from_bytes(bad)
    with pytest.raises(ValueError):
        frontier.append(b"short")


def test_a_stored_events_leaf_is_the_rfc_leaf_hash_of_its_leaf_data() -> None:
    """The one-pass leaf of the store equals RFC 9162's leaf hash of the documented leaf data."""
    import uuid

    from ledger import leaves

    event_id, stream = uuid.uuid4(), uuid.uuid4()
    data = leaves.leaf_data(7, event_id, stream, 3, "SubmissionHandedIn", b'{"x":1}')
    assert data[:1] == b"\x01" and data[1:9] == (7).to_bytes(8, "big") and data.endswith(b'{"x":1}')
    one_pass = leaves.leaf(7, event_id.bytes, stream.bytes, 3, b"SubmissionHandedIn", b'{"x":1}')
    assert one_pass == leaf_hash(data)
    # Format 2: the salt sits between the version and the topic's length, and changes the leaf.
    salt = leaves.new_salts(1)[0]
    salted = leaves.leaf_data(7, event_id, stream, 3, "SubmissionHandedIn", b'{"x":1}', salt)
    assert salted[:1] == b"\x02" and salted[49:65] == salt and salted[65:67] == (18).to_bytes(2, "big")
    assert salted[1:49] == data[1:49] and salted.endswith(b"SubmissionHandedIn" + b'{"x":1}')
    assert leaves.leaf(7, event_id.bytes, stream.bytes, 3, b"SubmissionHandedIn", b'{"x":1}', salt) == leaf_hash(salted)
    assert leaf_hash(salted) != one_pass
    with pytest.raises(ValueError, match="16 bytes"):
        leaves.leaf(7, event_id.bytes, stream.bytes, 3, b"SubmissionHandedIn", b'{"x":1}', salt[:15])


@given(st.integers(0, 300), st.lists(st.integers(0, 64), max_size=6))
def test_extending_in_batches_equals_appending_one_by_one(first: int, batches: list[int]) -> None:
    """The level-at-a-time extend builds exactly the frontier of leaf-by-leaf appends."""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(first + sum(batches))]
    one_by_one, batched = Frontier(), Frontier()
    for leaf in leaves:
        one_by_one.append(leaf)
    batched.extend(leaves[:first])
    done = first
    for size in batches:
        batched.extend(leaves[done : done + size])
        done += size
        assert batched.root() == root(leaves[:done])
    assert batched == one_by_one


def test_extend_refuses_a_leaf_of_the_wrong_size() -> None:
    frontier = Frontier()
    with pytest.raises(ValueError):
        frontier.extend([b"short"])
    assert frontier.size == 0

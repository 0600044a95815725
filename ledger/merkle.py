"""The Merkle tree of RFC 9162 (Certificate Transparency v2) §2.1: roots and proofs.

Everything here works on leaf hashes (`leaf_hash` of an entry's bytes), never on
the entries themselves, so a proof reveals nothing about other entries. The
generators trust their input (the log's own leaf hashes); the verifiers trust
nothing and answer False rather than raise on any malformed proof.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Frontier",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
# RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
EMPTY_ROOT = sha256(b"").digest()

# The 0x00/0x01 prefixes separate leaves from nodes (second-preimage resistance).
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || data)."""
    return sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return sha256(_NODE + left + right).digest()


def _split(n: int) -> int:
    """Return k, the largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """Return MTH, the Merkle tree hash over the given leaf hashes."""
    if not leaves:
        return EMPTY_ROOT
    # Pairing level by level and lifting an odd last node unchanged builds the
    # same left-balanced tree as the RFC's split at the largest power of two,
    # without recursion and with one tight comprehension per level.
    level = list(leaves)
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        pairs = iter(level)
        nxt = [sha256(_NODE + a + b).digest() for a, b in zip(pairs, pairs, strict=False)]
        if odd is not None:
            nxt.append(odd)
        level = nxt
    return level[0]


def _check_range(leaves: Sequence[bytes], size: int) -> None:
    """Raise ValueError unless 0 <= size <= len(leaves)."""
    if not 0 <= size <= len(leaves):
        raise ValueError(f"tree size {size} is outside 0..{len(leaves)}")


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return PATH(index, leaves[:size]) of RFC 9162 §2.1.3.1, leaf side first."""
    _check_range(leaves, size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside 0..{size - 1}")
    # Walk down from the root; each sibling subtree is hashed once, and the
    # siblings are disjoint, so the whole proof costs O(size) hashes.
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            path.append(root(leaves[mid:hi]))
            hi = mid
        else:
            path.append(root(leaves[lo:mid]))
            lo = mid
    # The RFC lists the path from the leaf upwards; we collected it downwards.
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return PROOF(old_size, leaves[:new_size]) of RFC 9162 §2.1.4.1."""
    _check_range(leaves, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        # Every tree extends the empty tree, and a tree extends itself: no proof.
        return []
    # SUBPROOF(m, D[lo:hi], whole) unrolled; `whole` is the RFC's flag b, true
    # while the old tree is still a prefix subtree whose root the verifier knows.
    path: list[bytes] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            path.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            path.append(root(leaves[lo : lo + k]))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        path.append(root(leaves[lo:hi]))
    path.reverse()
    return path


def _is_hash(value: object) -> bool:
    """Tell whether value is a byte string of SHA-256 length."""
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Tell whether proof shows leaf hash at index in the tree of size with root (§2.1.3.2)."""
    # Fixed-length hashes only: a longer or shorter element could shift bytes
    # between the two halves of a node and so fake a different tree shape.
    if not (_is_hash(leaf) and _is_hash(root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # A right-edge node with no right sibling: skip the levels where
            # it is lifted unchanged.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Tell whether proof shows the tree of new_size extends the one of old_size (§2.1.4.2)."""
    if not (_is_hash(old_root) and _is_hash(new_root) and all(_is_hash(p) for p in proof)):
        return False
    if not 0 <= old_size <= new_size:
        return False
    # The RFC leaves the trivial cases to the caller; these are the answers
    # consistency_proof gives for them (an empty proof).
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # The old tree is a complete subtree whose root the proof leaves out.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Frontier:
    """The right edge of a growing tree: one subtree root per set bit of its size."""

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        """Start an empty tree."""
        # Roots of the perfect subtrees the leaves so far decompose into,
        # largest (leftmost) first; their sizes are the set bits of _size.
        self._hashes: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Return the number of leaves appended."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """Return the subtree roots, leftmost first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Append one leaf hash."""
        if len(leaf) != HASH_SIZE or not isinstance(leaf, bytes):
            raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes")
        # Binary increment: each trailing set bit is a subtree of equal size to
        # the left that now merges with the new one (O(1) amortised). The node
        # hash is written out: this runs once per appended event.
        h, s, hashes = leaf, self._size, self._hashes
        while s & 1:
            h = sha256(_NODE + hashes.pop() + h).digest()
            s >>= 1
        hashes.append(h)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append leaf hashes in order, a level at a time (what a bulk import does)."""
        new = list(leaves)
        if not all(len(leaf) == HASH_SIZE and isinstance(leaf, bytes) for leaf in new):
            raise ValueError(f"a leaf hash must be {HASH_SIZE} bytes")
        old, total = self._size, self._size + len(new)
        # The old subtree roots by height: one per set bit of the old size.
        heights = [h for h in range(old.bit_length() - 1, -1, -1) if old >> h & 1]
        kept = dict(zip(heights, self._hashes, strict=True))
        frontier: dict[int, bytes] = {}
        # At height h, `level` holds the new complete nodes, indices old>>h … total>>h - 1.
        # Only the old node just before them (the old root at h, if any) can pair with one.
        level, h = new, 0
        while total >> h:
            start = old >> h
            if total >> h & 1:
                last = (total >> h) - 1
                frontier[h] = level[last - start] if last >= start else kept[h]
            nodes = [kept[h], *level] if start & 1 else level
            pairs = iter(nodes)
            level = [sha256(_NODE + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
            h += 1
        self._hashes = [frontier[h] for h in sorted(frontier, reverse=True)]
        self._size = total

    def root(self) -> bytes:
        """Return the Merkle tree hash of the leaves so far."""
        if not self._hashes:
            return EMPTY_ROOT
        # The RFC tree hangs smaller subtrees off the right, so fold right to left.
        r = self._hashes[-1]
        for h in reversed(self._hashes[:-1]):
            r = node_hash(h, r)
        return r

    def to_bytes(self) -> bytes:
        """Return the 8-byte big-endian size followed by the subtree roots."""
        return self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Frontier:
        """Rebuild a frontier from to_bytes output; ValueError if malformed."""
        if len(data) < 8:
            raise ValueError("frontier is shorter than its 8-byte size")
        size = int.from_bytes(data[:8], "big")
        count = size.bit_count()
        if len(data) != 8 + count * HASH_SIZE:
            raise ValueError(
                f"frontier of size {size} needs {count} hashes, "
                f"got {len(data) - 8} bytes after the size"
            )
        f = cls()
        f._size = size
        f._hashes = [data[8 + i * HASH_SIZE : 8 + (i + 1) * HASH_SIZE] for i in range(count)]
        return f

    def __eq__(self, other: object) -> bool:
        """Frontiers are equal when size and subtree roots are."""
        if not isinstance(other, Frontier):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable: not hashable

    def __repr__(self) -> str:
        """Show the size and root."""
        return f"Frontier(size={self._size}, root={self.root().hex()})"

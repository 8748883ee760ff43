//! RFC 6962 / RFC 9162 Merkle trees: hashing, proof generation from complete subtrees, and proof
//! verification.
//!
//! Conventions (RFC 9162 §2.1):
//! - leaf hash `SHA-256(0x00 ‖ entry)`, interior node `SHA-256(0x01 ‖ left ‖ right)`: the distinct
//!   prefixes stop an interior node from being passed off as a leaf (second-preimage attack on the tree);
//! - the empty tree hashes to `SHA-256("")` (Go's `x/mod/sumdb/tlog.TreeHash(0)` returns zero bytes
//!   instead; tlog-tiles and RFC 9162 use `SHA-256("")`, and so do we);
//! - proofs list the leaf's sibling first and the root's child last (as tlog-proof files carry them).
//!
//! Proof *generation* asks a [`HashSource`] only for hashes of complete subtrees (`2^level` leaves,
//! aligned), never for a node on the ragged right edge of the tree: such a node changes as the tree
//! grows, so logs do not store it (tlog-tiles publishes complete subtrees only) and we rebuild it from
//! the complete subtrees it is made of. Proof *verification* needs no source at all.
//!
//! Nothing here panics on any input: sizes and indexes come from checkpoints, proofs and URLs, so all
//! arithmetic on them is checked or provably bounded, and failures are typed [`MerkleError`]s.
//!
//! This module knows nothing of where hashes are stored: a source's own failures (a tile that is
//! missing or malformed, for the tiles of the `tile` module) travel as the `E` of [`MerkleError`].

use crate::digest::{Hash, sha256, sha256_parts};
use std::convert::Infallible;

/// Why a Merkle computation or verification failed. Messages name the numbers involved. `E` is
/// what a [`HashSource`] reports when it cannot produce a hash; sources that always can (a tree in
/// memory) and verification, which needs no source, leave it `Infallible`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError<E = Infallible> {
    /// A leaf index outside the tree (this includes every index in the empty tree).
    #[error("leaf index {index} is out of range for a tree of {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The number of leaves in the tree.
        size: u64,
    },

    /// A consistency proof or tile range that would go from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The size given as the older tree.
        old: u64,
        /// The size given as the newer tree.
        new: u64,
    },

    /// An inclusion proof with the wrong number of hashes, rejected before any hashing.
    #[error(
        "inclusion proof has {got} hashes, expected {expected} for index {index} in a tree of {size}"
    )]
    InclusionProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a proof for `index` in a tree of `size` has.
        expected: usize,
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },

    /// A consistency proof with the wrong number of hashes, rejected before any hashing.
    #[error(
        "consistency proof has {got} hashes, expected {expected} from size {old} to size {new}"
    )]
    ConsistencyProofLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes a proof from `old` to `new` has.
        expected: usize,
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
    },

    /// The inclusion proof is well formed but leads to a different root.
    #[error(
        "inclusion proof for index {index} in a tree of {size} gives root {computed}, expected {expected}"
    )]
    InclusionRootMismatch {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
        /// The root the leaf and proof hash to.
        computed: Hash,
        /// The root the tree size was signed with.
        expected: Hash,
    },

    /// The consistency proof does not reproduce the old root.
    #[error(
        "consistency proof from size {old} to {new} gives old root {computed}, expected {expected}"
    )]
    OldRootMismatch {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
        /// The old root the proof hashes to.
        computed: Hash,
        /// The old root known for `old`.
        expected: Hash,
    },

    /// The consistency proof does not reproduce the new root.
    #[error(
        "consistency proof from size {old} to {new} gives new root {computed}, expected {expected}"
    )]
    NewRootMismatch {
        /// The older tree size.
        old: u64,
        /// The newer tree size.
        new: u64,
        /// The new root the proof hashes to.
        computed: Hash,
        /// The new root known for `new`.
        expected: Hash,
    },

    /// Two trees of the same size with different roots: a fork.
    #[error("two trees of size {size} have different roots {old_root} and {new_root}")]
    EqualSizeRootMismatch {
        /// The tree size both claim.
        size: u64,
        /// The root known before.
        old_root: Hash,
        /// The root offered now.
        new_root: Hash,
    },

    /// A source was asked for a subtree that is not complete within the tree it holds.
    #[error("subtree at level {level} index {index} is not complete in a tree of {size}")]
    IncompleteSubtree {
        /// The subtree's level (`2^level` leaves).
        level: u8,
        /// The subtree's index at that level.
        index: u64,
        /// The tree size the source holds.
        size: u64,
    },

    /// The source could not produce a subtree hash (a tile missing or malformed, storage, network).
    #[error("{0}")]
    Source(E),
}

/// RFC 6962 leaf hash: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    sha256_parts(&[&[0x00], entry])
}

/// RFC 6962 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256_parts(&[&[0x01], &left.0, &right.0])
}

/// The hash of the empty tree, `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    sha256(b"")
}

/// A source of complete-subtree hashes.
///
/// `subtree(level, index)` is the Merkle hash of leaves `[index·2^level, (index+1)·2^level)`.
/// Implemented by [`MemoryTree`], by the tiles of a log (the `tile` module's `TileHashSource`, with
/// `E` its tile errors), and by a log's storage, so that one proof routine serves them all. Callers
/// in this module only ask for subtrees that are complete within the tree size they work on.
pub trait HashSource<E = Infallible> {
    /// The hash of the complete subtree `(level, index)`, or why the source cannot give it.
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError<E>>;
}

/// One past the last leaf of subtree `(level, index)`, or `None` if that is beyond `u64`.
pub(crate) fn subtree_end(level: u8, index: u64) -> Option<u64> {
    let width = 1u64.checked_shl(u32::from(level))?;
    index.checked_add(1)?.checked_mul(width)
}

/// Largest power of two strictly less than `n`; `n` must be at least 2 (RFC 6962's `k`).
fn split_point(n: u64) -> u64 {
    // For n ≥ 2, n-1 ≥ 1 so leading_zeros ≤ 63 and the shift is in range.
    let bits = 63 - n.saturating_sub(1).max(1).leading_zeros();
    1u64 << bits
}

/// MTH of leaves `[start, end)`, built only from complete aligned subtrees fetched from `src`.
///
/// For the ranges RFC 6962's recursion produces (`start` a multiple of a power of two ≥ the range
/// length) the greedy split into the largest aligned power-of-two blocks is exactly RFC 6962's split,
/// and folding the blocks from the right gives MTH. The alignment clamp keeps every request a
/// complete aligned subtree even if a caller passed another range.
fn range_hash<E>(
    start: u64,
    end: u64,
    src: &mut impl HashSource<E>,
) -> Result<Hash, MerkleError<E>> {
    let mut parts: Vec<Hash> = Vec::new();
    let mut pos = start;
    while pos < end {
        let len = end - pos;
        let by_len = 63 - len.leading_zeros(); // floor(log2(len)); len ≥ 1
        let by_align = pos.trailing_zeros(); // 64 for pos == 0
        let level = by_len.min(by_align);
        parts.push(src.subtree(level as u8, pos >> level)?);
        // pos + 2^level ≤ end, so no overflow.
        pos += 1u64 << level;
    }
    let mut acc = match parts.pop() {
        Some(h) => h,
        None => return Ok(empty_root()),
    };
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The root of the tree of the first `size` leaves of `src`: one subtree request per set bit of `size`.
pub fn tree_hash<E>(size: u64, src: &mut impl HashSource<E>) -> Result<Hash, MerkleError<E>> {
    range_hash(0, size, src)
}

/// Number of hashes in the inclusion proof of `index` in a tree of `size` (requires index < size).
///
/// The path splits into the `inner` part, below the level where the paths to `index` and to the last
/// leaf meet, and the `border` part above it, which has one hash per left sibling on the right edge
/// (transparency-dev/merkle `decompInclProof`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let last = size.saturating_sub(1);
    let inner = 64 - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Number of hashes in the consistency proof from `old` to `new` (requires 0 < old < new).
fn consistency_proof_len(old: u64, new: u64) -> usize {
    // The old tree's rightmost complete subtree has 2^shift leaves; the proof starts at that node.
    let shift = old.trailing_zeros();
    let a = old.saturating_sub(1);
    let inner_full = 64 - (a ^ new.saturating_sub(1)).leading_zeros();
    let border = a.checked_shr(inner_full).unwrap_or(0).count_ones();
    // old < new implies inner_full > shift (see RFC 9162 §2.1.4.2); saturate anyway.
    let inner = inner_full.saturating_sub(shift);
    // If old is itself a power of two its root is that node, which the verifier already has.
    let seed = if old.is_power_of_two() { 0 } else { 1 };
    (inner + border + seed) as usize
}

/// The RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    src: &mut impl HashSource<E>,
) -> Result<Vec<Hash>, MerkleError<E>> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Walk from the root down to the leaf (RFC 6962 PATH), collecting siblings, then reverse.
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        let mid = lo + k;
        if index < mid {
            proof.push(range_hash(mid, hi, src)?);
            hi = mid;
        } else {
            proof.push(range_hash(lo, mid, src)?);
            lo = mid;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The RFC 9162 §2.1.4.1 consistency proof from the tree of the first `old` leaves to that of the
/// first `new` leaves. Empty when `old == 0` or `old == new`.
pub fn consistency_proof<E>(
    old: u64,
    new: u64,
    src: &mut impl HashSource<E>,
) -> Result<Vec<Hash>, MerkleError<E>> {
    if old > new {
        return Err(MerkleError::OldLargerThanNew { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // RFC 6962 SUBPROOF(m, D[lo:hi], b), unrolled from the root down, then reversed.
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0u64, new);
    let mut m = old; // the old tree's extent within [lo, hi)
    let mut whole_old_tree = true; // RFC 6962's flag b
    loop {
        let n = hi - lo;
        if m == n {
            if !whole_old_tree {
                proof.push(range_hash(lo, hi, src)?);
            }
            break;
        }
        let k = split_point(n);
        let mid = lo + k;
        if m <= k {
            proof.push(range_hash(mid, hi, src)?);
            hi = mid;
        } else {
            proof.push(range_hash(lo, mid, src)?);
            lo = mid;
            m -= k;
            whole_old_tree = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Recomputes the root from an inclusion proof (RFC 9162 §2.1.3.2). The result means nothing until
/// compared with a trusted root: use [`verify_inclusion`] unless you compare yourself.
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    let length_error = MerkleError::InclusionProofLength {
        got: proof.len(),
        expected,
        index,
        size,
    };
    // A proof of the wrong length is rejected outright, before hashing (no partial work on junk).
    if proof.len() != expected {
        return Err(length_error);
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(length_error); // unreachable after the length check; kept as a guard
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // On the right edge, skip the levels where our node has no sibling.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(length_error); // unreachable after the length check; kept as a guard
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion(index, size, leaf, proof)?;
    if computed != *root {
        return Err(MerkleError::InclusionRootMismatch {
            index,
            size,
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `new` leaves with root `new_root` extends the tree of `old` leaves with
/// root `old_root` (RFC 9162 §2.1.4.2).
///
/// Edge cases: `old == new` needs an empty proof and equal roots (different roots of one size are a
/// fork); `old == 0` needs an empty proof and `old_root` = the empty-tree hash, since the empty tree
/// is a prefix of every tree (C2SP tlog-witness asks for exactly this); `old > new` is an error.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old > new {
        return Err(MerkleError::OldLargerThanNew { old, new });
    }
    if old == 0 || old == new {
        if !proof.is_empty() {
            return Err(MerkleError::ConsistencyProofLength {
                got: proof.len(),
                expected: 0,
                old,
                new,
            });
        }
        if old == 0 && *old_root != empty_root() {
            return Err(MerkleError::OldRootMismatch {
                old,
                new,
                computed: empty_root(),
                expected: *old_root,
            });
        }
        if old == new && old_root != new_root {
            return Err(MerkleError::EqualSizeRootMismatch {
                size: old,
                old_root: *old_root,
                new_root: *new_root,
            });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(old, new);
    let length_error = MerkleError::ConsistencyProofLength {
        got: proof.len(),
        expected,
        old,
        new,
    };
    if proof.len() != expected {
        return Err(length_error);
    }
    // If old is a power of two, its root is a node of the new tree and the proof omits it.
    let (seed, rest) = if old.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(length_error),
        }
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if s == 0 {
            return Err(length_error); // unreachable after the length check; kept as a guard
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(length_error); // unreachable after the length check; kept as a guard
    }
    if fr != *old_root {
        return Err(MerkleError::OldRootMismatch {
            old,
            new,
            computed: fr,
            expected: *old_root,
        });
    }
    if sr != *new_root {
        return Err(MerkleError::NewRootMismatch {
            old,
            new,
            computed: sr,
            expected: *new_root,
        });
    }
    Ok(())
}

/// An append-only in-memory Merkle tree that stores every complete subtree hash:
/// `levels[l][i]` = hash of leaves `[i·2^l, (i+1)·2^l)`. About two hashes per leaf.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        MemoryTree { levels: Vec::new() }
    }

    /// A tree of the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = MemoryTree::new();
        for h in leaves {
            t.append(h);
        }
        t
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash (already `leaf_hash`ed) and returns its index.
    pub fn append(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut level = 0;
        let mut carry = leaf;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let Some(row) = self.levels.get_mut(level) else {
                break; // cannot happen: we just made sure the row exists
            };
            row.push(carry);
            // A row of even length just completed a pair: its parent is now a complete subtree.
            if row.len() % 2 != 0 {
                break;
            }
            match row.get(row.len() - 2..) {
                Some([l, r]) => carry = node_hash(l, r),
                _ => break,
            }
            level += 1;
        }
        index
    }

    /// The root of the whole tree. The complete subtrees of the root's decomposition are exactly the
    /// last hash of every row with an odd number of entries (bit `l` of the size is set).
    pub fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for row in &self.levels {
            if row.len() % 2 == 1
                && let Some(h) = row.last()
            {
                acc = Some(match acc {
                    None => *h,
                    Some(right) => node_hash(h, &right),
                });
            }
        }
        acc.unwrap_or_else(empty_root)
    }

    /// The hash of the complete subtree `(level, index)`, through a shared reference (so a tree
    /// behind a read lock can serve proofs). An error if that subtree is not complete yet.
    pub fn subtree_hash(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let found = self
            .levels
            .get(usize::from(level))
            .and_then(|row| row.get(usize::try_from(index).ok()?));
        found.copied().ok_or(MerkleError::IncompleteSubtree {
            level,
            index,
            size: self.size(),
        })
    }
}

impl HashSource for MemoryTree {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.subtree_hash(level, index)
    }
}

/// Reading needs no `&mut`: a tree shared behind a read lock serves proofs and tiles too.
impl HashSource for &MemoryTree {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.subtree_hash(level, index)
    }
}

/// The right edge of a tree (a "compact range" over `[0, size)`): the roots of its complete subtrees,
/// largest first. Enough to keep appending leaves and to compute the root, in O(log n) memory. An
/// auditor starts it from a root it already verified, appends every new entry it downloaded, and
/// compares the result with the new signed root: then every new entry is in the tree, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash) of each complete subtree, levels strictly decreasing.
    nodes: Vec<(u8, Hash)>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The frontier of the first `size` leaves of `src` (one subtree request per set bit of `size`).
    pub fn of<E>(size: u64, src: &mut impl HashSource<E>) -> Result<Frontier, MerkleError<E>> {
        let mut nodes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size >> level & 1 == 1 {
                nodes.push((level, src.subtree(level, start >> level)?));
                start += 1 << level;
            }
        }
        Ok(Frontier { size, nodes })
    }

    /// A frontier kept from an earlier run: `size` leaves and the roots of its complete subtrees,
    /// largest first (what [`Frontier::hashes`] gave). `None` unless there is one hash per set bit
    /// of `size`. Whether the hashes are right shows when the root is compared with a signed one.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Option<Frontier> {
        let levels: Vec<u8> = (0..64u8).rev().filter(|l| size >> l & 1 == 1).collect();
        (levels.len() == hashes.len()).then(|| Frontier {
            size,
            nodes: levels.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    /// The roots of the complete subtrees, largest first (at most 64).
    pub fn hashes(&self) -> Vec<Hash> {
        self.nodes.iter().map(|(_, h)| *h).collect()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn append(&mut self, leaf: Hash) {
        let mut node = (0u8, leaf);
        // Two complete subtrees of the same height merge into one a level up (RFC 6962 section 2.1).
        while let Some(&(level, left)) = self.nodes.last() {
            if level != node.0 {
                break;
            }
            self.nodes.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The RFC 6962 root: the subtrees folded from the right.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frontier_survives_being_written_down() {
        let mut t = tree(0);
        let mut f = Frontier::new();
        for n in 0..70u64 {
            let kept = Frontier::from_hashes(f.size(), &f.hashes()).unwrap();
            assert_eq!(kept, f);
            assert_eq!(kept.root(), t.root());
            let leaf = leaf_hash(&n.to_be_bytes());
            f.append(leaf);
            t.append(leaf);
        }
        assert_eq!(Frontier::from_hashes(5, &[empty_root()]), None);
        assert_eq!(Frontier::from_hashes(0, &[]), Some(Frontier::new()));
    }

    fn tree(n: u64) -> MemoryTree {
        MemoryTree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())))
    }

    /// A source that refuses any subtree that is not complete within `size`, to check that proof
    /// generation never asks for a ragged right-edge node.
    struct Strict {
        inner: MemoryTree,
        size: u64,
        calls: usize,
    }
    impl HashSource for Strict {
        fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
            self.calls += 1;
            match subtree_end(level, index) {
                Some(end) if end <= self.size => self.inner.subtree(level, index),
                _ => Err(MerkleError::IncompleteSubtree {
                    level,
                    index,
                    size: self.size,
                }),
            }
        }
    }

    #[test]
    fn hashing_prefixes() {
        assert_eq!(leaf_hash(b"x"), sha256(b"\x00x"));
        let (a, b) = (sha256(b"a"), sha256(b"b"));
        let mut buf = vec![1u8];
        buf.extend_from_slice(&a.0);
        buf.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b), sha256(&buf));
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn small_trees_by_hand() {
        let l: Vec<Hash> = (0..3u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        assert_eq!(MemoryTree::new().root(), empty_root());
        assert_eq!(tree(1).root(), l[0]);
        assert_eq!(tree(2).root(), node_hash(&l[0], &l[1]));
        // Size 3: the left subtree is the largest power of two below 3, i.e. 2 leaves.
        assert_eq!(tree(3).root(), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
        let mut t = tree(3);
        assert_eq!(tree_hash(3, &mut t), Ok(t.root()));
        assert_eq!(tree_hash(0, &mut t), Ok(empty_root()));
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
        assert_eq!(split_point(1 << 63), 1 << 62);
    }

    #[test]
    fn append_returns_indexes_and_roots_match_tree_hash() {
        let mut t = MemoryTree::new();
        for i in 0..70u64 {
            assert_eq!(t.append(leaf_hash(&i.to_be_bytes())), i);
            assert_eq!(t.size(), i + 1);
            let root = t.root();
            assert_eq!(tree_hash(i + 1, &mut t), Ok(root));
        }
    }

    #[test]
    fn tree_hash_uses_one_call_per_set_bit() {
        for n in [1u64, 2, 3, 7, 8, 100, 255, 256, 1000] {
            let mut s = Strict {
                inner: tree(n),
                size: n,
                calls: 0,
            };
            let root = tree_hash(n, &mut s).unwrap();
            assert_eq!(root, s.inner.root());
            assert_eq!(s.calls, n.count_ones() as usize, "size {n}");
        }
    }

    #[test]
    fn generation_asks_only_for_complete_subtrees() {
        // The strict source fails on any incomplete subtree; generation for smaller sizes over a
        // bigger tree must stay within each size.
        let big = tree(70);
        for n in 1..=70u64 {
            let mut s = Strict {
                inner: big.clone(),
                size: n,
                calls: 0,
            };
            for i in 0..n {
                inclusion_proof(i, n, &mut s).unwrap();
            }
            for m in 0..=n {
                consistency_proof(m, n, &mut s).unwrap();
            }
        }
    }

    #[test]
    fn memory_tree_refuses_incomplete_subtrees() {
        let mut t = tree(5);
        assert!(t.subtree(0, 4).is_ok());
        assert!(t.subtree(1, 1).is_ok());
        assert_eq!(
            t.subtree(1, 2),
            Err(MerkleError::IncompleteSubtree {
                level: 1,
                index: 2,
                size: 5
            })
        );
        assert!(t.subtree(3, 0).is_err());
        assert!(t.subtree(255, u64::MAX).is_err());
        assert!(inclusion_proof(0, 6, &mut t).is_err());
    }

    #[test]
    fn size_zero_and_out_of_range() {
        let mut t = tree(4);
        let leaf = leaf_hash(b"");
        assert_eq!(
            inclusion_proof(0, 0, &mut t),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert_eq!(
            verify_inclusion(0, 0, &leaf, &[], &empty_root()),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );
        assert!(inclusion_proof(4, 4, &mut t).is_err());
        assert!(root_from_inclusion(u64::MAX, u64::MAX, &leaf, &[]).is_err());
        assert_eq!(
            MerkleError::<Infallible>::IndexOutOfRange { index: 7, size: 3 }.to_string(),
            "leaf index 7 is out of range for a tree of 3"
        );
    }

    #[test]
    fn single_leaf_tree_has_empty_proof() {
        let mut t = tree(1);
        assert_eq!(inclusion_proof(0, 1, &mut t), Ok(vec![]));
        let leaf = leaf_hash(&0u64.to_be_bytes());
        assert_eq!(verify_inclusion(0, 1, &leaf, &[], &t.root()), Ok(()));
        assert!(verify_inclusion(0, 1, &leaf, &[leaf], &t.root()).is_err());
    }

    #[test]
    fn wrong_length_is_rejected_with_numbers() {
        let mut t = tree(12);
        let proof = inclusion_proof(7, 12, &mut t).unwrap();
        let leaf = leaf_hash(&7u64.to_be_bytes());
        let err = verify_inclusion(7, 12, &leaf, &proof[..3], &t.root()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "inclusion proof has 3 hashes, expected {} for index 7 in a tree of 12",
                proof.len()
            )
        );
    }

    #[test]
    fn consistency_edge_cases() {
        let mut t = tree(8);
        let r8 = t.root();
        let r5 = tree_hash(5, &mut t).unwrap();
        let e = empty_root();
        // old == new: empty proof, equal roots.
        assert_eq!(verify_consistency(5, 5, &r5, &r5, &[]), Ok(()));
        assert!(matches!(
            verify_consistency(5, 5, &r5, &r8, &[]),
            Err(MerkleError::EqualSizeRootMismatch { size: 5, .. })
        ));
        assert!(verify_consistency(5, 5, &r5, &r5, &[r5]).is_err());
        // old == 0: empty proof only, and the old root must be the empty tree's.
        assert_eq!(verify_consistency(0, 8, &e, &r8, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 0, &e, &e, &[]), Ok(()));
        assert!(verify_consistency(0, 8, &e, &r8, &[r8]).is_err());
        assert!(verify_consistency(0, 8, &r5, &r8, &[]).is_err());
        assert!(verify_consistency(0, 0, &e, &r8, &[]).is_err());
        // old > new.
        assert_eq!(
            verify_consistency(8, 5, &r8, &r5, &[]),
            Err(MerkleError::OldLargerThanNew { old: 8, new: 5 })
        );
        assert_eq!(
            consistency_proof(8, 5, &mut t),
            Err(MerkleError::OldLargerThanNew { old: 8, new: 5 })
        );
        // old a power of two: the proof omits the old root.
        let r4 = tree_hash(4, &mut t).unwrap();
        let p = consistency_proof(4, 8, &mut t).unwrap();
        assert_eq!(p.len(), 1);
        assert!(!p.contains(&r4));
        assert_eq!(verify_consistency(4, 8, &r4, &r8, &p), Ok(()));
        // old not a power of two: proof starts with the node the old tree ends in.
        let p = consistency_proof(5, 8, &mut t).unwrap();
        assert_eq!(p.first(), Some(&t.subtree(0, 4).unwrap()));
        assert_eq!(verify_consistency(5, 8, &r5, &r8, &p), Ok(()));
        assert!(verify_consistency(5, 8, &r5, &r8, &[]).is_err());
    }

    #[test]
    fn proof_lengths_never_overflow() {
        // Huge values: the length formulas must not shift by 64 or underflow.
        assert_eq!(inclusion_proof_len(0, u64::MAX), 64);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(inclusion_proof_len(1 << 63, u64::MAX), 64);
        let _ = consistency_proof_len(1, u64::MAX);
        let _ = consistency_proof_len(u64::MAX - 1, u64::MAX);
        let _ = consistency_proof_len(1 << 63, u64::MAX);
        let h = empty_root();
        assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &[h; 3]).is_err());
        assert!(verify_inclusion(u64::MAX - 1, u64::MAX, &h, &[h; 63], &h).is_err());
    }

    #[test]
    fn frontier_matches_memory_tree() {
        let mut tree = MemoryTree::new();
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        for i in 0u32..600 {
            let leaf = leaf_hash(&i.to_be_bytes());
            tree.append(leaf);
            f.append(leaf);
            assert_eq!(f.root(), tree.root(), "size {}", i + 1);
            assert_eq!(f.size(), u64::from(i) + 1);
            // Starting from the tree's subtrees gives the same frontier.
            assert_eq!(Frontier::of(f.size(), &mut tree.clone()).unwrap(), f);
        }
    }
}

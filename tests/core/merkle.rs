//! Property tests of `core::merkle` and `core::tile` against an independent brute-force RFC 6962
//! reference (MTH, PATH, PROOF/SUBPROOF of RFC 6962 §2.1, written straight from the RFC text and
//! hashing with `sha2` directly, not through the code under test).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sha2::Digest as _;

use rget::core::digest::Hash;
use rget::core::merkle::{
    HashSource, MemoryTree, MerkleError, consistency_proof, empty_root, inclusion_proof,
    root_from_inclusion, tree_hash, verify_consistency, verify_inclusion,
};
use rget::core::tile::{
    MemoryTiles, Tile, TileError, TileHashSource, TileLevel, TileReader, decode_bundle,
    decode_hash_tile, encode_bundle, tiles_for_size, tiles_to_publish,
};

// ---------------------------------------------------------------------------------------------
// The reference: RFC 6962 §2.1, recursive, over the entries themselves. Memoized by absolute range
// so that all (m, n) pairs up to 300 and proofs in a 100,000-leaf tree stay affordable; the memo
// does not change what is computed.

type H = [u8; 32];

fn sha(parts: &[&[u8]]) -> H {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Largest power of two strictly less than n (n > 1), by counting up as the RFC defines k.
fn rfc_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

struct Reference {
    entries: Vec<Vec<u8>>,
    memo: HashMap<(usize, usize), H>,
}

impl Reference {
    fn new(n: usize) -> Self {
        Reference {
            entries: (0..n).map(entry).collect(),
            memo: HashMap::new(),
        }
    }

    /// MTH(D[lo:hi]).
    fn mth(&mut self, lo: usize, hi: usize) -> H {
        if let Some(h) = self.memo.get(&(lo, hi)) {
            return *h;
        }
        let n = hi - lo;
        let h = match n {
            0 => sha(&[]),
            1 => sha(&[&[0u8], &self.entries[lo]]),
            _ => {
                let k = rfc_k(n);
                let l = self.mth(lo, lo + k);
                let r = self.mth(lo + k, hi);
                sha(&[&[1u8], &l, &r])
            }
        };
        self.memo.insert((lo, hi), h);
        h
    }

    /// PATH(m, D[lo:hi]), m relative to lo.
    fn path(&mut self, m: usize, lo: usize, hi: usize) -> Vec<H> {
        let n = hi - lo;
        if n == 1 {
            return vec![];
        }
        let k = rfc_k(n);
        if m < k {
            let mut p = self.path(m, lo, lo + k);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.path(m - k, lo + k, hi);
            p.push(self.mth(lo, lo + k));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m < n.
    fn proof(&mut self, m: usize, n: usize) -> Vec<H> {
        self.subproof(m, 0, n, true)
    }

    fn subproof(&mut self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<H> {
        let n = hi - lo;
        if m == n {
            return if b { vec![] } else { vec![self.mth(lo, hi)] };
        }
        let k = rfc_k(n);
        if m <= k {
            let mut p = self.subproof(m, lo, lo + k, b);
            p.push(self.mth(lo + k, hi));
            p
        } else {
            let mut p = self.subproof(m - k, lo + k, hi, false);
            p.push(self.mth(lo, lo + k));
            p
        }
    }
}

/// Entry i: varied lengths, entry 0 empty.
fn entry(i: usize) -> Vec<u8> {
    if i == 0 {
        return vec![];
    }
    let mut e = format!("entry {i}").into_bytes();
    e.resize(e.len() + i % 5, b'.');
    e
}

fn hs(v: &[Hash]) -> Vec<H> {
    v.iter().map(|h| h.0).collect()
}

/// The code under test's tree over the same entries.
fn memory_tree(n: usize) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..n).map(|i| rget::core::merkle::leaf_hash(&entry(i))))
}

/// A read-only view of a tree that fails (instead of answering) when asked for a subtree that is not
/// complete within `size`: proof generation must never need one.
struct Bounded<'a> {
    tree: &'a MemoryTree,
    size: u64,
}

impl HashSource for Bounded<'_> {
    fn subtree(&mut self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        let end = (index + 1)
            .checked_mul(1u64 << level)
            .expect("subtree end overflows");
        assert!(
            end <= self.size,
            "asked for incomplete subtree level {level} index {index} in a tree of {}",
            self.size
        );
        self.tree.subtree_hash(level, index)
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

fn publish_all(tree: &MemoryTree, size: u64) -> MemoryTiles {
    let mut tiles = MemoryTiles::new();
    let mut src = Bounded { tree, size };
    for (tile, bytes) in tiles_to_publish(0, size, &mut src).unwrap() {
        tiles.insert(&tile, bytes);
    }
    tiles
}

// ---------------------------------------------------------------------------------------------
// Exhaustive: every size 0..=300, every inclusion and consistency proof.

#[test]
fn exhaustive_small_trees_match_rfc6962() {
    const N: usize = 300;
    let mut reference = Reference::new(N);
    let tree = memory_tree(N);
    let roots: Vec<Hash> = (0..=N as u64)
        .map(|n| {
            tree_hash(
                n,
                &mut Bounded {
                    tree: &tree,
                    size: n,
                },
            )
            .unwrap()
        })
        .collect();
    let mut checked = 0usize;
    for n in 0..=N {
        let size = n as u64;
        let root = roots[n];
        assert_eq!(root.0, reference.mth(0, n), "root of size {n}");
        if n == 0 {
            assert_eq!(root, empty_root());
        }
        let mut src = Bounded { tree: &tree, size };
        for i in 0..n {
            let proof = inclusion_proof(i as u64, size, &mut src).unwrap();
            assert_eq!(hs(&proof), reference.path(i, 0, n), "PATH({i}, D[{n}])");
            let leaf = tree.subtree_hash(0, i as u64).unwrap();
            assert_eq!(root_from_inclusion(i as u64, size, &leaf, &proof), Ok(root));
            verify_inclusion(i as u64, size, &leaf, &proof, &root).unwrap();
            checked += 1;
        }
        for (m, old_root) in roots.iter().enumerate().take(n + 1) {
            let proof = consistency_proof(m as u64, size, &mut src).unwrap();
            let want = if m == 0 || m == n {
                vec![]
            } else {
                reference.proof(m, n)
            };
            assert_eq!(hs(&proof), want, "PROOF({m}, D[{n}])");
            verify_consistency(m as u64, size, old_root, &root, &proof).unwrap();
            checked += 1;
        }
    }
    assert_eq!(checked, N * (N + 1) / 2 + (N + 1) * (N + 2) / 2);
}

// ---------------------------------------------------------------------------------------------
// Random large trees: memory and tiles agree with each other and with the reference.

#[test]
fn random_large_trees_memory_and_tiles_agree() {
    const N: usize = 100_000;
    let tree = memory_tree(N);
    let reference = RefCell::new(Reference::new(N));
    let strategy = (1..=N as u64, any::<u64>(), any::<u64>());
    runner(32)
        .run(&strategy, |(size, a, b)| {
            let index = a % size;
            let old = b % (size + 1);
            let n = size as usize;
            let mut reference = reference.borrow_mut();
            let mut mem = Bounded { tree: &tree, size };
            let mut tiles = TileHashSource::new(publish_all(&tree, size), size);

            let root = tree_hash(size, &mut mem).unwrap();
            prop_assert_eq!(root.0, reference.mth(0, n));
            prop_assert_eq!(tree_hash(size, &mut tiles).unwrap(), root);
            let old_root = tree_hash(old, &mut mem).unwrap();
            prop_assert_eq!(old_root.0, reference.mth(0, old as usize));
            prop_assert_eq!(tree_hash(old, &mut tiles).unwrap(), old_root);

            let p_mem = inclusion_proof(index, size, &mut mem).unwrap();
            let p_tiles = inclusion_proof(index, size, &mut tiles).unwrap();
            prop_assert_eq!(&p_mem, &p_tiles);
            prop_assert_eq!(hs(&p_mem), reference.path(index as usize, 0, n));
            let leaf = tree.subtree_hash(0, index).unwrap();
            prop_assert_eq!(
                verify_inclusion(index, size, &leaf, &p_tiles, &root),
                Ok(())
            );

            let c_mem = consistency_proof(old, size, &mut mem).unwrap();
            let c_tiles = consistency_proof(old, size, &mut tiles).unwrap();
            prop_assert_eq!(&c_mem, &c_tiles);
            if old > 0 && old < size {
                prop_assert_eq!(hs(&c_mem), reference.proof(old as usize, n));
            } else {
                prop_assert!(c_mem.is_empty());
            }
            prop_assert_eq!(
                verify_consistency(old, size, &old_root, &root, &c_tiles),
                Ok(())
            );
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Mutations: every change to a proof or to what it is checked against is caught.

/// The root of every size from 0 to `n` of `tree`.
fn roots_up_to(tree: &MemoryTree, n: u64) -> Vec<Hash> {
    (0..=n)
        .map(|size| tree_hash(size, &mut Bounded { tree, size }).unwrap())
        .collect()
}

/// `h` with bit `bit` (0 to 255) flipped.
fn flipped(mut h: Hash, bit: usize) -> Hash {
    h.0[bit / 8] ^= 1 << (bit % 8);
    h
}

/// `verify` refuses `proof` with any one bit flipped, any one hash dropped (as a wrong length, which
/// `is_length_error` recognizes) and `other` inserted at any position.
fn assert_proof_edits_fail(
    proof: &[Hash],
    other: Hash,
    verify: impl Fn(&[Hash]) -> Result<(), MerkleError>,
    is_length_error: impl Fn(&MerkleError) -> bool,
) {
    for pos in 0..proof.len() {
        for bit in 0..256 {
            let mut bad = proof.to_vec();
            bad[pos] = flipped(bad[pos], bit);
            assert!(verify(&bad).is_err());
        }
        let mut dropped = proof.to_vec();
        dropped.remove(pos);
        assert!(verify(&dropped).is_err_and(|e| is_length_error(&e)));
    }
    for pos in 0..=proof.len() {
        let mut added = proof.to_vec();
        added.insert(pos, other);
        assert!(verify(&added).is_err());
    }
}

/// What the mutation tests start from: a tree of `n` leaves, the root of each of its sizes, and a
/// hash that is in none of them.
fn mutation_world(n: u64) -> (MemoryTree, Vec<Hash>, Hash) {
    let tree = memory_tree(n as usize);
    let roots = roots_up_to(&tree, n);
    (
        tree,
        roots,
        rget::core::merkle::leaf_hash(b"not in the tree"),
    )
}

/// Every bit flip, dropped hash, added hash, other index, and other (size, root) fails.
#[test]
fn inclusion_mutations_fail() {
    const N: u64 = 24;
    let (tree, roots, other) = mutation_world(N);
    for size in 1..=N {
        let root = roots[size as usize];
        for index in 0..size {
            let leaf = tree.subtree_hash(0, index).unwrap();
            let proof = inclusion_proof(index, size, &mut Bounded { tree: &tree, size }).unwrap();
            assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
            assert_proof_edits_fail(
                &proof,
                other,
                |p| verify_inclusion(index, size, &leaf, p, &root),
                |e| matches!(e, MerkleError::InclusionProofLength { .. }),
            );
            for bit in 0..256 {
                assert!(verify_inclusion(index, size, &leaf, &proof, &flipped(root, bit)).is_err());
                assert!(verify_inclusion(index, size, &flipped(leaf, bit), &proof, &root).is_err());
            }
            for other_index in (0..size + 2).filter(|j| *j != index) {
                assert!(verify_inclusion(other_index, size, &leaf, &proof, &root).is_err());
            }
            for other_size in (0..=N + 2).filter(|s| *s != size) {
                // A size goes with its own root (the signed checkpoint binds the two).
                let other_root = roots.get(other_size as usize).copied().unwrap_or(other);
                assert!(
                    verify_inclusion(index, other_size, &leaf, &proof, &other_root).is_err(),
                    "index {index} size {size} accepted as size {other_size}"
                );
            }
        }
    }
}

#[test]
fn consistency_mutations_fail() {
    const N: u64 = 24;
    let (tree, roots, other) = mutation_world(N);
    for new in 1..=N {
        for old in 1..new {
            let (r_old, r_new) = (roots[old as usize], roots[new as usize]);
            let proof = consistency_proof(
                old,
                new,
                &mut Bounded {
                    tree: &tree,
                    size: new,
                },
            )
            .unwrap();
            assert!(verify_consistency(old, new, &r_old, &r_new, &proof).is_ok());
            assert_proof_edits_fail(
                &proof,
                other,
                |p| verify_consistency(old, new, &r_old, &r_new, p),
                |e| matches!(e, MerkleError::ConsistencyProofLength { .. }),
            );
            for bit in 0..256 {
                assert!(
                    verify_consistency(old, new, &flipped(r_old, bit), &r_new, &proof).is_err()
                );
                assert!(
                    verify_consistency(old, new, &r_old, &flipped(r_new, bit), &proof).is_err()
                );
            }
            // Other sizes, each with its own true root.
            for o in (0..=N + 1).filter(|o| *o != old) {
                let ro = roots.get(o as usize).copied().unwrap_or(other);
                assert!(
                    verify_consistency(o, new, &ro, &r_new, &proof).is_err(),
                    "{old}->{new} accepted as {o}->{new}"
                );
            }
            for n in (0..=N + 1).filter(|n| *n != new) {
                let rn = roots.get(n as usize).copied().unwrap_or(other);
                assert!(
                    verify_consistency(old, n, &r_old, &rn, &proof).is_err(),
                    "{old}->{new} accepted as {old}->{n}"
                );
            }
            // Swapped roots.
            assert!(verify_consistency(old, new, &r_new, &r_old, &proof).is_err());
        }
    }
}

/// Random single-bit flips in larger trees.
#[test]
fn random_bit_flips_fail() {
    const N: u64 = 5_000;
    let tree = memory_tree(N as usize);
    let strategy = (
        2..=N,
        any::<u64>(),
        any::<u64>(),
        any::<usize>(),
        0..256usize,
    );
    runner(256)
        .run(&strategy, |(size, a, b, pos, bit)| {
            let mut src = Bounded { tree: &tree, size };
            let root = tree_hash(size, &mut src).unwrap();
            let index = a % size;
            let leaf = tree.subtree_hash(0, index).unwrap();
            let mut proof = inclusion_proof(index, size, &mut src).unwrap();
            let p = pos % proof.len();
            proof[p] = flipped(proof[p], bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_err());

            let old = 1 + b % (size - 1);
            let old_root = tree_hash(old, &mut src).unwrap();
            let mut proof = consistency_proof(old, size, &mut src).unwrap();
            let p = pos % proof.len();
            proof[p] = flipped(proof[p], bit);
            prop_assert!(verify_consistency(old, size, &old_root, &root, &proof).is_err());
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Tiles.

/// Records which tiles are read.
struct Recording {
    tiles: MemoryTiles,
    reads: Vec<Tile>,
}

impl TileReader for Recording {
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        self.reads.push(*tile);
        self.tiles.read_tile(tile)
    }
}

#[test]
fn tile_boundaries() {
    const N: usize = 65_536 + 3;
    let tree = memory_tree(N);
    let mut reference = Reference::new(N);
    for size in [1u64, 255, 256, 257, 511, 512, 65_535, 65_536, 65_536 + 3] {
        let tiles = publish_all(&tree, size);
        // The right edge the spec describes is among the published tiles.
        for t in tiles_for_size(size) {
            if t.level != TileLevel::Entries {
                assert!(tiles.get(&t).is_some(), "size {size}: missing {}", t.path());
            }
        }
        let mut src = TileHashSource::new(
            Recording {
                tiles,
                reads: vec![],
            },
            size,
        );
        let mut mem = Bounded { tree: &tree, size };
        let root = tree_hash(size, &mut src).unwrap();
        assert_eq!(root.0, reference.mth(0, size as usize), "root of {size}");
        let interesting = [0u64, 1, 254, 255, 256, 257, 511, 512, 65_535, 65_536];
        for index in interesting
            .iter()
            .copied()
            .chain([size - 1])
            .filter(|i| *i < size)
        {
            let p = inclusion_proof(index, size, &mut src).unwrap();
            assert_eq!(p, inclusion_proof(index, size, &mut mem).unwrap());
            let leaf = tree.subtree_hash(0, index).unwrap();
            assert_eq!(verify_inclusion(index, size, &leaf, &p, &root), Ok(()));
        }
        for old in interesting
            .iter()
            .copied()
            .chain([size - 1])
            .filter(|o| *o <= size)
        {
            let p = consistency_proof(old, size, &mut src).unwrap();
            assert_eq!(p, consistency_proof(old, size, &mut mem).unwrap());
            let old_root = tree_hash(old, &mut mem).unwrap();
            assert_eq!(verify_consistency(old, size, &old_root, &root, &p), Ok(()));
        }
        // Only tiles the size implies were read: full ones, and partial ones of exactly the width
        // this size gives.
        let reads = src.into_inner().reads;
        // The cache means no tile is fetched twice for all these proofs.
        let mut distinct = reads.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            reads.len(),
            "size {size}: a tile was refetched"
        );
        for t in &reads {
            let TileLevel::Hash(l) = t.level else {
                panic!("read an entry bundle")
            };
            let count = size >> (8 * u32::from(l));
            if !t.is_full() {
                assert_eq!(t.index, count / 256, "partial {} for size {size}", t.path());
                assert_eq!(u64::from(t.width), count % 256);
            } else {
                assert!((t.index + 1) * 256 <= count, "{} for size {size}", t.path());
            }
        }
    }
}

/// Wrong tile contents can make a proof fail, never make it pass against the signed root.
#[test]
fn tampered_tile_fails_verification() {
    let size = 70_000u64;
    let index = 12_345u64;
    let tree = memory_tree(size as usize);
    let root = tree.root();
    let leaf = tree.subtree_hash(0, index).unwrap();
    let honest_tiles = publish_all(&tree, size);
    let mut src = TileHashSource::new(
        Recording {
            tiles: honest_tiles.clone(),
            reads: vec![],
        },
        size,
    );
    let honest = inclusion_proof(index, size, &mut src).unwrap();
    let used = src.into_inner().reads;
    assert!(!used.is_empty());
    for tile in used {
        let bytes = honest_tiles.get(&tile).unwrap().to_vec();
        let mut caught = 0;
        for slot in 0..usize::from(tile.width) {
            let mut tiles = honest_tiles.clone();
            let mut bad = bytes.clone();
            bad[slot * 32 + slot % 32] ^= 0x80;
            tiles.insert(&tile, bad);
            let mut src = TileHashSource::new(tiles, size);
            let proof = inclusion_proof(index, size, &mut src).unwrap();
            if proof == honest {
                continue; // this slot is not on the proof's path
            }
            assert!(
                verify_inclusion(index, size, &leaf, &proof, &root).is_err(),
                "tampered {} slot {slot} passed",
                tile.path()
            );
            caught += 1;
        }
        assert!(caught > 0, "no slot of {} mattered", tile.path());
        // A truncated tile is rejected outright.
        let mut tiles = honest_tiles.clone();
        tiles.insert(&tile, bytes[..bytes.len() - 1].to_vec());
        let mut src = TileHashSource::new(tiles, size);
        assert!(matches!(
            inclusion_proof(index, size, &mut src),
            Err(MerkleError::Source(TileError::HashTileLength { .. }))
        ));
    }
}

#[test]
fn tiles_to_publish_in_uneven_steps_matches_building_at_once() {
    const N: usize = 70_000;
    let tree = memory_tree(N);
    let strategy = proptest::collection::vec(1..=3_000u64, 1..40);
    runner(12)
        .run(&strategy, |steps| {
            let mut published: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            let mut size = 0u64;
            for step in steps.iter().copied().chain([N as u64]) {
                let new = (size + step).min(N as u64);
                let mut src = Bounded {
                    tree: &tree,
                    size: new,
                };
                for (tile, bytes) in tiles_to_publish(size, new, &mut src).unwrap() {
                    // Tile paths are immutable: none is ever published twice.
                    prop_assert!(
                        published.insert(tile.path(), bytes).is_none(),
                        "{} published twice",
                        tile.path()
                    );
                }
                size = new;
            }
            let mut at_once = BTreeMap::new();
            let mut src = Bounded {
                tree: &tree,
                size: N as u64,
            };
            for (tile, bytes) in tiles_to_publish(0, N as u64, &mut src).unwrap() {
                at_once.insert(tile.path(), bytes);
            }
            // Every tile of the final tree was published with the same bytes...
            for (path, bytes) in &at_once {
                prop_assert_eq!(published.get(path), Some(bytes), "{}", path);
            }
            // ...and every other published tile is an older partial tile: a prefix of its
            // successor at the same position.
            for (path, bytes) in &published {
                if at_once.contains_key(path) {
                    continue;
                }
                let t = Tile::parse_path(path).unwrap();
                prop_assert!(!t.is_full());
                let final_tile = at_once
                    .iter()
                    .map(|(p, b)| (Tile::parse_path(p).unwrap(), b))
                    .find(|(f, _)| f.level == t.level && f.index == t.index);
                let (f, fb) = final_tile.expect("no final tile at this position");
                prop_assert!(f.width > t.width);
                prop_assert!(fb.starts_with(bytes));
            }
            Ok(())
        })
        .unwrap();
}

/// Growing from old to new publishes exactly the tiles whose contents differ between the two sizes.
#[test]
fn tiles_to_publish_covers_exactly_the_changed_tiles() {
    let tree = memory_tree(2_000);
    for (old, new) in [
        (0u64, 1u64),
        (1, 2),
        (255, 256),
        (256, 257),
        (300, 1_900),
        (512, 512),
    ] {
        let mut src = Bounded {
            tree: &tree,
            size: new,
        };
        let got: Vec<String> = tiles_to_publish(old, new, &mut src)
            .unwrap()
            .iter()
            .map(|(t, _)| t.path())
            .collect();
        // Independently: level-0 tiles from the one containing leaf `old` to the one containing
        // leaf `new - 1`; level-1 tiles whenever the number of complete 256-leaf subtrees grew.
        let mut want = Vec::new();
        if new > old {
            for n in old / 256..=(new - 1) / 256 {
                let w = (new - n * 256).min(256);
                want.push(if w == 256 {
                    format!("tile/0/{n:03}")
                } else {
                    format!("tile/0/{n:03}.p/{w}")
                });
            }
        }
        if new / 256 > old / 256 {
            want.push(format!("tile/1/000.p/{}", new / 256));
        }
        assert_eq!(got, want, "{old} -> {new}");
    }
    let mut src = Bounded {
        tree: &tree,
        size: 10,
    };
    assert_eq!(
        tiles_to_publish(11, 10, &mut src),
        Err(MerkleError::OldLargerThanNew { old: 11, new: 10 })
    );
}

fn any_tile() -> impl Strategy<Value = Tile> {
    let level = prop_oneof![
        (0u8..=63).prop_map(TileLevel::Hash),
        Just(TileLevel::Entries)
    ];
    let index = prop_oneof![any::<u64>(), 0u64..2_000_000];
    (level, index, 1u16..=256).prop_map(|(level, index, width)| Tile {
        level,
        index,
        width,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn tile_paths_round_trip(t in any_tile()) {
        let p = t.path();
        prop_assert_eq!(Tile::parse_path(&p), Ok(t));
        prop_assert_eq!(Tile::new(t.level, t.index, t.width), Ok(t));
    }

    /// Fuzz-style: whatever the parser accepts, it accepts in its one canonical spelling. Two
    /// generators: near-valid shapes, and canonical paths with one byte edited.
    #[test]
    fn tile_parser_accepts_only_canonical_spellings(
        s in prop_oneof![
            "tile/(entries|[0-9]{1,3})(/x?[0-9]{2,4}){1,8}(\\.p/[0-9]{1,4})?/?",
            "tile/(entries|[0-9]{1,2})(/x[0-9]{3}){0,3}/[0-9]{3}(\\.p/[0-9]{1,3})?",
        ],
        t in any_tile(),
        edit in (any::<usize>(), 0u8..3, proptest::sample::select(b"0123456789x./pe".to_vec())),
    ) {
        if let Ok(t) = Tile::parse_path(&s) {
            prop_assert_eq!(t.path(), s);
        }
        let mut p = t.path().into_bytes();
        let (at, op, c) = edit;
        let at = at % p.len();
        match op {
            0 => { p.remove(at); }
            1 => p.insert(at, c),
            _ => p[at] = c,
        }
        let p = String::from_utf8(p).unwrap();
        if let Ok(u) = Tile::parse_path(&p) {
            prop_assert_eq!(u.path(), p);
        }
    }

    #[test]
    fn bundles_round_trip_and_reject_truncation(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..40),
        extra in any::<u8>(),
    ) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bytes = encode_bundle(&refs).unwrap();
        let n = refs.len() as u16;
        prop_assert_eq!(decode_bundle(&bytes, n).unwrap(), refs);
        for cut in 0..bytes.len() {
            prop_assert!(decode_bundle(&bytes[..cut], n).is_err(), "accepted a cut at {}", cut);
        }
        let mut longer = bytes.clone();
        longer.push(extra);
        prop_assert!(decode_bundle(&longer, n).is_err());
        prop_assert!(decode_bundle(&bytes, n + 1).is_err());
        if n > 1 {
            prop_assert!(decode_bundle(&bytes, n - 1).is_err());
        }
    }

    #[test]
    fn hash_tiles_have_exact_lengths(width in 1u16..=256, delta in -40i64..40) {
        let bytes = vec![0xabu8; (i64::from(width) * 32 + delta).max(0) as usize];
        let r = decode_hash_tile(&bytes, width);
        prop_assert_eq!(r.is_ok(), delta == 0);
    }
}

#[test]
fn tile_parser_rejects_malformed_spellings() {
    for p in [
        "tile/00/000",      // leading zero in level
        "tile/064/000",     // leading zero and too high
        "tile/64/000",      // level above 63
        "tile/0/000.p/256", // a full tile is not partial
        "tile/0/000.p/0",   // empty tiles do not exist
        "tile/0/000.p/007", // leading zeros in width
        "tile/0/01",        // short group
        "tile/0/0001",      // long group
        "tile/0/x001/01",   // short last group
        "tile/0/x001/x002", // x on the last group
        "tile/0/001/002",   // missing x
        "tile/0/x000/001",  // leading all-zero group
        "tile/0/x18446744073709551615",
        "tile/0/x018/x446/x744/x073/x709/x551/616", // u64::MAX + 1
        "tile/0/x999/x999/x999/x999/x999/x999/999", // overflow
        "tile/0/000/",                              // trailing slash
        "tile/0/000.p/5/",                          // trailing slash
        "tile/0/000/000",                           // extra segment
        "tile/entries/000.p/5/6",
        "tile/0/000.P/5",
        "tile/entries",
        "tile/entries/",
        "tile/data/000",
        "tile/8/0/000", // Go sumdb spelling with the height in the path
        "./tile/0/000",
        "tile/0/../000",
    ] {
        assert!(
            matches!(Tile::parse_path(p), Err(TileError::BadPath { .. })),
            "accepted {p:?}"
        );
    }
    assert_eq!(
        Tile::parse_path("tile/0/x001/x234/067").unwrap(),
        Tile {
            level: TileLevel::Hash(0),
            index: 1_234_067,
            width: 256
        }
    );
}

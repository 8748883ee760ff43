#![no_main]
//! Entry bundles and hash tiles: decoding never panics; what decodes re-encodes to the same bytes; and
//! a bundle's entries, hashed into a tree by rget's Merkle code, give the level-0 hash tile that
//! decodes back to the entries' leaf hashes computed with `ring`.
//! Input: one byte (width − 1, so 1..=256), then the tile bytes.
use libfuzzer_sys::fuzz_target;
use rget_core::merkle::{self, MemoryTree};
use rget_core::tile::{
    TileLevel, decode_bundle, decode_hash_tile, encode_bundle, encode_hash_tile, tiles_to_publish,
};

fuzz_target!(|data: &[u8]| {
    let Some((&w, rest)) = data.split_first() else {
        return;
    };
    let width = u16::from(w) + 1;
    if let Ok(entries) = decode_bundle(rest, width) {
        assert_eq!(entries.len(), usize::from(width));
        assert_eq!(encode_bundle(&entries).unwrap(), rest);
        let leaves: Vec<_> = entries.iter().map(|e| rget_fuzz::leaf_hash(e)).collect();
        for (e, l) in entries.iter().zip(&leaves) {
            assert_eq!(
                merkle::leaf_hash(e),
                *l,
                "rget and ring disagree on a leaf hash"
            );
        }
        let mut tree = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let tiles = tiles_to_publish(0, u64::from(width), &mut tree).unwrap();
        let (tile, bytes) = &tiles[0];
        assert_eq!(
            (tile.level, tile.index, tile.width),
            (TileLevel::Hash(0), 0, width)
        );
        assert_eq!(decode_hash_tile(bytes, width).unwrap(), leaves);
    }
    if let Ok(hashes) = decode_hash_tile(rest, width) {
        assert_eq!(hashes.len(), usize::from(width));
        assert_eq!(encode_hash_tile(&hashes), rest);
    }
});

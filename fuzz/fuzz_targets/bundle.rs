#![no_main]
//! Entry bundles and hash tiles: decoding never panics; what decodes re-encodes to the same bytes.
use libfuzzer_sys::fuzz_target;
use rget_core::tile::{decode_bundle, decode_hash_tile, encode_bundle, encode_hash_tile};

fuzz_target!(|data: &[u8]| {
    let Some((&w, rest)) = data.split_first() else { return };
    let expected = u16::from(w).max(1);
    if let Ok(entries) = decode_bundle(rest, expected) {
        assert_eq!(entries.len(), expected as usize);
        assert_eq!(encode_bundle(&entries).unwrap(), rest);
    }
    if let Ok(hashes) = decode_hash_tile(rest, expected) {
        assert_eq!(encode_hash_tile(&hashes), rest);
    }
});

#![no_main]
//! Tile path parsing: never panics; one spelling per tile (whatever parses formats back identically).
use libfuzzer_sys::fuzz_target;
use rget_core::tile::Tile;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(t) = Tile::parse_path(s) {
            assert_eq!(t.path(), s);
        }
    }
});

#![no_main]
//! Tile path parsing: never panics; one spelling per tile (whatever parses formats back identically),
//! and what parses is a tile `Tile::new` accepts with the same fields.
use libfuzzer_sys::fuzz_target;
use rget_core::tile::Tile;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(t) = Tile::parse_path(s) else { return };
    assert_eq!(t.path(), s);
    assert_eq!(Tile::new(t.level, t.index, t.width), Ok(t));
});

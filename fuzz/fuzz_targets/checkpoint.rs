#![no_main]
//! Checkpoint parsing: never panics; whatever parses formats back to the same text.
use libfuzzer_sys::fuzz_target;
use rget_core::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(s) {
            assert_eq!(c.format(), s);
        }
    }
});

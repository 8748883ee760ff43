#![no_main]
//! SHA256SUMS parsing: never panics; whatever parses is written back by our writer and re-parses to
//! the same entries (the writer never emits something the parser refuses).
use libfuzzer_sys::fuzz_target;
use rget_core::sums;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sums::parse(data) {
        let text = sums::format(s.entries()).expect("parsed entries can be written");
        let again = sums::parse(text.as_bytes()).expect("written entries parse");
        assert_eq!(again.entries(), s.entries());
    }
});

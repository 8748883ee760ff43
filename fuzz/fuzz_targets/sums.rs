#![no_main]
//! SHA256SUMS parsing: never panics; whatever parses is written back by our writer and re-parses to
//! the same entries (the writer never emits something the parser refuses), writing is a fixed point
//! (the written text parses and writes back to itself), every name is one a verifier may look up, and
//! every entry is found by name with its digest.
use libfuzzer_sys::fuzz_target;
use rget_core::sums;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = sums::parse(data) else { return };
    let text = sums::format(s.entries()).expect("parsed entries can be written");
    let again = sums::parse(text.as_bytes()).expect("written entries parse");
    assert_eq!(again.entries(), s.entries());
    assert_eq!(sums::format(again.entries()).unwrap(), text);
    for e in s.entries() {
        assert!(sums::check_name(&e.name).is_ok());
        assert_eq!(s.get(&e.name), Some(&e.digest));
    }
});

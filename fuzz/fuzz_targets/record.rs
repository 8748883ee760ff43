#![no_main]
//! Record parsing: never panics; whatever parses re-builds to the same bytes.
use libfuzzer_sys::fuzz_target;
use rget_core::record;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = record::parse(data) {
        let rebuilt = record::build(r.url, r.sums).expect("a parsed record rebuilds");
        assert_eq!(rebuilt, data);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(u) = record::canonical_url(s) {
            assert_eq!(record::canonical_url(&u).as_deref(), Ok(u.as_str()), "canonical form is a fixed point");
        }
    }
});

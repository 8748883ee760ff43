#![no_main]
//! tlog-proof parsing: never panics; whatever parses formats back to the same bytes.
use libfuzzer_sys::fuzz_target;
use rget_core::tlog_proof::TlogProof;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TlogProof::parse(data) {
        assert_eq!(p.to_bytes(), data);
    }
});

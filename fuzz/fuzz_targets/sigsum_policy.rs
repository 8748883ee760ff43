#![no_main]
//! Sigsum policy parsing (hex keys rewritten into the core's tlog-policy parser): never panics,
//! never loops; every log of a parsed Sigsum policy is named by its Sigsum checkpoint origin.
use libfuzzer_sys::fuzz_target;
use rget_core::sigsum::{ORIGIN_PREFIX, policy};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = policy::parse(s) {
        assert!(p.logs.iter().all(|l| l.vkey.name.starts_with(ORIGIN_PREFIX)));
        let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
        let _ = p.quorum_met(&names);
        let _ = p.quorum_met(&[]);
        let _ = p.describe_quorum();
    }
    let _ = policy::parse_any(s);
});

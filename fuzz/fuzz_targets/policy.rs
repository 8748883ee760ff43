#![no_main]
//! tlog-policy parsing and quorum evaluation: never panics, never loops.
use libfuzzer_sys::fuzz_target;
use rget_core::policy::Policy;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = Policy::parse(s) {
            let names: Vec<&str> = p.witnesses.iter().map(|w| w.name.as_str()).collect();
            // Every witness cosigning satisfies any policy whose groups can be satisfied at all;
            // evaluating it must simply terminate without panicking.
            let _ = p.quorum_met(&names);
            let _ = p.quorum_met(&[]);
            let _ = p.describe_quorum();
        }
    }
});

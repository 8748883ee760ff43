#![no_main]
//! The witness network's log lists (`logs/v0`), fetched by a witness from someone else's server:
//! 1. round trip: a parsed list written back re-parses to the same logs (key, origin, budget,
//!    contact), and writing is a fixed point;
//! 2. what the parser promises: every key is an Ed25519 note key, every budget in [1, 2^31), every
//!    origin listed once and a valid checkpoint origin, no control character in any value.
use libfuzzer_sys::fuzz_target;
use rget_core::checkpoint::Checkpoint;
use rget_core::digest::Hash;
use rget_core::log_list::{self, LogList};
use rget_core::note::ALG_ED25519;
use std::collections::HashSet;

fn values(l: &LogList) -> Vec<(String, String, u32, String)> {
    l.logs
        .iter()
        .map(|e| {
            (
                e.vkey.to_string(),
                e.origin.clone(),
                e.qpd,
                e.contact.clone(),
            )
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(list) = log_list::parse(data) else {
        return;
    };
    let text = list.to_string();
    let again = log_list::parse(text.as_bytes()).expect("a written list parses");
    assert_eq!(values(&again), values(&list), "written back as:\n{text}");
    assert_eq!(again.to_string(), text);
    let mut origins = HashSet::new();
    for e in &list.logs {
        assert_eq!(e.vkey.alg, ALG_ED25519);
        assert!(e.qpd >= 1 && u64::from(e.qpd) < 1 << 31);
        assert!(origins.insert(e.origin.clone()), "{} twice", e.origin);
        for v in [&e.origin, &e.contact] {
            assert!(!v.chars().any(|c| c.is_control() && c != '\t'), "{v:?}");
        }
        // Every listed origin can head a checkpoint (what the witness will parse).
        let cp = Checkpoint {
            origin: e.origin.clone(),
            size: 1,
            root: Hash([0; 32]),
            extensions: Vec::new(),
        };
        assert!(Checkpoint::parse(&cp.format()).is_ok(), "{:?}", e.origin);
    }
});

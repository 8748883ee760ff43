#![no_main]
//! Cosignature handling: the fuzzer supplies a signed note; opening it with a cosigner (0x04) key and
//! a log key must never panic, and the timestamp reader must never panic on any signature bytes.
use libfuzzer_sys::fuzz_target;
use rget_core::{cosignature, ed25519::Seed, note};
use std::sync::OnceLock;

fn keys() -> &'static Vec<note::VerifierKey> {
    static K: OnceLock<Vec<note::VerifierKey>> = OnceLock::new();
    K.get_or_init(|| {
        let w = note::SignerKey::from_seed("w.example", Seed([4; 32])).unwrap();
        let l = note::SignerKey::from_seed("log.example", Seed([1; 32])).unwrap();
        vec![l.verifier_key(), cosignature::verifier_key(&w)]
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = cosignature::timestamp(data);
    let _ = note::open(data, keys());
});

#![no_main]
//! Checkpoint parsing: never panics; whatever parses formats back to the same text. And what was
//! signed verifies: a parsed checkpoint signed by a log key named after its origin is accepted by a
//! policy trusting that key (and parses to the same checkpoint there); with one bit of the signature
//! flipped it is refused.
use libfuzzer_sys::fuzz_target;
use rget_core::checkpoint::Checkpoint;
use rget_core::note::{self, SignerKey, valid_key_name};
use rget_core::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = Checkpoint::parse(s) else { return };
    assert_eq!(c.format(), s);
    if !valid_key_name(&c.origin) {
        return;
    }
    let key = SignerKey::from_seed(&c.origin, rget_fuzz::seed(1)).unwrap();
    assert!(c.origin_matches_key(&key.verifier_key()));
    let policy = match Policy::parse(&format!("log {}\nquorum none\n", key.verifier_key())) {
        Ok(p) => p,
        // tlog-policy refuses DEL and lines over 8 KiB, which a key name may hold; nothing else.
        Err(e) => {
            assert!(c.origin.contains('\x7f') || c.origin.len() > 8000, "{e}");
            return;
        }
    };
    let signed = note::sign(s, &[&key]).unwrap();
    let v = policy
        .verify_checkpoint(&signed)
        .expect("a checkpoint signed by its log verifies");
    assert_eq!(v.checkpoint, c);
    let mut bad = signed.clone();
    let at = bad.len() - 2 - rget_fuzz::pick(data, 40); // inside the base64 of the signature line
    bad[at] ^= 1;
    assert!(
        policy.verify_checkpoint(&bad).is_err(),
        "a flipped bit still verifies"
    );
});

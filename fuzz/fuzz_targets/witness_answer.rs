#![no_main]
//! A witness's answer to the log's `add-checkpoint` (its cosignature lines), which the log appends to
//! the checkpoint it publishes. Input: the checkpoint text, a NUL, the answer (no NUL: the answer to a
//! fixed checkpoint).
//! - Whatever the log keeps is by that witness's key and verifies, checked independently with `ring`
//!   over the `cosignature/v1` message: a witness must not be able to slip a bad line into the
//!   published checkpoint (clients refuse a note with a bad signature by a key they know).
//! - What was signed verifies: the witness's own cosignature of the text (timestamp from the input)
//!   is kept, exactly; with one bit flipped it is refused.
use libfuzzer_sys::fuzz_target;
use rget_core::cosignature;
use rget_core::note::VerifierKey;
use rget::log::witnessing::verify_answer;
use std::sync::OnceLock;

const CHECKPOINT: &str = "log.example\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";

fn vkey() -> &'static VerifierKey {
    static K: OnceLock<VerifierKey> = OnceLock::new();
    K.get_or_init(|| cosignature::verifier_key(&rget_fuzz::witness_key(0)))
}

fn ring_cosignature_ok(text: &str, sig: &[u8]) -> bool {
    let Some((ts, ed)) = sig.split_first_chunk::<8>() else {
        return false;
    };
    let ts = u64::from_be_bytes(*ts);
    let mut msg = format!("cosignature/v1\ntime {ts}\n").into_bytes();
    msg.extend_from_slice(text.as_bytes());
    sig.len() == 72 && ts <= i64::MAX as u64 && rget_fuzz::ring_verify(&vkey().public_key, &msg, ed)
}

fuzz_target!(|data: &[u8]| {
    let (text, answer) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (CHECKPOINT.as_bytes(), data),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if let Ok(kept) = verify_answer(vkey(), text, answer) {
        assert!(!kept.is_empty());
        for s in &kept {
            assert!(s.name == vkey().name && s.id == vkey().id);
            assert!(
                ring_cosignature_ok(text, &s.sig),
                "kept a cosignature that does not verify"
            );
        }
    }
    let ts = rget_fuzz::pick(data, i64::MAX as usize) as u64;
    let Ok(sig) = cosignature::sign(&rget_fuzz::witness_key(0), text, ts) else {
        return;
    };
    let line = sig.to_line();
    match verify_answer(vkey(), text, line.as_bytes()) {
        Ok(kept) => assert_eq!(kept, vec![sig.clone()]),
        // The answer is judged as a note: a text that cannot be a note's text cannot be cosigned.
        Err(e) => assert!(
            !text.ends_with('\n') || text.bytes().any(|b| b < 0x20 && b != b'\n'),
            "{e}"
        ),
    }
    let mut bad = sig;
    let bit = rget_fuzz::pick(answer, 72 * 8);
    bad.sig[bit / 8] ^= 1 << (bit % 8);
    assert!(verify_answer(vkey(), text, bad.to_line().as_bytes()).is_err());
});

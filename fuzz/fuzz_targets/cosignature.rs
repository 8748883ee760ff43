#![no_main]
//! Cosignatures (`cosignature/v1`) and the note signatures beside them, checked against `ring`:
//! 1. any bytes as a signed note opened with a log key and a witness's cosigner key: rget accepts the
//!    note exactly when `ring` finds every signature by a known key valid (the first per key, as
//!    signed-note says) and at least one is known, and reports the same cosignature timestamps;
//! 2. what was signed verifies: the input (8 bytes of timestamp, then checkpoint text) cosigned by the
//!    witness key verifies in rget and in `ring`, and with one bit flipped in neither.
use libfuzzer_sys::fuzz_target;
use rget_core::cosignature::{self, MAX_TIMESTAMP};
use rget_core::note::{self, ALG_COSIGNATURE_V1, NoteError, VerifierKey};
use rget_fuzz::ring_verify;
use std::sync::OnceLock;

fn keys() -> &'static [VerifierKey; 2] {
    static K: OnceLock<[VerifierKey; 2]> = OnceLock::new();
    K.get_or_init(|| {
        [
            rget_fuzz::log_key().verifier_key(),
            cosignature::verifier_key(&rget_fuzz::witness_key(0)),
        ]
    })
}

/// The second opinion on one signature, from the specs: Ed25519 over the text for a note key;
/// for a cosigner key, 72 bytes of timestamp (at most 2^63 - 1) and Ed25519 over the
/// `cosignature/v1` message.
fn ring_opinion(k: &VerifierKey, text: &[u8], sig: &[u8]) -> Option<Option<u64>> {
    if k.alg != ALG_COSIGNATURE_V1 {
        return ring_verify(&k.public_key, text, sig).then_some(None);
    }
    if sig.len() != 72 {
        return None;
    }
    let ts = u64::from_be_bytes(sig[..8].try_into().ok()?);
    if ts > MAX_TIMESTAMP {
        return None;
    }
    let mut msg = format!("cosignature/v1\ntime {ts}\n").into_bytes();
    msg.extend_from_slice(text);
    ring_verify(&k.public_key, &msg, &sig[8..]).then_some(Some(ts))
}

fn open_agrees_with_ring(data: &[u8]) {
    let _ = cosignature::timestamp(data);
    let Ok(parsed) = note::parse(data) else {
        assert!(note::open(data, keys()).is_err());
        return;
    };
    let mut seen = [false; 2];
    let mut expected = Vec::new();
    let mut all_valid = true;
    for s in &parsed.signatures {
        let Some(i) = keys().iter().position(|k| k.name == s.name && k.id == s.id) else {
            continue;
        };
        if std::mem::replace(&mut seen[i], true) {
            continue; // only the first signature by a key counts
        }
        match ring_opinion(&keys()[i], parsed.text.as_bytes(), &s.sig) {
            Some(ts) => expected.push((i, ts)),
            None => all_valid = false,
        }
    }
    match note::open(data, keys()) {
        Ok(opened) => {
            assert!(all_valid, "rget accepted a signature ring rejects");
            let got: Vec<(usize, Option<u64>)> = opened
                .verified
                .iter()
                .map(|v| (v.verifier, v.timestamp))
                .collect();
            assert_eq!(got, expected);
        }
        Err(NoteError::InvalidSignature { .. }) => {
            assert!(!all_valid, "ring accepts what rget rejects")
        }
        Err(NoteError::Unverified { .. }) => assert!(all_valid && expected.is_empty()),
        Err(e) => panic!("a parsed note failed to open: {e}"),
    }
}

fn signed_verifies(data: &[u8]) {
    let Some((ts, text)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let ts = u64::from_be_bytes(*ts);
    let w = rget_fuzz::witness_key(0);
    let pk = w.public_key();
    let Ok(sig) = cosignature::sign(&w, text, ts) else {
        assert!(ts > MAX_TIMESTAMP);
        return;
    };
    assert!(ts <= MAX_TIMESTAMP);
    assert_eq!(sig.id, keys()[1].id);
    assert_eq!(
        cosignature::verify(&pk, text.as_bytes(), &sig.sig),
        Some(ts)
    );
    assert_eq!(
        ring_opinion(&keys()[1], text.as_bytes(), &sig.sig),
        Some(Some(ts))
    );
    let mut bad = sig.sig.clone();
    let bit = rget_fuzz::pick(data, bad.len() * 8);
    bad[bit / 8] ^= 1 << (bit % 8);
    assert_eq!(cosignature::verify(&pk, text.as_bytes(), &bad), None);
    assert_eq!(ring_opinion(&keys()[1], text.as_bytes(), &bad), None);
    // As a cosigned note: the log signs, the witness cosigns, both verify, with the timestamp.
    if let Ok(signed) = note::sign(text, &[&rget_fuzz::log_key()]) {
        let mut n = note::parse(&signed).unwrap();
        n.signatures.push(sig);
        let opened = note::open(&n.to_bytes(), keys()).expect("a cosigned note opens");
        let got: Vec<(usize, Option<u64>)> = opened
            .verified
            .iter()
            .map(|v| (v.verifier, v.timestamp))
            .collect();
        assert_eq!(got, vec![(0, None), (1, Some(ts))]);
    }
}

fuzz_target!(|data: &[u8]| {
    open_agrees_with_ring(data);
    signed_verifies(data);
});

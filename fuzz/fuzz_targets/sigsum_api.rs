#![no_main]
//! The answers and requests of a Sigsum log's API (`rget_core::sigsum::api`), chosen by the first
//! byte: 0 `get-tree-head`, 1 `get-inclusion-proof`, 2 `get-consistency-proof`, 3 `get-leaves` (the
//! next byte + 1 is the number of leaves asked for), 4 an `add-leaf` body. Never panics, and:
//! - every accepted answer formats back to exactly its bytes (one spelling), within its bounds
//!   (64 cosignatures, 63 node hashes, the leaves asked for);
//! - a tree head rebuilt as the checkpoint note under the fixed Sigsum log and witness keys reads
//!   back as the same tree head (cosignatures by other keys left out), and its log signature is
//!   accepted by the core's policy exactly when `ring` verifies it over the checkpoint text;
//! - an `add-leaf` request's leaf is accepted exactly when `ring` verifies its signature over
//!   `sigsum.org/v1/tree-leaf` NUL SHA-256(message).
use libfuzzer_sys::fuzz_target;
use rget_core::digest::Hash;
use rget_core::note::VerifierKey;
use rget_core::sigsum::api::{
    InclusionProof, LeafRequest, MAX_NODE_HASHES, TreeHead, format_consistency_proof,
    format_leaves, parse_consistency_proof, parse_leaves,
};
use rget_core::sigsum::policy::{self, log_verifier_key, witness_verifier_key};
use rget_core::sigsum::{key_hash, leaf};
use rget_fuzz::{WITNESS_NAMES, ring_verify, sigsum_log_seed, witness_key};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => tree_head(body),
        1 => {
            if let Ok(p) = InclusionProof::parse(body) {
                assert_eq!(p.to_text().as_bytes(), body);
                assert!(!p.path.is_empty() && p.path.len() <= MAX_NODE_HASHES);
            }
        }
        2 => {
            if let Ok(p) = parse_consistency_proof(body) {
                assert_eq!(format_consistency_proof(&p).as_bytes(), body);
                assert!(!p.is_empty() && p.len() <= MAX_NODE_HASHES);
            }
        }
        3 => {
            let asked = body.first().map_or(1, |b| u64::from(*b) + 1);
            let body = body.get(1..).unwrap_or_default();
            if let Ok(leaves) = parse_leaves(body, asked) {
                assert!(!leaves.is_empty() && leaves.len() as u64 <= asked);
                assert_eq!(format_leaves(&leaves).as_bytes(), body);
            }
        }
        _ => {
            if let Ok(r) = LeafRequest::parse(body) {
                assert_eq!(r.to_text().as_bytes(), body);
                let signed = leaf::signed_data(&leaf::checksum(&r.message));
                assert_eq!(
                    r.leaf().is_some(),
                    ring_verify(&r.public_key, &signed, &r.signature)
                );
            }
        }
    }
});

fn tree_head(body: &[u8]) {
    let Ok(th) = TreeHead::parse(body) else {
        return;
    };
    assert_eq!(th.to_text().as_bytes(), body);
    assert!(th.cosignatures.len() <= 64);
    let log_key = sigsum_log_seed().public_key();
    let log = log_verifier_key(&log_key);
    let witnesses: Vec<VerifierKey> = (0..3)
        .map(|i| witness_verifier_key(WITNESS_NAMES[i], &witness_key(i).public_key()))
        .collect();
    let refs: Vec<&VerifierKey> = witnesses.iter().collect();
    let note = th.note(&log, &refs);
    let back = TreeHead::from_note(&note, &log, &witnesses).expect("a tree head's note reads back");
    let known: Vec<_> = th
        .cosignatures
        .iter()
        .filter(|c| witnesses.iter().any(|w| key_hash(&w.public_key) == c.key_hash))
        .cloned()
        .collect();
    assert_eq!(
        back,
        TreeHead {
            cosignatures: known,
            ..th.clone()
        }
    );
    let p = policy::parse(&format!("log {}\nquorum none\n", Hash(log_key).to_hex()))
        .expect("a one-log policy");
    let text = th.checkpoint_text(&key_hash(&log_key));
    assert_eq!(
        p.verify_log_signature(&note).is_ok(),
        ring_verify(&log_key, text.as_bytes(), &th.signature)
    );
}

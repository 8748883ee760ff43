//! Core micro-benchmarks (`cargo bench --bench core`): the costs every verifier pays.
//! - verify an inclusion proof in a tree of 2^30 leaves (target: under 20 µs);
//! - verify a checkpoint with a log signature and 3 witness cosignatures under a policy (target: under
//!   200 µs);
//! - the whole offline routine `verify_logged_sums` (record, proof file, checkpoint, inclusion);
//! - in-memory SHA-256 throughput of `rget::core::digest`.
//!
//! Each figure is the median of 15 batches. Results go to stdout; BENCHMARKS.md records them.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rget::core::cosignature;
use rget::core::digest::{Hash, Sha256, sha256};
use rget::core::ed25519::Seed;
use rget::core::merkle;
use rget::core::note::{self, SignerKey};
use rget::core::policy::Policy;
use rget::core::record;
use rget::core::tlog_proof::TlogProof;
use rget::core::verify;
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median_per_op(batches: usize, ops: u32, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..ops {
                f();
            }
            t.elapsed() / ops
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // A proof for leaf index 2^30 - 12,345 of a tree of 2^30 leaves: 30 hashes. The hashes are random,
    // and the root is the one they lead to, so verification does exactly the work of a real proof.
    let size: u64 = 1 << 30;
    let index = size - 12_345;
    let leaf = merkle::leaf_hash(b"rget/record/v1 ...");
    let proof: Vec<Hash> = (0u32..30).map(|i| sha256(&i.to_be_bytes())).collect();
    let root =
        merkle::root_from_inclusion(index, size, &leaf, &proof).expect("proof of the right length");
    merkle::verify_inclusion(index, size, &leaf, &proof, &root).expect("valid");
    let t = median_per_op(15, 20_000, || {
        black_box(merkle::verify_inclusion(
            black_box(index),
            size,
            &leaf,
            black_box(&proof),
            &root,
        ))
        .unwrap();
    });
    println!(
        "inclusion proof, 2^30 leaves (30 hashes): {:.2} µs",
        t.as_secs_f64() * 1e6
    );

    // A checkpoint signed by the log and cosigned by 3 witnesses, under a policy requiring all three.
    let log = SignerKey::from_seed("log.example/rget", Seed([1; 32])).unwrap();
    let ws: Vec<SignerKey> = (0..3)
        .map(|i| SignerKey::from_seed(&format!("w{i}.example"), Seed([10 + i; 32])).unwrap())
        .collect();
    let mut policy = format!("log {}\n", log.verifier_key());
    for (i, w) in ws.iter().enumerate() {
        policy.push_str(&format!("witness w{i} {}\n", cosignature::verifier_key(w)));
    }
    policy.push_str("group all3 all w0 w1 w2\nquorum all3\n");
    let policy = Policy::parse(&policy).unwrap();
    let text = format!("log.example/rget\n{size}\n{}\n", root.to_base64());
    let mut n = note::parse(&note::sign(&text, &[&log]).unwrap()).unwrap();
    for w in &ws {
        n.signatures
            .push(cosignature::sign(w, &text, 1_790_000_000).unwrap());
    }
    let cp = n.to_bytes();
    assert_eq!(policy.verify_checkpoint(&cp).unwrap().cosigners.len(), 3);
    let t = median_per_op(15, 300, || {
        black_box(policy.verify_checkpoint(black_box(&cp))).unwrap();
    });
    println!(
        "checkpoint + 3 cosignatures under a policy: {:.1} µs",
        t.as_secs_f64() * 1e6
    );

    // The whole offline routine over a real record in a 2^30-leaf tree.
    let url = "https://releases.example/v1/SHA256SUMS";
    let sums = format!("{}  rget-1.0.0-x86_64-unknown-linux-gnu\n", sha256(b"x")).into_bytes();
    let rec_leaf = merkle::leaf_hash(&record::build(url, &sums).unwrap());
    let rec_root = merkle::root_from_inclusion(index, size, &rec_leaf, &proof).unwrap();
    let text = format!("log.example/rget\n{size}\n{}\n", rec_root.to_base64());
    let mut n = note::parse(&note::sign(&text, &[&log]).unwrap()).unwrap();
    for w in &ws {
        n.signatures
            .push(cosignature::sign(w, &text, 1_790_000_000).unwrap());
    }
    let file = TlogProof {
        extra: None,
        index,
        hashes: proof.clone(),
        checkpoint: n.to_bytes(),
    }
    .to_bytes();
    verify::verify_logged_sums(&policy, url, &sums, &file).unwrap();
    let t = median_per_op(15, 300, || {
        black_box(verify::verify_logged_sums(
            &policy,
            url,
            black_box(&sums),
            black_box(&file),
        ))
        .unwrap();
    });
    println!(
        "verify_logged_sums (record + proof file + checkpoint + 3 cosignatures + inclusion): {:.1} µs",
        t.as_secs_f64() * 1e6
    );

    // In-memory SHA-256 throughput.
    let buf = vec![0x5au8; 64 << 20];
    let t = median_per_op(9, 1, || {
        let mut h = Sha256::new();
        for chunk in buf.chunks(256 * 1024) {
            h.update(chunk);
        }
        black_box(h.finalize());
    });
    println!(
        "SHA-256 in memory: {:.0} MB/s",
        buf.len() as f64 / t.as_secs_f64() / 1e6
    );
}

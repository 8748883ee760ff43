//! Sigsum proof verification (`cargo bench --bench sigsum`): rget's verifier against the `sigsum`
//! crate's `verify` on the same real proof (the one published with the `sigsum` crate: a leaf in a
//! tree of 381,382, 10 node hashes, 8 witness cosignatures, policy `sigsum-test-2025-3`).
//!
//! Each side does the whole offline job from the proof's text: parse the proof file, then verify the
//! leaf signature, the log signature, every cosignature by a policy witness, the quorum and the
//! inclusion proof (10 Ed25519 verifications each). The policies are parsed once, outside the timing,
//! as a verifier holds its policy. Rounds are interleaved (the order alternates from round to round)
//! so that both sides see the same machine load; each round times a batch of each, and the ratio
//! rget / sigsum is taken per round.
//!
//! `RGET_BENCH_ROUNDS` (default 21) and `RGET_BENCH_BATCH` (default 200) set the shape.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rget::core::digest::sha256;
use rget::core::sigsum::proof::SigsumProof;
use rget::core::sigsum::{builtin, verify};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigsum");
    let proof_text =
        std::fs::read_to_string(dir.join("hello-v2.proof")).expect("the published proof");
    let data = b"Hello, Sigsum!\n";
    let signer: [u8; 32] =
        hex::decode("99ed58583e8750b20548e69df4a4e1a592379a9a66c51cd32e42fbe4e1bde78a")
            .expect("hex")
            .try_into()
            .expect("32 bytes");

    let policy = builtin::policy("sigsum-test-2025-3")
        .expect("built in")
        .expect("parses");
    let rget_verify = || {
        let proof = SigsumProof::parse(black_box(proof_text.as_bytes())).expect("parses");
        let v =
            verify::verify(&sha256(black_box(data)), &proof, &[signer], &policy).expect("verifies");
        black_box(v);
    };

    let their_policy: &sigsum::Policy = &sigsum::policy::SIGSUM_TEST_2025_3;
    let their_signers = [sigsum::PublicKey::from(signer)];
    let sigsum_verify = || {
        let proof = sigsum::SigsumSignature::from_ascii(black_box(&proof_text)).expect("parses");
        sigsum::verify(
            &sigsum::Hash::new(black_box(data)),
            &proof,
            &their_signers,
            their_policy,
        )
        .expect("verifies");
        black_box(proof);
    };

    // Both accept the proof (checked above by `expect`); warm up caches and the lazy policy.
    for _ in 0..20 {
        rget_verify();
        sigsum_verify();
    }

    let rounds = env_or("RGET_BENCH_ROUNDS", 21);
    let batch = env_or("RGET_BENCH_BATCH", 200);
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..batch {
            f();
        }
        t.elapsed() / batch as u32
    };
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b): (Duration, Duration) = if round % 2 == 0 {
            let a = time(&rget_verify);
            (a, time(&sigsum_verify))
        } else {
            let b = time(&sigsum_verify);
            (time(&rget_verify), b)
        };
        ours.push(a.as_secs_f64() * 1e6);
        theirs.push(b.as_secs_f64() * 1e6);
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
    }
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    println!(
        "Sigsum proof verification, {rounds} interleaved rounds of {batch} (medians per verification):"
    );
    println!(
        "  rget (SigsumProof::parse + sigsum::verify::verify)      {:8.1} µs",
        median(&mut ours)
    );
    println!(
        "  sigsum crate (SigsumSignature::from_ascii + verify)    {:8.1} µs",
        median(&mut theirs)
    );
    println!(
        "  ratio rget / sigsum per round: median {:.3}, min {lo:.3}, max {hi:.3}",
        median(&mut ratios)
    );
}

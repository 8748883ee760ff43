//! rget's Sigsum proof verifier against an independent one, the `sigsum` crate (mullvad/sigsum-rs):
//! on the published proof and every systematic spoiling of it, and on a proptest corpus of proofs made
//! with our own signing code (random trees, keys, data, policies and quorums) and spoiled ones, the
//! two accept and refuse the same proofs, case by case.
//!
//! Where rget is deliberately stricter, the difference is named ([`stricter`]) and the test asserts
//! that rget refuses: the `sigsum` crate reads uppercase hex, CRLF lines, a missing final newline and
//! two cosignatures by one witness, all of which rget refuses so that a proof has one spelling and a
//! witness is counted once. Two things rget reads that the `sigsum` crate does not are tested
//! separately: version 1 proofs, and proofs of a one-leaf tree without the inclusion block (as
//! Sigsum's Go tools write them).

use crate::common::sigsum as sigsum_world;

use proptest::prelude::*;
use rget::core::digest::sha256;
use rget::core::ed25519::Seed;
use rget::core::sigsum::proof::SigsumProof;
use rget::core::sigsum::{builtin, policy, verify};
use sigsum_world::{LineKind, Spoil, World, published_proof, published_signer, spoilings};

/// rget's verdict: parse the proof, parse the policy, verify.
fn rget_accepts(proof: &str, data: &[u8], keys: &[[u8; 32]], policy_text: &str) -> bool {
    let Ok(p) = SigsumProof::parse(proof.as_bytes()) else {
        return false;
    };
    let policy = policy::parse(policy_text).expect("test policies parse");
    verify::verify(&sha256(data), &p, keys, &policy).is_ok()
}

/// The `sigsum` crate's verdict on the same inputs.
fn sigsum_accepts(proof: &str, data: &[u8], keys: &[[u8; 32]], policy_text: &str) -> bool {
    let Ok(p) = sigsum::SigsumSignature::from_ascii(proof) else {
        return false;
    };
    let policy = sigsum::Policy::parse(policy_text).expect("the sigsum crate parses test policies");
    let signers: Vec<sigsum::PublicKey> = keys.iter().map(|k| (*k).into()).collect();
    sigsum::verify(&sigsum::Hash::new(data), &p, &signers, &policy).is_ok()
}

/// Spoilings the `sigsum` crate reads but rget refuses by design.
fn stricter(s: &Spoil) -> bool {
    match s {
        Spoil::HexUpper(..) | Spoil::NoFinalNewline | Spoil::Duplicate(LineKind::Cosignature) => {
            true
        }
        // A CR on a blank line breaks the sigsum crate's block split too.
        Spoil::CarriageReturn(kind) => *kind != LineKind::Blank,
        _ => false,
    }
}

/// Compares the two verifiers on one case; returns rget's verdict.
fn agree(
    what: &str,
    spoil: Option<&Spoil>,
    proof: &str,
    data: &[u8],
    keys: &[[u8; 32]],
    policy_text: &str,
) -> Result<bool, TestCaseError> {
    let ours = rget_accepts(proof, data, keys, policy_text);
    let theirs = sigsum_accepts(proof, data, keys, policy_text);
    if spoil.is_some_and(stricter) {
        prop_assert!(!ours, "{what}: rget must refuse {spoil:?}\n{proof}");
    } else {
        prop_assert_eq!(
            ours,
            theirs,
            "{}: rget {} but the sigsum crate {} ({:?})\n{}",
            what,
            if ours { "accepts" } else { "refuses" },
            if theirs { "accepts" } else { "refuses" },
            spoil,
            proof
        );
    }
    Ok(ours)
}

#[test]
fn the_published_proof_and_every_spoiling_of_it() {
    let proof = published_proof();
    let data = sigsum_world::PUBLISHED_DATA;
    let keys = [published_signer()];
    let policy_text = builtin::text("sigsum-test-2025-3").expect("built in");
    assert!(agree("published", None, &proof, data, &keys, policy_text).unwrap());
    // The sigsum crate's own copy of the policy gives the same verdict as ours.
    let p = sigsum::SigsumSignature::from_ascii(&proof).unwrap();
    let signers: Vec<sigsum::PublicKey> = keys.iter().map(|k| (*k).into()).collect();
    sigsum::verify(
        &sigsum::Hash::new(data),
        &p,
        &signers,
        &sigsum::policy::SIGSUM_TEST_2025_3,
    )
    .expect("the sigsum crate verifies its published proof");

    let spoiled = spoilings(&proof);
    assert!(spoiled.len() > 400, "{}", spoiled.len());
    let mut stricter_cases = 0;
    for (spoil, text) in &spoiled {
        let ours = agree("published", Some(spoil), text, data, &keys, policy_text).unwrap();
        // 8 witnesses cosigned; the quorum needs 4 of 6 members, one of which is 2 of 3 of them: so
        // dropping any one cosignature, reordering two, or making one's key hash unknown (then it
        // is ignored) keeps the proof valid, and nothing else does.
        let harmless = matches!(
            spoil,
            Spoil::Drop(LineKind::Cosignature)
                | Spoil::Swap(LineKind::Cosignature, LineKind::Cosignature)
                | Spoil::HexDigit(LineKind::Cosignature, 0)
        );
        assert_eq!(ours, harmless, "{spoil:?}\n{text}");
        stricter_cases += usize::from(stricter(spoil));
    }
    assert!(stricter_cases > 20);
    // Other data, other signer keys, another policy.
    assert!(
        !agree(
            "other data",
            None,
            &proof,
            b"Hello, Sigsum?\n",
            &keys,
            policy_text
        )
        .unwrap()
    );
    assert!(
        !agree(
            "other key",
            None,
            &proof,
            data,
            &[Seed([1; 32]).public_key()],
            policy_text
        )
        .unwrap()
    );
    assert!(
        agree(
            "two keys",
            None,
            &proof,
            data,
            &[Seed([1; 32]).public_key(), keys[0]],
            policy_text
        )
        .unwrap()
    );
    let generic = builtin::text("sigsum-generic-2025-1").expect("built in");
    assert!(!agree("production policy", None, &proof, data, &keys, generic).unwrap());
}

#[test]
fn what_rget_reads_and_the_sigsum_crate_does_not() {
    // Version 1 proofs (the sigsum crate reads only version 2).
    let v1 = sigsum_world::published_as_v1(None);
    let policy_text = builtin::text("sigsum-test-2025-3").expect("built in");
    let keys = [published_signer()];
    let data = sigsum_world::PUBLISHED_DATA;
    assert!(rget_accepts(&v1, data, &keys, policy_text));
    assert!(!sigsum_accepts(&v1, data, &keys, policy_text));
    // A one-leaf tree, whose proof has no inclusion block (sigsum-go omits it; the sigsum crate
    // always wants three blocks).
    let w = World::new(3, 1);
    let policy_text = w.policy("quorum w0\n");
    let proof = w.proof(b"one", 1, 0, &[0], 1_770_000_000, false).to_text();
    assert!(!proof.contains("leaf_index"));
    let keys = [w.submitter.public_key()];
    assert!(rget_accepts(&proof, b"one", &keys, &policy_text));
    assert!(!sigsum_accepts(&proof, b"one", &keys, &policy_text));
}

/// A policy over `n` witnesses w0.. with a random quorum rule, as text.
fn quorum_rules(n: usize, kind: u8, k: usize) -> String {
    match (n, kind % 4) {
        (0, _) | (_, 0) => "quorum none\n".to_owned(),
        (_, 1) => format!("quorum w{}\n", k % n),
        (_, 2) => {
            let names: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
            format!("group g {} {}\nquorum g\n", 1 + k % n, names.join(" "))
        }
        _ => {
            // Nested: the first half must all sign, and any one of the rest (or all of them, if
            // there is only one witness).
            let half = n.div_ceil(2);
            let first: Vec<String> = (0..half).map(|i| format!("w{i}")).collect();
            let rest: Vec<String> = (half..n).map(|i| format!("w{i}")).collect();
            if rest.is_empty() {
                format!("group a all {}\nquorum a\n", first.join(" "))
            } else {
                format!(
                    "group a all {}\ngroup b any {}\ngroup top all a b\nquorum top\n",
                    first.join(" "),
                    rest.join(" ")
                )
            }
        }
    }
}

/// A generated case: world, data, tree shape, cosigners, quorum, keys given to the verifier.
#[derive(Debug, Clone)]
struct Case {
    seed: u8,
    witnesses: usize,
    data: Vec<u8>,
    size: u64,
    index: u64,
    cosigners: Vec<usize>,
    extra: bool,
    quorum_kind: u8,
    quorum_k: usize,
    timestamp: u64,
    other_keys: usize,
    signer_listed: bool,
    spoil: Option<usize>,
    other_data: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u8>(),
        0usize..6,
        prop::collection::vec(any::<u8>(), 0..64),
        2u64..300,
        any::<u64>(),
        prop::collection::vec(0usize..6, 0..6),
        any::<bool>(),
        (any::<u8>(), 0usize..6),
        0u64..(1 << 40),
        (0usize..3, prop::bool::weighted(0.85)),
        prop::option::weighted(0.6, any::<usize>()),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(
                seed,
                witnesses,
                data,
                size,
                index,
                cosigners,
                extra,
                (qk, k),
                ts,
                (others, listed),
                spoil,
                other_data,
            )| {
                let mut cosigners: Vec<usize> =
                    cosigners.into_iter().filter(|&c| c < witnesses).collect();
                cosigners.sort_unstable();
                cosigners.dedup();
                Case {
                    seed,
                    witnesses,
                    data,
                    size,
                    index: index % size,
                    cosigners,
                    extra,
                    quorum_kind: qk,
                    quorum_k: k,
                    timestamp: ts,
                    other_keys: others,
                    signer_listed: listed,
                    spoil,
                    other_data,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Valid and spoiled proofs made with our own signing code: both verifiers give the same verdict.
    #[test]
    fn generated_proofs_get_the_same_verdict(c in case()) {
        let w = World::new(c.seed, c.witnesses);
        let policy_text = w.policy(&quorum_rules(c.witnesses, c.quorum_kind, c.quorum_k));
        let proof = w
            .proof(&c.data, c.size, c.index, &c.cosigners, c.timestamp, c.extra)
            .to_text();
        let mut keys: Vec<[u8; 32]> = (0..c.other_keys)
            .map(|i| Seed([200 + i as u8; 32]).public_key())
            .collect();
        if c.signer_listed {
            keys.insert(keys.len() / 2, w.submitter.public_key());
        }
        let data = if c.other_data { b"other".to_vec() } else { c.data.clone() };
        let (spoil, text) = match c.spoil {
            None => (None, proof.clone()),
            Some(i) => {
                let all = spoilings(&proof);
                let (s, t) = all[i % all.len()].clone();
                (Some(s), t)
            }
        };
        let ours = agree("generated", spoil.as_ref(), &text, &data, &keys, &policy_text)?;
        // An unspoiled proof for the right data and a listed signer is accepted exactly when its
        // cosigners meet the quorum: check that the generator makes both kinds.
        if spoil.is_none() && c.signer_listed && !c.other_data && c.quorum_kind % 4 == 0 {
            prop_assert!(ours, "quorum none, right data and key, yet refused:\n{}", text);
        }
        if !c.signer_listed || c.other_data {
            prop_assert!(!ours);
        }
    }
}

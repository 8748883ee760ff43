//! The offline verification routine (`rget::core::verify`) end to end in memory: a log of real records,
//! a checkpoint signed by the log and cosigned by witnesses, tlog-proof files; then every way such a
//! proof can be wrong.

use rget::core::cosignature;
use rget::core::digest::sha256;
use rget::core::ed25519::Seed;
use rget::core::merkle::{self, MemoryTree};
use rget::core::note::{self, NoteSignature, SignerKey};
use rget::core::policy::{Policy, PolicyError};
use rget::core::record;
use rget::core::sums;
use rget::core::tlog_proof::TlogProof;
use rget::core::verify::{self, VerifyError};

const ORIGIN: &str = "log.example/rget";
const TIME: u64 = 1_790_000_000;

struct World {
    log: SignerKey,
    witnesses: Vec<SignerKey>,
    policy: Policy,
    tree: MemoryTree,
    /// (url, sums bytes) per leaf index.
    published: Vec<(String, Vec<u8>)>,
}

fn sums_for(i: usize) -> Vec<u8> {
    format!(
        "{}  rget-0.{i}.0-x86_64-unknown-linux-gnu\n{}  other-{i}.tar.gz\n",
        sha256(&[i as u8]),
        sha256(b"o")
    )
    .into_bytes()
}

fn world(entries: usize) -> World {
    let log = SignerKey::from_seed(ORIGIN, Seed([7; 32])).unwrap();
    let witnesses: Vec<SignerKey> = (0..3)
        .map(|i| {
            SignerKey::from_seed(&format!("w{i}.example/witness"), Seed([20 + i as u8; 32]))
                .unwrap()
        })
        .collect();
    let mut policy = format!("log {}\n", log.verifier_key());
    for (i, w) in witnesses.iter().enumerate() {
        policy.push_str(&format!("witness w{i} {}\n", cosignature::verifier_key(w)));
    }
    policy.push_str("group two-of-three 2 w0 w1 w2\nquorum two-of-three\n");
    let policy = Policy::parse(&policy).unwrap();
    let mut tree = MemoryTree::new();
    let mut published = Vec::new();
    for i in 0..entries {
        let url = format!("https://releases{}.example/v{i}/SHA256SUMS", i % 3);
        let sums = sums_for(i);
        tree.append(merkle::leaf_hash(&record::build(&url, &sums).unwrap()));
        published.push((url, sums));
    }
    World {
        log,
        witnesses,
        policy,
        tree,
        published,
    }
}

impl World {
    fn checkpoint_text(&self, size: u64) -> String {
        let root = merkle::tree_hash(size, &mut self.tree.clone()).unwrap();
        format!("{ORIGIN}\n{size}\n{}\n", root.to_base64())
    }
    /// The checkpoint note signed by the log and cosigned by the given witnesses.
    fn note(&self, text: &str, cosigners: &[usize]) -> Vec<u8> {
        let mut n = note::parse(&note::sign(text, &[&self.log]).unwrap()).unwrap();
        for &i in cosigners {
            n.signatures
                .push(cosignature::sign(&self.witnesses[i], text, TIME).unwrap());
        }
        n.to_bytes()
    }
    fn proof(&self, index: u64, size: u64, cosigners: &[usize]) -> TlogProof {
        let hashes = merkle::inclusion_proof(index, size, &mut self.tree.clone()).unwrap();
        TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: self.note(&self.checkpoint_text(size), cosigners),
        }
    }
    fn check(&self, i: usize, proof: &TlogProof) -> Result<verify::LoggedSums, VerifyError> {
        let (url, sums) = &self.published[i];
        verify::verify_logged_sums(&self.policy, url, sums, &proof.to_bytes())
    }
}

#[test]
fn every_record_verifies_under_every_later_checkpoint() {
    let w = world(40);
    for size in [1u64, 2, 3, 7, 8, 9, 31, 32, 40] {
        for i in 0..size {
            let got = w.check(i as usize, &w.proof(i, size, &[0, 2])).unwrap();
            assert_eq!(got.index, i);
            assert_eq!(got.checkpoint.checkpoint.size, size);
            let names: Vec<&str> = got
                .checkpoint
                .cosigners
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            assert_eq!(names, ["w0", "w2"]);
        }
    }
}

#[test]
fn tamper_matrix() {
    let w = world(12);
    let good = w.proof(5, 12, &[0, 1]);
    assert!(w.check(5, &good).is_ok());

    // The SHA256SUMS changed after logging.
    let (url, sums) = &w.published[5];
    let mut changed = sums.clone();
    changed[0] = if changed[0] == b'0' { b'1' } else { b'0' };
    let e = verify::verify_logged_sums(&w.policy, url, &changed, &good.to_bytes()).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::NotIncluded {
                index: 5,
                size: 12,
                ..
            }
        ),
        "{e}"
    );

    // The same bytes claimed for another URL (the record binds the place).
    let e = verify::verify_logged_sums(
        &w.policy,
        "https://evil.example/SHA256SUMS",
        sums,
        &good.to_bytes(),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::NotIncluded { .. }), "{e}");

    // A valid proof, but for another record.
    let e = w.check(5, &w.proof(6, 12, &[0, 1])).unwrap_err();
    assert!(matches!(e, VerifyError::NotIncluded { .. }), "{e}");

    // Index or hashes edited.
    let mut p = good.clone();
    p.index = 4;
    assert!(matches!(
        w.check(5, &p),
        Err(VerifyError::NotIncluded { .. })
    ));
    let mut p = good.clone();
    p.hashes[1].0[3] ^= 1;
    assert!(matches!(
        w.check(5, &p),
        Err(VerifyError::NotIncluded { .. })
    ));
    let mut p = good.clone();
    p.hashes.pop();
    assert!(matches!(
        w.check(5, &p),
        Err(VerifyError::NotIncluded { .. })
    ));

    // Quorum not met: only one of the 2-of-3 witnesses.
    let e = w.check(5, &w.proof(5, 12, &[1])).unwrap_err();
    assert!(
        matches!(e, VerifyError::Checkpoint(PolicyError::QuorumNotMet { .. })),
        "{e}"
    );

    // Signed by a key the policy does not know (same origin, other key): no log signature.
    let impostor = SignerKey::from_seed(ORIGIN, Seed([99; 32])).unwrap();
    let text = w.checkpoint_text(12);
    let mut n = note::parse(&note::sign(&text, &[&impostor]).unwrap()).unwrap();
    for i in 0..3 {
        n.signatures
            .push(cosignature::sign(&w.witnesses[i], &text, TIME).unwrap());
    }
    let p = TlogProof {
        checkpoint: n.to_bytes(),
        ..good.clone()
    };
    let e = w.check(5, &p).unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::Checkpoint(PolicyError::MissingLogSignature { .. })
        ),
        "{e}"
    );

    // The log's own key, but a bad signature: the whole note is rejected.
    let mut n = note::parse(&good.checkpoint).unwrap();
    let NoteSignature { sig, .. } = &mut n.signatures[0];
    sig[10] ^= 1;
    let p = TlogProof {
        checkpoint: n.to_bytes(),
        ..good.clone()
    };
    let e = w.check(5, &p).unwrap_err();
    assert!(
        matches!(e, VerifyError::Checkpoint(PolicyError::BadSignature { .. })),
        "{e}"
    );

    // A checkpoint whose root is not the tree's (signed by the real log: a lying log).
    let lie = format!("{ORIGIN}\n12\n{}\n", sha256(b"not the root").to_base64());
    let p = TlogProof {
        checkpoint: w.note(&lie, &[0, 1, 2]),
        ..good.clone()
    };
    assert!(matches!(
        w.check(5, &p),
        Err(VerifyError::NotIncluded { .. })
    ));

    // An index beyond the checkpoint.
    let p = TlogProof {
        checkpoint: w.note(&w.checkpoint_text(5), &[0, 1]),
        ..good.clone()
    };
    assert!(matches!(
        w.check(5, &p),
        Err(VerifyError::NotIncluded { .. })
    ));

    // Not a proof file at all.
    let e = verify::verify_logged_sums(&w.policy, url, sums, b"hello\n\nworld").unwrap_err();
    assert!(matches!(e, VerifyError::ProofFile(_)), "{e}");
    // Not an https URL.
    let e = verify::verify_logged_sums(
        &w.policy,
        "http://x.example/SHA256SUMS",
        sums,
        &good.to_bytes(),
    )
    .unwrap_err();
    assert!(matches!(e, VerifyError::Record(_)), "{e}");
}

#[test]
fn artifacts_must_be_listed_with_their_digest() {
    let s = sums::parse(&sums_for(3)).unwrap();
    let name = "rget-0.3.0-x86_64-unknown-linux-gnu";
    assert!(verify::check_listed(&s, name, &sha256(&[3])).is_ok());
    assert!(matches!(
        verify::check_listed(&s, name, &sha256(&[4])),
        Err(VerifyError::DigestMismatch { .. })
    ));
    assert!(matches!(
        verify::check_listed(&s, "rget-9", &sha256(&[3])),
        Err(VerifyError::NotListed { .. })
    ));
}

//! Signed notes, checkpoints, cosignatures and policies together: published known answers, the
//! verification routine every rget verifier uses, and no-panic properties over hostile input.

use proptest::prelude::*;
use rget::core::checkpoint::Checkpoint;
use rget::core::cosignature;
use rget::core::digest::sha256;
use rget::core::ed25519::Seed;
use rget::core::note::{
    self, ALG_COSIGNATURE_V1, ALG_ED25519, NoteError, NoteSignature, SignerKey, VerifierKey,
};
use rget::core::policy::{Policy, PolicyError};

// ---- published known answers ---------------------------------------------------------------

/// c2sp.org/signed-note's example verifier key and note (the version of the spec that carried it).
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
/// The Go checksum database's key.
const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
/// The current signed-note spec's example note (its key is not published).
const QUASIMODO: &str = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n\n\u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
/// c2sp.org/tlog-cosignature's example: a checkpoint with a log signature and a cosignature.
const COSIGNED_SPEC: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

#[test]
fn spec_vkey_and_note_verify() {
    let v = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(v.name, "example.com/foo");
    assert_eq!(v.id, 0x530d903a);
    assert_eq!(v.alg, ALG_ED25519);
    assert_eq!(note::key_id(&v.name, v.alg, &v.public_key), 0x530d903a);
    assert_eq!(v.to_string(), SPEC_VKEY);
    let opened = note::open(SPEC_NOTE.as_bytes(), std::slice::from_ref(&v)).unwrap();
    assert_eq!(opened.note.text, "This is an example message.\n");
    assert_eq!(opened.verified.len(), 1);
    assert_eq!(opened.note.to_bytes(), SPEC_NOTE.as_bytes());
    // One flipped bit in the text and the known key's signature fails: the note is rejected.
    let tampered = SPEC_NOTE.replace("example message", "example massage");
    assert!(matches!(
        note::open(tampered.as_bytes(), &[v]),
        Err(NoteError::InvalidSignature { line: 3, .. })
    ));
}

#[test]
fn sumdb_key_parses_and_round_trips() {
    let v = VerifierKey::parse(SUMDB_VKEY).unwrap();
    assert_eq!(
        (v.name.as_str(), v.id, v.alg),
        ("sum.golang.org", 0x033de0ae, 1)
    );
    assert_eq!(v.to_string(), SUMDB_VKEY);
}

#[test]
fn spec_notes_with_blank_lines_and_two_signatures_parse_exactly() {
    let n = note::parse(QUASIMODO.as_bytes()).unwrap();
    assert!(
        n.text
            .ends_with("raggio di sole:\n\ned \u{e8} subito sera.\n")
    );
    assert_eq!(n.signatures.len(), 1);
    assert_eq!(n.signatures[0].name, "quasimodo.example/salvatore");
    assert_eq!(n.signatures[0].sig.len(), 64);
    assert_eq!(n.to_bytes(), QUASIMODO.as_bytes());

    let n = note::parse(COSIGNED_SPEC.as_bytes()).unwrap();
    let c = Checkpoint::parse(&n.text).unwrap();
    assert_eq!(
        (c.origin.as_str(), c.size),
        ("example.com/behind-the-sofa", 20852163)
    );
    assert_eq!(n.signatures[1].id, 0x8d66cf3f);
    assert_eq!(
        cosignature::timestamp(&n.signatures[1].sig),
        Some(1679315147)
    );
    assert_eq!(n.to_bytes(), COSIGNED_SPEC.as_bytes());
}

// ---- the verification routine --------------------------------------------------------------

struct World {
    log: SignerKey,
    witnesses: Vec<SignerKey>,
    policy: Policy,
    text: String,
}

fn key(name: &str, n: u8) -> SignerKey {
    SignerKey::from_seed(name, Seed([n; 32])).unwrap()
}

/// A log, four witnesses (A, B, C, D) and the policy "2 of A, B, C; D is listed but not needed".
fn world() -> World {
    let log = key("log.example/rget", 1);
    let witnesses: Vec<SignerKey> = (0..4)
        .map(|i| key(&format!("witness{i}.example"), 10 + i as u8))
        .collect();
    let w = |i: usize| cosignature::verifier_key(&witnesses[i]);
    let policy = Policy::parse(&format!(
        "log {} https://log.example/rget/\n\
         witness A {}\nwitness B {}\nwitness C {}\nwitness D {}\n\
         group abc 2 A B C\nquorum abc\n",
        log.verifier_key(),
        w(0),
        w(1),
        w(2),
        w(3)
    ))
    .unwrap();
    let text = Checkpoint {
        origin: "log.example/rget".into(),
        size: 12,
        root: sha256(b"root"),
        extensions: vec![],
    }
    .format();
    World {
        log,
        witnesses,
        policy,
        text,
    }
}

fn grease(i: u32) -> NoteSignature {
    NoteSignature {
        name: format!("grease.example/{i}"),
        id: 0xdead_0000 + i,
        sig: vec![i as u8; 72],
    }
}

/// A note over `text` with the log's signature (if `log`), cosignatures by `cosigners`, then `extra`.
fn cosigned(
    w: &World,
    text: &str,
    log: bool,
    cosigners: &[usize],
    extra: &[NoteSignature],
) -> Vec<u8> {
    let mut signatures = Vec::new();
    if log {
        signatures.push(w.log.sign(text));
    }
    for &i in cosigners {
        signatures
            .push(cosignature::sign(&w.witnesses[i], text, 1_700_000_000 + i as u64).unwrap());
    }
    signatures.extend_from_slice(extra);
    note::Note {
        text: text.to_owned(),
        signatures,
    }
    .to_bytes()
}

#[test]
fn log_signature_three_cosignatures_and_grease_verify() {
    let w = world();
    let extra = [grease(1), grease(2)];
    // Grease first and last, as Sunlight shuffles: order must not matter.
    let mut n = note::parse(&cosigned(&w, &w.text, true, &[0, 2, 3], &extra)).unwrap();
    n.signatures.rotate_right(1);
    let bytes = n.to_bytes();
    let v = w.policy.verify_checkpoint(&bytes).unwrap();
    assert_eq!(v.note, bytes);
    assert_eq!(v.checkpoint.size, 12);
    assert_eq!(v.log.vkey, w.log.verifier_key());
    assert_eq!(
        v.cosigners,
        vec![
            ("A".to_string(), 1_700_000_000),
            ("C".to_string(), 1_700_000_002),
            ("D".to_string(), 1_700_000_003)
        ]
    );
}

#[test]
fn quorum_not_met_says_who_cosigned_and_what_is_needed() {
    let w = world();
    // D cosigns but is not in the quorum group; A alone is one of the two needed.
    let bytes = cosigned(&w, &w.text, true, &[0, 3], &[]);
    let err = w.policy.verify_checkpoint(&bytes).unwrap_err();
    assert!(matches!(
        err,
        PolicyError::QuorumNotMet {
            count: 2,
            total: 4,
            ..
        }
    ));
    let msg = err.to_string();
    assert_eq!(
        msg,
        "quorum not met: cosigned by 2 of 4 policy witnesses (A, D), needs group abc to have 2 of 3 members (A, B, C)"
    );
    let bytes = cosigned(&w, &w.text, true, &[], &[grease(1)]);
    let msg = w.policy.verify_checkpoint(&bytes).unwrap_err().to_string();
    assert!(
        msg.contains("cosigned by 0 of 4 policy witnesses (none)"),
        "{msg}"
    );
}

#[test]
fn cosignature_by_a_witness_outside_the_policy_is_ignored() {
    let w = world();
    let stranger = key("stranger.example", 99);
    let mut n = note::parse(&cosigned(&w, &w.text, true, &[0, 1], &[])).unwrap();
    n.signatures
        .push(cosignature::sign(&stranger, &w.text, 5).unwrap());
    // Even a broken signature by an unknown key is ignored (it is not a known key's).
    let mut broken = cosignature::sign(&stranger, &w.text, 6).unwrap();
    broken.sig[20] ^= 1;
    n.signatures.push(broken);
    let v = w.policy.verify_checkpoint(&n.to_bytes()).unwrap();
    let names: Vec<&str> = v.cosigners.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    // The stranger does not help reach the quorum.
    let bytes = cosigned(
        &w,
        &w.text,
        true,
        &[0],
        &[cosignature::sign(&stranger, &w.text, 5).unwrap()],
    );
    assert!(matches!(
        w.policy.verify_checkpoint(&bytes),
        Err(PolicyError::QuorumNotMet { count: 1, .. })
    ));
}

#[test]
fn cosignature_over_a_different_checkpoint_is_rejected() {
    let w = world();
    let other = w.text.replace("\n12\n", "\n13\n");
    let mut n = note::parse(&cosigned(&w, &w.text, true, &[0, 1], &[])).unwrap();
    // Witness C's cosignature, made for another tree, pasted onto this one.
    n.signatures
        .push(cosignature::sign(&w.witnesses[2], &other, 7).unwrap());
    let err = w.policy.verify_checkpoint(&n.to_bytes()).unwrap_err();
    assert_eq!(
        err,
        PolicyError::BadSignature {
            name: "witness2.example".into(),
            id: cosignature::verifier_key(&w.witnesses[2]).id
        }
    );
    assert!(err.to_string().contains("witness2.example+"), "{err}");
}

#[test]
fn the_log_must_sign_and_be_known() {
    let w = world();
    // Witnesses alone, however many, are not the log.
    let bytes = cosigned(&w, &w.text, false, &[0, 1, 2], &[]);
    assert_eq!(
        w.policy.verify_checkpoint(&bytes),
        Err(PolicyError::MissingLogSignature {
            origin: "log.example/rget".into()
        })
    );
    let bytes = cosigned(&w, &w.text, false, &[], &[grease(1)]);
    assert!(matches!(
        w.policy.verify_checkpoint(&bytes),
        Err(PolicyError::MissingLogSignature { .. })
    ));
    // A tampered log signature names the log's key.
    let mut n = note::parse(&cosigned(&w, &w.text, true, &[0, 1], &[])).unwrap();
    n.signatures[0].sig[0] ^= 1;
    assert_eq!(
        w.policy.verify_checkpoint(&n.to_bytes()),
        Err(PolicyError::BadSignature {
            name: "log.example/rget".into(),
            id: w.log.key_id()
        })
    );
    // A checkpoint from another origin, even signed by our log's key, is an unknown log.
    let foreign = w.text.replace("log.example/rget", "evil.example/log");
    let bytes = cosigned(&w, &foreign, true, &[0, 1], &[]);
    assert_eq!(
        w.policy.verify_checkpoint(&bytes),
        Err(PolicyError::UnknownLog {
            origin: "evil.example/log".into()
        })
    );
    // Not a checkpoint, or not a note.
    let bytes = note::sign("log.example/rget\n012\nAAAA\n", &[&w.log]).unwrap();
    assert!(matches!(
        w.policy.verify_checkpoint(&bytes),
        Err(PolicyError::Checkpoint(_))
    ));
    assert!(matches!(
        w.policy.verify_checkpoint(w.text.as_bytes()),
        Err(PolicyError::Note(NoteError::NoSeparator))
    ));
}

#[test]
fn quorum_none_needs_only_the_log() {
    let w = world();
    let policy = Policy::parse(&format!("log {}\nquorum none\n", w.log.verifier_key())).unwrap();
    let v = policy
        .verify_checkpoint(&cosigned(&w, &w.text, true, &[], &[]))
        .unwrap();
    assert!(v.cosigners.is_empty());
}

#[test]
fn go_style_witness_key_file_cosigns() {
    // A witness's key file is an ordinary Go 0x01 private key; its published key is the 0x04 form.
    let w = SignerKey::generate("witness.example/w").unwrap();
    let reread = SignerKey::parse(&w.to_string()).unwrap();
    let v4 = cosignature::verifier_key(&reread);
    assert_eq!(v4.alg, ALG_COSIGNATURE_V1);
    assert_ne!(v4.id, reread.key_id());
    let text = "o.example\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    let s = cosignature::sign(&w, text, 1).unwrap();
    let bytes = note::Note {
        text: text.into(),
        signatures: vec![s],
    }
    .to_bytes();
    let opened = note::open(&bytes, &[VerifierKey::parse(&v4.to_string()).unwrap()]).unwrap();
    assert_eq!(opened.verified[0].timestamp, Some(1));
}

// ---- never panic ---------------------------------------------------------------------------

fn valid_note() -> Vec<u8> {
    let w = world();
    cosigned(&w, &w.text, true, &[0, 1], &[grease(3)])
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let w = world();
        let _ = note::parse(&bytes);
        let _ = w.policy.verify_checkpoint(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(s);
            let _ = Policy::parse(s);
            let _ = VerifierKey::parse(s);
            let _ = SignerKey::parse(s);
        }
    }

    #[test]
    fn mutated_notes_never_panic_and_never_verify_changed_text(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)
    ) {
        let w = world();
        let original = valid_note();
        let mut bytes = original.clone();
        for (at, b) in edits {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        if let Ok(v) = w.policy.verify_checkpoint(&bytes) {
            // Only changes outside the signed text (in ignored signature lines) may still verify.
            let orig_text = note::parse(&original).unwrap().text;
            prop_assert_eq!(v.checkpoint.format(), orig_text);
        }
    }

    #[test]
    fn parse_to_bytes_round_trips(text in "[a-z \n]{0,40}\n", n in 1usize..5) {
        let signers: Vec<SignerKey> = (0..n).map(|i| key(&format!("k{i}"), i as u8)).collect();
        let refs: Vec<&SignerKey> = signers.iter().collect();
        let bytes = note::sign(&text, &refs).unwrap();
        let parsed = note::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed.text, &text);
        prop_assert_eq!(parsed.to_bytes(), bytes.clone());
        let keys: Vec<VerifierKey> = signers.iter().map(|s| s.verifier_key()).collect();
        prop_assert_eq!(note::open(&bytes, &keys).unwrap().verified.len(), n);
    }
}

//! minisign signatures checked by `rget::core::minisig`: made by the `minisign` crate (and ring, for
//! legacy ones), and, ignored by default (`.ci/run` runs it), by the real `minisign` tool. Without
//! the tool the tool's test fails rather than skips.

use crate::common::minisign::Minisign;
use rget::core::minisig::{self, MinisigError, PublicKey, Signature, StreamVerifier};
use std::path::Path;

fn keypair(m: Minisign, dir: &Path, name: &str) -> PublicKey {
    let (public, _) = m.keypair(dir, name);
    PublicKey::parse(&std::fs::read_to_string(public).unwrap()).unwrap()
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap()
}

#[test]
fn minisign_crate_signatures() {
    signatures(Minisign::Crate);
}

#[test]
#[ignore = "needs the minisign tool: see .ci/run"]
fn real_minisign_signatures() {
    signatures(Minisign::Tool);
}

fn signatures(m: Minisign) {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let key = keypair(m, d, "release");
    let other = keypair(m, d, "other");
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(d.join("SHA256SUMS"), &data).unwrap();

    // The key ID we print is the one minisign prints in the .pub comment.
    assert!(
        read(d, "release.pub").contains(&key.key_id()),
        "key id {} not in .pub",
        key.key_id()
    );
    // The bare base64 line works as well as the whole file.
    let b64_line = read(d, "release.pub").lines().nth(1).unwrap().to_string();
    assert_eq!(PublicKey::parse(&b64_line).unwrap(), key);

    // Default (prehashed) signature.
    m.sign(&d.join("release.key"), &d.join("SHA256SUMS"), None);
    let sig = Signature::parse(&read(d, "SHA256SUMS.minisig")).unwrap();
    assert!(!sig.is_legacy());
    let v = minisig::verify(&key, &sig, &data).unwrap();
    assert_eq!(v.key_id, key.key_id());
    assert_eq!(
        rget::core::trusted_comment::parse(&v.trusted_comment)
            .unwrap()
            .file,
        Some("SHA256SUMS")
    );
    // Streaming gives the same answer, in pieces.
    let mut sv = StreamVerifier::new(&key, &sig).unwrap();
    for chunk in data.chunks(7777) {
        sv.update(chunk);
    }
    assert_eq!(sv.finalize().unwrap(), v);

    // Wrong key.
    assert!(matches!(
        minisig::verify(&other, &sig, &data),
        Err(MinisigError::WrongKey { .. })
    ));
    // Changed file: one flipped byte, one appended byte.
    let mut changed = data.clone();
    changed[1234] ^= 1;
    assert!(matches!(
        minisig::verify(&key, &sig, &changed),
        Err(MinisigError::Invalid(_))
    ));
    let mut longer = data.clone();
    longer.push(0);
    assert!(matches!(
        minisig::verify(&key, &sig, &longer),
        Err(MinisigError::Invalid(_))
    ));
    let mut sv = StreamVerifier::new(&key, &sig).unwrap();
    sv.update(&changed);
    assert!(sv.finalize().is_err());
    // Edited trusted comment (the global signature covers it).
    let edited = read(d, "SHA256SUMS.minisig").replace("file:SHA256SUMS", "file:SHA256SUMX");
    let sig_edited = Signature::parse(&edited).unwrap();
    assert!(matches!(
        minisig::verify(&key, &sig_edited, &data),
        Err(MinisigError::Invalid(_))
    ));
    // Untrusted comment is not covered, by design of minisign.
    let untrusted =
        read(d, "SHA256SUMS.minisig").replace("signature from minisign secret key", "anything");
    assert!(minisig::verify(&key, &Signature::parse(&untrusted).unwrap(), &data).is_ok());

    // Legacy signature: refused, whether whole or streamed.
    m.sign_legacy(
        &d.join("release.key"),
        &d.join("SHA256SUMS"),
        &d.join("legacy.minisig"),
        "legacy one",
    );
    let legacy = Signature::parse(&read(d, "legacy.minisig")).unwrap();
    assert!(legacy.is_legacy());
    assert_eq!(
        minisig::verify(&key, &legacy, &data),
        Err(MinisigError::LegacyRefused)
    );
    assert!(StreamVerifier::new(&key, &legacy).is_err());
}

#![no_main]
//! minisign keys and signatures, against the `minisign` crate (an implementation independent of the
//! `minisign-verify` that rget uses). Input: a `.minisig` (or `.pub`) text, a NUL, the signed data.
//! 1. A public key rget parses, the `minisign` crate parses to the same key id.
//! 2. A signature rget parses verifies in rget (at once and streamed) exactly when it verifies in the
//!    `minisign` crate, over the data, with the fixed publisher key of the seeds.
//! 3. What was signed verifies: the data signed by the `minisign` crate with that key, under a trusted
//!    comment taken from the input, verifies in rget with that trusted comment; one flipped bit of the
//!    data or of the comment does not.
use libfuzzer_sys::fuzz_target;
use rget_core::minisig::{self, MinisigError, PublicKey, Signature, StreamVerifier};
use std::io::Cursor;
use std::sync::OnceLock;

struct Keys {
    rget: PublicKey,
    pk: minisign::PublicKey,
    sk: minisign::SecretKey,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| Keys {
        rget: PublicKey::parse(&rget_fuzz::minisign_public_base64()).unwrap(),
        pk: rget_fuzz::minisign_public(),
        sk: rget_fuzz::minisign_secret(),
    })
}

fn rget_verify(sig: &Signature, data: &[u8]) -> Result<minisig::Verified, MinisigError> {
    minisig::verify(&keys().rget, sig, data)
}

/// Verifying at once and streaming (in pieces the input chooses) must agree.
fn rget_verify_both(sig: &Signature, data: &[u8]) -> Result<minisig::Verified, MinisigError> {
    let once = rget_verify(sig, data);
    if !sig.is_legacy() {
        let step = rget_fuzz::pick(data, 97) + 1;
        let streamed = StreamVerifier::new(&keys().rget, sig).and_then(|mut v| {
            data.chunks(step).for_each(|c| v.update(c));
            v.finalize()
        });
        assert_eq!(streamed, once, "streamed verification disagrees");
    }
    once
}

fn agrees_with_minisign_crate(text: &str, data: &[u8]) {
    if let Ok(k) = PublicKey::parse(text) {
        let line = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap();
        let pk = minisign::PublicKey::from_base64(line).expect("the minisign crate reads the key");
        let id = u64::from_le_bytes(pk.keynum().try_into().unwrap());
        assert_eq!(k.key_id(), format!("{id:X}"));
    }
    let Ok(sig) = Signature::parse(text) else {
        return;
    };
    let ours = rget_verify_both(&sig, data);
    if rget_fuzz::minisign_crate_differs(text) {
        return;
    }
    let sigbox = minisign::SignatureBox::from_string(text).expect("the minisign crate reads it");
    let theirs = minisign::verify(&keys().pk, &sigbox, Cursor::new(data), true, false, true);
    // rget refuses legacy (not prehashed) signatures, which the minisign crate still accepts.
    assert_eq!(
        ours.is_ok(),
        theirs.is_ok() && sigbox.is_prehashed(),
        "rget: {ours:?}; minisign crate: {theirs:?}"
    );
    if let Ok(v) = ours {
        assert_eq!(v.trusted_comment, sigbox.trusted_comment().unwrap());
    }
}

fn signed_verifies(comment_src: &[u8], data: &[u8]) {
    let comment: String = String::from_utf8_lossy(comment_src)
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|&c| c != '\r' && c != '\n')
        .take(200)
        .collect();
    let k = keys();
    let sigbox = minisign::sign(None, &k.sk, Cursor::new(data), Some(&comment), Some("fuzz"))
        .expect("the minisign crate signs");
    let text = sigbox.to_string();
    let sig = Signature::parse(&text).expect("rget reads what the minisign crate wrote");
    assert!(!sig.is_legacy());
    let v = rget_verify_both(&sig, data).expect("rget verifies what was signed");
    assert_eq!(v.trusted_comment, comment);
    assert_eq!(v.key_id, k.rget.key_id());
    if !data.is_empty() {
        let mut bad = data.to_vec();
        let bit = rget_fuzz::pick(comment_src, bad.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
        assert!(
            rget_verify(&sig, &bad).is_err(),
            "a changed file still verifies"
        );
    }
    // Change the trusted comment (append a character): the global signature must catch it.
    let forged = text.replacen(
        &format!("trusted comment: {comment}\n"),
        &format!("trusted comment: {comment}x\n"),
        1,
    );
    let forged = Signature::parse(&forged).expect("still well-formed");
    assert!(matches!(
        rget_verify(&forged, data),
        Err(MinisigError::Invalid(_))
    ));
}

fuzz_target!(|input: &[u8]| {
    let (head, data) = match input.iter().position(|&b| b == 0) {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &[][..]),
    };
    if let Ok(text) = std::str::from_utf8(head) {
        agrees_with_minisign_crate(text, data);
    }
    signed_verifies(head, data);
});

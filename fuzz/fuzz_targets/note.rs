#![no_main]
//! Signed-note parsing and opening: never panics; whatever parses formats back to the same bytes; a
//! note never opens with a key that did not sign it; and what was signed verifies: the text of any
//! note that parses, signed by a fixed key, opens with that key, and with one bit of that signature
//! flipped it is refused as an invalid signature by a known key.
use libfuzzer_sys::fuzz_target;
use rget_core::note::{self, NoteError};

fuzz_target!(|data: &[u8]| {
    // A fixed key nobody used on the fuzzer's input: opening must fail.
    let unrelated = note::VerifierKey::parse(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    )
    .unwrap();
    assert!(note::open(data, &[unrelated]).is_err());
    let Ok(n) = note::parse(data) else { return };
    assert_eq!(n.to_bytes(), data);

    let key = rget_fuzz::log_key();
    let Ok(signed) = note::sign(&n.text, &[&key]) else {
        // A parsed text is always signable, unless the signature line pushes it over the size limit.
        assert!(n.text.len() + 200 > note::MAX_NOTE_SIZE);
        return;
    };
    let opened = note::open(&signed, &[key.verifier_key()]).expect("what was signed opens");
    assert_eq!(opened.note.text, n.text);
    assert_eq!(opened.verified.len(), 1);
    let mut again = note::parse(&signed).unwrap();
    let bit = rget_fuzz::pick(data, 64 * 8);
    again.signatures[0].sig[bit / 8] ^= 1 << (bit % 8);
    assert!(matches!(
        note::open(&again.to_bytes(), &[key.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
});

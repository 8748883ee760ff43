#![no_main]
//! Signed-note parsing and opening: never panics; whatever parses formats back to the same bytes; a
//! note never opens with a key that did not sign it.
use libfuzzer_sys::fuzz_target;
use rget_core::note;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = note::parse(data) {
        assert_eq!(n.to_bytes(), data);
    }
    // A fixed key nobody used on the fuzzer's input: opening must fail (unless the input is empty of
    // known signatures, which is also a failure).
    let key = note::VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
    assert!(note::open(data, &[key]).is_err());
});

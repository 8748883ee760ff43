#![no_main]
//! Records (`rget/record/v1`): never panics; whatever parses re-builds to the same bytes; and a
//! record built from a URL and `SHA256SUMS` bytes (the input's first line and the rest) parses back to
//! the canonical form of that URL, those bytes and their SHA-256 (computed here with `ring`).
use libfuzzer_sys::fuzz_target;
use rget_core::record;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = record::parse(data) {
        let rebuilt = record::build(r.url, r.sums).expect("a parsed record rebuilds");
        assert_eq!(rebuilt, data);
    }
    let (url, sums) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(url) = std::str::from_utf8(url) else {
        return;
    };
    if let Ok(built) = record::build(url, sums) {
        let r = record::parse(&built).expect("a built record parses");
        assert_eq!(Ok(r.url), record::canonical_url(url).as_deref());
        assert_eq!(r.sums, sums);
        let digest = ring::digest::digest(&ring::digest::SHA256, sums);
        assert_eq!(&r.sums_sha256.0[..], digest.as_ref());
        assert!(built.len() <= record::MAX_RECORD);
    }
});

#![no_main]
//! The log's answer to a lookup (`<index> <sha256>` lines), read by every `rget get` without a proof
//! file: strict, so one answer has one spelling. Whatever parses has strictly increasing indexes and
//! is exactly the lines written back from the values.
use libfuzzer_sys::fuzz_target;
use rget_fetch::parse_lookup;

fuzz_target!(|data: &[u8]| {
    let Ok(records) = parse_lookup(data) else {
        return;
    };
    let mut text = String::new();
    for (i, h) in &records {
        text.push_str(&format!("{i} {}\n", h.to_hex()));
    }
    assert_eq!(text.as_bytes(), data);
    assert!(records.windows(2).all(|w| w[0].0 < w[1].0));
});

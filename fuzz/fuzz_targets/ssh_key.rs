#![no_main]
//! OpenSSH key parsing (public key files and lines, unencrypted private keys): never panics; what
//! parses is consistent (a private key's public key is its seed's; a public key formats back to a
//! line that parses to the same key).
use libfuzzer_sys::fuzz_target;
use rget_core::openssh::{self, parse_private_key, parse_public_key, parse_public_keys};

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = parse_private_key(data) {
        assert_eq!(k.seed.public_key(), k.public_key);
        let again = openssh::format_private_key(&k.seed, "fuzz", 1);
        assert_eq!(parse_private_key(again.as_bytes()), Ok(k));
    }
    if let Ok(file) = parse_public_keys(data) {
        assert!(!file.keys.is_empty());
        for key in &file.keys {
            let line = openssh::format_public_key(key, "c");
            assert_eq!(parse_public_key(&line).map(|l| l.key), Ok(*key));
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_public_key(s);
    }
});

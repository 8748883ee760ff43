#![no_main]
//! minisign key and signature parsing: never panics.
use libfuzzer_sys::fuzz_target;
use rget_core::minisig::{PublicKey, Signature};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = PublicKey::parse(s);
        if let Ok(sig) = Signature::parse(s) {
            let _ = sig.key_id();
        }
    }
});

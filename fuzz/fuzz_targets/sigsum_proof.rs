#![no_main]
//! Sigsum proof parsing: never panics; a version 2 proof formats back to the same bytes, a version 1
//! proof to the version 2 proof with the same content; verifying any proof under a built-in policy
//! terminates with a verdict (and never accepts one for data it was not made for).
use libfuzzer_sys::fuzz_target;
use rget_core::digest::sha256;
use rget_core::sigsum::proof::SigsumProof;
use rget_core::sigsum::{builtin, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = SigsumProof::parse(data) else {
        return;
    };
    let text = p.to_text();
    if p.short_checksum.is_none() {
        assert_eq!(text.as_bytes(), data);
    } else {
        let again = SigsumProof::parse(text.as_bytes()).expect("the version 2 form parses");
        assert_eq!(
            again,
            SigsumProof {
                short_checksum: None,
                ..p.clone()
            }
        );
    }
    if let Some(Ok(policy)) = builtin::policy("sigsum-test-2025-3") {
        let _ = verify::checkpoint_note(&p, &policy);
        // The fuzzer cannot forge the published proof's signatures for other data.
        let signer = [0x99; 32];
        assert!(verify::verify(&sha256(b"fuzz"), &p, &[signer], &policy).is_err());
    }
});

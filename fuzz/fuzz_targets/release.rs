//! The release inputs of the bootstrap and `rget self`: a pin set (four files, split at NUL bytes),
//! the `LATEST` hint, and the release-marker scan of a kept binary. None may panic; whatever parses
//! must be self-consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rget_core::pins::{self, PinFiles, Pins, ReleaseTrust, ReleaseTrustFiles, Version};
use rget_core::release;

fuzz_target!(|data: &[u8]| {
    // The marker scan reads any bytes; the digest it returns is the digest of all of them.
    let (digest, len, markers) =
        release::scan(&mut &data[..]).expect("reading a slice cannot fail");
    assert_eq!(len, data.len() as u64);
    assert_eq!(digest, rget_core::digest::sha256(data));
    for (v, t) in &markers {
        assert!(Version::parse(v).is_some() && !t.is_empty());
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(v) = Version::parse(text.trim()) {
        assert_eq!(v.text, text.trim());
    }
    let parts: Vec<&str> = text.splitn(4, '\0').collect();
    if let [sums, keys, policy, source] = parts[..] {
        let trust = ReleaseTrustFiles {
            keys,
            policy,
            source,
        };
        if let Ok(p) = Pins::parse(PinFiles { sums, trust }) {
            // A parsed source names a release directory for any version, and LATEST beside it.
            let dir = p.trust.source_dir("1.2.3");
            assert!(dir.starts_with("https://") && dir.ends_with('/'));
            assert!(p.trust.latest_url().ends_with("LATEST"));
            for r in p.releases_for("x86_64-unknown-linux-gnu") {
                assert_eq!(
                    r.name,
                    pins::binary_name(&r.version.text, "x86_64-unknown-linux-gnu")
                );
            }
        }
        let _ = ReleaseTrust::parse(trust);
    }
});

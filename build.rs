//! Embeds what `rget self verify | upgrade | rollback` trust about rget's own releases: the release
//! keys, the tlog-policy and the release source from `pinned/` (or `$RGET_PINNED_DIR`), the same
//! files the bootstrap embeds. Not the pinned digests: rget cannot carry its own digest (it would be
//! circular), so it verifies itself by signature, log and policy, as the bootstrap does for releases
//! newer than its pins. The files are parsed when `rget self` runs (a build script cannot use the
//! crate it builds); the bootstrap's build validates the same files at build time.

// A build script's panic fails the build with its message, which is what it should do when Cargo's
// own environment (OUT_DIR, TARGET) is missing: not input, so the house rule against panics does not apply.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

const FILES: [&str; 3] = ["release.pub", "policy", "source"];

fn main() {
    println!("cargo:rerun-if-env-changed=RGET_PINNED_DIR");
    let dir = match std::env::var_os("RGET_PINNED_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
            .join("pinned"),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for f in FILES {
        let p = dir.join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| {
            eprintln!("error: cannot read the pin file {}: {e}", p.display());
            std::process::exit(1)
        });
        std::fs::write(out.join(f), text).expect("write the pin copy in OUT_DIR");
    }
    // The target this rget is built for: its release file is `rget-<version>-<target>`.
    println!(
        "cargo:rustc-env=RGET_TARGET={}",
        std::env::var("TARGET").expect("TARGET")
    );
}

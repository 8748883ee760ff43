//! Embeds the pin set: reads `pinned/` (or `$RGET_PINNED_DIR`), validates the four files with the
//! core's own parsers (`rget_core::pins`, the same code the binary runs), and copies them into
//! `OUT_DIR`, where `main.rs` includes them. A malformed pin set fails the build with a message that
//! names the file and the problem.
//!
//! Two things are settled here rather than at run time, so that the bootstrap carries only the code
//! its pins need (it must stay small): a Sigsum-format `policy` is embedded as the C2SP tlog-policy
//! it stands for (`pins::policy_as_tlog`: one policy parser in the binary), and a pin set of
//! `ssh-ed25519` release keys sets `cfg(rget_pins_sigsum)`, which makes `main.rs` verify releases
//! with the Sigsum verifier only (a minisign pin set links the minisign and tlog-proof verifier
//! only).

// A build script's panic fails the build with its message, which is what it should do when Cargo's
// own environment (OUT_DIR, TARGET) is missing: not input, so the house rule against panics does not apply.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use rget_core::pins;
use std::path::{Path, PathBuf};

const FILES: [&str; 4] = ["SHA256SUMS", "release.pub", "policy", "source"];

fn main() {
    println!("cargo:rerun-if-env-changed=RGET_PINNED_DIR");
    let dir = match std::env::var_os("RGET_PINNED_DIR").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("pinned"),
    };
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut texts = Vec::new();
    for f in FILES {
        let p = dir.join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        match std::fs::read_to_string(&p) {
            Ok(t) => texts.push(t),
            Err(e) => fail(&format!(
                "cannot read the pin file {}: {e} (set RGET_PINNED_DIR to a directory with {})",
                p.display(),
                FILES.join(", ")
            )),
        }
    }
    println!("cargo::rustc-check-cfg=cfg(rget_pins_sigsum)");
    let target = std::env::var("TARGET").expect("TARGET");
    texts[2] = pins::policy_as_tlog(&texts[2])
        .unwrap_or_else(|e| fail(&format!("malformed pin set in {}: {e}", dir.display())));
    let files = pins::PinFiles {
        sums: &texts[0],
        trust: pins::ReleaseTrustFiles {
            keys: &texts[1],
            policy: &texts[2],
            source: &texts[3],
        },
    };
    match pins::Pins::parse(files) {
        Ok(p) => {
            if p.trust.is_sigsum() {
                println!("cargo:rustc-cfg=rget_pins_sigsum");
            }
            if p.releases_for(&target).is_empty() {
                println!(
                    "cargo:warning=the pin set in {} has no release for {target}: this bootstrap will refuse to run",
                    dir.display()
                );
            }
        }
        Err(e) => fail(&format!("malformed pin set in {}: {e}", dir.display())),
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for (f, t) in FILES.iter().zip(&texts) {
        std::fs::write(out.join(f), t).expect("write the pin copy in OUT_DIR");
    }
    println!("cargo:rustc-env=RGET_BOOTSTRAP_TARGET={target}");
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    println!("cargo:warning={msg}");
    std::process::exit(1);
}

//! The bootstrap builds against the core alone and prints its version.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn prints_its_version_and_refuses_unknown_arguments() {
    let exe = env!("CARGO_BIN_EXE_rget-bootstrap");
    let out = Command::new(exe).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("rget-bootstrap {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(exe).arg("--frob").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap().lines().count(),
        1,
        "one-line error"
    );
}

#[test]
fn help_says_what_is_checked_the_options_and_the_exit_codes() {
    let exe = env!("CARGO_BIN_EXE_rget-bootstrap");
    let out = Command::new(exe).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "usage: rget-bootstrap",
        "pinned",
        "transparency log",
        "--prefix DIR",
        "--mirror URL",
        "--dry-run",
        "default: self verify",
        "Exit codes:",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }
}

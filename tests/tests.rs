//! The integration tests of rget: one test binary (`[[test]] name = "integration"` in Cargo.toml,
//! `autotests = false`), so Cargo links the test code once instead of once per file.
//!
//! Each area is a module: a file `tests/AREA.rs`, or a directory `tests/AREA/` whose `mod.rs` lists
//! its files. Everything shared lives once in `tests/common/` (running `rget`, HTTPS with a test CA,
//! log and witness processes, published releases, minisign keys and signatures, Go's reference
//! helper, random numbers). Tests that need a tool outside Cargo (`minisign`, Go with x/mod,
//! `systemd-analyze`) are `#[ignore = "needs <tool>: see .ci/run"]`:
//! `cargo test --workspace --locked -- --include-ignored` runs them, and `.ci/run` installs the
//! tools and does so.
//!
//! Run one area or test by its path: `cargo test --test integration client::e2e`.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod client;
mod core;
mod demo;
mod docs;
mod fetch;
mod hardening;
mod install;
mod interop;
mod log;
mod network;
mod release;
mod sigsum;
mod witness;

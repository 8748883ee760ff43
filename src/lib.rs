//! rget: verified downloads of release files.
//!
//! The crate is layered so that trust flows inward:
//! - [`core`] is pure and deterministic: formats (SHA256SUMS, minisign, signed notes, checkpoints,
//!   cosignatures, tlog-policy, tlog-proof, records), Merkle proofs and tiles. It does no I/O beyond
//!   `Read`/`Write` and depends on no network, async runtime or CLI crate. The bootstrap uses it with
//!   default features off.
//! - `cli` (feature `cli`) is the `rget` command line.
//!
//! No `unsafe` outside `sys`, the one module of system-call wrappers.
#![deny(unsafe_code)]

pub mod core;
pub mod durable;

#[cfg(feature = "cli")]
pub mod cli;

#[cfg(feature = "cli")]
pub mod demo;

#[cfg(feature = "log")]
pub mod log;

#[cfg(feature = "log")]
pub mod witness;

#[cfg(feature = "fetch")]
pub mod fetch;

#[cfg(feature = "fetch")]
mod sys;

#[cfg(feature = "fetch")]
pub mod client;

#[cfg(feature = "fetch")]
pub mod install;

#[cfg(feature = "fetch")]
pub mod interrupt;

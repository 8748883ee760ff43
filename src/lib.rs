//! rget: verified downloads of release files.
//!
//! The layers are crates, so that the compiler, not a convention, keeps trust flowing inward:
//! - `rget-core` ([`core`]) is pure and deterministic: formats (SHA256SUMS, minisign, signed notes,
//!   checkpoints, cosignatures, tlog-policy, tlog-proof, records, pins, Sigsum), Merkle proofs and
//!   tiles, exit codes. No I/O beyond `Read`/`Write`; no network, async runtime or CLI crate.
//! - `rget-fetch` ([`fetch`]) is what the bootstrap needs besides the core: the blocking HTTPS
//!   client, durable writes and locks, the install of a verified binary, interruption handling, and
//!   the system-call wrappers (the only `unsafe`).
//! - this crate: the client (trust, checkpoint memory, `get`, audit, `self`), the log, the witness,
//!   their HTTP serving plumbing ([`serve`]), publishing with a minisign key ([`publish`]), reading
//!   key and password files only this user can change ([`secret`]), the demo and the CLI.
//!   `rget-bootstrap` depends on the two crates above and never on this one (`.ci/run` checks it).
//!
//! Imports: code in this workspace names the crate an item lives in (`rget_core::note`,
//! `rget_fetch::durable`). This crate also re-exports the two as [`core`] and [`fetch`], so that
//! the integration tests and benchmarks, which drive the whole stack through `rget`, keep one
//! import root; new code should import `rget_core` and `rget_fetch` directly.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub use rget_core as core;
pub use rget_fetch as fetch;

pub mod cli;
pub mod client;
pub mod demo;
pub mod log;
pub mod publish;
pub mod secret;
pub mod serve;
pub mod witness;

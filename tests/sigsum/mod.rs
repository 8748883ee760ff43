//! Sigsum: `rget sigsum verify` against the published proof and every spoiling of it (`verify`),
//! agreement with the `sigsum` crate on generated proofs (`interop`), OpenSSH keys (`keys`); and the
//! Sigsum path end to end with a real Sigsum log and witnesses (`e2e`), `rget verify`, `rget cat`
//! and the commands that refuse a Sigsum policy (`commands`), its refusals of bad input
//! (`bad_input`) and the log's Sigsum API (`log_api`).

mod bad_input;
mod commands;
mod e2e;
mod interop;
mod keys;
mod log_api;
mod many;
mod verify;

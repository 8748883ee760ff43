//! Sigsum: `rget sigsum verify` against the published proof and every spoiling of it (`verify`),
//! agreement with the `sigsum` crate on generated proofs (`interop`), OpenSSH keys (`keys`).

mod interop;
mod keys;
mod verify;

//! rget-core, the verification core: pure functions over bytes. Every verifier in rget (the
//! bootstrap, `rget get`, the log, the witness, the auditor) goes through these functions and
//! nothing else.
//!
//! Formats (SHA256SUMS, minisign, signed notes, checkpoints, cosignatures, tlog-policy, tlog-proof,
//! records, pins, Sigsum proofs and policies, the witness network's log lists and add-checkpoint
//! budgets), Merkle proofs and tiles, and the exit codes every rget program reports. No I/O beyond
//! `Read`/`Write`, no network, no async runtime, no CLI crate: the crate's dependencies are hashing,
//! Ed25519, minisign verification and encodings, so that what decides trust can be read on its own.
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod b64;
pub mod checkpoint;
pub mod cosignature;
pub mod digest;
pub mod ed25519;
pub mod escape;
pub mod exit;
pub mod log_list;
pub mod merkle;
pub mod minisig;
pub mod note;
pub mod openssh;
pub mod output_name;
pub mod percent;
pub mod pins;
pub mod policy;
pub mod qpd;
pub mod record;
pub mod release;
pub mod sigsum;
pub mod sums;
pub mod tile;
pub mod tlog_proof;
pub mod trusted_comment;
pub mod url;
pub mod verify;

//! The client side of rget: what a build host or a release team trusts, and what it remembers.
//!
//! - [`trust`]: which logs and witnesses (the tlog-policy file) and which publisher keys apply;
//!   [`policy_lines`]: the policy lines operators publish, and the policy users assemble from them;
//!   [`keys_file`]: adding a publisher key to the keys file.
//! - [`state`]: the last verified checkpoint of every log (no rollback, no fork; private to its
//!   user, re-verified when read), and per-log audit progress.
//! - [`verified`]: every check `get`, `verify` and `cat` make, with the [`context::Context`] they run
//!   with and the [`error::ClientError`] they fail with.
//! - [`destination`]: where `get` may write, by the kind of file the destination is.
//! - [`url_records`]: a URL the logs list with more than one `SHA256SUMS` (a replayed release).
//! - [`own_release`]: rget's own releases, for `rget self verify | upgrade | rollback`.
//! - [`sigsum`]: Sigsum logs: the download path's proofs, publishing, key-based monitoring.
//!
//! Nothing here reads the process environment behind the caller's back: paths come from a
//! [`trust::Env`], which `Env::from_process()` fills from the real environment and tests fill by hand.

pub mod audit;
pub mod context;
pub mod destination;
pub mod error;
pub mod keys_file;
pub mod own_release;
pub mod policy_lines;
pub mod sigsum;
pub mod state;
pub mod trust;
pub mod url_records;
pub mod verified;

//! rget-fetch: what the bootstrap needs besides the core, and what rget shares with it.
//!
//! The HTTPS client is blocking (ureq 3, rustls with ring), with no async runtime:
//!
//! - [`Client`] / [`Config`]: webpki-roots plus `SSL_CERT_FILE` and `--cacert` roots, https only
//!   unless `allow_http`, redirects followed by our code (at most 5, never https → http), proxies
//!   from the environment with `NO_PROXY`, connect and per-read timeouts, retries with backoff for
//!   GETs that failed in transit, and an optional [`Deadline`] for the whole command that bounds all
//!   of it (connect, every read, every retry and pause).
//! - [`Client::get_bytes`] for small files, [`Client::download`] to stream a body into a temporary
//!   file beside its destination while hashing it ([`Downloaded::persist`] moves it into place).
//! - [`LogClient`]: a log's checkpoint, tiles (a [`TileReader`](rget_core::tile::TileReader)),
//!   lookup and submission.
//! - [`SigsumLog`]: a Sigsum log's API (tree head, proofs, leaves, `add-leaf`).
//! - [`limits`]: the size limit of everything fetched.
//!
//! Every failure is a [`FetchError`], one line naming the URL and the problem, with a [`Kind`].
//!
//! Beside the client:
//! - [`durable`]: every atomic, durable file write and every lock file of rget (the log, the
//!   witness, the client's checkpoint memory, key files, release files, `rget sums -o`).
//! - [`release`]: a release's files fetched from the first location that serves them (the
//!   bootstrap and `rget self`).
//! - [`install`]: the atomic install of a verified binary, keeping the previous one.
//! - [`interrupt`]: temporary files removed on SIGINT, SIGTERM and SIGHUP.
//! - [`sys`]: the only `unsafe` of rget outside the bootstrap: thin system-call wrappers.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod deadline;
mod download;
mod error;
mod log_client;
mod proxy;
mod roots;
mod sigsum_log;
mod url;

pub mod durable;
pub mod install;
pub mod interrupt;
pub mod limits;
pub mod release;
pub mod sys;

pub use client::{Client, Config, Fetched};
pub use deadline::Deadline;
pub use download::{Downloaded, TEMP_PREFIX, TEMP_SUFFIX, Transfer, sweep_abandoned};
pub use error::{FetchError, Kind};
pub use log_client::{LogClient, LookupError, parse_lookup, percent_encode};
pub use proxy::ProxyConfig;
pub use sigsum_log::{Added, SigsumLog};
/// The fetcher's URL type, exported only for the fuzz target of `Location` handling (`fuzz/`).
#[doc(hidden)]
pub use url::Url;

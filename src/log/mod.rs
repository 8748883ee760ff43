//! The transparency log: a C2SP tlog-tiles log of `rget/record/v1` entries, or (made with
//! `rget log init --sigsum`) of Sigsum leaves, with the Sigsum API besides (`sigsum_api`).
//!
//! A log directory `DIR` holds:
//! ```text
//! DIR/log.key        the log's private note key (PRIVATE+KEY+<origin>+…), mode 0600, never served
//! DIR/log.pub        its verifier key (the line `rget log init` prints)
//! DIR/tree-state     the sequenced tree: size and root, durable before any checkpoint for it is signed
//! DIR/lookup-index   derived data: url → (index, sha256) snapshot, rebuilt from entry bundles
//! DIR/lock           held (flock) by the one process that sequences this log
//! DIR/public/        exactly what a web server or CDN serves:
//!     checkpoint                 the signed (and cosigned) checkpoint
//!     tile/<L>/<N>[.p/<W>]       hash tiles
//!     tile/entries/<N>[.p/<W>]   entry bundles
//! ```
//! Everything under `public/` except `checkpoint` is immutable once a checkpoint covers it; partial
//! tiles are deleted once superseded, and nothing the durable tree does not vouch for is kept
//! (`published`).

pub mod dir;
pub mod index;
pub mod metrics;
pub mod participation;
pub mod published;
pub mod sequencer;
pub mod server;
pub mod sigsum_api;
pub mod state;
pub mod witnessing;

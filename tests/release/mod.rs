//! The publisher's side: `rget sums`, `rget keygen` and `rget release`, and rget's own release
//! process (`bootstrap/release.sh`).

mod cli;
mod process;
mod sums;

//! The publisher's side: `rget sums`, `rget keygen` and `rget release` (also under faults), and
//! rget's own release process (`bootstrap/release.sh`).

mod cli;
mod faults;
mod process;
mod sums;

//! `rget get`, `verify`, `cat`, `submit` and `audit`, the client's trust state, and setting up its
//! trust (`rget policy`, `rget keys`).

mod audit;
mod e2e;
mod keys_lock;
mod many;
mod overlap;
mod progress;
mod state;
mod trust_setup;

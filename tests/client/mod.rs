//! `rget get`, `verify`, `cat`, `submit` and `audit`, and the client's trust state.

mod audit;
mod e2e;
mod many;
mod overlap;
mod progress;
mod state;

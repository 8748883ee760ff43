//! The transparency log: the sequencer in process, `rget log serve` as a process, kill -9 crash
//! tests, disk use per record, and the log asking witnesses for cosignatures.

mod crash;
mod disk;
mod quorum_refusals;
mod sequencer;
mod server;
mod witnessing;

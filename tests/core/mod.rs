//! The verification core (`rget::core`) in memory: Merkle trees and tiles, signed notes and
//! checkpoints, and the offline verification of a tlog-proof.

mod merkle;
mod notes;
mod verify;

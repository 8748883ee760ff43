//! What the human summaries of the verifying commands (`get`, `release`, `self`, `sigsum verify`)
//! say alike.

use rget_core::policy::VerifiedCheckpoint;

/// Who cosigned `vc`: `by w1, w2`, or `by no witness (<quorum> is none)`, `quorum` naming the
/// quorum in force ("the policy's quorum", "the pinned quorum").
pub fn cosigned_by(vc: &VerifiedCheckpoint, quorum: &str) -> String {
    let names: Vec<&str> = vc.cosigners.iter().map(|(n, _)| n.as_str()).collect();
    if names.is_empty() {
        format!("by no witness ({quorum} is none)")
    } else {
        format!("by {}", names.join(", "))
    }
}

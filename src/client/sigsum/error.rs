//! Why the Sigsum path failed: proving a download ([`super::prove`]), publishing
//! ([`super::submit`]) or monitoring ([`super::audit`]). [`SigsumClientError::class`] gives each
//! cause its [`Class`] by an exhaustive match, as [`ClientError::class`] does for the rest.

use crate::client::error::Class;
#[cfg(doc)]
use crate::client::error::ClientError;
use rget_core::policy::PolicyError;
use rget_core::sigsum::proof::ProofError;
use rget_core::sigsum::token::TokenError;
use rget_core::sigsum::verify::SigsumError;
use rget_core::url::CanonicalUrl;
use rget_fetch::FetchError;
use std::path::PathBuf;

/// A failure of the Sigsum path: one line that names the problem and what it concerns.
#[derive(Debug, thiserror::Error)]
pub enum SigsumClientError {
    // ---- the policy and the keys
    /// `rget audit --sigsum` or `rget submit --sigsum-…` under a policy of rget logs.
    #[error("{}: {what} (its logs are not Sigsum logs)", path.display())]
    NotSigsumPolicy { path: PathBuf, what: &'static str },
    #[error("{0} is not a Sigsum log")]
    NotSigsumLog(String),
    #[error(
        "the policy is a Sigsum policy, whose proofs are checked against the publisher's ssh-ed25519 key, and no key applies to {0}: give it with --key or in the keys file"
    )]
    NoKey(CanonicalUrl),
    #[error(
        "a minisign key applies to {sums_url} ({key}), but the policy is a Sigsum policy, whose proofs carry an ssh-ed25519 signature: give the publisher's ssh-ed25519 key"
    )]
    MinisignKey { sums_url: CanonicalUrl, key: String },

    // ---- a download's SHA256SUMS.proof
    /// Exit code 5, as for a `SHA256SUMS` recorded in no trusted log.
    #[error(
        "{sums_url} is not proved to be in a Sigsum log: {proof_url} is not found (the policy is a Sigsum policy)"
    )]
    NoProof {
        sums_url: CanonicalUrl,
        proof_url: String,
    },
    #[error("{proof_url}: {err}")]
    ProofFile { proof_url: String, err: ProofError },
    #[error("{proof_url}: {err}")]
    Unproved {
        proof_url: String,
        err: Box<SigsumError>,
    },

    // ---- a log's answers
    /// A tree head that does not verify: `err` is the log's signature or the quorum.
    #[error("{url}: {err}")]
    TreeHead { url: String, err: Box<SigsumError> },
    #[error("{url}: {err}")]
    Checkpoint { url: String, err: PolicyError },

    // ---- publishing
    #[error("the new leaf signature does not verify")]
    LeafSignature,
    /// Every log of the policy refused the leaf (or could not be reached): all of their errors.
    #[error(
        "no Sigsum log of the policy accepted the leaf: {}",
        failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NoLogAccepted { failures: Vec<FetchError> },
    /// The command's deadline (`--max-time`) ran out while the log was still working on the leaf.
    #[error("{url}: {deadline} ran out while the log said the leaf was {what} (after {secs:.0} s)")]
    OutOfTime {
        url: String,
        deadline: String,
        what: &'static str,
        secs: f64,
    },
    #[error("the proof assembled from {log_url}: {err}")]
    Assembled { log_url: String, err: ProofError },
    #[error("{url}: the log's inclusion proof does not verify: {err}")]
    Inclusion { url: String, err: Box<SigsumError> },
    #[error("the proof does not verify: {0}")]
    Unverified(Box<SigsumError>),
    #[error("--sigsum-token: {0}")]
    Token(TokenError),

    // ---- monitoring
    #[error(
        "{}: not a valid Sigsum audit progress file; remove it to audit {origin} from the start",
        path.display()
    )]
    Progress { path: PathBuf, origin: String },
    #[error(
        "{origin}: the log's tree head (size {size}) is smaller than the tree already audited (size {audited})"
    )]
    Shrank {
        origin: String,
        size: u64,
        audited: u64,
    },
    #[error(
        "{origin}: leaves {from}..{size} from {url} do not hash to the signed root of size {size}, extending the tree audited at size {from}"
    )]
    LeavesOffRoot {
        origin: String,
        url: String,
        from: u64,
        size: u64,
    },
}

impl SigsumClientError {
    /// The class of failure, from the cause.
    pub fn class(&self) -> Class {
        use SigsumClientError::*;
        match self {
            NotSigsumPolicy { .. } | NotSigsumLog(_) | NoKey(_) | MinisignKey { .. } | Token(_) => {
                Class::Usage
            }
            NoProof { .. } => Class::NotFound,
            // A proof file, or one assembled from a log's answers, that does not parse.
            ProofFile { .. } | Assembled { .. } => Class::Malformed,
            // The audit's own progress file: kept as malformed, and named, so that it can be removed.
            Progress { .. } => Class::Malformed,
            Unproved { .. }
            | TreeHead { .. }
            | Checkpoint { .. }
            | LeafSignature
            | Inclusion { .. }
            | Unverified(_) => Class::Verification,
            NoLogAccepted { .. } | OutOfTime { .. } => Class::Network,
            // The log served a tree that is not an extension of the one audited before.
            Shrank { .. } | LeavesOffRoot { .. } => Class::TrustAnomaly,
        }
    }
}

//! Why the Sigsum path failed: proving a download ([`mod@super::prove`]), publishing
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
    NotSigsumPolicy {
        /// The policy file.
        path: PathBuf,
        /// What needed a Sigsum policy.
        what: &'static str,
    },
    /// A policy log's origin is not `sigsum.org/v1/tree/<key hash>` (holds the origin).
    #[error("{0} is not a Sigsum log")]
    NotSigsumLog(String),
    /// Under a Sigsum policy, no publisher key applies to this `SHA256SUMS` URL: without a
    /// submitter key, a proof only shows that someone logged the data.
    #[error(
        "the policy is a Sigsum policy, whose proofs are checked against the publisher's ssh-ed25519 key, and no key applies to {0}: give it with --key or in the keys file"
    )]
    NoKey(CanonicalUrl),
    /// Under a Sigsum policy, the key that applies to this `SHA256SUMS` is a minisign key, which
    /// cannot check a Sigsum leaf.
    #[error(
        "a minisign key applies to {sums_url} ({key}), but the policy is a Sigsum policy, whose proofs carry an ssh-ed25519 signature: give the publisher's ssh-ed25519 key"
    )]
    MinisignKey {
        /// The `SHA256SUMS` the key applies to.
        sums_url: CanonicalUrl,
        /// The key and where it came from, for the message.
        key: String,
    },

    // ---- a download's SHA256SUMS.proof
    /// Exit code 5, as for a `SHA256SUMS` recorded in no trusted log.
    #[error(
        "{sums_url} is not proved to be in a Sigsum log: {proof_url} is not found (the policy is a Sigsum policy)"
    )]
    NoProof {
        /// The `SHA256SUMS` downloaded.
        sums_url: CanonicalUrl,
        /// The `SHA256SUMS.proof` URL that answered 404.
        proof_url: String,
    },
    /// The `SHA256SUMS.proof` served does not parse.
    #[error("{proof_url}: {err}")]
    ProofFile {
        /// The proof URL.
        proof_url: String,
        /// Where it is malformed.
        err: ProofError,
    },
    /// The `SHA256SUMS.proof` parses but does not prove the `SHA256SUMS`: other data, an unknown
    /// or wrong signer, a log outside the policy, a failed quorum, or a path off the root.
    #[error("{proof_url}: {err}")]
    Unproved {
        /// The proof URL.
        proof_url: String,
        /// The check that failed.
        err: Box<SigsumError>,
    },

    // ---- a log's answers
    /// A tree head that does not verify: `err` is the log's signature or the quorum.
    #[error("{url}: {err}")]
    TreeHead {
        /// The `get-tree-head` URL.
        url: String,
        /// Why the tree head is refused.
        err: Box<SigsumError>,
    },
    /// A log's latest tree head, as a checkpoint note, fails the policy: its log signature or the
    /// witness quorum.
    #[error("{url}: {err}")]
    Checkpoint {
        /// The `get-tree-head` URL.
        url: String,
        /// The policy check that failed.
        err: PolicyError,
    },

    // ---- publishing
    /// The leaf just signed with the submitter key does not verify under its own public key (a
    /// broken key or signer): nothing is sent.
    #[error("the new leaf signature does not verify")]
    LeafSignature,
    /// Every log of the policy refused the leaf (or could not be reached): all of their errors.
    #[error(
        "no Sigsum log of the policy accepted the leaf: {}",
        failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NoLogAccepted {
        /// Each log's error, in policy order.
        failures: Vec<FetchError>,
    },
    /// The command's deadline (`--max-time`) ran out while the log was still working on the leaf.
    #[error("{url}: {deadline} ran out while the log said the leaf was {what} (after {secs:.0} s)")]
    OutOfTime {
        /// The log's `add-leaf` URL.
        url: String,
        /// The deadline that ran out, described for the message (`--max-time`).
        deadline: String,
        /// What the log last said of the leaf.
        what: &'static str,
        /// Seconds since the leaf was first sent.
        secs: f64,
    },
    /// The proof built from a log's answers does not parse back (a log answer that breaks the
    /// proof format's rules).
    #[error("the proof assembled from {log_url}: {err}")]
    Assembled {
        /// The log's base URL.
        log_url: String,
        /// Where the assembled proof is malformed.
        err: ProofError,
    },
    /// The log's inclusion proof for the new leaf does not lead to its signed root.
    #[error("{url}: the log's inclusion proof does not verify: {err}")]
    Inclusion {
        /// The `get-inclusion-proof` URL.
        url: String,
        /// Why the proof fails.
        err: Box<SigsumError>,
    },
    /// The assembled proof fails a check other than inclusion (signer, log, quorum).
    #[error("the proof does not verify: {0}")]
    Unverified(Box<SigsumError>),
    /// The `--sigsum-token` domain is not a valid DNS name.
    #[error("--sigsum-token: {0}")]
    Token(TokenError),

    // ---- monitoring
    /// The audit's saved progress for a log does not parse, or is for another submitter key.
    #[error(
        "{}: not a valid Sigsum audit progress file; remove it to audit {origin} from the start",
        path.display()
    )]
    Progress {
        /// The progress file.
        path: PathBuf,
        /// The log's origin.
        origin: String,
    },
    /// The log's verified tree head is smaller than the tree already audited: a rollback.
    #[error(
        "{origin}: the log's tree head (size {size}) is smaller than the tree already audited (size {audited})"
    )]
    Shrank {
        /// The log's origin.
        origin: String,
        /// The size of the tree head served now.
        size: u64,
        /// The size audited before.
        audited: u64,
    },
    /// The leaves served after the audited tree do not rebuild the signed root: the log rewrote
    /// its history, or served leaves that are not the ones it signed.
    #[error(
        "{origin}: leaves {from}..{size} from {url} do not hash to the signed root of size {size}, extending the tree audited at size {from}"
    )]
    LeavesOffRoot {
        /// The log's origin.
        origin: String,
        /// The `get-leaves` URL.
        url: String,
        /// The size audited before: the first leaf fetched.
        from: u64,
        /// The size of the signed tree head.
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

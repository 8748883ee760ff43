//! The Sigsum path of `rget get | verify | cat`: under a Sigsum policy, `SHA256SUMS.proof` next to
//! `SHA256SUMS` must be a Sigsum proof for SHA-256 of the `SHA256SUMS` bytes fetched (what
//! `sigsum-submit SHA256SUMS` logs), whose leaf is signed by the publisher's `ssh-ed25519` key for
//! that URL, under a tree head signed by a policy log and cosigned as its quorum requires, with an
//! inclusion proof to that tree head (`rget_core::sigsum::verify`).
//!
//! The tree head goes through the checkpoint memory like any checkpoint: it is compared with the
//! remembered one as soon as the log's signature verifies (so a fork is reported as one, evidence
//! kept, whatever else fails), tied to it with the log's `get-consistency-proof` when it is older or
//! newer, and stored only once the whole proof verified (`Pending::commit`).
//!
//! The leaf names no URL: an older release's `SHA256SUMS` and proof, served under a newer URL,
//! verify. What stops that replay is the name looked up, which must be listed in the `SHA256SUMS`
//! served (release files that carry their version in their names cannot be replayed under another
//! version): see SECURITY.md.

use super::error::SigsumClientError;
use crate::client::context::Context;
use crate::client::error::ClientError;
use crate::client::state::{Observed, Seen};
use crate::client::trust::PublisherKey;
use crate::client::verified::{Signed, SigsumLogged, remember, settle};
use rget_core::digest::sha256;
use rget_core::policy::VerifiedCheckpoint;
use rget_core::sigsum::key_hash;
use rget_core::sigsum::proof::SigsumProof;
use rget_core::sigsum::verify::{checkpoint_note, verify};
use rget_core::url::CanonicalUrl;
use rget_fetch::{FetchError, Fetched, Kind};

/// A `SHA256SUMS` proved by its Sigsum proof.
pub struct Proved {
    /// The leaf's index in the log.
    pub index: u64,
    /// The proof's tree head as the checkpoint the policy accepted (log signature, quorum).
    pub checkpoint: VerifiedCheckpoint,
    /// How the tree head relates to the last one this host saw of the log.
    pub memory: Observed,
    /// The publisher's signature: the leaf's, by the `ssh-ed25519` key that applies.
    pub signed: Signed,
    /// Which Sigsum log holds the leaf.
    pub logged: SigsumLogged,
}

/// Proves `sums_bytes`, fetched from `sums_url`, by the `SHA256SUMS.proof` next to it (`fetched`:
/// what fetching it gave, at the same time as the `SHA256SUMS`: `verified::ReleaseFiles`).
pub fn prove(
    ctx: &Context,
    sums_url: &CanonicalUrl,
    sums_bytes: &[u8],
    fetched: Result<Fetched, FetchError>,
) -> Result<Proved, ClientError> {
    // The publisher key first: without one, no leaf can be attributed (whatever the proof says).
    let applied = ctx
        .keys
        .for_sums(sums_url)
        .ok_or_else(|| SigsumClientError::NoKey(sums_url.clone()))?;
    let PublisherKey::Ssh(keys) = applied.key else {
        return Err(SigsumClientError::MinisignKey {
            sums_url: sums_url.clone(),
            key: applied.to_string(),
        }
        .into());
    };
    let proof_url = sums_url.with_suffix(".proof");
    let bytes = match fetched {
        Ok(f) => f.bytes,
        Err(e) if e.kind() == Kind::NotFound => {
            return Err(SigsumClientError::NoProof {
                sums_url: sums_url.clone(),
                proof_url,
            }
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let proof = match SigsumProof::parse(&bytes) {
        Ok(p) => p,
        Err(err) => return Err(SigsumClientError::ProofFile { proof_url, err }.into()),
    };
    let policy = &ctx.policy.policy;
    // Compared with the memory as soon as the log's signature holds (a tree head from a log outside
    // the policy is left to `verify`, which names it).
    let pending = match checkpoint_note(&proof, policy) {
        Ok(note) => remember(ctx, &note, Seen::FromProof, None)?,
        Err(_) => None,
    };
    let v = match verify(&sha256(sums_bytes), &proof, keys, policy) {
        Ok(v) => v,
        Err(err) => {
            return Err(SigsumClientError::Unproved {
                proof_url,
                err: Box::new(err),
            }
            .into());
        }
    };
    let memory = settle(ctx, pending, &v.checkpoint, Seen::FromProof)?;
    let log_url = ctx
        .policy
        .log_for_origin(&v.checkpoint.checkpoint.origin)
        .map(|l| l.url.to_owned())
        .unwrap_or_default();
    Ok(Proved {
        index: v.leaf_index,
        signed: Signed::SigsumLeaf {
            key_hash: key_hash(&v.signer),
            key_source: ctx.keys.describe(sums_url.as_str()),
        },
        logged: SigsumLogged {
            log_key_hash: proof.log_key_hash,
            log_url,
        },
        checkpoint: v.checkpoint,
        memory,
    })
}

//! Publishing into Sigsum logs, as `sigsum-submit FILE` does, and then checking the result as a
//! client would before anything is written: the leaf signs SHA-256 of the data (for a release, of
//! the `SHA256SUMS` bytes); `add-leaf` goes to the policy's logs in order until one accepts it
//! (with the `Sigsum-Token` header when a token is given); the log is polled, by asking again,
//! until it answers 200 (the leaf is under its published tree head) and that tree head meets the
//! policy's quorum; then the inclusion proof is fetched, the proof file assembled (version 2), parsed
//! back, and verified with the core's verifier and the checkpoint memory (the tree head is the log's
//! latest, so one older than the one remembered is a rollback). Every wait fits in the command's
//! deadline (`--max-time`): a log that answers 202 for ever ends the run with a message naming it.

use super::error::SigsumClientError;
use crate::client::context::Context;
use crate::client::error::ClientError;
use crate::client::state::{Observed, Seen};
use crate::client::trust::TrustedLog;
use crate::client::verified::{remember, settle};
use rget_core::digest::sha256;
use rget_core::ed25519::Seed;
use rget_core::policy::PolicyError;
use rget_core::sigsum::api::LeafRequest;
use rget_core::sigsum::key_hash;
use rget_core::sigsum::proof::SigsumProof;
use rget_core::sigsum::token::SubmitToken;
use rget_core::sigsum::verify::{SigsumError, VerifiedProof, tree_head_note, verify};
use rget_fetch::{Added, SigsumLog};
use std::time::{Duration, Instant};

/// The first pause between two polls; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(200);
/// The longest pause between two polls (sigsum-submit polls every 2 s).
const MAX_POLL: Duration = Duration::from_secs(2);

/// A submitter's keys: the signing key, and the domain and key of its submit token, if any.
pub struct Submitter<'a> {
    /// The submitter's Ed25519 key, which signs the leaf.
    pub key: &'a Seed,
    /// `(domain, token key)`: the key whose public half `_sigsum_v1.<domain>` publishes.
    pub token: Option<(&'a str, &'a Seed)>,
}

/// What the run is waiting for, for a progress line.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The log's URL prefix.
    pub log_url: String,
    /// Time since the leaf was first sent.
    pub since: Duration,
    /// `accepted, not yet logged` or `waiting for the witnesses' quorum`.
    pub what: &'static str,
}

/// A leaf logged and its proof, verified.
pub struct Submitted {
    /// The proof file (`SHA256SUMS.proof`), version 2.
    pub proof: String,
    /// What the proof was verified to show: signer, leaf, index, checkpoint.
    pub verified: VerifiedProof,
    /// How the tree head relates to the last one this host saw of the log.
    pub memory: Observed,
    /// The log's URL prefix.
    pub log_url: String,
}

/// Logs SHA-256 of `data` signed by `submitter` in a Sigsum log of `ctx.policy` (a Sigsum policy)
/// and returns the verified proof. `progress` is told what is awaited while polling.
pub fn submit(
    ctx: &Context,
    submitter: &Submitter<'_>,
    data: &[u8],
    progress: &mut dyn FnMut(&Waiting),
) -> Result<Submitted, ClientError> {
    if !ctx.policy.is_sigsum() {
        return Err(SigsumClientError::NotSigsumPolicy {
            path: ctx.policy.path.clone(),
            what: "not a Sigsum policy",
        }
        .into());
    }
    let message = sha256(data);
    let request = LeafRequest::sign(submitter.key, &message);
    let leaf = request.leaf().ok_or(SigsumClientError::LeafSignature)?;
    let leaf_hash = leaf.merkle_hash();
    let started = Instant::now();

    // The logs in policy order, until one accepts the leaf (sigsum-submit tries them in turn too).
    let mut failures = Vec::new();
    let mut chosen = None;
    for log in ctx.policy.logs() {
        let token = token_for(submitter, &log)?;
        let client = SigsumLog::new(log.url, &ctx.fetch);
        match client.add_leaf(&request, token.as_deref()) {
            Ok(added) => {
                chosen = Some((log, client, token, added));
                break;
            }
            Err(e) => failures.push(e),
        }
    }
    let Some((log, client, token, mut added)) = chosen else {
        return Err(if failures.len() == 1 {
            failures.remove(0).into()
        } else {
            SigsumClientError::NoLogAccepted { failures }.into()
        });
    };

    let mut pause = FIRST_POLL;
    let mut wait = |what: &'static str, pause: &mut Duration| -> Result<(), ClientError> {
        progress(&Waiting {
            log_url: log.url.to_owned(),
            since: started.elapsed(),
            what,
        });
        if let Some(d) = ctx.fetch.config().deadline
            && d.remaining() <= *pause
        {
            return Err(SigsumClientError::OutOfTime {
                url: client.url("add-leaf"),
                deadline: d.describe(),
                what,
                secs: started.elapsed().as_secs_f64(),
            }
            .into());
        }
        std::thread::sleep(*pause);
        *pause = (*pause * 2).min(MAX_POLL);
        Ok(())
    };
    loop {
        // 202 until the leaf is under the log's published, cosigned tree head.
        while added == Added::Accepted {
            wait("accepted, not yet logged", &mut pause)?;
            added = client.add_leaf(&request, token.as_deref())?;
        }
        let th = client.tree_head()?;
        let log_key_hash = key_hash(&log.log.vkey.public_key);
        let note = tree_head_note(&log_key_hash, &th, &ctx.policy.policy).map_err(|err| {
            SigsumClientError::TreeHead {
                url: client.url("get-tree-head"),
                err: Box::new(err),
            }
        })?;
        // The log's latest tree head: compared with the memory as soon as its signature holds, so
        // a rollback or fork is reported as one, with evidence, whatever else is wrong with it.
        let pending = remember(ctx, &note, Seen::Latest, Some(log.origin))?;
        match ctx.policy.policy.verify_checkpoint(&note) {
            Ok(_) => {}
            // Cosignatures come after the log's signature: wait for them, as sigsum-submit does.
            Err(PolicyError::QuorumNotMet { .. }) => {
                drop(pending);
                wait("waiting for the witnesses' quorum", &mut pause)?;
                added = client.add_leaf(&request, token.as_deref())?;
                continue;
            }
            Err(err) => {
                return Err(SigsumClientError::Checkpoint {
                    url: client.url("get-tree-head"),
                    err,
                }
                .into());
            }
        }
        let (leaf_index, path) = if th.size == 1 {
            (0, Vec::new())
        } else {
            let p = client.inclusion_proof(th.size, &leaf_hash)?;
            (p.leaf_index, p.path)
        };
        let proof = SigsumProof {
            log_key_hash,
            short_checksum: None,
            leaf_key_hash: leaf.key_hash,
            leaf_signature: leaf.signature,
            size: th.size,
            root_hash: th.root_hash,
            signature: th.signature,
            cosignatures: th.cosignatures,
            leaf_index,
            path,
        };
        // Checked as a client checks what it downloads: the file as written, parsed back.
        let text = proof.to_text();
        let parsed =
            SigsumProof::parse(text.as_bytes()).map_err(|err| SigsumClientError::Assembled {
                log_url: log.url.to_owned(),
                err,
            })?;
        let verified = verify(
            &message,
            &parsed,
            &[submitter.key.public_key()],
            &ctx.policy.policy,
        )
        .map_err(|e| match e {
            SigsumError::NotIncluded(_) => SigsumClientError::Inclusion {
                url: client.url("get-inclusion-proof"),
                err: Box::new(e),
            },
            e => SigsumClientError::Unverified(Box::new(e)),
        })?;
        let memory = settle(ctx, pending, &verified.checkpoint, Seen::Latest)?;
        return Ok(Submitted {
            proof: text,
            verified,
            memory,
            log_url: log.url.to_owned(),
        });
    }
}

/// The `Sigsum-Token` header value for `log`, if the submitter has a token: a signature by the token
/// key over the log's public key, so it is good at that log only.
fn token_for(
    submitter: &Submitter<'_>,
    log: &TrustedLog<'_>,
) -> Result<Option<String>, ClientError> {
    let Some((domain, key)) = submitter.token else {
        return Ok(None);
    };
    SubmitToken::sign(key, domain, &log.log.vkey.public_key)
        .map(|t| Some(t.header_value()))
        .map_err(|e| SigsumClientError::Token(e).into())
}

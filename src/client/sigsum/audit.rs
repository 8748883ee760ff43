//! `rget audit --sigsum`: key-based monitoring, the Sigsum way. A Sigsum leaf names its signer (the
//! key hash), not a URL, so a publisher watches for its key: every leaf signed by it that logs a
//! checksum the publisher did not publish is a stolen key at work (or a release made behind its
//! back), and is reported (exit code 6).
//!
//! For each log of the (Sigsum) policy: the latest tree head (`get-tree-head`) is verified (log
//! signature, quorum) and tied to this host's memory of the log (a smaller one is a ROLLBACK, an
//! inconsistent one a FORK, evidence kept); then every leaf added since the last run is fetched with
//! `get-leaves` and appended, in order, to the tree as audited last time (its right edge, kept in
//! the state directory), which must then hash to the signed root: every leaf is in the log, in
//! order, and the log only grew since. The leaves signed by the key are checked (their signature
//! must verify: a log must not record a leaf nobody signed) and compared with the expected
//! checksums. Progress is kept per (log, key), so a second run fetches only what is new.

use super::error::SigsumClientError;
use crate::client::context::Context;
use crate::client::error::ClientError;
use crate::client::state::{Observed, Seen};
use crate::client::verified::{remember, settle};
use rget_core::digest::{Hash, sha256};
use rget_core::merkle::Frontier;
use rget_core::sigsum::key_hash;
use rget_core::sigsum::leaf::Leaf;
use rget_core::sigsum::verify::tree_head_note;
use rget_fetch::SigsumLog;
use std::collections::HashSet;

/// A leaf signed by the watched key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyLeaf {
    /// The leaf's index in the log.
    pub index: u64,
    /// SHA-256 of the message (for a release: of SHA-256 of its `SHA256SUMS`).
    pub checksum: Hash,
}

/// What one log's audit found.
#[derive(Clone, Debug)]
pub struct LogReport {
    /// The log's origin, `sigsum.org/v1/tree/<key hash>`.
    pub origin: String,
    /// The log's URL prefix, from the policy.
    pub log_url: String,
    /// Leaves verified by this run: `[from, to)`.
    pub from: u64,
    /// The size of the verified tree head: one past the last leaf verified.
    pub to: u64,
    /// How the tree head relates to the last one this host saw of the log.
    pub memory: Observed,
    /// Leaves by the key first seen by this run.
    pub new: Vec<KeyLeaf>,
    /// New leaves by the key whose checksum is not an expected one.
    pub unexpected: Vec<KeyLeaf>,
    /// New leaves naming the key whose signature does not verify (the log recorded garbage).
    pub forged: Vec<KeyLeaf>,
    /// `get-leaves` requests made.
    pub requests: u64,
}

impl LogReport {
    /// Leaves by the key that are unexpected or forged: the ones that call for attention.
    pub fn anomalies(&self) -> usize {
        self.unexpected.len() + self.forged.len()
    }
}

/// The checksum a Sigsum leaf records for a file: SHA-256 of its SHA-256 (`sigsum-submit FILE`).
pub fn checksum_of(data_sha256: &Hash) -> Hash {
    sha256(&data_sha256.0)
}

const HEADER: &str = "rget-sigsum-audit/v1";

/// Audit progress for one (log, key): the tree audited so far (its size and right edge) and the
/// leaves by the key found in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Progress {
    frontier: Frontier,
    leaves: Vec<KeyLeaf>,
}

impl Progress {
    fn format(&self, key: &Hash) -> String {
        let mut s = format!("{HEADER}\nkey {key}\nsize {}\n", self.frontier.size());
        for h in self.frontier.hashes() {
            s.push_str(&format!("edge {h}\n"));
        }
        for l in &self.leaves {
            s.push_str(&format!("leaf {} {}\n", l.index, l.checksum));
        }
        s
    }

    fn parse(text: &str, key: &Hash) -> Option<Progress> {
        let mut lines = text.strip_suffix('\n')?.split('\n').peekable();
        if lines.next()? != HEADER || lines.next()?.strip_prefix("key ")? != key.to_hex() {
            return None;
        }
        let size: u64 = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let mut edge = Vec::new();
        while let Some(h) = lines.peek().and_then(|l| l.strip_prefix("edge ")) {
            edge.push(Hash::from_hex(h)?);
            lines.next();
        }
        let frontier = Frontier::from_hashes(size, &edge)?;
        let mut leaves: Vec<KeyLeaf> = Vec::new();
        for line in lines {
            let (i, c) = line.strip_prefix("leaf ")?.split_once(' ')?;
            let index: u64 = i.parse().ok()?;
            if index >= size || leaves.last().is_some_and(|l| l.index >= index) {
                return None;
            }
            leaves.push(KeyLeaf {
                index,
                checksum: Hash::from_hex(c)?,
            });
        }
        Some(Progress { frontier, leaves })
    }
}

/// Audits every Sigsum log of the policy for leaves signed by `key` (an `ssh-ed25519` public key).
/// `expected`: the checksums the publisher logged ([`checksum_of`] its `SHA256SUMS` files), if
/// given.
pub fn audit(
    ctx: &Context,
    key: &[u8; 32],
    expected: Option<&HashSet<Hash>>,
) -> Result<Vec<LogReport>, ClientError> {
    if !ctx.policy.is_sigsum() {
        return Err(SigsumClientError::NotSigsumPolicy {
            path: ctx.policy.path.clone(),
            what: "--sigsum needs a Sigsum policy",
        }
        .into());
    }
    let mut reports = Vec::new();
    for log in ctx.policy.logs() {
        reports.push(audit_log(ctx, log.origin, log.url, key, expected)?);
    }
    Ok(reports)
}

fn audit_log(
    ctx: &Context,
    origin: &str,
    log_url: &str,
    key: &[u8; 32],
    expected: Option<&HashSet<Hash>>,
) -> Result<LogReport, ClientError> {
    let client = SigsumLog::new(log_url, &ctx.fetch);
    let th = client.tree_head()?;
    let log_key_hash = origin
        .strip_prefix(rget_core::sigsum::ORIGIN_PREFIX)
        .and_then(Hash::from_hex)
        .ok_or_else(|| SigsumClientError::NotSigsumLog(origin.to_owned()))?;
    let note = tree_head_note(&log_key_hash, &th, &ctx.policy.policy).map_err(|err| {
        SigsumClientError::TreeHead {
            url: client.url("get-tree-head"),
            err: Box::new(err),
        }
    })?;
    // The log's latest tree head: compared with the memory as soon as the log's signature holds.
    let pending = remember(ctx, &note, Seen::Latest, Some(origin))?;
    let vc = ctx.policy.policy.verify_checkpoint(&note).map_err(|err| {
        SigsumClientError::Checkpoint {
            url: client.url("get-tree-head"),
            err,
        }
    })?;
    let memory = settle(ctx, pending, &vc, Seen::Latest)?;
    let size = vc.checkpoint.size;

    let kh = key_hash(key);
    let state_name = format!("sigsum-key:{kh}");
    let progress = match ctx.state.read_audit(origin, &state_name)? {
        None => Progress::default(),
        Some(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| Progress::parse(t, &kh))
            .ok_or_else(|| SigsumClientError::Progress {
                path: ctx.state.audit_prefix_path(origin, &state_name),
                origin: origin.to_owned(),
            })?,
    };
    let from = progress.frontier.size();
    if from > size {
        return Err(SigsumClientError::Shrank {
            origin: origin.to_owned(),
            size,
            audited: from,
        }
        .into());
    }
    let mut frontier = progress.frontier.clone();
    let mut report = LogReport {
        origin: origin.to_owned(),
        log_url: log_url.to_owned(),
        from,
        to: size,
        memory,
        new: Vec::new(),
        unexpected: Vec::new(),
        forged: Vec::new(),
        requests: 0,
    };
    while frontier.size() < size {
        let start = frontier.size();
        let leaves = client.leaves(start, size)?;
        report.requests += 1;
        for (index, leaf) in (start..).zip(&leaves) {
            frontier.append(leaf.merkle_hash());
            if leaf.key_hash == kh {
                let found = KeyLeaf {
                    index,
                    checksum: leaf.checksum,
                };
                if !Leaf::verify(leaf, key) {
                    report.forged.push(found);
                } else {
                    if expected.is_some_and(|e| !e.contains(&leaf.checksum)) {
                        report.unexpected.push(found.clone());
                    }
                    report.new.push(found);
                }
            }
        }
    }
    // Every new leaf, in order, extends the audited tree to exactly the signed root (a log that
    // served other leaves, or answered past the tree head, cannot pass this).
    if frontier.size() != size || frontier.root() != vc.checkpoint.root {
        return Err(SigsumClientError::LeavesOffRoot {
            origin: origin.to_owned(),
            url: client.url("get-leaves"),
            from,
            size,
        }
        .into());
    }
    // Progress is kept once the tree verified (anomalies are reported by the run that finds them).
    let mut leaves = progress.leaves;
    leaves.extend(report.new.iter().cloned());
    let done = Progress { frontier, leaves };
    ctx.state
        .write_audit(origin, &state_name, done.format(&kh).as_bytes())?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::merkle::leaf_hash;

    #[test]
    fn progress_round_trips_and_is_strict() {
        let mut frontier = Frontier::new();
        for i in 0..11u8 {
            frontier.append(leaf_hash(&[i]));
        }
        let p = Progress {
            frontier,
            leaves: vec![
                KeyLeaf {
                    index: 2,
                    checksum: sha256(b"a"),
                },
                KeyLeaf {
                    index: 9,
                    checksum: sha256(b"b"),
                },
            ],
        };
        let key = sha256(b"key");
        let t = p.format(&key);
        assert_eq!(Progress::parse(&t, &key), Some(p.clone()));
        assert_eq!(
            Progress::parse(&t, &sha256(b"other")),
            None,
            "another key's file"
        );
        assert_eq!(
            Progress::parse(&t.replace("size 11", "size 12"), &key),
            None
        );
        assert_eq!(
            Progress::parse(&t.replace("leaf 9 ", "leaf 1 "), &key),
            None
        );
        assert_eq!(Progress::parse(t.trim_end(), &key), None);
        let empty = Progress::default();
        assert_eq!(Progress::parse(&empty.format(&key), &key), Some(empty));
    }
}

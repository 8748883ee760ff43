//! `rget audit`: the periodic check a release team runs on every trusted log.
//!
//! For each log it fetches the latest checkpoint (log signature, quorum, consistency with the last one
//! this host saw), then downloads every entry added since the last audit of this prefix and proves
//! that all of them, in order, hash into the signed root: the frontier of the tree as last audited
//! (checked against the root recorded then) is extended with the new entries, and the result must be
//! the new root. The whole log is checked, not only the entries under the prefix. Then it reports the
//! records under the prefix: new ones, URLs whose content changed (more than one digest: a release
//! changed in place, or an older one recorded again under a newer URL; the evidence is kept under the
//! state directory's `evidence/`), and, when the release team says what it published (`--expect`),
//! records it did not publish.
//!
//! Progress is kept per (log, prefix) in the state directory, so a second run fetches only what is new.

use super::context::Context;
use super::error::{Class, ClientError};
use super::state::{Evidence, Observed, Seen};
use super::verified::{remember, settle};
use rget_core::digest::Hash;
use rget_core::merkle::{self, Frontier};
use rget_core::record;
use rget_core::tile::{self, TileError, TileHashSource};
use rget_fetch::LogClient;
use std::collections::{BTreeMap, HashSet};

/// A record under the audited prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    pub index: u64,
    pub url: String,
    /// SHA-256 of the `SHA256SUMS` the record carries.
    pub sums_sha256: Hash,
}

/// What one log's audit found.
#[derive(Clone, Debug)]
pub struct LogReport {
    pub origin: String,
    /// Entries verified by this run: `[from, to)`.
    pub from: u64,
    pub to: u64,
    pub memory: Observed,
    /// Records under the prefix first seen by this run.
    pub new: Vec<Rec>,
    /// URLs under the prefix with more than one digest, where this run saw a new one: every record of
    /// each such URL, oldest first.
    pub changed: Vec<(String, Vec<Rec>)>,
    /// New records whose `SHA256SUMS` is not one the release team expects.
    pub unexpected: Vec<Rec>,
    /// Entries in the new range that are not valid records (a log accepting garbage).
    pub malformed: Vec<(u64, String)>,
    /// Entry bundles downloaded by this run.
    pub bundles_fetched: u64,
    /// Where the evidence of the changed URLs was kept (when there are any).
    pub evidence: Option<Evidence>,
}

impl LogReport {
    /// Whether anything here needs a person's attention (exit code 6).
    pub fn anomalies(&self) -> usize {
        self.changed.len() + self.unexpected.len() + self.malformed.len()
    }
}

/// Audit progress for one (log, prefix): the tree verified so far and the records under the prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Progress {
    size: u64,
    root: Option<Hash>,
    records: Vec<Rec>,
}

const HEADER: &str = "rget-audit/v1";

impl Progress {
    fn format(&self, prefix: &str) -> String {
        let mut s = format!("{HEADER}\nprefix {prefix}\nsize {}\n", self.size);
        if let Some(r) = &self.root {
            s.push_str(&format!("root {}\n", r.to_base64()));
        }
        for r in &self.records {
            s.push_str(&format!(
                "{} {} {}\n",
                r.index,
                r.sums_sha256.to_hex(),
                r.url
            ));
        }
        s
    }

    fn parse(text: &str, prefix: &str) -> Option<Progress> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != HEADER || lines.next()?.strip_prefix("prefix ")? != prefix {
            return None;
        }
        let size: u64 = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let mut p = Progress {
            size,
            root: None,
            records: Vec::new(),
        };
        let mut rest = lines.peekable();
        if size > 0 {
            p.root = Some(Hash::from_base64(rest.next()?.strip_prefix("root ")?)?);
        }
        for line in rest {
            let mut f = line.splitn(3, ' ');
            let index: u64 = f.next()?.parse().ok()?;
            let sums_sha256 = Hash::from_hex(f.next()?)?;
            let url = f.next()?.to_string();
            if index >= size || p.records.last().is_some_and(|r| r.index >= index) {
                return None;
            }
            p.records.push(Rec {
                index,
                url,
                sums_sha256,
            });
        }
        Some(p)
    }
}

fn anomaly(message: impl std::fmt::Display) -> ClientError {
    ClientError {
        class: Class::TrustAnomaly,
        message: message.to_string(),
    }
}

/// Audits every trusted log for records under `prefix` (canonical). `expected`: the digests of the
/// `SHA256SUMS` files the release team published, if it gave them.
pub fn audit(
    ctx: &Context,
    prefix: &str,
    expected: Option<&HashSet<Hash>>,
) -> Result<Vec<LogReport>, ClientError> {
    let mut reports = Vec::new();
    for log in ctx.policy.logs() {
        reports.push(audit_log(ctx, log.origin, log.url, prefix, expected)?);
    }
    Ok(reports)
}

fn audit_log(
    ctx: &Context,
    origin: &str,
    log_url: &str,
    prefix: &str,
    expected: Option<&HashSet<Hash>>,
) -> Result<LogReport, ClientError> {
    let lc = LogClient::new(log_url, &ctx.fetch);
    let note = lc.checkpoint()?;
    // Compared with the memory as soon as the log's signature holds: a fork is a fork whatever else.
    let pending = remember(ctx, &note, Seen::Latest, Some(origin))?;
    let vc = ctx
        .policy
        .policy
        .verify_checkpoint(&note)
        .map_err(|e| ClientError {
            class: Class::Verification,
            message: format!("{log_url}checkpoint: {e}"),
        })?;
    if vc.checkpoint.origin != origin {
        return Err(ClientError {
            class: Class::Verification,
            message: format!(
                "{log_url}checkpoint is for {:?}, not {origin:?}",
                vc.checkpoint.origin
            ),
        });
    }
    let memory = settle(ctx, pending, &vc, Seen::Latest)?;
    let size = vc.checkpoint.size;
    let progress = match ctx.state.read_audit(origin, prefix)? {
        None => Progress::default(),
        Some(bytes) => std::str::from_utf8(&bytes).ok().and_then(|t| Progress::parse(t, prefix)).ok_or_else(|| {
            ClientError {
                class: Class::Malformed,
                message: format!(
                    "{}: not a valid audit progress file; remove it to audit {origin} from the start",
                    ctx.state.audit_prefix_path(origin, prefix).display()
                ),
            }
        })?,
    };
    if progress.size > size {
        return Err(anomaly(format!(
            "{origin}: the log's checkpoint (size {size}) is smaller than the tree already audited (size {})",
            progress.size
        )));
    }

    // The tree as last audited, from tiles, must hash to the root recorded then.
    let mut frontier = match progress.root {
        None => Frontier::new(),
        Some(root) => {
            let mut src = TileHashSource::new(LogClient::new(log_url, &ctx.fetch), size);
            let f = Frontier::of(progress.size, &mut src).map_err(|e| {
                anomaly(format!(
                    "{origin}: cannot read the audited part of the tree from its tiles: {e}"
                ))
            })?;
            if f.root() != root {
                return Err(anomaly(format!(
                    "{origin}: the log's tiles no longer hash to the root audited at size {}",
                    progress.size
                )));
            }
            f
        }
    };

    let mut report = LogReport {
        origin: origin.to_string(),
        from: progress.size,
        to: size,
        memory,
        new: Vec::new(),
        changed: Vec::new(),
        unexpected: Vec::new(),
        malformed: Vec::new(),
        bundles_fetched: 0,
        evidence: None,
    };
    let mut reader = LogClient::new(log_url, &ctx.fetch);
    for t in tile::entry_bundles(progress.size, size) {
        // A partial bundle the log has since filled may be gone: then the full one serves.
        let entries = tile::read_entry_bundle(&mut reader, &t).map_err(|e| match e {
            TileError::NotFound { .. } | TileError::Read { .. } => ClientError {
                class: Class::Network,
                message: format!("{log_url}{}: {e}", t.path()),
            },
            e => anomaly(format!("{origin}: {}: {e}", t.path())),
        })?;
        report.bundles_fetched += 1;
        // The first bundle may begin with entries audited last time.
        let first = t.first_entry();
        let audited = progress.size.saturating_sub(first) as usize;
        for (index, entry) in (first..).zip(&entries).skip(audited) {
            frontier.append(merkle::leaf_hash(entry));
            // Every entry must at least be a record; the ones under the prefix, which are reported,
            // are checked whole (canonical URL, digest of the carried SHA256SUMS, its syntax). Entries
            // of other publishers are theirs to audit: fully re-parsing them would triple the cost.
            let checked = record::parse_header(entry).and_then(|h| {
                // Matched in canonical form, so a record made under another spelling of a URL
                // under the prefix is reported (as not canonical), never missed.
                let url = record::canonical_url(h.url);
                if super::trust::prefix_matches(prefix, url.as_deref().unwrap_or(h.url)) {
                    record::parse(entry).map(Some)
                } else {
                    Ok(None)
                }
            });
            match checked {
                Ok(Some(r)) => report.new.push(Rec {
                    index,
                    url: r.url.to_string(),
                    sums_sha256: r.sums_sha256,
                }),
                Ok(None) => {}
                Err(e) => report.malformed.push((index, e.to_string())),
            }
        }
    }
    // Every new entry, in order, extends the audited tree to exactly the signed root.
    if frontier.root() != vc.checkpoint.root {
        return Err(anomaly(format!(
            "{origin}: entries {}..{size} from the log's bundles do not hash to its signed root",
            progress.size
        )));
    }

    if let Some(exp) = expected {
        report.unexpected = report
            .new
            .iter()
            .filter(|r| !exp.contains(&r.sums_sha256))
            .cloned()
            .collect();
    }
    let mut by_url: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
    for r in progress.records.iter().chain(&report.new) {
        by_url.entry(&r.url).or_default().push(r);
    }
    for (url, recs) in by_url {
        let digests: HashSet<&Hash> = recs.iter().map(|r| &r.sums_sha256).collect();
        let touched = recs.iter().any(|r| r.index >= progress.size);
        if digests.len() > 1 && touched {
            report
                .changed
                .push((url.to_string(), recs.into_iter().cloned().collect()));
        }
    }

    if !report.changed.is_empty() {
        report.evidence = Some(keep_evidence(ctx, origin, &vc.note, &report.changed));
    }

    // Remember how far this prefix is audited (anomalies are reported by the run that finds them).
    let mut all = progress.records;
    all.extend(report.new.iter().cloned());
    let done = Progress {
        size,
        root: (size > 0).then_some(vc.checkpoint.root),
        records: all,
    };
    ctx.state
        .write_audit(origin, prefix, done.format(prefix).as_bytes())?;
    Ok(report)
}

/// Keeps the evidence of URLs with several records, as the lookup path does
/// (`client::url_records`): the signed checkpoint this audit proved every entry under, and every
/// record of each such URL as `<index> <sha256 of the SHA256SUMS> <url>` lines (anyone can fetch
/// those entries from the log and check them against the checkpoint).
fn keep_evidence(
    ctx: &Context,
    origin: &str,
    checkpoint: &[u8],
    changed: &[(String, Vec<Rec>)],
) -> Evidence {
    let mut records = String::new();
    for (url, recs) in changed {
        for r in recs {
            records.push_str(&format!("{} {} {url}\n", r.index, r.sums_sha256.to_hex()));
        }
    }
    ctx.state.keep_evidence(
        origin,
        "records",
        &[("checkpoint", checkpoint), ("records", records.as_bytes())],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::digest::sha256;

    #[test]
    fn progress_round_trips_and_is_strict() {
        let p = Progress {
            size: 10,
            root: Some(sha256(b"r")),
            records: vec![
                Rec {
                    index: 2,
                    url: "https://a.example/x/SHA256SUMS".into(),
                    sums_sha256: sha256(b"1"),
                },
                Rec {
                    index: 7,
                    url: "https://a.example/y/SHA256SUMS".into(),
                    sums_sha256: sha256(b"2"),
                },
            ],
        };
        let prefix = "https://a.example/";
        let t = p.format(prefix);
        assert_eq!(Progress::parse(&t, prefix), Some(p.clone()));
        assert_eq!(
            Progress::parse(&t, "https://b.example/"),
            None,
            "another prefix's file"
        );
        assert_eq!(
            Progress::parse(&t.replace("size 10", "size 5"), prefix),
            None,
            "record beyond size"
        );
        assert_eq!(
            Progress::parse(&t.replace("\n7 ", "\n1 "), prefix),
            None,
            "out of order"
        );
        assert_eq!(Progress::parse(t.trim_end(), prefix), None);
        let empty = Progress::default();
        assert_eq!(Progress::parse(&empty.format(prefix), prefix), Some(empty));
    }
}

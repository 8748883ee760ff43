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
//! So are the anomalies found: each stays open, and is reported again (exit 6) by every later run,
//! until the release team acknowledges it by its log index (`rget audit --acknowledge INDEX`). A cron
//! job that alerts on exit 6 thus keeps alerting until a person has looked, not only once.

use super::context::Context;
use super::error::{Class, ClientError};
use super::state::{Evidence, Observed, Seen};
use super::trust::TrustedLog;
use super::verified::{remember, settle, verify_latest};
use rget_core::digest::Hash;
use rget_core::merkle::{self, Frontier, MerkleError};
use rget_core::policy::VerifiedCheckpoint;
use rget_core::record::{self, RecordError};
use rget_core::tile::{self, TileError, TileHashSource};
use rget_fetch::LogClient;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// A record under the audited prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rec {
    /// The record's index in the log.
    pub index: u64,
    /// The `SHA256SUMS` URL the record names (canonical, under the prefix).
    pub url: String,
    /// SHA-256 of the `SHA256SUMS` the record carries.
    pub sums_sha256: Hash,
}

/// What one log's audit found.
#[derive(Clone, Debug)]
pub struct LogReport {
    /// The log's origin, as in the trust policy.
    pub origin: String,
    /// Entries verified by this run: `[from, to)`. `from` is the tree size audited before (0 the
    /// first time).
    pub from: u64,
    /// The size of the log's latest checkpoint, which this run proved every entry under.
    pub to: u64,
    /// What this host's checkpoint memory made of that latest checkpoint.
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
    /// Indices of the anomalies in `changed`, `unexpected` and `malformed` found by an earlier run
    /// and not acknowledged since (the others are found by this run).
    pub reported_before: Vec<u64>,
    /// Indices of the open anomalies this run acknowledged (`--acknowledge`): no longer reported.
    pub acknowledged: Vec<u64>,
}

impl LogReport {
    /// Whether anything here needs a person's attention (exit code 6).
    pub fn anomalies(&self) -> usize {
        self.changed.len() + self.unexpected.len() + self.malformed.len()
    }
}

/// Audit progress for one (log, prefix): the tree verified so far, the records under the prefix,
/// and the anomalies not acknowledged yet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Progress {
    size: u64,
    root: Option<Hash>,
    records: Vec<Rec>,
    /// Open anomalies, by index and kind (a record can be both unexpected and the one that
    /// changed its URL).
    open: Vec<Open>,
}

/// An anomaly reported and not yet acknowledged, named by the log index of its record: for a URL
/// with several `SHA256SUMS`, the newest record that made it so.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Open {
    index: u64,
    kind: OpenKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum OpenKind {
    Changed,
    Unexpected,
    /// The entry is not a valid record; why, as reported.
    Malformed(String),
}

impl OpenKind {
    /// The order of kinds at one index, in the progress file.
    fn rank(&self) -> u8 {
        match self {
            OpenKind::Changed => 0,
            OpenKind::Unexpected => 1,
            OpenKind::Malformed(_) => 2,
        }
    }
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
        for o in &self.open {
            match &o.kind {
                OpenKind::Changed => s.push_str(&format!("open {} changed\n", o.index)),
                OpenKind::Unexpected => s.push_str(&format!("open {} unexpected\n", o.index)),
                // One line: the reason is the parser's own message, escaped for good measure.
                OpenKind::Malformed(why) => s.push_str(&format!(
                    "open {} malformed {}\n",
                    o.index,
                    rget_core::escape::for_terminal(why)
                )),
            }
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
            open: Vec::new(),
        };
        let mut rest = lines.peekable();
        if size > 0 {
            p.root = Some(Hash::from_base64(rest.next()?.strip_prefix("root ")?)?);
        }
        for line in rest {
            if let Some(open) = line.strip_prefix("open ") {
                let mut f = open.splitn(3, ' ');
                let index: u64 = f.next()?.parse().ok()?;
                let kind = match (f.next()?, f.next()) {
                    ("changed", None) => OpenKind::Changed,
                    ("unexpected", None) => OpenKind::Unexpected,
                    ("malformed", Some(why)) => OpenKind::Malformed(why.to_owned()),
                    _ => return None,
                };
                let key = (index, kind.rank());
                if index >= size
                    || p.open
                        .last()
                        .is_some_and(|o| (o.index, o.kind.rank()) >= key)
                {
                    return None;
                }
                p.open.push(Open { index, kind });
                continue;
            }
            if !p.open.is_empty() {
                return None;
            }
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

/// Why an audit stopped: the log's own data contradicts what it signed or what was audited before
/// (a trust anomaly), the audit progress file is damaged, or an entry bundle could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log's latest verified checkpoint is smaller than the tree size this host already audited
    /// for the prefix (a log that lost or rolled back entries).
    #[error(
        "{origin}: the log's checkpoint (size {size}) is smaller than the tree already audited (size {audited})"
    )]
    Shrunk {
        /// The log's origin.
        origin: String,
        /// The size of the log's latest checkpoint.
        size: u64,
        /// The tree size audited by an earlier run.
        audited: u64,
    },
    /// The hashes of the tree audited before could not be had from the log's tiles (a tile missing,
    /// unreadable or malformed).
    #[error("{origin}: cannot read the audited part of the tree from its tiles: {err}")]
    AuditedUnreadable {
        /// The log's origin.
        origin: String,
        /// Why the tiles did not give the audited tree.
        err: MerkleError<TileError>,
    },
    /// The tree the log's tiles give at the audited size does not hash to the root recorded by the
    /// earlier audit: the log rewrote entries already audited.
    #[error("{origin}: the log's tiles no longer hash to the root audited at size {audited}")]
    AuditedChanged {
        /// The log's origin.
        origin: String,
        /// The tree size audited by an earlier run, whose root changed.
        audited: u64,
    },
    /// An entry bundle was served but is not a valid bundle (its bytes do not parse as the entries
    /// the tile path promises).
    #[error("{origin}: {path}: {err}")]
    BadBundle {
        /// The log's origin.
        origin: String,
        /// The bundle's tile path (`tile/entries/...`).
        path: String,
        /// Why the bundle does not parse.
        err: TileError,
    },
    /// The new entries, appended in order to the tree audited before, do not hash to the root of
    /// the log's latest signed checkpoint.
    #[error(
        "{origin}: entries {from}..{size} from the log's bundles do not hash to its signed root"
    )]
    NotTheSignedRoot {
        /// The log's origin.
        origin: String,
        /// The first entry of this run (the size audited before).
        from: u64,
        /// The size of the signed checkpoint.
        size: u64,
    },
    /// The audit progress file for this log and prefix is not UTF-8, names another prefix, or does
    /// not parse.
    #[error(
        "{}: not a valid audit progress file; remove it to audit {origin} from the start",
        path.display()
    )]
    Progress {
        /// The progress file in the state directory.
        path: PathBuf,
        /// The log's origin.
        origin: String,
    },
    /// An `--acknowledge` index is not an open anomaly of any trusted log under this prefix (then
    /// nothing is audited).
    #[error(
        "--acknowledge {index}: no log has an open anomaly at index {index} under this prefix \
         (the report of the last run lists them)"
    )]
    NotOpen {
        /// The index given to `--acknowledge`.
        index: u64,
    },
    /// An entry bundle could not be downloaded (not found, or the transfer failed).
    #[error("{log_url}{path}: {err}")]
    Bundle {
        /// The log's URL prefix.
        log_url: String,
        /// The bundle's tile path (`tile/entries/...`).
        path: String,
        /// The fetch failure, as the tile reader reported it.
        err: TileError,
    },
}

impl AuditError {
    /// The exit-code class: a trust anomaly for what the log's own data contradicts, malformed for
    /// a damaged progress file, usage for `--acknowledge`, network for a bundle not downloaded.
    pub fn class(&self) -> Class {
        match self {
            AuditError::Shrunk { .. }
            | AuditError::AuditedUnreadable { .. }
            | AuditError::AuditedChanged { .. }
            | AuditError::BadBundle { .. }
            | AuditError::NotTheSignedRoot { .. } => Class::TrustAnomaly,
            AuditError::Progress { .. } => Class::Malformed,
            AuditError::NotOpen { .. } => Class::Usage,
            AuditError::Bundle { .. } => Class::Network,
        }
    }
}

/// Audits every trusted log for records under `prefix` (canonical). `expected`: the digests of the
/// `SHA256SUMS` files the release team published, if it gave them.
/// `acknowledge`: log indices of open anomalies (reported by an earlier run) that the release team
/// has dealt with; each must be open in some log, or nothing is audited.
pub fn audit(
    ctx: &Context,
    prefix: &str,
    expected: Option<&HashSet<Hash>>,
    acknowledge: &[u64],
) -> Result<Vec<LogReport>, ClientError> {
    // Every index acknowledged must name an open anomaly: a typo must not pass for "handled".
    if !acknowledge.is_empty() {
        let mut open = HashSet::new();
        for log in ctx.policy.logs() {
            let p = read_progress(ctx, log.origin, prefix)?;
            open.extend(p.open.iter().map(|o| o.index));
        }
        if let Some(&index) = acknowledge.iter().find(|i| !open.contains(*i)) {
            return Err(AuditError::NotOpen { index }.into());
        }
    }
    let mut reports = Vec::new();
    for log in ctx.policy.logs() {
        reports.push(audit_log(ctx, log, prefix, expected, acknowledge)?);
    }
    Ok(reports)
}

/// One log: its latest checkpoint checked, the tree audited last time found unchanged in it, every
/// new entry proved to extend that tree to the signed root, the records under `prefix` reported, and
/// the progress saved.
fn audit_log(
    ctx: &Context,
    log: TrustedLog,
    prefix: &str,
    expected: Option<&HashSet<Hash>>,
    acknowledge: &[u64],
) -> Result<LogReport, ClientError> {
    let (vc, memory) = latest_checkpoint(ctx, log)?;
    let size = vc.checkpoint.size;
    let progress = read_progress(ctx, log.origin, prefix)?;
    if progress.size > size {
        return Err(AuditError::Shrunk {
            origin: log.origin.to_owned(),
            size,
            audited: progress.size,
        }
        .into());
    }
    let mut frontier = audited_tree(ctx, log, &progress, size)?;
    let mut report = LogReport {
        origin: log.origin.to_string(),
        from: progress.size,
        to: size,
        memory,
        new: Vec::new(),
        changed: Vec::new(),
        unexpected: Vec::new(),
        malformed: Vec::new(),
        bundles_fetched: 0,
        evidence: None,
        reported_before: Vec::new(),
        acknowledged: Vec::new(),
    };
    read_new_entries(ctx, log, prefix, &mut frontier, &mut report)?;
    // Every new entry, in order, extends the audited tree to exactly the signed root.
    if frontier.root() != vc.checkpoint.root {
        return Err(AuditError::NotTheSignedRoot {
            origin: log.origin.to_owned(),
            from: progress.size,
            size,
        }
        .into());
    }
    if let Some(exp) = expected {
        report.unexpected = unexpected(&report.new, exp);
    }
    report.changed = changed_urls(&progress, &report.new);
    if !report.changed.is_empty() {
        report.evidence = Some(keep_evidence(ctx, log.origin, &vc.note, &report.changed));
    }
    let open = still_open(&progress, acknowledge, &mut report);
    save_progress(ctx, log.origin, prefix, progress, &report.new, open, &vc)?;
    Ok(report)
}

/// The anomalies open after this run: those found before and not in `acknowledge` (added to the
/// report, which lists them again), and those this run found.
fn still_open(progress: &Progress, acknowledge: &[u64], report: &mut LogReport) -> Vec<Open> {
    let mut open: BTreeMap<(u64, u8), OpenKind> = BTreeMap::new();
    for o in &progress.open {
        if acknowledge.contains(&o.index) {
            report.acknowledged.push(o.index);
            continue;
        }
        report.reported_before.push(o.index);
        let record = progress.records.iter().find(|r| r.index == o.index);
        match (&o.kind, record) {
            (OpenKind::Unexpected, Some(r)) => report.unexpected.push(r.clone()),
            (OpenKind::Changed, Some(r)) => {
                if !report.changed.iter().any(|(url, _)| *url == r.url) {
                    let recs = progress
                        .records
                        .iter()
                        .chain(&report.new)
                        .filter(|x| x.url == r.url)
                        .cloned()
                        .collect();
                    report.changed.push((r.url.clone(), recs));
                }
            }
            (OpenKind::Malformed(why), _) => report.malformed.push((o.index, why.clone())),
            // A record an open anomaly names is always kept with it; without one, the anomaly is
            // still reported, as an entry to look at.
            (_, None) => report
                .malformed
                .push((o.index, "an open anomaly whose record is not kept".into())),
        }
        open.insert((o.index, o.kind.rank()), o.kind.clone());
    }
    for (_, recs) in &report.changed {
        let newest = recs.iter().map(|r| r.index).max();
        if let Some(i) = newest.filter(|i| *i >= report.from) {
            open.entry((i, OpenKind::Changed.rank()))
                .or_insert(OpenKind::Changed);
        }
    }
    for r in &report.unexpected {
        if r.index >= report.from {
            open.entry((r.index, OpenKind::Unexpected.rank()))
                .or_insert(OpenKind::Unexpected);
        }
    }
    for (i, why) in &report.malformed {
        if *i >= report.from {
            let kind = OpenKind::Malformed(why.clone());
            open.entry((*i, kind.rank())).or_insert(kind);
        }
    }
    report.unexpected.sort_by_key(|r| r.index);
    report.malformed.sort_by_key(|(i, _)| *i);
    report.reported_before.dedup();
    report.acknowledged.dedup();
    open.into_iter()
        .map(|((index, _), kind)| Open { index, kind })
        .collect()
}

/// The log's latest checkpoint, verified under the policy and tied to this host's memory of it.
fn latest_checkpoint(
    ctx: &Context,
    log: TrustedLog,
) -> Result<(VerifiedCheckpoint, Observed), ClientError> {
    let note = LogClient::new(log.url, &ctx.fetch).checkpoint()?;
    // Compared with the memory as soon as the log's signature holds: a fork is a fork whatever else.
    let pending = remember(ctx, &note, Seen::Latest, Some(log.origin))?;
    let vc = verify_latest(ctx, log, &note)?;
    let memory = settle(ctx, pending, &vc, Seen::Latest)?;
    Ok((vc, memory))
}

/// How far this prefix was audited in this log (nothing, the first time).
fn read_progress(ctx: &Context, origin: &str, prefix: &str) -> Result<Progress, ClientError> {
    let Some(bytes) = ctx.state.read_audit(origin, prefix)? else {
        return Ok(Progress::default());
    };
    let progress = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| Progress::parse(t, prefix))
        .ok_or_else(|| AuditError::Progress {
            path: ctx.state.audit_prefix_path(origin, prefix),
            origin: origin.to_owned(),
        })?;
    Ok(progress)
}

/// The tree as last audited, rebuilt from the log's tiles at `size`: it must hash to the root
/// recorded then (a log that rewrote its past is caught here).
fn audited_tree(
    ctx: &Context,
    log: TrustedLog,
    progress: &Progress,
    size: u64,
) -> Result<Frontier, AuditError> {
    let Some(root) = progress.root else {
        return Ok(Frontier::new());
    };
    let mut src = TileHashSource::new(LogClient::new(log.url, &ctx.fetch), size);
    let f = Frontier::of(progress.size, &mut src).map_err(|err| AuditError::AuditedUnreadable {
        origin: log.origin.to_owned(),
        err,
    })?;
    if f.root() != root {
        return Err(AuditError::AuditedChanged {
            origin: log.origin.to_owned(),
            audited: progress.size,
        });
    }
    Ok(f)
}

/// Downloads the entry bundles from `report.from` to `report.to`, appends every new entry to
/// `frontier`, and reports the records under `prefix` (and the entries that are not records).
fn read_new_entries(
    ctx: &Context,
    log: TrustedLog,
    prefix: &str,
    frontier: &mut Frontier,
    report: &mut LogReport,
) -> Result<(), AuditError> {
    let mut reader = LogClient::new(log.url, &ctx.fetch);
    for t in tile::entry_bundles(report.from, report.to) {
        // A partial bundle the log has since filled may be gone: then the full one serves.
        let entries = tile::read_entry_bundle(&mut reader, &t).map_err(|err| match err {
            TileError::NotFound { .. } | TileError::Read { .. } => AuditError::Bundle {
                log_url: log.url.to_owned(),
                path: t.path(),
                err,
            },
            err => AuditError::BadBundle {
                origin: log.origin.to_owned(),
                path: t.path(),
                err,
            },
        })?;
        report.bundles_fetched += 1;
        // The first bundle may begin with entries audited last time.
        let first = t.first_entry();
        let audited = report.from.saturating_sub(first) as usize;
        for (index, entry) in (first..).zip(&entries).skip(audited) {
            frontier.append(merkle::leaf_hash(entry));
            match record_under(prefix, entry) {
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
    Ok(())
}

/// The record `entry` if it is one under `prefix`. Every entry must at least be a record; the ones
/// under the prefix, which are reported, are checked whole (canonical URL, digest of the carried
/// SHA256SUMS, its syntax). Entries of other publishers are theirs to audit: fully re-parsing them
/// would triple the cost.
fn record_under<'e>(
    prefix: &str,
    entry: &'e [u8],
) -> Result<Option<record::Record<'e>>, RecordError> {
    let h = record::parse_header(entry)?;
    // Matched in canonical form, so a record made under another spelling of a URL under the
    // prefix is reported (as not canonical), never missed.
    let url = record::canonical_url(h.url);
    if super::trust::prefix_matches(prefix, url.as_deref().unwrap_or(h.url)) {
        record::parse(entry).map(Some)
    } else {
        Ok(None)
    }
}

/// The new records whose `SHA256SUMS` is not one the release team expects.
fn unexpected(new: &[Rec], expected: &HashSet<Hash>) -> Vec<Rec> {
    new.iter()
        .filter(|r| !expected.contains(&r.sums_sha256))
        .cloned()
        .collect()
}

/// The URLs with more than one digest among all records audited, where a new record was seen: each
/// with every record of it, oldest first.
fn changed_urls(progress: &Progress, new: &[Rec]) -> Vec<(String, Vec<Rec>)> {
    let mut by_url: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
    for r in progress.records.iter().chain(new) {
        by_url.entry(&r.url).or_default().push(r);
    }
    let mut changed = Vec::new();
    for (url, recs) in by_url {
        let digests: HashSet<&Hash> = recs.iter().map(|r| &r.sums_sha256).collect();
        let touched = recs.iter().any(|r| r.index >= progress.size);
        if digests.len() > 1 && touched {
            changed.push((url.to_string(), recs.into_iter().cloned().collect()));
        }
    }
    changed
}

/// Remembers how far this prefix is audited, and the anomalies still open.
fn save_progress(
    ctx: &Context,
    origin: &str,
    prefix: &str,
    progress: Progress,
    new: &[Rec],
    open: Vec<Open>,
    vc: &VerifiedCheckpoint,
) -> Result<(), ClientError> {
    let size = vc.checkpoint.size;
    let mut records = progress.records;
    records.extend(new.iter().cloned());
    let done = Progress {
        size,
        root: (size > 0).then_some(vc.checkpoint.root),
        records,
        open,
    };
    Ok(ctx
        .state
        .write_audit(origin, prefix, done.format(prefix).as_bytes())?)
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
            open: vec![
                Open {
                    index: 2,
                    kind: OpenKind::Unexpected,
                },
                Open {
                    index: 8,
                    kind: OpenKind::Malformed("not a record: bad header".into()),
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
        assert_eq!(
            Progress::parse(&t.replace("open 8", "open 12"), prefix),
            None,
            "open anomaly beyond size"
        );
        assert_eq!(
            Progress::parse(&t.replace("unexpected", "odd"), prefix),
            None,
            "unknown kind"
        );
        let empty = Progress::default();
        assert_eq!(Progress::parse(&empty.format(prefix), prefix), Some(empty));
    }
}

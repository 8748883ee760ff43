//! `rget audit`: follow every trusted log, check it is append-only and that every entry is in the
//! tree, and report the records under the release team's URL prefix.

use super::exit::{CliResult, Failure, io_reason};
use super::json;
use super::trust_args::{TrustArgs, client, local};
use crate::client::audit::{self, LogReport, Rec};
use crate::client::sigsum::audit as sigsum_audit;
use crate::client::state::Evidence;
use crate::client::trust::PublisherKey;
use crate::client::trust::canonical_prefix;
use rget_core::digest::{Hash, sha256};
use rget_core::sums;
use rget_fetch::durable::file_kind;
use rget_fetch::limits;
use serde::Serialize;
use std::collections::HashSet;
use std::io::Read as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `rget audit`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Audit the trusted logs for records under your URL prefix",
    long_about = "For each log of the policy: fetch its latest checkpoint (log signature, quorum, consistency \
with the last checkpoint this host saw), download every entry added since the last audit of this \
prefix, and check that all of them hash into the signed tree (the whole log is checked, not only your \
records). Then report the records under --prefix: new ones, URLs whose content changed (more than one \
SHA256SUMS digest: a release changed in place, or an older one recorded again under a newer URL; the \
checkpoint and the records are kept under the state directory's evidence/), and, with --expect, records whose SHA256SUMS you did not publish. A second run \
fetches only what is new. Anomalies exit with code 6: run it from cron or CI and alert on it.

An anomaly stays open, and every later run reports it again (exit 6), until you acknowledge it by \
its log index with --acknowledge INDEX, once you have looked into it. That run reports it as \
acknowledged and no longer counts it; a new anomaly is reported as before.

With --sigsum, the logs are the Sigsum logs of a Sigsum policy (--policy), and what is watched is \
your key (--key, your ssh-ed25519 public key), not a URL prefix (a Sigsum leaf names no URL): for \
each log, the latest tree head is verified (log signature, quorum, consistency with the last one \
seen: a smaller one is a rollback, exit 6 with evidence), every leaf added since the last run is \
fetched with get-leaves and must, appended to the tree audited last time, rebuild the signed root; \
then every leaf signed by your key whose checksum is not that of a SHA256SUMS given with --expect \
is reported (exit 6): a stolen key that logs a release is seen. Without --expect the leaves by your \
key are listed.",
    after_help = "Examples:
  rget audit --prefix https://example.org/rel/
  rget audit --prefix https://example.org/rel/ \\
      --expect published-sums/ --json
  rget audit --prefix https://example.org/rel/ --acknowledge 1234
  rget audit --sigsum --policy sigsum-generic-2025-1 --key sigsum.key.pub \\
      --expect published-sums/

Exit codes: 0 no open anomaly, 6 open anomalies (or a log rolled back or
forked), 2 usage (including --acknowledge of an index with no open anomaly),
3, 4, 7 as for every command."
)]
pub struct Args {
    /// The URL prefix of your published SHA256SUMS files
    #[arg(long, value_name = "URL-PREFIX", required_unless_present = "sigsum")]
    pub prefix: Option<String>,
    /// Key-based monitoring of Sigsum logs: the leaves signed by --key (an ssh-ed25519 key), under
    /// a Sigsum --policy
    #[arg(long, conflicts_with = "prefix")]
    pub sigsum: bool,
    /// A SHA256SUMS you published, or a directory holding them (every file named SHA256SUMS below
    /// it). Records under the prefix whose SHA256SUMS is not among them are anomalies. A file that
    /// cannot be one (a FIFO or device, too large for a log record, not a SHA256SUMS) is skipped
    /// with one line on standard error
    #[arg(long, value_name = "FILE-OR-DIR")]
    pub expect: Vec<PathBuf>,
    /// One JSON object on standard output instead of the text report
    #[arg(long)]
    pub json: bool,
    /// The anomaly at this log index (reported by an earlier run) is dealt with: stop reporting it.
    /// Repeatable; an index with no open anomaly is a usage error, and nothing is audited
    #[arg(long, value_name = "INDEX")]
    pub acknowledge: Vec<u64>,
    /// The policy, publisher keys and network options.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// Runs `rget audit`: by URL prefix over the trusted logs' records, or with `--sigsum` by key over
/// Sigsum logs' leaves.
pub fn run(a: Args) -> CliResult {
    if a.sigsum {
        return run_sigsum(&a);
    }
    let given = a.prefix.as_deref().unwrap_or_default();
    let prefix = canonical_prefix(given, a.trust.allow_http)
        .map_err(|e| Failure::usage(format!("--prefix {given:?} {e}")))?;
    let expected = if a.expect.is_empty() {
        None
    } else {
        Some(expected_digests(&a.expect)?)
    };
    let ctx = a.trust.context()?;
    if ctx.policy.is_sigsum() {
        return Err(Failure::usage(
            "the policy is a Sigsum policy: a Sigsum leaf names its signer, not a URL, so audit it with --sigsum --key <your ssh-ed25519 public key>",
        ));
    }
    let reports = audit::audit(&ctx, &prefix, expected.as_ref(), &a.acknowledge).map_err(client)?;
    let anomalies: usize = reports.iter().map(LogReport::anomalies).sum();
    let out = if a.json {
        json::line(&json(&prefix, &reports, anomalies))?
    } else {
        // Records carry URLs anyone could log (canonical, so never a line break): spelled out,
        // never acted on by a terminal.
        let text = text(&prefix, &reports, anomalies);
        rget_core::escape::lines_for_terminal(&text.lines().collect::<Vec<_>>())
    };
    super::stdout::print(&out)?;
    if anomalies > 0 {
        let before: usize = reports.iter().map(|r| r.reported_before.len()).sum();
        let open_before = if before > 0 {
            format!(" ({before} reported before and not acknowledged)")
        } else {
            String::new()
        };
        return Err(Failure::trust_anomaly(format!(
            "audit found {anomalies} anomal{} under {prefix}{open_before}{}; once handled, \
             acknowledge each with --acknowledge INDEX",
            if anomalies == 1 { "y" } else { "ies" },
            changed_summary(&reports)
        )));
    }
    Ok(())
}

/// `rget audit --sigsum`: the leaves signed by the `--key` (ssh-ed25519) in every Sigsum log.
fn run_sigsum(a: &Args) -> CliResult {
    let expected = if a.expect.is_empty() {
        None
    } else {
        Some(
            expected_digests(&a.expect)?
                .iter()
                .map(sigsum_audit::checksum_of)
                .collect::<HashSet<Hash>>(),
        )
    };
    let ctx = a.trust.context()?;
    let key = match ctx.keys.flag() {
        Some(PublisherKey::Ssh(keys)) if keys.len() == 1 => keys[0],
        Some(PublisherKey::Ssh(_)) => {
            return Err(Failure::usage(
                "--sigsum audits one key at a time: give --key a .pub file with one ssh-ed25519 key",
            ));
        }
        _ => {
            return Err(Failure::usage(
                "--sigsum needs your ssh-ed25519 public key as --key (the Sigsum submitter key)",
            ));
        }
    };
    let reports = sigsum_audit::audit(&ctx, &key, expected.as_ref()).map_err(client)?;
    let anomalies: usize = reports.iter().map(sigsum_audit::LogReport::anomalies).sum();
    let kh = rget_core::sigsum::key_hash(&key);
    let out = if a.json {
        json::line(&sigsum_json(&kh, &reports, anomalies))?
    } else {
        let text = sigsum_text(&kh, &reports, anomalies);
        rget_core::escape::lines_for_terminal(&text.lines().collect::<Vec<_>>())
    };
    super::stdout::print(&out)?;
    if anomalies > 0 {
        let mut first: Vec<String> = reports
            .iter()
            .flat_map(|r| {
                r.unexpected.iter().map(move |l| {
                    format!("leaf {} of {} (checksum {})", l.index, r.origin, l.checksum)
                })
            })
            .take(8)
            .collect();
        for r in &reports {
            for l in &r.forged {
                first.push(format!(
                    "leaf {} of {} names the key but its signature does not verify",
                    l.index, r.origin
                ));
            }
        }
        return Err(Failure::trust_anomaly(format!(
            "audit found {anomalies} anomal{} for ssh-ed25519 key {kh}: {} signed by the key and not expected (is the key stolen?)",
            if anomalies == 1 { "y" } else { "ies" },
            first.join(", ")
        )));
    }
    Ok(())
}

fn sigsum_text(key: &Hash, reports: &[sigsum_audit::LogReport], anomalies: usize) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!(
            "Sigsum log {} ({}): verified leaves {}..{} ({} new, {} get-leaves requests); {}\n",
            r.origin,
            r.log_url,
            r.from,
            r.to,
            r.to - r.from,
            r.requests,
            r.memory
        ));
        for l in &r.new {
            s.push_str(&format!(
                "  new        leaf {} checksum {}\n",
                l.index, l.checksum
            ));
        }
        for l in &r.unexpected {
            s.push_str(&format!(
                "  UNEXPECTED leaf {} checksum {} (no expected SHA256SUMS has it)\n",
                l.index, l.checksum
            ));
        }
        for l in &r.forged {
            s.push_str(&format!(
                "  FORGED     leaf {} checksum {} (names the key, signature does not verify)\n",
                l.index, l.checksum
            ));
        }
    }
    s.push_str(&format!(
        "audit of ssh-ed25519 key {key}: {anomalies} anomal{}\n",
        if anomalies == 1 { "y" } else { "ies" }
    ));
    s
}

/// The `--json` report of `rget audit --sigsum`.
#[derive(Serialize)]
struct SigsumReport<'a> {
    key_hash: String,
    anomalies: usize,
    logs: Vec<SigsumLogJson<'a>>,
}

/// What one Sigsum log's audit found (see [`sigsum_audit::LogReport`]).
#[derive(Serialize)]
struct SigsumLogJson<'a> {
    origin: &'a str,
    url: &'a str,
    from: u64,
    to: u64,
    requests: u64,
    seen: String,
    new: Vec<LeafJson>,
    unexpected: Vec<LeafJson>,
    forged: Vec<LeafJson>,
}

#[derive(Serialize)]
struct LeafJson {
    index: u64,
    checksum: String,
}

fn sigsum_json<'a>(
    key: &Hash,
    reports: &'a [sigsum_audit::LogReport],
    anomalies: usize,
) -> SigsumReport<'a> {
    let leaves = |ls: &[sigsum_audit::KeyLeaf]| -> Vec<LeafJson> {
        ls.iter()
            .map(|l| LeafJson {
                index: l.index,
                checksum: l.checksum.to_hex(),
            })
            .collect()
    };
    SigsumReport {
        key_hash: key.to_hex(),
        anomalies,
        logs: reports
            .iter()
            .map(|r| SigsumLogJson {
                origin: &r.origin,
                url: &r.log_url,
                from: r.from,
                to: r.to,
                requests: r.requests,
                seen: r.memory.to_string(),
                new: leaves(&r.new),
                unexpected: leaves(&r.unexpected),
                forged: leaves(&r.forged),
            })
            .collect(),
    }
}

/// The SHA-256 of every expected SHA256SUMS. What cannot be one is skipped, each with one line on
/// standard error saying why: a FIFO, socket or device (never opened for reading, so never waited
/// on), a file larger than a log record can carry, or one that is not a `SHA256SUMS` at all. A
/// skipped file expects nothing, so a record of it would be reported as unexpected: the line says
/// which file that was.
fn expected_digests(paths: &[PathBuf]) -> Result<HashSet<Hash>, Failure> {
    let mut out = HashSet::new();
    for p in paths {
        collect(p, true, &mut out)?;
    }
    Ok(out)
}

fn collect(p: &Path, explicit: bool, out: &mut HashSet<Hash>) -> Result<(), Failure> {
    let err = |e: std::io::Error| local(format!("{}: {}", p.display(), io_reason(&e)));
    let meta = std::fs::metadata(p).map_err(err)?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            // Links followed, as for the paths given: what matters is what they lead to.
            let Ok(m) = std::fs::metadata(&path) else {
                skipped(&path, "a link that leads nowhere");
                continue;
            };
            if m.is_dir() || e.file_name() == "SHA256SUMS" {
                collect(&path, false, out)?;
            }
        }
        return Ok(());
    }
    if !(explicit || p.file_name().is_some_and(|n| n == "SHA256SUMS")) {
        return Ok(());
    }
    if !meta.is_file() {
        skipped(
            p,
            &format!("{}, not a regular file", file_kind(meta.file_type())),
        );
        return Ok(());
    }
    match read_sums(p).map_err(err)? {
        Ok(bytes) => {
            out.insert(sha256(&bytes));
        }
        Err(why) => skipped(p, &why),
    }
    Ok(())
}

/// The bytes of a `SHA256SUMS` to expect, or why `p` is none: too large for a log record, or not a
/// `SHA256SUMS`. Opened without blocking, and read only up to one byte past the limit.
fn read_sums(p: &Path) -> std::io::Result<Result<Vec<u8>, String>> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)?;
    let m = f.metadata()?;
    if !m.is_file() {
        return Ok(Err(format!(
            "{}, not a regular file",
            file_kind(m.file_type())
        )));
    }
    let mut bytes = Vec::new();
    f.take(limits::SUMS + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits::SUMS {
        return Ok(Err(format!(
            "larger than {} bytes, more than a log record can carry",
            limits::SUMS
        )));
    }
    Ok(sums::parse(&bytes)
        .map(|_| bytes)
        .map_err(|e| format!("not a SHA256SUMS ({e})")))
}

/// One line on standard error for a file `--expect` skipped.
fn skipped(p: &Path, why: &str) {
    let line = format!("--expect: skipped {}: {why}", p.display());
    eprintln!("rget: {}", rget_core::escape::for_terminal(&line));
}

/// The URLs with several records, with every index and digest, and where the evidence is: the part
/// of the one-line error a person acts on first.
fn changed_summary(reports: &[LogReport]) -> String {
    let mut parts = Vec::new();
    for r in reports {
        for (url, recs) in &r.changed {
            // The report on standard output lists them all; the error line names the first few.
            let mut list: Vec<String> = recs
                .iter()
                .take(8)
                .map(|x| format!("index {} (sha256 {})", x.index, x.sums_sha256))
                .collect();
            if recs.len() > list.len() {
                list.push(format!("and {} more", recs.len() - list.len()));
            }
            parts.push(format!(
                "{url} has more than one SHA256SUMS in log {}: {}",
                r.origin,
                list.join(", ")
            ));
        }
        if let Some(e) = &r.evidence {
            parts.push(evidence_text(e));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join("; "))
    }
}

fn evidence_text(e: &Evidence) -> String {
    match e {
        Evidence::Saved(dir) => format!("evidence kept in {}", dir.display()),
        Evidence::NotSaved(why) => format!("could NOT keep the evidence: {why}"),
    }
}

fn rec_line(kind: &str, r: &Rec, before: &[u64]) -> String {
    format!(
        "  {kind:<10} {} {} (SHA256SUMS sha256 {}){}\n",
        r.index,
        r.url,
        r.sums_sha256,
        again(r.index, before)
    )
}

/// The mark of an anomaly found by an earlier run and not acknowledged.
fn again(index: u64, before: &[u64]) -> &'static str {
    if before.contains(&index) {
        " (reported before, not acknowledged)"
    } else {
        ""
    }
}

fn text(prefix: &str, reports: &[LogReport], anomalies: usize) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!(
            "log {}: verified entries {}..{} ({} new, {} bundles fetched); {}\n",
            r.origin,
            r.from,
            r.to,
            r.to - r.from,
            r.bundles_fetched,
            r.memory
        ));
        let before = &r.reported_before;
        for x in &r.new {
            s.push_str(&rec_line("new", x, &[]));
        }
        for (url, recs) in &r.changed {
            let list: Vec<String> = recs
                .iter()
                .map(|x| format!("{} at {}", x.sums_sha256, x.index))
                .collect();
            let mark = recs
                .iter()
                .map(|x| again(x.index, before))
                .max()
                .unwrap_or("");
            s.push_str(&format!("  CHANGED    {url}: {}{mark}\n", list.join(", ")));
        }
        if let Some(e) = &r.evidence {
            s.push_str(&format!("  EVIDENCE   {}\n", evidence_text(e)));
        }
        for x in &r.unexpected {
            s.push_str(&rec_line("UNEXPECTED", x, before));
        }
        for (i, e) in &r.malformed {
            s.push_str(&format!(
                "  MALFORMED  entry {i}: {e}{}\n",
                again(*i, before)
            ));
        }
        for i in &r.acknowledged {
            s.push_str(&format!("  ACKNOWLEDGED the anomaly at index {i}\n"));
        }
    }
    s.push_str(&format!(
        "audit of {prefix}: {anomalies} anomal{}\n",
        if anomalies == 1 { "y" } else { "ies" }
    ));
    s
}

/// The `--json` report of `rget audit`.
#[derive(Serialize)]
struct Report<'a> {
    prefix: &'a str,
    anomalies: usize,
    logs: Vec<LogJson<'a>>,
}

/// What one log's audit found (see [`LogReport`]).
#[derive(Serialize)]
struct LogJson<'a> {
    origin: &'a str,
    from: u64,
    to: u64,
    bundles_fetched: u64,
    seen: String,
    new: Vec<RecJson<'a>>,
    changed: Vec<ChangedJson<'a>>,
    unexpected: Vec<RecJson<'a>>,
    malformed: Vec<MalformedJson<'a>>,
    /// The directory the evidence was kept in (`null` when none was, or it could not be).
    evidence: Option<String>,
    /// Indices of the anomalies above reported by an earlier run and not acknowledged.
    reported_before: &'a [u64],
    /// Indices of the anomalies this run acknowledged.
    acknowledged: &'a [u64],
}

#[derive(Serialize)]
struct RecJson<'a> {
    index: u64,
    url: &'a str,
    sums_sha256: String,
}

#[derive(Serialize)]
struct ChangedJson<'a> {
    url: &'a str,
    records: Vec<RecJson<'a>>,
}

#[derive(Serialize)]
struct MalformedJson<'a> {
    index: u64,
    error: &'a str,
}

fn json<'a>(prefix: &'a str, reports: &'a [LogReport], anomalies: usize) -> Report<'a> {
    let recs = |list: &'a [Rec]| -> Vec<RecJson<'a>> {
        list.iter()
            .map(|r| RecJson {
                index: r.index,
                url: &r.url,
                sums_sha256: r.sums_sha256.to_hex(),
            })
            .collect()
    };
    let logs = reports
        .iter()
        .map(|r| LogJson {
            origin: &r.origin,
            from: r.from,
            to: r.to,
            bundles_fetched: r.bundles_fetched,
            seen: r.memory.to_string(),
            new: recs(&r.new),
            changed: r
                .changed
                .iter()
                .map(|(url, list)| ChangedJson {
                    url,
                    records: recs(list),
                })
                .collect(),
            unexpected: recs(&r.unexpected),
            malformed: r
                .malformed
                .iter()
                .map(|(index, error)| MalformedJson {
                    index: *index,
                    error,
                })
                .collect(),
            evidence: match &r.evidence {
                Some(Evidence::Saved(dir)) => Some(dir.display().to_string()),
                Some(Evidence::NotSaved(_)) | None => None,
            },
            reported_before: &r.reported_before,
            acknowledged: &r.acknowledged,
        })
        .collect();
    Report {
        prefix,
        anomalies,
        logs,
    }
}

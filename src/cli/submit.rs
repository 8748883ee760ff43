//! `rget submit`: record a published `SHA256SUMS` in a transparency log and keep the proof (with
//! `--sigsum-…`: log it in Sigsum logs, as `sigsum-submit SHA256SUMS` does).

use super::exit::{CliResult, Failure, io_reason};
use super::sigsum_args::{SigsumArgs, submit_sums};
use super::summary::cosigned_by;
use super::trust_args::{TrustArgs, client, local};
use crate::client::context::Context;
use crate::client::state::{Observed, Seen};
use crate::client::verified::{remember, settle};
use rget_core::record;
use rget_core::tlog_proof::TlogProof;
use rget_core::url::CanonicalUrl;
use rget_core::verify::{LoggedSums, verify_logged_sums};
use rget_fetch::{LogClient, limits};
use std::io::Write;
use std::path::PathBuf;

/// `rget submit`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Record a published SHA256SUMS in a transparency log and write its proof",
    long_about = "Record the SHA256SUMS published at URL (read from --file, else downloaded from URL) in a \
transparency log, verify the proof the log answers with (log signature, the policy's quorum, inclusion \
of exactly the record for URL and these bytes, consistency with the last checkpoint seen), and write it \
as SHA256SUMS.tlog-proof, to publish next to SHA256SUMS. The log is --log, else the first log of the \
policy; it must be in the policy either way, since its proof is checked with the policy's keys.

With --sigsum-policy and --sigsum-key, the SHA256SUMS is logged in a Sigsum log of that policy \
instead, exactly as `sigsum-submit SHA256SUMS` does: the leaf signs SHA-256 of its bytes with the \
ssh-ed25519 key; add-leaf goes to the policy's logs in turn (with a Sigsum-Token header for \
--sigsum-token) until one accepts it; the log is polled until the leaf is under a tree head that \
meets the policy's quorum (a progress line on a terminal; bounded by --max-time); then the proof \
is fetched and verified as a client would (leaf signature, log signature, quorum, inclusion, \
consistency with the last tree head seen) before it is written as SHA256SUMS.proof (version 2, \
what sigsum-verify reads). A Sigsum leaf names no URL, so URL may be omitted.",
    after_help = "Examples:
  # writes dist/SHA256SUMS.tlog-proof
  rget submit https://example.org/rel/v1.2/SHA256SUMS --file dist/SHA256SUMS
  rget submit https://example.org/rel/v1.2/SHA256SUMS -o SHA256SUMS.tlog-proof
  # writes dist/SHA256SUMS.proof
  rget submit --file dist/SHA256SUMS --sigsum-policy sigsum-generic-2025-1 \\
      --sigsum-key sigsum.key --sigsum-token example.org:token.key

While the log waits for its witnesses, a terminal shows what is awaited. A log
that cannot publish the record in time answers 503 with the cause (its witness
quorum not reached, and why): printed in one line, exit 4; the log keeps the
record, and submitting again later gets its proof."
)]
pub struct Args {
    /// The URL where the SHA256SUMS is (or will be) published (https); optional with
    /// --sigsum-policy, whose leaf names no URL (then --file is needed)
    #[arg(required_unless_present = "sigsum_policy")]
    pub url: Option<String>,
    /// Read the SHA256SUMS from this file instead of downloading it
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The log's URL prefix. Default: the first log of the policy
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// Where to write the proof. Default: SHA256SUMS.tlog-proof (SHA256SUMS.proof with
    /// --sigsum-policy) beside --file, else in the current directory
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The Sigsum submitter options (`--sigsum-…`).
    #[command(flatten)]
    pub sigsum: SigsumArgs,
    /// The policy, publisher keys and network options.
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// A record the log accepted, with the proof it answered and what checking that proof found.
pub struct Submitted {
    /// The `SHA256SUMS.tlog-proof` bytes, verified.
    pub proof: Vec<u8>,
    /// The index and the checkpoint (log signature and the policy's quorum verified).
    pub logged: LoggedSums,
    /// How that checkpoint relates to the last one this host saw of the log.
    pub memory: Observed,
}

/// Submits the record for `sums` published at `url` (canonical) to `log` (else the policy's first
/// log) and verifies the answer as any client would: log signature, quorum, inclusion of exactly
/// this record, consistency with the last checkpoint seen. Shared by `rget submit` and
/// `rget release`, so a publisher's proof is checked by one code path whichever command made it.
pub fn submit_verified(
    ctx: &Context,
    log: Option<&str>,
    url: &CanonicalUrl,
    sums: &[u8],
) -> CliResult<Submitted> {
    if ctx.policy.is_sigsum() {
        return Err(Failure::usage(
            "the policy is a Sigsum policy: log the SHA256SUMS with --sigsum-policy and --sigsum-key",
        ));
    }
    let url = url.as_str();
    // Refuse locally what the log would refuse, with the same message.
    record::build(url, sums).map_err(Failure::malformed)?;
    let log_url = log_prefix(ctx, log)?;
    let lc = LogClient::new(&log_url, &ctx.fetch);
    // The log answers once a checkpoint covering the record is cosigned by its witnesses' quorum,
    // which can take a while: a terminal is told what is awaited (a pipe or a log gets nothing).
    let waiting =
        super::progress::Waiting::start("waiting for the log's witnesses to cosign the record");
    let answer = lc.submit(url, sums);
    drop(waiting);
    // A refusal is one line from the log (503: its witness quorum not reached, its queue full),
    // printed escaped; exit 4, like every failure of the log to answer.
    let proof = answer.map_err(|e| client(e.into()))?;
    // The answer's checkpoint is compared with the memory as soon as the log's signature holds, so
    // a fork is reported as one whatever else fails (a malformed answer is left to the full check).
    let pending = match TlogProof::parse(&proof) {
        Ok(p) => remember(ctx, &p.checkpoint, Seen::FromProof, None).map_err(client)?,
        Err(_) => None,
    };
    let logged = verify_logged_sums(&ctx.policy.policy, url, sums, &proof)
        .map_err(|e| Failure::verification(format!("the log's answer does not verify: {e}")))?;
    let memory = settle(ctx, pending, &logged.checkpoint, Seen::FromProof).map_err(client)?;
    Ok(Submitted {
        proof,
        logged,
        memory,
    })
}

/// The log's URL prefix, ending in `/`: `log` if given, else the first log of the policy.
pub fn log_prefix(ctx: &Context, log: Option<&str>) -> CliResult<String> {
    let log_url = match log {
        Some(l) => l.to_owned(),
        None => ctx
            .policy
            .logs()
            .next()
            .map(|l| l.url.to_string())
            .ok_or_else(|| Failure::usage("the policy lists no log; name one with --log"))?,
    };
    Ok(if log_url.ends_with('/') {
        log_url
    } else {
        format!("{log_url}/")
    })
}

/// Runs `rget submit`: records the `SHA256SUMS` in a log of the policy (or Sigsum logs) and writes
/// its proof, only once the proof verifies.
pub fn run(a: Args) -> CliResult {
    if a.sigsum.enabled() {
        return run_sigsum(&a);
    }
    let ctx = a.trust.context()?;
    let url = a.url.as_deref().unwrap_or_default();
    let url = CanonicalUrl::parse(url).map_err(Failure::usage)?;
    let bytes = read_sums(&ctx, &a, Some(&url))?;
    let Submitted {
        proof,
        logged,
        memory,
    } = submit_verified(&ctx, a.log.as_deref(), &url, &bytes)?;
    let out = output_path(&a, "SHA256SUMS.tlog-proof");
    // Temporary file, fsync, rename: an interrupted run never leaves half a proof.
    rget_fetch::durable::write_atomic(&out, &proof, 0o644)
        .map_err(|e| local(format!("{}: {}", out.display(), io_reason(&e))))?;
    let report = [
        format!(
            "rget: {url} is in {} at index {} (checkpoint size {}; {memory})",
            logged.checkpoint.checkpoint.origin, logged.index, logged.checkpoint.checkpoint.size,
        ),
        format!("  proof written to {}", out.display()),
    ];
    let report = rget_core::escape::lines_for_terminal(&report);
    let _ = std::io::stderr().write_all(report.as_bytes());
    Ok(())
}

/// `rget submit --sigsum-…`: the leaf for SHA-256 of the `SHA256SUMS`, logged and verified, and
/// its proof written as `SHA256SUMS.proof`.
fn run_sigsum(a: &Args) -> CliResult {
    let keys = a.sigsum.keys()?;
    let ctx = a.sigsum.context(&a.trust)?;
    let url = match &a.url {
        Some(u) => Some(CanonicalUrl::parse(u).map_err(Failure::usage)?),
        None => None,
    };
    if url.is_none() && a.file.is_none() {
        return Err(Failure::usage(
            "give the SHA256SUMS with --file (or its URL)",
        ));
    }
    let bytes = read_sums(&ctx, a, url.as_ref())?;
    let s = submit_sums(&ctx, &keys, &bytes)?;
    let out = output_path(a, "SHA256SUMS.proof");
    rget_fetch::durable::write_atomic(&out, s.proof.as_bytes(), 0o644)
        .map_err(|e| local(format!("{}: {}", out.display(), io_reason(&e))))?;
    let cp = &s.verified.checkpoint;
    let report = [
        format!(
            "rget: SHA256SUMS (sha256 {}) is in Sigsum log {} ({}) at leaf index {} (tree size {}; {})",
            rget_core::digest::sha256(&bytes),
            cp.checkpoint.origin,
            s.log_url,
            s.verified.leaf_index,
            cp.checkpoint.size,
            s.memory
        ),
        format!("  cosigned   {}", cosigned_by(cp, "the policy's quorum")),
        format!("  proof written to {}", out.display()),
    ];
    let report = rget_core::escape::lines_for_terminal(&report);
    let _ = std::io::stderr().write_all(report.as_bytes());
    Ok(())
}

/// Where the proof goes: `-o`, else `name` beside `--file`, else in the current directory.
fn output_path(a: &Args, name: &str) -> PathBuf {
    match (&a.output, &a.file) {
        (Some(o), _) => o.clone(),
        (None, Some(f)) => f.with_file_name(name),
        (None, None) => PathBuf::from(name),
    }
}

/// The `SHA256SUMS`: from `--file` (at most what a log record holds), else downloaded from `url`.
fn read_sums(ctx: &Context, a: &Args, url: Option<&CanonicalUrl>) -> CliResult<Vec<u8>> {
    Ok(match (&a.file, url) {
        (Some(f), _) => {
            let meta = std::fs::metadata(f)
                .map_err(|e| local(format!("{}: {}", f.display(), io_reason(&e))))?;
            if meta.len() > limits::SUMS {
                return Err(Failure::malformed(format!(
                    "{}: {} bytes, more than a log record can hold ({})",
                    f.display(),
                    meta.len(),
                    limits::SUMS
                )));
            }
            std::fs::read(f).map_err(|e| local(format!("{}: {}", f.display(), io_reason(&e))))?
        }
        (None, Some(url)) => {
            ctx.fetch
                .get_bytes(url.as_str(), limits::SUMS)
                .map_err(|e| client(e.into()))?
                .bytes
        }
        (None, None) => return Err(Failure::usage("give the SHA256SUMS with --file or its URL")),
    })
}

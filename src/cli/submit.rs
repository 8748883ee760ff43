//! `rget submit`: record a published `SHA256SUMS` in a transparency log and keep the proof.

use super::exit::{CliResult, Failure, io_reason};
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

#[derive(clap::Args, Debug)]
#[command(
    about = "Record a published SHA256SUMS in a transparency log and write its proof",
    long_about = "Record the SHA256SUMS published at URL (read from --file, else downloaded from URL) in a \
transparency log, verify the proof the log answers with (log signature, the policy's quorum, inclusion \
of exactly the record for URL and these bytes, consistency with the last checkpoint seen), and write it \
as SHA256SUMS.tlog-proof, to publish next to SHA256SUMS. The log is --log, else the first log of the \
policy; it must be in the policy either way, since its proof is checked with the policy's keys.",
    after_help = "Examples:
  # writes dist/SHA256SUMS.tlog-proof
  rget submit https://example.org/rel/v1.2/SHA256SUMS --file dist/SHA256SUMS
  rget submit https://example.org/rel/v1.2/SHA256SUMS -o SHA256SUMS.tlog-proof

While the log waits for its witnesses, a terminal shows what is awaited. A log
that cannot publish the record in time answers 503 with the cause (its witness
quorum not reached, and why): printed in one line, exit 4; the log keeps the
record, and submitting again later gets its proof."
)]
pub struct Args {
    /// The URL where the SHA256SUMS is (or will be) published (https)
    pub url: String,
    /// Read the SHA256SUMS from this file instead of downloading it
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The log's URL prefix. Default: the first log of the policy
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// Where to write the proof. Default: SHA256SUMS.tlog-proof beside --file, else in the current directory
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
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

pub fn run(a: Args) -> CliResult {
    let ctx = a.trust.context()?;
    let url = CanonicalUrl::parse(&a.url).map_err(Failure::usage)?;
    let bytes = match &a.file {
        Some(f) => {
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
        None => {
            ctx.fetch
                .get_bytes(url.as_str(), limits::SUMS)
                .map_err(|e| client(e.into()))?
                .bytes
        }
    };
    let Submitted {
        proof,
        logged,
        memory,
    } = submit_verified(&ctx, a.log.as_deref(), &url, &bytes)?;
    let out = match (&a.output, &a.file) {
        (Some(o), _) => o.clone(),
        (None, Some(f)) => f.with_file_name("SHA256SUMS.tlog-proof"),
        (None, None) => PathBuf::from("SHA256SUMS.tlog-proof"),
    };
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

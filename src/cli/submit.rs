//! `rget submit`: record a published `SHA256SUMS` in a transparency log and keep the proof.

use super::exit::{CliResult, Failure, io_reason};
use super::trust_args::{TrustArgs, client, local};
use crate::client::verified::ClientError;
use crate::core::merkle;
use crate::core::record;
use crate::core::tile::TileHashSource;
use crate::core::verify::verify_logged_sums;
use crate::fetch::{LogClient, limits};
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
  rget submit https://example.org/rel/v1.2/SHA256SUMS --file dist/SHA256SUMS      writes dist/SHA256SUMS.tlog-proof
  rget submit https://example.org/rel/v1.2/SHA256SUMS -o SHA256SUMS.tlog-proof"
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

pub fn run(a: Args) -> CliResult {
    let ctx = a.trust.context()?;
    let url = record::canonical_url(&a.url).map_err(Failure::usage)?;
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
                .get_bytes(&url, limits::SUMS)
                .map_err(|e| client(e.into()))?
                .bytes
        }
    };
    // Refuse locally what the log would refuse, with the same message.
    record::build(&url, &bytes).map_err(Failure::malformed)?;
    let log_url = match &a.log {
        Some(l) => l.clone(),
        None => ctx
            .policy
            .logs()
            .next()
            .map(|l| l.url.to_string())
            .ok_or_else(|| Failure::usage("the policy lists no log; name one with --log"))?,
    };
    let log_url = if log_url.ends_with('/') {
        log_url
    } else {
        format!("{log_url}/")
    };
    let lc = LogClient::new(&log_url, &ctx.fetch);
    let proof = lc.submit(&url, &bytes).map_err(|e| client(e.into()))?;
    let logged = verify_logged_sums(&ctx.policy.policy, &url, &bytes, &proof)
        .map_err(|e| Failure::verification(format!("the log's answer does not verify: {e}")))?;
    let memory = ctx
        .state
        .tie_to_newest(&logged.checkpoint, &mut |old, new| {
            let mut src = TileHashSource::new(LogClient::new(&log_url, &ctx.fetch), new);
            merkle::consistency_proof(old, new, &mut src)
        })
        .map_err(|e| client(ClientError::from(e)))?;
    let out = match (&a.output, &a.file) {
        (Some(o), _) => o.clone(),
        (None, Some(f)) => f.with_file_name("SHA256SUMS.tlog-proof"),
        (None, None) => PathBuf::from("SHA256SUMS.tlog-proof"),
    };
    // Temporary file, fsync, rename: an interrupted run never leaves half a proof.
    crate::durable::write_atomic(&out, &proof, 0o644)
        .map_err(|e| local(format!("{}: {}", out.display(), io_reason(&e))))?;
    let _ = writeln!(
        std::io::stderr(),
        "rget: {url} is in {} at index {} (checkpoint size {}; {memory})\n  proof written to {}",
        logged.checkpoint.checkpoint.origin,
        logged.index,
        logged.checkpoint.checkpoint.size,
        out.display()
    );
    Ok(())
}

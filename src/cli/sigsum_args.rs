//! The options with which `rget submit` and `rget release` log a `SHA256SUMS` in Sigsum logs instead
//! of an rget log (`--sigsum-policy`, `--sigsum-key`, `--sigsum-token`), turned into what
//! `client::sigsum::submit` needs; and the progress line shown while a log is polled.

use super::exit::{CliResult, Failure};
use super::trust_args::{LogTrustArgs, client};
use crate::client::context::Context;
use crate::client::sigsum::submit::{self, Submitted, Submitter, Waiting};
use crate::secret::{self, Secret, SecretError};
use rget_core::ed25519::Seed;
use rget_core::openssh::{self, MAX_PRIVATE_KEY_FILE};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// `--sigsum-policy`, `--sigsum-key`, `--sigsum-token`.
#[derive(clap::Args, Debug, Clone)]
pub struct SigsumArgs {
    /// Log the SHA256SUMS in Sigsum logs instead of an rget log: a Sigsum policy file, or a
    /// built-in policy name (sigsum-generic-2025-1, the Sigsum project's production logs and
    /// witnesses; sigsum-test-2025-3). The proof is written as SHA256SUMS.proof
    #[arg(
        long,
        value_name = "FILE|NAME",
        requires = "sigsum_key",
        conflicts_with_all = ["policy", "log"]
    )]
    pub sigsum_policy: Option<String>,
    /// The submitter key that signs the Sigsum leaf: an unencrypted OpenSSH ssh-ed25519 private
    /// key (rget keygen --ssh, or ssh-keygen -t ed25519 -N ''). Its public key is what users give
    /// rget as --key
    #[arg(long, value_name = "KEY", requires = "sigsum_policy")]
    pub sigsum_key: Option<PathBuf>,
    /// A submit token for logs that rate-limit by domain (the public ones do): DOMAIN, whose DNS
    /// record _sigsum_v1.DOMAIN holds the token key's public key in hex, and KEYFILE, that key's
    /// OpenSSH private key (as sigsum-submit -d DOMAIN -a KEYFILE)
    #[arg(long, value_name = "DOMAIN:KEYFILE", requires = "sigsum_policy")]
    pub sigsum_token: Option<String>,
}

/// An OpenSSH private key file, read whole (bounded) and parsed. Like every signing key, it must be
/// a regular file only this user (or root) can change (`crate::secret`): whoever can write it
/// decides what is logged in the publisher's name.
fn read_private_key(path: &Path, what: &str) -> CliResult<Seed> {
    let bytes =
        secret::read(path, Secret::Key, MAX_PRIVATE_KEY_FILE as u64).map_err(|e| match e {
            SecretError::TooLarge { .. } => Failure::malformed(format!("{what} {e}")),
            SecretError::Io { .. } | SecretError::NotPrivate { .. } => {
                Failure::local_io(format!("{what} {e}"))
            }
        })?;
    let key = openssh::parse_private_key(&bytes)
        .map_err(|e| Failure::malformed(format!("{what} {}: {e}", path.display())))?;
    Ok(key.seed)
}

/// The submitter's keys, read.
pub struct SubmitterKeys {
    /// The submitter's signing key, from `--sigsum-key`.
    pub key: Seed,
    /// `--sigsum-token DOMAIN:KEYFILE`: the domain and its token key.
    pub token: Option<(String, Seed)>,
}

impl SubmitterKeys {
    /// The keys, borrowed, as the Sigsum client takes them.
    pub fn submitter(&self) -> Submitter<'_> {
        Submitter {
            key: &self.key,
            token: self.token.as_ref().map(|(d, k)| (d.as_str(), k)),
        }
    }
}

impl SigsumArgs {
    /// Whether the Sigsum options were given.
    pub fn enabled(&self) -> bool {
        self.sigsum_policy.is_some()
    }

    /// Reads `--sigsum-key` and `--sigsum-token` (everything local, before any log is asked).
    pub fn keys(&self) -> CliResult<SubmitterKeys> {
        let path = self
            .sigsum_key
            .as_ref()
            .ok_or_else(|| Failure::usage("--sigsum-policy needs --sigsum-key KEY"))?;
        let key = read_private_key(path, "--sigsum-key")?;
        let token = match &self.sigsum_token {
            None => None,
            Some(t) => {
                let (domain, file) = t.split_once(':').ok_or_else(|| {
                    Failure::usage(format!("--sigsum-token {t:?}: want DOMAIN:KEYFILE"))
                })?;
                if domain.is_empty() || file.is_empty() {
                    return Err(Failure::usage(format!(
                        "--sigsum-token {t:?}: want DOMAIN:KEYFILE"
                    )));
                }
                Some((
                    domain.to_owned(),
                    read_private_key(Path::new(file), "--sigsum-token key")?,
                ))
            }
        };
        Ok(SubmitterKeys { key, token })
    }

    /// The context a Sigsum submission is verified in: the Sigsum policy, and the state directory
    /// and network options of `trust`.
    pub fn context(&self, trust: &LogTrustArgs) -> CliResult<Context> {
        let policy = self
            .sigsum_policy
            .as_deref()
            .ok_or_else(|| Failure::usage("--sigsum-policy is missing"))?;
        let ctx = trust.context_for_policy(Path::new(policy))?;
        if !ctx.policy.is_sigsum() {
            return Err(Failure::usage(format!(
                "--sigsum-policy {policy}: not a Sigsum policy (its logs are not Sigsum logs)"
            )));
        }
        Ok(ctx)
    }
}

/// Submits `data` (the `SHA256SUMS` bytes) and returns the verified proof, with a progress line on
/// standard error while the log is polled, when that is a terminal (nothing otherwise).
pub fn submit_sums(ctx: &Context, keys: &SubmitterKeys, data: &[u8]) -> CliResult<Submitted> {
    let mut line = ProgressLine::new();
    let result = submit::submit(ctx, &keys.submitter(), data, &mut |w| line.show(w));
    line.clear();
    result.map_err(client)
}

/// One line on a terminal, rewritten in place.
struct ProgressLine {
    on: bool,
    shown: bool,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            on: std::io::stderr().is_terminal(),
            shown: false,
        }
    }

    fn show(&mut self, w: &Waiting) {
        if !self.on {
            return;
        }
        let spinner = ['|', '/', '-', '\\'][(w.since.as_millis() / 250 % 4) as usize];
        // The URL comes from the policy the user gave: spelled out all the same.
        let text = rget_core::escape::for_terminal(&format!(
            "{spinner} {}: {} ({:.0} s)",
            w.log_url,
            w.what,
            w.since.as_secs_f64()
        ))
        .into_owned();
        let _ = write!(std::io::stderr(), "\r\x1b[K{text}");
        self.shown = true;
    }

    fn clear(&mut self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

//! Options shared by every command that verifies: which logs, keys and state to use, and how to reach
//! the network. Turned into a [`Context`] once, the same way for `get`, `verify`, `cat` and `submit`.

use super::exit::Failure;
use crate::client::context::Context;
use crate::client::error::{Class, ClientError};
use crate::client::state::StateDir;
use crate::client::trust::{Env, PublisherKeys, TrustError, TrustPolicy};
use rget_fetch::{Client, Config, Deadline};
use std::path::PathBuf;

/// The options of every command that checks log proofs: policy, checkpoint memory, network.
/// `rget release` takes only these (its `--key` is the secret key it signs with); the verifying
/// commands take them as part of [`TrustArgs`].
#[derive(clap::Args, Debug, Clone)]
pub struct LogTrustArgs {
    /// The trust policy: a C2SP tlog-policy or a Sigsum policy file (trusted logs with their URLs,
    /// witnesses, quorum), or the name of a built-in Sigsum policy (sigsum-generic-2025-1,
    /// sigsum-test-2025-3). Under a Sigsum policy a download needs SHA256SUMS.proof. Default:
    /// $RGET_POLICY, else $XDG_CONFIG_HOME/rget/policy
    #[arg(long, value_name = "FILE|NAME")]
    pub policy: Option<PathBuf>,
    /// Allow plain http (for logs and files); the output says the transport was not authenticated.
    /// A redirect from https to http is refused even so. A SHA256SUMS is recorded only at https
    /// URLs: for a file over http, give --sums the https URL of its SHA256SUMS
    #[arg(long)]
    pub allow_http: bool,
    /// The checkpoint memory, CA files and time limits.
    #[command(flatten)]
    pub net: NetworkArgs,
}

/// The checkpoint memory and how servers are reached: the options of every command that verifies
/// (through [`LogTrustArgs`], and `rget self`).
#[derive(clap::Args, Debug, Clone)]
pub struct NetworkArgs {
    /// Where the last verified checkpoint of each log is kept. Default: $XDG_STATE_HOME/rget
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Also trust the CA certificates in this PEM file (SSL_CERT_FILE is honoured too)
    #[arg(long, value_name = "FILE")]
    pub cacert: Vec<PathBuf>,
    /// Longest wait, in seconds, for any single read from (or write to) a server: a server that
    /// stops answering, or stalls in the middle of a body, fails the transfer after this long
    /// (a GET is then retried, as for any failure in transit)
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Longest time, in seconds, the whole command may take: every connect, read, retry, pause,
    /// lock wait and the whole body fit in it, so a server that trickles or stalls cannot hold a
    /// build for longer (exit code 4 when it runs out)
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_MAX_TIME,
          value_parser = clap::value_parser!(u64).range(1..=MAX_MAX_TIME))]
    pub max_time: u64,
}

/// `--max-time` when none is given: 15 minutes. A build step that fetches a release should either
/// finish or fail well inside a CI job's own limit (commonly an hour), and 15 minutes still moves a
/// multi-gigabyte file at a few MB/s; a larger file or a slower link needs a larger `--max-time`.
pub const DEFAULT_MAX_TIME: u64 = 15 * 60;

/// The largest `--max-time` accepted: a week.
pub const MAX_MAX_TIME: u64 = 7 * 24 * 3600;

/// The trust options of every command that verifies downloads: [`LogTrustArgs`] and the
/// publisher key.
#[derive(clap::Args, Debug, Clone)]
pub struct TrustArgs {
    /// The policy, `--allow-http` and network options.
    #[command(flatten)]
    pub log: LogTrustArgs,
    /// The publisher key that must have signed every SHA256SUMS: a minisign public key (base64 or a
    /// .pub file; its signature is SHA256SUMS.minisig) or an OpenSSH ssh-ed25519 key (the line or
    /// a .pub file; under a Sigsum policy its signature is the leaf of SHA256SUMS.proof). Default:
    /// the keys file $XDG_CONFIG_HOME/rget/keys ('<url-prefix> <key>' lines, longest prefix wins)
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

/// The log options read as before the split (`trust.allow_http`), so the commands need not care
/// which struct holds a field.
impl std::ops::Deref for TrustArgs {
    type Target = LogTrustArgs;
    fn deref(&self) -> &LogTrustArgs {
        &self.log
    }
}

/// Maps a client failure, by its class, to the documented exit code.
pub fn failure(e: ClientError) -> Failure {
    match e.class() {
        Class::Verification => Failure::verification(e),
        Class::Malformed => Failure::malformed(e),
        Class::Network => Failure::network(e),
        Class::NotFound => Failure::not_found(e),
        Class::TrustAnomaly => Failure::trust_anomaly(e),
        Class::LocalIo => Failure::local_io(e),
        Class::Usage => Failure::usage(e),
    }
}

fn trust_failure(e: TrustError) -> Failure {
    failure(e.into())
}

impl TrustArgs {
    /// Loads the policy, the keys, the state directory and the HTTP client.
    pub fn context(&self) -> Result<Context, Failure> {
        let env = Env::from_process();
        let policy = self.log.policy(&env)?;
        let keys = PublisherKeys::load(self.key.as_deref(), &env).map_err(trust_failure)?;
        self.log.context_with(policy, keys, &env)
    }
}

impl LogTrustArgs {
    /// Loads the policy, the state directory and the HTTP client; no publisher key applies.
    pub fn context(&self) -> Result<Context, Failure> {
        let env = Env::from_process();
        let policy = self.policy(&env)?;
        self.context_with(policy, PublisherKeys::none(), &env)
    }

    /// [`LogTrustArgs::context`] under the policy `policy` (a file or a built-in name) instead of
    /// `--policy`: what `--sigsum-policy` names.
    pub fn context_for_policy(&self, policy: &std::path::Path) -> Result<Context, Failure> {
        let env = Env::from_process();
        let policy =
            TrustPolicy::load(Some(policy), &env, self.allow_http).map_err(trust_failure)?;
        self.context_with(policy, PublisherKeys::none(), &env)
    }

    fn policy(&self, env: &Env) -> Result<TrustPolicy, Failure> {
        TrustPolicy::load(self.policy.as_deref(), env, self.allow_http).map_err(trust_failure)
    }

    fn context_with(
        &self,
        policy: TrustPolicy,
        keys: PublisherKeys,
        env: &Env,
    ) -> Result<Context, Failure> {
        self.net.context(self.allow_http, policy, keys, env)
    }
}

impl NetworkArgs {
    /// Opens the state directory and builds the HTTP client around `policy` and `keys`; the whole
    /// command's `--max-time` counts from now.
    pub fn context(
        &self,
        allow_http: bool,
        policy: TrustPolicy,
        keys: PublisherKeys,
        env: &Env,
    ) -> Result<Context, Failure> {
        let deadline = Deadline::after(std::time::Duration::from_secs(self.max_time));
        let state = StateDir::open_default(self.state.as_deref(), env)
            .map_err(|e| failure(e.into()))?
            .with_deadline(Some(deadline));
        let mut config = Config::from_env();
        config.ca_files.extend(self.cacert.iter().cloned());
        config.allow_http = allow_http;
        config.read_timeout = std::time::Duration::from_secs(self.timeout);
        config.deadline = Some(deadline);
        let fetch = Client::new(config).map_err(|e| failure(e.into()))?;
        Ok(Context {
            fetch,
            policy,
            keys,
            state,
        })
    }
}

/// Turns a client error into a CLI failure (for `?`).
pub fn client(e: ClientError) -> Failure {
    failure(e)
}

/// A local I/O problem (exit code 7).
pub fn local(message: impl std::fmt::Display) -> Failure {
    Failure::local_io(message)
}

//! Trust configuration: which logs and witnesses a client trusts (a policy) and which publisher keys
//! apply to which `SHA256SUMS` URLs.
//!
//! Policy, first found wins: `--policy FILE`, else `$RGET_POLICY`, else
//! `$XDG_CONFIG_HOME/rget/policy` (`~/.config/rget/policy` when `XDG_CONFIG_HOME` is unset). A file
//! named by the flag or the variable must exist: falling back to another policy because of a typo
//! would silently trust something the user did not name. The file is a C2SP tlog-policy or a Sigsum
//! policy (hex keys); the flag and the variable may also give the name of a built-in Sigsum policy
//! (`sigsum-generic-2025-1`, `sigsum-test-2025-3`; `./NAME` names a file of that name).
//!
//! A policy whose logs are Sigsum logs (origin `sigsum.org/v1/tree/<key hash>`) is a Sigsum policy:
//! downloads are then proved by `SHA256SUMS.proof` (a Sigsum proof) instead of the rget log's
//! records. One policy trusts one kind of log; a mix is refused, since a file would otherwise be
//! accepted under whichever proof was easier to get.
//!
//! Publisher keys: `--key` (a minisign public key, as its base64 line or as a `.pub` file, or an
//! OpenSSH `ssh-ed25519` public key, as its line or as a `.pub` file of one or more keys) applies
//! to every URL and replaces the keys file; else `$XDG_CONFIG_HOME/rget/keys` (optional), lines
//! `<url-prefix> <minisign public key base64>` or `<url-prefix> ssh-ed25519 <base64> [comment]`. An
//! `ssh-ed25519` key is a Sigsum submitter key: the Sigsum leaf it signed is the publisher's
//! signature. The longest matching prefix wins, and a prefix only
//! matches on a path-segment boundary: `https://a.example/rel` matches `https://a.example/rel` and
//! `https://a.example/rel/x`, never `https://a.example/release/x` (a prefix that ends in `/` matches
//! everything below it). Prefixes and URLs are compared in the canonical spelling records use
//! (lowercase scheme and host, no default port), so `HTTPS://A.example:443/x` is `https://a.example/x`.
//!
//! Library code never reads the real environment or home directory on its own: every path comes from
//! an [`Env`], which [`Env::from_process`] fills from the process and tests fill by hand.

use rget_core::minisig::{self, PublicKey};
use rget_core::openssh;
use rget_core::policy::{MAX_POLICY_SIZE, Policy, PolicyLog};
use rget_core::record;
use rget_core::sigsum::{self, builtin, policy::SigsumPolicyError};
use rget_core::url::CanonicalUrl;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest keys file accepted.
pub const MAX_KEYS_FILE: usize = 1024 * 1024;
/// Longest keys-file line accepted (a URL is at most 2048 bytes, a key line 56).
pub const MAX_KEYS_LINE: usize = 8 * 1024;
/// Most entries in a keys file.
pub const MAX_KEYS: usize = 10_000;

/// The environment values the client's paths come from. Empty values count as unset, and relative
/// `XDG_*` values are ignored, as the XDG base directory specification asks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// `HOME`: the fallback base of the config and state directories.
    pub home: Option<PathBuf>,
    /// `XDG_CONFIG_HOME`: where `rget/policy` and `rget/keys` live (used only if absolute).
    pub xdg_config_home: Option<PathBuf>,
    /// `XDG_STATE_HOME`: where `rget/` keeps the checkpoints this host has seen (used only if
    /// absolute).
    pub xdg_state_home: Option<PathBuf>,
    /// `RGET_POLICY`: the policy file (or built-in policy name) to use when `--policy` is not
    /// given.
    pub rget_policy: Option<PathBuf>,
}

fn non_empty(v: Option<OsString>) -> Option<PathBuf> {
    v.filter(|s| !s.is_empty()).map(PathBuf::from)
}

impl Env {
    /// The values of `HOME`, `XDG_CONFIG_HOME`, `XDG_STATE_HOME` and `RGET_POLICY` of this process.
    pub fn from_process() -> Env {
        Env {
            home: non_empty(std::env::var_os("HOME")),
            xdg_config_home: non_empty(std::env::var_os("XDG_CONFIG_HOME")),
            xdg_state_home: non_empty(std::env::var_os("XDG_STATE_HOME")),
            rget_policy: non_empty(std::env::var_os("RGET_POLICY")),
        }
    }

    /// `$xdg/rget` if `xdg` is a usable (non-empty, absolute) path, else `$HOME/<fallback>/rget`.
    fn xdg_dir(&self, xdg: Option<&PathBuf>, fallback: &str) -> Option<PathBuf> {
        if let Some(x) = xdg.filter(|x| x.is_absolute()) {
            return Some(x.join("rget"));
        }
        let home = self.home.as_ref().filter(|h| !h.as_os_str().is_empty())?;
        Some(home.join(fallback).join("rget"))
    }

    /// rget's configuration directory: `$XDG_CONFIG_HOME/rget`, default `~/.config/rget`.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.xdg_dir(self.xdg_config_home.as_ref(), ".config")
    }

    /// rget's state directory: `$XDG_STATE_HOME/rget`, default `~/.local/state/rget`.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.xdg_dir(self.xdg_state_home.as_ref(), ".local/state")
    }

    /// `RGET_POLICY`, if set to a non-empty value.
    fn policy_var(&self) -> Option<&PathBuf> {
        self.rget_policy
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
    }
}

/// Where the policy file came from, for messages and output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// `--policy FILE` (also the pinned policy of rget's own releases).
    Flag,
    /// The `RGET_POLICY` environment variable.
    EnvVar,
    /// `policy` in the configuration directory.
    ConfigDir,
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicySource::Flag => "--policy",
            PolicySource::EnvVar => "RGET_POLICY",
            PolicySource::ConfigDir => "the default location",
        })
    }
}

/// Errors in the trust configuration. Each is one line naming the file (and line) and the problem.
#[derive(Debug, Error)]
pub enum TrustError {
    /// Neither `--policy` nor `RGET_POLICY` is given and the configuration directory has no
    /// `policy`.
    #[error(
        "no trust policy: --policy was not given, RGET_POLICY is not set, and {looked} does not exist; \
         create it with one line `log <log vkey> <log URL>` per trusted log and a quorum line \
         (`quorum none` to require no witness cosignatures), or pass --policy FILE"
    )]
    NoPolicy {
        /// The default policy path that does not exist.
        looked: String,
    },
    /// Neither `--policy` nor `RGET_POLICY` is given, and no configuration directory can be found
    /// (neither an absolute `XDG_CONFIG_HOME` nor `HOME`).
    #[error(
        "no trust policy: --policy was not given, RGET_POLICY is not set, and neither XDG_CONFIG_HOME \
         nor HOME is set to find rget/policy; pass --policy FILE"
    )]
    NoConfigDir,
    /// The policy file cannot be opened or read (a named file that is missing ends here too).
    #[error("{path} (named by {via}): cannot read the policy: {err}")]
    ReadPolicy {
        /// The policy file.
        path: String,
        /// How it was named.
        via: PolicySource,
        /// The read error.
        err: io::Error,
    },
    /// A policy, keys or public key file is larger than its limit: read no further than needed.
    #[error("{path}: {what} is larger than {max} bytes")]
    TooLarge {
        /// The file (`--key ARG` for a key file named on the command line).
        path: String,
        /// Which kind of file: "policy", "keys file", "public key file".
        what: &'static str,
        /// The limit, in bytes.
        max: usize,
    },
    /// A policy, keys or public key file is not UTF-8.
    #[error("{path}: {what} is not UTF-8 text")]
    NotUtf8 {
        /// The file (`--key ARG` for a key file named on the command line).
        path: String,
        /// Which kind of file: "policy", "keys file", "public key file".
        what: &'static str,
    },
    /// The policy text parses neither as a C2SP tlog-policy nor as a Sigsum policy.
    #[error("{path}: {err}")]
    BadPolicy {
        /// The policy file (or built-in policy name).
        path: String,
        /// The parse error.
        err: SigsumPolicyError,
    },
    /// The policy trusts both Sigsum logs and rget logs: a file would be accepted under whichever
    /// proof was easier to get.
    #[error(
        "{path}: log {sigsum:?} is a Sigsum log and log {other:?} is not: a policy trusts one kind of log \
         (Sigsum logs prove a download with SHA256SUMS.proof, rget logs with their records); write two \
         policies"
    )]
    MixedPolicy {
        /// The policy file.
        path: String,
        /// The origin of its first Sigsum log.
        sigsum: String,
        /// The origin of its first log that is not a Sigsum log.
        other: String,
    },
    /// A `log` line has no URL: the client would have nowhere to fetch the log's checkpoint from.
    #[error(
        "{path} line {line}: log {origin:?} has no URL; the client fetches the log's checkpoint and \
         tiles from it, so write `log <vkey> https://<log URL prefix>/`"
    )]
    LogWithoutUrl {
        /// The policy file.
        path: String,
        /// The 1-based line of the `log` line.
        line: usize,
        /// The log's origin (its key name).
        origin: String,
    },
    /// A `log` line's URL has no canonical https spelling (or is plain http without the flag).
    #[error("{path} line {line}: log {origin:?}: URL {url:?} {reason}")]
    BadLogUrl {
        /// The policy file.
        path: String,
        /// The 1-based line of the `log` line.
        line: usize,
        /// The log's origin (its key name).
        origin: String,
        /// The URL as written.
        url: String,
        /// Why it cannot be used.
        reason: Box<PrefixError>,
    },
    /// `--key` parses as no key and names no readable file.
    #[error(
        "--key {arg:?} is neither a minisign nor an ssh-ed25519 public key ({parse}), nor a readable file ({io})"
    )]
    BadKeyArg {
        /// The `--key` argument as given.
        arg: String,
        /// Why it is not a minisign key.
        parse: minisig::MinisigError,
        /// Why it is not a readable file.
        io: io::Error,
    },
    /// The file named by `--key` holds neither a minisign public key nor `ssh-ed25519` keys.
    #[error("--key {path}: not a minisign public key file ({err}) nor ssh-ed25519 keys ({ssh})")]
    BadKeyFile {
        /// The file named by `--key`.
        path: String,
        /// Why it is not a minisign public key.
        err: minisig::MinisigError,
        /// Why it is not a file of `ssh-ed25519` keys (or that this command takes none).
        ssh: String,
    },
    /// The keys file exists but cannot be read (a missing default keys file is no error).
    #[error("{path}: cannot read the keys file: {err}")]
    ReadKeys {
        /// The keys file.
        path: String,
        /// The read error.
        err: io::Error,
    },
    /// A keys-file line is malformed: bad prefix, bad key, or a prefix given twice.
    #[error("{path} line {line}: {reason}")]
    BadKeysLine {
        /// The keys file.
        path: String,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
}

/// Reads at most `max` bytes of `path`; `Ok(None)` if it is larger.
fn read_bounded(path: &Path, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    // u64 from usize never truncates on the platforms rget supports (64-bit Unix).
    File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok((buf.len() <= max).then_some(buf))
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

/// Why a URL prefix cannot be used: a phrase to follow the URL in a message.
#[derive(Debug, PartialEq, Eq, Error)]
pub enum PrefixError {
    /// No `://` in it.
    #[error("has no scheme (want https://...)")]
    NoScheme,
    /// A scheme other than http or https (the scheme as written).
    #[error("has scheme {0:?}, want https")]
    Scheme(String),
    /// `http://` without `--allow-http`: anyone on the network path can alter plain http.
    #[error("is plain http, which is refused unless http is allowed by flag")]
    PlainHttp,
    /// No canonical spelling (`record::canonical_url`).
    #[error("{}", record_phrase(.0))]
    Url(record::RecordError),
}

fn record_phrase(e: &record::RecordError) -> String {
    match e {
        record::RecordError::BadUrl { reason, .. } => format!("is not usable: {reason}"),
        record::RecordError::UrlTooLong => format!("is longer than {} bytes", record::MAX_URL),
        other => format!("is not usable: {other}"),
    }
}

/// The canonical spelling of an http(s) URL or URL prefix, the one `SHA256SUMS` records use: scheme and
/// host lowercased, default port dropped, and everything a client would rewrite refused (see
/// `record::canonical_url`).
pub fn canonical_prefix(input: &str, allow_http: bool) -> Result<String, PrefixError> {
    let Some((scheme, rest)) = input.split_once("://") else {
        return Err(PrefixError::NoScheme);
    };
    if scheme.eq_ignore_ascii_case("https") {
        return record::canonical_url(input).map_err(PrefixError::Url);
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(PrefixError::Scheme(scheme.to_owned()));
    }
    if !allow_http {
        return Err(PrefixError::PlainHttp);
    }
    // Check it with the https rules, then put back http and http's own default port (80, not 443).
    let c = record::canonical_url(&format!("https://{rest}")).map_err(PrefixError::Url)?;
    let tail = c.strip_prefix("https://").unwrap_or(&c);
    let (auth, path) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
    let given_auth = rest.split('/').next().unwrap_or_default();
    let auth = if given_auth.ends_with(":443") {
        format!("{auth}:443")
    } else {
        auth.strip_suffix(":80").unwrap_or(auth).to_owned()
    };
    Ok(format!("http://{auth}{path}"))
}

/// Whether `prefix` covers `url`: equal, or `url` continues `prefix` at a path-segment boundary.
pub fn prefix_matches(prefix: &str, url: &str) -> bool {
    match url.strip_prefix(prefix) {
        None => false,
        Some("") => true,
        Some(rest) => prefix.ends_with('/') || rest.starts_with('/'),
    }
}

/// A trusted log as the client uses it: the policy's log and the URL prefix to fetch it from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedLog<'a> {
    /// The checkpoint origin (the log key's name).
    pub origin: &'a str,
    /// The log's URL prefix, canonical, ending in `/`: `<url>checkpoint`, `<url>tile/0/000`, ...
    /// (for a Sigsum log: `<url>get-tree-head`, ...).
    pub url: &'a str,
    /// The policy's entry for the log: its verifier key.
    pub log: &'a PolicyLog,
    /// A Sigsum log: its API is Sigsum's (`get-tree-head`, `get-consistency-proof`, ...).
    pub sigsum: bool,
}

/// A loaded policy whose every log has a usable URL.
#[derive(Clone, Debug)]
pub struct TrustPolicy {
    /// The policy file read (or the built-in policy's name).
    pub path: PathBuf,
    /// How it was named.
    pub via: PolicySource,
    /// The parsed policy: logs, witnesses, quorum.
    pub policy: Policy,
    /// `urls[i]` is the canonical URL prefix of `policy.logs[i]`.
    urls: Vec<String>,
}

impl TrustPolicy {
    /// Which policy file applies: `--policy`, else `RGET_POLICY`, else the config directory's
    /// `policy`. Only the last may be missing without the caller having asked for it, so only that
    /// case is checked here; a named file that is missing fails when it is read.
    pub fn resolve_path(
        flag: Option<&Path>,
        env: &Env,
    ) -> Result<(PathBuf, PolicySource), TrustError> {
        if let Some(p) = flag {
            return Ok((p.to_path_buf(), PolicySource::Flag));
        }
        if let Some(p) = env.policy_var() {
            return Ok((p.clone(), PolicySource::EnvVar));
        }
        let path = env
            .config_dir()
            .ok_or(TrustError::NoConfigDir)?
            .join("policy");
        if !path.exists() {
            return Err(TrustError::NoPolicy {
                looked: show(&path),
            });
        }
        Ok((path, PolicySource::ConfigDir))
    }

    /// Finds, reads and checks the policy. `allow_http` lets log URLs be plain http (a flag the user
    /// typed; the output should say so).
    pub fn load(
        flag: Option<&Path>,
        env: &Env,
        allow_http: bool,
    ) -> Result<TrustPolicy, TrustError> {
        let (path, via) = Self::resolve_path(flag, env)?;
        // A built-in Sigsum policy by name (the flag or the variable only: the default location is
        // always a file). A file of that name is `./NAME`.
        if via != PolicySource::ConfigDir
            && let Some(text) = path.to_str().and_then(builtin::text)
        {
            return Self::from_text(&path, via, text, allow_http);
        }
        let bytes = match read_bounded(&path, MAX_POLICY_SIZE) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(TrustError::TooLarge {
                    path: show(&path),
                    what: "policy",
                    max: MAX_POLICY_SIZE,
                });
            }
            Err(err) => {
                return Err(TrustError::ReadPolicy {
                    path: show(&path),
                    via,
                    err,
                });
            }
        };
        let text = String::from_utf8(bytes).map_err(|_| TrustError::NotUtf8 {
            path: show(&path),
            what: "policy",
        })?;
        Self::from_text(&path, via, &text, allow_http)
    }

    /// Checks policy text read from `path` (a C2SP tlog-policy or a Sigsum policy): it parses, it
    /// trusts one kind of log, and every log has a usable URL.
    pub fn from_text(
        path: &Path,
        via: PolicySource,
        text: &str,
        allow_http: bool,
    ) -> Result<TrustPolicy, TrustError> {
        let policy = sigsum::policy::parse_any(text).map_err(|err| TrustError::BadPolicy {
            path: show(path),
            err,
        })?;
        let (sigsum_logs, rget_logs): (Vec<&PolicyLog>, Vec<&PolicyLog>) =
            policy.logs.iter().partition(|l| sigsum::is_sigsum_log(l));
        if let (Some(s), Some(o)) = (sigsum_logs.first(), rget_logs.first()) {
            return Err(TrustError::MixedPolicy {
                path: show(path),
                sigsum: s.vkey.name.clone(),
                other: o.vkey.name.clone(),
            });
        }
        // The parser keeps logs in file order, so the n-th `log` line is the n-th log: that gives the
        // line number for messages without changing the core's types.
        let log_lines = text.split('\n').enumerate().filter_map(|(i, l)| {
            let mut fields = l.split([' ', '\t']).filter(|f| !f.is_empty());
            (fields.next() == Some("log")).then_some(i + 1)
        });
        let mut urls = Vec::with_capacity(policy.logs.len());
        for (log, line) in policy.logs.iter().zip(log_lines) {
            let origin = log.vkey.name.clone();
            let Some(url) = &log.url else {
                return Err(TrustError::LogWithoutUrl {
                    path: show(path),
                    line,
                    origin,
                });
            };
            let mut canon =
                canonical_prefix(url, allow_http).map_err(|reason| TrustError::BadLogUrl {
                    path: show(path),
                    line,
                    origin,
                    url: url.clone(),
                    reason: Box::new(reason),
                })?;
            // A prefix ending in `/` lets callers append tile paths without guessing.
            if !canon.ends_with('/') {
                canon.push('/');
            }
            urls.push(canon);
        }
        Ok(TrustPolicy {
            path: path.to_path_buf(),
            via,
            policy,
            urls,
        })
    }

    /// Whether this is a Sigsum policy: it names logs, all of them Sigsum logs. Downloads are then
    /// proved by `SHA256SUMS.proof`.
    pub fn is_sigsum(&self) -> bool {
        !self.policy.logs.is_empty() && self.policy.logs.iter().all(sigsum::is_sigsum_log)
    }

    /// The trusted log whose origin is `origin` (a checkpoint's first line), with its URL.
    pub fn log_for_origin(&self, origin: &str) -> Option<TrustedLog<'_>> {
        self.logs().find(|l| l.origin == origin)
    }

    /// Every trusted log, in policy order.
    pub fn logs(&self) -> impl Iterator<Item = TrustedLog<'_>> {
        self.policy
            .logs
            .iter()
            .zip(&self.urls)
            .map(|(log, url)| TrustedLog {
                origin: &log.vkey.name,
                url,
                log,
                sigsum: sigsum::is_sigsum_log(log),
            })
    }
}

/// A minisign public key given on the command line (`--key`, `rget keys add`): the base64 key line
/// (or a whole `.pub` text) if it parses as a key, else a path to a `.pub` file. Trying the key first
/// means a file that happens to be named like a key cannot shadow the key the user typed.
pub fn parse_key_arg(arg: &str) -> Result<PublicKey, TrustError> {
    read_key_arg(arg).map(|(key, _)| key)
}

/// [`parse_key_arg`], with the key's base64 line (as a keys file writes it).
pub fn read_key_arg(arg: &str) -> Result<(PublicKey, String), TrustError> {
    let parse_err = match PublicKey::parse(arg) {
        Ok(key) => return Ok((key, key_line(arg))),
        Err(e) => e,
    };
    let text = read_key_file(arg, minisig::MAX_FILE, parse_err)?;
    let key = PublicKey::parse(&text).map_err(|err| TrustError::BadKeyFile {
        path: arg.to_owned(),
        err,
        // Keys files take ssh-ed25519 lines too, but this reader (`rget keys add`) writes
        // minisign key lines only.
        ssh: match openssh::parse_public_keys(text.as_bytes()) {
            Ok(_) => "an ssh-ed25519 key, which this command does not take".to_owned(),
            Err(e) => e.to_string(),
        },
    })?;
    Ok((key, key_line(&text)))
}

/// The text of the public key file `arg` names, at most `max` bytes: the `--key` argument was not a
/// key itself (`parse_err` says why), so where it is no readable file either the error gives both
/// reasons.
fn read_key_file(
    arg: &str,
    max: usize,
    parse_err: minisig::MinisigError,
) -> Result<String, TrustError> {
    let bytes = match read_bounded(Path::new(arg), max) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Err(TrustError::TooLarge {
                path: format!("--key {arg}"),
                what: "public key file",
                max,
            });
        }
        Err(io) => {
            return Err(TrustError::BadKeyArg {
                arg: arg.to_owned(),
                parse: parse_err,
                io,
            });
        }
    };
    String::from_utf8(bytes).map_err(|_| TrustError::NotUtf8 {
        path: format!("--key {arg}"),
        what: "public key file",
    })
}

/// The base64 line of a public key text that [`PublicKey::parse`] accepted: its first non-empty line
/// that is not the untrusted comment.
fn key_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .unwrap_or_default()
        .to_owned()
}

/// Where an applicable publisher key came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `--key`: applies to every URL.
    Flag,
    /// A keys-file line.
    KeysFile {
        /// The keys file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The line's canonical URL prefix.
        prefix: String,
    },
}

/// A publisher key: a minisign key, whose signature is `SHA256SUMS.minisig`, or OpenSSH
/// `ssh-ed25519` keys (one, or the keys of one `.pub` file), whose signature is the leaf of a Sigsum
/// proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublisherKey {
    /// A minisign Ed25519 public key: checks `SHA256SUMS.minisig`.
    Minisign(PublicKey),
    /// Raw Ed25519 public keys of `ssh-ed25519` lines (at least one): check a Sigsum leaf.
    Ssh(Vec<[u8; 32]>),
}

impl PublisherKey {
    /// How the key is called in reports: the minisign key ID, or Sigsum's key hash (SHA-256 of the
    /// key) of the first `ssh-ed25519` key.
    pub fn key_id(&self) -> String {
        match self {
            PublisherKey::Minisign(k) => k.key_id(),
            PublisherKey::Ssh(keys) => keys
                .first()
                .map(|k| sigsum::key_hash(k).to_hex())
                .unwrap_or_default(),
        }
    }

    /// `key ID <id>` or `ssh-ed25519 key <key hash>` (`+N` when a file gave more keys).
    pub fn describe(&self) -> String {
        match self {
            PublisherKey::Minisign(k) => format!("key ID {}", k.key_id()),
            PublisherKey::Ssh(keys) if keys.len() > 1 => format!(
                "ssh-ed25519 key {} (+{} more)",
                self.key_id(),
                keys.len() - 1
            ),
            PublisherKey::Ssh(_) => format!("ssh-ed25519 key {}", self.key_id()),
        }
    }
}

/// One keys-file entry.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeyEntry {
    /// Canonical URL prefix.
    prefix: String,
    key: PublisherKey,
    line: usize,
}

/// A key that applies to a URL, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedKey<'a> {
    /// The key.
    pub key: &'a PublisherKey,
    /// `--key`, or the keys-file line whose prefix matched.
    pub source: KeySource,
}

impl fmt::Display for AppliedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            KeySource::Flag => write!(f, "{} (from --key)", self.key.describe()),
            KeySource::KeysFile { path, line, prefix } => write!(
                f,
                "{} ({} line {line}, prefix {prefix})",
                self.key.describe(),
                path.display()
            ),
        }
    }
}

/// The publisher keys that apply to `SHA256SUMS` URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublisherKeys {
    flag: Option<PublisherKey>,
    file: Option<PathBuf>,
    entries: Vec<KeyEntry>,
}

impl PublisherKeys {
    /// No keys at all: every URL is unsigned.
    pub fn none() -> PublisherKeys {
        PublisherKeys::default()
    }

    /// `--key` if given (the keys file is then not read: the flag is the user's whole answer), else
    /// the keys file in the config directory if it exists.
    pub fn load(key_arg: Option<&str>, env: &Env) -> Result<PublisherKeys, TrustError> {
        if let Some(arg) = key_arg {
            return Self::from_key_arg(arg);
        }
        let Some(path) = env.config_dir().map(|d| d.join("keys")) else {
            return Ok(PublisherKeys::none());
        };
        match Self::load_file(&path) {
            Err(TrustError::ReadKeys { err, .. }) if err.kind() == io::ErrorKind::NotFound => {
                Ok(PublisherKeys::none())
            }
            other => other,
        }
    }

    /// `--key`: the key itself if it parses as one (a minisign base64 line or `.pub` text, or an
    /// `ssh-ed25519` line), else a path to a `.pub` file (minisign, or `ssh-ed25519` lines). Trying
    /// the key first means a file that happens to be named like a key cannot shadow the key the
    /// user typed.
    pub fn from_key_arg(arg: &str) -> Result<PublisherKeys, TrustError> {
        let flag = |key| {
            Ok(PublisherKeys {
                flag: Some(key),
                ..PublisherKeys::default()
            })
        };
        let parse_err = match PublicKey::parse(arg) {
            Ok(key) => return flag(PublisherKey::Minisign(key)),
            Err(e) => e,
        };
        if let Ok(k) = openssh::parse_public_key(arg) {
            return flag(PublisherKey::Ssh(vec![k.key]));
        }
        let max = minisig::MAX_FILE.max(openssh::MAX_KEY_FILE);
        let text = read_key_file(arg, max, parse_err)?;
        match PublicKey::parse(&text) {
            Ok(key) => flag(PublisherKey::Minisign(key)),
            Err(err) => match openssh::parse_public_keys(text.as_bytes()) {
                Ok(file) => flag(PublisherKey::Ssh(file.keys)),
                Err(ssh) => Err(TrustError::BadKeyFile {
                    path: arg.to_owned(),
                    err,
                    ssh: ssh.to_string(),
                }),
            },
        }
    }

    /// Reads and parses a keys file.
    pub fn load_file(path: &Path) -> Result<PublisherKeys, TrustError> {
        let bytes = match read_bounded(path, MAX_KEYS_FILE) {
            Ok(Some(b)) => b,
            Ok(None) => {
                return Err(TrustError::TooLarge {
                    path: show(path),
                    what: "keys file",
                    max: MAX_KEYS_FILE,
                });
            }
            Err(err) => {
                return Err(TrustError::ReadKeys {
                    path: show(path),
                    err,
                });
            }
        };
        let text = String::from_utf8(bytes).map_err(|_| TrustError::NotUtf8 {
            path: show(path),
            what: "keys file",
        })?;
        Self::parse_keys_file(path, &text)
    }

    /// Parses keys-file text: `<url-prefix> <minisign public key base64>` or
    /// `<url-prefix> ssh-ed25519 <base64> [comment]` per line, `#` comment lines and blank lines
    /// ignored. Each prefix at most once (two keys for one prefix would make "the key
    /// for this URL" ambiguous). Prefixes may be https or http; they are matched against canonical
    /// URLs, so an http prefix only ever matches URLs fetched over http by flag.
    pub fn parse_keys_file(path: &Path, text: &str) -> Result<PublisherKeys, TrustError> {
        let bad = |line: usize, reason: String| TrustError::BadKeysLine {
            path: show(path),
            line,
            reason,
        };
        let mut entries: Vec<KeyEntry> = Vec::new();
        for (i, raw) in text.split('\n').enumerate() {
            let n = i + 1;
            if raw.len() > MAX_KEYS_LINE {
                return Err(bad(n, format!("line is longer than {MAX_KEYS_LINE} bytes")));
            }
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
            let (prefix, key) = match fields.as_slice() {
                [] => continue,
                [first, ..] if first.starts_with('#') => continue,
                [prefix, kind, rest @ ..] if *kind == openssh::KEY_TYPE && !rest.is_empty() => {
                    let k = openssh::parse_public_key(&fields[1..].join(" "))
                        .map_err(|e| bad(n, e.to_string()))?;
                    (*prefix, PublisherKey::Ssh(vec![k.key]))
                }
                [prefix, key] => (
                    *prefix,
                    PublisherKey::Minisign(
                        PublicKey::parse(key).map_err(|e| bad(n, e.to_string()))?,
                    ),
                ),
                _ => {
                    return Err(bad(
                        n,
                        format!(
                            "want `<url-prefix> <minisign public key>` or `<url-prefix> ssh-ed25519 <base64> [comment]`, got {} fields",
                            fields.len()
                        ),
                    ));
                }
            };
            let canon = canonical_prefix(prefix, true)
                .map_err(|reason| bad(n, format!("URL prefix {prefix:?} {reason}")))?;
            if let Some(first) = entries.iter().find(|e| e.prefix == canon) {
                return Err(bad(
                    n,
                    format!("prefix {canon} already has a key on line {}", first.line),
                ));
            }
            if entries.len() >= MAX_KEYS {
                return Err(bad(n, format!("more than {MAX_KEYS} keys")));
            }
            entries.push(KeyEntry {
                prefix: canon,
                key,
                line: n,
            });
        }
        Ok(PublisherKeys {
            flag: None,
            file: Some(path.to_path_buf()),
            entries,
        })
    }

    /// The key that applies to the `SHA256SUMS` at `sums_url` (the record's URL, parsed once), and
    /// where it came from.
    pub fn for_sums(&self, sums_url: &CanonicalUrl) -> Option<AppliedKey<'_>> {
        self.matching(sums_url.as_str())
    }

    /// [`PublisherKeys::for_sums`] for a URL in any spelling: canonicalised first when possible.
    pub fn lookup(&self, sums_url: &str) -> Option<AppliedKey<'_>> {
        let canon = canonical_prefix(sums_url, true);
        self.matching(canon.as_deref().unwrap_or(sums_url))
    }

    /// The key for the canonical `url`: `--key`, else the longest keys-file prefix covering it.
    fn matching(&self, url: &str) -> Option<AppliedKey<'_>> {
        if let Some(key) = &self.flag {
            return Some(AppliedKey {
                key,
                source: KeySource::Flag,
            });
        }
        let best = self
            .entries
            .iter()
            .filter(|e| prefix_matches(&e.prefix, url))
            .max_by_key(|e| e.prefix.len())?;
        Some(AppliedKey {
            key: &best.key,
            source: KeySource::KeysFile {
                path: self.file.clone().unwrap_or_default(),
                line: best.line,
                prefix: best.prefix.clone(),
            },
        })
    }

    /// The key given with `--key`, if any.
    pub fn flag(&self) -> Option<&PublisherKey> {
        self.flag.as_ref()
    }

    /// The key that applies to `sums_url`, if any: then a valid signature by it is required.
    pub fn key_for(&self, sums_url: &str) -> Option<&PublisherKey> {
        self.lookup(sums_url).map(|a| a.key)
    }

    /// For output once the sums are verified: "signed by key ID X (...)" or
    /// "unsigned: no key applies to this URL".
    pub fn describe(&self, sums_url: &str) -> String {
        match self.lookup(sums_url) {
            Some(applied) => format!("signed by {applied}"),
            None => "unsigned: no key applies to this URL".to_owned(),
        }
    }

    /// The keys file's entries, in file order: (canonical prefix, key, line number).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &PublisherKey, usize)> {
        self.entries
            .iter()
            .map(|e| (e.prefix.as_str(), &e.key, e.line))
    }

    /// Whether any key is configured at all.
    pub fn is_empty(&self) -> bool {
        self.flag.is_none() && self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_boundary() {
        assert!(prefix_matches(
            "https://a.example/rel",
            "https://a.example/rel"
        ));
        assert!(prefix_matches(
            "https://a.example/rel",
            "https://a.example/rel/SHA256SUMS"
        ));
        assert!(!prefix_matches(
            "https://a.example/rel",
            "https://a.example/release/SHA256SUMS"
        ));
        assert!(prefix_matches(
            "https://a.example/re",
            "https://a.example/re/x"
        ));
        assert!(prefix_matches("https://a.example/", "https://a.example/x"));
        assert!(!prefix_matches(
            "https://a.example/",
            "https://a.example.evil/x"
        ));
    }

    #[test]
    fn canonical_prefixes() {
        let ok = |s: &str, http: bool| canonical_prefix(s, http).unwrap();
        assert_eq!(ok("HTTPS://A.Example:443/x", false), "https://a.example/x");
        assert_eq!(ok("https://a.example", false), "https://a.example/");
        assert_eq!(ok("http://A.example:80/x", true), "http://a.example/x");
        assert_eq!(ok("http://a.example:443/x", true), "http://a.example:443/x");
        assert_eq!(ok("http://[::1]:8080/", true), "http://[::1]:8080/");
        assert!(canonical_prefix("http://a.example/", false).is_err());
        assert!(canonical_prefix("ftp://a.example/", true).is_err());
        assert!(canonical_prefix("a.example/", true).is_err());
        assert!(canonical_prefix("https://a.example/x?y", true).is_err());
        assert!(canonical_prefix("https://u@a.example/", true).is_err());
    }

    #[test]
    fn env_defaults_follow_xdg() {
        let env = Env {
            home: Some("/h".into()),
            ..Env::default()
        };
        assert_eq!(env.config_dir(), Some(PathBuf::from("/h/.config/rget")));
        assert_eq!(env.state_dir(), Some(PathBuf::from("/h/.local/state/rget")));
        let env = Env {
            home: Some("/h".into()),
            xdg_config_home: Some("/c".into()),
            xdg_state_home: Some("relative".into()),
            ..Env::default()
        };
        assert_eq!(env.config_dir(), Some(PathBuf::from("/c/rget")));
        // A relative XDG value is ignored, as the specification asks.
        assert_eq!(env.state_dir(), Some(PathBuf::from("/h/.local/state/rget")));
        assert_eq!(Env::default().config_dir(), None);
    }
}

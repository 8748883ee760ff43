//! The pin set (the four files in `pinned/`, described in pinned/README.md): the digests of rget's
//! own releases, the release keys, the policy they are logged under and the release source.
//! `bootstrap/build.rs` validates a pin set
//! with this module at build time and the bootstrap parses its embedded copy with it at run time, so
//! the two can never disagree about what a valid pin set is; `rget self` parses its own embedded keys,
//! policy and source with it too (rget cannot pin its own digest: that would be circular).

use crate::digest::Hash;
use crate::minisig::{MinisigError, PublicKey};
use crate::openssh::{self, OpensshError};
use crate::policy::{Policy, PolicyError};
use crate::record::{self, RecordError};
use crate::sigsum::{self, policy::SigsumPolicyError};
use crate::sums::{self, Sums, SumsError};
use std::cmp::Ordering;

/// The placeholder in `source` that stands for the version.
pub const VERSION_PLACEHOLDER: &str = "{version}";

/// Who signs rget's releases, which decides what vouches for a release besides its `SHA256SUMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseKeys {
    /// minisign keys: `SHA256SUMS.minisig`, and `SHA256SUMS.tlog-proof` from an rget log of the
    /// policy.
    Minisign(Vec<PublicKey>),
    /// `ssh-ed25519` keys of Sigsum submitters: `SHA256SUMS.proof`, a Sigsum proof under the
    /// policy, whose leaf signature by one of these keys is the release signature.
    Sigsum(Vec<[u8; 32]>),
}

/// Why a pin set is not valid: the file, then the problem.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PinsError {
    /// The pinned `SHA256SUMS` does not parse.
    #[error("SHA256SUMS: {0}")]
    Sums(SumsError),
    /// A pinned `SHA256SUMS` entry is not named `rget-<semver>-<target>` (holds the name).
    #[error(
        "SHA256SUMS: {0:?} is not named rget-<semver>-<target> (e.g. rget-0.1.0-x86_64-unknown-linux-gnu)"
    )]
    BinaryName(String),
    /// A `release.pub` key line is not a minisign public key.
    #[error("release.pub: line {line}: {err}")]
    Key {
        /// The 1-based line number.
        line: usize,
        /// Why the key does not parse.
        err: MinisigError,
    },
    /// A `release.pub` key line is not an OpenSSH `ssh-ed25519` public key.
    #[error("release.pub: line {line}: {err}")]
    SshKey {
        /// The 1-based line number.
        line: usize,
        /// Why the key does not parse.
        err: OpensshError,
    },
    /// An `ssh-ed25519` key listed a second time in `release.pub`.
    #[error("release.pub: line {line}: the key is listed twice")]
    DuplicateKey {
        /// The 1-based line of the second listing.
        line: usize,
    },
    /// A key of the other kind than the first key of `release.pub`.
    #[error(
        "release.pub: line {line}: mixes minisign and ssh-ed25519 keys: a pin set trusts one kind (minisign with an rget log, ssh-ed25519 with Sigsum logs)"
    )]
    MixedKeys {
        /// The 1-based line of the first key of the other kind.
        line: usize,
    },
    /// `release.pub` holds no key line: nothing could sign a release.
    #[error("release.pub: no minisign or ssh-ed25519 public key")]
    NoKey,
    /// The pinned `policy` does not parse as a C2SP tlog-policy.
    #[error("policy: {0}")]
    Policy(PolicyError),
    /// The pinned `policy`, read as a Sigsum policy, cannot be rewritten as a tlog-policy.
    #[error("policy: {0}")]
    SigsumPolicy(SigsumPolicyError),
    /// The pinned `policy` trusts no log, so no release could ever be proved logged.
    #[error("policy: no `log` line: at least one log must be trusted")]
    NoLog,
    /// `release.pub` holds `ssh-ed25519` keys but a policy log is not a Sigsum log (holds its
    /// origin).
    #[error(
        "policy: log {0:?} is not a Sigsum log (origin sigsum.org/v1/tree/<key hash>), but release.pub holds ssh-ed25519 keys, whose signatures only Sigsum proofs carry"
    )]
    NotSigsumLog(String),
    /// `release.pub` holds minisign keys but a policy log is a Sigsum log (holds its origin).
    #[error(
        "policy: log {0:?} is a Sigsum log, whose proofs carry ssh-ed25519 signatures, but release.pub holds minisign keys"
    )]
    SigsumLogForMinisign(String),
    /// The pinned `source` is not one usable URL template.
    #[error("source: {0}")]
    Source(SourceError),
}

/// Why `source` is not one usable URL template.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// `source` has no non-blank line.
    #[error("empty: expected one URL template")]
    Empty,
    /// `source` has more than one non-blank line.
    #[error("expected exactly one line")]
    NotOneLine,
    /// The template does not start with `https://` (holds the line).
    #[error("{0:?} is not an https:// URL")]
    NotHttps(String),
    /// `{version}` is missing or appears more than once (holds the line).
    #[error("{0:?} must contain {VERSION_PLACEHOLDER} exactly once")]
    Placeholder(String),
    /// The template does not end in `/` (holds the line).
    #[error("{0:?} must end with `/` (it names the release directory)")]
    NoFinalSlash(String),
    /// The `SHA256SUMS` URL the template gives (for version 0.0.0) has no canonical spelling, so
    /// no release under it could be recorded.
    #[error("{line:?} gives no usable URL: {err}")]
    Unusable {
        /// The template line.
        line: String,
        /// Why its URL is refused.
        err: RecordError,
    },
}

/// The texts of the files that say what rget's releases are trusted by: `release.pub` (the keys),
/// `policy` and `source`.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseTrustFiles<'a> {
    /// `release.pub`: the release keys.
    pub keys: &'a str,
    /// `policy`: the logs and witnesses releases are recorded under.
    pub policy: &'a str,
    /// `source`: the URL template of the release directories.
    pub source: &'a str,
}

/// The texts of the four pin files: `SHA256SUMS` (the pinned digests) and the release trust.
#[derive(Debug, Clone, Copy)]
pub struct PinFiles<'a> {
    /// `SHA256SUMS`: the pinned release binaries' digests.
    pub sums: &'a str,
    /// `release.pub`, `policy` and `source`.
    pub trust: ReleaseTrustFiles<'a>,
}

/// What both the bootstrap and `rget self` trust about rget's releases: who signs them, which logs
/// and witnesses record them, and where they are published.
#[derive(Debug, Clone)]
pub struct ReleaseTrust {
    /// The keys that sign releases (all of one kind).
    pub keys: ReleaseKeys,
    /// A tlog-policy of rget logs for minisign keys, a Sigsum policy (either format) for
    /// `ssh-ed25519` keys.
    pub policy: Policy,
    /// The URL template of the release directory, with `{version}`, ending in `/`.
    pub source: String,
}

/// A parsed, valid pin set: the release trust and the pinned digests (the bootstrap's).
#[derive(Debug, Clone)]
pub struct Pins {
    /// The pinned digests, each of an `rget-<semver>-<target>` binary.
    pub sums: Sums,
    /// Who signs releases, where they are logged and published.
    pub trust: ReleaseTrust,
}

/// One pinned release binary for one target.
#[derive(Debug, Clone)]
pub struct Pinned {
    /// The release's version.
    pub version: Version,
    /// `rget-<version>-<target>`
    pub name: String,
    /// The binary's pinned SHA-256.
    pub digest: Hash,
}

impl ReleaseTrust {
    /// Parses `release.pub`, `policy` and `source`; the error names the file and the problem.
    pub fn parse(files: ReleaseTrustFiles<'_>) -> Result<ReleaseTrust, PinsError> {
        Self::parse_with(files, parse_keys)
    }

    /// [`ReleaseTrust::parse`] with `release.pub` parsed by `parse_keys` ([`parse_minisign_keys`]
    /// or [`parse_ssh_keys`] when the kind is known beforehand: the bootstrap links only the one
    /// its pins need).
    pub fn parse_with(
        files: ReleaseTrustFiles<'_>,
        parse_keys: fn(&str) -> Result<ReleaseKeys, PinsError>,
    ) -> Result<ReleaseTrust, PinsError> {
        let keys = parse_keys(files.keys)?;
        // A C2SP tlog-policy: a pin set may be written with a Sigsum policy, which
        // [`policy_as_tlog`] rewrites first (the bootstrap's build does, so that the bootstrap needs
        // one policy parser only).
        let policy = Policy::parse(files.policy).map_err(PinsError::Policy)?;
        if policy.logs.is_empty() {
            return Err(PinsError::NoLog);
        }
        // One kind of evidence per pin set: a Sigsum proof can only carry an ssh-ed25519 signature,
        // and a minisign signature can only go with a record in an rget log.
        let sigsum_keys = matches!(keys, ReleaseKeys::Sigsum(_));
        if let Some(log) = policy
            .logs
            .iter()
            .find(|l| sigsum::is_sigsum_log(l) != sigsum_keys)
        {
            let name = log.vkey.name.clone();
            return Err(if sigsum_keys {
                PinsError::NotSigsumLog(name)
            } else {
                PinsError::SigsumLogForMinisign(name)
            });
        }
        let source = parse_source(files.source).map_err(PinsError::Source)?;
        Ok(ReleaseTrust {
            keys,
            policy,
            source,
        })
    }

    /// Whether releases are vouched for by a Sigsum proof (`SHA256SUMS.proof`) rather than a
    /// minisign signature and a tlog-proof.
    pub fn is_sigsum(&self) -> bool {
        matches!(self.keys, ReleaseKeys::Sigsum(_))
    }

    /// The release directory of `version` under the pinned source (ends in `/`).
    pub fn source_dir(&self, version: &str) -> String {
        self.source.replace(VERSION_PLACEHOLDER, version)
    }

    /// The release directories of `version` to download from, in order: each mirror (a URL or
    /// template given at run time, with `{version}` filled in and `/` appended), then the pinned
    /// source. Mirrors need no trust: every byte is checked, and the log record is always the one at
    /// the pinned source.
    pub fn locations(&self, mirrors: &[String], version: &str) -> Vec<String> {
        let mut out: Vec<String> = mirrors
            .iter()
            .map(|m| {
                let m = m.replace(VERSION_PLACEHOLDER, version);
                if m.ends_with('/') { m } else { format!("{m}/") }
            })
            .collect();
        out.push(self.source_dir(version));
        out
    }

    /// Where the (untrusted) hint naming the newest version is published: `LATEST` in the directory
    /// that holds the per-version directories, i.e. the source template cut before the path segment
    /// that holds `{version}` (`https://e.org/rget/v{version}/` gives `https://e.org/rget/LATEST`).
    pub fn latest_url(&self) -> String {
        latest_url_of(&self.source)
    }
}

/// The pinned `policy` file as the C2SP tlog-policy [`ReleaseTrust::parse`] reads: unchanged if it
/// is one, rewritten if it is a Sigsum policy (`log <hex key>`, `witness <name> <hex key>`: see
/// `sigsum::policy`).
pub fn policy_as_tlog(text: &str) -> Result<String, PinsError> {
    sigsum::policy::as_tlog_policy(text)
        .map(std::borrow::Cow::into_owned)
        .map_err(PinsError::SigsumPolicy)
}

/// [`ReleaseTrust::latest_url`] for any template (a mirror's too).
pub fn latest_url_of(template: &str) -> String {
    let at = template.find(VERSION_PLACEHOLDER).unwrap_or(template.len());
    let cut = template[..at].rfind('/').map_or(0, |i| i + 1);
    format!("{}LATEST", &template[..cut])
}

/// The release file name of rget `version` for `target`.
pub fn binary_name(version: &str, target: &str) -> String {
    format!("rget-{version}-{target}")
}

impl Pins {
    /// Parses the four pin files; the error names the file and the problem.
    pub fn parse(files: PinFiles<'_>) -> Result<Pins, PinsError> {
        Self::parse_with(files, parse_keys)
    }

    /// [`Pins::parse`] with `release.pub` parsed by `parse_keys` (see [`ReleaseTrust::parse_with`]).
    pub fn parse_with(
        files: PinFiles<'_>,
        parse_keys: fn(&str) -> Result<ReleaseKeys, PinsError>,
    ) -> Result<Pins, PinsError> {
        let parsed = sums::parse(files.sums.as_bytes()).map_err(PinsError::Sums)?;
        if let Some(e) = parsed
            .entries()
            .iter()
            .find(|e| split_name(&e.name).is_none())
        {
            return Err(PinsError::BinaryName(e.name.clone()));
        }
        Ok(Pins {
            sums: parsed,
            trust: ReleaseTrust::parse_with(files.trust, parse_keys)?,
        })
    }

    /// The releases pinned for `target`, newest first.
    pub fn releases_for(&self, target: &str) -> Vec<Pinned> {
        let suffix = format!("-{target}");
        let mut out: Vec<Pinned> = self
            .sums
            .entries()
            .iter()
            .filter_map(|e| {
                let v = e.name.strip_prefix("rget-")?.strip_suffix(&suffix)?;
                Some(Pinned {
                    version: Version::parse(v)?,
                    name: e.name.clone(),
                    digest: e.digest,
                })
            })
            .collect();
        out.sort_by(|a, b| b.version.cmp(&a.version));
        out
    }
}

/// `rget-<semver>-<target>`: some split of the rest into a semantic version and a target triple (at
/// least three `-`-separated parts of `[A-Za-z0-9_.]`).
fn split_name(name: &str) -> Option<(Version, &str)> {
    let rest = name.strip_prefix("rget-")?;
    rest.match_indices('-').find_map(|(i, _)| {
        let (v, t) = (&rest[..i], &rest[i + 1..]);
        let parts: Vec<&str> = t.split('-').collect();
        let triple = parts.len() >= 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            });
        if triple {
            Some((Version::parse(v)?, t))
        } else {
            None
        }
    })
}

/// `release.pub`: one or more release keys, all of one kind: minisign public keys (each a whole
/// `.pub` file, its `untrusted comment:` line then the base64 line, or the base64 line alone), or
/// OpenSSH `ssh-ed25519` public key lines (as `ssh-keygen` writes them). Blank lines, `#` comments
/// and `untrusted comment:` lines are skipped; every other line must be a key. The kind is the
/// first key's.
pub fn parse_keys(text: &str) -> Result<ReleaseKeys, PinsError> {
    let ssh = key_lines(text).next().is_some_and(|(_, l)| is_ssh_line(l));
    if ssh {
        parse_ssh_keys(text)
    } else {
        parse_minisign_keys(text)
    }
}

/// The lines of `release.pub` that hold keys, numbered from 1.
fn key_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, l)| {
        let l = l.trim();
        let skip = l.is_empty() || l.starts_with("untrusted comment:") || l.starts_with('#');
        (!skip).then_some((i + 1, l))
    })
}

fn is_ssh_line(line: &str) -> bool {
    line.starts_with(openssh::KEY_TYPE) || line.starts_with("sigsum-policy=")
}

/// `release.pub` holding minisign keys only ([`parse_keys`]).
pub fn parse_minisign_keys(text: &str) -> Result<ReleaseKeys, PinsError> {
    let mut keys = Vec::new();
    for (n, line) in key_lines(text) {
        if is_ssh_line(line) {
            return Err(PinsError::MixedKeys { line: n });
        }
        keys.push(PublicKey::parse(line).map_err(|err| PinsError::Key { line: n, err })?);
    }
    if keys.is_empty() {
        return Err(PinsError::NoKey);
    }
    Ok(ReleaseKeys::Minisign(keys))
}

/// `release.pub` holding `ssh-ed25519` keys only ([`parse_keys`]).
pub fn parse_ssh_keys(text: &str) -> Result<ReleaseKeys, PinsError> {
    let mut keys: Vec<[u8; 32]> = Vec::new();
    for (n, line) in key_lines(text) {
        if !is_ssh_line(line) {
            return Err(PinsError::MixedKeys { line: n });
        }
        let k =
            openssh::parse_public_key(line).map_err(|err| PinsError::SshKey { line: n, err })?;
        if keys.contains(&k.key) {
            return Err(PinsError::DuplicateKey { line: n });
        }
        keys.push(k.key);
    }
    if keys.is_empty() {
        return Err(PinsError::NoKey);
    }
    Ok(ReleaseKeys::Sigsum(keys))
}

/// One line: an https URL template with `{version}` exactly once, ending in `/`, that gives a
/// canonical record URL for `SHA256SUMS`.
fn parse_source(text: &str) -> Result<String, SourceError> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines.next().ok_or(SourceError::Empty)?;
    if lines.next().is_some() {
        return Err(SourceError::NotOneLine);
    }
    if !line.starts_with("https://") {
        return Err(SourceError::NotHttps(line.to_owned()));
    }
    if line.matches(VERSION_PLACEHOLDER).count() != 1 {
        return Err(SourceError::Placeholder(line.to_owned()));
    }
    if !line.ends_with('/') {
        return Err(SourceError::NoFinalSlash(line.to_owned()));
    }
    let example = format!("{}SHA256SUMS", line.replace(VERSION_PLACEHOLDER, "0.0.0"));
    record::canonical_url(&example).map_err(|err| SourceError::Unusable {
        line: line.to_owned(),
        err,
    })?;
    Ok(line.to_owned())
}

/// A semantic version `MAJOR.MINOR.PATCH[-PRERELEASE]` (no build metadata), ordered as semver says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The version as written.
    pub text: String,
    core: [u64; 3],
    pre: Vec<String>,
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH[-PRERELEASE]`; `None` for build metadata, leading zeros in a
    /// numeric part, or empty or non-alphanumeric prerelease identifiers.
    pub fn parse(s: &str) -> Option<Version> {
        let (core_s, pre_s) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let nums: Vec<&str> = core_s.split('.').collect();
        if nums.len() != 3 {
            return None;
        }
        let mut core = [0u64; 3];
        for (slot, n) in core.iter_mut().zip(&nums) {
            *slot = numeric(n)?;
        }
        let pre = match pre_s {
            None => Vec::new(),
            Some(p) => {
                let ids: Vec<String> = p.split('.').map(str::to_owned).collect();
                let ok = ids.iter().all(|id| {
                    !id.is_empty()
                        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        && (numeric(id).is_some() || !id.bytes().all(|b| b.is_ascii_digit()))
                });
                if !ok {
                    return None;
                }
                ids
            }
        };
        Some(Version {
            text: s.to_owned(),
            core,
            pre,
        })
    }
}

/// A numeric identifier: digits, no leading zero (but `0` itself).
fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let o = match (numeric(a), numeric(b)) {
                            (Some(x), Some(y)) => x.cmp(&y),
                            (Some(_), None) => Ordering::Less,
                            (None, Some(_)) => Ordering::Greater,
                            (None, None) => a.cmp(b),
                        };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_semver() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("1.0.0") > v("1.0.0-rc.1"));
        assert!(v("1.0.0-rc.2") > v("1.0.0-rc.1"));
        assert!(v("1.0.0-rc.1") > v("1.0.0-beta"));
        assert!(v("0.10.0") > v("0.9.9"));
        for bad in ["1.0", "01.0.0", "1.0.0-", "1.0.0-01", "1.0.0+b", "a.b.c"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_and_sources() {
        // Ambiguous splits are fine here: at run time only `-<host target>` names are looked up.
        assert!(split_name("rget-1.2.3-rc.1-x86_64-unknown-linux-gnu").is_some());
        let (v, t) = split_name("rget-1.2.3-x86_64-unknown-linux-gnu").unwrap();
        assert_eq!((v.text.as_str(), t), ("1.2.3", "x86_64-unknown-linux-gnu"));
        assert!(split_name("rget-1.2.3").is_none());
        assert!(split_name("other-1.2.3-x86_64-unknown-linux-gnu").is_none());
        assert!(parse_source("https://e.org/v{version}/\n").is_ok());
        assert_eq!(
            latest_url_of("https://e.org/r/v{version}/"),
            "https://e.org/r/LATEST"
        );
        assert_eq!(
            latest_url_of("https://e.org/{version}/bin/"),
            "https://e.org/LATEST"
        );
        for bad in [
            "http://e.org/v{version}/",
            "https://e.org/v/",
            "https://e.org/v{version}",
            "https://e.org/{version}/{version}/",
            "https://e.org/v{version}/\nhttps://f.org/{version}/",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}

//! rget's own releases, for `rget self verify | upgrade | rollback`: the release trust compiled into
//! this binary (`pinned/release.pub`, `policy`, `source`, embedded by `build.rs`), fetching a
//! release's `SHA256SUMS`, `.minisig` and `.tlog-proof` (for a Sigsum pin set, `.proof`), and
//! verifying a binary with the core's
//! [`verify_release`] (the bootstrap's routine) plus this host's checkpoint memory.
//!
//! rget carries no digest of itself (that would be circular); what it checks its own bytes against is
//! a `SHA256SUMS` signed by a pinned release key and recorded in a pinned log under the pinned quorum.

use super::context::Context;
use super::error::ClientError;
use super::state::{Observed, Seen};
use super::trust::{PolicySource, TrustPolicy};
use super::verified::{remember, settle};
use rget_core::digest::Hash;
use rget_core::pins::{self, ReleaseTrust, ReleaseTrustFiles, Version};
use rget_core::release::{ReleaseFiles, VerifiedRelease, verify_release};
use rget_core::sigsum::proof::SigsumProof;
use rget_core::sigsum::verify::checkpoint_note;
use rget_core::tlog_proof::TlogProof;
use rget_fetch::release::{self, DownloadedRelease, Fetched};
use rget_fetch::{Client, Downloaded, FetchError};
use std::path::{Path, PathBuf};

/// This rget's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The target this rget was built for: its release file is `rget-<VERSION>-<TARGET>`.
pub const TARGET: &str = env!("RGET_TARGET");

const EMBEDDED_KEYS: &str = include_str!(concat!(env!("OUT_DIR"), "/release.pub"));
const EMBEDDED_POLICY: &str = include_str!(concat!(env!("OUT_DIR"), "/policy"));
const EMBEDDED_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/source"));

/// Marks the version and target inside every rget binary, so that `rget self rollback` can tell which
/// release `rget.previous` claims to be without running it. Only a hint: the claim is then verified
/// like any release (a wrong claim finds no matching digest in that version's signed, logged sums).
pub static RELEASE_MARKER: &str = concat!(
    "\0rget-release ",
    env!("CARGO_PKG_VERSION"),
    " ",
    env!("RGET_TARGET"),
    "\0"
);

/// Largest `LATEST` hint.
const MAX_LATEST: u64 = 256;

/// The release trust in force, and where it came from (for the report).
pub struct OwnTrust {
    /// The release keys, policy and source.
    pub trust: ReleaseTrust,
    /// The same policy as the client uses it (log URLs for consistency proofs).
    pub policy: TrustPolicy,
    /// `compiled in` or the `--pins` directory.
    pub origin: String,
}

impl OwnTrust {
    /// The trust compiled into this binary.
    pub fn embedded() -> Result<OwnTrust, ClientError> {
        Self::from_texts(
            ReleaseTrustFiles {
                keys: EMBEDDED_KEYS,
                policy: EMBEDDED_POLICY,
                source: EMBEDDED_SOURCE,
            },
            Path::new("<compiled-in pinned/policy>"),
            "compiled in".into(),
        )
    }

    /// The trust of a pin directory (`release.pub`, `policy`, `source`; a `SHA256SUMS` there is
    /// ignored): for a private release channel, and for tests and the demo, whose keys cannot be the
    /// ones compiled in.
    pub fn from_dir(dir: &Path) -> Result<OwnTrust, ClientError> {
        let read = |f: &str| {
            let p = dir.join(f);
            std::fs::read_to_string(&p).map_err(|err| ClientError::PinFile { path: p, err })
        };
        let (keys, policy, source) = (read("release.pub")?, read("policy")?, read("source")?);
        Self::from_texts(
            ReleaseTrustFiles {
                keys: &keys,
                policy: &policy,
                source: &source,
            },
            &dir.join("policy"),
            dir.display().to_string(),
        )
    }

    fn from_texts(
        files: ReleaseTrustFiles<'_>,
        policy_path: &Path,
        origin: String,
    ) -> Result<OwnTrust, ClientError> {
        // A Sigsum-format policy is read as the tlog-policy it stands for, as the bootstrap's build
        // embeds it.
        let policy_text = match pins::policy_as_tlog(files.policy) {
            Ok(t) => t,
            Err(err) => return Err(ClientError::Pins { origin, err }),
        };
        let files = ReleaseTrustFiles {
            policy: &policy_text,
            ..files
        };
        let trust = match ReleaseTrust::parse(files) {
            Ok(t) => t,
            Err(err) => return Err(ClientError::Pins { origin, err }),
        };
        // The pinned policy's log URLs are the release team's own configuration: a plain-http log is
        // their choice, and harmless, since everything a log serves is checked by signatures and
        // Merkle proofs. (The release source itself must be https: `ReleaseTrust::parse`.)
        let policy =
            match TrustPolicy::from_text(policy_path, PolicySource::Flag, files.policy, true) {
                Ok(p) => p,
                Err(err) => {
                    return Err(ClientError::PinnedPolicy {
                        origin,
                        err: Box::new(err),
                    });
                }
            };
        Ok(OwnTrust {
            trust,
            policy,
            origin,
        })
    }
}

/// Downloads the release files from the first location serving them all.
pub fn fetch_files(
    client: &Client,
    trust: &ReleaseTrust,
    locations: &[String],
) -> Result<Fetched, ClientError> {
    release::first_location(locations, |loc| release::fetch_at(client, loc, trust))
        .map_err(|failures| no_location("the release", failures))
}

/// Downloads the binary `name` (into a temporary file beside `dest`) and its release files from
/// the first location serving them all.
pub fn download(
    client: &Client,
    trust: &ReleaseTrust,
    locations: &[String],
    name: &str,
    dest: &Path,
) -> Result<(Downloaded, Fetched), ClientError> {
    release::first_location(locations, |loc| {
        release::download_at(client, loc, trust, name, dest)
    })
    .map(|DownloadedRelease { binary, files }| (binary, files))
    .map_err(|failures| no_location(name, failures))
}

/// Why no location served `what`. One location: its own error (and exit code). Several: all of
/// their errors, as a network failure.
fn no_location(what: &str, mut failures: Vec<FetchError>) -> ClientError {
    if failures.len() == 1 {
        return failures.remove(0).into();
    }
    ClientError::NoLocation {
        what: what.to_owned(),
        failures,
    }
}

/// A release binary that passed every check, tied to this host's memory of the log.
pub struct Checked {
    /// What the release files were verified to show.
    pub release: VerifiedRelease,
    /// How the proof's checkpoint relates to the last one this host saw of the log.
    pub memory: Observed,
}

/// Verifies the binary `name` whose SHA-256 is `digest` against the release files of `version`, then
/// ties the checkpoint to the newest one this host has seen of that log (a fork or rollback is an
/// error, as for every download).
pub fn check(
    ctx: &Context,
    trust: &ReleaseTrust,
    version: &str,
    name: &str,
    digest: &Hash,
    files: &Fetched,
) -> Result<Checked, ClientError> {
    let canonical_dir = trust.source_dir(version);
    // A proof checkpoint the log signed is compared with the memory before anything else decides,
    // so a fork is reported as one whatever else fails (a malformed proof is left to verify_release).
    let note = if trust.is_sigsum() {
        SigsumProof::parse(&files.proof)
            .ok()
            .and_then(|p| checkpoint_note(&p, &trust.policy).ok())
    } else {
        TlogProof::parse(&files.proof).ok().map(|p| p.checkpoint)
    };
    let pending = match note {
        Some(note) => remember(ctx, &note, Seen::FromProof, None)?,
        None => None,
    };
    let release = verify_release(
        trust,
        &canonical_dir,
        name,
        digest,
        &ReleaseFiles {
            sums: &files.sums,
            minisig: &files.minisig,
            proof: &files.proof,
        },
        &mut |_| {},
    )
    .map_err(ClientError::Release)?;
    let memory = settle(ctx, pending, &release.logged.checkpoint, Seen::FromProof)?;
    Ok(Checked { release, memory })
}

/// The newest version, from the untrusted `LATEST` hint beside the release directories (mirrors
/// first). Untrusted because whatever it names is then verified by signature, log and policy, and
/// `self upgrade` refuses anything older than itself.
pub fn latest(
    client: &Client,
    trust: &ReleaseTrust,
    mirrors: &[String],
) -> Result<(Version, String), ClientError> {
    let mut urls: Vec<String> = mirrors.iter().map(|m| pins::latest_url_of(m)).collect();
    urls.push(trust.latest_url());
    let mut last = None;
    for url in urls {
        match client.get_bytes(&url, MAX_LATEST) {
            Ok(r) => {
                let text = String::from_utf8_lossy(&r.bytes);
                let v = text.trim();
                return Version::parse(v).map(|v| (v, url.clone())).ok_or_else(|| {
                    ClientError::NotAVersion {
                        url,
                        text: v.to_owned(),
                    }
                });
            }
            Err(e) => last = Some(ClientError::from(e)),
        }
    }
    Err(last.unwrap_or(ClientError::NoLatestLocation))
}

/// Where the running binary is installed: `--prefix DIR` gives `DIR/rget`; otherwise the running
/// file itself, unless it runs from a memfd (as right after the bootstrap), which has no path.
pub fn installed_path(prefix: Option<&Path>) -> Result<PathBuf, ClientError> {
    if let Some(dir) = prefix {
        return Ok(dir.join("rget"));
    }
    let exe = std::env::current_exe().map_err(ClientError::NoInstalledPath)?;
    let s = exe.to_string_lossy();
    if s.starts_with("/memfd:") || s.ends_with(" (deleted)") {
        return Err(ClientError::NotInstalled(s.into_owned()));
    }
    Ok(exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_binary_carries_its_marker() {
        let (_, _, found) = rget_core::release::scan(&mut RELEASE_MARKER.as_bytes()).unwrap();
        assert_eq!(found, vec![(VERSION.to_owned(), TARGET.to_owned())]);
    }
}

//! Verifying one of rget's own releases: the checks the bootstrap makes before it installs rget, and
//! that `rget self verify | upgrade | rollback` make before they trust a binary, in one routine so the
//! two can never drift apart.
//!
//! Given the release binary's SHA-256 (computed by the caller while the bytes streamed), and the
//! release's `SHA256SUMS` and the files that vouch for it: for minisign release keys,
//! `SHA256SUMS.minisig` and `SHA256SUMS.tlog-proof`:
//! 1. `SHA256SUMS` lists that same digest for `rget-<version>-<target>`;
//! 2. a release key of the [`ReleaseTrust`] signed `SHA256SUMS` (prehashed, as minisign does by
//!    default) and the trusted comment names the file, so a signature over some other file cannot
//!    be replayed here; where the comment names a URL (`rget release` writes one), it must be the
//!    canonical URL of this `SHA256SUMS` under the pinned source, so another release's signed list
//!    cannot be served in this one's place;
//! 3. the record of `SHA256SUMS` at its canonical URL under the *pinned* source (never a mirror's URL:
//!    the log vouches for what was published at the release source) is included under a checkpoint
//!    signed by a pinned log and cosigned as the pinned policy requires ([`verify_logged_sums`]).
//!
//! For `ssh-ed25519` release keys (a Sigsum pin set), `SHA256SUMS.proof` instead: after check 1, a
//! Sigsum proof for SHA-256 of `SHA256SUMS` whose leaf is signed by a release key, under a tree head
//! signed by a pinned Sigsum log and cosigned as the pinned policy requires
//! ([`crate::sigsum::verify`]). The leaf names no URL, so what keeps an older release's files from
//! being served as this one is check 1: the binary's name carries its version.
//!
//! The pinned-digest check (the bootstrap's first) is the caller's: `rget self upgrade` installs
//! versions newer than any pin, which is exactly why checks 2 and 3 exist.

use crate::digest::{Hash, STREAM_BUFFER, Sha256};
use crate::minisig::{self, Signature};
use crate::pins::{ReleaseKeys, ReleaseTrust, Version};
use crate::sigsum::proof::SigsumProof;
use crate::sums;
use crate::trusted_comment::{self, UrlBinding};
use crate::verify::{LoggedSums, VerifyError, check_listed, verify_logged_sums};
use std::io::Read;

/// The published files that vouch for a release binary.
pub struct ReleaseFiles<'a> {
    /// `SHA256SUMS`, the file the signature and proof vouch for.
    pub sums: &'a [u8],
    /// `SHA256SUMS.minisig` (empty for a Sigsum pin set, which has none).
    pub minisig: &'a [u8],
    /// `SHA256SUMS.tlog-proof`, or `SHA256SUMS.proof` for a Sigsum pin set.
    pub proof: &'a [u8],
}

/// The names of the files besides `SHA256SUMS` that vouch for a release under `trust`, as
/// [`ReleaseFiles`] holds them: the minisign signature (none for Sigsum) and the proof.
pub fn evidence_names(trust: &ReleaseTrust) -> (Option<&'static str>, &'static str) {
    if trust.is_sigsum() {
        (None, "SHA256SUMS.proof")
    } else {
        (Some("SHA256SUMS.minisig"), "SHA256SUMS.tlog-proof")
    }
}

/// A release binary that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    /// The key id (as minisign prints it) of the release key that signed `SHA256SUMS`; for a
    /// Sigsum pin set, `ssh-ed25519 <key hash>` (Sigsum's name for the key: its SHA-256).
    pub key_id: String,
    /// The signature's trusted comment (signed); where it names a URL, that URL is `sums_url`.
    /// Empty for a Sigsum leaf, which carries no comment.
    pub trusted_comment: String,
    /// The canonical URL of the `SHA256SUMS` whose record the log holds.
    pub sums_url: String,
    /// Where the log holds the record: its index, leaf hash and the verified checkpoint.
    pub logged: LoggedSums,
}

/// Why a release did not verify. `Malformed` is a file that does not parse; every other failure is a
/// check that did not hold.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// A release file that does not parse; the message names the file.
    #[error("{0}")]
    Malformed(String),
    /// A check that did not hold (digest, signature, URL binding, proof, policy); the message
    /// names the file and the check.
    #[error("{0}")]
    Refused(String),
}

/// Runs checks 1–3 on the release binary `name` whose SHA-256 is `digest`, published in the
/// release directory `canonical_dir` (the pinned source's, ending in `/`). `passed` is called with
/// one line per check as it passes (the bootstrap prints them). The checks after the first are
/// those of the trust's kind of release key: [`verify_minisign_release`] or
/// [`verify_sigsum_release`].
pub fn verify_release(
    trust: &ReleaseTrust,
    canonical_dir: &str,
    name: &str,
    digest: &Hash,
    files: &ReleaseFiles,
    passed: &mut dyn FnMut(String),
) -> Result<VerifiedRelease, ReleaseError> {
    if trust.is_sigsum() {
        verify_sigsum_release(trust, canonical_dir, name, digest, files, passed)
    } else {
        verify_minisign_release(trust, canonical_dir, name, digest, files, passed)
    }
}

/// Check 1: `SHA256SUMS` lists `digest` for `name`.
fn check_sums(
    name: &str,
    digest: &Hash,
    files: &ReleaseFiles,
    passed: &mut dyn FnMut(String),
) -> Result<(), ReleaseError> {
    let listed =
        sums::parse(files.sums).map_err(|e| ReleaseError::Malformed(format!("SHA256SUMS: {e}")))?;
    check_listed(&listed, name, digest)
        .map_err(|e| ReleaseError::Refused(format!("SHA256SUMS: {e}")))?;
    passed(format!("SHA256SUMS lists the same digest for {name}"));
    Ok(())
}

/// The pin set holds keys of the other kind than the caller verifies with.
fn other_kind(want: &str) -> ReleaseError {
    ReleaseError::Refused(format!("the pinned release keys are not {want} keys"))
}

/// [`verify_release`] for minisign release keys: `SHA256SUMS.minisig` and `SHA256SUMS.tlog-proof`.
/// (The bootstrap calls the one its pin set needs, so it carries only that verifier.)
pub fn verify_minisign_release(
    trust: &ReleaseTrust,
    canonical_dir: &str,
    name: &str,
    digest: &Hash,
    files: &ReleaseFiles,
    passed: &mut dyn FnMut(String),
) -> Result<VerifiedRelease, ReleaseError> {
    let malformed =
        |what: &str, e: &dyn std::fmt::Display| ReleaseError::Malformed(format!("{what}: {e}"));
    let refused =
        |what: &str, e: &dyn std::fmt::Display| ReleaseError::Refused(format!("{what}: {e}"));
    let ReleaseKeys::Minisign(keys) = &trust.keys else {
        return Err(other_kind("minisign"));
    };
    check_sums(name, digest, files, passed)?;
    let sums_url = format!("{canonical_dir}SHA256SUMS");

    let text = std::str::from_utf8(files.minisig)
        .map_err(|_| ReleaseError::Malformed("SHA256SUMS.minisig is not UTF-8".into()))?;
    let sig = Signature::parse(text).map_err(|e| malformed("SHA256SUMS.minisig", &e))?;
    let key = keys
        .iter()
        .find(|k| k.key_id() == sig.key_id())
        .ok_or_else(|| {
            let ids: Vec<String> = keys.iter().map(|k| k.key_id()).collect();
            ReleaseError::Refused(format!(
                "SHA256SUMS is signed by key {}, which is not a pinned release key (pinned: {})",
                sig.key_id(),
                ids.join(", ")
            ))
        })?;
    let v =
        minisig::verify(key, &sig, files.sums).map_err(|e| refused("SHA256SUMS.minisig", &e))?;
    let comment = trusted_comment::parse(&v.trusted_comment)
        .map_err(|e| refused("SHA256SUMS.minisig", &e))?;
    if comment.file != Some("SHA256SUMS") {
        return Err(ReleaseError::Refused(format!(
            "the signature's trusted comment {:?} does not name the file SHA256SUMS",
            v.trusted_comment
        )));
    }
    // The URL is the pinned source's, whichever mirror served the files: a signature made for
    // another release directory (an older release served in place of this one) is refused.
    let binding = trusted_comment::check_url(&v.trusted_comment, &sums_url)
        .map_err(|e| refused("SHA256SUMS.minisig", &e))?;
    passed(format!(
        "SHA256SUMS is signed by pinned release key {} (trusted comment names SHA256SUMS{})",
        v.key_id,
        match &binding {
            UrlBinding::Bound(url) => format!(" and {url}"),
            UrlBinding::Unbound => ", no URL".to_owned(),
        }
    ));

    let logged = verify_logged_sums(&trust.policy, &sums_url, files.sums, files.proof).map_err(
        |e| match e {
            VerifyError::ProofFile(e) => malformed("SHA256SUMS.tlog-proof", &e),
            e => refused("SHA256SUMS.tlog-proof", &e),
        },
    )?;
    let cp = &logged.checkpoint.checkpoint;
    passed(format!(
        "{sums_url} is in log {} at index {} under a checkpoint of size {} (quorum: {})",
        cp.origin,
        logged.index,
        cp.size,
        trust.policy.describe_quorum()
    ));
    Ok(VerifiedRelease {
        key_id: v.key_id,
        trusted_comment: v.trusted_comment,
        sums_url,
        logged,
    })
}

/// [`verify_release`] for `ssh-ed25519` release keys (a Sigsum pin set): `files.proof` is
/// `SHA256SUMS.proof`, whose leaf must be signed by one of the keys over SHA-256 of `SHA256SUMS`,
/// under a tree head of a pinned Sigsum log meeting the pinned quorum.
pub fn verify_sigsum_release(
    trust: &ReleaseTrust,
    canonical_dir: &str,
    name: &str,
    digest: &Hash,
    files: &ReleaseFiles,
    passed: &mut dyn FnMut(String),
) -> Result<VerifiedRelease, ReleaseError> {
    let ReleaseKeys::Sigsum(keys) = &trust.keys else {
        return Err(other_kind("ssh-ed25519"));
    };
    check_sums(name, digest, files, passed)?;
    let sums_url = format!("{canonical_dir}SHA256SUMS");
    let proof = SigsumProof::parse(files.proof)
        .map_err(|e| ReleaseError::Malformed(format!("SHA256SUMS.proof: {e}")))?;
    let v = crate::sigsum::verify::verify(
        &crate::digest::sha256(files.sums),
        &proof,
        keys,
        &trust.policy,
    )
    .map_err(|e| ReleaseError::Refused(format!("SHA256SUMS.proof: {e}")))?;
    let key_hash = crate::sigsum::key_hash(&v.signer);
    passed(format!(
        "SHA256SUMS is signed by pinned release key ssh-ed25519 {key_hash} (a Sigsum leaf over its SHA-256)"
    ));
    let cp = &v.checkpoint.checkpoint;
    passed(format!(
        "the leaf is in Sigsum log {} at index {} under a tree head of size {} (quorum: {})",
        cp.origin,
        v.leaf_index,
        cp.size,
        trust.policy.describe_quorum()
    ));
    Ok(VerifiedRelease {
        key_id: format!("ssh-ed25519 {key_hash}"),
        trusted_comment: String::new(),
        sums_url,
        logged: LoggedSums {
            index: v.leaf_index,
            leaf_hash: v.leaf.merkle_hash(),
            checkpoint: v.checkpoint,
        },
    })
}

/// Every rget binary carries `\0rget-release <version> <target>\0` (`client::own_release`), so that
/// `rget self rollback` can tell which release a kept binary claims to be without running it. A claim
/// is only a hint: it is verified like any release.
const MARKER_PREFIX: &[u8] = b"\0rget-release ";
const MARKER_MAX: usize = 160;

/// A release marker: (version, target).
pub type Marker = (String, String);

/// One pass over a binary: its SHA-256, its length and the release markers it carries.
pub fn scan(r: &mut dyn Read) -> std::io::Result<(Hash, u64, Vec<Marker>)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; STREAM_BUFFER];
    // The last bytes of the previous chunk, so a marker split across two reads is still found.
    let keep = MARKER_PREFIX.len() + MARKER_MAX;
    let mut window: Vec<u8> = Vec::with_capacity(keep + buf.len());
    let mut found = Vec::new();
    let mut len = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
        window.extend_from_slice(&buf[..n]);
        collect_markers(&window, &mut found);
        let drop = window.len().saturating_sub(keep);
        window.drain(..drop);
    }
    found.sort();
    found.dedup();
    Ok((h.finalize(), len, found))
}

/// Markers fully inside `w`: `\0rget-release <semver> <target>\0`.
fn collect_markers(w: &[u8], found: &mut Vec<Marker>) {
    let mut i = 0;
    while let Some(at) = find(&w[i..], MARKER_PREFIX) {
        let start = i + at + MARKER_PREFIX.len();
        i = start;
        let rest = &w[start..w.len().min(start + MARKER_MAX)];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(&rest[..end]) else {
            continue;
        };
        if let Some((v, t)) = text.split_once(' ')
            && Version::parse(v).is_some()
            && !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            found.push((v.to_owned(), t.to_owned()));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_found_across_reads_and_garbage_is_ignored() {
        let mut bin = vec![7u8; 100_000];
        bin.extend_from_slice(b"\0rget-release \xff\0"); // not UTF-8
        bin.extend_from_slice(b"\0rget-release 1.2 x\0"); // not a version
        bin.extend_from_slice(b"\0rget-release "); // the search needle itself
        bin.extend(vec![1u8; STREAM_BUFFER - 7 - bin.len() % STREAM_BUFFER]);
        // Straddles a read boundary.
        bin.extend_from_slice(b"\0rget-release 0.3.0-rc.1 x86_64-unknown-linux-gnu\0tail");
        let (h, len, found) = scan(&mut &bin[..]).unwrap();
        assert_eq!(len, bin.len() as u64);
        assert_eq!(h, crate::digest::sha256(&bin));
        assert_eq!(
            found,
            vec![(
                "0.3.0-rc.1".to_owned(),
                "x86_64-unknown-linux-gnu".to_owned()
            )]
        );
    }
}

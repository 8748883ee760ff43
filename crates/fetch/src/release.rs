//! A release fetched for the bootstrap and for `rget self`: its `SHA256SUMS` and the files that
//! vouch for it (`.minisig` and `.tlog-proof`, or for a Sigsum pin set `.proof`), and the binary, from the first of its locations (mirrors, then the pinned
//! source) that serves them all. What they prove is decided by the core's
//! `release::verify_release`, never here: a location is only where bytes come from.

use crate::client::Client;
use crate::download::Downloaded;
use crate::error::FetchError;
use crate::limits;
use rget_core::pins::ReleaseTrust;
use rget_core::release::evidence_names;
use std::path::Path;

/// Largest release binary accepted: far above any real rget, and bounded (a hostile mirror cannot
/// fill the disk).
pub const MAX_BINARY: u64 = 256 * 1024 * 1024;

/// The files that vouch for a release, as downloaded from one location.
pub struct Fetched {
    /// The release directory they came from (ending in `/`): a mirror or the pinned source.
    pub location: String,
    /// `SHA256SUMS`.
    pub sums: Vec<u8>,
    /// `SHA256SUMS.minisig`; empty for a Sigsum pin set, which has none.
    pub minisig: Vec<u8>,
    /// `SHA256SUMS.tlog-proof`, or `SHA256SUMS.proof` for a Sigsum pin set.
    pub proof: Vec<u8>,
}

/// A release binary (in a temporary file beside its destination) and the three files that vouch
/// for it, all from one location.
pub struct DownloadedRelease {
    /// The binary, unverified, in its temporary file.
    pub binary: Downloaded,
    /// The release files from the same location.
    pub files: Fetched,
}

/// Downloads `SHA256SUMS` and the files that vouch for it under `trust` (`.minisig` and
/// `.tlog-proof`, or `.proof`) from one release directory `loc` (ending in `/`).
pub fn fetch_at(client: &Client, loc: &str, trust: &ReleaseTrust) -> Result<Fetched, FetchError> {
    let get = |f: &str, limit| {
        client
            .get_bytes(&format!("{loc}{f}"), limit)
            .map(|r| r.bytes)
    };
    let (minisig, proof) = evidence_names(trust);
    let proof_limit = if trust.is_sigsum() {
        limits::SIGSUM_PROOF
    } else {
        limits::PROOF
    };
    Ok(Fetched {
        location: loc.to_owned(),
        sums: get("SHA256SUMS", limits::SUMS)?,
        minisig: match minisig {
            Some(name) => get(name, limits::SIGNATURE)?,
            None => Vec::new(),
        },
        proof: get(proof, proof_limit)?,
    })
}

/// Downloads the release files and the binary `name` (at most [`MAX_BINARY`] bytes, into a
/// temporary file beside `dest`) from one release directory `loc`.
pub fn download_at(
    client: &Client,
    loc: &str,
    trust: &ReleaseTrust,
    name: &str,
    dest: &Path,
) -> Result<DownloadedRelease, FetchError> {
    let files = fetch_at(client, loc, trust)?;
    let binary = client.download(&format!("{loc}{name}"), dest, MAX_BINARY, &mut |_, _| {})?;
    Ok(DownloadedRelease { binary, files })
}

/// The first of `locations`, in order, at which `attempt` succeeds; otherwise every failure, in
/// the order of `locations` (empty if there was none to try). How to report failures (one line,
/// which exit code) is the caller's.
pub fn first_location<T, E>(
    locations: &[String],
    mut attempt: impl FnMut(&str) -> Result<T, E>,
) -> Result<T, Vec<E>> {
    let mut failures = Vec::with_capacity(locations.len());
    for loc in locations {
        match attempt(loc) {
            Ok(t) => return Ok(t),
            Err(e) => failures.push(e),
        }
    }
    Err(failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_location_that_serves_wins_and_failures_keep_their_order() {
        let locs: Vec<String> = ["a/", "b/", "c/"].map(String::from).to_vec();
        let mut tried = Vec::new();
        let got = first_location(&locs, |l| {
            tried.push(l.to_owned());
            if l == "b/" {
                Ok(l.len())
            } else {
                Err(l.to_owned())
            }
        });
        assert_eq!(got, Ok(2));
        assert_eq!(tried, ["a/", "b/"], "c/ is never tried");
        let none = first_location(&locs, |l| Err::<(), _>(format!("{l} down")));
        assert_eq!(
            none,
            Err(vec!["a/ down".into(), "b/ down".into(), "c/ down".into()])
        );
        assert_eq!(first_location::<(), ()>(&[], |_| Ok(())), Err(vec![]));
    }
}

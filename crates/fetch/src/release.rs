//! A release's files, fetched for the bootstrap and for `rget self`: the `SHA256SUMS`, its
//! `.minisig` and its `.tlog-proof` from one release directory. What they prove is decided by the
//! core's `release::verify_release`, never here.

use crate::{Client, FetchError, limits};

/// The three files that vouch for a release, as downloaded from one location.
pub struct Fetched {
    pub location: String,
    pub sums: Vec<u8>,
    pub minisig: Vec<u8>,
    pub proof: Vec<u8>,
}

/// Downloads `SHA256SUMS`, `.minisig` and `.tlog-proof` from one release directory `loc` (ending in
/// `/`).
pub fn fetch_at(client: &Client, loc: &str) -> Result<Fetched, FetchError> {
    let get = |f: &str, limit| {
        client
            .get_bytes(&format!("{loc}{f}"), limit)
            .map(|r| r.bytes)
    };
    Ok(Fetched {
        location: loc.to_owned(),
        sums: get("SHA256SUMS", limits::SUMS)?,
        minisig: get("SHA256SUMS.minisig", limits::SIGNATURE)?,
        proof: get("SHA256SUMS.tlog-proof", limits::PROOF)?,
    })
}

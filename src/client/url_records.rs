//! One URL, one `SHA256SUMS`: a URL that the trusted logs list with more than one different
//! `SHA256SUMS` is a trust anomaly.
//!
//! Anyone can record any `SHA256SUMS` under any URL. An older release's `SHA256SUMS`, genuinely signed
//! and logged, can be recorded again under the newer release's URL and served there with the older
//! files and signature: every check of that one record holds. What gives it away is the log's list of
//! records for the URL, which then holds two different digests (the release and the replay). Which
//! one is the release is for a person to decide, so the download is refused (exit code 6) naming every
//! index and digest, and the evidence is kept under the state directory's `evidence/`: the checkpoint
//! and each record, taken from the log's entry bundles and proved from its tiles under that
//! checkpoint (a record the tiles do not prove is named as such: the log then lies in its lookup,
//! which is an anomaly too).
//!
//! The lookup path sees every record of the URL; a proof file shows only its own, so this check runs
//! where the lookup does (and in `rget audit`, which reads every record). A URL-bound signature
//! (`core::trusted_comment`) stops the replay on both paths.

use super::context::Context;
use super::error::ClientError;
use super::state::Evidence;
use super::trust::TrustedLog;
use super::verified::verify_latest;
use rget_core::digest::{Hash, sha256};
use rget_core::merkle;
use rget_core::policy::VerifiedCheckpoint;
use rget_core::record;
use rget_core::tile::{self, Tile, TileHashSource, TileReader};
use rget_core::url::CanonicalUrl;
use rget_fetch::LogClient;

/// Other records proved from the tiles at most: anyone can record a URL thousands of times, and
/// proving each would cost a download per record; the first ones are evidence enough.
const MAX_PROVED: usize = 16;
/// Other records named in the error at most (the evidence lists them all).
const MAX_NAMED: usize = 8;

/// One log's answer to `lookup?url=`: `(index, SHA-256 of the SHA256SUMS)`, oldest first.
pub(crate) struct Listed<'a> {
    pub log: TrustedLog<'a>,
    pub hits: Vec<(u64, Hash)>,
}

/// The record the download was verified against, already proved under `checkpoint`.
pub(crate) struct Ours<'a> {
    pub log: TrustedLog<'a>,
    pub index: u64,
    pub sums_sha256: &'a Hash,
    pub record: &'a [u8],
    pub checkpoint: &'a VerifiedCheckpoint,
}

/// A URL the trusted logs list with more than one `SHA256SUMS`: exit code 6, with every other
/// record named (the first [`MAX_NAMED`]) and where the evidence went.
#[derive(Debug, thiserror::Error)]
#[error(
    "{sums_url} has more than one SHA256SUMS in the trusted logs: index {index} (sha256 {sums_sha256}, the one served) and {}; an older release may be replayed under this URL, or the release was changed after it was logged; {}",
    others.join(", "),
    match evidence {
        Evidence::Saved(dir) => format!("evidence kept in {}", dir.display()),
        Evidence::NotSaved(e) => format!("could NOT keep the evidence: {e}"),
    }
)]
pub struct Replayed {
    /// The `SHA256SUMS` URL, canonical.
    pub sums_url: CanonicalUrl,
    /// The record verified and served.
    pub index: u64,
    /// SHA-256 of the `SHA256SUMS` verified and served.
    pub sums_sha256: Hash,
    /// The other records: `index N (sha256 D[, log O][, NOT proved])`.
    pub others: Vec<String>,
    /// Where the listing, the checkpoints and the proved records were kept.
    pub evidence: Evidence,
}

/// Looks `sums_url` up in the trusted logs not in `listed` yet, and refuses (exit code 6, evidence
/// kept) if any log lists a `SHA256SUMS` for it other than `ours`.
pub(crate) fn refuse_other_records<'a>(
    ctx: &'a Context,
    sums_url: &CanonicalUrl,
    ours: &Ours,
    mut listed: Vec<Listed<'a>>,
) -> Result<(), ClientError> {
    for log in ctx.policy.logs() {
        if !listed.iter().any(|l| l.log.origin == log.origin) {
            let hits = LogClient::new(log.url, &ctx.fetch).lookup(sums_url.as_str())?;
            listed.push(Listed { log, hits });
        }
    }
    if listed
        .iter()
        .all(|l| l.hits.iter().all(|(_, h)| h == ours.sums_sha256))
    {
        return Ok(());
    }

    // Each log gets a number, in policy order, for the evidence file names.
    let mut proofs_left = MAX_PROVED;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut listing = String::new();
    let mut others = Vec::new();
    for (n, l) in listed.iter().enumerate() {
        let tag = format!("log{}", n + 1);
        let checkpoint = if l.log.origin == ours.log.origin {
            Ok(ours.checkpoint.clone())
        } else {
            latest_checkpoint(ctx, l.log)
        };
        if let Ok(vc) = &checkpoint {
            files.push((format!("{tag}.checkpoint"), vc.note.clone()));
        }
        for &(index, digest) in &l.hits {
            let is_ours = l.log.origin == ours.log.origin && index == ours.index;
            let proved = if is_ours {
                Ok(ours.record.to_vec())
            } else if proofs_left == 0 {
                Err(format!("not checked: more than {MAX_PROVED} records"))
            } else {
                proofs_left -= 1;
                checkpoint
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|vc| prove_record(ctx, l.log, vc, index, &digest, sums_url))
            };
            let status = match &proved {
                Ok(_) => "proved".to_owned(),
                Err(why) => format!("NOT proved: {why}"),
            };
            listing.push_str(&format!(
                "{tag} {} {index} {digest} {status}\n",
                l.log.origin
            ));
            if digest != *ours.sums_sha256 {
                let log = if listed.len() > 1 {
                    format!(", log {}", l.log.origin)
                } else {
                    String::new()
                };
                let unproved = if proved.is_ok() { "" } else { ", NOT proved" };
                others.push(format!("index {index} (sha256 {digest}{log}{unproved})"));
            }
            if let Ok(entry) = proved {
                files.push((format!("{tag}.record-{index}"), entry));
            }
        }
    }
    files.push(("records".to_owned(), listing.into_bytes()));
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let evidence = ctx.state.keep_evidence(ours.log.origin, "records", &refs);
    if others.len() > MAX_NAMED {
        let more = others.len() - MAX_NAMED;
        others.truncate(MAX_NAMED);
        others.push(format!("and {more} more (all listed in the evidence)"));
    }
    Err(Box::new(Replayed {
        sums_url: sums_url.clone(),
        index: ours.index,
        sums_sha256: *ours.sums_sha256,
        others,
        evidence,
    })
    .into())
}

/// A log's latest checkpoint, verified under the policy (for the evidence: a failure is noted there).
fn latest_checkpoint(ctx: &Context, log: TrustedLog) -> Result<VerifiedCheckpoint, String> {
    let note = LogClient::new(log.url, &ctx.fetch)
        .checkpoint()
        .map_err(|e| e.to_string())?;
    verify_latest(ctx, log, &note).map_err(|e| e.to_string())
}

/// The entry at `index` of the log, from its entry bundle, if it is a record of `sums_url` carrying a
/// `SHA256SUMS` with SHA-256 `digest` and the log's tiles prove it under `vc`.
fn prove_record(
    ctx: &Context,
    log: TrustedLog,
    vc: &VerifiedCheckpoint,
    index: u64,
    digest: &Hash,
    sums_url: &CanonicalUrl,
) -> Result<Vec<u8>, String> {
    let size = vc.checkpoint.size;
    if index >= size {
        return Err(format!(
            "index {index} is beyond the checkpoint of size {size}"
        ));
    }
    let entry = read_entry(&mut LogClient::new(log.url, &ctx.fetch), index, size)?;
    let r = record::parse_header(&entry).map_err(|e| format!("entry {index}: {e}"))?;
    // A record made under another spelling of the URL is a record of the URL too.
    if CanonicalUrl::parse(r.url).as_ref() != Ok(sums_url) {
        return Err(format!("entry {index} is a record of {:?}", r.url));
    }
    if r.sums_sha256 != *digest || sha256(r.sums) != *digest {
        return Err(format!(
            "entry {index} does not carry a SHA256SUMS with sha256 {digest}"
        ));
    }
    let leaf = merkle::leaf_hash(&entry);
    let mut src = TileHashSource::new(LogClient::new(log.url, &ctx.fetch), size);
    let proof = merkle::inclusion_proof(index, size, &mut src)
        .map_err(|e| format!("no inclusion proof for index {index}: {e}"))?;
    merkle::verify_inclusion(index, size, &leaf, &proof, &vc.checkpoint.root)
        .map_err(|e| format!("entry {index} is not in the tree of size {size}: {e}"))?;
    Ok(entry)
}

/// Entry `index` of a tree of `size` entries, from its entry bundle: the partial bundle of that size
/// or, when the log has since filled it (C2SP tlog-tiles lets it drop partial tiles), the full one.
fn read_entry(reader: &mut impl TileReader, index: u64, size: u64) -> Result<Vec<u8>, String> {
    let implied = Tile::entry_bundle(index, size)
        .ok_or_else(|| format!("entry {index} is not in a tree of size {size}"))?;
    let entries = tile::read_entry_bundle(reader, &implied).map_err(|e| e.to_string())?;
    let k = usize::try_from(index - implied.first_entry()).unwrap_or(usize::MAX);
    entries
        .into_iter()
        .nth(k)
        .ok_or_else(|| format!("entry {index} is not in its bundle"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::tile::{MemoryTiles, TileLevel, encode_bundle};

    #[test]
    fn entries_come_from_the_partial_bundle_or_the_full_one() {
        let entries: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let mut tiles = MemoryTiles::new();
        let full0 = Tile::new(TileLevel::Entries, 0, 256).unwrap();
        tiles.insert(&full0, encode_bundle(&refs[..256]).unwrap());
        let part1 = Tile::new(TileLevel::Entries, 1, 30).unwrap();
        tiles.insert(&part1, encode_bundle(&refs[256..286]).unwrap());
        assert_eq!(read_entry(&mut tiles, 7, 286).unwrap(), entries[7]);
        assert_eq!(read_entry(&mut tiles, 280, 286).unwrap(), entries[280]);
        // Bundle 0 was partial (width 100) at size 100, and the log has since filled it.
        assert_eq!(read_entry(&mut tiles, 42, 100).unwrap(), entries[42]);
        // Neither the partial nor the full bundle: the error says which tile is missing.
        assert!(
            read_entry(&mut tiles, 290, 295)
                .unwrap_err()
                .contains("tile")
        );
    }
}

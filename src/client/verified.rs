//! Everything `rget get`, `verify` and `cat` check before they hand a file over, in one place:
//! the `SHA256SUMS` next to the file lists it; the record for that `SHA256SUMS` is in a trusted log
//! (from `SHA256SUMS.tlog-proof`, or found with the log's lookup and proved from its tiles) under a
//! checkpoint signed by the log, meeting the policy's quorum, and consistent with the last checkpoint
//! this host saw of that log (and, on the lookup path, that no log lists another `SHA256SUMS` for that
//! URL: `url_records`); and the minisign signature holds where a publisher key applies, with a trusted
//! comment that names no URL or this one (`core::trusted_comment`).
//!
//! Under a Sigsum policy the proof is `SHA256SUMS.proof` instead, and the publisher's signature is
//! its leaf (`client::sigsum`); the checkpoint memory, the prover of consistency proofs (the log's
//! `get-consistency-proof`) and the report are the same.
//!
//! The artifact itself is checked by the caller against [`VerifiedSums::expected`], after streaming it.

use super::context::Context;
use super::error::ClientError;
use super::state::{Observed, Pending, ProofError, Seen};
use super::trust::{PublisherKey, TrustedLog};
use super::url_records::{self, Listed, Ours};
use rget_core::digest::{Hash, sha256};
use rget_core::merkle::{self, MerkleError};
use rget_core::minisig::{self, Signature};
use rget_core::policy::VerifiedCheckpoint;
use rget_core::record;
use rget_core::sigsum::proof::SigsumProof;
use rget_core::sigsum::verify::checkpoint_note;
use rget_core::sums::{self, Sums};
use rget_core::tile::{TileError, TileHashSource};
use rget_core::tlog_proof::TlogProof;
use rget_core::trusted_comment::{self, UrlBinding};
use rget_core::url::{CanonicalUrl, FileUrl};
use rget_core::verify;
use rget_fetch::{FetchError, Fetched, Kind, LogClient, SigsumLog, limits};

/// Where the inclusion proof came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofSource {
    /// `SHA256SUMS.tlog-proof` published next to the `SHA256SUMS`.
    ProofFile,
    /// The log's lookup, proved from its tiles under its latest checkpoint.
    LogLookup,
    /// `SHA256SUMS.proof`, a Sigsum proof, published next to the `SHA256SUMS` (a Sigsum policy).
    SigsumProof,
}

/// The publisher signature check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signed {
    /// A key applied and its signature verified.
    Yes {
        /// The minisign key ID of the key that verified, as minisign prints it.
        key_id: String,
        /// The signature's trusted comment (covered by the signature), as signed.
        trusted_comment: String,
        /// Whether the trusted comment names this `SHA256SUMS`'s URL (it never names another).
        binding: UrlBinding,
        /// "signed by" the key and where it came from (`--key`, or the keys file, line and prefix).
        key_source: String,
    },
    /// No key applies to this URL: the output must say the sums were unsigned.
    Unsigned,
    /// An `ssh-ed25519` key applied, and it signed the Sigsum leaf of `SHA256SUMS.proof` (over
    /// SHA-256 of these very bytes). A leaf carries no comment and binds no URL.
    SigsumLeaf {
        /// Sigsum's name for the signer: SHA-256 of its public key.
        key_hash: Hash,
        /// "signed by" the key and where it came from (`--key`, or the keys file, line and prefix).
        key_source: String,
    },
}

/// What a Sigsum proof showed besides the checkpoint (which [`VerifiedSums`] holds as for any log).
#[derive(Debug, Clone)]
pub struct SigsumLogged {
    /// The log's key hash (its origin is `sigsum.org/v1/tree/<key hash>`).
    pub log_key_hash: Hash,
    /// The log's URL, from the policy.
    pub log_url: String,
}

/// A `SHA256SUMS` that passed every check, and what the file named in the URL must hash to.
#[derive(Debug, Clone)]
pub struct VerifiedSums {
    /// The file's name, as listed.
    pub name: String,
    /// Its SHA-256, as listed.
    pub expected: Hash,
    /// The `SHA256SUMS` that lists it, and everything its checks showed.
    pub release: VerifiedRelease,
}

/// Runs every check on the `SHA256SUMS` that lists the file at `url` (or the one at `sums_url`).
/// The file's name is looked up only if a `SHA256SUMS` can list it (so `..` or an empty name can
/// never be); `rget get` without `-o` saves under this same name, only if it is also fit for the
/// current directory (`FileUrl::output_name`).
pub fn verify_sums(
    ctx: &Context,
    url: &FileUrl,
    sums_url: Option<&str>,
) -> Result<VerifiedSums, ClientError> {
    let (name, sums_url) = locate(url, sums_url)?;
    let files = ReleaseFiles::fetch(ctx, &sums_url);
    verify_release(ctx, sums_url, files)?.file(name)
}

/// The name `url` is listed under, and the canonical URL of the `SHA256SUMS` that lists it (the one
/// in its directory, or `sums_url`): nothing is fetched.
pub fn locate(
    url: &FileUrl,
    sums_url: Option<&str>,
) -> Result<(String, CanonicalUrl), ClientError> {
    let name = url
        .listable_name()
        .map_err(|err| ClientError::Unlistable {
            url: url.to_string(),
            err,
        })?
        .to_owned();
    let sums_url = match sums_url {
        Some(s) => s.to_string(),
        None => url.sums_url().ok_or_else(|| ClientError::NoFile {
            url: url.to_string(),
        })?,
    };
    // Records exist only for canonical https URLs: that is the identity the log vouches for.
    let sums_url = CanonicalUrl::parse(&sums_url).map_err(|e| match e {
        record::RecordError::NotHttps(u) => ClientError::SumsNotHttps(u),
        e => ClientError::SumsUrl(e),
    })?;
    Ok((name, sums_url))
}

/// A `SHA256SUMS` that passed every check, shared by every file of its release directory (each
/// file's own name and digest: [`VerifiedSums`]).
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    /// The canonical URL of the `SHA256SUMS`.
    pub sums_url: CanonicalUrl,
    /// SHA-256 of the `SHA256SUMS` bytes: what the log's record (or Sigsum leaf) commits to.
    pub sums_sha256: Hash,
    /// The parsed `SHA256SUMS`.
    pub sums: Sums,
    /// The index of its record in the log (under a Sigsum policy, of its leaf).
    pub index: u64,
    /// The checkpoint the inclusion was proved under, verified under the policy (log signature,
    /// witness quorum).
    pub checkpoint: VerifiedCheckpoint,
    /// Where the inclusion proof came from.
    pub proof_source: ProofSource,
    /// How the checkpoint compared with this host's memory of the log (first use, unchanged,
    /// advanced, or tied to a newer one stored).
    pub memory: Observed,
    /// The publisher signature check.
    pub signed: Signed,
    /// Under a Sigsum policy: the Sigsum log. `index` is then the leaf index, and the checkpoint the
    /// cosigned tree head.
    pub sigsum: Option<SigsumLogged>,
}

impl VerifiedRelease {
    /// What this `SHA256SUMS` says of the file `name`: its digest, or that it is not listed.
    pub fn file(&self, name: String) -> Result<VerifiedSums, ClientError> {
        let expected = *self.sums.get(&name).ok_or_else(|| ClientError::NotListed {
            name: name.clone(),
            sums_url: self.sums_url.clone(),
        })?;
        Ok(VerifiedSums {
            name,
            expected,
            release: self.clone(),
        })
    }
}

/// The files a release directory's checks start from, fetched at once, each on its own connection:
/// the `SHA256SUMS`, its proof (`SHA256SUMS.tlog-proof`, or under a Sigsum policy the Sigsum proof
/// `SHA256SUMS.proof`) and, where a minisign publisher key applies, its signature (a Sigsum proof
/// carries its own: the leaf's). Three round trips become one; what each is worth is only judged by
/// [`verify_release`], in the same order as if they had been fetched one after the other.
pub struct ReleaseFiles {
    sums: Result<Fetched, FetchError>,
    proof: Result<Fetched, FetchError>,
    /// `None` when no publisher key applies (nothing is fetched).
    signature: Option<Result<Fetched, FetchError>>,
}

impl ReleaseFiles {
    /// Fetches the three in parallel (threads sharing the client's connection pool) and waits for
    /// all of them; each is bounded by its size limit, the timeouts and `--max-time`.
    pub fn fetch(ctx: &Context, sums_url: &CanonicalUrl) -> ReleaseFiles {
        let get = |url: String, limit: u64| ctx.fetch.get_bytes(&url, limit);
        let sigsum = ctx.policy.is_sigsum();
        let (proof_url, proof_limit) = if sigsum {
            (sums_url.with_suffix(".proof"), limits::SIGSUM_PROOF)
        } else {
            (sums_url.with_suffix(".tlog-proof"), limits::PROOF)
        };
        let signed = !sigsum
            && ctx
                .keys
                .for_sums(sums_url)
                .is_some_and(|k| matches!(k.key, PublisherKey::Minisign(_)));
        std::thread::scope(|s| {
            let proof = s.spawn(|| get(proof_url, proof_limit));
            let signature = signed
                .then(|| s.spawn(|| get(sums_url.with_suffix(".minisig"), limits::SIGNATURE)));
            let sums = get(sums_url.to_string(), limits::SUMS);
            ReleaseFiles {
                sums,
                proof: joined(proof),
                signature: signature.map(joined),
            }
        })
    }

    /// The log and tree size of the proof file's checkpoint, if there is one whose log signature
    /// holds: a run verifying many release directories of one log verifies the one under the
    /// largest checkpoint first, so that the memory of that log is written once (the others are
    /// older, and are only tied to it).
    pub fn proof_checkpoint(&self, ctx: &Context) -> Option<(String, u64)> {
        let bytes = &self.proof.as_ref().ok()?.bytes;
        let policy = &ctx.policy.policy;
        let note = if ctx.policy.is_sigsum() {
            let proof = SigsumProof::parse(bytes).ok()?;
            checkpoint_note(&proof, policy).ok()?
        } else {
            TlogProof::parse(bytes).ok()?.checkpoint
        };
        let signed = policy.verify_log_signature(&note).ok()?;
        Some((signed.checkpoint.origin, signed.checkpoint.size))
    }
}

/// A fetch's result from its thread (a panic there is a bug: reported, never propagated as one).
fn joined(
    h: std::thread::ScopedJoinHandle<'_, Result<Fetched, FetchError>>,
) -> Result<Fetched, FetchError> {
    h.join().unwrap_or_else(|_| {
        Err(FetchError::Network {
            url: "(a fetch thread)".to_owned(),
            reason: "the thread stopped without an answer".to_owned(),
        })
    })
}

/// Runs every check on the `SHA256SUMS` at `sums_url`, from the files [`ReleaseFiles::fetch`]
/// fetched: it parses; it is recorded in a trusted log (the proof file, else the log's lookup and
/// tiles) under a checkpoint meeting the policy and consistent with this host's memory; its
/// signature holds where a key applies.
pub fn verify_release(
    ctx: &Context,
    sums_url: CanonicalUrl,
    files: ReleaseFiles,
) -> Result<VerifiedRelease, ClientError> {
    let sums_bytes = files.sums?.bytes;
    let sums = sums::parse(&sums_bytes).map_err(|err| ClientError::Sums {
        url: sums_url.clone(),
        err,
    })?;
    if ctx.policy.is_sigsum() {
        let p = super::sigsum::prove(ctx, &sums_url, &sums_bytes, files.proof)?;
        return Ok(VerifiedRelease {
            sums_sha256: sha256(&sums_bytes),
            sums_url,
            sums,
            index: p.index,
            checkpoint: p.checkpoint,
            proof_source: ProofSource::SigsumProof,
            memory: p.memory,
            signed: p.signed,
            sigsum: Some(p.logged),
        });
    }
    let record = record::build(sums_url.as_str(), &sums_bytes).map_err(ClientError::Record)?;

    let (index, checkpoint, proof_source, memory) = match files.proof {
        Ok(f) => prove_with_file(ctx, &record, &f.bytes, &sums_url)?,
        Err(e) if e.kind() == Kind::NotFound => {
            prove_with_lookup(ctx, &record, &sums_url, &sha256(&sums_bytes))?
        }
        Err(e) => return Err(e.into()),
    };

    let signed = check_signature(ctx, &sums_url, &sums_bytes, files.signature)?;
    Ok(VerifiedRelease {
        sums_sha256: sha256(&sums_bytes),
        sums_url,
        sums,
        index,
        checkpoint,
        proof_source,
        memory,
        signed,
        sigsum: None,
    })
}

type Proved = (u64, VerifiedCheckpoint, ProofSource, Observed);

pub(crate) fn trusted_log<'a>(
    ctx: &'a Context,
    vc: &VerifiedCheckpoint,
) -> Result<TrustedLog<'a>, ClientError> {
    ctx.policy
        .log_for_origin(&vc.checkpoint.origin)
        .ok_or_else(|| ClientError::NotInPolicy {
            origin: vc.checkpoint.origin.clone(),
        })
}

/// The checkpoint `note` that `log` served as its latest, verified under the policy (log signature,
/// quorum), and `log`'s own.
pub(crate) fn verify_latest(
    ctx: &Context,
    log: TrustedLog,
    note: &[u8],
) -> Result<VerifiedCheckpoint, ClientError> {
    let vc = ctx
        .policy
        .policy
        .verify_checkpoint(note)
        .map_err(|err| ClientError::Checkpoint {
            log_url: log.url.to_owned(),
            err,
        })?;
    if vc.checkpoint.origin != log.origin {
        return Err(ClientError::WrongOrigin {
            log_url: log.url.to_owned(),
            got: vc.checkpoint.origin,
            want: log.origin.to_owned(),
        });
    }
    Ok(vc)
}

/// Why a consistency proof could not be had, by the kind of log asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProverError {
    /// Computed from an rget log's tiles.
    #[error(transparent)]
    Tiles(MerkleError<TileError>),
    /// Asked of a Sigsum log's `get-consistency-proof`.
    #[error(transparent)]
    Sigsum(FetchError),
}

/// A log that answered without the data of a tree it signed (missing or malformed tiles; a Sigsum
/// log answering "not found" or garbage) is a trust anomaly, rather than being unreachable.
impl ProofError for ProverError {
    fn unserved(&self) -> bool {
        match self {
            ProverError::Tiles(e) => e.is_unserved(),
            ProverError::Sigsum(e) => e.is_unserved(),
        }
    }
}

/// Consistency proofs between two sizes of a log: computed from its tiles at the larger size, or
/// for a Sigsum log asked of its `get-consistency-proof`. A log serving wrong tiles or a wrong proof
/// only makes the proof fail to verify; it cannot make a wrong one pass.
pub(crate) fn prover<'a>(
    ctx: &'a Context,
    log: TrustedLog<'a>,
) -> impl FnMut(u64, u64) -> Result<Vec<Hash>, ProverError> + 'a {
    move |old, new| {
        if log.sigsum {
            SigsumLog::new(log.url, &ctx.fetch)
                .consistency_proof(old, new)
                .map_err(ProverError::Sigsum)
        } else {
            let mut src = TileHashSource::new(LogClient::new(log.url, &ctx.fetch), new);
            merkle::consistency_proof(old, new, &mut src).map_err(ProverError::Tiles)
        }
    }
}

/// Compares a checkpoint note with this host's memory of its log as soon as the log's own signature
/// verifies, before its cosignatures, the quorum or any proof under it is judged: two checkpoints
/// signed by one log key that are not consistent prove a fork whatever else is wrong with the new
/// one, so the fork (or rollback, or tiles the log cannot serve) is what is reported, exit code 6
/// with the evidence kept, rather than a quorum or inclusion failure that would lose it. `None`:
/// the note is not signed by a policy log whose origin is `origin` (when given); the full check
/// that follows says what is wrong. The [`Pending`] result holds the log's lock until [`settle`].
pub(crate) fn remember<'a>(
    ctx: &'a Context,
    note: &[u8],
    seen: Seen,
    origin: Option<&str>,
) -> Result<Option<Pending<'a>>, ClientError> {
    let Ok(signed) = ctx.policy.policy.verify_log_signature(note) else {
        return Ok(None);
    };
    if origin.is_some_and(|o| o != signed.checkpoint.origin) {
        return Ok(None);
    }
    let Some(log) = ctx.policy.log_for_origin(&signed.checkpoint.origin) else {
        return Ok(None);
    };
    Ok(Some(ctx.state.compare(
        &signed,
        seen,
        &mut prover(ctx, log),
    )?))
}

/// Records a checkpoint that passed every check in the memory: through the comparison
/// [`remember`] made, or (if it made none) by comparing now.
pub(crate) fn settle(
    ctx: &Context,
    pending: Option<Pending<'_>>,
    vc: &VerifiedCheckpoint,
    seen: Seen,
) -> Result<Observed, ClientError> {
    if let Some(p) = pending {
        return Ok(p.commit(vc)?);
    }
    let log = trusted_log(ctx, vc)?;
    Ok(ctx
        .state
        .compare(&vc.log_signed(), seen, &mut prover(ctx, log))?
        .commit(vc)?)
}

fn prove_with_file(
    ctx: &Context,
    record: &[u8],
    proof_bytes: &[u8],
    sums_url: &CanonicalUrl,
) -> Result<Proved, ClientError> {
    let proof = TlogProof::parse(proof_bytes).map_err(|err| ClientError::ProofFile {
        sums_url: sums_url.clone(),
        err,
    })?;
    // A proof made under an older checkpoint is normal; it is tied to the newest one seen.
    let pending = remember(ctx, &proof.checkpoint, Seen::FromProof, None)?;
    let logged = verify::verify_record(&ctx.policy.policy, record, &proof).map_err(|err| {
        ClientError::Verify {
            sums_url: sums_url.clone(),
            err: Box::new(err),
        }
    })?;
    let memory = settle(ctx, pending, &logged.checkpoint, Seen::FromProof)?;
    Ok((
        logged.index,
        logged.checkpoint,
        ProofSource::ProofFile,
        memory,
    ))
}

fn prove_with_lookup(
    ctx: &Context,
    record: &[u8],
    sums_url: &CanonicalUrl,
    sums_sha256: &Hash,
) -> Result<Proved, ClientError> {
    let leaf = merkle::leaf_hash(record);
    let mut tried = Vec::new();
    let mut listed = Vec::new();
    for log in ctx.policy.logs() {
        let lc = LogClient::new(log.url, &ctx.fetch);
        // The lookup is a hint: only the proof below, from tiles, under a verified checkpoint, counts.
        let hits = lc.lookup(sums_url.as_str())?;
        let Some(&(index, _)) = hits.iter().find(|(_, h)| h == sums_sha256) else {
            tried.push(log.origin.to_string());
            listed.push(Listed { log, hits });
            continue;
        };
        let note = lc.checkpoint()?;
        // This is the log's latest checkpoint: older than one seen before is a rollback.
        let pending = remember(ctx, &note, Seen::Latest, Some(log.origin))?;
        let vc = verify_latest(ctx, log, &note)?;
        let size = vc.checkpoint.size;
        let mut src = TileHashSource::new(LogClient::new(log.url, &ctx.fetch), size);
        let proof = match merkle::inclusion_proof(index, size, &mut src) {
            Ok(p) => p,
            Err(err) => {
                return Err(match pending {
                    // Missing tiles of the size it just signed: the log's failure, kept as evidence.
                    Some(p) if err.is_unserved() => p.unserved(size, &err).into(),
                    // Otherwise unreachable tiles (the network) or a bad answer: see its class.
                    _ => ClientError::NoInclusionProof {
                        sums_url: sums_url.clone(),
                        index,
                        log_url: log.url.to_owned(),
                        err: Box::new(err),
                    },
                });
            }
        };
        merkle::verify_inclusion(index, size, &leaf, &proof, &vc.checkpoint.root).map_err(
            |err| ClientError::NotIncluded {
                sums_url: sums_url.clone(),
                origin: log.origin.to_owned(),
                index,
                err: Box::new(err),
            },
        )?;
        let memory = settle(ctx, pending, &vc, Seen::Latest)?;
        // Another SHA256SUMS recorded under this URL: a replayed release (exit code 6).
        listed.push(Listed { log, hits });
        let ours = Ours {
            log,
            index,
            sums_sha256,
            record,
            checkpoint: &vc,
        };
        url_records::refuse_other_records(ctx, sums_url, &ours, listed)?;
        return Ok((index, vc, ProofSource::LogLookup, memory));
    }
    Err(ClientError::NotRecorded {
        sums_url: sums_url.clone(),
        sums_sha256: *sums_sha256,
        tried,
    })
}

fn check_signature(
    ctx: &Context,
    sums_url: &CanonicalUrl,
    sums_bytes: &[u8],
    fetched: Option<Result<Fetched, FetchError>>,
) -> Result<Signed, ClientError> {
    let Some(applied) = ctx.keys.for_sums(sums_url) else {
        return Ok(Signed::Unsigned);
    };
    let PublisherKey::Minisign(key) = applied.key else {
        return Err(ClientError::SshKeyForRgetLog {
            sums_url: sums_url.clone(),
            key: ctx.keys.describe(sums_url.as_str()),
        });
    };
    let sig_url = sums_url.with_suffix(".minisig");
    // Fetched with the SHA256SUMS when a key applied (it did: the keys do not change in between).
    let fetched = fetched.unwrap_or_else(|| ctx.fetch.get_bytes(&sig_url, limits::SIGNATURE));
    let sig_bytes = match fetched {
        Ok(f) => f.bytes,
        Err(e) if e.kind() == Kind::NotFound => {
            return Err(ClientError::SignatureMissing {
                sig_url,
                key: format!("signed by {applied}"),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let Ok(text) = String::from_utf8(sig_bytes) else {
        return Err(ClientError::SignatureNotUtf8 { sig_url });
    };
    let sig = match Signature::parse(&text) {
        Ok(s) => s,
        Err(err) => return Err(ClientError::SignatureMalformed { sig_url, err }),
    };
    let v = match minisig::verify(key, &sig, sums_bytes) {
        Ok(v) => v,
        Err(err) => return Err(ClientError::BadSignature { sig_url, err }),
    };
    // A signature bound to another URL is another release's, replayed here.
    let binding = match trusted_comment::check_url(&v.trusted_comment, sums_url.as_str()) {
        Ok(b) => b,
        Err(err) => return Err(ClientError::OtherUrl { sig_url, err }),
    };
    Ok(Signed::Yes {
        key_id: v.key_id,
        trusted_comment: v.trusted_comment,
        binding,
        key_source: format!("signed by {applied}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_is_one_plain_name() {
        let name = |url: &str| {
            FileUrl::parse(url)
                .unwrap()
                .listable_name()
                .map(str::to_owned)
        };
        assert_eq!(
            name("https://a.example/r/my%20tool.sh?x#y").unwrap(),
            "my tool.sh"
        );
        // Regressions from the `output_name` fuzz target: names that climb out of the directory,
        // NUL and the special names can never be looked up. (A decoded `/`, `\` or control
        // character can be: a SHA256SUMS may list `sub/file`; the name saved without `-o` is
        // checked again by `core::output_name`, which refuses them.)
        for url in [
            "https://a.example/r/..%2F..%2Fetc%2Fpasswd",
            "https://a.example/r/a%00b",
            "https://a.example/r/%2e%2e",
            "https://a.example/r/.",
            "https://a.example/r/",
        ] {
            assert!(name(url).is_err(), "{url}");
        }
    }
}

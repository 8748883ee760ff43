//! `rget release`: the publisher's one step. List the files of a directory in `SHA256SUMS`, sign it
//! with minisign, record it in a transparency log, verify everything as a client would, and only
//! then write `SHA256SUMS`, `SHA256SUMS.minisig` and `SHA256SUMS.tlog-proof` into the directory.
//!
//! It runs the same code as the separate steps (`rget sums`, `minisign -S`, `rget submit`): the
//! listing of `rget sums`, the signature format of the `minisign` tool, and `rget submit`'s
//! submission and proof checks. With `--sigsum-…` the list is logged in Sigsum logs instead
//! (`SHA256SUMS.proof`, whose leaf signature by the ssh-ed25519 key is the release signature; a
//! minisign `--key` then adds `SHA256SUMS.minisig`, no longer required).

use super::exit::{CliResult, Failure, io_reason};
use super::json::{self, Cosigner, Logged};
use super::keygen::{PasswordArgs, load_secret_key};
use super::sigsum_args::{SigsumArgs, submit_sums};
use super::submit::{Submitted, log_prefix, submit_verified};
use super::summary::cosigned_by;
use super::sums::{DirRules, Hashed, listed_names, listing_held};
use super::trust_args::{LogTrustArgs, client};
use crate::client::sigsum::submit as sigsum_submit;
use crate::publish::{SUMS_FILE, SigningKey, sign_sums};
use rget_core::digest::sha256;
use rget_core::minisig;
use rget_core::policy::VerifiedCheckpoint;
use rget_core::sums::Entry;
use rget_core::trusted_comment::{self, UrlBinding};
use rget_core::url::CanonicalUrl;
use rget_fetch::{LogClient, durable};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

const ABOUT: &str =
    "Publish a directory: SHA256SUMS, its minisign signature and its log proof, all verified";

const LONG_ABOUT: &str = "\
The publisher's one step. For the regular files directly in DIR: write their SHA-256 in a \
SHA256SUMS (as `rget sums` does), sign it with the minisign secret key --key (prehashed, with the \
trusted comment 'timestamp:<t>\\tfile:SHA256SUMS\\thashed', as `minisign -S` does, followed by \
'\\turl:BASE-URL/SHA256SUMS', which binds the signature to where it is published), check that \
signature with the verifier rget's clients use, record the SHA256SUMS in the transparency log as \
published at BASE-URL/SHA256SUMS (as `rget submit` does), and verify the log's answer under the trust \
policy: the log's signature, the policy's witness quorum, the inclusion of exactly this record, and \
consistency with the last checkpoint this host saw of the log. Only when all of that held are \
SHA256SUMS, SHA256SUMS.minisig and SHA256SUMS.tlog-proof renamed into DIR, all three after one \
another; on any failure DIR is left as it was. Then upload all of DIR to BASE-URL.

Nothing is logged until everything local is known to work, since a record cannot be taken back: \
the three files are first written under temporary names in DIR (so a read-only DIR, a full disk, \
or a directory where one of them goes is refused before the log is asked); every file is hashed \
through a descriptor kept open, and just before the list is logged each must still be the file \
that was hashed (same file, size, modification and change times) and DIR must hold the same \
files: a file written to, replaced, added or removed meanwhile stops the release (exit 1). The log \
is also asked (GET /lookup) what it holds for BASE-URL/SHA256SUMS: a different SHA256SUMS already \
recorded there is refused (exit 2) unless --allow-second-record, because clients that find a URL \
with two records refuse it (the same SHA256SUMS again is fine: the log answers with its record).

What is listed: the regular files directly in DIR, sorted by name, except SHA256SUMS, \
SHA256SUMS.minisig, SHA256SUMS.tlog-proof and SHA256SUMS.proof (the release's own files). Hidden files (names starting \
with '.') are never listed. A subdirectory, symbolic link or other special file is refused, so \
that what is published is exactly what was listed: move it out of DIR first.

Witnesses: the log gathers its witnesses' cosignatures itself (`rget log serve --witnesses`); which \
witnesses must have cosigned, and how many, is what the trust policy's witness, group and quorum \
lines say (--policy), the same policy rget's users check the proof against. A proof that would not \
satisfy them is refused here, before anything is written.

The secret key is read from --key (made by `rget keygen` or `minisign -G`). If it is encrypted, its \
password comes from --password-file FILE (first line), else $RGET_PASSWORD, else is asked on the \
terminal.

Sigsum: with --sigsum-policy and --sigsum-key the SHA256SUMS is logged in a Sigsum log of that \
policy instead of an rget log, as `rget submit --sigsum-...` does (the leaf signs SHA-256 of the \
SHA256SUMS with the ssh-ed25519 key, exactly as `sigsum-submit SHA256SUMS`; polled until cosigned \
as the policy's quorum requires; verified as a client would), and SHA256SUMS.proof is written \
instead of SHA256SUMS.tlog-proof. The leaf is the release signature for users who give rget the \
ssh-ed25519 public key; --key is then optional (it adds SHA256SUMS.minisig). A Sigsum leaf names no \
URL: what stops an older release being served in this one's place is that a user asks for a file \
by a name this SHA256SUMS must list, so every listed name should carry the release's version; a \
warning names those that do not. The same staging and the same check for changed files come first; there is no second-record check, as a Sigsum leaf names no URL.";

const AFTER_HELP: &str = "\
Examples:
  rget release dist/ --key ~/.minisign/minisign.key \\
      --url https://example.org/rel/v1.2/
  RGET_PASSWORD=... rget release dist/ -s release.key \\
      --url https://example.org/rel/v1.2 --json
  rget release dist/ -s release.key --url https://example.org/rel/v1.2/ \\
      --policy publisher.policy
  rget release dist/ --url https://example.org/rel/v1.2/ \\
      --sigsum-key sigsum.key --sigsum-policy sigsum-generic-2025-1 \\
      --sigsum-token example.org:token.key

Exit codes: 0 released, 1 a check failed (wrong password, a file changed while
it was released, the log's proof does not verify under the policy), 2 usage
(bad URL or DIR, a subdirectory or link in DIR, a directory or special file
where SHA256SUMS or its signature or proof goes, nothing to release, no
password, another SHA256SUMS already logged for the URL without
--allow-second-record), 3 malformed (the secret key, the log's answer),
4 network (the log is unreachable, or answered 503 with why it cannot publish
the record: its witness quorum not reached), 6 the log rolled back or forked,
7 local I/O (including a DIR where the files cannot be written).";

/// Arguments of `rget release`.
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// The directory holding the release files
    pub dir: PathBuf,
    /// The minisign secret key to sign with (from `rget keygen` or `minisign -G`); optional with
    /// --sigsum-policy (it then adds SHA256SUMS.minisig)
    #[arg(
        short = 's',
        long,
        value_name = "SECRET-KEY",
        required_unless_present = "sigsum_policy"
    )]
    pub key: Option<PathBuf>,
    /// Where DIR's files will be published (https; a missing final '/' is added). The log records
    /// the SHA256SUMS as published at BASE-URL/SHA256SUMS
    #[arg(long, value_name = "BASE-URL")]
    pub url: String,
    /// The log's URL prefix. Default: the first log of the policy
    #[arg(long, value_name = "URL")]
    pub log: Option<String>,
    /// Record this SHA256SUMS although the log already holds a different one for the same URL
    /// (a release changed in place); clients that look the URL up will then refuse it (exit 6)
    /// and must be given the new SHA256SUMS.tlog-proof
    #[arg(long)]
    pub allow_second_record: bool,
    /// Print what was released as one JSON object on standard output
    #[arg(long)]
    pub json: bool,
    /// Where the signing key's password comes from.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// The Sigsum submitter options (`--sigsum-…`).
    #[command(flatten)]
    pub sigsum: SigsumArgs,
    /// The policy, `--allow-http` and network options.
    #[command(flatten)]
    pub trust: LogTrustArgs,
}

/// The files a release writes, in the order they are renamed into place: the list last, so that a
/// client that reads during the renames finds its signature and proof already there.
const SIG_FILE: &str = "SHA256SUMS.minisig";
const PROOF_FILE: &str = "SHA256SUMS.tlog-proof";
const SIGSUM_PROOF_FILE: &str = "SHA256SUMS.proof";

/// What logged the release.
enum LoggedBy {
    /// A record in an rget log (`SHA256SUMS.tlog-proof`).
    Tlog(Submitted),
    /// A leaf in a Sigsum log (`SHA256SUMS.proof`).
    Sigsum(sigsum_submit::Submitted),
}

/// Everything a release produced, for the report.
struct Released {
    sums_url: CanonicalUrl,
    entries: Vec<Entry>,
    sums: String,
    /// The minisign signature, when `--key` was given.
    signed: Option<minisig::Verified>,
    logged: LoggedBy,
    written: Vec<PathBuf>,
    /// Names that do not carry the release's version (Sigsum only: see [`unversioned_names`]).
    warnings: Vec<String>,
}

/// Runs `rget release`.
pub fn run(a: Args) -> CliResult {
    let sums_url = sums_url(&a.url)?;
    require_dir(&a.dir)?;
    // Everything local is checked before the password is asked for and the log is contacted.
    let sigsum_keys = if a.sigsum.enabled() {
        Some(a.sigsum.keys()?)
    } else {
        None
    };
    let ctx = match &sigsum_keys {
        Some(_) => a.sigsum.context(&a.trust)?,
        None => a.trust.context()?,
    };
    let key = match &a.key {
        Some(k) => Some(load_secret_key(k, &a.password)?),
        None => None,
    };
    let dirs = std::slice::from_ref(&a.dir);
    let (entries, sums, hashed) = listing_held(dirs, &[], DirRules::Release, true)?;
    let signature = match &key {
        Some(key) => {
            let signature =
                sign_sums(key, &sums, sums_url.as_str()).map_err(Failure::verification)?;
            let signed = verify_own(key, &sums, &signature, sums_url.as_str())?;
            Some((signature, signed))
        }
        None => None,
    };
    let warnings = match sigsum_keys {
        Some(_) => {
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            let warnings = unversioned_names(sums_url.as_str(), &names);
            for w in &warnings {
                let line = rget_core::escape::for_terminal(w);
                let _ = writeln!(std::io::stderr(), "rget: warning: {line}");
            }
            warnings
        }
        None => Vec::new(),
    };
    // A record (or leaf) cannot be taken back: everything that can fail here fails before it is made.
    let proof_name = match sigsum_keys {
        Some(_) => SIGSUM_PROOF_FILE,
        None => PROOF_FILE,
    };
    let sig = signature.as_ref().map(|(s, _)| s.as_str());
    let staged = stage_release(&a.dir, &sums, sig, proof_name)?;
    let logged = match &sigsum_keys {
        // A Sigsum leaf names no URL: there is no record of this URL to look up.
        Some(keys) => {
            unchanged(&a.dir, &entries, &hashed)?;
            LoggedBy::Sigsum(submit_sums(&ctx, keys, sums.as_bytes())?)
        }
        None => {
            let log_url = log_prefix(&ctx, a.log.as_deref())?;
            refuse_second_record(
                &ctx,
                &log_url,
                sums_url.as_str(),
                &sums,
                a.allow_second_record,
            )?;
            unchanged(&a.dir, &entries, &hashed)?;
            LoggedBy::Tlog(submit_verified(
                &ctx,
                Some(&log_url),
                &sums_url,
                sums.as_bytes(),
            )?)
        }
    };
    let written = write_release(&a.dir, staged, &logged)?;
    let released = Released {
        sums_url,
        entries,
        sums,
        signed: signature.map(|(_, v)| v),
        logged,
        written,
        warnings,
    };
    if a.json {
        json::print(&json(&a, &released))
    } else {
        summary(&a, &released);
        Ok(())
    }
}

/// `BASE-URL/SHA256SUMS`, canonical. A base without a final `/` gets one: `…/v1.2` means the
/// directory `v1.2`, never a file of that name, and the log needs one exact URL.
fn sums_url(base: &str) -> CliResult<CanonicalUrl> {
    let base = if base.ends_with('/') {
        base.to_owned()
    } else {
        format!("{base}/")
    };
    let base = CanonicalUrl::parse(&base).map_err(|e| Failure::usage(format!("--url: {e}")))?;
    Ok(base.sums_url())
}

fn require_dir(dir: &Path) -> CliResult {
    let meta = std::fs::metadata(dir)
        .map_err(|e| Failure::local_io(format!("{}: {}", dir.display(), io_reason(&e))))?;
    if meta.is_dir() {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "{} is not a directory",
            dir.display()
        )))
    }
}

/// Checks the new signature with the verifier rget's clients and the bootstrap use, so a release
/// never goes out with a signature they would refuse (a damaged key, a format difference).
fn verify_own(
    key: &SigningKey,
    sums: &str,
    signature: &str,
    sums_url: &str,
) -> CliResult<minisig::Verified> {
    let failed = |e: &dyn std::fmt::Display| {
        Failure::verification(format!("the new signature does not verify: {e}"))
    };
    let sig = minisig::Signature::parse(signature).map_err(|e| failed(&e))?;
    let verified = minisig::verify(&key.core_pk, &sig, sums.as_bytes()).map_err(|e| failed(&e))?;
    let comment = trusted_comment::parse(&verified.trusted_comment).map_err(|e| failed(&e))?;
    if comment.file != Some(SUMS_FILE) {
        return Err(failed(&"its trusted comment does not name SHA256SUMS"));
    }
    match trusted_comment::check_url(&verified.trusted_comment, sums_url) {
        Ok(UrlBinding::Bound(_)) => Ok(verified),
        Ok(UrlBinding::Unbound) => Err(failed(&"its trusted comment names no URL")),
        Err(e) => Err(failed(&e)),
    }
}

/// The files (the signature only with `--key`), written and fsynced under temporary names in `dir`
/// (the proof as a placeholder until the log answers), in the order they are renamed: the list
/// last, so that a client reading during the renames finds its signature and proof already there.
/// Dropped, they leave nothing.
struct StagedRelease {
    files: durable::Staged,
    proof: usize,
    paths: Vec<PathBuf>,
}

/// Makes every write of the release before anything is logged: a read-only or full `dir`, or a
/// directory or special file where one of the files goes, is refused here. `proof_name` is
/// `SHA256SUMS.tlog-proof` or, for a Sigsum log, `SHA256SUMS.proof`.
fn stage_release(
    dir: &Path,
    sums: &str,
    sig: Option<&str>,
    proof_name: &str,
) -> CliResult<StagedRelease> {
    let mut files = durable::Staged::default();
    let mut proof = 0;
    let sig = sig.map(|s| (SIG_FILE, s));
    for (name, bytes) in sig.into_iter().chain([(proof_name, ""), (SUMS_FILE, sums)]) {
        let path = dir.join(name);
        let i = files.add(&path, bytes.as_bytes(), 0o644).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                // The message names the file and what is there.
                Failure::usage(format!("{e}; move it out of {}", dir.display()))
            } else {
                Failure::local_io(format!(
                    "cannot write {}: {}",
                    path.display(),
                    io_reason(&e)
                ))
            }
        })?;
        if name == proof_name {
            proof = i;
        }
    }
    let mut paths = vec![dir.join(SUMS_FILE)];
    if sig.is_some() {
        paths.push(dir.join(SIG_FILE));
    }
    paths.push(dir.join(proof_name));
    Ok(StagedRelease {
        files,
        proof,
        paths,
    })
}

/// Refuses to make a second, different record for `sums_url`: the log's lookup (a hint, which is
/// enough here: this guards the publisher against a mistake, and clients prove what they use)
/// lists every record of the URL. The same `SHA256SUMS` again is fine: the log answers with the
/// record it has.
fn refuse_second_record(
    ctx: &crate::client::context::Context,
    log_url: &str,
    sums_url: &str,
    sums: &str,
    allowed: bool,
) -> CliResult {
    let ours = sha256(sums.as_bytes());
    let records = LogClient::new(log_url, &ctx.fetch)
        .lookup(sums_url)
        .map_err(|e| client(e.into()))?;
    let others: Vec<String> = records
        .iter()
        .filter(|(_, digest)| *digest != ours)
        .map(|(index, digest)| format!("index {index} (sha256 {digest})"))
        .collect();
    if others.is_empty() || allowed {
        return Ok(());
    }
    Err(Failure::usage(format!(
        "{log_url} already holds a different SHA256SUMS for {sums_url}: {}; a second record makes \
         clients that look the URL up refuse it, so nothing was logged: release under a new URL, \
         or pass --allow-second-record",
        others.join(", ")
    )))
}

/// Refuses the release if anything listed changed since it was hashed, or `dir` gained or lost a
/// file: what is logged must be exactly what is published.
fn unchanged(dir: &Path, entries: &[Entry], hashed: &[Hashed]) -> CliResult {
    for h in hashed {
        if let Some(why) = h.changed() {
            return Err(Failure::verification(format!(
                "{} changed while it was being released: {why}; nothing was logged (run rget \
                 release again)",
                h.path().display()
            )));
        }
    }
    let now = listed_names(std::slice::from_ref(&dir.to_path_buf()), DirRules::Release)?;
    let listed: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    if now != listed {
        return Err(Failure::verification(format!(
            "{} gained or lost files while it was being released (listed: {}; now: {}); nothing \
             was logged (run rget release again)",
            dir.display(),
            listed.join(", "),
            now.join(", ")
        )));
    }
    Ok(())
}

/// Puts the log's proof in its place and renames the files into `dir`.
fn write_release(dir: &Path, staged: StagedRelease, logged: &LoggedBy) -> CliResult<Vec<PathBuf>> {
    let StagedRelease {
        mut files,
        proof,
        paths,
    } = staged;
    let (what, index, proof_bytes) = match logged {
        LoggedBy::Tlog(s) => ("the log holds the record", s.logged.index, &s.proof[..]),
        LoggedBy::Sigsum(s) => (
            "the Sigsum log holds the leaf",
            s.verified.leaf_index,
            s.proof.as_bytes(),
        ),
    };
    let failed = |e: std::io::Error| {
        Failure::local_io(format!(
            "{what} (index {index}), but writing into {} failed: {}; run rget release again to \
             write the files",
            dir.display(),
            io_reason(&e)
        ))
    };
    files.rewrite(proof, proof_bytes).map_err(failed)?;
    files.commit().map_err(failed)?;
    Ok(paths)
}

/// The warnings for a release logged in Sigsum: a Sigsum leaf names no URL, so the only thing that
/// keeps this release's `SHA256SUMS` and proof from being served under another release's URL (and
/// an older release's under this one) is the name a user asks for, which the served `SHA256SUMS`
/// must list. A name that carries the release's version (the last segment of the release URL,
/// without a leading `v`: `…/v1.2/` is `1.2`) cannot be listed by another version's list; one
/// that does not can be. Empty when every name carries it.
pub fn unversioned_names(sums_url: &str, names: &[&str]) -> Vec<String> {
    let dir = sums_url.strip_suffix(SUMS_FILE).unwrap_or(sums_url);
    let segment = dir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let version = segment
        .strip_prefix(['v', 'V'])
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(segment);
    if !version.contains(|c: char| c.is_ascii_digit()) {
        return vec![format!(
            "the release URL {dir} names no version: a Sigsum leaf binds no URL, so an older release's SHA256SUMS and proof could be served here for any name they list; publish each release under a versioned directory and give its files versioned names"
        )];
    }
    names
        .iter()
        .filter(|n| !n.contains(version))
        .map(|n| {
            format!(
                "{n:?} does not carry the release's version {version:?}: a Sigsum leaf binds no URL, so another release's SHA256SUMS and proof listing {n:?} would verify for it too; put the version in the file name"
            )
        })
        .collect()
}

/// The log's checkpoint, the record's (or leaf's) index and the memory outcome, whichever kind of log.
fn logged_parts(r: &Released) -> (&VerifiedCheckpoint, u64, String) {
    match &r.logged {
        LoggedBy::Tlog(s) => (&s.logged.checkpoint, s.logged.index, s.memory.to_string()),
        LoggedBy::Sigsum(s) => (
            &s.verified.checkpoint,
            s.verified.leaf_index,
            s.memory.to_string(),
        ),
    }
}

/// The human summary, on standard error.
fn summary(a: &Args, r: &Released) {
    let (cp, index, memory) = logged_parts(r);
    let written: Vec<String> = r.written.iter().map(|p| p.display().to_string()).collect();
    let base = r.sums_url.dir();
    let mut s = format!(
        "rget: released {} files from {} as {}\n",
        r.entries.len(),
        a.dir.display(),
        r.sums_url
    );
    if let Some(signed) = &r.signed {
        s.push_str(&format!(
            "  signed     by key ID {} ({})\n",
            signed.key_id,
            signed.trusted_comment.replace('\t', " ")
        ));
    }
    match &r.logged {
        LoggedBy::Tlog(_) => s.push_str(&format!(
            "  logged     {} index {index} under checkpoint size {}\n",
            cp.checkpoint.origin, cp.checkpoint.size
        )),
        LoggedBy::Sigsum(x) => s.push_str(&format!(
            "  logged     Sigsum log {} ({}) leaf index {index} in tree size {}, the leaf signed by ssh-ed25519 key {}\n",
            cp.checkpoint.origin,
            x.log_url,
            cp.checkpoint.size,
            rget_core::sigsum::key_hash(&x.verified.signer)
        )),
    }
    s.push_str(&format!(
        "  cosigned   {}\n",
        cosigned_by(cp, "the policy's quorum")
    ));
    s.push_str(&format!("  seen       {memory}\n"));
    s.push_str(&format!("  wrote      {}\n", written.join(", ")));
    s.push_str(&format!(
        "  next       upload everything in {} to {base}\n",
        a.dir.display()
    ));
    // Spelled out for the terminal, line by line (the URL is canonical, the rest is this host's).
    let s = rget_core::escape::lines_for_terminal(&s.lines().collect::<Vec<_>>());
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// The `--json` report: one object, in the style of `rget get --json`.
#[derive(Serialize)]
struct Report<'a> {
    released: bool,
    dir: String,
    sums_url: &'a str,
    sums_sha256: String,
    files: Vec<FileJson<'a>>,
    /// `null` without `--key` (a release logged in Sigsum only).
    signature: Option<SignatureJson<'a>>,
    log: Logged<'a, Cosigner<'a>>,
    /// The Sigsum log, with `--sigsum-…`; `null` otherwise.
    sigsum: Option<SigsumJson<'a>>,
    warnings: &'a [String],
    written: Vec<String>,
}

#[derive(Serialize)]
struct FileJson<'a> {
    name: &'a str,
    sha256: String,
}

#[derive(Serialize)]
struct SignatureJson<'a> {
    key_id: &'a str,
    trusted_comment: &'a str,
}

/// `"sigsum"`: the log (its key hash and URL), the leaf, the tree it is in, who signed the leaf and
/// the witnesses that cosigned the tree head.
#[derive(Serialize)]
struct SigsumJson<'a> {
    log_key_hash: &'a str,
    log_url: &'a str,
    leaf_index: u64,
    tree_size: u64,
    signer_key_hash: String,
    witnesses: Vec<Cosigner<'a>>,
}

fn json<'a>(a: &Args, r: &'a Released) -> Report<'a> {
    let (cp, index, memory) = logged_parts(r);
    Report {
        released: true,
        dir: a.dir.display().to_string(),
        sums_url: r.sums_url.as_str(),
        sums_sha256: sha256(r.sums.as_bytes()).to_hex(),
        files: r
            .entries
            .iter()
            .map(|e| FileJson {
                name: &e.name,
                sha256: e.digest.to_hex(),
            })
            .collect(),
        signature: r.signed.as_ref().map(|v| SignatureJson {
            key_id: &v.key_id,
            trusted_comment: &v.trusted_comment,
        }),
        log: Logged::new(cp, index, json::cosigners(cp), &memory),
        sigsum: match &r.logged {
            LoggedBy::Sigsum(s) => Some(SigsumJson {
                log_key_hash: cp
                    .checkpoint
                    .origin
                    .strip_prefix(rget_core::sigsum::ORIGIN_PREFIX)
                    .unwrap_or_default(),
                log_url: &s.log_url,
                leaf_index: index,
                tree_size: cp.checkpoint.size,
                signer_key_hash: rget_core::sigsum::key_hash(&s.verified.signer).to_hex(),
                witnesses: json::cosigners(cp),
            }),
            LoggedBy::Tlog(_) => None,
        },
        warnings: &r.warnings,
        written: r.written.iter().map(|p| p.display().to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exit::ExitCode;

    #[test]
    fn names_without_the_version_are_named() {
        let url = "https://example.org/rel/v1.2/SHA256SUMS";
        assert!(unversioned_names(url, &["tool-1.2.tar.gz", "tool_1.2_amd64.deb"]).is_empty());
        let w = unversioned_names(url, &["tool-1.2.tar.gz", "install.sh"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("\"install.sh\" does not carry the release's version \"1.2\""));
        assert!(
            unversioned_names("https://e.org/rget/0.3.0/SHA256SUMS", &["rget-0.3.0-x"]).is_empty()
        );
        let w = unversioned_names("https://e.org/latest/SHA256SUMS", &["a"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("names no version"), "{w:?}");
    }

    #[test]
    fn base_urls_get_one_final_slash_and_must_be_https() {
        assert_eq!(
            sums_url("https://example.org/rel/v1.2").unwrap().as_str(),
            "https://example.org/rel/v1.2/SHA256SUMS"
        );
        assert_eq!(
            sums_url("https://example.org/rel/v1.2/").unwrap().as_str(),
            "https://example.org/rel/v1.2/SHA256SUMS"
        );
        for bad in [
            "http://example.org/rel/",
            "https://example.org/rel/?x=1",
            "example.org/rel/",
            "https://example.org/rel/#f",
        ] {
            let e = sums_url(bad).unwrap_err();
            assert_eq!(e.exit_code(), ExitCode::Usage, "{bad}: {e}");
            assert!(e.message().starts_with("--url: "), "{e}");
        }
    }

    #[test]
    fn signatures_verify_and_name_the_file() {
        let t = tempfile::tempdir().unwrap();
        let pair = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        let path = t.path().join("k");
        std::fs::write(&path, pair.sk.to_box(None).unwrap().into_string()).unwrap();
        let key = load_secret_key(
            &path,
            &PasswordArgs {
                password_file: None,
            },
        )
        .unwrap();
        let sums = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a\n";
        let url = "https://example.org/rel/v1.2/SHA256SUMS";
        let sig = sign_sums(&key, sums, url).unwrap();
        assert!(sig.starts_with("untrusted comment: signature from minisign secret key\n"));
        let v = verify_own(&key, sums, &sig, url).unwrap();
        assert!(
            v.trusted_comment
                .ends_with(&format!("\tfile:SHA256SUMS\thashed\turl:{url}")),
            "{v:?}"
        );
        assert_eq!(
            verify_own(&key, "other", &sig, url)
                .unwrap_err()
                .exit_code(),
            ExitCode::VerificationFailed
        );
        let other = verify_own(&key, sums, &sig, "https://example.org/rel/v1.3/SHA256SUMS");
        assert_eq!(other.unwrap_err().exit_code(), ExitCode::VerificationFailed);
    }
}

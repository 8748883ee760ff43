//! `rget sigsum`: work with Sigsum proofs. `rget sigsum verify` checks one offline, as Sigsum's
//! `sigsum-verify` does (same options, same inputs), with rget's exit codes and one-line errors.

use super::exit::{CliResult, Failure, io_reason};
use super::json::{self, Cosigner};
use super::summary::cosigned_by;
use rget_core::digest::{Hash, sha256_reader};
use rget_core::openssh::{self, MAX_KEY_FILE};
use rget_core::policy::Policy;
use rget_core::sigsum::policy::{MAX_SIGSUM_POLICY_SIZE, parse_any};
use rget_core::sigsum::proof::{MAX_PROOF_SIZE, SigsumProof};
use rget_core::sigsum::verify::{VerifiedProof, verify};
use rget_core::sigsum::{ORIGIN_PREFIX, builtin, key_hash};
use serde::Serialize;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

const ABOUT: &str = "Verify Sigsum proofs offline; print the built-in Sigsum policies";

const LONG_ABOUT: &str = "\
Work with Sigsum proofs: signed checksums logged in public Sigsum transparency logs, whose tree heads \
are cosigned by independent witnesses. A Sigsum proof (the file sigsum-submit writes, e.g. \
SHA256SUMS.proof) shows that the holder of a submitter key signed SHA-256 of some data and that a log \
of a policy recorded that signature under a tree head the policy's witnesses cosigned.";

const AFTER_HELP: &str = "\
Examples:
  rget sigsum verify -k sigsum.key.pub -P sigsum-generic-2025-1 \\
      SHA256SUMS.proof < SHA256SUMS
  rget sigsum policy sigsum-generic-2025-1 > policy
  rget sigsum verify --help

Sigsum elsewhere in rget: 'rget get --policy sigsum-generic-2025-1 --key
release.pub URL' (downloads proved by SHA256SUMS.proof), 'rget release
--sigsum-...' and 'rget submit --sigsum-...' (publishing), 'rget audit --sigsum'
(monitoring a key), 'rget log init --sigsum' (a Sigsum log of one's own).

Exit codes: 0 verified, 1 verification failed, 2 usage, 3 malformed input,
7 local I/O.";

/// Arguments of `rget sigsum`.
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    Verify(VerifyArgs),
    Policy(PolicyArgs),
}

/// Arguments of `rget sigsum policy`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Print a built-in Sigsum policy (to pin it, or to start a policy file from)",
    after_help = "Examples:
  rget sigsum policy sigsum-generic-2025-1 > pinned/policy
  rget sigsum policy --list"
)]
struct PolicyArgs {
    /// The built-in policy: sigsum-generic-2025-1 or sigsum-test-2025-3
    #[arg(value_name = "NAME", required_unless_present = "list")]
    name: Option<String>,
    /// Print the names of the built-in policies
    #[arg(long)]
    list: bool,
}

const VERIFY_LONG_ABOUT: &str = "\
Verify a Sigsum proof for the data on standard input, offline: a drop-in for Sigsum's sigsum-verify. \
It succeeds only when all of these hold:
  1. the proof's leaf is signed by one of the keys of KEYFILE, over SHA-256 of SHA-256 of the data
     (with --raw-hash, over SHA-256 of the 32 bytes read);
  2. the tree head is signed by a log of the policy;
  3. the tree head's witness cosignatures meet the policy's quorum (cosignatures by witnesses the
     policy does not name are ignored; an invalid one by a witness it names fails the proof);
  4. the inclusion proof ties the leaf to that tree head.
Anything else is one line on standard error naming what failed. Standard input is hashed as it \
streams in, in constant memory, and only after the keys, the policy and the proof have parsed.

KEYFILE holds OpenSSH public keys, one 'ssh-ed25519 <base64> [comment]' per line ('#' comments and \
blank lines allowed), as ssh-keygen writes them. A line may start with sigsum-policy=\"NAME\" to name \
a built-in policy, used when neither -p nor -P is given.

The policy is a Sigsum policy file (-p: 'log <hex key> [url]', 'witness <name> <hex key> [url]', \
'group <name> all|any|<k> <members>', 'quorum <name>|none'; a C2SP tlog-policy file naming Sigsum \
logs by their verifier keys works too) or a built-in policy (-P): sigsum-generic-2025-1, the \
production policy of the Sigsum project (logs seasalp.glasklar.is and ginkgo.tlog.mullvad.net, 2 of \
the witnesses witness.glasklar.is, witness.mullvad.net, tillitis.se/tillitis-witness-1), and \
sigsum-test-2025-3, the Sigsum test logs (protects nothing; for trying things out).

Proof files of version 2 (what sigsum-submit writes today) and version 1 are read. Parsing is \
strict: lowercase hex of exact length, lines in order, single blank lines between the blocks.

A Sigsum leaf binds the data's SHA-256 and the submitter key, nothing else: not the file's name, \
URL or version. Which data a proof is checked against is up to the caller.";

const VERIFY_AFTER_HELP: &str = "\
Examples:
  rget sigsum verify -k sigsum.key.pub -P sigsum-generic-2025-1 \\
      SHA256SUMS.proof < SHA256SUMS
  rget sigsum verify -k keys.pub -p policy.txt app.tar.gz.proof < app.tar.gz
  sha256sum app.tar.gz | cut -d' ' -f1 | rget sigsum verify --raw-hash \\
      -k keys.pub -P sigsum-test-2025-3 app.proof
  rget sigsum verify --json -k sigsum.key.pub -P sigsum-generic-2025-1 \\
      SHA256SUMS.proof < SHA256SUMS

Exit codes: 0 verified, 1 the proof does not verify (other data, unknown
signer, bad signature, log not in the policy, quorum not met, not included),
2 usage, 3 a key file, policy, proof or --raw-hash input that does not parse,
7 a file cannot be read.";

/// Arguments of `rget sigsum verify`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Verify a Sigsum proof for the data on standard input (like sigsum-verify)",
    long_about = VERIFY_LONG_ABOUT,
    after_help = VERIFY_AFTER_HELP
)]
struct VerifyArgs {
    /// Submitter public keys: OpenSSH ssh-ed25519 lines, one per key
    #[arg(short = 'k', long = "key", value_name = "KEYFILE")]
    key: PathBuf,

    /// A Sigsum policy file (or a C2SP tlog-policy file)
    #[arg(short = 'p', long = "policy", value_name = "POLICYFILE")]
    policy: Option<PathBuf>,

    /// A built-in policy: sigsum-generic-2025-1 or sigsum-test-2025-3
    #[arg(
        short = 'P',
        long = "named-policy",
        value_name = "NAME",
        conflicts_with = "policy"
    )]
    named_policy: Option<String>,

    /// Standard input is the 32-byte message itself (raw, or as 64 hex digits), not data to hash
    #[arg(long)]
    raw_hash: bool,

    /// On success, print one JSON object (log, leaf index, tree size, cosigning witnesses)
    #[arg(long)]
    json: bool,

    /// The Sigsum proof file
    #[arg(value_name = "PROOF")]
    proof: PathBuf,
}

/// Runs `rget sigsum`.
pub fn run(args: Args) -> CliResult {
    match args.command {
        Sub::Verify(a) => verify_cmd(a),
        Sub::Policy(a) => policy_cmd(a),
    }
}

fn policy_cmd(a: PolicyArgs) -> CliResult {
    let text = match (&a.name, a.list) {
        (_, true) => format!(
            "{}\n",
            builtin::BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join("\n")
        ),
        (Some(name), false) => builtin::text(name)
            .ok_or_else(|| {
                Failure::usage(format!(
                    "unknown policy name {name:?}; built-in: {}",
                    builtin::names()
                ))
            })?
            .to_owned(),
        (None, false) => return Err(Failure::usage("give a policy NAME or --list")),
    };
    super::stdout::print(&text)
}

/// Reads `path` whole, refusing anything over `max` bytes (it cannot be what `what` names).
fn read_input(path: &Path, max: usize, what: &str) -> CliResult<Vec<u8>> {
    let io_err = |e: io::Error| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e)));
    let mut bytes = Vec::new();
    // u64 from usize never truncates on the platforms rget supports (64-bit Unix).
    File::open(path)
        .map_err(io_err)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > max {
        return Err(Failure::malformed(format!(
            "{}: larger than {max} bytes, not {what}",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The policy to verify under, and how to call it in reports.
fn select_policy(a: &VerifyArgs, from_keys: Option<&str>) -> CliResult<(Policy, String)> {
    if let Some(path) = &a.policy {
        let bytes = read_input(path, MAX_SIGSUM_POLICY_SIZE, "a policy")?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Failure::malformed(format!("{}: policy is not UTF-8 text", path.display()))
        })?;
        let policy =
            parse_any(text).map_err(|e| Failure::malformed(format!("{}: {e}", path.display())))?;
        return Ok((policy, path.display().to_string()));
    }
    let (name, origin) = match (&a.named_policy, from_keys) {
        (Some(n), _) => (n.as_str(), "-P"),
        (None, Some(n)) => (n, "the key file's sigsum-policy option"),
        (None, None) => {
            return Err(Failure::usage(format!(
                "no policy: give -p POLICYFILE or -P NAME (built-in: {})",
                builtin::names()
            )));
        }
    };
    match builtin::policy(name) {
        Some(Ok(p)) => Ok((p, name.to_owned())),
        Some(Err(e)) => Err(Failure::malformed(format!("built-in policy {name}: {e}"))),
        None => Err(Failure::usage(format!(
            "unknown policy name {name:?} (from {origin}); built-in: {}",
            builtin::names()
        ))),
    }
}

/// The message: SHA-256 of standard input, streamed; or with `--raw-hash`, the 32 bytes themselves
/// (raw, or 64 hex digits with surrounding white space, as sigsum-verify reads them).
fn read_message(raw: bool) -> CliResult<Hash> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(Failure::usage(
            "standard input is a terminal: give the data on standard input (... PROOF < FILE)",
        ));
    }
    let io_err =
        |e: io::Error| Failure::local_io(format!("reading standard input: {}", io_reason(&e)));
    if !raw {
        let (digest, _) = sha256_reader(stdin.lock()).map_err(io_err)?;
        return Ok(digest);
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(201)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(Hash(raw));
    }
    let hex_text = std::str::from_utf8(&bytes).unwrap_or_default().trim_ascii();
    match hex::decode(hex_text)
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
    {
        Some(m) if hex_text.len() == 64 => Ok(Hash(m)),
        _ => Err(Failure::malformed(format!(
            "--raw-hash: standard input is {}{} bytes, want exactly 32 bytes or 64 hex digits",
            bytes.len().min(200),
            if bytes.len() > 200 { "+" } else { "" }
        ))),
    }
}

fn verify_cmd(a: VerifyArgs) -> CliResult {
    let keys_bytes = read_input(&a.key, MAX_KEY_FILE, "a public key file")?;
    let keys = openssh::parse_public_keys(&keys_bytes)
        .map_err(|e| Failure::malformed(format!("{}: {e}", a.key.display())))?;
    let (policy, policy_name) = select_policy(&a, keys.policy.as_deref())?;
    let proof_bytes = read_input(&a.proof, MAX_PROOF_SIZE, "a Sigsum proof")?;
    let proof = SigsumProof::parse(&proof_bytes)
        .map_err(|e| Failure::malformed(format!("{}: {e}", a.proof.display())))?;
    // Only now, with everything else known to parse, is the data read: a typo in a file name must
    // not cost a pass over gigabytes first.
    let message = read_message(a.raw_hash)?;
    let verified = verify(&message, &proof, &keys.keys, &policy)
        .map_err(|e| Failure::verification(format!("{}: {e}", a.proof.display())))?;
    if a.json {
        json::print(&json(&verified, &message, &policy_name))?;
    } else {
        summary(&a.proof, &verified, &message, &policy_name, a.raw_hash);
    }
    Ok(())
}

/// The log's name in reports: its URL from the policy if it has one, else its origin.
fn log_label(v: &VerifiedProof) -> String {
    let cp = &v.checkpoint;
    match &cp.log.url {
        Some(url) => format!("{} ({url})", cp.checkpoint.origin),
        None => cp.checkpoint.origin.clone(),
    }
}

/// The human summary, on standard error.
fn summary(proof: &Path, v: &VerifiedProof, message: &Hash, policy: &str, raw: bool) {
    let cp = &v.checkpoint;
    let mut s = format!("rget: verified Sigsum proof {}\n", proof.display());
    if raw {
        s.push_str(&format!("  message    {message} (--raw-hash)\n"));
    } else {
        s.push_str(&format!("  sha256     {message}\n"));
    }
    s.push_str(&format!(
        "  signed by  submitter key hash {}\n",
        key_hash(&v.signer)
    ));
    s.push_str(&format!(
        "  logged     leaf index {} in tree size {} of log {}\n",
        v.leaf_index,
        cp.checkpoint.size,
        log_label(v)
    ));
    s.push_str(&format!(
        "  cosigned   {} (policy {policy})\n",
        cosigned_by(cp, "the policy's quorum")
    ));
    let _ = io::stderr().write_all(s.as_bytes());
}

/// The `--json` report of `rget sigsum verify`.
#[derive(Serialize)]
struct Report<'a> {
    verified: bool,
    message: String,
    signer_key_hash: String,
    policy: &'a str,
    log: LogReport<'a>,
    leaf_index: u64,
    tree_size: u64,
    root_hash: String,
    witnesses: Vec<Cosigner<'a>>,
}

#[derive(Serialize)]
struct LogReport<'a> {
    key_hash: &'a str,
    origin: &'a str,
    url: Option<&'a str>,
}

fn json<'a>(v: &'a VerifiedProof, message: &Hash, policy: &'a str) -> Report<'a> {
    let cp = &v.checkpoint;
    // A Sigsum log's origin is its key hash under a fixed prefix (that is how it was looked up).
    let log_key_hash = cp
        .checkpoint
        .origin
        .strip_prefix(ORIGIN_PREFIX)
        .unwrap_or_default();
    Report {
        verified: true,
        message: message.to_hex(),
        signer_key_hash: key_hash(&v.signer).to_hex(),
        policy,
        log: LogReport {
            key_hash: log_key_hash,
            origin: &cp.checkpoint.origin,
            url: cp.log.url.as_deref(),
        },
        leaf_index: v.leaf_index,
        tree_size: cp.checkpoint.size,
        root_hash: cp.checkpoint.root.to_hex(),
        witnesses: json::cosigners(cp),
    }
}

//! Why a file was not handed over: a [`ClientError`], one line that names the problem, holding the
//! typed cause; [`ClientError::class`] derives from the cause the [`Class`] of failure the CLI turns
//! into an exit code. Every cause is matched by name (no wildcard arm), so a new kind of failure
//! cannot fall silently into the wrong exit code.

use super::audit::AuditError;
use super::destination::DestinationError;
use super::sigsum::SigsumClientError;
use super::state::StateError;
use super::trust::TrustError;
use super::url_records::Replayed;
use rget_core::digest::Hash;
use rget_core::merkle::MerkleError;
use rget_core::minisig::MinisigError;
use rget_core::pins::PinsError;
use rget_core::policy::PolicyError;
use rget_core::record::RecordError;
use rget_core::release::ReleaseError;
use rget_core::sums::{NameError, SumsError};
use rget_core::tile::TileError;
use rget_core::tlog_proof::TlogProofError;
use rget_core::trusted_comment::CommentError;
use rget_core::url::CanonicalUrl;
use rget_core::verify::VerifyError;
use rget_fetch::{FetchError, Kind};
use std::path::PathBuf;

/// What kind of failure, so the CLI can give each its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A digest, signature, proof or policy check did not hold.
    Verification,
    /// A file or server answer that does not parse.
    Malformed,
    /// A server could not be reached or answered with an HTTP error (exit code 4).
    Network,
    /// A file, a listing or a record that does not exist (exit code 5).
    NotFound,
    /// A log rolled back or forked.
    TrustAnomaly,
    /// This host's files or directories could not be read or written (exit code 7).
    LocalIo,
    /// An argument or configuration the user must fix (exit code 2).
    Usage,
}

/// Why a file was not handed over: one line that names the problem, and its typed cause.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A download failed (network, HTTP status, size limit, insecure redirect): its class follows
    /// the fetch error's kind.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// This host's memory of the logs: a fork, a rollback, or a state file that cannot be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The trust configuration (policy, publisher keys) cannot be found, read or parsed.
    #[error(transparent)]
    Trust(Box<TrustError>),
    /// The output file cannot be created or replaced where asked.
    #[error(transparent)]
    Destination(#[from] DestinationError),
    /// Auditing a log's entries failed.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// Another `SHA256SUMS` recorded under the URL being verified.
    #[error(transparent)]
    Replayed(#[from] Box<Replayed>),
    /// The Sigsum path: `SHA256SUMS.proof`, publishing into and monitoring Sigsum logs.
    #[error(transparent)]
    Sigsum(#[from] SigsumClientError),

    // ---- the URL given
    /// Its last segment names no file that a `SHA256SUMS` could list.
    #[error("{url}: its file name cannot be listed in a SHA256SUMS: {err}")]
    Unlistable {
        /// The URL as given.
        url: String,
        /// Why its last segment is not a listable name.
        err: NameError,
    },
    /// No `--sums` was given and the URL has no `/` before its file name, so no directory in
    /// which to find a `SHA256SUMS`.
    #[error("{url}: names no file")]
    NoFile {
        /// The URL as given.
        url: String,
    },
    /// `--allow-http` can let the file itself come over http, never the logged `SHA256SUMS`.
    #[error(
        "{0} is not https, and logs record SHA256SUMS files only at https URLs: give --sums the https URL of this SHA256SUMS (the file itself may then come over http with --allow-http), or publish the release over https"
    )]
    SumsNotHttps(String),
    /// A `SHA256SUMS` URL that has no canonical spelling, so no record.
    #[error(transparent)]
    SumsUrl(RecordError),

    // ---- the SHA256SUMS, its record and proof
    /// The `SHA256SUMS` fetched does not parse.
    #[error("{url}: {err}")]
    Sums {
        /// Where the `SHA256SUMS` was fetched.
        url: CanonicalUrl,
        /// The line or format at fault.
        err: SumsError,
    },
    /// Exit code 5 (not found), as documented for a name absent from `SHA256SUMS`.
    #[error("{name:?} is not listed in {sums_url}")]
    NotListed {
        /// The file name looked up.
        name: String,
        /// The `SHA256SUMS` that does not list it.
        sums_url: CanonicalUrl,
    },
    /// The record of this URL and `SHA256SUMS` cannot be built (e.g. it would exceed the largest
    /// record a log accepts).
    #[error(transparent)]
    Record(RecordError),
    /// The `SHA256SUMS.tlog-proof` beside the `SHA256SUMS` does not parse.
    #[error("{sums_url}.tlog-proof: {err}")]
    ProofFile {
        /// The `SHA256SUMS` the proof is for.
        sums_url: CanonicalUrl,
        /// Where the proof file is malformed.
        err: TlogProofError,
    },
    /// The proof file's checks (`core::verify`): a proof file that does not parse is malformed and
    /// speaks for itself; every other failure names the `SHA256SUMS`.
    #[error("{}", verify_message(sums_url, err))]
    Verify {
        /// The `SHA256SUMS` being verified.
        sums_url: CanonicalUrl,
        /// The check that failed.
        err: Box<VerifyError>,
    },
    /// A verified checkpoint names a log origin that the trust policy does not list.
    #[error("log {origin:?} is not in the policy")]
    NotInPolicy {
        /// The checkpoint's origin line.
        origin: String,
    },
    /// A log's latest checkpoint fails the policy: its log signature or the witness quorum.
    #[error("{log_url}checkpoint: {err}")]
    Checkpoint {
        /// The log's base URL (ending in `/`).
        log_url: String,
        /// The policy check that failed.
        err: PolicyError,
    },
    /// A log served a valid checkpoint of another log: its origin is not the one the policy gives
    /// this URL.
    #[error("{log_url}checkpoint is for {got:?}, not for {want:?}")]
    WrongOrigin {
        /// The log's base URL (ending in `/`).
        log_url: String,
        /// The origin in the checkpoint served.
        got: String,
        /// The origin the policy gives this log URL.
        want: String,
    },
    /// The inclusion proof could not be built from the log's tiles (unreachable tiles are a network
    /// failure; tiles that fail their checks are a verification failure).
    #[error("{sums_url}: no inclusion proof for index {index} from {log_url}: {err}")]
    NoInclusionProof {
        /// The `SHA256SUMS` looked up.
        sums_url: CanonicalUrl,
        /// The leaf index the log's lookup gave for it.
        index: u64,
        /// The log's base URL (ending in `/`).
        log_url: String,
        /// Why the tiles did not yield a proof.
        err: Box<MerkleError<TileError>>,
    },
    /// The log's lookup named an index, but the proof from its tiles does not show the record
    /// there under the verified checkpoint: a lying lookup.
    #[error("{sums_url}: not in log {origin} at index {index}: {err}")]
    NotIncluded {
        /// The `SHA256SUMS` looked up.
        sums_url: CanonicalUrl,
        /// The log's origin.
        origin: String,
        /// The leaf index the log's lookup gave.
        index: u64,
        /// Why the inclusion proof does not verify.
        err: Box<MerkleError>,
    },
    /// Exit code 5 (not found), as documented for "no record".
    #[error(
        "{sums_url} (SHA-256 {sums_sha256}) is not recorded in any trusted log (no SHA256SUMS.tlog-proof next to it; looked up in {})",
        if tried.is_empty() { "no log".to_owned() } else { tried.join(", ") }
    )]
    NotRecorded {
        /// The `SHA256SUMS` looked up.
        sums_url: CanonicalUrl,
        /// The SHA-256 of the `SHA256SUMS` bytes fetched.
        sums_sha256: Hash,
        /// The origins of the logs looked up.
        tried: Vec<String>,
    },

    // ---- the publisher's signature
    /// An `ssh-ed25519` key signs Sigsum leaves only, and a policy of rget logs has none to check.
    #[error(
        "an ssh-ed25519 key applies to {sums_url} ({key}), but the policy trusts rget logs, whose records carry no ssh signature: give the publisher's minisign key, or a Sigsum policy"
    )]
    SshKeyForRgetLog {
        /// The `SHA256SUMS` the key applies to.
        sums_url: CanonicalUrl,
        /// The key and the line that applied it, for the message.
        key: String,
    },
    /// A publisher key applies to the URL but the server has no `SHA256SUMS.minisig` (HTTP 404):
    /// stripping the signature must not downgrade to an unsigned release.
    #[error("{sig_url} is missing, but a publisher key applies to this URL ({key})")]
    SignatureMissing {
        /// The `.minisig` URL fetched.
        sig_url: String,
        /// Which key applies, for the message.
        key: String,
    },
    /// The `.minisig` fetched is not UTF-8 text.
    #[error("{sig_url}: not UTF-8")]
    SignatureNotUtf8 {
        /// The `.minisig` URL fetched.
        sig_url: String,
    },
    /// The `.minisig` fetched does not parse as a minisign signature.
    #[error("{sig_url}: {err}")]
    SignatureMalformed {
        /// The `.minisig` URL fetched.
        sig_url: String,
        /// Where the signature file is malformed.
        err: MinisigError,
    },
    /// The signature does not verify under the publisher key (wrong key, or altered `SHA256SUMS`
    /// or trusted comment).
    #[error("{sig_url}: {err}")]
    BadSignature {
        /// The `.minisig` URL fetched.
        sig_url: String,
        /// Why the signature does not verify.
        err: MinisigError,
    },
    /// A signature bound to another URL is another release's, replayed here.
    #[error("{sig_url}: {err}")]
    OtherUrl {
        /// The `.minisig` URL fetched.
        sig_url: String,
        /// How the trusted comment's URL binding fails.
        err: CommentError,
    },

    // ---- rget's own releases (`rget self`)
    /// A file of a pin directory (`release.pub`, `policy`, `source`) cannot be read.
    #[error("cannot read the pin file {}: {err}", path.display())]
    PinFile {
        /// The pin file.
        path: PathBuf,
        /// The read error.
        err: std::io::Error,
    },
    /// The pinned keys, policy or source do not parse.
    #[error("pins ({origin}): {err}")]
    Pins {
        /// Where the pins come from: the pin directory, or "compiled in".
        origin: String,
        /// What is wrong with them.
        err: PinsError,
    },
    /// The pinned policy parses as pins but not as a trust policy.
    #[error("pins ({origin}): {err}")]
    PinnedPolicy {
        /// Where the pins come from: the pin directory, or "compiled in".
        origin: String,
        /// Why the policy is refused.
        err: Box<TrustError>,
    },
    /// An rget release failed its checks (malformed release files, or a digest, signature, proof
    /// or policy that does not hold).
    #[error(transparent)]
    Release(ReleaseError),
    /// Several locations, each failing: all of their errors, as a network failure.
    #[error(
        "no location served {what}: {}",
        failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NoLocation {
        /// What was fetched: "the release", or the binary's name.
        what: String,
        /// Each location's error, in the order tried.
        failures: Vec<FetchError>,
    },
    /// A `LATEST` file was served but its trimmed text is not a version.
    #[error("{url}: {text:?} is not a version (MAJOR.MINOR.PATCH[-PRERELEASE])")]
    NotAVersion {
        /// The `LATEST` URL.
        url: String,
        /// Its trimmed text.
        text: String,
    },
    /// There was no `LATEST` URL to try (never the case with a release source).
    #[error("no LATEST location")]
    NoLatestLocation,
    /// The path of the running executable cannot be read, and no `--prefix` was given.
    #[error("cannot tell where this rget is installed ({0}): give --prefix DIR")]
    NoInstalledPath(std::io::Error),
    /// This rget runs from a memfd or a deleted file (as right after the bootstrap), and no
    /// `--prefix` was given.
    #[error("this rget runs from {0}, not from an installed file: give --prefix DIR")]
    NotInstalled(String),
}

impl From<TrustError> for ClientError {
    fn from(e: TrustError) -> ClientError {
        ClientError::Trust(Box::new(e))
    }
}

fn verify_message(sums_url: &CanonicalUrl, err: &VerifyError) -> String {
    match err {
        VerifyError::ProofFile(e) => e.to_string(),
        e => format!("{sums_url}: {e}"),
    }
}

impl ClientError {
    /// The class of failure, from the cause.
    pub fn class(&self) -> Class {
        use Class::*;
        match self {
            ClientError::Fetch(e) => fetch_class(e),
            ClientError::State(e) => state_class(e),
            ClientError::Trust(e) => trust_class(e),
            ClientError::Destination(e) => e.class(),
            ClientError::Audit(e) => e.class(),
            ClientError::Replayed(_) => TrustAnomaly,
            ClientError::Sigsum(e) => e.class(),
            ClientError::Unlistable { .. }
            | ClientError::NoFile { .. }
            | ClientError::SumsNotHttps(_)
            | ClientError::SumsUrl(_) => Usage,
            ClientError::Sums { .. } | ClientError::Record(_) | ClientError::ProofFile { .. } => {
                Malformed
            }
            ClientError::NotListed { .. } | ClientError::NotRecorded { .. } => NotFound,
            ClientError::Verify { err, .. } => verify_class(err),
            ClientError::NotInPolicy { .. }
            | ClientError::Checkpoint { .. }
            | ClientError::WrongOrigin { .. }
            | ClientError::NotIncluded { .. } => Verification,
            ClientError::NoInclusionProof { err, .. } => inclusion_class(err),
            ClientError::SshKeyForRgetLog { .. } => Usage,
            ClientError::SignatureMissing { .. }
            | ClientError::BadSignature { .. }
            | ClientError::OtherUrl { .. } => Verification,
            ClientError::SignatureNotUtf8 { .. } | ClientError::SignatureMalformed { .. } => {
                Malformed
            }
            ClientError::PinFile { .. } => LocalIo,
            ClientError::Pins { .. } | ClientError::PinnedPolicy { .. } => Malformed,
            ClientError::Release(ReleaseError::Malformed(_)) => Malformed,
            ClientError::Release(ReleaseError::Refused(_)) => Verification,
            ClientError::NoLocation { .. } => Network,
            ClientError::NotAVersion { .. } => Malformed,
            ClientError::NoLatestLocation
            | ClientError::NoInstalledPath(_)
            | ClientError::NotInstalled(_) => Usage,
        }
    }
}

fn fetch_class(e: &FetchError) -> Class {
    match e.kind() {
        Kind::Network | Kind::Http | Kind::TooManyRedirects => Class::Network,
        Kind::NotFound => Class::NotFound,
        // An answer larger than any honest one, or one that breaks the protocol.
        Kind::TooLarge | Kind::BadResponse => Class::Malformed,
        // A redirect from https to http is an attack on the transport, not a typo.
        Kind::Insecure => Class::Verification,
        Kind::BadUrl | Kind::Config => Class::Usage,
        Kind::LocalIo => Class::LocalIo,
    }
}

fn state_class(e: &StateError) -> Class {
    match e {
        StateError::Fork { .. } | StateError::Rollback { .. } | StateError::Unserved { .. } => {
            Class::TrustAnomaly
        }
        StateError::Proof { .. } | StateError::LockTimeout { .. } => Class::Network,
        StateError::NoStateDir => Class::Usage,
        // A stored checkpoint that fails its checks is this host's problem, never the log's.
        StateError::Io { .. }
        | StateError::NotPrivate { .. }
        | StateError::Corrupt { .. }
        | StateError::Audit { .. }
        | StateError::NotCompared { .. } => Class::LocalIo,
    }
}

/// The trust configuration: a file that cannot be read is local, one that does not parse is
/// malformed, and a missing or mistyped choice is the user's to fix.
fn trust_class(e: &TrustError) -> Class {
    match e {
        TrustError::ReadPolicy { .. } | TrustError::ReadKeys { .. } => Class::LocalIo,
        TrustError::BadPolicy { .. }
        | TrustError::MixedPolicy { .. }
        | TrustError::BadKeysLine { .. }
        | TrustError::BadKeyFile { .. } => Class::Malformed,
        TrustError::NoPolicy { .. }
        | TrustError::NoConfigDir
        | TrustError::TooLarge { .. }
        | TrustError::NotUtf8 { .. }
        | TrustError::LogWithoutUrl { .. }
        | TrustError::BadLogUrl { .. }
        | TrustError::BadKeyArg { .. } => Class::Usage,
    }
}

fn verify_class(e: &VerifyError) -> Class {
    match e {
        VerifyError::ProofFile(_) => Class::Malformed,
        VerifyError::Record(_)
        | VerifyError::Checkpoint(_)
        | VerifyError::NotIncluded { .. }
        | VerifyError::NotListed { .. }
        | VerifyError::DigestMismatch { .. } => Class::Verification,
    }
}

/// Tiles that could not be reached (refused, timed out, HTTP 5xx) are the network's failure; any
/// other failure to build the proof is the log's answer failing the check.
fn inclusion_class(e: &MerkleError<TileError>) -> Class {
    if matches!(e, MerkleError::Source(TileError::Read { .. })) {
        Class::Network
    } else {
        Class::Verification
    }
}

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
    Network,
    NotFound,
    /// A log rolled back or forked.
    TrustAnomaly,
    LocalIo,
    Usage,
}

/// Why a file was not handed over: one line that names the problem, and its typed cause.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Trust(Box<TrustError>),
    #[error(transparent)]
    Destination(#[from] DestinationError),
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
    Unlistable { url: String, err: NameError },
    #[error("{url}: names no file")]
    NoFile { url: String },
    /// `--allow-http` can let the file itself come over http, never the logged `SHA256SUMS`.
    #[error(
        "{0} is not https, and logs record SHA256SUMS files only at https URLs: give --sums the https URL of this SHA256SUMS (the file itself may then come over http with --allow-http), or publish the release over https"
    )]
    SumsNotHttps(String),
    /// A `SHA256SUMS` URL that has no canonical spelling, so no record.
    #[error(transparent)]
    SumsUrl(RecordError),

    // ---- the SHA256SUMS, its record and proof
    #[error("{url}: {err}")]
    Sums { url: CanonicalUrl, err: SumsError },
    /// Exit code 5 (not found), as documented for a name absent from `SHA256SUMS`.
    #[error("{name:?} is not listed in {sums_url}")]
    NotListed {
        name: String,
        sums_url: CanonicalUrl,
    },
    #[error(transparent)]
    Record(RecordError),
    #[error("{sums_url}.tlog-proof: {err}")]
    ProofFile {
        sums_url: CanonicalUrl,
        err: TlogProofError,
    },
    /// The proof file's checks (`core::verify`): a proof file that does not parse is malformed and
    /// speaks for itself; every other failure names the `SHA256SUMS`.
    #[error("{}", verify_message(sums_url, err))]
    Verify {
        sums_url: CanonicalUrl,
        err: Box<VerifyError>,
    },
    #[error("log {origin:?} is not in the policy")]
    NotInPolicy { origin: String },
    #[error("{log_url}checkpoint: {err}")]
    Checkpoint { log_url: String, err: PolicyError },
    #[error("{log_url}checkpoint is for {got:?}, not for {want:?}")]
    WrongOrigin {
        log_url: String,
        got: String,
        want: String,
    },
    #[error("{sums_url}: no inclusion proof for index {index} from {log_url}: {err}")]
    NoInclusionProof {
        sums_url: CanonicalUrl,
        index: u64,
        log_url: String,
        err: Box<MerkleError<TileError>>,
    },
    #[error("{sums_url}: not in log {origin} at index {index}: {err}")]
    NotIncluded {
        sums_url: CanonicalUrl,
        origin: String,
        index: u64,
        err: Box<MerkleError>,
    },
    /// Exit code 5 (not found), as documented for "no record".
    #[error(
        "{sums_url} (SHA-256 {sums_sha256}) is not recorded in any trusted log (no SHA256SUMS.tlog-proof next to it; looked up in {})",
        if tried.is_empty() { "no log".to_owned() } else { tried.join(", ") }
    )]
    NotRecorded {
        sums_url: CanonicalUrl,
        sums_sha256: Hash,
        /// The origins of the logs looked up.
        tried: Vec<String>,
    },

    // ---- the publisher's signature
    /// An `ssh-ed25519` key signs Sigsum leaves only, and a policy of rget logs has none to check.
    #[error(
        "an ssh-ed25519 key applies to {sums_url} ({key}), but the policy trusts rget logs, whose records carry no ssh signature: give the publisher's minisign key, or a Sigsum policy"
    )]
    SshKeyForRgetLog { sums_url: CanonicalUrl, key: String },
    #[error("{sig_url} is missing, but a publisher key applies to this URL ({key})")]
    SignatureMissing { sig_url: String, key: String },
    #[error("{sig_url}: not UTF-8")]
    SignatureNotUtf8 { sig_url: String },
    #[error("{sig_url}: {err}")]
    SignatureMalformed { sig_url: String, err: MinisigError },
    #[error("{sig_url}: {err}")]
    BadSignature { sig_url: String, err: MinisigError },
    /// A signature bound to another URL is another release's, replayed here.
    #[error("{sig_url}: {err}")]
    OtherUrl { sig_url: String, err: CommentError },

    // ---- rget's own releases (`rget self`)
    #[error("cannot read the pin file {}: {err}", path.display())]
    PinFile { path: PathBuf, err: std::io::Error },
    #[error("pins ({origin}): {err}")]
    Pins { origin: String, err: PinsError },
    #[error("pins ({origin}): {err}")]
    PinnedPolicy {
        origin: String,
        err: Box<TrustError>,
    },
    #[error(transparent)]
    Release(ReleaseError),
    /// Several locations, each failing: all of their errors, as a network failure.
    #[error(
        "no location served {what}: {}",
        failures.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    NoLocation {
        what: String,
        failures: Vec<FetchError>,
    },
    #[error("{url}: {text:?} is not a version (MAJOR.MINOR.PATCH[-PRERELEASE])")]
    NotAVersion { url: String, text: String },
    #[error("no LATEST location")]
    NoLatestLocation,
    #[error("cannot tell where this rget is installed ({0}): give --prefix DIR")]
    NoInstalledPath(std::io::Error),
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

//! Why a file was not handed over: a [`ClientError`], one line that names the problem, with the
//! [`Class`] of failure the CLI turns into an exit code.

use super::state::StateError;
use rget_fetch::{FetchError, Kind};

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

/// Why a file was not handed over: one line that names the problem.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    pub class: Class,
    pub message: String,
}

impl ClientError {
    pub(crate) fn new(class: Class, message: impl std::fmt::Display) -> ClientError {
        ClientError {
            class,
            message: message.to_string(),
        }
    }
}

impl From<FetchError> for ClientError {
    fn from(e: FetchError) -> ClientError {
        let class = match e.kind() {
            Kind::Network | Kind::Http | Kind::TooManyRedirects => Class::Network,
            Kind::NotFound => Class::NotFound,
            // An answer larger than any honest one, or one that breaks the protocol.
            Kind::TooLarge | Kind::BadResponse => Class::Malformed,
            // A redirect from https to http is an attack on the transport, not a typo.
            Kind::Insecure => Class::Verification,
            Kind::BadUrl | Kind::Config => Class::Usage,
            Kind::LocalIo => Class::LocalIo,
        };
        ClientError::new(class, e)
    }
}

impl From<StateError> for ClientError {
    fn from(e: StateError) -> ClientError {
        let class = match &e {
            StateError::Fork { .. } | StateError::Rollback { .. } | StateError::Unserved { .. } => {
                Class::TrustAnomaly
            }
            StateError::Proof { .. } | StateError::LockTimeout { .. } => Class::Network,
            StateError::NoStateDir => Class::Usage,
            // A stored checkpoint that fails its checks is this host's problem, never the log's.
            _ => Class::LocalIo,
        };
        ClientError::new(class, e)
    }
}

//! rget's client side of Sigsum logs: the same checkpoint memory, evidence and exit codes as for
//! rget's own logs, with Sigsum's proofs and API.
//!
//! - [`mod@prove`]: the download path (`rget get | verify | cat`): `SHA256SUMS.proof` must prove
//!   the bytes of `SHA256SUMS`, signed by the publisher's `ssh-ed25519` key for the URL.
//! - [`submit`]: the publishing path (`rget submit | release --sigsum-…`): sign the leaf, `add-leaf`,
//!   wait for the cosigned tree head, fetch the inclusion proof, verify it as a client would.
//! - [`audit`]: key-based monitoring (`rget audit --sigsum`): every leaf a publisher key signed,
//!   read from the logs' leaves and proved against a consistent tree head.

pub mod audit;
pub mod error;
pub mod prove;
pub mod submit;

pub use error::SigsumClientError;
pub use prove::prove;

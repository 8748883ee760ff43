//! What every check of the client runs with.

use super::state::StateDir;
use super::trust::{PublisherKeys, TrustPolicy};
use rget_fetch::Client;

/// What the checks need: the HTTP client, the trust configuration and the checkpoint memory.
pub struct Context {
    /// The HTTPS client every download goes through.
    pub fetch: Client,
    /// The trusted logs and witnesses, and the quorum a checkpoint must meet.
    pub policy: TrustPolicy,
    /// The publishers' minisign keys (`--key`, or the keys file) for `SHA256SUMS` URLs.
    pub keys: PublisherKeys,
    /// The state directory: this host's checkpoint memory, audit progress and evidence.
    pub state: StateDir,
}

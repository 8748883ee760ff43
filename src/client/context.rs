//! What every check of the client runs with.

use super::state::StateDir;
use super::trust::{PublisherKeys, TrustPolicy};
use rget_fetch::Client;

/// What the checks need: the HTTP client, the trust configuration and the checkpoint memory.
pub struct Context {
    pub fetch: Client,
    pub policy: TrustPolicy,
    pub keys: PublisherKeys,
    pub state: StateDir,
}

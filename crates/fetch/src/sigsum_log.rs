//! [`SigsumLog`]: the HTTP API of a Sigsum log, version 1 (`add-leaf`, `get-tree-head`,
//! `get-inclusion-proof`, `get-consistency-proof`, `get-leaves`), as the ASCII formats of
//! [`rget_core::sigsum::api`]. It only fetches, within the client's limits and deadline: every
//! answer is size-bounded and parsed strictly, an answer that does not parse is an error naming its
//! URL ([`Kind::BadResponse`]), and what an answer proves is the caller's to verify (tree head
//! signatures under a policy, proofs against signed roots).

use super::client::Client;
use super::error::FetchError;
use rget_core::digest::Hash;
use rget_core::sigsum::api::{self, ApiError, InclusionProof, LeafRequest, TreeHead};
use rget_core::sigsum::leaf::Leaf;
use rget_core::sigsum::token;

/// Largest body of an `add-leaf` answer read (a Sigsum log answers with nothing, or one line).
const MAX_ADD_ANSWER: u64 = 4096;

/// What a log said to `add-leaf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// 202: accepted, not yet in a cosigned tree head. Ask again later.
    Accepted,
    /// 200: in the log's latest cosigned tree head: its inclusion proof can be fetched.
    Logged,
}

/// A Sigsum log under a URL prefix (`https://log.example/sigsum`: the tree head is at
/// `<prefix>/get-tree-head`).
pub struct SigsumLog<'a> {
    base: String,
    fetch: &'a Client,
}

impl<'a> SigsumLog<'a> {
    /// The log at `prefix` (a trailing `/` is ignored).
    pub fn new(prefix: &str, fetch: &'a Client) -> SigsumLog<'a> {
        SigsumLog {
            base: prefix.trim_end_matches('/').to_owned(),
            fetch,
        }
    }

    /// `<prefix>/<endpoint>`.
    pub fn url(&self, endpoint: &str) -> String {
        format!("{}/{endpoint}", self.base)
    }

    fn get<T>(
        &self,
        endpoint: &str,
        limit: usize,
        parse: impl FnOnce(&[u8]) -> Result<T, ApiError>,
    ) -> Result<T, FetchError> {
        let url = self.url(endpoint);
        let body = self.fetch.get_bytes(&url, limit as u64)?.bytes;
        parse(&body).map_err(|e| FetchError::BadResponse {
            url,
            reason: e.to_string(),
        })
    }

    /// The log's latest cosigned tree head (unverified).
    pub fn tree_head(&self) -> Result<TreeHead, FetchError> {
        self.get("get-tree-head", api::MAX_TREE_HEAD, TreeHead::parse)
    }

    /// The inclusion proof of the leaf with hash `leaf_hash` in the tree of `size` leaves (at least
    /// 2: in a tree of one leaf, the leaf hash is the root). A leaf the log does not have there is
    /// a 404 ([`Kind::NotFound`](crate::Kind::NotFound)).
    pub fn inclusion_proof(
        &self,
        size: u64,
        leaf_hash: &Hash,
    ) -> Result<InclusionProof, FetchError> {
        self.get(
            &format!("get-inclusion-proof/{size}/{leaf_hash}"),
            api::MAX_PROOF,
            InclusionProof::parse,
        )
    }

    /// The consistency proof from the tree of `old` leaves to the one of `new` (0 < old < new).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, FetchError> {
        self.get(
            &format!("get-consistency-proof/{old}/{new}"),
            api::MAX_PROOF,
            api::parse_consistency_proof,
        )
    }

    /// Leaves `start..end` (start < end), at most [`api::MAX_LEAVES_PER_REQUEST`] asked for at a
    /// time: the answer holds 1 to that many, from `start` on.
    pub fn leaves(&self, start: u64, end: u64) -> Result<Vec<Leaf>, FetchError> {
        let end = end.min(start.saturating_add(api::MAX_LEAVES_PER_REQUEST));
        let asked = end.saturating_sub(start);
        self.get(
            &format!("get-leaves/{start}/{end}"),
            usize::try_from(asked)
                .unwrap_or(usize::MAX)
                .saturating_mul(api::LEAF_LINE),
            |b| api::parse_leaves(b, asked),
        )
    }

    /// Submits a leaf (`Sigsum-Token: <token>` when given). A POST is retried only when it was
    /// certainly not sent; the caller polls by submitting again, which a log answers with the same
    /// leaf's status.
    pub fn add_leaf(&self, req: &LeafRequest, token: Option<&str>) -> Result<Added, FetchError> {
        let url = self.url("add-leaf");
        let header = token.map(|t| (token::HEADER, t));
        let answer =
            self.fetch
                .post_bytes_with(&url, req.to_text().as_bytes(), header, MAX_ADD_ANSWER)?;
        match answer.status {
            200 => Ok(Added::Logged),
            202 => Ok(Added::Accepted),
            status => Err(FetchError::BadResponse {
                url,
                reason: format!("HTTP {status}: a Sigsum log answers add-leaf with 200 or 202"),
            }),
        }
    }
}

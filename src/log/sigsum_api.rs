//! The Sigsum v1 HTTP API of a Sigsum log (`rget log init --sigsum`), beside the tlog-tiles read API
//! every rget log serves. A Sigsum log is an rget log whose origin is `sigsum.org/v1/tree/<hex
//! SHA-256 of its public key>` and whose entries are 128-byte Sigsum leaves: its signed checkpoint
//! note *is* Sigsum's signed tree head (the same Ed25519 signature over the same checkpoint text),
//! and the `cosignature/v1` lines its witnesses add are Sigsum's cosignatures. So the sequencer,
//! the tiles, crash repair and witnessing are the log's own; only the door and the answers are
//! Sigsum's:
//!
//! - `POST /add-leaf`: the request is parsed and its leaf signature verified before anything is
//!   queued (a log must never record a leaf nobody can attribute); with `--sigsum-tokens`, a valid
//!   `Sigsum-Token` header is required too. 202 while the leaf is not yet under the published
//!   (cosigned) tree head, then 200. Asking again is how a submitter polls.
//! - `GET /get-tree-head`: the published checkpoint, with the cosignatures by the log's witnesses.
//! - `GET /get-inclusion-proof/<size>/<hex leaf hash>`, `/get-consistency-proof/<old>/<new>`:
//!   proofs for published tree sizes, from the sequencer's tree.
//! - `GET /get-leaves/<start>/<end>`: at most [`MAX_LEAVES_PER_REQUEST`] leaves, from the entry
//!   bundles of the published tree.
//!
//! Errors follow sigsum-go's status codes: 400 for a malformed request, 403 for a bad leaf
//! signature or token, 404 for what the published tree does not have.

use super::dir::LogDir;
use super::metrics::Reject;
use super::sequencer::{OpenError, SubmitError, read_bundle};
use super::server::{State, over_rate, reject, submitted_body};
use crate::serve::Answer;
use crate::serve::logfmt::{Level, event};
use crate::serve::rate::client_address;
use crate::serve::response::{line, ok, set};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode, header};
use rget_core::digest::Hash;
use rget_core::note::VerifierKey;
use rget_core::sigsum::api::{self, InclusionProof, LeafRequest, MAX_LEAVES_PER_REQUEST, TreeHead};
use rget_core::sigsum::leaf::{LEAF_LEN, Leaf};
use rget_core::sigsum::token::{self, SubmitToken};
use rget_core::tile::{self, Tile, TileError};
use rget_core::tlog_proof::parse_decimal;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const TEXT: &str = "text/plain; charset=utf-8";

/// Most token keys per domain read (as a log reads at most this many DNS TXT records).
const MAX_TOKEN_KEYS: usize = 10;

/// Why a `--sigsum-tokens` file is refused: the line, then the problem.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenKeysError {
    /// A line that is not exactly two fields.
    #[error("line {line}: want `<domain> <hex public key>`")]
    Shape {
        /// The 1-based line number.
        line: usize,
    },
    /// The domain as a header can carry it, or no token could ever match it.
    #[error("line {line}: {domain:?} is not a lowercase ASCII domain name")]
    Domain {
        /// The 1-based line number.
        line: usize,
        /// The domain as written.
        domain: String,
    },
    /// The key is not a raw Ed25519 public key in hex.
    #[error("line {line}: the key is not 64 hex digits")]
    Key {
        /// The 1-based line number.
        line: usize,
    },
    /// More keys for one domain than a log reads from DNS.
    #[error("line {line}: more than {MAX_TOKEN_KEYS} keys for {domain}")]
    TooMany {
        /// The 1-based line of the key over the limit.
        line: usize,
        /// The domain.
        domain: String,
    },
}

/// Submit-token keys by domain: what the DNS records `_sigsum_v1.<domain>` publish for a public log.
/// A log on loopback has no DNS to ask, so the operator lists them (`--sigsum-tokens FILE`).
#[derive(Clone, Debug, Default)]
pub struct TokenKeys {
    by_domain: HashMap<String, Vec<[u8; 32]>>,
}

impl TokenKeys {
    /// Parses `<domain> <hex Ed25519 public key>` lines (`#` comments, blank lines ignored); a
    /// domain may have several keys (one line each).
    pub fn parse(text: &str) -> Result<TokenKeys, TokenKeysError> {
        let mut by_domain: HashMap<String, Vec<[u8; 32]>> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let (n, line) = (i + 1, raw.trim());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let [domain, key] = line
                .split_whitespace()
                .collect::<Vec<_>>()
                .try_into()
                .map_err(|_| TokenKeysError::Shape { line: n })?;
            if !token::valid_domain(domain) {
                return Err(TokenKeysError::Domain {
                    line: n,
                    domain: domain.to_owned(),
                });
            }
            let key: [u8; 32] = hex::decode(key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or(TokenKeysError::Key { line: n })?;
            let keys = by_domain.entry(domain.to_owned()).or_default();
            if keys.len() == MAX_TOKEN_KEYS {
                return Err(TokenKeysError::TooMany {
                    line: n,
                    domain: domain.to_owned(),
                });
            }
            keys.push(key);
        }
        Ok(TokenKeys { by_domain })
    }
}

/// What the Sigsum routes need beyond the log's handle.
pub struct SigsumApi {
    /// The log's note verifier key (its name is the Sigsum origin).
    log: VerifierKey,
    /// The witnesses' keys: which lines of the published note are cosignatures.
    witnesses: Vec<VerifierKey>,
    /// When set, `add-leaf` requires a valid `Sigsum-Token`.
    tokens: Option<TokenKeys>,
    /// Leaves queued and not yet published: a submitter polling gets 202 without queueing again.
    pending: Arc<Mutex<HashSet<Hash>>>,
}

impl SigsumApi {
    /// The API of the Sigsum log with key `log`, whose published checkpoints carry cosignatures by
    /// `witnesses`; with `tokens`, `add-leaf` requires a valid `Sigsum-Token`.
    pub fn new(log: VerifierKey, witnesses: Vec<VerifierKey>, tokens: Option<TokenKeys>) -> Self {
        SigsumApi {
            log,
            witnesses,
            tokens,
            pending: Arc::default(),
        }
    }
}

/// The endpoints that take two path arguments.
const WITH_ARGS: [&str; 3] = ["get-inclusion-proof", "get-consistency-proof", "get-leaves"];

/// Whether `path` is a Sigsum route (the others are the read API every log serves).
pub(super) fn handles(path: &str) -> bool {
    let p = path.strip_prefix('/').unwrap_or(path);
    let endpoint = p.split('/').next().unwrap_or(p);
    matches!(endpoint, "add-leaf" | "get-tree-head") || WITH_ARGS.contains(&endpoint)
}

/// The answer to a Sigsum route ([`handles`]).
pub(super) async fn route(
    req: Request<Incoming>,
    path: &str,
    api: &SigsumApi,
    st: &State,
    peer: SocketAddr,
) -> Answer {
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    let not_allowed = crate::serve::response::method_not_allowed;
    match path {
        "/add-leaf" if *req.method() == Method::POST => add_leaf(req, api, st, peer).await,
        "/add-leaf" => not_allowed("POST"),
        "/get-tree-head" if get => tree_head(api, st),
        "/get-tree-head" => not_allowed("GET, HEAD"),
        _ if !get => not_allowed("GET, HEAD"),
        p => {
            let p = p.strip_prefix('/').unwrap_or(p);
            let (endpoint, args) = p.split_once('/').unwrap_or((p, ""));
            let handler = match endpoint {
                "get-inclusion-proof" => inclusion_proof,
                "get-consistency-proof" => consistency_proof,
                "get-leaves" => leaves,
                _ => return line(StatusCode::NOT_FOUND, "not found"),
            };
            match two_args(args) {
                Some((a, b)) => handler(a, b, st),
                None => line(
                    StatusCode::BAD_REQUEST,
                    &format!("want /{endpoint}/<decimal>/<decimal or hex>"),
                ),
            }
        }
    }
}

/// `<a>/<b>` of a request path.
fn two_args(args: &str) -> Option<(&str, &str)> {
    let (a, b) = args.split_once('/')?;
    (!b.contains('/')).then_some((a, b))
}

/// The answer to a path argument that is not a canonical decimal.
fn not_decimal(what: &str) -> Answer {
    line(
        StatusCode::BAD_REQUEST,
        &format!("{what} is not a decimal number without sign or leading zero"),
    )
}

fn tree_head(api: &SigsumApi, st: &State) -> Answer {
    let note = st.handle.checkpoint();
    match TreeHead::from_note(&note, &api.log, &api.witnesses) {
        Some(th) => ok(th.to_text(), TEXT, "no-cache"),
        None => {
            event(
                Level::Error,
                "the published checkpoint is not a tree head of this log",
                &[("origin", &api.log.name)],
            );
            line(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the published checkpoint cannot be read",
            )
        }
    }
}

fn inclusion_proof(size: &str, leaf: &str, st: &State) -> Answer {
    let Some(size) = parse_decimal(size) else {
        return not_decimal("size");
    };
    let Some(leaf) = Hash::from_hex(leaf) else {
        return line(
            StatusCode::BAD_REQUEST,
            "the leaf hash is not 64 lowercase hex digits",
        );
    };
    // In a tree of one leaf the leaf hash is the root: there is nothing to prove (sigsum-go).
    if size < 2 {
        return line(StatusCode::BAD_REQUEST, "size must be at least 2");
    }
    match st.handle.inclusion_proof(size, &leaf) {
        Some((leaf_index, path)) => ok(
            InclusionProof { leaf_index, path }.to_text(),
            TEXT,
            "no-cache",
        ),
        None => line(
            StatusCode::NOT_FOUND,
            &format!(
                "no leaf {leaf} in a published tree of size {size} (published: {})",
                st.handle.published_size()
            ),
        ),
    }
}

fn consistency_proof(old: &str, new: &str, st: &State) -> Answer {
    let (Some(old), Some(new)) = (parse_decimal(old), parse_decimal(new)) else {
        return not_decimal("a tree size");
    };
    if old == 0 || new <= old {
        return line(StatusCode::BAD_REQUEST, "want 0 < old size < new size");
    }
    match st.handle.consistency_proof(old, new) {
        Some(path) => ok(api::format_consistency_proof(&path), TEXT, "no-cache"),
        None => line(
            StatusCode::NOT_FOUND,
            &format!(
                "tree size {new} is not published (published: {})",
                st.handle.published_size()
            ),
        ),
    }
}

fn leaves(start: &str, end: &str, st: &State) -> Answer {
    let (Some(start), Some(end)) = (parse_decimal(start), parse_decimal(end)) else {
        return not_decimal("a leaf index");
    };
    if start >= end {
        return line(StatusCode::BAD_REQUEST, "want start < end");
    }
    let published = st.handle.published_size();
    if start >= published {
        return line(
            StatusCode::NOT_FOUND,
            &format!("no leaf {start} in the published tree of size {published}"),
        );
    }
    let end = end
        .min(published)
        .min(start.saturating_add(MAX_LEAVES_PER_REQUEST));
    match read_leaves(&st.dir, start, end, published) {
        Ok(leaves) => ok(api::format_leaves(&leaves), TEXT, "no-cache"),
        Err(e) => {
            event(Level::Error, "cannot read leaves", &[("error", &e)]);
            line(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the leaves")
        }
    }
}

/// Why the leaves asked for could not be read from the log directory (the log's own fault: logged,
/// and answered with 500).
#[derive(Debug, thiserror::Error)]
enum LeavesError {
    #[error("leaf {0} is beyond the published tree")]
    Beyond(u64),
    #[error(transparent)]
    Read(OpenError),
    #[error(transparent)]
    Bundle(TileError),
    #[error("entry {0} is not a {LEAF_LEN}-byte Sigsum leaf")]
    NotALeaf(u64),
}

/// Leaves `start..end` of the published tree of `published` entries, from its entry bundles.
fn read_leaves(
    dir: &LogDir,
    start: u64,
    end: u64,
    published: u64,
) -> Result<Vec<Leaf>, LeavesError> {
    let mut out = Vec::new();
    let mut next = start;
    while next < end {
        let t: Tile = Tile::entry_bundle(next, published).ok_or(LeavesError::Beyond(next))?;
        let bytes = read_bundle(dir, &t).map_err(LeavesError::Read)?;
        let entries = tile::decode_bundle(&bytes, t.width).map_err(LeavesError::Bundle)?;
        let first = t.first_entry();
        for (i, e) in (first..).zip(&entries) {
            if i < next || i >= end {
                continue;
            }
            let leaf: &[u8; LEAF_LEN] = (*e).try_into().map_err(|_| LeavesError::NotALeaf(i))?;
            out.push(Leaf::from_bytes(leaf));
        }
        next = first + u64::from(t.width);
    }
    Ok(out)
}

async fn add_leaf(req: Request<Incoming>, api: &SigsumApi, st: &State, peer: SocketAddr) -> Answer {
    let token = req
        .headers()
        .get(token::HEADER)
        .map(|v| v.to_str().map(str::to_owned));
    let client = client_address(
        req.headers(),
        peer.ip(),
        st.admission.client_header.as_ref(),
    );
    let body = match submitted_body(st, peer, req, api::MAX_LEAF_REQUEST).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(keys) = &api.tokens
        && let Err((status, why)) = check_token(keys, &api.log, token)
    {
        return reject(st, peer, status, Reject::Forbidden, &why);
    }
    let request = match LeafRequest::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            return reject(
                st,
                peer,
                StatusCode::BAD_REQUEST,
                Reject::BadRequest,
                &format!("add-leaf: {e}"),
            );
        }
    };
    let Some(leaf) = request.leaf() else {
        return reject(
            st,
            peer,
            StatusCode::FORBIDDEN,
            Reject::Forbidden,
            "add-leaf: the signature does not verify for this message and public key",
        );
    };
    let hash = leaf.merkle_hash();
    if st.handle.published_index(&hash).is_some() {
        return ok("", TEXT, "no-store");
    }
    // A submitter asks again until the leaf is published (as sigsum-submit does): only a new leaf
    // counts against its rate limit (`rget log serve --add-rate`), a leaf already queued does not.
    let queued = api
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&hash);
    if !queued {
        let client = match client {
            Ok(c) => c,
            Err(e) => return reject(st, peer, StatusCode::BAD_REQUEST, Reject::BadRequest, &e),
        };
        if let Some(r) = over_rate(st, peer, client) {
            return r;
        }
    }
    let accepted = || {
        line(
            StatusCode::ACCEPTED,
            "accepted: not yet in a cosigned tree head; ask again",
        )
    };
    {
        let mut pending = api.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !pending.insert(hash) {
            return accepted();
        }
    }
    let forget = {
        let pending = api.pending.clone();
        move || {
            pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&hash);
        }
    };
    match st.handle.submit(leaf.to_bytes().to_vec()) {
        Ok(rx) => {
            // The submitter polls; this only notes when the leaf is published (or its batch failed).
            tokio::spawn(async move {
                if let Ok(Err(e)) = rx.await {
                    event(Level::Error, "batch failed", &[("error", &e)]);
                }
                forget();
            });
            accepted()
        }
        Err(e) => {
            forget();
            let mut r = reject(
                st,
                peer,
                StatusCode::SERVICE_UNAVAILABLE,
                match e {
                    SubmitError::QueueFull => Reject::QueueFull,
                    SubmitError::Closed => Reject::Unavailable,
                },
                &e.to_string(),
            );
            if e == SubmitError::QueueFull {
                set(&mut r, header::RETRY_AFTER, "1");
            }
            r
        }
    }
}

/// Checks the `Sigsum-Token` header against the domain's keys: the token must be a signature by
/// one of them over this log's public key (so a token given to one log cannot be spent at another).
fn check_token(
    keys: &TokenKeys,
    log: &VerifierKey,
    header: Option<Result<String, hyper::header::ToStrError>>,
) -> Result<(), (StatusCode, String)> {
    let forbidden = |why: String| (StatusCode::FORBIDDEN, why);
    let value = match header {
        None => {
            return Err(forbidden(format!(
                "a {} header is required: this log rate-limits submissions by domain",
                token::HEADER
            )));
        }
        Some(Err(_)) => {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("the {} header is not ASCII", token::HEADER),
            ));
        }
        Some(Ok(v)) => v,
    };
    let t = SubmitToken::parse(&value).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    let domain_keys = keys
        .by_domain
        .get(&t.domain)
        .ok_or_else(|| forbidden(format!("no submit-token key is known for {:?}", t.domain)))?;
    if domain_keys.iter().any(|k| t.verify(k, &log.public_key)) {
        Ok(())
    } else {
        Err(forbidden(format!(
            "the {} of {:?} is not signed by a key of that domain for this log",
            token::HEADER,
            t.domain
        )))
    }
}

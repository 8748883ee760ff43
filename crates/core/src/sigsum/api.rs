//! The HTTP API of a Sigsum log, version 1 (sigsum-go `pkg/types`, `pkg/requests`, `pkg/server`):
//! the ASCII bodies of its requests and answers, parsed strictly and formatted, and the tree head as
//! the C2SP checkpoint note it is.
//!
//! ```text
//! POST <log>/add-leaf                       body: message=<hex32> signature=<hex64> public_key=<hex32>
//!                                           202 accepted, not yet logged; 200 logged under the
//!                                           latest cosigned tree head (poll until 200)
//! GET  <log>/get-tree-head                  size=N  root_hash=<hex32>  signature=<hex64>
//!                                           cosignature=<witness key hash> <time> <hex64>  (0 to 64)
//! GET  <log>/get-inclusion-proof/<size>/<hex leaf hash>
//!                                           leaf_index=I  node_hash=<hex32>  (1 to 63; size >= 2)
//! GET  <log>/get-consistency-proof/<old>/<new>
//!                                           node_hash=<hex32>  (1 to 63; 0 < old < new)
//! GET  <log>/get-leaves/<start>/<end>       leaf=<checksum> <signature> <key hash>
//!                                           (1 to end - start lines: a log may answer fewer)
//! ```
//! (one `key=value` per line, each ending in a newline.)
//!
//! Every answer is untrusted: a tree head counts only once its note verifies under a policy
//! ([`TreeHead::note`]), a proof only once it verifies against a signed root, a leaf only once the
//! leaves rebuild a signed root. Parsing is bounded (a size limit per answer, at most 64
//! cosignatures and 63 node hashes, as Sigsum's Go tools) and strict, with the line reader the proof
//! files use ([`super::ascii`]), so a hostile log costs bounded work and gets a one-line error.

use super::ascii::{self, LineError, Lines, decimal, fields_at, hash, key, signature, value_of};
use super::key_hash;
use super::leaf::{self, Leaf};
use super::proof::{Cosignature, MAX_COSIGNATURES};
use crate::checkpoint::Checkpoint;
use crate::cosignature;
use crate::digest::Hash;
use crate::ed25519::{self, Seed};
use crate::note::{self, ALG_COSIGNATURE_V1, ALG_ED25519, VerifierKey};
use std::fmt::Write as _;
use thiserror::Error;

/// Most node hashes in an inclusion or consistency proof answer (sigsum-go's limit: a tree of fewer
/// than 2^63 leaves needs no more).
pub const MAX_NODE_HASHES: usize = 63;
/// Largest `get-tree-head` answer: three lines and 64 cosignature lines of 227 bytes.
pub const MAX_TREE_HEAD: usize = 16 * 1024;
/// Largest proof answer: 63 node hashes of 75 bytes and the leaf index.
pub const MAX_PROOF: usize = 8 * 1024;
/// One `leaf=` line of `get-leaves`, newline included.
pub const LEAF_LINE: usize = "leaf=".len() + 64 + 1 + 128 + 1 + 64 + 1;
/// Most leaves asked for in one `get-leaves` request (and served by `rget log serve`).
pub const MAX_LEAVES_PER_REQUEST: u64 = 512;
/// Largest `add-leaf` request body (three lines take 288 bytes).
pub const MAX_LEAF_REQUEST: usize = 1024;

/// Why an answer (or a request) does not parse: one line, to follow the URL it came from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// The body is over the limit for its kind: refused before any parsing.
    #[error("{len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The body's length, in bytes.
        len: usize,
        /// The limit for this kind of body, in bytes.
        max: usize,
    },
    /// A byte, line or value that breaks the strict `key=value` format.
    #[error("{0}")]
    Line(#[from] LineError),
    /// A tree head with more than [`MAX_COSIGNATURES`] cosignature lines.
    #[error("line {line}: more than {MAX_COSIGNATURES} cosignatures")]
    TooManyCosignatures {
        /// The first cosignature line over the limit.
        line: usize,
    },
    /// Two cosignatures by one witness key hash: one witness must never count twice toward a
    /// quorum.
    #[error("line {line}: a second cosignature by the witness of line {first}")]
    DuplicateCosignature {
        /// The second cosignature line.
        line: usize,
        /// The first cosignature line by the same witness.
        first: usize,
    },
    /// A proof answer with more than [`MAX_NODE_HASHES`] node hashes.
    #[error("line {line}: more than {max} node hashes")]
    TooManyHashes {
        /// The first `node_hash=` line over the limit.
        line: usize,
        /// The limit.
        max: usize,
    },
    /// A proof answer with no node hash: proofs are asked for only in trees of two or more leaves
    /// and between different sizes, where at least one is needed.
    #[error("no node hash: a proof between different trees has at least one")]
    NoHashes,
    /// An empty `get-leaves` answer: a log that answers nothing would stall a reader forever.
    #[error("no leaf: a log answers get-leaves with at least one")]
    NoLeaves,
    /// A `get-leaves` answer with more leaves than asked for.
    #[error("line {line}: more leaves than the {max} asked for")]
    TooManyLeaves {
        /// The first `leaf=` line over the count asked for.
        line: usize,
        /// How many leaves were asked for.
        max: u64,
    },
}

fn bounded(bytes: &[u8], max: usize) -> Result<Lines<'_>, ApiError> {
    if bytes.len() > max {
        return Err(ApiError::TooLarge {
            len: bytes.len(),
            max,
        });
    }
    Ok(Lines::new(ascii::body(bytes)?))
}

/// The end of an answer: nothing may follow.
fn end(lines: &mut Lines<'_>) -> Result<(), ApiError> {
    match lines.next_line() {
        None => Ok(()),
        other => Err(ascii::unexpected(other, "the end of the answer").into()),
    }
}

/// A log's cosigned tree head, as `get-tree-head` answers it (and as a proof file's second block
/// holds it). The log is not named: whoever asked knows which log it asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeHead {
    /// The number of leaves in the tree.
    pub size: u64,
    /// The Merkle tree root at `size`.
    pub root_hash: Hash,
    /// The log's Ed25519 signature over the checkpoint text.
    pub signature: [u8; 64],
    /// In answer order; no witness twice.
    pub cosignatures: Vec<Cosignature>,
}

impl TreeHead {
    /// Parses a `get-tree-head` answer.
    pub fn parse(bytes: &[u8]) -> Result<TreeHead, ApiError> {
        let mut lines = bounded(bytes, MAX_TREE_HEAD)?;
        let (n, v) = lines.value("size", "\"size=<tree size>\"")?;
        let size = decimal(v, n, "size")?;
        let (n, v) = lines.value("root_hash", "\"root_hash=<hex>\"")?;
        let root_hash = hash(v, n, "root_hash")?;
        let (n, v) = lines.value("signature", "\"signature=<hex log signature>\"")?;
        let signature = signature(v, n, "signature")?;
        let mut cosignatures: Vec<(Cosignature, usize)> = Vec::new();
        while let Some(line @ (n, l)) = lines.next_line() {
            let v = value_of(l, "cosignature")
                .ok_or_else(|| ascii::unexpected(Some(line), "\"cosignature=...\""))?;
            if cosignatures.len() == MAX_COSIGNATURES {
                return Err(ApiError::TooManyCosignatures { line: n });
            }
            let c = parse_cosignature(v, n)?;
            // One witness counted once: a second line by it is a bug or an attempt to count it twice.
            if let Some((_, first)) = cosignatures.iter().find(|(x, _)| x.key_hash == c.key_hash) {
                return Err(ApiError::DuplicateCosignature {
                    line: n,
                    first: *first,
                });
            }
            cosignatures.push((c, n));
        }
        Ok(TreeHead {
            size,
            root_hash,
            signature,
            cosignatures: cosignatures.into_iter().map(|(c, _)| c).collect(),
        })
    }

    /// The `get-tree-head` answer.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(240 + 230 * self.cosignatures.len());
        // Writing to a String cannot fail.
        let _ = writeln!(s, "size={}", self.size);
        let _ = writeln!(s, "root_hash={}", self.root_hash);
        let _ = writeln!(s, "signature={}", hex::encode(self.signature));
        for c in &self.cosignatures {
            let _ = writeln!(s, "{}", format_cosignature(c));
        }
        s
    }

    /// The checkpoint text the log signed: origin `sigsum.org/v1/tree/<log key hash>`, size, root.
    pub fn checkpoint_text(&self, log_key_hash: &Hash) -> String {
        Checkpoint {
            origin: super::origin(log_key_hash),
            size: self.size,
            root: self.root_hash,
            extensions: Vec::new(),
        }
        .format()
    }

    /// The tree head as the signed checkpoint note it is: the checkpoint text, the log's signature
    /// line under `log` (its verifier key), and one `cosignature/v1` line per cosignature by one of
    /// `witnesses` (matched by key hash, under the key's name and id), in answer order.
    /// Cosignatures by other keys are left out, as a note verifier ignores unknown keys anyway.
    /// What the note is worth is for a policy to say.
    pub fn note(&self, log: &VerifierKey, witnesses: &[&VerifierKey]) -> Vec<u8> {
        let text = self.checkpoint_text(&key_hash(&log.public_key));
        let hashes: Vec<Hash> = witnesses.iter().map(|w| key_hash(&w.public_key)).collect();
        let mut signatures = Vec::with_capacity(1 + self.cosignatures.len());
        signatures.push(note::NoteSignature {
            name: log.name.clone(),
            id: log.id,
            sig: self.signature.to_vec(),
        });
        for c in &self.cosignatures {
            let Some(w) = hashes
                .iter()
                .position(|h| *h == c.key_hash)
                .and_then(|i| witnesses.get(i))
            else {
                continue;
            };
            // cosignature/v1 signature bytes: the timestamp (big-endian u64), then Ed25519.
            let mut sig = Vec::with_capacity(cosignature::SIGNATURE_LEN);
            sig.extend_from_slice(&c.timestamp.to_be_bytes());
            sig.extend_from_slice(&c.signature);
            signatures.push(note::NoteSignature {
                name: w.name.clone(),
                id: w.id,
                sig,
            });
        }
        note::Note { text, signatures }.to_bytes()
    }

    /// The tree head of a checkpoint note signed by `log` (a Sigsum log's key, whose note key name
    /// is the Sigsum origin) and cosigned by some of `witnesses` (`cosignature/v1` keys): what a log
    /// that keeps its cosigned checkpoint as a note answers to `get-tree-head`. Signature lines are
    /// matched by key name and id; `None` if the note does not parse, is not a checkpoint of `log`,
    /// or carries no signature line of `log`. Nothing is verified here: the log's own published
    /// note was verified when it was made, and clients verify what they receive.
    pub fn from_note(
        note_bytes: &[u8],
        log: &VerifierKey,
        witnesses: &[VerifierKey],
    ) -> Option<TreeHead> {
        let parsed = note::parse(note_bytes).ok()?;
        let cp = Checkpoint::parse(&parsed.text).ok()?;
        if cp.origin != log.name || log.alg != ALG_ED25519 {
            return None;
        }
        let mut signature = None;
        let mut cosignatures: Vec<Cosignature> = Vec::new();
        for s in &parsed.signatures {
            if s.name == log.name && s.id == log.id && signature.is_none() {
                signature = <[u8; 64]>::try_from(s.sig.as_slice()).ok();
                continue;
            }
            let Some(w) = witnesses
                .iter()
                .find(|w| w.alg == ALG_COSIGNATURE_V1 && w.name == s.name && w.id == s.id)
            else {
                continue;
            };
            let kh = key_hash(&w.public_key);
            if cosignatures.len() == MAX_COSIGNATURES
                || cosignatures.iter().any(|c| c.key_hash == kh)
            {
                continue;
            }
            let (Some(ts), Ok(sig)) = (
                cosignature::timestamp(&s.sig),
                <[u8; 64]>::try_from(s.sig.get(8..).unwrap_or_default()),
            ) else {
                continue;
            };
            cosignatures.push(Cosignature {
                key_hash: kh,
                timestamp: ts,
                signature: sig,
            });
        }
        Some(TreeHead {
            size: cp.size,
            root_hash: cp.root,
            signature: signature?,
            cosignatures,
        })
    }
}

/// `<key hash> <timestamp> <signature>` of a `cosignature=` line.
fn parse_cosignature(v: &str, n: usize) -> Result<Cosignature, LineError> {
    let [k, t, s] = fields_at::<3>(
        v,
        n,
        "cosignature",
        "three values separated by single spaces",
    )?;
    Ok(Cosignature {
        key_hash: hash(k, n, "cosignature key hash")?,
        timestamp: decimal(t, n, "cosignature timestamp")?,
        signature: signature(s, n, "cosignature signature")?,
    })
}

fn format_cosignature(c: &Cosignature) -> String {
    format!(
        "cosignature={} {} {}",
        c.key_hash,
        c.timestamp,
        hex::encode(c.signature)
    )
}

/// `node_hash=` lines: at least one, at most [`MAX_NODE_HASHES`], and nothing else.
fn node_hashes(lines: &mut Lines<'_>) -> Result<Vec<Hash>, ApiError> {
    let mut path = Vec::new();
    while let Some(line @ (n, l)) = lines.next_line() {
        let v = value_of(l, "node_hash")
            .ok_or_else(|| ascii::unexpected(Some(line), "\"node_hash=<hex>\""))?;
        if path.len() == MAX_NODE_HASHES {
            return Err(ApiError::TooManyHashes {
                line: n,
                max: MAX_NODE_HASHES,
            });
        }
        path.push(hash(v, n, "node_hash")?);
    }
    if path.is_empty() {
        return Err(ApiError::NoHashes);
    }
    Ok(path)
}

fn format_node_hashes(s: &mut String, path: &[Hash]) {
    for h in path {
        let _ = writeln!(s, "node_hash={h}");
    }
}

/// A `get-inclusion-proof` answer. How many node hashes the index needs in the tree asked about
/// is checked when the proof is verified (`merkle::verify_inclusion`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index in the tree.
    pub leaf_index: u64,
    /// The node hashes, leaf's sibling first (1 to [`MAX_NODE_HASHES`]).
    pub path: Vec<Hash>,
}

impl InclusionProof {
    /// Parses a `get-inclusion-proof` answer: `leaf_index=`, then 1 to [`MAX_NODE_HASHES`]
    /// `node_hash=` lines, nothing else.
    pub fn parse(bytes: &[u8]) -> Result<InclusionProof, ApiError> {
        let mut lines = bounded(bytes, MAX_PROOF)?;
        let (n, v) = lines.value("leaf_index", "\"leaf_index=<index>\"")?;
        let leaf_index = decimal(v, n, "leaf_index")?;
        let path = node_hashes(&mut lines)?;
        Ok(InclusionProof { leaf_index, path })
    }

    /// The `get-inclusion-proof` answer.
    pub fn to_text(&self) -> String {
        let mut s = format!("leaf_index={}\n", self.leaf_index);
        format_node_hashes(&mut s, &self.path);
        s
    }
}

/// Parses a `get-consistency-proof` answer (its length is checked when it is verified).
pub fn parse_consistency_proof(bytes: &[u8]) -> Result<Vec<Hash>, ApiError> {
    let mut lines = bounded(bytes, MAX_PROOF)?;
    node_hashes(&mut lines)
}

/// The `get-consistency-proof` answer.
pub fn format_consistency_proof(path: &[Hash]) -> String {
    let mut s = String::new();
    format_node_hashes(&mut s, path);
    s
}

/// Parses a `get-leaves` answer to a request for `asked` leaves: 1 to `asked` leaves (a log may
/// answer fewer than asked; the caller asks again from where the answer stopped).
pub fn parse_leaves(bytes: &[u8], asked: u64) -> Result<Vec<Leaf>, ApiError> {
    let max = usize::try_from(asked)
        .unwrap_or(usize::MAX)
        .saturating_mul(LEAF_LINE);
    let mut lines = bounded(bytes, max)?;
    let mut leaves = Vec::new();
    while let Some(line @ (n, l)) = lines.next_line() {
        let v = value_of(l, "leaf").ok_or_else(|| {
            ascii::unexpected(Some(line), "\"leaf=<checksum> <signature> <key hash>\"")
        })?;
        if leaves.len() as u64 == asked {
            return Err(ApiError::TooManyLeaves {
                line: n,
                max: asked,
            });
        }
        let [c, s, k] = fields_at::<3>(v, n, "leaf", "three values separated by single spaces")?;
        leaves.push(Leaf {
            checksum: hash(c, n, "leaf checksum")?,
            signature: signature(s, n, "leaf signature")?,
            key_hash: hash(k, n, "leaf key hash")?,
        });
    }
    if leaves.is_empty() {
        return Err(ApiError::NoLeaves);
    }
    Ok(leaves)
}

/// The `get-leaves` answer.
pub fn format_leaves(leaves: &[Leaf]) -> String {
    let mut s = String::with_capacity(leaves.len() * LEAF_LINE);
    for l in leaves {
        let _ = writeln!(
            s,
            "leaf={} {} {}",
            l.checksum,
            hex::encode(l.signature),
            l.key_hash
        );
    }
    s
}

/// The body of an `add-leaf` request: the message (SHA-256 of the data, for `sigsum-submit FILE`),
/// the leaf signature over its checksum, and the submitter's public key (the log keeps only its
/// hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRequest {
    /// The 32-byte message: SHA-256 of the data.
    pub message: Hash,
    /// The submitter's Ed25519 signature over the namespaced checksum of `message`.
    pub signature: [u8; 64],
    /// The submitter's raw Ed25519 public key.
    pub public_key: [u8; 32],
}

impl LeafRequest {
    /// The request that logs `message` signed by `seed` (what `sigsum-submit -k KEY` sends).
    pub fn sign(seed: &Seed, message: &Hash) -> LeafRequest {
        let leaf = Leaf::sign(seed, message);
        LeafRequest {
            message: *message,
            signature: leaf.signature,
            public_key: seed.public_key(),
        }
    }

    /// Parses an `add-leaf` body: exactly the `message=`, `signature=`, `public_key=` lines, in
    /// that order (the signature is not checked here: see [`LeafRequest::leaf`]).
    pub fn parse(bytes: &[u8]) -> Result<LeafRequest, ApiError> {
        let mut lines = bounded(bytes, MAX_LEAF_REQUEST)?;
        let (n, v) = lines.value("message", "\"message=<hex>\"")?;
        let message = hash(v, n, "message")?;
        let (n, v) = lines.value("signature", "\"signature=<hex>\"")?;
        let signature = signature(v, n, "signature")?;
        let (n, v) = lines.value("public_key", "\"public_key=<hex>\"")?;
        let public_key = key(v, n, "public_key")?;
        end(&mut lines)?;
        Ok(LeafRequest {
            message,
            signature,
            public_key,
        })
    }

    /// The `add-leaf` request body.
    pub fn to_text(&self) -> String {
        format!(
            "message={}\nsignature={}\npublic_key={}\n",
            self.message,
            hex::encode(self.signature),
            hex::encode(self.public_key)
        )
    }

    /// The leaf this request logs, if its signature verifies: what a log checks at the door, so that
    /// it never records a leaf nobody can attribute.
    pub fn leaf(&self) -> Option<Leaf> {
        let checksum = leaf::checksum(&self.message);
        ed25519::verify(
            &self.public_key,
            &leaf::signed_data(&checksum),
            &self.signature,
        )
        .then(|| Leaf {
            checksum,
            signature: self.signature,
            key_hash: key_hash(&self.public_key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use crate::sigsum::policy::{log_verifier_key, witness_verifier_key};

    fn th(n: usize) -> TreeHead {
        TreeHead {
            size: 7,
            root_hash: sha256(b"root"),
            signature: [3; 64],
            cosignatures: (0..n)
                .map(|i| Cosignature {
                    key_hash: sha256(&[i as u8]),
                    timestamp: 1_770_000_000 + i as u64,
                    signature: [i as u8; 64],
                })
                .collect(),
        }
    }

    #[test]
    fn tree_heads_round_trip_and_are_bounded() {
        for n in [0, 1, 2, 64] {
            let t = th(n);
            assert_eq!(TreeHead::parse(t.to_text().as_bytes()).unwrap(), t);
            assert!(t.to_text().len() <= MAX_TREE_HEAD);
        }
        let e = TreeHead::parse(th(65).to_text().as_bytes()).unwrap_err();
        assert_eq!(e, ApiError::TooManyCosignatures { line: 68 });
        let mut dup = th(2);
        dup.cosignatures[1].key_hash = dup.cosignatures[0].key_hash;
        assert_eq!(
            TreeHead::parse(dup.to_text().as_bytes()).unwrap_err(),
            ApiError::DuplicateCosignature { line: 5, first: 4 }
        );
        for bad in [
            "size=7\n".to_owned(),
            th(0).to_text().replace("size=7", "size=07"),
            th(0).to_text().replace("size=7", "size=-7"),
            th(0).to_text().to_uppercase(),
            format!("{}\n", th(1).to_text()),
            th(1).to_text().trim_end().to_owned(),
            format!("{}extra=1\n", th(0).to_text()),
        ] {
            assert!(TreeHead::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let huge = vec![b'a'; MAX_TREE_HEAD + 1];
        assert!(matches!(
            TreeHead::parse(&huge),
            Err(ApiError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_tree_head_is_the_note_it_came_from() {
        let log = Seed([1; 32]);
        let w = [Seed([2; 32]), Seed([3; 32]), Seed([4; 32])];
        let log_vkey = log_verifier_key(&log.public_key());
        let wkeys: Vec<VerifierKey> = w
            .iter()
            .enumerate()
            .map(|(i, s)| witness_verifier_key(&format!("w{i}.example/w"), &s.public_key()))
            .collect();
        let mut t = TreeHead {
            size: 9,
            root_hash: sha256(b"r"),
            signature: [0; 64],
            cosignatures: Vec::new(),
        };
        let text = t.checkpoint_text(&key_hash(&log.public_key()));
        t.signature = log.sign(text.as_bytes());
        for s in &w[..2] {
            t.cosignatures.push(Cosignature {
                key_hash: key_hash(&s.public_key()),
                timestamp: 5,
                signature: s.sign(&cosignature::message(&text, 5)),
            });
        }
        let refs: Vec<&VerifierKey> = wkeys.iter().collect();
        let note_bytes = t.note(&log_vkey, &refs);
        let back = TreeHead::from_note(&note_bytes, &log_vkey, &wkeys).unwrap();
        assert_eq!(back, t);
        // Only the witnesses asked about are kept; another log's key finds nothing.
        let one = TreeHead::from_note(&note_bytes, &log_vkey, &wkeys[1..]).unwrap();
        assert_eq!(one.cosignatures, t.cosignatures[1..]);
        let other = log_verifier_key(&Seed([9; 32]).public_key());
        assert_eq!(TreeHead::from_note(&note_bytes, &other, &wkeys), None);
        // The note verifies under a policy naming the log and the witnesses.
        let policy = crate::sigsum::policy::parse(&format!(
            "log {}\nwitness w0.example/w {}\nwitness w1.example/w {}\ngroup g all w0.example/w w1.example/w\nquorum g\n",
            hex::encode(log.public_key()),
            hex::encode(w[0].public_key()),
            hex::encode(w[1].public_key())
        ))
        .unwrap();
        let vc = policy.verify_checkpoint(&note_bytes).unwrap();
        assert_eq!(vc.checkpoint.size, 9);
        assert_eq!(vc.cosigners.len(), 2);
    }

    #[test]
    fn proofs_and_leaves() {
        let p = InclusionProof {
            leaf_index: 3,
            path: vec![sha256(b"a"), sha256(b"b")],
        };
        assert_eq!(InclusionProof::parse(p.to_text().as_bytes()).unwrap(), p);
        assert_eq!(
            InclusionProof::parse(b"leaf_index=3\n").unwrap_err(),
            ApiError::NoHashes
        );
        let path: Vec<Hash> = (0..64u8).map(|i| sha256(&[i])).collect();
        assert!(matches!(
            parse_consistency_proof(format_consistency_proof(&path).as_bytes()),
            Err(ApiError::TooManyHashes { line: 64, .. })
        ));
        assert_eq!(
            parse_consistency_proof(format_consistency_proof(&path[..63]).as_bytes()).unwrap(),
            path[..63]
        );
        assert_eq!(
            parse_consistency_proof(b"").unwrap_err(),
            ApiError::NoHashes
        );

        let leaves: Vec<Leaf> = (0..3u8)
            .map(|i| Leaf::sign(&Seed([i; 32]), &sha256(&[i])))
            .collect();
        let text = format_leaves(&leaves);
        assert_eq!(text.len(), 3 * LEAF_LINE);
        assert_eq!(parse_leaves(text.as_bytes(), 3).unwrap(), leaves);
        assert_eq!(parse_leaves(text.as_bytes(), 5).unwrap(), leaves);
        assert!(matches!(
            parse_leaves(text.as_bytes(), 2),
            Err(ApiError::TooLarge { .. })
        ));
        assert_eq!(parse_leaves(b"", 2).unwrap_err(), ApiError::NoLeaves);
    }

    #[test]
    fn leaf_requests_verify_at_the_door() {
        let seed = Seed([7; 32]);
        let r = LeafRequest::sign(&seed, &sha256(b"SHA256SUMS bytes"));
        let back = LeafRequest::parse(r.to_text().as_bytes()).unwrap();
        assert_eq!(back, r);
        let leaf = back.leaf().unwrap();
        assert_eq!(leaf, Leaf::sign(&seed, &sha256(b"SHA256SUMS bytes")));
        let mut forged = r.clone();
        forged.message = sha256(b"other");
        assert_eq!(forged.leaf(), None);
        assert!(LeafRequest::parse(format!("{}x=1\n", r.to_text()).as_bytes()).is_err());
        assert!(LeafRequest::parse(r.to_text().replace("public_key", "key").as_bytes()).is_err());
    }
}

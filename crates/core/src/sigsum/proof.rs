//! Sigsum proof files (what `sigsum-submit` writes next to the data, e.g. `SHA256SUMS.proof`).
//!
//! ```text
//! version=2
//! log=<hex key hash of the log key>
//! leaf=<hex key hash of the submitter key> <hex leaf signature>
//!
//! size=<tree size>
//! root_hash=<hex root hash>
//! signature=<hex log signature over the tree head>
//! cosignature=<hex witness key hash> <timestamp> <hex cosignature>     (0 to 64 lines)
//!
//! leaf_index=<index>                                                 (this block is absent
//! node_hash=<hex inclusion proof hash, leaf's sibling first>          exactly when size = 1)
//! ```
//!
//! Version 1 differs only in its `leaf=` line, `leaf=<4 hex digits> <key hash> <signature>`, whose
//! first field is the first two bytes of the leaf checksum (a hint to tell "wrong data" from "bad
//! signature"). Both versions are read; only version 2 is written.
//!
//! Parsing is strict, so that one proof has one spelling and junk costs bounded work: printable ASCII
//! only, every line ends in a newline, lines in exactly this order with single blank lines between
//! the blocks, one space between values, hex lowercase and of exact length, decimals without sign or
//! leading zero and at most 2^63 − 1 (what Sigsum's Go tools accept), no witness twice, at most 64
//! cosignatures, a leaf index inside the tree, and exactly as many node hashes as a proof for that
//! index in that size of tree has. A proof that parses formats back to the same bytes (version 2).

use super::api::TreeHead;
use super::ascii::{self, LineError, Lines, decimal, fields, hash, signature, unexpected};
use super::lower_hex;
use crate::digest::Hash;
use crate::merkle;
use crate::note::snippet;
use std::fmt::Write as _;
use thiserror::Error;

/// The version written.
pub const VERSION: u64 = 2;
/// Most cosignatures a proof may carry.
pub const MAX_COSIGNATURES: usize = 64;
/// Largest proof file accepted: 64 cosignature lines and 63 node hashes take under 20 KiB.
pub const MAX_PROOF_SIZE: usize = 32 * 1024;

/// Errors in a proof file. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The file is over [`MAX_PROOF_SIZE`]: refused before any parsing.
    #[error("sigsum proof is {len} bytes, over the limit of {MAX_PROOF_SIZE} bytes")]
    TooLarge {
        /// The file's length, in bytes.
        len: usize,
    },
    /// The file has no bytes at all.
    #[error("sigsum proof is empty")]
    Empty,
    /// A byte other than printable ASCII or newline (CR, tab, NUL, UTF-8 look-alikes).
    #[error("sigsum proof line {line}: byte 0x{byte:02x} is not printable ASCII")]
    BadByte {
        /// The line holding it.
        line: usize,
        /// The byte.
        byte: u8,
    },
    /// The last line has no newline: the file was probably cut short.
    #[error("sigsum proof does not end in a newline (truncated?)")]
    NoFinalNewline,
    /// A line is not the `key=` (or blank line) the format requires at this place.
    #[error("sigsum proof line {line}: expected {want}, found {found}")]
    Expected {
        /// The line at fault.
        line: usize,
        /// What the format requires there.
        want: &'static str,
        /// The start of what is there, escaped.
        found: String,
    },
    /// The file ends before a required line.
    #[error("sigsum proof ends where {want} should be (truncated?)")]
    EndOfFile {
        /// The line the format requires next.
        want: &'static str,
    },
    /// The `version=` value is neither `1` nor `2` (the start of it, escaped).
    #[error("sigsum proof version {0:?} is not supported (versions 1 and 2 are)")]
    Version(String),
    /// A value is not of its exact form: lowercase hex of the exact length, a canonical decimal,
    /// or single-space-separated fields.
    #[error("sigsum proof line {line}: {field} is not {what}")]
    Value {
        /// The line at fault.
        line: usize,
        /// Which value.
        field: &'static str,
        /// The form it must have.
        what: &'static str,
    },
    /// `size=0`: an empty tree includes no leaf, so this proves nothing.
    #[error("sigsum proof line {line}: tree size 0: an empty tree includes no leaf")]
    EmptyTree {
        /// The `size=` line.
        line: usize,
    },
    /// A cosignature line beyond [`MAX_COSIGNATURES`].
    #[error("sigsum proof line {line}: more than {MAX_COSIGNATURES} cosignatures")]
    TooManyCosignatures {
        /// The first cosignature line over the limit.
        line: usize,
    },
    /// Two cosignatures by one witness key hash: one witness must never count twice toward a
    /// quorum.
    #[error("sigsum proof line {line}: a second cosignature by the witness of line {first}")]
    DuplicateCosignature {
        /// The second cosignature line.
        line: usize,
        /// The first cosignature line by the same witness.
        first: usize,
    },
    /// `size=1` (the leaf is the root) but a blank line starts an inclusion proof block.
    #[error(
        "sigsum proof line {line}: a tree of size 1 has no inclusion proof block, but a blank line starts one"
    )]
    UnexpectedInclusion {
        /// The blank line.
        line: usize,
    },
    /// A tree of more than one leaf with no inclusion proof block.
    #[error(
        "sigsum proof has no inclusion proof block (leaf_index, node_hash), which a tree of size {size} needs"
    )]
    MissingInclusion {
        /// The tree size.
        size: u64,
    },
    /// `leaf_index` is not below `size`.
    #[error("sigsum proof line {line}: leaf index {index} is outside the tree of size {size}")]
    IndexOutOfRange {
        /// The `leaf_index=` line.
        line: usize,
        /// The leaf index given.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// More `node_hash=` lines than the tree's height: refused as soon as one too many is read.
    #[error("sigsum proof line {line}: more node hashes than a tree of size {size} allows ({max})")]
    PathTooLong {
        /// The first `node_hash=` line over the limit.
        line: usize,
        /// The tree size.
        size: u64,
        /// The tree's height: the most node hashes any proof in it has.
        max: usize,
    },
    /// The number of node hashes is not exactly what a proof for this index and size has.
    #[error(
        "sigsum proof has {got} node hashes; leaf index {index} in a tree of size {size} needs {want}"
    )]
    PathLength {
        /// Node hashes in the file.
        got: usize,
        /// Node hashes an inclusion proof for `index` in `size` has.
        want: usize,
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
}

/// A witness cosignature as the proof carries it: the witness is named by its key hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// SHA-256 of the witness's Ed25519 public key.
    pub key_hash: Hash,
    /// When the witness cosigned, in seconds since the Unix epoch (part of what it signed).
    pub timestamp: u64,
    /// The witness's Ed25519 signature over the cosigned checkpoint text and timestamp.
    pub signature: [u8; 64],
}

/// A parsed proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigsumProof {
    /// SHA-256 of the log's Ed25519 public key (`log=`).
    pub log_key_hash: Hash,
    /// Version 1 proofs only: the first two bytes of the leaf checksum. `None` for version 2.
    pub short_checksum: Option<[u8; 2]>,
    /// SHA-256 of the submitter's Ed25519 public key (`leaf=`).
    pub leaf_key_hash: Hash,
    /// The submitter's Ed25519 signature over the leaf's namespaced checksum (`leaf=`).
    pub leaf_signature: [u8; 64],
    /// The tree size the log signed (at least 1).
    pub size: u64,
    /// The Merkle tree root at `size`.
    pub root_hash: Hash,
    /// The log's Ed25519 signature over the tree head's checkpoint text.
    pub signature: [u8; 64],
    /// In file order.
    pub cosignatures: Vec<Cosignature>,
    /// 0 when `size` is 1.
    pub leaf_index: u64,
    /// The inclusion proof, leaf's sibling first; empty when `size` is 1.
    pub path: Vec<Hash>,
}

/// The most node hashes a proof in a tree of `size` leaves can have: the tree's height.
fn max_path_len(size: u64) -> usize {
    (64 - size.saturating_sub(1).leading_zeros()) as usize
}

impl From<LineError> for ProofError {
    fn from(e: LineError) -> ProofError {
        match e {
            LineError::BadByte { line, byte } => ProofError::BadByte { line, byte },
            LineError::NoFinalNewline => ProofError::NoFinalNewline,
            LineError::Expected { line, want, found } => ProofError::Expected { line, want, found },
            LineError::EndOfFile { want } => ProofError::EndOfFile { want },
            LineError::Value { line, field, what } => ProofError::Value { line, field, what },
        }
    }
}

impl SigsumProof {
    /// Parses a proof file (version 1 or 2).
    pub fn parse(bytes: &[u8]) -> Result<SigsumProof, ProofError> {
        if bytes.len() > MAX_PROOF_SIZE {
            return Err(ProofError::TooLarge { len: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(ProofError::Empty);
        }
        // Printable ASCII and newline only: no CR, no tab, no NUL, no Unicode look-alikes.
        let mut lines = Lines::new(ascii::body(bytes)?);

        // Block 1: version, log, leaf.
        let (_, v) = lines.value("version", "\"version=2\" (or version=1)")?;
        let version_one = match v {
            "2" => false,
            "1" => true,
            other => return Err(ProofError::Version(snippet(other))),
        };
        let (n, v) = lines.value("log", "\"log=<hex key hash of the log>\"")?;
        let log_key_hash = hash(v, n, "log")?;
        let (short_checksum, leaf_key_hash, leaf_signature) = if version_one {
            let (n, v) =
                lines.value("leaf", "\"leaf=<checksum prefix> <key hash> <signature>\"")?;
            let [c, k, s] = fields::<3>(v).ok_or(ProofError::Value {
                line: n,
                field: "leaf",
                what: "three values separated by single spaces",
            })?;
            let short = lower_hex::<2>(c).ok_or(ProofError::Value {
                line: n,
                field: "leaf checksum prefix",
                what: "4 lowercase hex digits",
            })?;
            (
                Some(short),
                hash(k, n, "leaf key hash")?,
                signature(s, n, "leaf signature")?,
            )
        } else {
            let (n, v) = lines.value("leaf", "\"leaf=<key hash> <signature>\"")?;
            let [k, s] = fields::<2>(v).ok_or(ProofError::Value {
                line: n,
                field: "leaf",
                what: "two values separated by a single space",
            })?;
            (
                None,
                hash(k, n, "leaf key hash")?,
                signature(s, n, "leaf signature")?,
            )
        };
        lines.blank()?;

        // Block 2: the cosigned tree head.
        let (n, v) = lines.value("size", "\"size=<tree size>\"")?;
        let size = decimal(v, n, "size")?;
        if size == 0 {
            return Err(ProofError::EmptyTree { line: n });
        }
        let (n, v) = lines.value("root_hash", "\"root_hash=<hex>\"")?;
        let root_hash = hash(v, n, "root_hash")?;
        let (n, v) = lines.value("signature", "\"signature=<hex log signature>\"")?;
        let tree_head_signature = signature(v, n, "signature")?;
        let mut cosignatures: Vec<Cosignature> = Vec::new();
        let mut cosignature_lines: Vec<usize> = Vec::new();
        let blank_before_inclusion = loop {
            match lines.next_line() {
                None => break None,
                Some((n, "")) => break Some(n),
                other @ Some((n, l)) => {
                    let v = l
                        .strip_prefix("cosignature=")
                        .ok_or_else(|| unexpected(other, "\"cosignature=...\" or a blank line"))?;
                    if cosignatures.len() == MAX_COSIGNATURES {
                        return Err(ProofError::TooManyCosignatures { line: n });
                    }
                    let [k, t, s] = fields::<3>(v).ok_or(ProofError::Value {
                        line: n,
                        field: "cosignature",
                        what: "three values separated by single spaces",
                    })?;
                    let c = Cosignature {
                        key_hash: hash(k, n, "cosignature key hash")?,
                        timestamp: decimal(t, n, "cosignature timestamp")?,
                        signature: signature(s, n, "cosignature signature")?,
                    };
                    // Two cosignatures by one witness are either a bug or an attempt to count one
                    // witness twice; Sigsum's tools refuse them too.
                    if let Some(i) = cosignatures.iter().position(|x| x.key_hash == c.key_hash) {
                        return Err(ProofError::DuplicateCosignature {
                            line: n,
                            first: cosignature_lines[i],
                        });
                    }
                    cosignatures.push(c);
                    cosignature_lines.push(n);
                }
            }
        };

        // Block 3: the inclusion proof, present exactly when the tree has more than one leaf (in a
        // tree of one leaf, the leaf hash is the root).
        let (leaf_index, path) = match (size, blank_before_inclusion) {
            (1, None) => (0, Vec::new()),
            (1, Some(line)) => return Err(ProofError::UnexpectedInclusion { line }),
            (_, None) => return Err(ProofError::MissingInclusion { size }),
            (_, Some(_)) => {
                let (n, v) = lines.value("leaf_index", "\"leaf_index=<index>\"")?;
                let index = decimal(v, n, "leaf_index")?;
                if index >= size {
                    return Err(ProofError::IndexOutOfRange {
                        line: n,
                        index,
                        size,
                    });
                }
                let max = max_path_len(size);
                let mut path = Vec::new();
                while let Some(line @ (n, _)) = lines.next_line() {
                    let v = line
                        .1
                        .strip_prefix("node_hash=")
                        .ok_or_else(|| unexpected(Some(line), "\"node_hash=<hex>\""))?;
                    if path.len() == max {
                        return Err(ProofError::PathTooLong { line: n, size, max });
                    }
                    path.push(hash(v, n, "node_hash")?);
                }
                let want = merkle::inclusion_proof_len(index, size);
                if path.len() != want {
                    return Err(ProofError::PathLength {
                        got: path.len(),
                        want,
                        index,
                        size,
                    });
                }
                (index, path)
            }
        };
        Ok(SigsumProof {
            log_key_hash,
            short_checksum,
            leaf_key_hash,
            leaf_signature,
            size,
            root_hash,
            signature: tree_head_signature,
            cosignatures,
            leaf_index,
            path,
        })
    }

    /// The tree head block: what the log signed and the witnesses cosigned.
    pub fn tree_head(&self) -> TreeHead {
        TreeHead {
            size: self.size,
            root_hash: self.root_hash,
            signature: self.signature,
            cosignatures: self.cosignatures.clone(),
        }
    }

    /// The proof file, version 2 (a version 1 proof loses its checksum prefix, which version 2
    /// dropped as redundant: the verifier computes the checksum from the data).
    pub fn to_text(&self) -> String {
        let mut s =
            String::with_capacity(400 + 230 * self.cosignatures.len() + 76 * self.path.len());
        // Writing to a String cannot fail.
        let _ = writeln!(s, "version={VERSION}");
        let _ = writeln!(s, "log={}", self.log_key_hash);
        let _ = writeln!(
            s,
            "leaf={} {}\n",
            self.leaf_key_hash,
            hex::encode(self.leaf_signature)
        );
        let _ = writeln!(s, "size={}", self.size);
        let _ = writeln!(s, "root_hash={}", self.root_hash);
        let _ = writeln!(s, "signature={}", hex::encode(self.signature));
        for c in &self.cosignatures {
            let _ = writeln!(
                s,
                "cosignature={} {} {}",
                c.key_hash,
                c.timestamp,
                hex::encode(c.signature)
            );
        }
        if self.size > 1 {
            let _ = writeln!(s, "\nleaf_index={}", self.leaf_index);
            for h in &self.path {
                let _ = writeln!(s, "node_hash={h}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KH: &str = "1643169b32bef33a3f54f8a353b87c475d19b6223cbb106390d10a29978e1cba";

    fn sig(c: char) -> String {
        c.to_string().repeat(128)
    }
    fn h(c: char) -> String {
        c.to_string().repeat(64)
    }

    /// A well-formed version 2 proof for leaf 2 of 5 (3 node hashes), two cosignatures.
    fn text() -> String {
        format!(
            "version=2\nlog={KH}\nleaf={} {}\n\nsize=5\nroot_hash={}\nsignature={}\n\
             cosignature={} 1770193051 {}\ncosignature={} 0 {}\n\n\
             leaf_index=2\nnode_hash={}\nnode_hash={}\nnode_hash={}\n",
            h('a'),
            sig('b'),
            h('c'),
            sig('d'),
            h('e'),
            sig('f'),
            h('1'),
            sig('2'),
            h('3'),
            h('4'),
            h('5')
        )
    }

    #[test]
    fn round_trip_and_fields() {
        let t = text();
        let p = SigsumProof::parse(t.as_bytes()).unwrap();
        assert_eq!(p.to_text(), t);
        assert_eq!(p.log_key_hash.to_hex(), KH);
        assert_eq!(p.short_checksum, None);
        assert_eq!((p.size, p.leaf_index, p.path.len()), (5, 2, 3));
        assert_eq!(p.cosignatures[1].timestamp, 0);
        // Size 1: no inclusion block at all.
        let one = format!(
            "version=2\nlog={KH}\nleaf={} {}\n\nsize=1\nroot_hash={}\nsignature={}\n",
            h('a'),
            sig('b'),
            h('c'),
            sig('d')
        );
        let p = SigsumProof::parse(one.as_bytes()).unwrap();
        assert_eq!((p.size, p.leaf_index, p.path.len()), (1, 0, 0));
        assert_eq!(p.to_text(), one);
    }

    #[test]
    fn version_one_is_read_and_written_as_version_two() {
        let v1 = text()
            .replacen("version=2", "version=1", 1)
            .replacen("leaf=", "leaf=beef ", 1);
        let p = SigsumProof::parse(v1.as_bytes()).unwrap();
        assert_eq!(p.short_checksum, Some([0xbe, 0xef]));
        assert_eq!(p.to_text(), text());
        // Each version has its own leaf line.
        let two_with_one = text().replacen("leaf=", "leaf=beef ", 1);
        assert!(matches!(
            SigsumProof::parse(two_with_one.as_bytes()),
            Err(ProofError::Value { line: 3, .. })
        ));
        let one_with_two = text().replacen("version=2", "version=1", 1);
        assert!(matches!(
            SigsumProof::parse(one_with_two.as_bytes()),
            Err(ProofError::Value { line: 3, .. })
        ));
    }

    fn err(t: &str) -> String {
        SigsumProof::parse(t.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn every_error_names_its_place() {
        let t = text();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "sigsum proof is empty"),
            (t.trim_end().to_owned(), "does not end in a newline"),
            (
                t.replacen("version=2", "version=3", 1),
                "version \"3\" is not supported",
            ),
            (t.replacen("version=2", "version=02", 1), "version \"02\""),
            (
                t.replacen("version=2", "Version=2", 1),
                "line 1: expected \"version=2\"",
            ),
            (
                t.replacen(KH, &KH.to_uppercase(), 1),
                "line 2: log is not 64 lowercase hex",
            ),
            (
                t.replacen(KH, &KH[1..], 1),
                "line 2: log is not 64 lowercase hex",
            ),
            (t.replacen(' ', "  ", 1), "line 3: leaf is not two values"),
            (
                t.replacen("\n\nsize", "\nsize", 1),
                "line 4: expected a blank line, found \"size=5\"",
            ),
            (
                t.replacen("\n\nsize", "\n\n\nsize", 1),
                "line 5: expected \"size=<tree size>\", found a blank line",
            ),
            (t.replacen("size=5", "size=0", 1), "line 5: tree size 0"),
            (
                t.replacen("size=5", "size=+5", 1),
                "line 5: size is not a decimal",
            ),
            (
                t.replacen("size=5", "size=9223372036854775808", 1),
                "line 5: size is not a decimal",
            ),
            (
                t.replacen("size=5", "size=5 ", 1),
                "line 5: size is not a decimal",
            ),
            (
                t.replacen("1770193051", "01770193051", 1),
                "line 8: cosignature timestamp is not a decimal",
            ),
            (
                t.replacen(&h('1'), &h('e'), 1),
                "line 9: a second cosignature by the witness of line 8",
            ),
            (
                t.replacen("cosignature=", "cosignature =", 1),
                "line 8: expected \"cosignature=...\" or a blank line",
            ),
            (
                t.replacen("leaf_index=2", "leaf_index=5", 1),
                "line 11: leaf index 5 is outside the tree of size 5",
            ),
            (
                t.replacen(&format!("node_hash={}\n", h('5')), "", 1),
                "has 2 node hashes; leaf index 2 in a tree of size 5 needs 3",
            ),
            (
                format!("{t}node_hash={}\n", h('6')),
                "line 15: more node hashes than a tree of size 5 allows (3)",
            ),
            (
                t.replacen("leaf_index=2", "leaf_index=4", 1),
                "has 3 node hashes; leaf index 4 in a tree of size 5 needs 1",
            ),
            (
                format!("{t}\n"),
                "line 15: expected \"node_hash=<hex>\", found a blank line",
            ),
            (
                t.replacen("\r", "", 1)
                    .replacen("size=5\n", "size=5\r\n", 1),
                "line 5: byte 0x0d is not printable ASCII",
            ),
            (
                t.replacen("log=", "log=\u{e9}", 1),
                "line 2: byte 0xc3 is not printable ASCII",
            ),
            (
                t.replacen("\t", "", 1).replacen("leaf=", "leaf=\t", 1),
                "line 3: byte 0x09",
            ),
            (
                t.split("\n\nleaf_index")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
                    + "\n",
                "no inclusion proof block",
            ),
            (
                t.split("\nleaf_index")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
                    + "\n",
                "ends where \"leaf_index=<index>\" should be",
            ),
            (
                t.lines().take(3).map(|l| format!("{l}\n")).collect(),
                "ends where a blank line should be",
            ),
            (
                t.replacen("size=5", "size=1", 1),
                "line 10: a tree of size 1 has no inclusion proof block, but a blank line starts one",
            ),
            (
                t.replacen("size=5", "size=1", 1)
                    .split("\nleaf_index")
                    .next()
                    .unwrap_or_default()
                    .to_owned()
                    + "\n",
                "line 10: a tree of size 1 has no inclusion proof block, but a blank line starts one",
            ),
            ("x".repeat(MAX_PROOF_SIZE + 1), "over the limit"),
        ];
        for (input, want) in cases {
            let got = err(&input);
            assert!(got.contains(want), "{input:?}\n got: {got}\nwant: {want}");
            assert!(!got.contains('\n'));
        }
    }

    #[test]
    fn cosignature_limit() {
        let mut t = text();
        let block = t.split_off(t.find("\n\nleaf_index").unwrap_or_default());
        let mut base = t
            .lines()
            .filter(|l| !l.starts_with("cosignature="))
            .map(|l| format!("{l}\n"))
            .collect::<String>();
        for i in 0..MAX_COSIGNATURES {
            base.push_str(&format!("cosignature={:064x} 1 {}\n", i, sig('0')));
        }
        let full = format!("{base}{}", &block[1..]);
        assert_eq!(
            SigsumProof::parse(full.as_bytes())
                .unwrap()
                .cosignatures
                .len(),
            MAX_COSIGNATURES
        );
        base.push_str(&format!("cosignature={} 1 {}\n", h('f'), sig('0')));
        let over = format!("{base}{}", &block[1..]);
        assert!(err(&over).contains(&format!(
            "line {}: more than 64 cosignatures",
            7 + MAX_COSIGNATURES + 1
        )));
    }
}

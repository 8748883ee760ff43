//! Sigsum test material: the proof published with the `sigsum` crate (a real proof from the Sigsum
//! test log), proofs made with our own signing code (a log, witnesses, a submitter, a Merkle tree),
//! and every systematic way to spoil a proof file.

use rget::core::cosignature;
use rget::core::digest::sha256;
use rget::core::ed25519::Seed;
use rget::core::merkle::{self, MemoryTree};
use rget::core::sigsum::key_hash;
use rget::core::sigsum::leaf::Leaf;
use rget::core::sigsum::proof::{Cosignature, SigsumProof};
use rget::core::sigsum::verify::checkpoint_text;
use std::path::{Path, PathBuf};

/// `tests/data/sigsum`.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigsum")
}

/// The published version 2 proof (Sigsum test log serviceberry, policy `sigsum-test-2025-3`).
pub fn published_proof() -> String {
    std::fs::read_to_string(data_dir().join("hello-v2.proof"))
        .expect("tests/data/sigsum/hello-v2.proof")
}

/// The data the published proof is for.
pub const PUBLISHED_DATA: &[u8] = b"Hello, Sigsum!\n";
/// The submitter key of the published proof.
pub const PUBLISHED_SIGNER: &str =
    "99ed58583e8750b20548e69df4a4e1a592379a9a66c51cd32e42fbe4e1bde78a";

pub fn published_signer() -> [u8; 32] {
    hex::decode(PUBLISHED_SIGNER)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// The published proof rewritten as a version 1 proof: same content, plus the leaf checksum's first
/// two bytes (`short` overrides them).
pub fn published_as_v1(short: Option<[u8; 2]>) -> String {
    let checksum = sha256(&sha256(PUBLISHED_DATA).0);
    let short = short.unwrap_or([checksum.0[0], checksum.0[1]]);
    published_proof()
        .replacen("version=2", "version=1", 1)
        .replacen("leaf=", &format!("leaf={} ", hex::encode(short)), 1)
}

/// A Sigsum log, its witnesses and a submitter, all from fixed seeds.
pub struct World {
    pub submitter: Seed,
    pub log: Seed,
    pub witnesses: Vec<Seed>,
}

impl World {
    pub fn new(seed: u8, witnesses: usize) -> World {
        let s = |i: usize| {
            let mut b = [seed; 32];
            b[0] = i as u8;
            Seed(b)
        };
        World {
            submitter: s(250),
            log: s(251),
            witnesses: (0..witnesses).map(s).collect(),
        }
    }

    /// `log <hex>` and `witness w<i> <hex>` lines, then `rules` (groups and the quorum line).
    pub fn policy(&self, rules: &str) -> String {
        let mut p = format!(
            "log {} https://log.example/\n",
            hex::encode(self.log.public_key())
        );
        for (i, w) in self.witnesses.iter().enumerate() {
            p.push_str(&format!("witness w{i} {}\n", hex::encode(w.public_key())));
        }
        p.push_str(rules);
        p
    }

    /// A proof for `data`: the submitter's leaf at `index` of a tree of `size` leaves (the others
    /// filler), the tree head signed by the log and cosigned at `timestamp` by `cosigners` (indexes
    /// into the witnesses; `extra` adds a cosignature by a witness no policy knows).
    pub fn proof(
        &self,
        data: &[u8],
        size: u64,
        index: u64,
        cosigners: &[usize],
        timestamp: u64,
        extra: bool,
    ) -> SigsumProof {
        assert!(index < size);
        let message = sha256(data);
        let leaf = Leaf::sign(&self.submitter, &message);
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.append(if i == index {
                leaf.merkle_hash()
            } else {
                sha256(&i.to_be_bytes())
            });
        }
        let path = if size == 1 {
            Vec::new()
        } else {
            merkle::inclusion_proof(index, size, &mut tree).expect("inclusion proof")
        };
        let mut proof = SigsumProof {
            log_key_hash: key_hash(&self.log.public_key()),
            short_checksum: None,
            leaf_key_hash: leaf.key_hash,
            leaf_signature: leaf.signature,
            size,
            root_hash: tree.root(),
            signature: [0; 64],
            cosignatures: Vec::new(),
            leaf_index: if size == 1 { 0 } else { index },
            path,
        };
        let text = checkpoint_text(&proof);
        proof.signature = self.log.sign(text.as_bytes());
        let stranger = Seed([0xee; 32]);
        let mut signers: Vec<&Seed> = cosigners.iter().map(|&i| &self.witnesses[i]).collect();
        if extra {
            signers.push(&stranger);
        }
        for w in signers {
            proof.cosignatures.push(Cosignature {
                key_hash: key_hash(&w.public_key()),
                timestamp,
                signature: w.sign(&cosignature::message(&text, timestamp)),
            });
        }
        proof
    }
}

/// What a line of a proof file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Version,
    Log,
    Leaf,
    Blank,
    Size,
    RootHash,
    Signature,
    Cosignature,
    LeafIndex,
    NodeHash,
}

pub fn line_kind(line: &str) -> LineKind {
    match line.split_once('=').map(|(k, _)| k) {
        Some("version") => LineKind::Version,
        Some("log") => LineKind::Log,
        Some("leaf") => LineKind::Leaf,
        Some("size") => LineKind::Size,
        Some("root_hash") => LineKind::RootHash,
        Some("signature") => LineKind::Signature,
        Some("cosignature") => LineKind::Cosignature,
        Some("leaf_index") => LineKind::LeafIndex,
        Some("node_hash") => LineKind::NodeHash,
        _ => LineKind::Blank,
    }
}

/// How a proof file was spoiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spoil {
    /// Line `n` (0-based) of this kind dropped.
    Drop(LineKind),
    /// Line of this kind written twice.
    Duplicate(LineKind),
    /// Two adjacent lines of these kinds swapped.
    Swap(LineKind, LineKind),
    /// One hex digit of a value replaced by another lowercase hex digit (field index in the line's
    /// space-separated values, counting from 0).
    HexDigit(LineKind, usize),
    /// A hex letter of a value written in uppercase.
    HexUpper(LineKind, usize),
    /// A non-hex character in place of a hex digit.
    HexNonHex(LineKind, usize),
    /// A hex value one digit short.
    HexShort(LineKind, usize),
    /// A hex value one digit long.
    HexLong(LineKind, usize),
    /// A space at the end of the line.
    TrailingSpace(LineKind),
    /// A space at the start of the line.
    LeadingSpace(LineKind),
    /// A tab in place of the space between values (lines with several values) or at the end.
    Tab(LineKind),
    /// A carriage return before the newline (a CRLF line).
    CarriageReturn(LineKind),
    /// The file cut after this many whole lines.
    TruncatedLines(usize),
    /// The final newline missing.
    NoFinalNewline,
    /// A blank line at the end of the file.
    ExtraBlankAtEnd,
}

/// Where hex digits of value `field` of `line` are (byte range in the line), if it has them.
fn hex_field(line: &str, field: usize) -> Option<std::ops::Range<usize>> {
    let (_, value) = line.split_once('=')?;
    let start = line.len() - value.len();
    let mut offset = start;
    for (i, v) in value.split(' ').enumerate() {
        if i == field {
            let is_hex = v.len() >= 4 && v.bytes().all(|b| b.is_ascii_hexdigit());
            let is_number = v.bytes().all(|b| b.is_ascii_digit()) && v.len() < 20;
            return (is_hex && !is_number).then_some(offset..offset + v.len());
        }
        offset += v.len() + 1;
    }
    None
}

/// Every systematic spoiling of `text` (a proof file), with what was done.
pub fn spoilings(text: &str) -> Vec<(Spoil, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let join = |ls: &[String]| ls.iter().map(|l| format!("{l}\n")).collect::<String>();
    let owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let kind = line_kind(line);
        let mut ls = owned.clone();
        ls.remove(n);
        out.push((Spoil::Drop(kind), join(&ls)));
        let mut ls = owned.clone();
        ls.insert(n, (*line).to_owned());
        out.push((Spoil::Duplicate(kind), join(&ls)));
        if n + 1 < lines.len() && lines[n] != lines[n + 1] {
            let mut ls = owned.clone();
            ls.swap(n, n + 1);
            out.push((Spoil::Swap(kind, line_kind(lines[n + 1])), join(&ls)));
        }
        for (spoil, new) in [
            (Spoil::TrailingSpace(kind), format!("{line} ")),
            (Spoil::LeadingSpace(kind), format!(" {line}")),
            (
                Spoil::Tab(kind),
                if line.contains(' ') {
                    line.replacen(' ', "\t", 1)
                } else {
                    format!("{line}\t")
                },
            ),
            (Spoil::CarriageReturn(kind), format!("{line}\r")),
        ] {
            let mut ls = owned.clone();
            ls[n] = new;
            out.push((spoil, join(&ls)));
        }
        for field in 0..3 {
            let Some(r) = hex_field(line, field) else {
                continue;
            };
            let value = &line[r.clone()];
            let edit = |new_value: String| {
                let mut ls = owned.clone();
                ls[n] = format!("{}{new_value}{}", &line[..r.start], &line[r.end..]);
                join(&ls)
            };
            // First and last digit, each replaced by another digit.
            for pos in [0, value.len() - 1] {
                let mut v = value.as_bytes().to_vec();
                v[pos] = if v[pos] == b'0' { b'7' } else { b'0' };
                out.push((
                    Spoil::HexDigit(kind, field),
                    edit(String::from_utf8(v).expect("ascii")),
                ));
            }
            if let Some(pos) = value.bytes().position(|b| (b'a'..=b'f').contains(&b)) {
                let mut v = value.as_bytes().to_vec();
                v[pos] = v[pos].to_ascii_uppercase();
                out.push((
                    Spoil::HexUpper(kind, field),
                    edit(String::from_utf8(v).expect("ascii")),
                ));
            }
            let mut v = value.as_bytes().to_vec();
            v[0] = b'g';
            out.push((
                Spoil::HexNonHex(kind, field),
                edit(String::from_utf8(v).expect("ascii")),
            ));
            out.push((Spoil::HexShort(kind, field), edit(value[1..].to_owned())));
            out.push((Spoil::HexLong(kind, field), edit(format!("{value}0"))));
        }
    }
    for n in 0..lines.len() {
        out.push((Spoil::TruncatedLines(n), join(&owned[..n])));
    }
    out.push((
        Spoil::NoFinalNewline,
        text.trim_end_matches('\n').to_owned(),
    ));
    out.push((Spoil::ExtraBlankAtEnd, format!("{text}\n")));
    out
}

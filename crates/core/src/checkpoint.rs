//! C2SP tlog-checkpoint: the note text a log signs to commit to its tree.
//!
//! ```text
//! <origin>\n
//! <tree size, ASCII decimal, no leading zeros>\n
//! <root hash, standard base64 of 32 bytes>\n
//! [<extension line>\n]*
//! ```
//!
//! Parsing is strict and `format` gives back exactly the parsed text, so a checkpoint has one
//! spelling: two different texts for one tree would let a log show different bytes to different
//! verifiers while claiming they are "the same" checkpoint.

use crate::digest::Hash;
use crate::note::{VerifierKey, snippet};
use thiserror::Error;

/// Largest tree size: Go's checkpoint parsers read the size as `int64`, so a larger size would be a
/// checkpoint the Go ecosystem (witnesses, monitors) cannot read.
pub const MAX_TREE_SIZE: u64 = i64::MAX as u64;

/// Errors in checkpoint text. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    /// The text is empty or its last byte is not `\n` (every checkpoint line ends in a newline).
    #[error("checkpoint does not end in a newline")]
    NoFinalNewline,
    /// The text holds a byte below 0x20 other than `\n` (tabs and carriage returns included), the
    /// same rule a signed note's text follows.
    #[error("checkpoint line {line}: control character 0x{byte:02x}")]
    ControlChar {
        /// The 1-based line that holds the first such byte.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The text has fewer than the three mandatory lines.
    #[error("checkpoint has {lines} lines, needs at least 3 (origin, tree size, root hash)")]
    TooShort {
        /// How many lines the text has (without its final newline).
        lines: usize,
    },
    /// The first line (the origin) is empty or made of whitespace only.
    #[error("checkpoint line 1: origin is empty or only whitespace")]
    EmptyOrigin,
    /// The second line is empty or holds something other than ASCII digits (a sign, a space).
    /// Holds the line, shortened for the message.
    #[error("checkpoint line 2: tree size {0:?} is not a decimal number")]
    SizeNotDecimal(String),
    /// The second line is digits with a leading zero (only `0` itself may start with one), which
    /// would give one tree size two spellings. Holds the line, shortened for the message.
    #[error("checkpoint line 2: tree size {0:?} has a leading zero")]
    SizeLeadingZero(String),
    /// The second line is a decimal number above [`MAX_TREE_SIZE`]. Holds the line, shortened for
    /// the message.
    #[error("checkpoint line 2: tree size {0:?} is larger than 2^63-1")]
    SizeTooLarge(String),
    /// The third line is not canonical standard base64 of exactly 32 bytes. Holds the line,
    /// shortened for the message.
    #[error("checkpoint line 3: root hash {0:?} is not canonical base64 of 32 bytes")]
    BadRoot(String),
    /// An extension line (after the root hash) is empty.
    #[error("checkpoint line {line}: extension line is empty")]
    EmptyExtension {
        /// The 1-based line number of the first empty extension line (4 or more).
        line: usize,
    },
}

/// A parsed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; the log's key name equals it.
    pub origin: String,
    /// The number of leaves in the log's tree (at most [`MAX_TREE_SIZE`]).
    pub size: u64,
    /// The Merkle tree hash (RFC 6962) of the tree's `size` leaves.
    pub root: Hash,
    /// Extension lines, each non-empty, without their newline (NOT RECOMMENDED by the spec, kept
    /// verbatim because cosignatures cover them).
    pub extensions: Vec<String>,
}

/// Parses a tree size: ASCII digits only (so no sign, no spaces), no leading zero but "0" itself,
/// at most `MAX_TREE_SIZE`.
fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::SizeNotDecimal(snippet(s)));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(CheckpointError::SizeLeadingZero(snippet(s)));
    }
    match s.parse::<u64>() {
        Ok(n) if n <= MAX_TREE_SIZE => Ok(n),
        _ => Err(CheckpointError::SizeTooLarge(snippet(s))),
    }
}

impl Checkpoint {
    /// Parses checkpoint text: the note text, final newline included, without signature lines.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        // Same character rule as signed notes, so a checkpoint that parses here can be signed.
        if let Some(i) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
            let before = text.as_bytes().get(..i).unwrap_or_default();
            return Err(CheckpointError::ControlChar {
                line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
                byte: text.as_bytes().get(i).copied().unwrap_or(0),
            });
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::NoFinalNewline)?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::TooShort { lines: lines.len() });
        };
        if origin.trim().is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_size(size)?;
        let root =
            Hash::from_base64(root).ok_or_else(|| CheckpointError::BadRoot(snippet(root)))?;
        if let Some(i) = extensions.iter().position(|e| e.is_empty()) {
            return Err(CheckpointError::EmptyExtension { line: 4 + i });
        }
        Ok(Checkpoint {
            origin: (*origin).to_owned(),
            size,
            root,
            extensions: extensions.iter().map(|e| (*e).to_owned()).collect(),
        })
    }

    /// The checkpoint text, final newline included.
    pub fn format(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Whether `key` may sign this checkpoint as its log: the log's key name equals the origin
    /// (tlog-checkpoint), so a key for one log cannot vouch for another log's checkpoints.
    pub fn origin_matches_key(&self, key: &VerifierKey) -> bool {
        key.name == self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use crate::note::ALG_ED25519;

    const SPEC: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn spec_example_round_trips() {
        let c = Checkpoint::parse(SPEC).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(
            c.root.to_base64(),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert!(c.extensions.is_empty());
        assert_eq!(c.format(), SPEC);
    }

    #[test]
    fn extensions_and_empty_tree_round_trip() {
        let c = Checkpoint {
            origin: "log.example/a".into(),
            size: 0,
            root: sha256(b""),
            extensions: vec!["ext one".into(), "— two".into()],
        };
        let text = c.format();
        assert_eq!(Checkpoint::parse(&text).unwrap(), c);
        assert!(
            text.starts_with("log.example/a\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
        );
        let max = format!("o\n{MAX_TREE_SIZE}\n{}\n", sha256(b"").to_base64());
        assert_eq!(Checkpoint::parse(&max).unwrap().size, MAX_TREE_SIZE);
    }

    #[test]
    fn every_parse_error() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        let cases = [
            (format!("o\n1\n{root}"), CheckpointError::NoFinalNewline),
            ("o\n1\n".to_string(), CheckpointError::TooShort { lines: 2 }),
            ("".to_string(), CheckpointError::NoFinalNewline),
            (format!(" \n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (
                format!("o\n012\n{root}\n"),
                CheckpointError::SizeLeadingZero("012".into()),
            ),
            (
                format!("o\n00\n{root}\n"),
                CheckpointError::SizeLeadingZero("00".into()),
            ),
            (
                format!("o\n+1\n{root}\n"),
                CheckpointError::SizeNotDecimal("+1".into()),
            ),
            (
                format!("o\n-1\n{root}\n"),
                CheckpointError::SizeNotDecimal("-1".into()),
            ),
            (
                format!("o\n\n{root}\n"),
                CheckpointError::SizeNotDecimal("".into()),
            ),
            (
                format!("o\n1 \n{root}\n"),
                CheckpointError::SizeNotDecimal("1 ".into()),
            ),
            (
                format!("o\n٣\n{root}\n"),
                CheckpointError::SizeNotDecimal("٣".into()),
            ),
            (
                format!("o\n9223372036854775808\n{root}\n"),
                CheckpointError::SizeTooLarge("9223372036854775808".into()),
            ),
            (
                format!("o\n99999999999999999999999\n{root}\n"),
                CheckpointError::SizeTooLarge("99999999999999999999999".into()),
            ),
            (
                "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".to_string(),
                CheckpointError::BadRoot("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=".into()),
            ),
            (
                "o\n1\nAAAA\n".to_string(),
                CheckpointError::BadRoot("AAAA".into()),
            ),
            (
                format!("o\n1\n{root}\next\n\n"),
                CheckpointError::EmptyExtension { line: 5 },
            ),
            (
                format!("o\n1\n{root}\n\next\n"),
                CheckpointError::EmptyExtension { line: 4 },
            ),
            (
                format!("o\n1\n{root}\r\n"),
                CheckpointError::ControlChar {
                    line: 3,
                    byte: 0x0d,
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        let msg = CheckpointError::SizeLeadingZero("012".into()).to_string();
        assert_eq!(
            msg,
            "checkpoint line 2: tree size \"012\" has a leading zero"
        );
    }

    #[test]
    fn origin_must_equal_the_key_name() {
        let c = Checkpoint::parse(SPEC).unwrap();
        let key = |name: &str| VerifierKey::new(name, ALG_ED25519, [3; 32]).unwrap();
        assert!(c.origin_matches_key(&key("example.com/behind-the-sofa")));
        assert!(!c.origin_matches_key(&key("example.com/behind-the-sofa/")));
        assert!(!c.origin_matches_key(&key("example.com")));
    }
}

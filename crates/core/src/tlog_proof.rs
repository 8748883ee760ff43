//! `c2sp.org/tlog-proof@v1`: an offline proof that an entry is in a log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]                  optional, unauthenticated
//! index <decimal leaf index>
//! <base64 inclusion proof hash>     zero or more, leaf's sibling first
//!
//! <checkpoint, verbatim, with the log signature and witness cosignatures>
//! ```
//! Published as `SHA256SUMS.tlog-proof` next to `SHA256SUMS`, so a verifier needs nothing from the log
//! itself: the checkpoint carries the signatures, the hashes bind the leaf to its root.

use crate::b64;
use crate::digest::Hash;

/// First line.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// An inclusion proof in a tree of at most 2^63 leaves has at most 63 hashes.
pub const MAX_PROOF_HASHES: usize = 63;
/// Cap on the whole file: a checkpoint with 100 signatures is under 16 KiB; the extra data is small.
pub const MAX_FILE: usize = 64 * 1024;

/// Why a `c2sp.org/tlog-proof@v1` file does not parse. Only the form is checked here; whether
/// the proof holds is `verify`'s.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TlogProofError {
    /// The file is over [`MAX_FILE`]: refused before any parsing.
    #[error("tlog-proof is larger than {MAX_FILE} bytes")]
    TooLarge,
    /// The file is not UTF-8.
    #[error("tlog-proof is not UTF-8")]
    NotUtf8,
    /// A line of the header block is not what the format requires there: the first line, the
    /// `extra` or `index` line, or a proof hash.
    #[error("tlog-proof line {line}: {reason}")]
    Line {
        /// The 1-based line number.
        line: usize,
        /// What the line should be.
        reason: &'static str,
    },
    /// More than [`MAX_PROOF_HASHES`] proof hashes: more than any tree of at most 2^63 leaves
    /// needs.
    #[error("tlog-proof has more than {MAX_PROOF_HASHES} proof hashes")]
    TooManyHashes,
    /// No blank line ends the header block, or nothing follows it: the proof carries no checkpoint.
    #[error("tlog-proof has no blank line before the checkpoint")]
    NoCheckpoint,
}

/// A parsed proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data (`extra` line), if any.
    pub extra: Option<Vec<u8>>,
    /// Zero-based leaf index.
    pub index: u64,
    /// Inclusion proof, leaf's sibling first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
}

fn line_err(line: usize, reason: &'static str) -> TlogProofError {
    TlogProofError::Line { line, reason }
}

/// Parses a decimal u64 with no sign, no leading zeros and at most i64::MAX (the largest tree size the
/// ecosystem's implementations accept).
pub fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty()
        || s.len() > 19
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= i64::MAX as u64)
}

impl TlogProof {
    /// Parses a proof file. The checkpoint is returned verbatim; it is verified separately (signature,
    /// policy) because only the caller knows which keys it trusts.
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        if bytes.len() > MAX_FILE {
            return Err(TlogProofError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| TlogProofError::NotUtf8)?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or(TlogProofError::NoCheckpoint)?;
        let mut lines = head.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(line_err(1, "first line is not c2sp.org/tlog-proof@v1")),
        }
        let (mut n, mut line) = lines.next().ok_or(line_err(2, "missing index line"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(b64::decode(e).ok_or(line_err(n, "extra is not canonical base64"))?);
            (n, line) = lines.next().ok_or(line_err(n + 1, "missing index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(line_err(n, "expected \"index <decimal>\""))?;
        let mut hashes = Vec::new();
        for (n, line) in lines {
            if hashes.len() == MAX_PROOF_HASHES {
                return Err(TlogProofError::TooManyHashes);
            }
            hashes.push(Hash::from_base64(line).ok_or(line_err(n, "not a base64 SHA-256 hash"))?);
        }
        if checkpoint.is_empty() {
            return Err(TlogProofError::NoCheckpoint);
        }
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Formats the proof file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        out.push_str(HEADER);
        out.push('\n');
        if let Some(e) = &self.extra {
            out.push_str("extra ");
            out.push_str(&b64::encode(e));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    fn sample() -> TlogProof {
        TlogProof {
            extra: None,
            index: 5,
            hashes: vec![sha256(b"a"), sha256(b"b")],
            checkpoint: b"example.com/log\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 example.com/log AAAA\n".to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        let b = p.to_bytes();
        assert!(b.starts_with(b"c2sp.org/tlog-proof@v1\nindex 5\n"));
        assert_eq!(TlogProof::parse(&b).unwrap(), p);
        let mut q = sample();
        q.extra = Some(b"hi".to_vec());
        q.hashes.clear();
        let b = q.to_bytes();
        assert!(b.starts_with(b"c2sp.org/tlog-proof@v1\nextra aGk=\nindex 5\n\n"));
        assert_eq!(TlogProof::parse(&b).unwrap(), q);
    }

    #[test]
    fn rejects_malformed() {
        let good = String::from_utf8(sample().to_bytes()).unwrap();
        for bad in [
            good.replace("tlog-proof@v1", "tlog-proof@v2"),
            good.replace("index 5", "index 05"),
            good.replace("index 5", "index -5"),
            good.replace("index 5", "index 9223372036854775808"),
            good.replace("index 5", "idx 5"),
            good.replace("\n\n", "\n"),
            good.replacen('=', "", 1),
            format!("{}\n", good.split("\n\n").next().unwrap()),
        ] {
            assert!(
                TlogProof::parse(bad.as_bytes()).is_err(),
                "accepted: {bad:?}"
            );
        }
        let many = format!(
            "{HEADER}\nindex 0\n{}\ncp\n",
            format!("{}\n", sha256(b"x").to_base64()).repeat(64)
        );
        assert_eq!(
            TlogProof::parse(many.as_bytes()),
            Err(TlogProofError::TooManyHashes)
        );
        assert_eq!(
            TlogProof::parse(&vec![b'a'; MAX_FILE + 1]),
            Err(TlogProofError::TooLarge)
        );
        assert_eq!(TlogProof::parse(b"\xff"), Err(TlogProofError::NotUtf8));
    }
}

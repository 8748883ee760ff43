//! [`LogClient`]: the HTTP API of a C2SP tlog-tiles log with rget's write side: the checkpoint,
//! tiles (as a [`TileReader`]), `lookup` and `add`. It only fetches; every answer is verified by the
//! caller (signatures, proofs from tiles).

use super::client::Client;
use super::error::{FetchError, Kind};
use crate::limits;
use rget_core::digest::Hash;
pub use rget_core::percent::percent_encode;
use rget_core::tile::{Tile, TileError, TileLevel, TileReader};

/// A log under a URL prefix (`https://log.example/rget`: the checkpoint is at `<prefix>/checkpoint`).
pub struct LogClient<'a> {
    base: String,
    fetch: &'a Client,
    /// Tiles fetched so far (to check that a second run fetches only what is new).
    pub tiles_fetched: u64,
}

impl<'a> LogClient<'a> {
    /// A client for the log at `prefix` (a trailing `/` is ignored).
    pub fn new(prefix: &str, fetch: &'a Client) -> LogClient<'a> {
        LogClient {
            base: prefix.trim_end_matches('/').to_owned(),
            fetch,
            tiles_fetched: 0,
        }
    }

    /// The URL prefix, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The current checkpoint note (unverified), at most [`limits::CHECKPOINT`] bytes.
    pub fn checkpoint(&self) -> Result<Vec<u8>, FetchError> {
        Ok(self
            .fetch
            .get_bytes(&format!("{}/checkpoint", self.base), limits::CHECKPOINT)?
            .bytes)
    }

    /// The `(index, SHA-256 of the SHA256SUMS)` of every record the log says it has for `url`,
    /// oldest first. A hint only: the caller proves each from tiles.
    pub fn lookup(&self, url: &str) -> Result<Vec<(u64, Hash)>, FetchError> {
        let u = format!("{}/lookup?url={}", self.base, percent_encode(url));
        let body = self.fetch.get_bytes(&u, limits::LOOKUP)?.bytes;
        parse_lookup(&body).map_err(|e| FetchError::BadResponse {
            url: u,
            reason: e.to_string(),
        })
    }

    /// Submits a `SHA256SUMS` published at `sums_url`; returns the log's answer, a tlog-proof
    /// (unverified), at most [`limits::PROOF`] bytes. Retried only if the connection could not be
    /// made: a submission is idempotent, but a second one after a timeout would only wait again.
    pub fn submit(&self, sums_url: &str, sums: &[u8]) -> Result<Vec<u8>, FetchError> {
        let u = format!("{}/add?url={}", self.base, percent_encode(sums_url));
        Ok(self.fetch.post_bytes(&u, sums, limits::PROOF)?.bytes)
    }
}

impl TileReader for LogClient<'_> {
    /// `GET <prefix>/<tile path>`, limited to the tile's size; 404/410 is [`TileError::NotFound`]
    /// (so a partial tile that the log has since completed falls back to the full tile).
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let path = tile.path();
        let w = u64::from(tile.width);
        let limit = match tile.level {
            TileLevel::Hash(_) => w * 32,
            TileLevel::Entries => w * (2 + rget_core::tile::MAX_ENTRY_SIZE as u64),
        };
        self.tiles_fetched += 1;
        match self
            .fetch
            .get_bytes(&format!("{}/{path}", self.base), limit)
        {
            Ok(f) => Ok(f.bytes),
            Err(e) if e.kind() == Kind::NotFound => Err(TileError::NotFound { path }),
            Err(e) => Err(TileError::Read {
                path,
                reason: e.to_string(),
            }),
        }
    }
}

/// Why a lookup answer does not parse (`line` is 1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The body is not valid UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// The body is not empty and its last byte is not `\n` (a truncated answer).
    #[error("last line does not end with a newline")]
    NoFinalNewline,
    /// Line `.0` has no space separating an index from a digest.
    #[error("line {0}: expected `<index> <sha256>`")]
    Fields(usize),
    /// Line `.0`'s index is empty, has a non-digit or a leading zero, or does not fit a `u64`.
    #[error("line {0}: index is not a canonical decimal number")]
    Index(usize),
    /// Line `.0`'s text after the first space is not exactly 64 lowercase hex digits.
    #[error("line {0}: not 64 lowercase hex digits")]
    Digest(usize),
    /// Line `.0`'s index is not greater than the previous line's (out of order or repeated).
    #[error("line {0}: indexes are not increasing")]
    NotIncreasing(usize),
}

/// Parses a lookup answer strictly: lines `<index> <64 lowercase hex>\n`, the index in canonical
/// decimal, strictly increasing.
pub fn parse_lookup(body: &[u8]) -> Result<Vec<(u64, Hash)>, LookupError> {
    let text = std::str::from_utf8(body).map_err(|_| LookupError::NotUtf8)?;
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(LookupError::NoFinalNewline);
    }
    let mut out: Vec<(u64, Hash)> = Vec::new();
    for (n, line) in (1..).zip(text.split_terminator('\n')) {
        let (i, h) = line.split_once(' ').ok_or(LookupError::Fields(n))?;
        let canonical = !i.is_empty()
            && i.bytes().all(|b| b.is_ascii_digit())
            && (i.len() == 1 || !i.starts_with('0'));
        let index: u64 = canonical
            .then(|| i.parse().ok())
            .flatten()
            .ok_or(LookupError::Index(n))?;
        let hash = Hash::from_hex(h).ok_or(LookupError::Digest(n))?;
        if out.last().is_some_and(|(prev, _)| *prev >= index) {
            return Err(LookupError::NotIncreasing(n));
        }
        out.push((index, hash));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::digest::sha256;

    #[test]
    fn lookup_answers_are_parsed_strictly() {
        let (a, b) = (sha256(b"a"), sha256(b"b"));
        assert_eq!(parse_lookup(b"").unwrap(), vec![]);
        assert_eq!(
            parse_lookup(format!("0 {a}\n17 {b}\n").as_bytes()).unwrap(),
            vec![(0, a), (17, b)]
        );
        for bad in [
            format!("0 {a}"),
            format!("01 {a}\n"),
            format!("+1 {a}\n"),
            format!("1  {a}\n"),
            format!("1 {}\n", a.to_hex().to_uppercase()),
            format!("2 {a}\n1 {b}\n"),
            format!("1 {a}\n1 {b}\n"),
            format!("1 {a} x\n"),
            format!("18446744073709551616 {a}\n"),
            format!("1 {a}\r\n"),
        ] {
            assert!(parse_lookup(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn percent_encoding() {
        assert_eq!(
            percent_encode("https://a.example/x y/SHA256SUMS?q=1"),
            "https%3A%2F%2Fa.example%2Fx%20y%2FSHA256SUMS%3Fq%3D1"
        );
    }
}

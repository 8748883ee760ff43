//! SHA-256: the one hash of rget (RFC 6962 Merkle trees, SHA256SUMS, records, key IDs).
//!
//! `sha2` selects its SHA-NI code path at run time; the workspace profiles build it at `opt-level = 3`
//! in every profile because at "z"/"s" it stops inlining and runs at a quarter of the speed.

use sha2::Digest as _;
use std::fmt;
use std::io::{self, Read, Write};

/// A SHA-256 digest. `Display` is lowercase hex, as in `SHA256SUMS`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// Parses exactly 64 lowercase hexadecimal digits (the only form GNU `sha256sum` writes; we
    /// refuse uppercase so that one digest has one spelling in logged records).
    pub fn from_hex(s: &str) -> Option<Hash> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return None;
        }
        // One pass, no allocation: auditors decode a digest per SHA256SUMS line of every record.
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(Hash(out))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 with padding (signed notes, checkpoints, proofs).
    pub fn to_base64(&self) -> String {
        crate::b64::encode(&self.0)
    }

    /// Parses canonical standard base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Option<Hash> {
        let v = crate::b64::decode(s)?;
        Some(Hash(v.try_into().ok()?))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

/// Incremental SHA-256.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// A hasher that has seen no bytes yet.
    pub fn new() -> Self {
        Sha256(sha2::Sha256::new())
    }
    /// Feeds `data` to the hash, after the bytes fed so far.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The SHA-256 digest of every byte fed so far, in order; consumes the hasher.
    pub fn finalize(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

/// SHA-256 of a byte string.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(sha2::Sha256::digest(data).into())
}

/// SHA-256 of the concatenation of several byte strings, without copying them together.
pub fn sha256_parts(parts: &[&[u8]]) -> Hash {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash(h.finalize().into())
}

/// Size of the read buffer for streaming: large enough that syscalls cost nothing next to hashing,
/// small enough that memory stays constant.
pub const STREAM_BUFFER: usize = 256 * 1024;

/// Hashes everything `reader` yields, in constant memory. Returns the digest and the byte count.
pub fn sha256_reader<R: Read>(mut reader: R) -> io::Result<(Hash, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; STREAM_BUFFER];
    let mut n = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok((h.finalize(), n)),
            Ok(k) => {
                h.update(&buf[..k]);
                n += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A writer that hashes every byte that passes through it on the way to `inner`: the single pass of
/// "hash while downloading".
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`, with nothing written or hashed yet.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
    /// The digest of everything written, and the inner writer.
    pub fn finish(self) -> (Hash, W) {
        (self.hasher.finalize(), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Hash only what the inner writer accepted, so the digest always matches what was written.
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-2 examples.
        assert_eq!(
            sha256(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_parts(&[b"a", b"", b"bc"]), sha256(b"abc"));
    }

    #[test]
    fn streaming_matches_one_shot() {
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let (h, n) = sha256_reader(&data[..]).unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(h, sha256(&data));
        let mut w = HashingWriter::new(Vec::new());
        for chunk in data.chunks(4097) {
            w.write_all(chunk).unwrap();
        }
        assert_eq!(w.written(), data.len() as u64);
        let (h2, out) = w.finish();
        assert_eq!(h2, h);
        assert_eq!(out, data);
    }

    #[test]
    fn hex_is_strict() {
        let h = sha256(b"abc");
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex(&h.to_hex().to_uppercase()), None);
        assert_eq!(Hash::from_hex(&h.to_hex()[1..]), None);
        assert_eq!(Hash::from_hex(&format!("{}0", h.to_hex())), None);
        assert_eq!(Hash::from_hex(&format!("{}g", &h.to_hex()[1..])), None);
        assert_eq!(Hash::from_base64(&h.to_base64()), Some(h));
    }
}

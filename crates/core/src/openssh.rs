//! OpenSSH Ed25519 keys, the key format of Sigsum's tools: `ssh-ed25519` public key lines
//! (`authorized_keys` syntax) and unencrypted `openssh-key-v1` private key files.
//!
//! Public key line (sshd(8) "AUTHORIZED_KEYS FILE FORMAT", RFC 8709 §4 for the blob):
//!
//! ```text
//! [sigsum-policy="<name>"] ssh-ed25519 <base64(string "ssh-ed25519" ‖ string key[32])> [comment]
//! ```
//!
//! The `sigsum-policy="<name>"` option names a built-in Sigsum policy for the key, as Sigsum's tools
//! read it; no other option is accepted (an option we do not understand could restrict the key in a
//! way we would silently ignore).
//!
//! Private key file (OpenSSH `PROTOCOL.key`): a PEM-style armor around
//!
//! ```text
//! "openssh-key-v1\0" ‖ string cipher ‖ string kdf ‖ string kdf-options ‖ uint32 N=1
//! ‖ string public-key-blob ‖ string private-section
//! private-section = uint32 check ‖ uint32 check ‖ string "ssh-ed25519" ‖ string pub[32]
//!                   ‖ string (seed[32] ‖ pub[32]) ‖ string comment ‖ padding 1, 2, 3, …
//! ```
//!
//! Only cipher `none` is read: an encrypted key is refused with a message that says so, since rget
//! has no business asking for passphrases of SSH keys. Parsing is strict (one spelling per key):
//! canonical base64, no bytes after the last field, the padding exactly `1, 2, 3, …` to a multiple of
//! 8, both check integers equal, and the public key stated three times must be the one the seed gives,
//! so a file edited to show another public key is refused rather than signing as someone else.
//!
//! The parsers take bytes and return typed one-line errors; nothing here reads files.

use crate::b64;
use crate::ed25519::Seed;
use thiserror::Error;

/// The only key type accepted.
pub const KEY_TYPE: &str = "ssh-ed25519";
/// Largest public key file accepted: hundreds of keys with long comments fit.
pub const MAX_KEY_FILE: usize = 64 * 1024;
/// Largest private key file accepted (an Ed25519 key file is about 420 bytes; room for a long
/// comment).
pub const MAX_PRIVATE_KEY_FILE: usize = 16 * 1024;
/// The policy option of a public key line, as Sigsum's tools write it.
const POLICY_OPTION: &str = "sigsum-policy=";
/// Armor of an OpenSSH private key file.
const BEGIN: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
const END: &str = "-----END OPENSSH PRIVATE KEY-----";
/// Magic at the start of the decoded private key blob.
const MAGIC: &[u8] = b"openssh-key-v1\0";
/// Line length of the base64 body as `ssh-keygen` writes it.
const PEM_LINE: usize = 70;
/// Block size of cipher `none`: the private section is padded to a multiple of it.
const BLOCK: usize = 8;

/// Errors in OpenSSH key text. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpensshError {
    /// The public key file is over [`MAX_KEY_FILE`] bytes, or the private key file over
    /// [`MAX_PRIVATE_KEY_FILE`]; refused before parsing.
    #[error("key file is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// The file's size in bytes.
        len: usize,
        /// The limit that applies to this kind of file, in bytes.
        max: usize,
    },
    /// The key file's bytes are not valid UTF-8.
    #[error("key file is not UTF-8 text")]
    NotUtf8,
    /// The public key line lacks a field: it is empty, holds only the `sigsum-policy` option, or
    /// has a key type but no base64 blob after it.
    #[error("key line has no key: want \"ssh-ed25519 <base64> [comment]\"")]
    MissingFields,
    /// The key type, on a public key line, in its blob or in a private key's private section, is
    /// not `ssh-ed25519`. Holds the type as given, cut to 64 characters.
    #[error("key type {0:?} is not supported: Sigsum keys are ssh-ed25519")]
    NotEd25519(String),
    /// The public key line's blob, or the private key file's body between its armor lines, is not
    /// canonical standard base64.
    #[error("key is not canonical base64")]
    BadBase64,
    /// The public key line starts with `-----BEGIN`: a private key (or other PEM file) was given
    /// where a public key line belongs.
    #[error("a PEM block, not a public key line (give the public key, the .pub file)")]
    NotPublic,
    /// The decoded public key blob is not exactly `string "ssh-ed25519" ‖ string key` with a key
    /// of 32 bytes (a length runs past the end, the key has another length, or bytes follow).
    #[error("key blob is not an ssh-ed25519 key of 32 bytes")]
    BadBlob,
    /// The line's first field starts with `sigsum-policy=` but is not `sigsum-policy="<name>"`
    /// with a non-empty name free of quotes, backslashes, spaces and tabs.
    #[error("sigsum-policy option is not of the form sigsum-policy=\"<name>\"")]
    BadPolicyOption,
    /// A line of the public key file holds a control character other than tab (a carriage return
    /// of a CRLF file included).
    #[error("key file line {line}: control character 0x{byte:02x} (only tab is allowed)")]
    ControlChar {
        /// The 1-based line number in the file.
        line: usize,
        /// The first such byte on that line.
        byte: u8,
    },
    /// A line of the public key file (neither blank nor a `#` comment) is no valid public key line.
    #[error("key file line {line}: {source}")]
    Line {
        /// The 1-based line number in the file.
        line: usize,
        /// What is wrong with that line.
        source: Box<OpensshError>,
    },
    /// A public key file lists the same key twice.
    #[error("key file line {line}: the key repeats the key of line {first}")]
    DuplicateKey {
        /// The 1-based line number of the repetition.
        line: usize,
        /// The 1-based line number where the key first appears.
        first: usize,
    },
    /// A public key file's lines do not all name the same `sigsum-policy` (or all name none).
    #[error(
        "key file line {line}: policy {name:?} conflicts with policy {first:?} of an earlier key"
    )]
    ConflictingPolicy {
        /// The 1-based line number of the first line that differs from the first key's.
        line: usize,
        /// The policy that line names, or `(none)`.
        name: String,
        /// The policy the file's first key names, or `(none)`.
        first: String,
    },
    /// The public key file has no key line: it is empty or holds only blank lines and comments.
    #[error("key file has no keys (only blank lines and # comments)")]
    NoKeys,
    /// The private key file's first line is not the OpenSSH `BEGIN` armor line, nor any other
    /// `-----BEGIN …-----` line.
    #[error("not an OpenSSH private key: the first line is not \"{BEGIN}\"")]
    NoArmor,
    /// The private key file starts with the armor of another PEM kind (RSA, EC, PKCS#8, …). Holds
    /// the armor's label, cut to 40 characters.
    #[error("PEM {0:?} key is not an OpenSSH private key (write one with ssh-keygen -t ed25519)")]
    OtherPem(String),
    /// The private key file's armor is broken: text after the `END` line, no `END` line, or a body
    /// line that is empty or longer than 76 characters. Holds which of these.
    #[error("private key armor: {0}")]
    Armor(&'static str),
    /// The private key's decoded body does not start with the `openssh-key-v1\0` magic.
    #[error("private key does not start with \"openssh-key-v1\"")]
    BadMagic,
    /// The private key's cipher is not `none`: it is protected by a passphrase. Holds the cipher
    /// name, cut to 40 characters.
    #[error(
        "private key is encrypted (cipher {0}): rget reads only unencrypted keys; remove the passphrase with 'ssh-keygen -p -N \"\" -f FILE' on a copy kept offline"
    )]
    Encrypted(String),
    /// The private key's cipher is `none` but its KDF is not `none` or its KDF options are not
    /// empty. Holds the KDF name, cut to 40 characters.
    #[error("private key names key derivation {0:?} but is not encrypted")]
    StrayKdf(String),
    /// The private key file's key count is not 1. Holds the count.
    #[error("private key file holds {0} keys, want exactly 1")]
    KeyCount(u32),
    /// A field of the private key's body or private section runs past the end of its data, or its
    /// secret is shorter than the 32-byte seed.
    #[error("private key is truncated")]
    Truncated,
    /// The private key's body has bytes after the private section. Holds how many.
    #[error("private key has {0} bytes after its last field")]
    TrailingData(usize),
    /// The two check integers at the start of the private section differ.
    #[error("private key check integers differ: the key is corrupt")]
    CheckMismatch,
    /// The private section's length is not a multiple of 8, or what follows the comment is not
    /// the bytes `1, 2, 3, …` (fewer than 8 of them).
    #[error("private key padding is not 1, 2, 3, … up to a multiple of 8 bytes")]
    BadPadding,
    /// The public key stated in the body, in the private section and after the seed are not all
    /// the key the seed derives, so the file claims another key than the one it signs with.
    #[error("private key's public key does not match its secret key")]
    Inconsistent,
}

/// One public key line: the key, and the Sigsum policy it names, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyLine {
    /// The raw Ed25519 public key from the line's blob.
    pub key: [u8; 32],
    /// The name in the line's `sigsum-policy="<name>"` option, without quotes; `None` without one.
    pub policy: Option<String>,
}

/// A public key file: its keys in file order (no two equal) and the one policy they name, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    /// The raw Ed25519 public keys, in file order, at least one, no two equal.
    pub keys: Vec<[u8; 32]>,
    /// The `sigsum-policy` name every key line gives; `None` when no line gives one.
    pub policy: Option<String>,
}

/// An unencrypted Ed25519 private key. `Debug` does not show the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivateKey {
    /// The 32-byte Ed25519 seed (the first half of the file's secret).
    pub seed: Seed,
    /// The Ed25519 public key, checked to be the one `seed` derives.
    pub public_key: [u8; 32],
}

/// SSH wire `string`: a big-endian u32 length and the bytes (RFC 4251 §5).
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    // Every string written here is a few dozen bytes; a comment over 4 GiB cannot reach this point
    // (the caller formats a key file of bounded size), so the cast cannot truncate in practice and
    // saturating keeps it well defined anyway.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s);
}

/// The public key blob: `string "ssh-ed25519" ‖ string key`.
fn public_blob(key: &[u8; 32]) -> Vec<u8> {
    let mut b = Vec::with_capacity(51);
    put_string(&mut b, KEY_TYPE.as_bytes());
    put_string(&mut b, key);
    b
}

/// A cursor over SSH wire data; every read past the end is `Truncated`.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], OpensshError> {
        if n > self.0.len() {
            return Err(OpensshError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, OpensshError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<&'a [u8], OpensshError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// The key of an `ssh-ed25519` blob, which must be exactly the type string and 32 key bytes.
fn parse_public_blob(blob: &[u8]) -> Result<[u8; 32], OpensshError> {
    let mut r = Reader(blob);
    let kind = r.string().map_err(|_| OpensshError::BadBlob)?;
    if kind != KEY_TYPE.as_bytes() {
        return Err(OpensshError::NotEd25519(
            String::from_utf8_lossy(kind).chars().take(64).collect(),
        ));
    }
    let key = r.string().map_err(|_| OpensshError::BadBlob)?;
    if !r.0.is_empty() {
        return Err(OpensshError::BadBlob);
    }
    key.try_into().map_err(|_| OpensshError::BadBlob)
}

/// `sigsum-policy="<name>"`: quotes around a name without quotes, backslashes or spaces (what
/// Sigsum's tools accept).
fn parse_policy_option(field: &str) -> Result<String, OpensshError> {
    let quoted = field
        .strip_prefix(POLICY_OPTION)
        .ok_or(OpensshError::BadPolicyOption)?;
    let name = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .ok_or(OpensshError::BadPolicyOption)?;
    if name.is_empty() || name.contains(['"', '\'', '\\', ' ', '\t']) {
        return Err(OpensshError::BadPolicyOption);
    }
    Ok(name.to_owned())
}

/// Parses one public key line (`[sigsum-policy="NAME"] ssh-ed25519 BASE64 [comment]`). Fields are
/// separated by spaces and tabs; the comment is ignored.
pub fn parse_public_key(line: &str) -> Result<PublicKeyLine, OpensshError> {
    let mut fields = line.split([' ', '\t']).filter(|f| !f.is_empty());
    let mut first = fields.next().ok_or(OpensshError::MissingFields)?;
    let mut policy = None;
    if first.starts_with(POLICY_OPTION) {
        policy = Some(parse_policy_option(first)?);
        first = fields.next().ok_or(OpensshError::MissingFields)?;
    }
    if first.starts_with("-----BEGIN") {
        return Err(OpensshError::NotPublic);
    }
    let b64_blob = fields.next().ok_or(OpensshError::MissingFields)?;
    if first != KEY_TYPE {
        return Err(OpensshError::NotEd25519(first.chars().take(64).collect()));
    }
    let blob = b64::decode(b64_blob).ok_or(OpensshError::BadBase64)?;
    let key = parse_public_blob(&blob)?;
    Ok(PublicKeyLine { key, policy })
}

/// Formats a public key line, `ssh-ed25519 <base64> <comment>` (no comment if it is empty).
pub fn format_public_key(key: &[u8; 32], comment: &str) -> String {
    let blob = b64::encode(&public_blob(key));
    if comment.is_empty() {
        format!("{KEY_TYPE} {blob}")
    } else {
        format!("{KEY_TYPE} {blob} {comment}")
    }
}

/// Parses a public key file: one key line per line; blank lines and lines whose first non-blank
/// character is `#` are skipped (as sshd does). Keys may not repeat, at least one is required, and
/// if any line names a policy, every line must name the same one (as Sigsum's tools require).
pub fn parse_public_keys(bytes: &[u8]) -> Result<KeyFile, OpensshError> {
    if bytes.len() > MAX_KEY_FILE {
        return Err(OpensshError::TooLarge {
            len: bytes.len(),
            max: MAX_KEY_FILE,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OpensshError::NotUtf8)?;
    let mut keys: Vec<([u8; 32], usize)> = Vec::new();
    let mut policies: Vec<(Option<String>, usize)> = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        // A carriage return or other control character is refused rather than guessed around: a
        // CRLF file would otherwise end every comment field in an invisible byte.
        if let Some(byte) = line
            .bytes()
            .find(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            return Err(OpensshError::ControlChar { line: n, byte });
        }
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parsed = parse_public_key(line).map_err(|e| OpensshError::Line {
            line: n,
            source: Box::new(e),
        })?;
        if let Some(&(_, first)) = keys.iter().find(|(k, _)| *k == parsed.key) {
            return Err(OpensshError::DuplicateKey { line: n, first });
        }
        if let Some((first, _)) = policies.first()
            && *first != parsed.policy
        {
            return Err(OpensshError::ConflictingPolicy {
                line: n,
                name: parsed.policy.unwrap_or_else(|| "(none)".to_owned()),
                first: first.clone().unwrap_or_else(|| "(none)".to_owned()),
            });
        }
        keys.push((parsed.key, n));
        policies.push((parsed.policy, n));
    }
    if keys.is_empty() {
        return Err(OpensshError::NoKeys);
    }
    Ok(KeyFile {
        keys: keys.into_iter().map(|(k, _)| k).collect(),
        policy: policies.into_iter().next().and_then(|(p, _)| p),
    })
}

/// Extracts and decodes the base64 body between the armor lines. The file is the BEGIN line, body
/// lines of at most 76 characters, the END line, and an optional final newline: nothing else.
fn dearmor(bytes: &[u8]) -> Result<Vec<u8>, OpensshError> {
    if bytes.len() > MAX_PRIVATE_KEY_FILE {
        return Err(OpensshError::TooLarge {
            len: bytes.len(),
            max: MAX_PRIVATE_KEY_FILE,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| OpensshError::NotUtf8)?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut lines = text.split('\n');
    let first = lines.next().unwrap_or_default();
    if first != BEGIN {
        // Name the other PEM kinds (RSA, EC, PKCS#8, encrypted PKCS#8) rather than just "no".
        if let Some(label) = first
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            return Err(OpensshError::OtherPem(label.chars().take(40).collect()));
        }
        return Err(OpensshError::NoArmor);
    }
    let mut body = String::with_capacity(text.len());
    let mut ended = false;
    for line in lines {
        if ended {
            return Err(OpensshError::Armor("text after the END line"));
        }
        if line == END {
            ended = true;
            continue;
        }
        if line.is_empty() || line.len() > 76 {
            return Err(OpensshError::Armor(
                "a body line is empty or longer than 76 characters",
            ));
        }
        body.push_str(line);
    }
    if !ended {
        return Err(OpensshError::Armor("no END line: the file is truncated"));
    }
    b64::decode(&body).ok_or(OpensshError::BadBase64)
}

/// Parses an unencrypted OpenSSH Ed25519 private key file.
pub fn parse_private_key(bytes: &[u8]) -> Result<PrivateKey, OpensshError> {
    let mut blob = dearmor(bytes)?;
    let parsed = parse_private_blob(&blob);
    blob.fill(0); // best effort: do not leave a copy of the seed in freed memory
    parsed
}

fn parse_private_blob(blob: &[u8]) -> Result<PrivateKey, OpensshError> {
    let mut r = Reader(blob);
    if r.take(MAGIC.len()).ok() != Some(MAGIC) {
        return Err(OpensshError::BadMagic);
    }
    let cipher = r.string()?;
    if cipher != b"none" {
        return Err(OpensshError::Encrypted(
            String::from_utf8_lossy(cipher).chars().take(40).collect(),
        ));
    }
    let kdf = r.string()?;
    let kdf_options = r.string()?;
    if kdf != b"none" || !kdf_options.is_empty() {
        return Err(OpensshError::StrayKdf(
            String::from_utf8_lossy(kdf).chars().take(40).collect(),
        ));
    }
    let count = r.u32()?;
    if count != 1 {
        return Err(OpensshError::KeyCount(count));
    }
    let public = parse_public_blob(r.string()?)?;
    let section = r.string()?;
    if !r.0.is_empty() {
        return Err(OpensshError::TrailingData(r.0.len()));
    }
    if section.len() % BLOCK != 0 {
        return Err(OpensshError::BadPadding);
    }
    let mut s = Reader(section);
    if s.u32()? != s.u32()? {
        return Err(OpensshError::CheckMismatch);
    }
    let kind = s.string()?;
    if kind != KEY_TYPE.as_bytes() {
        return Err(OpensshError::NotEd25519(
            String::from_utf8_lossy(kind).chars().take(64).collect(),
        ));
    }
    let inner_public = s.string()?;
    let secret = s.string()?;
    let _comment = s.string()?;
    // Padding: 1, 2, 3, … and fewer than one block of it.
    if s.0.len() >= BLOCK || s.0.iter().enumerate().any(|(i, &b)| b as usize != i + 1) {
        return Err(OpensshError::BadPadding);
    }
    // The secret is the 32-byte seed followed by the public key again.
    let (Ok(seed), Some(secret_public)) = (
        <[u8; 32]>::try_from(secret.get(..32).unwrap_or_default()),
        secret.get(32..),
    ) else {
        return Err(OpensshError::Truncated);
    };
    let seed = Seed(seed);
    // The public key is stated three times; all three must be the one the seed derives.
    let derived = seed.public_key();
    if inner_public != public || secret_public != public || derived != public {
        return Err(OpensshError::Inconsistent);
    }
    Ok(PrivateKey {
        seed,
        public_key: public,
    })
}

/// Formats an unencrypted OpenSSH private key file, as `ssh-keygen -t ed25519 -N ""` writes one.
/// `check` is the random check integer (the caller draws it; it only detects wrong passphrases).
pub fn format_private_key(seed: &Seed, comment: &str, check: u32) -> String {
    let public = seed.public_key();
    let mut secret = Vec::with_capacity(64);
    secret.extend_from_slice(&seed.0);
    secret.extend_from_slice(&public);
    let mut section = Vec::with_capacity(160 + comment.len());
    section.extend_from_slice(&check.to_be_bytes());
    section.extend_from_slice(&check.to_be_bytes());
    put_string(&mut section, KEY_TYPE.as_bytes());
    put_string(&mut section, &public);
    put_string(&mut section, &secret);
    put_string(&mut section, comment.as_bytes());
    let mut pad = 1u8;
    while section.len() % BLOCK != 0 {
        section.push(pad);
        pad += 1;
    }
    let mut blob = Vec::with_capacity(section.len() + 128);
    blob.extend_from_slice(MAGIC);
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"none");
    put_string(&mut blob, b"");
    blob.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut blob, &public_blob(&public));
    put_string(&mut blob, &section);
    let body = b64::encode(&blob);
    secret.fill(0);
    section.fill(0);
    blob.fill(0);
    let mut out = String::with_capacity(body.len() + 100);
    out.push_str(BEGIN);
    out.push('\n');
    for chunk in body.as_bytes().chunks(PEM_LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(END);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_round_trip_and_policy_option() {
        let key = Seed([3; 32]).public_key();
        let line = format_public_key(&key, "me@host");
        assert!(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"));
        assert_eq!(
            parse_public_key(&line),
            Ok(PublicKeyLine { key, policy: None })
        );
        let with = format!("sigsum-policy=\"sigsum-test-2025-3\" \t{line}");
        assert_eq!(
            parse_public_key(&with).unwrap().policy.as_deref(),
            Some("sigsum-test-2025-3")
        );
        for bad in [
            "sigsum-policy=x ssh-ed25519 AAAA",
            "sigsum-policy=\"\" ssh-ed25519 AAAA",
            "sigsum-policy=\"a b\" ssh-ed25519 AAAA",
        ] {
            assert_eq!(
                parse_public_key(bad),
                Err(OpensshError::BadPolicyOption),
                "{bad}"
            );
        }
    }

    #[test]
    fn private_key_round_trip() {
        let seed = Seed([5; 32]);
        let text = format_private_key(&seed, "test key", 0x01020304);
        let k = parse_private_key(text.as_bytes()).unwrap();
        assert_eq!(k.seed, seed);
        assert_eq!(k.public_key, seed.public_key());
        assert_eq!(format_private_key(&k.seed, "test key", 0x01020304), text);
        // Every length of comment exercises every padding length.
        for n in 0..16 {
            let text = format_private_key(&seed, &"c".repeat(n), 7);
            assert_eq!(parse_private_key(text.as_bytes()).unwrap().seed, seed);
        }
    }
}

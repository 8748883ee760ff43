//! C2SP signed-note (`c2sp.org/signed-note`) with Ed25519 note signatures (type 0x01), and key text
//! compatible with Go's `golang.org/x/mod/sumdb/note`, so keys made by either side work in both.
//!
//! Like Go's package, this module verifies through a [`Verifier`] trait and knows other signature
//! types only by their type byte: the `cosignature` module implements the trait for witness
//! cosignatures (type 0x04), as torchwood's cosignature verifier does for Go's `note.Verifier`.
//!
//! A signed note is
//!
//! ```text
//! <text, UTF-8, no control characters but '\n', ending in '\n'>
//! <blank line>
//! — <key name> <base64(key id[4] ‖ signature)>\n     (one or more)
//! ```
//!
//! Verification follows the spec and Go's `note.Open`: signatures whose (name, key id) is unknown are
//! ignored (and counted), a known key's signature must verify or the whole note is rejected, repeated
//! signatures by one key are dropped after the first, and at least one known signature must verify.
//!
//! Where this module is stricter than Go, it is on spellings: key ids must be lowercase hex and every
//! base64 value must be canonical, so that one key and one note have exactly one text form.

use crate::b64;
use crate::digest::sha256_parts;
use crate::ed25519::{self, Seed};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Signature type of Ed25519 note signatures (signed-note, "Ed25519 signatures"): what logs use.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of timestamped Ed25519 cosignatures (tlog-cosignature `cosignature/v1`): what
/// witnesses use.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines a note may carry. Go's `note.Open` rejects more than 100; the spec says
/// verifiers SHOULD cap the count but MUST accept at least 16.
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, checked before any parsing so that hostile input costs bounded work.
/// A checkpoint with 100 Ed25519 signature lines is under 15 KiB; 1 MiB leaves room for large
/// extension lines and post-quantum signatures while staying small enough to hold in memory.
pub const MAX_NOTE_SIZE: usize = 1024 * 1024;
/// Length of an Ed25519 public key, and of the seed it is derived from.
pub const ED25519_KEY_LEN: usize = 32;

/// "— ": U+2014 EM DASH and a space, the start of every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of Go's private key text.
const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// The key id of a key: the first four bytes, big-endian, of `SHA-256(name ‖ "\n" ‖ alg ‖ key)`
/// (signed-note, "Signatures"; tlog-cosignature makes it a MUST for type 0x04).
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let h = sha256_parts(&[name.as_bytes(), b"\n", &[alg], public_key]);
    u32::from_be_bytes([h.0[0], h.0[1], h.0[2], h.0[3]])
}

/// A valid key name is non-empty and has no Unicode whitespace and no `+` (signed-note, "Format").
/// `char::is_whitespace` is the Unicode White_Space property, the same set as Go's `unicode.IsSpace`.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// Shortens outside text for an error message, so that a megabyte of garbage yields a one-line error.
pub fn snippet(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// 1-based number of the line that contains byte `offset` of `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    let before = bytes.get(..offset).unwrap_or(bytes);
    1 + before.iter().filter(|&&b| b == b'\n').count()
}

/// Errors in key text (verifier keys and Go private keys). Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// The key text (after `PRIVATE+KEY+` for a private key) has fewer than two `+` separators.
    #[error("key is not of the form <name>+<key id>+<base64 key>")]
    Syntax,
    /// Private key text does not start with `PRIVATE+KEY+`.
    #[error("private key does not start with \"PRIVATE+KEY+\"")]
    NotPrivate,
    /// The key name (in key text, or given to make a key) is empty or holds Unicode white space
    /// or `+`. Holds the name, shortened for the message.
    #[error("key name {0:?} is empty or contains whitespace or '+'")]
    InvalidName(String),
    /// The key id field of key text is not exactly 8 lowercase hex digits (Go writes `%08x`).
    #[error("key id is not 8 lowercase hexadecimal digits")]
    BadKeyId,
    /// The key material after the second `+` is not canonical standard base64.
    #[error("key material is not canonical base64")]
    BadBase64,
    /// The key's type byte is neither 0x01 nor 0x04, or a private key's type is not 0x01 (Go's
    /// private keys exist only for note signatures). Holds the type byte.
    #[error("key type 0x{0:02x} is not supported (want 0x01 Ed25519 or 0x04 cosignature/v1)")]
    UnknownAlg(u8),
    /// The decoded key material is empty, or its bytes after the type byte are not 32.
    #[error("key of type 0x{alg:02x} has {got} key bytes, want {want}")]
    WrongLength {
        /// The type byte (0 when the material is empty).
        alg: u8,
        /// How many key bytes follow the type byte.
        got: usize,
        /// How many the type needs ([`ED25519_KEY_LEN`]).
        want: usize,
    },
    /// The key id in the key text is not the one the name, type and key hash to (for a private
    /// key, the public key derived from the seed), so the text would attribute the key wrongly.
    #[error("key id {stated:08x} does not match the key, which hashes to {computed:08x}")]
    IdMismatch {
        /// The key id the text gives.
        stated: u32,
        /// The key id computed with [`key_id`].
        computed: u32,
    },
    /// [`SignerKey::generate`] could not get a seed from the operating system's random number
    /// generator.
    #[error("cannot generate a key: the system random number generator failed")]
    Rng,
}

/// Errors in a signed note. Line numbers are 1-based and count the text, the blank line and the
/// signature lines.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    /// The note to parse, or the note [`sign`] would produce, is over [`MAX_NOTE_SIZE`] bytes.
    #[error("note is {len} bytes, over the limit of {MAX_NOTE_SIZE} bytes")]
    TooLarge {
        /// The note's size in bytes.
        len: usize,
    },
    /// The note's bytes are not valid UTF-8.
    #[error("note line {line}: not valid utf-8")]
    NotUtf8 {
        /// The line that holds the first invalid byte.
        line: usize,
    },
    /// The note (text or signature lines) holds a byte below 0x20 other than `\n`.
    #[error("note line {line}: control character 0x{byte:02x} (only newline is allowed)")]
    ControlChar {
        /// The line that holds the first such byte.
        line: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The text given to [`sign`] does not end in `\n`.
    #[error("note text does not end in a newline")]
    TextNoNewline,
    /// The note has no blank line (`\n\n`), so nothing separates its text from signatures.
    #[error("note has no blank line between its text and its signatures")]
    NoSeparator,
    /// Nothing follows the note's last blank line, or [`sign`] was given no signers.
    #[error("note has no signature lines")]
    NoSignatures,
    /// The note's signature lines do not end in `\n`.
    #[error("note does not end in a newline")]
    NoFinalNewline,
    /// The note has more than [`MAX_SIGNATURES`] signature lines, or [`sign`] was given more
    /// signers than that; counted before any line is decoded.
    #[error("note has {count} signature lines, over the limit of {MAX_SIGNATURES}")]
    TooManySignatures {
        /// The number of signature lines (or signers).
        count: usize,
    },
    /// A line after the separating blank line does not start with `— ` (U+2014 EM DASH, space).
    #[error("note line {line}: signature line does not start with an em dash and a space")]
    SigPrefix {
        /// The signature line's number.
        line: usize,
    },
    /// The key name on a signature line (up to its first space) is empty or holds white space or
    /// `+`.
    #[error("note line {line}: signature key name {name:?} is empty or contains whitespace or '+'")]
    SigName {
        /// The signature line's number.
        line: usize,
        /// The name as the line gives it, shortened for the message.
        name: String,
    },
    /// The part of a signature line after the key name and one space is not canonical standard
    /// base64 (a second space makes it so).
    #[error("note line {line}: signature is not canonical base64")]
    SigBase64 {
        /// The signature line's number.
        line: usize,
    },
    /// A signature line's decoded bytes are fewer than 5: a 4-byte key id and at least one
    /// signature byte, as Go requires.
    #[error("note line {line}: signature is {len} bytes, too short for a key id and a signature")]
    SigTooShort {
        /// The signature line's number.
        line: usize,
        /// How many bytes its base64 decodes to.
        len: usize,
    },
    /// The caller's verifier list has two keys with the same name and key id, so a signature
    /// could not be matched to one key: a configuration error, never the note's fault.
    #[error("two verifier keys share the name {name} and key id {id:08x}")]
    AmbiguousVerifier {
        /// The shared key name.
        name: String,
        /// The shared key id.
        id: u32,
    },
    /// A signature line names a known key (name and key id) but its signature does not verify
    /// over the note text; the whole note is rejected.
    #[error("note line {line}: invalid signature by known key {name}+{id:08x}")]
    InvalidSignature {
        /// The signature line's number.
        line: usize,
        /// The key name the line gives.
        name: String,
        /// The key id the line gives.
        id: u32,
    },
    /// No signature line names a known key (name and key id), so nothing vouches for the note.
    #[error(
        "note has no valid signature by a known key ({unknown} signatures by unknown keys ignored)"
    )]
    Unverified {
        /// How many signature lines name unknown keys.
        unknown: usize,
    },
}

/// Something that can check one note signature: a known (name, key id) and its public key.
pub trait Verifier {
    /// The key name, as it appears on signature lines.
    fn name(&self) -> &str;
    /// The key id, the first 4 bytes of the decoded signature.
    fn key_id(&self) -> u32;
    /// Whether `sig` (the signature bytes after the key id) is valid over the note `text`.
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool;
    /// The time a signature of this verifier's type states, if its type carries one (a
    /// `cosignature/v1` timestamp); `None` for note signatures, which state none.
    fn signed_time(&self, _sig: &[u8]) -> Option<u64> {
        None
    }
}

/// Whether `sig` is an Ed25519 note signature (type 0x01) by `public_key` over the note `text`.
pub fn verify_ed25519(public_key: &[u8; 32], text: &[u8], sig: &[u8]) -> bool {
    ed25519::verify(public_key, text, sig)
}

/// A verifier key, `<name>+<hex8 key id>+<base64(type ‖ public key)>` (signed-note "vkey"), of
/// type 0x01 (a log's note key) or 0x04 (a witness's cosigner key). It implements [`Verifier`] for
/// both types in the `cosignature` module, the one that knows how a cosignature is checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    /// The key name: non-empty, no white space, no `+`; a log's equals its checkpoints' origin.
    pub name: String,
    /// The key id: the first four bytes of `SHA-256(name ‖ "\n" ‖ alg ‖ public_key)`, big-endian.
    pub id: u32,
    /// The signature type: [`ALG_ED25519`] or [`ALG_COSIGNATURE_V1`].
    pub alg: u8,
    /// The raw Ed25519 public key.
    pub public_key: [u8; 32],
}

/// Splits `<name>+<hex8>+<base64>` and checks the name and the id's spelling. Names cannot contain
/// `+`, so the first two `+` are the separators even though base64 itself may contain `+`.
fn split_key_text(text: &str) -> Result<(&str, u32, &str), KeyError> {
    let (name, rest) = text.split_once('+').ok_or(KeyError::Syntax)?;
    let (id_hex, key_b64) = rest.split_once('+').ok_or(KeyError::Syntax)?;
    if !valid_key_name(name) {
        return Err(KeyError::InvalidName(snippet(name)));
    }
    Ok((name, parse_key_id(id_hex)?, key_b64))
}

/// Exactly 8 lowercase hex digits: what Go writes (`%08x`). Checking the characters first also
/// keeps `from_str_radix` from accepting a leading `+`.
fn parse_key_id(s: &str) -> Result<u32, KeyError> {
    if s.len() != 8 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(KeyError::BadKeyId);
    }
    u32::from_str_radix(s, 16).map_err(|_| KeyError::BadKeyId)
}

/// Splits decoded key material into its type byte and a 32-byte key.
fn split_key_material(bytes: &[u8]) -> Result<(u8, [u8; 32]), KeyError> {
    let Some((&alg, key)) = bytes.split_first() else {
        return Err(KeyError::WrongLength {
            alg: 0,
            got: 0,
            want: ED25519_KEY_LEN,
        });
    };
    if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
        return Err(KeyError::UnknownAlg(alg));
    }
    let key: [u8; 32] = key.try_into().map_err(|_| KeyError::WrongLength {
        alg,
        got: key.len(),
        want: ED25519_KEY_LEN,
    })?;
    Ok((alg, key))
}

impl VerifierKey {
    /// A verifier key for `public_key` under `name`, with its key id computed.
    pub fn new(name: &str, alg: u8, public_key: [u8; 32]) -> Result<VerifierKey, KeyError> {
        if !valid_key_name(name) {
            return Err(KeyError::InvalidName(snippet(name)));
        }
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(KeyError::UnknownAlg(alg));
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id: key_id(name, alg, &public_key),
            alg,
            public_key,
        })
    }

    /// Parses `<name>+<hex8>+<base64(type ‖ key)>`. The stated key id must be the one the name and
    /// key hash to: otherwise a key could be published under another key's id, and a note verifier
    /// would attribute signatures to the wrong key.
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, id, key_b64) = split_key_text(text)?;
        let bytes = b64::decode(key_b64).ok_or(KeyError::BadBase64)?;
        let (alg, public_key) = split_key_material(&bytes)?;
        let computed = key_id(name, alg, &public_key);
        if computed != id {
            return Err(KeyError::IdMismatch {
                stated: id,
                computed,
            });
        }
        Ok(VerifierKey {
            name: name.to_owned(),
            id,
            alg,
            public_key,
        })
    }
}

impl FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(1 + ED25519_KEY_LEN);
        material.push(self.alg);
        material.extend_from_slice(&self.public_key);
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            b64::encode(&material)
        )
    }
}

/// An Ed25519 note signing key in Go's text form, `PRIVATE+KEY+<name>+<hex8>+<base64(0x01 ‖ seed)>`.
///
/// `Display` writes that text (it is how key files are written) and so reveals the seed; `Debug`
/// does not.
#[derive(Clone, PartialEq, Eq)]
pub struct SignerKey {
    name: String,
    id: u32,
    seed: Seed,
    public_key: [u8; 32],
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("name", &self.name)
            .field("id", &format_args!("{:08x}", self.id))
            .finish_non_exhaustive()
    }
}

impl SignerKey {
    /// A signer for `seed` under `name`.
    pub fn from_seed(name: &str, seed: Seed) -> Result<SignerKey, KeyError> {
        if !valid_key_name(name) {
            return Err(KeyError::InvalidName(snippet(name)));
        }
        let public_key = seed.public_key();
        Ok(SignerKey {
            name: name.to_owned(),
            id: key_id(name, ALG_ED25519, &public_key),
            seed,
            public_key,
        })
    }

    /// A fresh key from the operating system's CSPRNG, as Go's `note.GenerateKey`.
    pub fn generate(name: &str) -> Result<SignerKey, KeyError> {
        if !valid_key_name(name) {
            return Err(KeyError::InvalidName(snippet(name)));
        }
        let seed = Seed::generate().map_err(|_| KeyError::Rng)?;
        SignerKey::from_seed(name, seed)
    }

    /// Parses Go's private key text. As in Go's `NewSigner`, the key id is checked against the
    /// public key derived from the seed, so a key file whose id was edited is refused.
    pub fn parse(text: &str) -> Result<SignerKey, KeyError> {
        let rest = text
            .strip_prefix(PRIVATE_PREFIX)
            .ok_or(KeyError::NotPrivate)?;
        let (name, id, key_b64) = split_key_text(rest)?;
        let mut bytes = b64::decode(key_b64).ok_or(KeyError::BadBase64)?;
        let split = split_key_material(&bytes);
        bytes.fill(0); // best effort: do not leave a copy of the seed in freed memory
        let (alg, seed) = split?;
        if alg != ALG_ED25519 {
            // Go's private keys exist only for type 0x01; a witness derives its 0x04 identity from
            // the same 0x01 key file (see `cosignature::verifier_key`).
            return Err(KeyError::UnknownAlg(alg));
        }
        let key = SignerKey::from_seed(name, Seed(seed))?;
        if key.id != id {
            return Err(KeyError::IdMismatch {
                stated: id,
                computed: key.id,
            });
        }
        Ok(key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id as a note signer (type 0x01).
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// The matching verifier key (type 0x01), as Go's `GenerateKey` writes it.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            alg: ALG_ED25519,
            public_key: self.public_key,
        }
    }

    /// An Ed25519 note signature over `text` (the note text, final newline included).
    pub fn sign(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            id: self.id,
            sig: self.seed.sign(text.as_bytes()).to_vec(),
        }
    }

    /// Raw Ed25519 over `msg`, for the cosignature module, which signs a domain-separated message
    /// under a different key id. Not public: signing arbitrary bytes with a log key is a footgun.
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.seed.sign(msg)
    }
}

impl FromStr for SignerKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SignerKey::parse(s)
    }
}

impl fmt::Display for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(1 + ED25519_KEY_LEN);
        material.push(ALG_ED25519);
        material.extend_from_slice(&self.seed.0);
        let encoded = b64::encode(&material);
        material.fill(0);
        write!(
            f,
            "{PRIVATE_PREFIX}{}+{:08x}+{}",
            self.name, self.id, encoded
        )
    }
}

/// One signature line: `— <name> <base64(id ‖ sig)>\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name the signature line gives.
    pub name: String,
    /// The key id: the first 4 bytes of the line's decoded base64, big-endian.
    pub id: u32,
    /// The signature bytes after the 4-byte key id.
    pub sig: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, newline included.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.sig.len());
        raw.extend_from_slice(&self.id.to_be_bytes());
        raw.extend_from_slice(&self.sig);
        format!("{SIG_PREFIX}{} {}\n", self.name, b64::encode(&raw))
    }

    /// Parses one signature line without its newline; `line` is its number, for errors.
    fn parse_line(text: &str, line: usize) -> Result<NoteSignature, NoteError> {
        let rest = text
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::SigPrefix { line })?;
        // As Go's `chop`: the name ends at the first space. A second space lands in the base64
        // and makes it invalid.
        let (name, sig_b64) = rest.split_once(' ').unwrap_or((rest, ""));
        if !valid_key_name(name) {
            return Err(NoteError::SigName {
                line,
                name: snippet(name),
            });
        }
        let raw = b64::decode(sig_b64).ok_or(NoteError::SigBase64 { line })?;
        // Go requires at least one signature byte after the key id (`len(sig) < 5`).
        let (Some(id_bytes), Some(sig)) = (
            raw.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()),
            raw.get(4..),
        ) else {
            return Err(NoteError::SigTooShort {
                line,
                len: raw.len(),
            });
        };
        if sig.is_empty() {
            return Err(NoteError::SigTooShort {
                line,
                len: raw.len(),
            });
        }
        let id = u32::from_be_bytes(id_bytes);
        Ok(NoteSignature {
            name: name.to_owned(),
            id,
            sig: sig.to_vec(),
        })
    }
}

/// A parsed (not verified) signed note. Signature lines are kept in order, duplicates included, so
/// that `to_bytes` gives back exactly the parsed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The note text, final newline included, separating blank line excluded.
    pub text: String,
    /// The signature lines after the separating blank line, in order, duplicates included.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// The encoded note: text, blank line, signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone().into_bytes();
        out.push(b'\n');
        for s in &self.signatures {
            out.extend_from_slice(s.to_line().as_bytes());
        }
        out
    }

    /// Number of the first signature line: the text's lines, then the blank line.
    fn first_signature_line(&self) -> usize {
        self.text.bytes().filter(|&b| b == b'\n').count() + 2
    }
}

/// The spec's character rule: no ASCII control characters but newline. In UTF-8 a byte below 0x20
/// is always that ASCII character, so a byte scan is exact.
fn check_controls(bytes: &[u8]) -> Result<(), NoteError> {
    match bytes.iter().position(|&b| b < 0x20 && b != b'\n') {
        Some(i) => Err(NoteError::ControlChar {
            line: line_of(bytes, i),
            byte: bytes.get(i).copied().unwrap_or(0),
        }),
        None => Ok(()),
    }
}

/// Checks a note text: no control characters but newline, ends in a newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    check_controls(text.as_bytes())?;
    if !text.ends_with('\n') {
        return Err(NoteError::TextNoNewline);
    }
    Ok(())
}

/// Parses a signed note without verifying anything.
pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
    if bytes.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge { len: bytes.len() });
    }
    let all = std::str::from_utf8(bytes).map_err(|e| NoteError::NotUtf8 {
        line: line_of(bytes, e.valid_up_to()),
    })?;
    check_controls(bytes)?;
    // The text may contain blank lines; signature lines cannot, so the LAST blank line is the
    // separator (signed-note, "Format"; Go's `bytes.LastIndex(msg, "\n\n")`).
    let split = all.rfind("\n\n").ok_or(NoteError::NoSeparator)?;
    let (Some(text), Some(sigs)) = (all.get(..=split), all.get(split + 2..)) else {
        return Err(NoteError::NoSeparator);
    };
    if sigs.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(NoteError::NoFinalNewline);
    };
    // Count before decoding anything, so that a note with a million lines costs one scan.
    let count = sigs.split('\n').count();
    if count > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count });
    }
    let mut note = Note {
        text: text.to_owned(),
        signatures: Vec::with_capacity(count),
    };
    let first = note.first_signature_line();
    for (i, line) in sigs.split('\n').enumerate() {
        note.signatures
            .push(NoteSignature::parse_line(line, first + i)?);
    }
    Ok(note)
}

/// One signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Index into the verifier slice given to `open`.
    pub verifier: usize,
    /// The time the signature states ([`Verifier::signed_time`]): a cosignature's timestamp;
    /// `None` for note signatures.
    pub timestamp: Option<u64>,
}

/// A note whose known signatures all verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The note as parsed, every signature line included (unknown and repeated ones too).
    pub note: Note,
    /// One entry per known key that signed, in signature-line order.
    pub verified: Vec<Verified>,
    /// Signature lines by unknown (name, key id) pairs, ignored as the spec requires.
    pub unknown: usize,
}

/// Parses and verifies a signed note against known keys.
pub fn open<V: Verifier>(bytes: &[u8], verifiers: &[V]) -> Result<Opened, NoteError> {
    verify_note(parse(bytes)?, verifiers)
}

/// Verifies an already parsed note (see `open`).
pub fn verify_note<V: Verifier>(note: Note, verifiers: &[V]) -> Result<Opened, NoteError> {
    // Two keys with one (name, id) would make the lookup below depend on order; Go refuses this as
    // an ambiguous verifier list, and so do we (it is a configuration error, never a note's fault).
    for (i, a) in verifiers.iter().enumerate() {
        if verifiers
            .iter()
            .skip(i + 1)
            .any(|b| a.name() == b.name() && a.key_id() == b.key_id())
        {
            return Err(NoteError::AmbiguousVerifier {
                name: a.name().to_owned(),
                id: a.key_id(),
            });
        }
    }
    let first = note.first_signature_line();
    let mut verified: Vec<Verified> = Vec::new();
    let mut unknown = 0usize;
    for (i, s) in note.signatures.iter().enumerate() {
        // Only the pair (name, id) identifies a key: a signature sharing just one of them with a
        // known key is unknown and MUST be ignored (signed-note, "Signatures").
        let Some(index) = verifiers
            .iter()
            .position(|v| v.name() == s.name && v.key_id() == s.id)
        else {
            unknown += 1;
            continue;
        };
        // Repeated signatures by one key: only the first counts, as in Go's `note.Open`.
        if verified.iter().any(|v| v.verifier == index) {
            continue;
        }
        let Some(key) = verifiers.get(index) else {
            continue;
        };
        if !key.verify(note.text.as_bytes(), &s.sig) {
            // A known key's bad signature rejects the whole note: it is either an attack or a broken
            // signer, and either way nothing in this note should be trusted.
            return Err(NoteError::InvalidSignature {
                line: first + i,
                name: s.name.clone(),
                id: s.id,
            });
        }
        verified.push(Verified {
            verifier: index,
            timestamp: key.signed_time(&s.sig),
        });
    }
    if verified.is_empty() {
        return Err(NoteError::Unverified { unknown });
    }
    Ok(Opened {
        note,
        verified,
        unknown,
    })
}

/// Signs `text` with every signer and encodes the note. The result always parses.
pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<Vec<u8>, NoteError> {
    check_text(text)?;
    if signers.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures {
            count: signers.len(),
        });
    }
    let note = Note {
        text: text.to_owned(),
        signatures: signers.iter().map(|s| s.sign(text)).collect(),
    };
    let out = note.to_bytes();
    if out.len() > MAX_NOTE_SIZE {
        return Err(NoteError::TooLarge { len: out.len() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go's `sumdb/note` package documentation and tests.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_SIG_LINE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn key(name: &str, n: u8) -> SignerKey {
        SignerKey::from_seed(name, Seed([n; 32])).unwrap()
    }

    fn go_note() -> Vec<u8> {
        format!("{GO_TEXT}\n{GO_SIG_LINE}").into_bytes()
    }

    #[test]
    fn go_signer_key_signs_the_documented_note() {
        let k = SignerKey::parse(GO_SKEY).unwrap();
        assert_eq!(k.name(), "PeterNeumann");
        assert_eq!(k.key_id(), 0xc74f20a3);
        assert_eq!(k.to_string(), GO_SKEY);
        assert_eq!(k.verifier_key().to_string(), GO_VKEY);
        assert_eq!(sign(GO_TEXT, &[&k]).unwrap(), go_note());
    }

    #[test]
    fn go_note_opens() {
        let v = VerifierKey::parse(GO_VKEY).unwrap();
        let opened = open(&go_note(), std::slice::from_ref(&v)).unwrap();
        assert_eq!(opened.note.text, GO_TEXT);
        assert_eq!(
            opened.verified,
            vec![Verified {
                verifier: 0,
                timestamp: None
            }]
        );
        assert_eq!(opened.unknown, 0);
    }

    #[test]
    fn debug_hides_the_seed() {
        let k = SignerKey::parse(GO_SKEY).unwrap();
        let d = format!("{k:?}");
        assert!(d.contains("PeterNeumann") && d.contains("c74f20a3"), "{d}");
        assert!(!d.contains("AYEKF") && !d.contains("129, 10"), "{d}");
    }

    #[test]
    fn signer_key_rejects_manglings() {
        // As Go's TestNewSigner: no proper substring and no single-byte change parses.
        let b = GO_SKEY.as_bytes();
        for i in 0..b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(SignerKey::parse(s).is_err(), "{s}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(SignerKey::parse(s).is_err(), "{s}");
            }
            m[i] = m[i].wrapping_sub(1);
        }
    }

    #[test]
    fn verifier_key_rejects_manglings() {
        let b = GO_VKEY.as_bytes();
        for i in 0..b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(VerifierKey::parse(s).is_err(), "{s}");
                }
            }
        }
        let mut m = b.to_vec();
        for i in 0..m.len() {
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(VerifierKey::parse(s).is_err(), "{s}");
            }
            m[i] = m[i].wrapping_sub(1);
        }
    }

    #[test]
    fn verifier_key_errors_name_the_problem() {
        // Go's own bad keys: wrong length and unknown algorithm, each with an adjusted key id.
        // Go's wrong-length example is also non-canonical base64, which we refuse first.
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
            ),
            Err(KeyError::BadBase64)
        );
        let long = [&[ALG_ED25519][..], &[7u8; 33]].concat();
        let long_key = format!(
            "n+{:08x}+{}",
            key_id("n", ALG_ED25519, &long[1..]),
            b64::encode(&long)
        );
        assert_eq!(
            VerifierKey::parse(&long_key),
            Err(KeyError::WrongLength {
                alg: 1,
                got: 33,
                want: 32
            })
        );
        assert_eq!(
            VerifierKey::parse("n+00000000+"),
            Err(KeyError::WrongLength {
                alg: 0,
                got: 0,
                want: 32
            })
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(KeyError::UnknownAlg(0x65))
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(KeyError::IdMismatch {
                stated: 0xc74f20a4,
                computed: 0xc74f20a3
            })
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(KeyError::BadKeyId)
        );
        assert_eq!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T="
            ),
            Err(KeyError::BadBase64)
        );
        assert_eq!(
            VerifierKey::parse("Peter Neumann+c74f20a3+AA=="),
            Err(KeyError::InvalidName("Peter Neumann".into()))
        );
        assert_eq!(VerifierKey::parse("nothing"), Err(KeyError::Syntax));
        assert_eq!(SignerKey::parse(GO_VKEY).unwrap_err(), KeyError::NotPrivate);
        // A 0x04 key is a verifier key only; Go's private key format has no such type.
        let w_id = key_id("w", ALG_COSIGNATURE_V1, &key("w", 1).public_key());
        let fake = format!(
            "PRIVATE+KEY+w+{w_id:08x}+{}",
            b64::encode(&[&[ALG_COSIGNATURE_V1][..], &[1u8; 32]].concat())
        );
        assert_eq!(
            SignerKey::parse(&fake).unwrap_err(),
            KeyError::UnknownAlg(4)
        );
    }

    #[test]
    fn key_names() {
        assert!(valid_key_name("example.com/foo"));
        assert!(valid_key_name("ünïcode"));
        for bad in [
            "",
            "a b",
            "a+b",
            "a\tb",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{2028}b",
        ] {
            assert!(!valid_key_name(bad), "{bad:?}");
        }
        assert!(SignerKey::generate("a b").is_err());
    }

    #[test]
    fn generated_keys_round_trip() {
        let k = SignerKey::generate("example.com/log").unwrap();
        assert_eq!(SignerKey::parse(&k.to_string()).unwrap(), k);
        let v = k.verifier_key();
        assert_eq!(VerifierKey::parse(&v.to_string()).unwrap(), v);
        assert!(v.to_string().split('+').nth(2).unwrap().starts_with('A'));
        assert_ne!(SignerKey::generate("example.com/log").unwrap(), k);
    }

    #[test]
    fn parse_to_bytes_is_identity() {
        let (a, b) = (key("a.example", 1), key("b.example", 2));
        let text = "first\n\nthird line after a blank one\n\n";
        let bytes = sign(text, &[&a, &b]).unwrap();
        let note = parse(&bytes).unwrap();
        assert_eq!(note.text, text);
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(note.to_bytes(), bytes);
        let opened = open(&bytes, &[b.verifier_key()]).unwrap();
        assert_eq!(opened.unknown, 1);
        assert_eq!(opened.verified.len(), 1);
    }

    #[test]
    fn structural_errors() {
        let sig = GO_SIG_LINE;
        let cases: Vec<(Vec<u8>, NoteError)> = vec![
            (b"text\n".to_vec(), NoteError::NoSeparator),
            (b"text\n\n".to_vec(), NoteError::NoSignatures),
            (
                format!("{GO_TEXT}\n{}", sig.trim_end()).into_bytes(),
                NoteError::NoFinalNewline,
            ),
            (
                format!("a\r\nb\n\n{sig}").into_bytes(),
                NoteError::ControlChar {
                    line: 1,
                    byte: 0x0d,
                },
            ),
            (
                format!("a\nb\n\n{sig}\t").into_bytes(),
                NoteError::ControlChar {
                    line: 5,
                    byte: 0x09,
                },
            ),
            (
                [&b"a\n\xff\n\n"[..], sig.as_bytes()].concat(),
                NoteError::NotUtf8 { line: 2 },
            ),
            (
                "a\n\n- PeterNeumann AAAAAAA=\n".as_bytes().to_vec(),
                NoteError::SigPrefix { line: 3 },
            ),
            (
                "a\n\n\u{2014}  AAAAAAA=\n".as_bytes().to_vec(),
                NoteError::SigName {
                    line: 3,
                    name: String::new(),
                },
            ),
            (
                "a\n\n\u{2014} x+y AAAAAAA=\n".as_bytes().to_vec(),
                NoteError::SigName {
                    line: 3,
                    name: "x+y".into(),
                },
            ),
            (
                "a\n\n\u{2014} x\n".as_bytes().to_vec(),
                NoteError::SigTooShort { line: 3, len: 0 },
            ),
            (
                "a\n\n\u{2014} x AAAAAAA= \n".as_bytes().to_vec(),
                NoteError::SigBase64 { line: 3 },
            ),
            (
                "a\n\n\u{2014} x AAAAAA==\n".as_bytes().to_vec(),
                NoteError::SigTooShort { line: 3, len: 4 },
            ),
            (
                "a\n\n\u{2014} x AAA=\n".as_bytes().to_vec(),
                NoteError::SigTooShort { line: 3, len: 2 },
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                parse(&bytes),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let big = vec![b'a'; MAX_NOTE_SIZE + 1];
        assert_eq!(
            parse(&big),
            Err(NoteError::TooLarge {
                len: MAX_NOTE_SIZE + 1
            })
        );
    }

    #[test]
    fn non_canonical_base64_is_rejected() {
        // Same bytes as Go's signature with the last character changed so the trailing bits are
        // non-zero: Go's lenient decoder would take it; a canonical-only verifier must not, or one
        // note would have two spellings.
        let good = go_note();
        let bad = String::from_utf8(good.clone())
            .unwrap()
            .replace("JnAM=", "JnAN=");
        assert_eq!(parse(bad.as_bytes()), Err(NoteError::SigBase64 { line: 4 }));
        let unpadded = String::from_utf8(good).unwrap().replace("JnAM=", "JnAM");
        assert_eq!(
            parse(unpadded.as_bytes()),
            Err(NoteError::SigBase64 { line: 4 })
        );
    }

    #[test]
    fn sign_rejects_bad_text() {
        let k = key("k", 1);
        assert_eq!(sign("no newline", &[&k]), Err(NoteError::TextNoNewline));
        assert_eq!(
            sign("tab\there\n", &[&k]),
            Err(NoteError::ControlChar { line: 1, byte: 9 })
        );
        assert_eq!(sign("ok\n", &[]), Err(NoteError::NoSignatures));
    }

    #[test]
    fn signature_count_limits() {
        let k = key("log.example", 7);
        let text = "hello\n";
        let own = k.sign(text).to_line();
        let grease = |i: usize| {
            NoteSignature {
                name: format!("grease{i}.example"),
                id: i as u32,
                sig: vec![i as u8; 64],
            }
            .to_line()
        };
        let build = |n: usize| {
            let mut s = format!("{text}\n{own}");
            for i in 1..n {
                s.push_str(&grease(i));
            }
            s.into_bytes()
        };
        for n in [16, MAX_SIGNATURES] {
            let opened = open(&build(n), &[k.verifier_key()]).unwrap();
            assert_eq!(opened.unknown, n - 1);
        }
        assert_eq!(
            open(&build(MAX_SIGNATURES + 1), &[k.verifier_key()]),
            Err(NoteError::TooManySignatures {
                count: MAX_SIGNATURES + 1
            })
        );
        let many: Vec<SignerKey> = (0..=MAX_SIGNATURES)
            .map(|i| key(&format!("k{i}"), 1))
            .collect();
        let refs: Vec<&SignerKey> = many.iter().collect();
        assert!(matches!(
            sign(text, &refs),
            Err(NoteError::TooManySignatures { .. })
        ));
    }

    #[test]
    fn known_key_bad_signature_rejects_the_note() {
        let (log, other) = (key("log.example", 1), key("other.example", 2));
        let mut note = parse(&sign("hello\n", &[&other, &log]).unwrap()).unwrap();
        note.signatures[1].sig[0] ^= 1;
        let bytes = note.to_bytes();
        let err = open(&bytes, &[log.verifier_key(), other.verifier_key()]).unwrap_err();
        assert_eq!(
            err,
            NoteError::InvalidSignature {
                line: 4,
                name: "log.example".into(),
                id: log.key_id()
            }
        );
        assert!(err.to_string().contains("log.example+"), "{err}");
        // Without the log's key the tampered line is an unknown one, and `other` still verifies.
        assert_eq!(open(&bytes, &[other.verifier_key()]).unwrap().unknown, 1);
    }

    #[test]
    fn same_name_or_same_id_alone_is_unknown() {
        let log = key("log.example", 1);
        let impostor = key("log.example", 2); // same name, different key, so different id
        let bytes = sign("hello\n", &[&impostor, &log]).unwrap();
        let opened = open(&bytes, &[log.verifier_key()]).unwrap();
        assert_eq!(opened.unknown, 1);
        // Same id, different name: a line claiming log's id under another name is unknown too.
        let mut note = parse(&bytes).unwrap();
        note.signatures[0].id = log.key_id();
        note.signatures[0].name = "elsewhere".into();
        assert_eq!(
            open(&note.to_bytes(), &[log.verifier_key()])
                .unwrap()
                .unknown,
            1
        );
    }

    #[test]
    fn duplicates_count_once_and_only_the_first_is_checked() {
        let log = key("log.example", 1);
        let line = log.sign("hello\n");
        let mut bad = line.clone();
        bad.sig[5] ^= 0x80;
        let note = Note {
            text: "hello\n".into(),
            signatures: vec![line.clone(), line, bad],
        };
        let opened = open(&note.to_bytes(), &[log.verifier_key()]).unwrap();
        assert_eq!(opened.verified.len(), 1);
        assert_eq!(opened.note.signatures.len(), 3);
    }

    #[test]
    fn nothing_known_verified_is_an_error() {
        let bytes = sign("hello\n", &[&key("a", 1)]).unwrap();
        assert_eq!(
            open(&bytes, &[key("b", 2).verifier_key()]),
            Err(NoteError::Unverified { unknown: 1 })
        );
        assert_eq!(
            open::<VerifierKey>(&bytes, &[]),
            Err(NoteError::Unverified { unknown: 1 })
        );
    }

    #[test]
    fn ambiguous_verifiers_are_refused() {
        let a = key("a", 1).verifier_key();
        let bytes = sign("hello\n", &[&key("a", 1)]).unwrap();
        assert_eq!(
            open(&bytes, &[a.clone(), a.clone()]),
            Err(NoteError::AmbiguousVerifier {
                name: "a".into(),
                id: a.id
            })
        );
    }

    #[test]
    fn error_messages_are_one_lowercase_line() {
        let errs: Vec<String> = vec![
            NoteError::SigBase64 { line: 3 }.to_string(),
            NoteError::TooLarge { len: 5 }.to_string(),
            KeyError::BadKeyId.to_string(),
            parse(format!("a\n\n\u{2014} {} AAAAAAA=\n", "x+".repeat(1000)).as_bytes())
                .unwrap_err()
                .to_string(),
        ];
        for e in errs {
            assert!(!e.contains('\n') && !e.ends_with('.'), "{e}");
            assert!(e.chars().next().unwrap().is_lowercase(), "{e}");
            assert!(e.len() < 200, "{e}");
        }
    }
}

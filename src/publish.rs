//! What a publisher does with a minisign secret key, below the CLI: read the key file (made by
//! `minisign -G` or `rget keygen`), and sign a `SHA256SUMS` as `minisign -S` does, with the URL it
//! is published at bound in the trusted comment. `rget keygen` and `rget release` use it, and so does
//! the demo's "stolen release key" attack.
//!
//! Keys and signatures come from the `minisign` crate (the tool's author's Rust implementation);
//! every signature made here is checked by the core's verifier before anything is written
//! (`rget release`), so a damaged key cannot publish a signature clients refuse.

use crate::secret::{self, Secret, SecretError};
use minisign::{PublicKey, SecretKey, SecretKeyBox};
use rget_core::escape::io_reason;
use rget_core::exit::ExitCode;
use rget_core::{b64, minisig, trusted_comment};
use std::path::{Path, PathBuf};

/// The name every release list is published and signed under.
pub use rget_core::url::SUMS_FILE;

/// What `minisign -S` writes as a signature's untrusted comment.
const UNTRUSTED_COMMENT: &str = "signature from minisign secret key";

/// The largest secret key file read: the real ones are about 350 bytes.
const MAX_KEY_FILE: u64 = 16 * 1024;

/// The binary secret key: algorithm (2), KDF (2), checksum algorithm (2), salt (32), opslimit (8),
/// memlimit (8), key ID (8), Ed25519 secret key (64), checksum (32).
const SECRET_KEY_BYTES: usize = 158;
const KDF_NONE: [u8; 2] = [0, 0];
const KDF_SCRYPT: [u8; 2] = *b"Sc";

/// A secret key ready to sign, and its public key.
pub struct SigningKey {
    /// The decrypted secret key, as the `minisign` crate signs with it.
    pub sk: SecretKey,
    /// Its public key, derived from the secret key.
    pub pk: PublicKey,
    /// The public key as the verification core reads it, to check what was signed.
    pub core_pk: minisig::PublicKey,
}

/// Why a secret key file gives no key. Each message is one line that names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be opened or read.
    #[error("{}: {reason}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The system's error, in words.
        reason: String,
    },
    /// Others could replace the key (or it is not a file): see `crate::secret`.
    #[error("{0}")]
    NotPrivate(String),
    /// The file is larger than `MAX_KEY_FILE` (16 KiB; a real key is about 350 bytes).
    #[error("{}: larger than {MAX_KEY_FILE} bytes, not a minisign secret key", path.display())]
    TooLarge {
        /// The key file.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not a minisign secret key (not UTF-8 text)", path.display())]
    NotText {
        /// The key file.
        path: PathBuf,
    },
    /// The file has no second line, its second line is not a base64 Ed25519 secret key of the
    /// right length, it names an unknown encryption algorithm, or no public key can be derived from
    /// the decrypted key.
    #[error("{}: not a minisign secret key: {why}", path.display())]
    NotAKey {
        /// The key file.
        path: PathBuf,
        /// Which of those it is.
        why: String,
    },
    /// An unencrypted key that the `minisign` crate refuses to load (a checksum that does not
    /// match, say).
    #[error("{}: not a usable minisign secret key: {reason}", path.display())]
    Unusable {
        /// The key file.
        path: PathBuf,
        /// The `minisign` crate's error.
        reason: String,
    },
    /// The key is encrypted (scrypt) and no password was given.
    #[error("{}: the secret key is encrypted, and no password was given", path.display())]
    PasswordNeeded {
        /// The key file.
        path: PathBuf,
    },
    /// The password given does not decrypt the key (its checksum fails).
    #[error("{}: wrong password for this secret key", path.display())]
    WrongPassword {
        /// The key file.
        path: PathBuf,
    },
    /// Decrypting the key failed for another reason than a wrong password.
    #[error("{}: cannot decrypt the secret key: {reason}", path.display())]
    Decrypt {
        /// The key file.
        path: PathBuf,
        /// The `minisign` crate's error.
        reason: String,
    },
}

impl KeyFileError {
    /// A wrong password is a failed check; a file that cannot be read is local I/O; a missing
    /// password is the command line's; anything else means the file is not a usable key.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            KeyFileError::Read { .. } | KeyFileError::NotPrivate(_) => ExitCode::LocalIo,
            KeyFileError::WrongPassword { .. } => ExitCode::VerificationFailed,
            KeyFileError::PasswordNeeded { .. } => ExitCode::Usage,
            KeyFileError::TooLarge { .. }
            | KeyFileError::NotText { .. }
            | KeyFileError::NotAKey { .. }
            | KeyFileError::Unusable { .. }
            | KeyFileError::Decrypt { .. } => ExitCode::Malformed,
        }
    }
}

/// A secret key file as read, not yet decrypted.
pub struct SecretKeyFile {
    path: PathBuf,
    text: String,
    /// The decoded key line.
    bytes: Vec<u8>,
}

impl SecretKeyFile {
    /// Reads a minisign secret key file and checks its layout, without decrypting it.
    pub fn read(path: &Path) -> Result<SecretKeyFile, KeyFileError> {
        let path = path.to_path_buf();
        let raw = secret::read(&path, Secret::Key, MAX_KEY_FILE).map_err(|e| match e {
            SecretError::TooLarge { .. } => KeyFileError::TooLarge { path: path.clone() },
            SecretError::Io { source, .. } => KeyFileError::Read {
                path: path.clone(),
                reason: io_reason(&source),
            },
            e @ SecretError::NotPrivate { .. } => KeyFileError::NotPrivate(e.to_string()),
        })?;
        let Ok(text) = String::from_utf8(raw) else {
            return Err(KeyFileError::NotText { path });
        };
        let not_a_key = |why: &str| KeyFileError::NotAKey {
            path: path.clone(),
            why: why.to_owned(),
        };
        let line = text
            .lines()
            .nth(1)
            .ok_or_else(|| not_a_key("no key line after the comment"))?;
        let bytes = b64::decode(line.trim_end_matches('\r'))
            .filter(|b| b.len() == SECRET_KEY_BYTES && b.starts_with(b"Ed"))
            .ok_or_else(|| not_a_key("the key line is not a base64 Ed25519 secret key"))?;
        if ![KDF_NONE, KDF_SCRYPT].contains(&kdf(&bytes)) {
            return Err(not_a_key("unknown encryption algorithm"));
        }
        Ok(SecretKeyFile { path, text, bytes })
    }

    /// Whether [`SecretKeyFile::unlock`] needs a password.
    pub fn is_encrypted(&self) -> bool {
        kdf(&self.bytes) == KDF_SCRYPT
    }

    /// The key, decrypted with `password` if it is encrypted.
    pub fn unlock(self, password: Option<String>) -> Result<SigningKey, KeyFileError> {
        let sk = if self.is_encrypted() {
            let Some(password) = password else {
                return Err(KeyFileError::PasswordNeeded { path: self.path });
            };
            SecretKeyBox::from_string(&self.text)
                .and_then(|b| b.into_secret_key(Some(password)))
                .map_err(|e| match e.kind() {
                    minisign::ErrorKind::Verify => KeyFileError::WrongPassword {
                        path: self.path.clone(),
                    },
                    _ => KeyFileError::Decrypt {
                        path: self.path.clone(),
                        reason: e.to_string(),
                    },
                })?
        } else {
            self.unencrypted()?
        };
        let not_a_key = |e: &dyn std::fmt::Display| KeyFileError::NotAKey {
            path: self.path.clone(),
            why: e.to_string(),
        };
        let pk = PublicKey::from_secret_key(&sk).map_err(|e| not_a_key(&e))?;
        let core_pk =
            minisig::PublicKey::parse(&public_key_line(&pk)).map_err(|e| not_a_key(&e))?;
        Ok(SigningKey { sk, pk, core_pk })
    }

    /// An unencrypted key. minisign 0.11 writes those (`-G -W`) with an all-zero checksum, which the
    /// crate's loader rejects as corrupted, so such a key is taken as it is: a damaged one is still
    /// caught, because every signature is verified with the public key inside the secret key before
    /// anything is written. A key with a checksum has it checked.
    fn unencrypted(&self) -> Result<SecretKey, KeyFileError> {
        let checksum = self.bytes.get(SECRET_KEY_BYTES - 32..).unwrap_or_default();
        let loaded = if checksum.iter().all(|b| *b == 0) {
            SecretKey::from_bytes(&self.bytes)
        } else {
            SecretKeyBox::from_string(&self.text)
                .and_then(SecretKeyBox::into_unencrypted_secret_key)
        };
        loaded.map_err(|e| KeyFileError::Unusable {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

/// The key derivation function of a decoded secret key line (bytes 2 and 3).
fn kdf(bytes: &[u8]) -> [u8; 2] {
    [
        bytes.get(2).copied().unwrap_or(0),
        bytes.get(3).copied().unwrap_or(0),
    ]
}

/// The base64 line of a public key, as `minisign -P` takes it.
pub fn public_key_line(pk: &PublicKey) -> String {
    pk.to_base64()
}

/// A signing that did not happen.
#[derive(Debug, thiserror::Error)]
#[error("signing failed: {0}")]
pub struct SignError(String);

/// Signs `sums` as `minisign -S` does: prehashed (BLAKE2b-512), trusted comment with the time and
/// the file name, which verifiers such as `rget-bootstrap` require to be `SHA256SUMS`, and then the
/// canonical URL it is published at, which clients require to be the URL they fetched it from (so an
/// older release's signed list cannot be served in this one's place). Returns the `.minisig` text.
pub fn sign_sums(key: &SigningKey, sums: &str, sums_url: &str) -> Result<String, SignError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let trusted = trusted_comment::format(now, SUMS_FILE, sums_url);
    let sig = minisign::sign(
        Some(&key.pk),
        &key.sk,
        sums.as_bytes(),
        Some(&trusted),
        Some(UNTRUSTED_COMMENT),
    )
    .map_err(|e| SignError(e.to_string()))?;
    Ok(sig.into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_no_keys_say_why_with_their_exit_code() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("k");
        let err = |text: &[u8]| {
            std::fs::write(&path, text).unwrap();
            SecretKeyFile::read(&path).map(|_| ()).unwrap_err()
        };
        let e = err(b"untrusted comment: x\n");
        assert_eq!(e.exit_code(), ExitCode::Malformed);
        assert!(
            e.to_string()
                .ends_with("not a minisign secret key: no key line after the comment"),
            "{e}"
        );
        assert_eq!(err(b"\xff\xfe").exit_code(), ExitCode::Malformed);
        assert_eq!(err(&[b'x'; 20_000]).exit_code(), ExitCode::Malformed);
        let e = SecretKeyFile::read(&t.path().join("missing"))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(e.exit_code(), ExitCode::LocalIo);
        assert!(
            e.to_string().ends_with(": no such file or directory"),
            "{e}"
        );
    }
}

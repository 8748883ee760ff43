//! Per-log durable state: `DIR/logs/<lowercase hex SHA-256(origin)>` holds the latest checkpoint this
//! witness cosigned for that log, as a signed note: the checkpoint text, the log's verified
//! signature(s) and this witness's `cosignature/v1` line. It is exactly what
//! `GET /<hex>/checkpoint` serves.
//!
//! The file is replaced with `write_atomic` (temporary file, fsync, rename, fsync of the directory)
//! before the witness answers a request, so after a crash the file holds the last checkpoint the
//! witness answered with, or a newer one it cosigned but had not yet answered with; never an older
//! one, never a torn one. No file means the witness never cosigned for the log (size 0).

use rget_core::checkpoint::{Checkpoint, CheckpointError};
use rget_core::digest::{Hash, sha256};
use rget_core::merkle::empty_root;
use rget_core::note::{self, NoteError, VerifierKey};
use rget_fetch::durable::write_atomic;
use std::io;
use std::path::{Path, PathBuf};

/// The latest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    /// The tree size of the checkpoint cosigned (0 when nothing was).
    pub size: u64,
    /// Its root hash (the empty tree's when nothing was cosigned).
    pub root: Hash,
    /// The cosigned checkpoint note as stored; `None` when nothing was ever cosigned.
    pub note: Option<Vec<u8>>,
    /// The timestamp of this witness's cosignature in `note` (POSIX seconds; 0 without a note).
    pub cosigned_at: u64,
}

impl LogState {
    /// The state of a log never cosigned: size 0, the empty tree's root.
    pub fn empty() -> LogState {
        LogState {
            size: 0,
            root: empty_root(),
            note: None,
            cosigned_at: 0,
        }
    }
}

/// Why a state file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file exists but could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The state file.
        path: String,
        /// The system's error.
        source: io::Error,
    },
    /// The file does not parse as a signed note.
    #[error("{path}: not a signed note: {source}")]
    Note {
        /// The state file.
        path: String,
        /// Why it does not parse.
        source: NoteError,
    },
    /// The note's text does not parse as a checkpoint.
    #[error("{path}: not a checkpoint: {source}")]
    Checkpoint {
        /// The state file.
        path: String,
        /// Why it does not parse.
        source: CheckpointError,
    },
    /// The checkpoint's origin is not the log's whose hash names the file (a misplaced file).
    #[error(
        "{path}: holds a checkpoint of origin {origin:?}, which does not hash to its file name"
    )]
    WrongOrigin {
        /// The state file.
        path: String,
        /// The origin the checkpoint has.
        origin: String,
    },
    /// The note carries no cosignature by this witness's key that verifies.
    #[error("{path}: no valid cosignature by this witness's key ({source})")]
    NotCosigned {
        /// The state file.
        path: String,
        /// Why verification failed.
        source: NoteError,
    },
}

/// The file name of a log's state and its monitoring path: lowercase hex SHA-256 of the origin.
pub fn origin_hash(origin: &str) -> String {
    sha256(origin.as_bytes()).to_hex()
}

/// `DIR/logs`.
pub fn logs_dir(dir: &Path) -> PathBuf {
    dir.join("logs")
}

/// `DIR/logs/<hex SHA-256(origin)>`.
pub fn path(dir: &Path, origin: &str) -> PathBuf {
    logs_dir(dir).join(origin_hash(origin))
}

/// Reads the state of `origin`, checking that the file is a checkpoint of that origin cosigned by
/// `cosigner` (this witness), so a damaged or misplaced file stops the witness instead of silently
/// resetting or replacing what it vouched for.
pub fn load(dir: &Path, origin: &str, cosigner: &VerifierKey) -> Result<LogState, StateError> {
    let p = path(dir, origin);
    let shown = || p.display().to_string();
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(LogState::empty()),
        Err(source) => {
            return Err(StateError::Io {
                path: shown(),
                source,
            });
        }
    };
    parse(bytes, origin, cosigner, &shown())
}

/// The checks of [`load`] on the bytes of a state file shown as `path` in errors: a signed note whose
/// checkpoint has origin `origin` and carries a valid cosignature by `cosigner`. Pure, so that it can
/// be fuzzed (`fuzz/`).
pub fn parse(
    bytes: Vec<u8>,
    origin: &str,
    cosigner: &VerifierKey,
    path: &str,
) -> Result<LogState, StateError> {
    let shown = || path.to_owned();
    let parsed = note::parse(&bytes).map_err(|source| StateError::Note {
        path: shown(),
        source,
    })?;
    let cp = Checkpoint::parse(&parsed.text).map_err(|source| StateError::Checkpoint {
        path: shown(),
        source,
    })?;
    if cp.origin != origin {
        return Err(StateError::WrongOrigin {
            path: shown(),
            origin: cp.origin,
        });
    }
    let opened = note::verify_note(parsed, std::slice::from_ref(cosigner)).map_err(|source| {
        StateError::NotCosigned {
            path: shown(),
            source,
        }
    })?;
    Ok(LogState {
        size: cp.size,
        root: cp.root,
        note: Some(bytes),
        cosigned_at: opened
            .verified
            .first()
            .and_then(|v| v.timestamp)
            .unwrap_or(0),
    })
}

/// Replaces the state of `origin` with `note` atomically and durably.
pub fn store(dir: &Path, origin: &str, note: &[u8]) -> io::Result<()> {
    write_atomic(&path(dir, origin), note, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rget_core::cosignature;
    use rget_core::ed25519::Seed;
    use rget_core::note::SignerKey;

    #[test]
    fn round_trip_and_checks() {
        let t = tempfile::tempdir().unwrap();
        let log = SignerKey::from_seed("log.example/a", Seed([1; 32])).unwrap();
        let w = SignerKey::from_seed("witness.example/w", Seed([2; 32])).unwrap();
        let cv = cosignature::verifier_key(&w);
        assert_eq!(
            load(t.path(), "log.example/a", &cv).unwrap(),
            LogState::empty()
        );
        let text = format!("log.example/a\n3\n{}\n", sha256(b"x").to_base64());
        let mut n = note::parse(&note::sign(&text, &[&log]).unwrap()).unwrap();
        n.signatures.push(cosignature::sign(&w, &text, 17).unwrap());
        store(t.path(), "log.example/a", &n.to_bytes()).unwrap();
        let s = load(t.path(), "log.example/a", &cv).unwrap();
        assert_eq!((s.size, s.root, s.cosigned_at), (3, sha256(b"x"), 17));
        assert_eq!(s.note, Some(n.to_bytes()));
        // Under another origin's name, or without our cosignature, it is refused.
        std::fs::copy(path(t.path(), "log.example/a"), path(t.path(), "other")).unwrap();
        assert!(matches!(
            load(t.path(), "other", &cv),
            Err(StateError::WrongOrigin { .. })
        ));
        n.signatures.pop();
        store(t.path(), "log.example/a", &n.to_bytes()).unwrap();
        assert!(matches!(
            load(t.path(), "log.example/a", &cv),
            Err(StateError::NotCosigned { .. })
        ));
        std::fs::write(path(t.path(), "log.example/a"), b"junk").unwrap();
        assert!(matches!(
            load(t.path(), "log.example/a", &cv),
            Err(StateError::Note { .. })
        ));
    }
}

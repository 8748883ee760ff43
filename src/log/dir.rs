//! The log directory on disk: its paths and `rget log init`. Its files are written with
//! `rget_fetch::durable`, which also holds the process lock (`DIR/lock`).

use rget_core::note::{SignerKey, VerifierKey};
use rget_core::tile::Tile;
use rget_fetch::durable::{create_dirs, write_atomic};
use std::io;
use std::path::{Path, PathBuf};

/// Paths inside a log directory (see the module documentation of `rget::log`).
#[derive(Clone, Debug)]
pub struct LogDir {
    root: PathBuf,
}

impl LogDir {
    /// The log directory at `root` (nothing is read or created).
    pub fn new(root: impl Into<PathBuf>) -> LogDir {
        LogDir { root: root.into() }
    }
    /// The log directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `log.key`: the log's private signing key (mode 0600); its presence marks an initialised log.
    pub fn key(&self) -> PathBuf {
        self.root.join("log.key")
    }
    /// `log.pub`: the log's note verifier key, for clients' policies.
    pub fn verifier_key(&self) -> PathBuf {
        self.root.join("log.pub")
    }
    /// `tree-state`: the size and root of the tree sequenced so far.
    pub fn state(&self) -> PathBuf {
        self.root.join("tree-state")
    }
    /// The lock file: held (`durable::lock_exclusive`) by the one process that sequences the log.
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }
    /// The published tree: what a static web server serves.
    pub fn public(&self) -> PathBuf {
        self.root.join("public")
    }
    /// `public/checkpoint`: the latest published (signed, cosigned) checkpoint.
    pub fn checkpoint(&self) -> PathBuf {
        self.public().join("checkpoint")
    }
    /// A tile's file. Tile paths come from `Tile::path`, which only produces `tile/...` with decimal
    /// and `x`-prefixed segments, so no path built here can leave `public/`.
    pub fn tile(&self, tile: &Tile) -> PathBuf {
        self.public().join(tile.path())
    }
}

/// Creates a directory of the log and its missing parents, durably.
fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    create_dirs(dir, 0o755)
}

/// Why `rget log init` could not create a log.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory already has a `log.key`: overwriting it would lose the log's key and fork
    /// its history (holds the directory).
    #[error("{0} already holds a log (log.key exists); refusing to overwrite it")]
    Exists(String),
    /// The origin is not a valid note key name (holds the origin).
    #[error("origin {0:?} is not a valid key name (non-empty, no spaces, no '+')")]
    BadOrigin(String),
    /// The key given to `init` is named otherwise than the origin: its checkpoints would not
    /// verify under the origin's key.
    #[error(
        "the key's name {key:?} differs from the origin {origin:?} (the log key's name must equal the checkpoint origin)"
    )]
    KeyNameMismatch {
        /// The key's name.
        key: String,
        /// The origin asked for.
        origin: String,
    },
    /// The system's random number generator failed, or the new key could not be named.
    #[error("cannot generate a key: {0}")]
    Rng(String),
    /// A directory or file of the log cannot be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// A fresh key for a Sigsum log: its name, the checkpoint origin, is `sigsum.org/v1/tree/<hex
/// SHA-256 of its public key>`, so that the note signature over a checkpoint is Sigsum's signature
/// over the tree head.
pub fn sigsum_key() -> Result<SignerKey, InitError> {
    let seed = rget_core::ed25519::Seed::generate().map_err(|e| InitError::Rng(e.to_string()))?;
    let origin = rget_core::sigsum::origin(&rget_core::sigsum::key_hash(&seed.public_key()));
    SignerKey::from_seed(&origin, seed).map_err(|e| InitError::Rng(e.to_string()))
}

/// Whether a log key makes a Sigsum log: its name is the Sigsum origin of its own public key.
pub fn is_sigsum_key(vkey: &VerifierKey) -> bool {
    rget_core::sigsum::is_sigsum_log(&rget_core::policy::PolicyLog {
        vkey: vkey.clone(),
        url: None,
    })
}

/// Creates a log directory: the private key (mode 0600), its verifier key, and an empty tree state.
/// The first checkpoint (of the empty tree) is signed and published by the sequencer when it opens the
/// log (`sequencer::Log::open`), which `rget log init` does right after this.
pub fn init(dir: &LogDir, origin: &str, key: Option<SignerKey>) -> Result<VerifierKey, InitError> {
    let io_err = |p: &Path| {
        let path = p.display().to_string();
        move |source| InitError::Io { path, source }
    };
    if !rget_core::note::valid_key_name(origin) {
        return Err(InitError::BadOrigin(origin.to_string()));
    }
    let key = match key {
        Some(k) if k.name() != origin => {
            return Err(InitError::KeyNameMismatch {
                key: k.name().to_string(),
                origin: origin.to_string(),
            });
        }
        Some(k) => k,
        None => SignerKey::generate(origin).map_err(|e| InitError::Rng(e.to_string()))?,
    };
    create_dirs_durably(dir.root()).map_err(io_err(dir.root()))?;
    if dir.key().exists() {
        return Err(InitError::Exists(dir.root().display().to_string()));
    }
    let vkey = key.verifier_key();
    create_dirs_durably(&dir.public()).map_err(io_err(&dir.public()))?;
    write_atomic(&dir.verifier_key(), format!("{vkey}\n").as_bytes(), 0o644)
        .map_err(io_err(&dir.verifier_key()))?;
    let state = super::state::TreeState {
        size: 0,
        root: rget_core::merkle::empty_root(),
    };
    write_atomic(&dir.state(), state.format().as_bytes(), 0o644).map_err(io_err(&dir.state()))?;
    // The key last: its presence is what marks a directory as an initialised log.
    write_atomic(&dir.key(), format!("{key}\n").as_bytes(), 0o600).map_err(io_err(&dir.key()))?;
    Ok(vkey)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn init_refuses_to_overwrite_and_checks_names() {
        let t = tempfile::tempdir().unwrap();
        let d = LogDir::new(t.path().join("log"));
        let v = init(&d, "log.example/test", None).unwrap();
        assert_eq!(v.name, "log.example/test");
        assert_eq!(
            fs::metadata(d.key()).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(matches!(
            init(&d, "log.example/test", None),
            Err(InitError::Exists(_))
        ));
        let d2 = LogDir::new(t.path().join("log2"));
        assert!(matches!(
            init(&d2, "bad origin", None),
            Err(InitError::BadOrigin(_))
        ));
        let k = SignerKey::generate("other.example").unwrap();
        assert!(matches!(
            init(&d2, "log.example/x", Some(k)),
            Err(InitError::KeyNameMismatch { .. })
        ));
    }
}

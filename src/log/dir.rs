//! The log directory on disk: paths, atomic durable writes, the process lock, `rget log init`.

use rget_core::note::{SignerKey, VerifierKey};
use rget_core::tile::Tile;
use rget_fetch::durable::{create_dirs, parent_of, write_temp};
pub use rget_fetch::durable::{sync_dir, write_atomic};
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Paths inside a log directory (see the module documentation of `rget::log`).
#[derive(Clone, Debug)]
pub struct LogDir {
    root: PathBuf,
}

impl LogDir {
    pub fn new(root: impl Into<PathBuf>) -> LogDir {
        LogDir { root: root.into() }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("log.key")
    }
    pub fn verifier_key(&self) -> PathBuf {
        self.root.join("log.pub")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("tree-state")
    }
    pub fn lock(&self) -> PathBuf {
        self.root.join("lock")
    }
    /// The published tree: what a static web server serves.
    pub fn public(&self) -> PathBuf {
        self.root.join("public")
    }
    pub fn checkpoint(&self) -> PathBuf {
        self.public().join("checkpoint")
    }
    /// A tile's file. Tile paths come from `Tile::path`, which only produces `tile/...` with decimal
    /// and `x`-prefixed segments, so no path built here can leave `public/`.
    pub fn tile(&self, tile: &Tile) -> PathBuf {
        self.public().join(tile.path())
    }

    /// Takes the exclusive lock that makes this process the only sequencer of the log. Two sequencers
    /// on one directory could sign two different trees of the same size.
    pub fn lock_exclusive(&self) -> io::Result<File> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.lock())?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is locked by another rget process",
                    self.lock().display()
                ),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Creates a directory of the log and its missing parents, durably.
fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    create_dirs(dir, 0o755)
}

/// Writes several files so that, when this returns, all of them are durable under their final names,
/// with two file-system-wide barriers instead of one fsync per file and per directory: every file is
/// written to a temporary name, `syncfs` makes their data durable, all are renamed, and a second
/// `syncfs` makes the renames durable. A name never points at bytes that are not on disk, and a crash
/// leaves either the old files or the new ones (plus temporaries, swept on the next open).
///
/// `syncfs` flushes the whole file system the log lives on; that is the right trade for a log that owns
/// its volume and writes a handful of small files per batch (see BENCHMARKS.md).
pub fn write_many(files: &[(PathBuf, Vec<u8>)], mode: u32) -> io::Result<()> {
    let mut dirs = BTreeSet::new();
    let mut temps = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let parent = parent_of(path);
        if dirs.insert(parent.to_path_buf()) {
            create_dirs_durably(parent)?;
        }
        match write_temp(path, bytes, mode) {
            Ok((t, _)) => temps.push((t, path)),
            Err(e) => {
                for (t, _) in temps {
                    let _ = fs::remove_file(t);
                }
                return Err(e);
            }
        }
    }
    let Some((first, _)) = temps.first() else {
        return Ok(());
    };
    let anchor = File::open(parent_of(first))?;
    rustix::fs::syncfs(&anchor)?;
    for (tmp, path) in &temps {
        fs::rename(tmp, path)?;
    }
    rustix::fs::syncfs(&anchor)?;
    Ok(())
}

/// Removes temporary files left by a process that was killed mid-write, anywhere in the log
/// directory. Only called while holding the log lock.
pub fn sweep_temporaries(dir: &Path) -> io::Result<usize> {
    rget_fetch::durable::sweep_temporaries(dir, true)
}

/// Why `rget log init` could not create a log.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} already holds a log (log.key exists); refusing to overwrite it")]
    Exists(String),
    #[error("origin {0:?} is not a valid key name (non-empty, no spaces, no '+')")]
    BadOrigin(String),
    #[error(
        "the key's name {key:?} differs from the origin {origin:?} (the log key's name must equal the checkpoint origin)"
    )]
    KeyNameMismatch { key: String, origin: String },
    #[error("cannot generate a key: {0}")]
    Rng(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
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
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn write_many_is_complete_and_leaves_no_temporaries() {
        let t = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Vec<u8>)> = (0..5)
            .map(|i| (t.path().join(format!("a/b{i}/f{i}")), vec![i as u8; 100]))
            .collect();
        write_many(&files, 0o644).unwrap();
        for (p, b) in &files {
            assert_eq!(&fs::read(p).unwrap(), b);
        }
        write_atomic(&files[0].0, b"new", 0o600).unwrap();
        assert_eq!(fs::read(&files[0].0).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&files[0].0).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(sweep_temporaries(t.path()).unwrap(), 0);
        fs::write(t.path().join("a/.x.tmp-1-2"), b"junk").unwrap();
        assert_eq!(sweep_temporaries(t.path()).unwrap(), 1);
    }

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

    #[test]
    fn lock_is_exclusive() {
        let t = tempfile::tempdir().unwrap();
        let d = LogDir::new(t.path());
        let held = d.lock_exclusive().unwrap();
        assert!(d.lock_exclusive().is_err());
        drop(held);
        assert!(d.lock_exclusive().is_ok());
    }
}

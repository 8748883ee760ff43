//! Checkpoint memory (trust rule 4): the last verified checkpoint of every log this host has seen, so
//! that a log cannot roll back or fork without the client noticing.
//!
//! Layout of the state directory (`--state DIR`, else `$XDG_STATE_HOME/rget`, default
//! `~/.local/state/rget`; every directory mode 0700):
//!
//! ```text
//! logs/<hex sha256 of origin>/checkpoint   the last verified checkpoint note, verbatim; its first
//!                                          line is the origin, so the file says which log it is
//! logs/<hex sha256 of origin>/audit        `rget audit` progress: "<origin>\n<size>\n<root base64>\n"
//! logs/<hex sha256 of origin>/lock         flock(2) target serialising read-check-update
//! evidence/<hex>-<unix time>-<fork|rollback>[-n]/stored.checkpoint, new.checkpoint
//! ```
//!
//! The directory name is a hash because origins are arbitrary strings (slashes, dots, case) that must
//! not become paths; the note inside keeps the readable origin, and reads check that it matches.
//!
//! Concurrency: every update holds an exclusive `flock` on the log's `lock` file from reading the
//! stored checkpoint to replacing it, so two rget processes cannot both accept checkpoints on the
//! strength of the same stored one and then overwrite each other (which could move the state back,
//! or store two checkpoints never compared with each other). Writes are atomic and durable (temporary
//! file in the same directory, fsync, rename, fsync of the directory), so a reader without the lock
//! sees the old or the new checkpoint, never a mix. The consistency proof is fetched while the lock is
//! held: the caller's network timeouts bound how long another process waits.
//!
//! The stored checkpoint is local, already verified state: it is parsed strictly but not re-verified
//! against today's policy (a key rotation in the policy must not make the client forget what it saw).
//! A stored file that does not parse is an error, never a silent "first use" again.

use crate::client::trust::Env;
use crate::core::checkpoint::Checkpoint;
use crate::core::digest::{Hash, sha256};
use crate::core::merkle::{self, HashSource, MerkleError};
use crate::core::note::{self, MAX_NOTE_SIZE};
use crate::core::policy::VerifiedCheckpoint;
use crate::durable::{self, sync_dir};
use std::cmp::Ordering;
use std::fmt;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Largest audit record read (an origin line, a size and a root).
const MAX_AUDIT_FILE: usize = 64 * 1024;

/// Where the evidence of a fork or rollback was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    Saved(PathBuf),
    /// Saving failed (full disk, permissions): the error still stands, and says this.
    NotSaved(String),
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Saved(p) => write!(f, "both checkpoints kept as evidence in {}", p.display()),
            Evidence::NotSaved(e) => write!(f, "could NOT keep the checkpoints as evidence: {e}"),
        }
    }
}

/// Errors of the checkpoint memory. Fork and rollback are trust failures; the rest are local problems
/// or a log that could not serve a proof.
#[derive(Debug, Error)]
pub enum StateError {
    #[error(
        "no state directory: --state was not given and neither XDG_STATE_HOME nor HOME is set; pass --state DIR"
    )]
    NoStateDir,
    #[error("{path}: cannot {op}: {err}")]
    Io {
        path: String,
        op: &'static str,
        err: io::Error,
    },
    #[error(
        "{path}: stored checkpoint is unreadable ({reason}); move it aside to trust the log's next checkpoint anew"
    )]
    Corrupt { path: String, reason: String },
    #[error("log {origin}: cannot get a consistency proof from tree size {old} to {new}: {reason}")]
    Proof {
        origin: String,
        old: u64,
        new: u64,
        reason: String,
    },
    #[error(
        "FORK of log {origin}: its checkpoint of size {new_size} is not consistent with the checkpoint of size \
         {stored_size} this host verified before ({detail}); {evidence}"
    )]
    Fork {
        origin: String,
        stored_size: u64,
        new_size: u64,
        detail: String,
        evidence: Evidence,
    },
    #[error(
        "ROLLBACK of log {origin}: it serves a checkpoint of size {new_size}, older than the checkpoint of size \
         {stored_size} this host verified before; {evidence}"
    )]
    Rollback {
        origin: String,
        stored_size: u64,
        new_size: u64,
        evidence: Evidence,
    },
    #[error("{path}: audit record of log {origin} {reason}")]
    Audit {
        path: String,
        origin: String,
        reason: String,
    },
}

/// Source of consistency proofs between two tree sizes of one log, for example computed from the log's
/// tiles with `TileHashSource` and `merkle::consistency_proof`. Closures
/// `FnMut(old, new) -> Result<Vec<Hash>, E>` implement it.
pub trait ConsistencyProver {
    type Error: fmt::Display;
    /// The RFC 9162 consistency proof from the tree of `old` leaves to that of `new` (0 < old < new).
    fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, Self::Error>;
}

impl<F, E> ConsistencyProver for F
where
    F: FnMut(u64, u64) -> Result<Vec<Hash>, E>,
    E: fmt::Display,
{
    type Error = E;
    fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, E> {
        self(old, new)
    }
}

/// Proofs computed from any [`HashSource`] (a `TileHashSource` over a tree of at least `new` leaves,
/// a `MemoryTree`). Untrusted sources are fine: a wrong hash makes the proof fail, never pass.
pub struct FromHashSource<S>(pub S);

impl<S: HashSource> ConsistencyProver for FromHashSource<S> {
    type Error = MerkleError;
    fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, MerkleError> {
        merkle::consistency_proof(old, new, &mut self.0)
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Nothing was stored for this log: the checkpoint is now stored (trust on first use).
    FirstUse { size: u64 },
    /// The stored checkpoint is this very tree.
    Unchanged { size: u64 },
    /// The checkpoint extends the stored one (consistency proof verified) and replaced it.
    Advanced { from: u64, to: u64 },
    /// An older checkpoint (from a proof file) is consistent with the newer stored one, which stays.
    TiedToNewer { size: u64, newest: u64 },
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::FirstUse { size } => write!(
                f,
                "first checkpoint of this log seen by this host (size {size}), trusted on first use"
            ),
            Observed::Unchanged { size } => {
                write!(f, "same checkpoint as last seen (size {size})")
            }
            Observed::Advanced { from, to } => {
                write!(
                    f,
                    "consistent with the last checkpoint seen (size {from} -> {to})"
                )
            }
            Observed::TiedToNewer { size, newest } => write!(
                f,
                "checkpoint of size {size} is consistent with the newest one seen (size {newest})"
            ),
        }
    }
}

/// `rget audit` progress for one log: the tree it last fully audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditMark {
    pub size: u64,
    pub root: Hash,
}

/// A log with a stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLog {
    pub origin: String,
    pub checkpoint: Checkpoint,
    /// The stored note, verbatim.
    pub note: Vec<u8>,
}

/// Whether an older checkpoint is a problem in itself (a log's latest) or expected (a proof file's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Latest,
    Tie,
}

/// The checkpoint memory in one state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

fn show(p: &Path) -> String {
    p.display().to_string()
}

fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> StateError {
    let path = show(path);
    move |err| StateError::Io { path, op, err }
}

/// The client's state is private to its user: directories 0700, files 0600.
fn create_dirs(dir: &Path) -> io::Result<()> {
    durable::create_dirs(dir, 0o700)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    durable::write_atomic(path, bytes, 0o600)
}

/// Removes temporaries a killed process left in `dir`. Only called with the log's lock held, so no
/// live writer's temporary can be removed.
fn sweep_temporaries(dir: &Path) {
    let _ = durable::sweep_temporaries(dir, false);
}

/// Reads `path` if it exists, at most `max` bytes.
fn read_optional(path: &Path, max: usize) -> Result<Option<Vec<u8>>, StateError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path, "open")(e)),
    };
    let mut buf = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path, "read"))?;
    if buf.len() > max {
        return Err(StateError::Corrupt {
            path: show(path),
            reason: format!("larger than {max} bytes"),
        });
    }
    Ok(Some(buf))
}

/// Parses a stored checkpoint note (signatures are not re-verified: see the module documentation) and
/// checks that it belongs to `origin`. Public for the fuzz target of the state files (`fuzz/`).
#[doc(hidden)]
pub fn parse_stored(
    path: &Path,
    bytes: &[u8],
    origin: Option<&str>,
) -> Result<Checkpoint, StateError> {
    let corrupt = |reason: String| StateError::Corrupt {
        path: show(path),
        reason,
    };
    let parsed = note::parse(bytes).map_err(|e| corrupt(e.to_string()))?;
    let cp = Checkpoint::parse(&parsed.text).map_err(|e| corrupt(e.to_string()))?;
    if let Some(origin) = origin
        && cp.origin != origin
    {
        return Err(corrupt(format!(
            "it is a checkpoint of {:?}, not of {origin:?}",
            cp.origin
        )));
    }
    Ok(cp)
}

/// The file-system-safe name of a log: lowercase hex SHA-256 of its origin.
pub fn log_key(origin: &str) -> String {
    sha256(origin.as_bytes()).to_hex()
}

impl StateDir {
    /// `--state DIR` if given, else `$XDG_STATE_HOME/rget`, else `~/.local/state/rget`.
    pub fn resolve(flag: Option<&Path>, env: &Env) -> Result<PathBuf, StateError> {
        match flag {
            Some(p) => Ok(p.to_path_buf()),
            None => env.state_dir().ok_or(StateError::NoStateDir),
        }
    }

    /// Opens (creating it, mode 0700, if needed) the state directory at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<StateDir, StateError> {
        let root = root.into();
        create_dirs(&root).map_err(io_err(&root, "create the state directory"))?;
        Ok(StateDir { root })
    }

    /// [`StateDir::resolve`] then [`StateDir::open`].
    pub fn open_default(flag: Option<&Path>, env: &Env) -> Result<StateDir, StateError> {
        Self::open(Self::resolve(flag, env)?)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn logs_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    fn log_dir(&self, origin: &str) -> PathBuf {
        self.logs_dir().join(log_key(origin))
    }

    /// The file holding the last verified checkpoint of `origin`.
    pub fn checkpoint_path(&self, origin: &str) -> PathBuf {
        self.log_dir(origin).join("checkpoint")
    }

    /// The file holding the audit progress of `origin`.
    pub fn audit_path(&self, origin: &str) -> PathBuf {
        self.log_dir(origin).join("audit")
    }

    /// The audit progress of `origin` for one URL prefix (each prefix is audited, and remembered,
    /// on its own: a new prefix starts from the beginning of the log).
    pub fn audit_prefix_path(&self, origin: &str, prefix: &str) -> PathBuf {
        self.log_dir(origin)
            .join(format!("audit-{}", sha256(prefix.as_bytes()).to_hex()))
    }

    /// The stored audit progress for (`origin`, `prefix`), verbatim; its format is `rget audit`'s.
    pub fn read_audit(&self, origin: &str, prefix: &str) -> Result<Option<Vec<u8>>, StateError> {
        let _lock = self.lock(origin)?;
        let path = self.audit_prefix_path(origin, prefix);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path, "read the audit progress")(e)),
        }
    }

    /// Replaces the audit progress for (`origin`, `prefix`) atomically and durably, under the log's lock.
    pub fn write_audit(&self, origin: &str, prefix: &str, bytes: &[u8]) -> Result<(), StateError> {
        let _lock = self.lock(origin)?;
        let path = self.audit_prefix_path(origin, prefix);
        write_atomic(&path, bytes).map_err(io_err(&path, "write the audit progress"))
    }

    /// The directory where fork and rollback evidence is kept.
    pub fn evidence_dir(&self) -> PathBuf {
        self.root.join("evidence")
    }

    /// Creates the log's directory and takes its exclusive lock (blocking until other rget
    /// processes are done with this log). The lock is released when the returned file is dropped.
    fn lock(&self, origin: &str) -> Result<File, StateError> {
        let dir = self.log_dir(origin);
        create_dirs(&dir).map_err(io_err(&dir, "create the log's state directory"))?;
        let path = dir.join("lock");
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path, "open the lock file"))?;
        f.lock().map_err(io_err(&path, "lock"))?;
        sweep_temporaries(&dir);
        Ok(f)
    }

    /// The stored checkpoint note of `origin`, verbatim.
    pub fn stored(&self, origin: &str) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.read_stored(origin)?.map(|(bytes, _)| bytes))
    }

    /// The stored checkpoint of `origin`, parsed.
    pub fn stored_checkpoint(&self, origin: &str) -> Result<Option<Checkpoint>, StateError> {
        Ok(self.read_stored(origin)?.map(|(_, cp)| cp))
    }

    fn read_stored(&self, origin: &str) -> Result<Option<(Vec<u8>, Checkpoint)>, StateError> {
        let path = self.checkpoint_path(origin);
        let Some(bytes) = read_optional(&path, MAX_NOTE_SIZE)? else {
            return Ok(None);
        };
        let cp = parse_stored(&path, &bytes, Some(origin))?;
        Ok(Some((bytes, cp)))
    }

    /// Every log with a stored checkpoint, sorted by origin (for `rget audit`).
    pub fn logs(&self) -> Result<Vec<StoredLog>, StateError> {
        let dir = self.logs_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir, "list")(e)),
        };
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(io_err(&dir, "list"))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            // Only our own entries: 64 lowercase hex digits.
            if name.len() != 64 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                continue;
            }
            let path = e.path().join("checkpoint");
            // A directory with only a lock: a first use that failed before storing anything.
            let Some(note) = read_optional(&path, MAX_NOTE_SIZE)? else {
                continue;
            };
            let checkpoint = parse_stored(&path, &note, None)?;
            if log_key(&checkpoint.origin) != name {
                return Err(StateError::Corrupt {
                    path: show(&path),
                    reason: format!(
                        "its origin {:?} does not hash to its directory name",
                        checkpoint.origin
                    ),
                });
            }
            out.push(StoredLog {
                origin: checkpoint.origin.clone(),
                checkpoint,
                note,
            });
        }
        out.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }

    /// A log's current checkpoint, just verified under the policy: store it on first use, replace the
    /// stored one if a consistency proof shows it extends it, and refuse a fork (inconsistent, or same
    /// size with another root) or a rollback (smaller than the stored one), keeping both as evidence.
    pub fn observe_latest<P: ConsistencyProver>(
        &self,
        new: &VerifiedCheckpoint,
        proofs: &mut P,
    ) -> Result<Observed, StateError> {
        self.update(new, proofs, Mode::Latest)
    }

    /// A checkpoint from a proof file, possibly older than the newest this host has seen: an older
    /// one must be consistent with the stored newest one (which stays); a newer one is observed as by
    /// [`StateDir::observe_latest`].
    pub fn tie_to_newest<P: ConsistencyProver>(
        &self,
        older: &VerifiedCheckpoint,
        proofs: &mut P,
    ) -> Result<Observed, StateError> {
        self.update(older, proofs, Mode::Tie)
    }

    fn update<P: ConsistencyProver>(
        &self,
        new: &VerifiedCheckpoint,
        proofs: &mut P,
        mode: Mode,
    ) -> Result<Observed, StateError> {
        let cp = &new.checkpoint;
        let origin = cp.origin.as_str();
        let _lock = self.lock(origin)?;
        let path = self.checkpoint_path(origin);
        let store = |bytes: &[u8]| write_atomic(&path, bytes).map_err(io_err(&path, "write"));
        let Some((stored_bytes, stored)) = self.read_stored(origin)? else {
            store(&new.note)?;
            return Ok(Observed::FirstUse { size: cp.size });
        };
        let fork = |detail: String| StateError::Fork {
            origin: origin.to_owned(),
            stored_size: stored.size,
            new_size: cp.size,
            detail,
            evidence: self.save_evidence(origin, "fork", &stored_bytes, &new.note),
        };
        match cp.size.cmp(&stored.size) {
            Ordering::Equal if cp.root == stored.root => Ok(Observed::Unchanged { size: cp.size }),
            Ordering::Equal => Err(fork(format!(
                "same size, different root hashes {} and {}",
                stored.root.to_base64(),
                cp.root.to_base64()
            ))),
            Ordering::Greater => {
                let proof = prove(origin, proofs, stored.size, cp.size)?;
                match merkle::verify_consistency(
                    stored.size,
                    cp.size,
                    &stored.root,
                    &cp.root,
                    &proof,
                ) {
                    Ok(()) => {
                        store(&new.note)?;
                        Ok(Observed::Advanced {
                            from: stored.size,
                            to: cp.size,
                        })
                    }
                    Err(e) => Err(fork(e.to_string())),
                }
            }
            Ordering::Less if mode == Mode::Latest => Err(StateError::Rollback {
                origin: origin.to_owned(),
                stored_size: stored.size,
                new_size: cp.size,
                evidence: self.save_evidence(origin, "rollback", &stored_bytes, &new.note),
            }),
            Ordering::Less => {
                let proof = prove(origin, proofs, cp.size, stored.size)?;
                match merkle::verify_consistency(
                    cp.size,
                    stored.size,
                    &cp.root,
                    &stored.root,
                    &proof,
                ) {
                    Ok(()) => Ok(Observed::TiedToNewer {
                        size: cp.size,
                        newest: stored.size,
                    }),
                    Err(e) => Err(fork(e.to_string())),
                }
            }
        }
    }

    /// Keeps both checkpoints of a fork or rollback in a new directory under `evidence/`, durably.
    /// Called with the log's lock held.
    fn save_evidence(&self, origin: &str, kind: &str, stored: &[u8], new: &[u8]) -> Evidence {
        let base = self.evidence_dir();
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let result = (|| {
            create_dirs(&base)?;
            let stem = format!("{}-{stamp}-{kind}", log_key(origin));
            // Several events in one second get -1, -2, ...: evidence is never overwritten.
            let mut dir = None;
            for n in 0..10_000u32 {
                let d = if n == 0 {
                    base.join(&stem)
                } else {
                    base.join(format!("{stem}-{n}"))
                };
                match DirBuilder::new().mode(0o700).create(&d) {
                    Ok(()) => {
                        dir = Some(d);
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
            let dir = dir.ok_or_else(|| io::Error::other("too many evidence directories"))?;
            sync_dir(&base)?;
            write_atomic(&dir.join("stored.checkpoint"), stored)?;
            write_atomic(&dir.join("new.checkpoint"), new)?;
            Ok(dir)
        })();
        match result {
            Ok(dir) => Evidence::Saved(dir),
            Err(e) => Evidence::NotSaved(format!("{}: {e}", base.display())),
        }
    }

    /// The tree `rget audit` last fully audited for `origin`.
    pub fn audit_mark(&self, origin: &str) -> Result<Option<AuditMark>, StateError> {
        let path = self.audit_path(origin);
        let Some(bytes) = read_optional(&path, MAX_AUDIT_FILE)? else {
            return Ok(None);
        };
        parse_audit_mark(&path, origin, bytes).map(Some)
    }

    /// Records that `rget audit` fully audited the tree `mark` of `origin`. Progress never moves
    /// back, never past the stored checkpoint, and agrees with it at equal size: a mark that does not
    /// is a bug or tampering, refused rather than recorded.
    pub fn set_audit_mark(&self, origin: &str, mark: &AuditMark) -> Result<(), StateError> {
        let _lock = self.lock(origin)?;
        let path = self.audit_path(origin);
        let bad = |reason: String| StateError::Audit {
            path: show(&path),
            origin: origin.to_owned(),
            reason,
        };
        if let Some(old) = self.audit_mark(origin)?
            && old.size > mark.size
        {
            return Err(bad(format!(
                "would move back from size {} to {}",
                old.size, mark.size
            )));
        }
        if let Some((_, stored)) = self.read_stored(origin)? {
            if mark.size > stored.size {
                return Err(bad(format!(
                    "size {} is beyond the stored checkpoint's size {}",
                    mark.size, stored.size
                )));
            }
            if mark.size == stored.size && mark.root != stored.root {
                return Err(bad(format!(
                    "root differs from the stored checkpoint's at size {}",
                    mark.size
                )));
            }
        }
        let text = Checkpoint {
            origin: origin.to_owned(),
            size: mark.size,
            root: mark.root,
            extensions: Vec::new(),
        }
        .format();
        write_atomic(&path, text.as_bytes()).map_err(io_err(&path, "write"))
    }
}

/// Parses the audit record of `origin` read from `path`: `<origin>\n<size>\n<root base64>\n`.
/// Public for the fuzz target of the state files (`fuzz/`).
#[doc(hidden)]
pub fn parse_audit_mark(
    path: &Path,
    origin: &str,
    bytes: Vec<u8>,
) -> Result<AuditMark, StateError> {
    let bad = |reason: String| StateError::Audit {
        path: show(path),
        origin: origin.to_owned(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| bad("is not UTF-8".into()))?;
    // Same shape as a checkpoint body, so the strict checkpoint parser checks it.
    let cp = Checkpoint::parse(&text).map_err(|e| bad(format!("is malformed: {e}")))?;
    if cp.origin != origin || !cp.extensions.is_empty() {
        return Err(bad("is malformed: wrong origin or extra lines".into()));
    }
    Ok(AuditMark {
        size: cp.size,
        root: cp.root,
    })
}

/// A consistency proof from `old` to `new`; none is needed from the empty tree.
fn prove<P: ConsistencyProver>(
    origin: &str,
    proofs: &mut P,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, StateError> {
    if old == 0 {
        return Ok(Vec::new());
    }
    proofs.consistency(old, new).map_err(|e| StateError::Proof {
        origin: origin.to_owned(),
        old,
        new,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_leaves_no_temporary_and_dirs_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path().join("a/b")).unwrap();
        let mode = fs::metadata(state.root()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let p = state.root().join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(state.root())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("f")]);
    }

    #[test]
    fn sweep_removes_only_our_temporaries() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(".checkpoint.tmp-1-2"), b"x").unwrap();
        fs::write(tmp.path().join("checkpoint"), b"y").unwrap();
        sweep_temporaries(tmp.path());
        assert!(!tmp.path().join(".checkpoint.tmp-1-2").exists());
        assert!(tmp.path().join("checkpoint").exists());
    }

    #[test]
    fn resolve_order() {
        let env = Env {
            home: Some("/h".into()),
            ..Env::default()
        };
        assert_eq!(
            StateDir::resolve(Some(Path::new("/s")), &env).unwrap(),
            PathBuf::from("/s")
        );
        assert_eq!(
            StateDir::resolve(None, &env).unwrap(),
            PathBuf::from("/h/.local/state/rget")
        );
        assert!(matches!(
            StateDir::resolve(None, &Env::default()),
            Err(StateError::NoStateDir)
        ));
    }
}

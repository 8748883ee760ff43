//! Checkpoint memory: the last verified checkpoint of every log this host has seen, so that a log
//! cannot roll back or fork without the client noticing.
//!
//! Layout of the state directory (`--state DIR`, else `$XDG_STATE_HOME/rget`, default
//! `~/.local/state/rget`; every directory mode 0700):
//!
//! ```text
//! logs/<hex sha256 of origin>/checkpoint   the last verified checkpoint note, verbatim; its first
//!                                          line is the origin, so the file says which log it is
//! logs/<hex sha256 of origin>/audit        `rget audit` progress: "<origin>\n<size>\n<root base64>\n"
//! logs/<hex sha256 of origin>/lock         flock(2) target serialising read-check-update
//! evidence/<hex>-<unix time>-<fork|rollback|unserved>[-n]/stored.checkpoint, new.checkpoint
//!                                          (no stored.checkpoint when nothing was stored yet)
//! evidence/<hex>-<unix time>-records[-n]/     a URL with several records (client::url_records)
//! ```
//!
//! The directory name is a hash because origins are arbitrary strings (slashes, dots, case) that must
//! not become paths; the note inside keeps the readable origin, and reads check that it matches.
//!
//! Private state: the state directory, every directory rget uses in it and every file it reads there
//! must belong to the user running rget (or root) and be writable by no one else (group or world),
//! as ssh's `StrictModes` requires of `~/.ssh`; otherwise anyone who can write there could plant
//! the checkpoint this host trusts, or hang every run on a FIFO. rget refuses such a directory or
//! file with one line that says how to fix it (`chmod go-w DIR`), exit code 7. Files are opened
//! without following links and without blocking (`O_NOFOLLOW | O_NONBLOCK`), then checked to be
//! regular files: a FIFO, socket, device or link where rget keeps a file is refused at once.
//!
//! Concurrency: every update holds an exclusive `flock` on the log's `lock` file from reading the
//! stored checkpoint to replacing it, so two rget processes cannot both accept checkpoints on the
//! strength of the same stored one and then overwrite each other (which could move the state back,
//! or store two checkpoints never compared with each other). Writes are atomic and durable (temporary
//! file in the same directory, fsync, rename, fsync of the directory), so a reader without the lock
//! sees the old or the new checkpoint, never a mix. The consistency proof (and, for `rget get`, the
//! inclusion proof) is fetched while the lock is held; another process waits for the lock no longer
//! than its own deadline (`--max-time`), and then fails naming it.
//!
//! Comparing first, accepting later: [`StateDir::compare`] takes a checkpoint whose *log signature*
//! verified ([`LogSigned`]) and compares it with the stored one before the quorum, the inclusion
//! proof or anything else is judged; [`Pending::commit`] stores it only once it passed the whole
//! policy ([`VerifiedCheckpoint`]). Two checkpoints signed by one log key that are not consistent
//! prove a fork whatever else is wrong with the new one, so the fork (or rollback) is what is
//! reported, with both checkpoints kept as evidence. A log that cannot serve the tiles of a tree
//! size it signed (missing or malformed tiles) is a trust anomaly too, never a network error.
//!
//! A stored checkpoint is re-verified whenever it is compared: its origin must be the log's and the
//! log's signature under the policy's key for that origin must verify. One that fails is local
//! corruption or tampering ([`StateError::Corrupt`], exit code 7, naming the file and what to do),
//! never blamed on the log as a fork. Cosignatures are deliberately not re-checked against today's
//! quorum: the checkpoint met the policy in force when it was stored, the log's signature is what
//! makes it evidence against the log, and a policy that later adds witnesses or raises its quorum
//! must not turn every host's memory into "corruption" (leaving only the choice between deleting
//! the memory, which forgets what was seen, and not working at all). A changed log key for the same
//! origin does make the stored checkpoint fail, on purpose: the message says to move it aside.
//! A stored file that does not parse is an error too, never a silent "first use" again.

use crate::client::trust::Env;
use rget_core::checkpoint::Checkpoint;
use rget_core::digest::{Hash, sha256};
use rget_core::merkle::{self, HashSource, MerkleError};
use rget_core::note::{self, MAX_NOTE_SIZE};
use rget_core::policy::{LogSigned, PolicyError, PolicyLog, VerifiedCheckpoint, verify_signed_by};
use rget_core::tile::TileError;
use rget_fetch::Deadline;
use rget_fetch::durable::{self, LockWait, sync_dir};
use std::cmp::Ordering;
use std::fmt;
use std::fs::{self, DirBuilder, File};
use std::io::{self, Read};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use thiserror::Error;

mod private;

/// Largest audit record read (an origin line, a size and a root).
const MAX_AUDIT_FILE: usize = 64 * 1024;

/// Where the evidence of a fork, rollback or unserved tree was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Kept in this new directory under the state directory's `evidence/`.
    Saved(PathBuf),
    /// Saving failed (full disk, permissions): the error still stands, and says this.
    NotSaved(String),
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Saved(p) => {
                write!(f, "the checkpoints are kept as evidence in {}", p.display())
            }
            Evidence::NotSaved(e) => write!(f, "could NOT keep the checkpoints as evidence: {e}"),
        }
    }
}

/// Errors of the checkpoint memory. Fork, rollback and unserved trees are trust failures; a proof
/// that could not be fetched or a lock held past the deadline are network-side; the rest are local
/// problems (exit code 7 in the CLI).
#[derive(Debug, Error)]
pub enum StateError {
    /// No `--state` was given and the environment has neither `XDG_STATE_HOME` nor `HOME`.
    #[error(
        "no state directory: --state was not given and neither XDG_STATE_HOME nor HOME is set; pass --state DIR"
    )]
    NoStateDir,
    /// A file or directory of the state directory could not be created, opened, inspected, listed,
    /// read, written or locked.
    #[error("{path}: cannot {op}: {err}")]
    Io {
        /// The file or directory, as displayed.
        path: String,
        /// What was attempted (`open`, `write`, `create the state directory`, ...).
        op: &'static str,
        /// The system's error.
        err: io::Error,
    },
    /// A state directory or file that others could have written, or that rget did not make.
    #[error("{path}: {problem}; {fix}")]
    NotPrivate {
        /// The file or directory, as displayed.
        path: String,
        /// What is wrong: another owner, group or world write permission, or not a regular file.
        problem: String,
        /// The command that fixes it (`chmod go-w ...`, `chown ...`, `rm ...`).
        fix: String,
    },
    /// A stored checkpoint that does not parse, is another log's, or whose log signature fails:
    /// this host's own state is damaged or was tampered with.
    #[error(
        "{path}: the stored checkpoint {reason}: this host's checkpoint memory is damaged or was tampered \
         with (not the log's doing); move the file aside (mv {path} {path}.bad) to trust the log's next \
         checkpoint anew"
    )]
    Corrupt {
        /// The stored checkpoint file, as displayed.
        path: String,
        /// What is wrong with it (`does not parse (...)`, `fails its log signature ...`, ...).
        reason: String,
    },
    /// The consistency proof between the stored and the new tree size could not be had for a
    /// reason other than the log failing to serve the tiles of a size it signed (unreachable, say).
    #[error("log {origin}: cannot get a consistency proof from tree size {old} to {new}: {reason}")]
    Proof {
        /// The log's origin.
        origin: String,
        /// The smaller tree size.
        old: u64,
        /// The larger tree size.
        new: u64,
        /// Why the proof could not be had.
        reason: String,
    },
    /// Another rget process held the log's lock until the command's `--max-time` ran out.
    #[error("{path}: another rget process held this log's lock until {limit} ran out")]
    LockTimeout {
        /// The lock file, as displayed.
        path: String,
        /// The time limit that ran out, in words.
        limit: String,
    },
    /// The log signed a checkpoint that is not consistent with the one this host stored: same size
    /// with another root, or a consistency proof that does not verify.
    #[error(
        "FORK of log {origin}: its checkpoint of size {new_size} is not consistent with the checkpoint of size \
         {stored_size} this host verified before ({detail}); {evidence}"
    )]
    Fork {
        /// The log's origin.
        origin: String,
        /// The tree size of the checkpoint this host stored.
        stored_size: u64,
        /// The tree size of the checkpoint just signed by the log.
        new_size: u64,
        /// How they disagree (the two roots, or why the proof failed).
        detail: String,
        /// Where both checkpoints were kept.
        evidence: Evidence,
    },
    /// The log's current checkpoint is smaller than the one this host stored (a proof file's
    /// older checkpoint is no rollback: it is tied to the stored one instead).
    #[error(
        "ROLLBACK of log {origin}: it serves a checkpoint of size {new_size}, older than the checkpoint of size \
         {stored_size} this host verified before; {evidence}"
    )]
    Rollback {
        /// The log's origin.
        origin: String,
        /// The tree size of the checkpoint this host stored.
        stored_size: u64,
        /// The smaller tree size the log serves now.
        new_size: u64,
        /// Where both checkpoints were kept.
        evidence: Evidence,
    },
    /// The log signed a tree size whose tiles it does not serve (missing, or not tiles at all).
    #[error(
        "log {origin} cannot serve the tiles of tree size {size}, which it signed ({detail}): a rollback, or a \
         tree it cannot back; {evidence}"
    )]
    Unserved {
        /// The log's origin.
        origin: String,
        /// The signed tree size whose tiles are not served.
        size: u64,
        /// What is missing or malformed, as the tile reader said.
        detail: String,
        /// Where the checkpoints were kept.
        evidence: Evidence,
    },
    /// The `rget audit` mark of a log does not parse, or a new mark would move back, go past the
    /// stored checkpoint, or disagree with its root at equal size.
    #[error("{path}: audit record of log {origin} {reason}")]
    Audit {
        /// The audit record file, as displayed.
        path: String,
        /// The log's origin.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`Pending::commit`] was given another checkpoint than the one compared (a bug in the
    /// caller).
    #[error(
        "internal error: the checkpoint given to the memory of log {origin} is not the one compared with it"
    )]
    NotCompared {
        /// The log's origin.
        origin: String,
    },
}

/// Why a consistency proof could not be had. [`ProofError::unserved`] tells a log that failed to
/// serve the data of a tree it signed (a trust anomaly) from one that could not be reached.
pub trait ProofError: fmt::Display {
    /// Whether the data itself is missing or malformed (a tile not found), rather than unreachable.
    fn unserved(&self) -> bool {
        false
    }
}

/// A proof computed from a tree in memory: its data is always there.
impl ProofError for MerkleError {}

/// A proof computed from a log's tiles: missing or malformed tiles are the log's failure.
impl ProofError for MerkleError<TileError> {
    fn unserved(&self) -> bool {
        self.is_unserved()
    }
}

impl ProofError for String {}
impl ProofError for &str {}

/// Source of consistency proofs between two tree sizes of one log, for example computed from the log's
/// tiles with `TileHashSource` and `merkle::consistency_proof`. Closures
/// `FnMut(old, new) -> Result<Vec<Hash>, E>` implement it.
pub trait ConsistencyProver {
    /// Why a proof could not be had; it tells an unserved tree from an unreachable log.
    type Error: ProofError;
    /// The RFC 9162 consistency proof from the tree of `old` leaves to that of `new` (0 < old < new).
    fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, Self::Error>;
}

impl<F, E> ConsistencyProver for F
where
    F: FnMut(u64, u64) -> Result<Vec<Hash>, E>,
    E: ProofError,
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
    FirstUse {
        /// The tree size of the checkpoint stored.
        size: u64,
    },
    /// The stored checkpoint is this very tree.
    Unchanged {
        /// The tree size of the stored and of the new checkpoint.
        size: u64,
    },
    /// The checkpoint extends the stored one (consistency proof verified) and replaced it.
    Advanced {
        /// The tree size of the checkpoint replaced.
        from: u64,
        /// The tree size of the checkpoint stored now.
        to: u64,
    },
    /// An older checkpoint (from a proof file) is consistent with the newer stored one, which stays.
    TiedToNewer {
        /// The tree size of the older checkpoint.
        size: u64,
        /// The tree size of the stored checkpoint, which stays.
        newest: u64,
    },
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
    /// The tree size audited.
    pub size: u64,
    /// The root hash of the tree at that size.
    pub root: Hash,
}

/// A log with a stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLog {
    /// The log's origin (its directory name is the hash of it).
    pub origin: String,
    /// The stored checkpoint, parsed (not re-verified).
    pub checkpoint: Checkpoint,
    /// The stored note, verbatim.
    pub note: Vec<u8>,
}

/// Where a checkpoint comes from, which decides whether an older one is a problem in itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The log's current checkpoint: older than the stored one is a rollback.
    Latest,
    /// A proof file's checkpoint, normally older than the newest seen: an older one must be
    /// consistent with the stored one (which stays); a newer one is observed as a latest one.
    FromProof,
}

/// The checkpoint memory in one state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    /// How long another process's lock is waited for (none: as long as it takes).
    deadline: Option<Deadline>,
}

/// A checkpoint compared with the memory of its log and found neither a fork nor a rollback,
/// waiting for the rest of its checks. It holds the log's lock, so the memory cannot change in
/// between; dropping it stores nothing.
#[must_use = "a compared checkpoint is stored only by `commit`"]
pub struct Pending<'a> {
    state: &'a StateDir,
    _lock: File,
    origin: String,
    note: Vec<u8>,
    /// The stored note it was compared with (for evidence).
    stored: Option<Vec<u8>>,
    outcome: Observed,
}

impl Pending<'_> {
    /// What [`Pending::commit`] will report.
    pub fn outcome(&self) -> Observed {
        self.outcome
    }

    /// Records the compared checkpoint, now that it passed the whole policy (`vc` must be that
    /// very checkpoint): stored on first use or when it extends the stored one; otherwise the
    /// stored one stays.
    pub fn commit(self, vc: &VerifiedCheckpoint) -> Result<Observed, StateError> {
        if vc.note != self.note {
            return Err(StateError::NotCompared {
                origin: self.origin,
            });
        }
        if matches!(
            self.outcome,
            Observed::FirstUse { .. } | Observed::Advanced { .. }
        ) {
            let path = self.state.checkpoint_path(&self.origin);
            write_atomic(&path, &self.note).map_err(io_err(&path, "write"))?;
        }
        Ok(self.outcome)
    }

    /// The log signed this checkpoint (or the stored one) but cannot serve the tiles of its tree of
    /// `size` leaves: keeps both checkpoints as evidence and returns the error that says so.
    pub fn unserved(self, size: u64, detail: impl fmt::Display) -> StateError {
        StateError::Unserved {
            size,
            detail: detail.to_string(),
            evidence: self.state.save_evidence(
                &self.origin,
                "unserved",
                self.stored.as_deref(),
                &self.note,
            ),
            origin: self.origin,
        }
    }
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

/// Reads the state file `path` if it exists, at most `max` bytes: opened without blocking or
/// following a link, and refused unless it is a regular file only its owner can write.
fn read_optional(path: &Path, max: usize) -> Result<Option<Vec<u8>>, StateError> {
    let Some(f) = private::open_existing(path)? else {
        return Ok(None);
    };
    let mut buf = Vec::new();
    f.take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path, "read"))?;
    if buf.len() > max {
        return Err(StateError::Corrupt {
            path: show(path),
            reason: format!("is larger than {max} bytes"),
        });
    }
    Ok(Some(buf))
}

/// Parses a stored checkpoint note and checks that it belongs to `origin` (signatures are checked
/// by [`StateDir::read_verified`], which has the log's key). Public for the fuzz target of the
/// state files (`fuzz/`).
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
    let parsed = note::parse(bytes).map_err(|e| corrupt(format!("does not parse ({e})")))?;
    let cp =
        Checkpoint::parse(&parsed.text).map_err(|e| corrupt(format!("does not parse ({e})")))?;
    if let Some(origin) = origin
        && cp.origin != origin
    {
        return Err(corrupt(format!(
            "is a checkpoint of {:?}, not of {origin:?}",
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

    /// Opens (creating it, mode 0700, if needed) the state directory at `root`, and refuses it if
    /// it is not a directory of the user running rget (or root) that no one else can write.
    pub fn open(root: impl Into<PathBuf>) -> Result<StateDir, StateError> {
        let root = root.into();
        create_dirs(&root).map_err(io_err(&root, "create the state directory"))?;
        private::check_dir(&root)?;
        Ok(StateDir {
            root,
            deadline: None,
        })
    }

    /// [`StateDir::resolve`] then [`StateDir::open`].
    pub fn open_default(flag: Option<&Path>, env: &Env) -> Result<StateDir, StateError> {
        Self::open(Self::resolve(flag, env)?)
    }

    /// Waits for another process's lock on a log no longer than until `deadline`.
    pub fn with_deadline(mut self, deadline: Option<Deadline>) -> StateDir {
        self.deadline = deadline;
        self
    }

    /// The state directory.
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

    /// The lock file of `origin`.
    pub fn lock_path(&self, origin: &str) -> PathBuf {
        self.log_dir(origin).join("lock")
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
        read_optional(&self.audit_prefix_path(origin, prefix), MAX_AUDIT_FILE)
    }

    /// Replaces the audit progress for (`origin`, `prefix`) atomically and durably, under the log's lock.
    pub fn write_audit(&self, origin: &str, prefix: &str, bytes: &[u8]) -> Result<(), StateError> {
        let _lock = self.lock(origin)?;
        let path = self.audit_prefix_path(origin, prefix);
        write_atomic(&path, bytes).map_err(io_err(&path, "write the audit progress"))
    }

    /// The directory where the evidence of trust anomalies (fork, rollback, several records for one
    /// URL) is kept.
    pub fn evidence_dir(&self) -> PathBuf {
        self.root.join("evidence")
    }

    /// Creates the log's directory and takes its exclusive lock, waiting for other rget processes
    /// to be done with this log, but not past the deadline. The lock is released when the returned
    /// file is dropped. The lock file is opened without blocking (a FIFO there would otherwise hang
    /// the open for ever) and must be a regular file only its owner can write.
    fn lock(&self, origin: &str) -> Result<File, StateError> {
        let dir = self.log_dir(origin);
        create_dirs(&dir).map_err(io_err(&dir, "create the log's state directory"))?;
        private::check_dir(&self.logs_dir())?;
        private::check_dir(&dir)?;
        let path = dir.join("lock");
        let f = private::create_or_open(&path)?;
        durable::lock_within(&f, self.deadline.as_ref()).map_err(|e| match (e, self.deadline) {
            (LockWait::TimedOut, Some(deadline)) => StateError::LockTimeout {
                path: show(&path),
                limit: deadline.describe(),
            },
            (LockWait::TimedOut, None) => io_err(&path, "lock")(io::ErrorKind::TimedOut.into()),
            (LockWait::Failed(e), _) => io_err(&path, "lock")(e),
        })?;
        sweep_temporaries(&dir);
        Ok(f)
    }

    /// The stored checkpoint note of `origin`, verbatim (parsed, not re-verified).
    pub fn stored(&self, origin: &str) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.read_stored(origin)?.map(|(bytes, _)| bytes))
    }

    /// The stored checkpoint of `origin`, parsed (not re-verified).
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

    /// The stored checkpoint of `log`, re-verified: a checkpoint of that log's origin carrying a
    /// valid signature by the log's key (cosignatures are not re-judged: see the module
    /// documentation). Anything else is [`StateError::Corrupt`].
    fn read_verified(&self, log: &PolicyLog) -> Result<Option<(Vec<u8>, Checkpoint)>, StateError> {
        let origin = log.vkey.name.as_str();
        let Some((bytes, cp)) = self.read_stored(origin)? else {
            return Ok(None);
        };
        verify_signed_by(log, &bytes).map_err(|e| StateError::Corrupt {
            path: show(&self.checkpoint_path(origin)),
            reason: match e {
                PolicyError::BadSignature { .. } => {
                    "fails its log signature (its text or signature was changed)".to_owned()
                }
                PolicyError::MissingLogSignature { .. } => format!(
                    "carries no signature by the policy's key for this log ({}+{:08x}): it was \
                     changed, or the policy now names another key for {origin:?}",
                    log.vkey.name, log.vkey.id
                ),
                e => format!("does not verify ({e})"),
            },
        })?;
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
                        "has origin {:?}, which does not hash to its directory name",
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
        self.compare(&new.log_signed(), Seen::Latest, proofs)?
            .commit(new)
    }

    /// A checkpoint from a proof file, possibly older than the newest this host has seen: an older
    /// one must be consistent with the stored newest one (which stays); a newer one is observed as by
    /// [`StateDir::observe_latest`].
    pub fn tie_to_newest<P: ConsistencyProver>(
        &self,
        older: &VerifiedCheckpoint,
        proofs: &mut P,
    ) -> Result<Observed, StateError> {
        self.compare(&older.log_signed(), Seen::FromProof, proofs)?
            .commit(older)
    }

    /// Compares a checkpoint the log signed with the stored one (re-verified), under the log's lock,
    /// before anything else about the new checkpoint is judged: a fork (same size and another root,
    /// or no valid consistency proof) or a rollback (`Seen::Latest` and smaller) is refused at once
    /// with both checkpoints kept as evidence, and so is a log that cannot serve the tiles of a size
    /// it signed. Otherwise the [`Pending`] result holds the lock until the caller has checked the
    /// rest (quorum, inclusion) and commits, or drops it.
    pub fn compare<P: ConsistencyProver>(
        &self,
        new: &LogSigned,
        seen: Seen,
        proofs: &mut P,
    ) -> Result<Pending<'_>, StateError> {
        let cp = &new.checkpoint;
        let origin = cp.origin.as_str();
        let lock = self.lock(origin)?;
        let stored = self.read_verified(&new.log)?;
        let pending = |outcome, stored: Option<Vec<u8>>| Pending {
            state: self,
            _lock: lock,
            origin: origin.to_owned(),
            note: new.note.clone(),
            stored,
            outcome,
        };
        let Some((stored_bytes, stored)) = stored else {
            return Ok(pending(Observed::FirstUse { size: cp.size }, None));
        };
        let fork = |detail: String| StateError::Fork {
            origin: origin.to_owned(),
            stored_size: stored.size,
            new_size: cp.size,
            detail,
            evidence: self.save_evidence(origin, "fork", Some(&stored_bytes), &new.note),
        };
        // A consistency proof from tiles of the larger tree; the log signed that size (the stored
        // checkpoint was re-verified above), so missing tiles are the log's failure.
        let proof_of = |proofs: &mut P, old: u64, larger: u64| {
            prove(origin, proofs, old, larger).map_err(|e| match e {
                Proved::Unserved(detail) => StateError::Unserved {
                    origin: origin.to_owned(),
                    size: larger,
                    detail,
                    evidence: self.save_evidence(
                        origin,
                        "unserved",
                        Some(&stored_bytes),
                        &new.note,
                    ),
                },
                Proved::Failed(e) => e,
            })
        };
        let outcome = match cp.size.cmp(&stored.size) {
            Ordering::Equal if cp.root == stored.root => Observed::Unchanged { size: cp.size },
            Ordering::Equal => {
                return Err(fork(format!(
                    "same size, different root hashes {} and {}",
                    stored.root.to_base64(),
                    cp.root.to_base64()
                )));
            }
            Ordering::Greater => {
                let proof = proof_of(proofs, stored.size, cp.size)?;
                merkle::verify_consistency(stored.size, cp.size, &stored.root, &cp.root, &proof)
                    .map_err(|e| fork(e.to_string()))?;
                Observed::Advanced {
                    from: stored.size,
                    to: cp.size,
                }
            }
            Ordering::Less if seen == Seen::Latest => {
                return Err(StateError::Rollback {
                    origin: origin.to_owned(),
                    stored_size: stored.size,
                    new_size: cp.size,
                    evidence: self.save_evidence(
                        origin,
                        "rollback",
                        Some(&stored_bytes),
                        &new.note,
                    ),
                });
            }
            Ordering::Less => {
                let proof = proof_of(proofs, cp.size, stored.size)?;
                merkle::verify_consistency(cp.size, stored.size, &cp.root, &stored.root, &proof)
                    .map_err(|e| fork(e.to_string()))?;
                Observed::TiedToNewer {
                    size: cp.size,
                    newest: stored.size,
                }
            }
        };
        Ok(pending(outcome, Some(stored_bytes.clone())))
    }

    /// Keeps the checkpoints of a fork, rollback or unserved tree in a new directory under
    /// `evidence/`, durably (`stored` is absent when nothing was stored yet). Called with the log's
    /// lock held.
    fn save_evidence(
        &self,
        origin: &str,
        kind: &str,
        stored: Option<&[u8]>,
        new: &[u8],
    ) -> Evidence {
        let mut files: Vec<(&str, &[u8])> = Vec::with_capacity(2);
        if let Some(stored) = stored {
            files.push(("stored.checkpoint", stored));
        }
        files.push(("new.checkpoint", new));
        self.keep_evidence(origin, kind, &files)
    }

    /// Keeps `files` (name, bytes) of a trust anomaly of log `origin` in a new directory
    /// `evidence/<hex>-<unix time>-<kind>[-n]/`, durably. A new directory per event, created
    /// atomically, so no lock is needed and evidence is never overwritten.
    pub fn keep_evidence(&self, origin: &str, kind: &str, files: &[(&str, &[u8])]) -> Evidence {
        let base = self.evidence_dir();
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let result = (|| {
            create_dirs(&base)?;
            private::check_dir(&base).map_err(|e| io::Error::other(e.to_string()))?;
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
            for (name, bytes) in files {
                write_atomic(&dir.join(name), bytes)?;
            }
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

/// Why [`prove`] failed: the log did not serve the data of a tree it signed, or anything else.
enum Proved {
    Unserved(String),
    Failed(StateError),
}

/// A consistency proof from `old` to `new`; none is needed from the empty tree.
fn prove<P: ConsistencyProver>(
    origin: &str,
    proofs: &mut P,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, Proved> {
    if old == 0 {
        return Ok(Vec::new());
    }
    proofs.consistency(old, new).map_err(|e| {
        if e.unserved() {
            Proved::Unserved(e.to_string())
        } else {
            Proved::Failed(StateError::Proof {
                origin: origin.to_owned(),
                old,
                new,
                reason: e.to_string(),
            })
        }
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
    /// A log of `n` leaves in memory, its key and a policy trusting it (quorum `quorum`).
    struct Log {
        key: rget_core::note::SignerKey,
        tree: merkle::MemoryTree,
        policy: rget_core::policy::Policy,
    }

    fn log(n: u64, seed: u8) -> Log {
        use rget_core::ed25519::Seed;
        let key = rget_core::note::SignerKey::from_seed("log.example/t", Seed([seed; 32])).unwrap();
        let mut tree = merkle::MemoryTree::new();
        for i in 0..n {
            tree.append(merkle::leaf_hash(&[seed, i as u8]));
        }
        let policy = rget_core::policy::Policy::parse(&format!(
            "log {} https://log.example/\nquorum none\n",
            key.verifier_key()
        ))
        .unwrap();
        Log { key, tree, policy }
    }

    impl Log {
        fn note(&self, size: u64) -> Vec<u8> {
            let text = Checkpoint {
                origin: "log.example/t".into(),
                size,
                root: merkle::tree_hash(size, &mut self.tree.clone()).unwrap(),
                extensions: vec![],
            }
            .format();
            note::sign(&text, &[&self.key]).unwrap()
        }
        fn cp(&self, size: u64) -> VerifiedCheckpoint {
            self.policy.verify_checkpoint(&self.note(size)).unwrap()
        }
        fn proofs(&self) -> FromHashSource<merkle::MemoryTree> {
            FromHashSource(self.tree.clone())
        }
    }

    #[test]
    fn a_tampered_stored_checkpoint_is_corruption_not_a_fork() {
        let l = log(8, 1);
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path()).unwrap();
        state.observe_latest(&l.cp(5), &mut l.proofs()).unwrap();
        let path = state.checkpoint_path("log.example/t");
        let good = fs::read(&path).unwrap();
        // Another root with the old signature; a flipped signature byte; a note signed by another key.
        let text = String::from_utf8(good.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let other_root = text.replacen(lines[2], &sha256(b"x").to_base64(), 1);
        let mut flipped = note::parse(&good).unwrap();
        flipped.signatures[0].sig[3] ^= 1;
        let impostor = log(8, 2).note(5);
        for (bad, why) in [
            (other_root.into_bytes(), "fails its log signature"),
            (flipped.to_bytes(), "fails its log signature"),
            (impostor, "no signature by the policy's key"),
        ] {
            fs::write(&path, &bad).unwrap();
            let err = state.observe_latest(&l.cp(7), &mut l.proofs()).unwrap_err();
            assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
            let msg = err.to_string();
            assert!(
                msg.contains(why) && msg.contains("move the file aside"),
                "{msg}"
            );
            assert!(msg.contains(&path.display().to_string()), "{msg}");
            // Nothing replaced it, and no evidence blames the log.
            assert_eq!(fs::read(&path).unwrap(), bad);
            assert!(!state.evidence_dir().exists());
        }
    }

    #[test]
    fn a_stored_checkpoint_needs_only_the_log_signature_under_a_stricter_policy() {
        let l = log(8, 1);
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path()).unwrap();
        state.observe_latest(&l.cp(5), &mut l.proofs()).unwrap();
        // The policy now requires a witness the stored checkpoint never had: still usable.
        let w =
            rget_core::note::SignerKey::from_seed("w", rget_core::ed25519::Seed([9; 32])).unwrap();
        let strict = rget_core::policy::Policy::parse(&format!(
            "log {} https://log.example/\nwitness w {}\nquorum w\n",
            l.key.verifier_key(),
            rget_core::cosignature::verifier_key(&w)
        ))
        .unwrap();
        let signed = strict.verify_log_signature(&l.note(7)).unwrap();
        let p = state
            .compare(&signed, Seen::Latest, &mut l.proofs())
            .unwrap();
        assert_eq!(p.outcome(), Observed::Advanced { from: 5, to: 7 });
        drop(p); // not verified under the strict policy: nothing stored
        assert_eq!(state.stored("log.example/t").unwrap(), Some(l.note(5)));
    }

    #[test]
    fn compare_refuses_a_fork_before_anything_else_and_commit_stores_only_what_was_compared() {
        let l = log(8, 1);
        // Another tree of the same size, signed with the same log key: a fork.
        let forked = log(8, 3);
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path()).unwrap();
        state.observe_latest(&l.cp(5), &mut l.proofs()).unwrap();
        let fork_text = Checkpoint {
            origin: "log.example/t".into(),
            size: 5,
            root: merkle::tree_hash(5, &mut forked.tree.clone()).unwrap(),
            extensions: vec![],
        }
        .format();
        let fork_note = note::sign(&fork_text, &[&l.key]).unwrap();
        let signed = l.policy.verify_log_signature(&fork_note).unwrap();
        let err = state
            .compare(&signed, Seen::FromProof, &mut l.proofs())
            .err()
            .unwrap();
        assert!(matches!(err, StateError::Fork { .. }), "{err}");
        assert_eq!(fs::read_dir(state.evidence_dir()).unwrap().count(), 1);

        // A commit with another checkpoint than the compared one is refused.
        let p = state
            .compare(&l.cp(6).log_signed(), Seen::Latest, &mut l.proofs())
            .unwrap();
        assert!(matches!(
            p.commit(&l.cp(7)),
            Err(StateError::NotCompared { .. })
        ));
        assert_eq!(state.stored("log.example/t").unwrap(), Some(l.note(5)));
    }

    #[test]
    fn tiles_a_log_cannot_serve_are_an_anomaly_and_unreachable_ones_are_not() {
        let l = log(8, 1);
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path()).unwrap();
        state.observe_latest(&l.cp(5), &mut l.proofs()).unwrap();
        let mut missing = |_: u64, _: u64| -> Result<Vec<Hash>, MerkleError<TileError>> {
            Err(MerkleError::Source(TileError::NotFound {
                path: "tile/0/000.p/7".into(),
            }))
        };
        let err = state.observe_latest(&l.cp(7), &mut missing).unwrap_err();
        assert!(matches!(err, StateError::Unserved { size: 7, .. }), "{err}");
        assert!(err.to_string().contains("tile/0/000.p/7 not found"));
        // An older proof checkpoint whose consistency needs tiles of the stored size 5.
        let err = state.tie_to_newest(&l.cp(3), &mut missing).unwrap_err();
        assert!(matches!(err, StateError::Unserved { size: 5, .. }), "{err}");
        let mut down = |_: u64, _: u64| -> Result<Vec<Hash>, MerkleError<TileError>> {
            Err(MerkleError::Source(TileError::Read {
                path: "tile/0/000.p/7".into(),
                reason: "connection refused".into(),
            }))
        };
        let err = state.observe_latest(&l.cp(7), &mut down).unwrap_err();
        assert!(matches!(err, StateError::Proof { .. }), "{err}");
        assert_eq!(fs::read_dir(state.evidence_dir()).unwrap().count(), 2);
        assert_eq!(state.stored("log.example/t").unwrap(), Some(l.note(5)));
    }

    #[test]
    fn the_lock_is_waited_for_until_the_deadline_only() {
        let l = log(8, 1);
        let tmp = tempfile::tempdir().unwrap();
        let state = StateDir::open(tmp.path())
            .unwrap()
            .with_deadline(Some(Deadline::after(std::time::Duration::from_millis(300))));
        let held = state
            .compare(&l.cp(5).log_signed(), Seen::Latest, &mut l.proofs())
            .unwrap();
        let other = StateDir::open(tmp.path())
            .unwrap()
            .with_deadline(Some(Deadline::after(std::time::Duration::from_millis(300))));
        let start = std::time::Instant::now();
        let err = other.observe_latest(&l.cp(5), &mut l.proofs()).unwrap_err();
        assert!(matches!(err, StateError::LockTimeout { .. }), "{err}");
        assert!(err.to_string().contains("--max-time"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(3));
        held.commit(&l.cp(5)).unwrap();
    }
}

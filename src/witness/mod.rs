//! The witness (`rget witness init|serve`): a C2SP tlog-witness that cosigns a log's checkpoint only
//! when it is consistent with the latest checkpoint it cosigned for that log, so that a log cannot show
//! two different histories to two parties that both require this witness's cosignature.
//!
//! A witness directory `DIR` holds:
//! ```text
//! DIR/witness.key       the Ed25519 key, an ordinary note signer key PRIVATE+KEY+<name>+…, mode 0600
//!                       (as transparency-dev's NewSignerForCosignatureV1 uses); its cosigner identity
//!                       is the same key under signature type 0x04
//! DIR/witness.pub       the cosigner verifier key (type 0x04) that `rget witness init` prints
//! DIR/lock              held (flock) by the one process serving this witness
//! DIR/logs/<hex>        per log: the latest checkpoint it cosigned, hex = lowercase SHA-256 of the
//!                       origin (see `state`)
//! DIR/discovered-logs   the logs it took from the witness network's log lists, as a log list (see
//!                       `discovery`)
//! ```
//!
//! The logs witnessed ([`LogConfig`]) come from the operator (the `log` lines of a policy file: a
//! log's key name is its origin, and its requests are not limited) and from log lists (`discovery`:
//! any origin, and a `qpd` budget past which requests get 429). A log, once configured, keeps its key
//! and its budget: [`Witness::add_log`] adds logs and never changes one.
//!
//! Any log whose checkpoints carry an Ed25519 note signature can be witnessed: rget's own logs, Go's
//! checksum database (origin `go.sum database tree`, key `sum.golang.org`), Sigsum logs (origin
//! `sigsum.org/v1/tree/<hex key hash>`), Rekor v2 and static CT logs (whose checkpoints also carry
//! signatures of other types by other keys, ignored as signed-note requires).
//!
//! Checking and updating a log's state is one critical section: one mutex per log is held from reading
//! the stored size to the durable write of the new state, and the answer is sent only after that. Two
//! concurrent requests therefore cannot both be checked against the same old state, and a crash cannot
//! lose a state the witness answered with.

pub mod discovery;
pub mod server;
pub mod state;

use crate::secret::{self, Secret};
use rget_core::checkpoint::{Checkpoint, MAX_TREE_SIZE};
use rget_core::cosignature;
use rget_core::digest::Hash;
use rget_core::log_list::Entry;
use rget_core::merkle::{empty_root, verify_consistency};
use rget_core::note::{self, KeyError, Note, NoteError, SignerKey, VerifierKey};
use rget_core::policy::Policy;
use rget_core::qpd::Budget;
use rget_fetch::durable::{self, sync_dir, write_atomic};
use state::{LogState, StateError};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

/// Longest the monitoring endpoint's checkpoint may lag behind the latest cosignature, in seconds.
pub const MAX_MONITORING_DELAY: u64 = 3600;

/// Most consistency-proof lines in a request (tlog-witness: a proof between two trees of at most
/// 2^63 − 1 leaves has at most 63 hashes).
pub const MAX_PROOF_LINES: usize = 63;

/// `DIR/witness.key`.
pub fn key_path(dir: &Path) -> PathBuf {
    dir.join("witness.key")
}

/// `DIR/witness.pub`.
pub fn vkey_path(dir: &Path) -> PathBuf {
    dir.join("witness.pub")
}

/// The process lock of a witness directory, `DIR/lock`: one process serves a witness, so two cannot
/// cosign two histories of one log.
fn lock(dir: &Path) -> io::Result<File> {
    durable::lock_exclusive(&dir.join("lock"))
}

// ---- requests -------------------------------------------------------------------------------------

/// A parsed `add-checkpoint` request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddRequest {
    /// The tree size the log says this witness last cosigned for it (`old <size>`).
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size (at most [`MAX_PROOF_LINES`]
    /// hashes).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, signatures included.
    pub note: Vec<u8>,
}

/// A tree size on the wire: ASCII digits, no leading zero but "0", at most 2^63 − 1.
fn parse_size(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) || (s.len() > 1 && s[0] == b'0') {
        return None;
    }
    std::str::from_utf8(s)
        .ok()?
        .parse::<u64>()
        .ok()
        .filter(|&n| n <= MAX_TREE_SIZE)
}

/// Parses `old <size>\n`, up to 63 lines of canonical base64 hashes, an empty line, then the
/// checkpoint note. Strict: anything else is refused with a one-line reason.
pub fn parse_request(body: &[u8]) -> Result<AddRequest, String> {
    let mut rest = body;
    let mut next_line = |what: &str| -> Result<&[u8], String> {
        let i = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| format!("request body ends inside the {what} (no newline)"))?;
        let (line, tail) = rest.split_at(i);
        rest = tail.get(1..).unwrap_or_default();
        Ok(line)
    };
    let first = next_line("old size line")?;
    let old = first
        .strip_prefix(b"old ")
        .and_then(parse_size)
        .ok_or_else(|| {
            format!(
                "first line {:?} is not 'old <size>' (decimal, no leading zero)",
                note::snippet(&String::from_utf8_lossy(first))
            )
        })?;
    let mut proof = Vec::new();
    loop {
        let line = next_line("consistency proof (missing the empty line before the checkpoint)")?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(format!(
                "consistency proof has more than {MAX_PROOF_LINES} lines"
            ));
        }
        let hash = std::str::from_utf8(line)
            .ok()
            .and_then(Hash::from_base64)
            .ok_or_else(|| {
                format!(
                    "consistency proof line {} is not canonical base64 of 32 bytes",
                    proof.len() + 1
                )
            })?;
        proof.push(hash);
    }
    Ok(AddRequest {
        old,
        proof,
        note: rest.to_vec(),
    })
}

// ---- outcomes -------------------------------------------------------------------------------------

/// A refused `add-checkpoint`, with its tlog-witness status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400: malformed request or checkpoint, or old size larger than the checkpoint's.
    BadRequest(String),
    /// 403: no valid signature by the log's key, or a bad one.
    Forbidden(String),
    /// 404: no configured log has this origin.
    UnknownLog(String),
    /// 409: the old size is not the size this witness holds, which is given.
    Conflict(u64),
    /// 422: a size-0 checkpoint whose root is not the empty tree's, an unexpected or failing
    /// consistency proof, or a different root for the size held: evidence of a misbehaving log.
    Inconsistent(String),
    /// 429: the log has spent its `qpd` budget; the next request is possible in `retry_after`
    /// seconds.
    TooManyRequests {
        /// The log's budget: add-checkpoint requests a day.
        qpd: u32,
        /// Seconds until the budget allows the next request (at least 1).
        retry_after: u64,
    },
    /// 500: this witness could not make its state durable (or its clock is unusable).
    Internal(String),
}

impl Refusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict(_) => 409,
            Refusal::Inconsistent(_) => 422,
            Refusal::TooManyRequests { .. } => 429,
            Refusal::Internal(_) => 500,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BadRequest(m)
            | Refusal::Forbidden(m)
            | Refusal::UnknownLog(m)
            | Refusal::Inconsistent(m)
            | Refusal::Internal(m) => f.write_str(m),
            Refusal::Conflict(n) => write!(f, "old size does not match the latest size {n}"),
            Refusal::TooManyRequests { qpd, retry_after } => write!(
                f,
                "the log has used its budget of {qpd} add-checkpoint requests a day; \
                 retry in {retry_after} s"
            ),
        }
    }
}

/// A cosigned checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The log's origin.
    pub origin: String,
    /// The tree size cosigned before this request (the request's `old`).
    pub old: u64,
    /// The tree size of the checkpoint cosigned now.
    pub size: u64,
    /// The answer body: the `cosignature/v1` line(s), each ending in a newline.
    pub lines: String,
}

// ---- configuration --------------------------------------------------------------------------------

/// A log this witness cosigns for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// The origin line of its checkpoints.
    pub origin: String,
    /// The key its checkpoints must be signed with (Ed25519, type 0x01). Its name need not be the
    /// origin (Go's checksum database: key `sum.golang.org`, origin `go.sum database tree`).
    pub vkey: VerifierKey,
    /// Its add-checkpoint budget a day (`rget_core::qpd`); `None`: not limited.
    pub qpd: Option<u32>,
}

impl LogConfig {
    /// The logs of a policy's `log` lines: each key's name is its origin, and none is limited (the
    /// operator named them).
    pub fn from_policy(policy: &Policy) -> Vec<LogConfig> {
        policy
            .logs
            .iter()
            .map(|l| LogConfig {
                origin: l.vkey.name.clone(),
                vkey: l.vkey.clone(),
                qpd: None,
            })
            .collect()
    }

    /// The log of a log-list entry.
    pub fn from_entry(e: &Entry) -> LogConfig {
        LogConfig {
            origin: e.origin.clone(),
            vkey: e.vkey.clone(),
            qpd: Some(e.qpd),
        }
    }
}

/// What [`Witness::add_log`] did with a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Added {
    /// A new log: witnessed from now on.
    New,
    /// Already configured exactly so: nothing to do.
    Same,
    /// Already configured with another key or budget, which stay: a configured log is never changed
    /// by a later source (the witness network's rule: a list is not the witness's configuration, so
    /// the list's maintainers cannot take over or disable a log a witness already cosigns for).
    Kept(LogConfig),
}

// ---- the witness ----------------------------------------------------------------------------------

/// One witnessed log: its configuration, its budget, and its state behind the mutex that makes
/// check-and-update atomic.
struct Slot {
    config: LogConfig,
    budget: Option<Mutex<Budget>>,
    state: Mutex<LogState>,
}

/// The witnessed logs, by origin and by the hash of their origin (for the monitoring endpoint).
#[derive(Default)]
struct Logs {
    by_origin: HashMap<String, Arc<Slot>>,
    /// Lowercase hex SHA-256 of the origin → origin.
    by_hash: HashMap<String, String>,
}

/// An open witness: its key, the logs it witnesses with their states, and the directory lock.
pub struct Witness {
    dir: PathBuf,
    signer: SignerKey,
    cosigner: VerifierKey,
    logs: RwLock<Logs>,
    /// The monotonic clock budgets are counted on.
    started: Instant,
    _lock: File,
}

/// Why `rget witness init` could not create a witness.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// The directory (`.0`) already has a `witness.key`.
    #[error("{0} already holds a witness (witness.key exists); refusing to overwrite it")]
    Exists(String),
    /// The name given (`.0`) is empty, or holds white space or `+`.
    #[error("name {0:?} is not a valid key name (non-empty, no spaces, no '+')")]
    BadName(String),
    /// No key could be generated (the system's random number generator failed).
    #[error("cannot generate a key: {0}")]
    Rng(String),
    /// The directory could not be created or synced, locked, or a key file written.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file.
        path: String,
        /// The system's error.
        source: io::Error,
    },
}

/// Why a witness could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory (`.0`) has no `witness.key`.
    #[error("{0} is not a witness directory (no witness.key; create one with 'rget witness init')")]
    NotWitness(String),
    /// `witness.key` does not parse as a note signer key.
    #[error("{path}: not a signer key: {source}")]
    Key {
        /// The key file.
        path: String,
        /// Why it does not parse.
        source: KeyError,
    },
    /// The directory lock could not be taken (another process serves this witness, say), or the
    /// temporaries of an interrupted write could not be removed.
    #[error("{path}: {source}")]
    Io {
        /// The lock file or the directory.
        path: String,
        /// The system's error.
        source: io::Error,
    },
    /// The key file is not one only this user controls, or not a file at all.
    #[error("{0}")]
    Secret(crate::secret::SecretError),
    /// No policy log and no log from a log list (read now, or discovered before) to witness.
    #[error("no log to witness: the policy has no 'log' line and no log list named a log")]
    NoLogs,
    /// A log's stored state could not be loaded.
    #[error("{0}")]
    State(#[from] StateError),
}

fn io_at(p: &Path) -> impl FnOnce(io::Error) -> InitError + use<> {
    let path = p.display().to_string();
    move |source| InitError::Io { path, source }
}

/// Creates a witness in `dir` named `name`: a fresh Ed25519 key in `DIR/witness.key` (mode 0600) and
/// the cosigner verifier key in `DIR/witness.pub`. Returns the cosigner verifier key (type 0x04).
pub fn init(dir: &Path, name: &str) -> Result<VerifierKey, InitError> {
    if !note::valid_key_name(name) {
        return Err(InitError::BadName(name.to_owned()));
    }
    let key = SignerKey::generate(name).map_err(|e| match e {
        KeyError::InvalidName(_) => InitError::BadName(name.to_owned()),
        e => InitError::Rng(e.to_string()),
    })?;
    if !dir.is_dir() {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        sync_dir(parent).map_err(io_at(parent))?;
    }
    // The lock keeps two concurrent inits (or an init beside a running witness) apart.
    let _lock = lock(dir).map_err(io_at(&dir.join("lock")))?;
    if key_path(dir).exists() {
        return Err(InitError::Exists(dir.display().to_string()));
    }
    let vkey = cosignature::verifier_key(&key);
    write_atomic(&vkey_path(dir), format!("{vkey}\n").as_bytes(), 0o644)
        .map_err(io_at(&vkey_path(dir)))?;
    // The key last: its presence is what marks a directory as a witness.
    write_atomic(&key_path(dir), format!("{key}\n").as_bytes(), 0o600)
        .map_err(io_at(&key_path(dir)))?;
    Ok(vkey)
}

/// Whether a note that did not parse failed on a signature line by `vkey`'s name (a non-canonical
/// or truncated encoding of its signature): for the log's own key that is a signature that fails to
/// verify, which tlog-witness answers with 403, not with the 400 of a malformed request.
fn bad_line_is_by(note_bytes: &[u8], e: &NoteError, vkey: &VerifierKey) -> bool {
    let (NoteError::SigBase64 { line } | NoteError::SigTooShort { line, .. }) = e else {
        return false;
    };
    let Some(text) = note_bytes
        .split(|&b| b == b'\n')
        .nth(line.saturating_sub(1))
    else {
        return false;
    };
    let Some(rest) = std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.strip_prefix("\u{2014} "))
    else {
        return false;
    };
    rest.split(' ').next() == Some(vkey.name.as_str())
}

impl Witness {
    /// Opens the witness in `dir` for `logs`: takes the directory lock (a second process on the same
    /// directory is refused), reads the key, and loads every log's state. The first configuration of
    /// an origin wins ([`Witness::add_log`]). Logs can be added later (log lists), so `logs` may be
    /// empty; the caller decides whether a witness with nothing to witness should run.
    pub fn open(dir: &Path, logs: &[LogConfig]) -> Result<Witness, OpenError> {
        let kp = key_path(dir);
        let shown = kp.display().to_string();
        let text = match secret::read_text(&kp, Secret::Key, secret::MAX_NOTE_KEY_FILE) {
            Ok(t) => t,
            Err(e) if e.is_not_found() => {
                return Err(OpenError::NotWitness(dir.display().to_string()));
            }
            Err(e) => return Err(OpenError::Secret(e)),
        };
        let signer = SignerKey::parse(text.trim_end()).map_err(|source| OpenError::Key {
            path: shown.clone(),
            source,
        })?;
        let lock = lock(dir).map_err(|source| OpenError::Io {
            path: dir.join("lock").display().to_string(),
            source,
        })?;
        // Leftovers of a write interrupted by a crash (states, the discovered logs); the renamed
        // files are the state.
        durable::sweep_temporaries(dir, true).map_err(|source| OpenError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let w = Witness {
            dir: dir.to_path_buf(),
            cosigner: cosignature::verifier_key(&signer),
            signer,
            logs: RwLock::new(Logs::default()),
            started: Instant::now(),
            _lock: lock,
        };
        for l in logs {
            w.add_log(l.clone())?;
        }
        Ok(w)
    }

    /// The witness directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The cosigner verifier key (type 0x04).
    pub fn cosigner(&self) -> &VerifierKey {
        &self.cosigner
    }

    /// Milliseconds on the monotonic clock budgets are counted on.
    fn clock_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Adds a log, unless its origin is already configured: then nothing changes, whatever `log`
    /// says ([`Added::Kept`] tells the caller, so it can warn). A new log's state is loaded from
    /// `DIR/logs`: a log witnessed before, dropped from the configuration and configured again
    /// resumes where it was, its history not forgotten.
    pub fn add_log(&self, log: LogConfig) -> Result<Added, StateError> {
        let compare = |existing: &LogConfig| {
            if *existing == log {
                Added::Same
            } else {
                Added::Kept(existing.clone())
            }
        };
        if let Some(slot) = self.slot(&log.origin) {
            return Ok(compare(&slot.config));
        }
        // Loaded outside the write lock: reading one small file must not hold up every request.
        let st = state::load(&self.dir, &log.origin, &self.cosigner)?;
        let mut logs = self.logs.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = logs.by_origin.get(&log.origin) {
            return Ok(compare(&slot.config)); // added meanwhile by another caller
        }
        let budget = log
            .qpd
            .map(|q| Mutex::new(Budget::for_witness(q, self.clock_ms())));
        logs.by_hash
            .insert(state::origin_hash(&log.origin), log.origin.clone());
        logs.by_origin.insert(
            log.origin.clone(),
            Arc::new(Slot {
                config: log,
                budget,
                state: Mutex::new(st),
            }),
        );
        Ok(Added::New)
    }

    fn slot(&self, origin: &str) -> Option<Arc<Slot>> {
        let logs = self.logs.read().unwrap_or_else(PoisonError::into_inner);
        logs.by_origin.get(origin).cloned()
    }

    /// The configuration of the log `origin`, if it is witnessed.
    pub fn config_of(&self, origin: &str) -> Option<LogConfig> {
        self.slot(origin).map(|s| s.config.clone())
    }

    /// How many logs are witnessed.
    pub fn log_count(&self) -> usize {
        let logs = self.logs.read().unwrap_or_else(PoisonError::into_inner);
        logs.by_origin.len()
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hex`, if any.
    pub fn latest(&self, hex: &str) -> Option<Vec<u8>> {
        let slot = {
            let logs = self.logs.read().unwrap_or_else(PoisonError::into_inner);
            logs.by_origin.get(logs.by_hash.get(hex)?)?.clone()
        };
        let st = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.note.clone()
    }

    /// Handles an `add-checkpoint` body at time `now` (POSIX seconds): every check of
    /// C2SP tlog-witness, then, for a consistent checkpoint, the durable update of the log's state and
    /// the cosignature. Blocking (it fsyncs); call it off the async workers.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<Cosigned, Refusal> {
        let req = parse_request(body).map_err(Refusal::BadRequest)?;
        let parsed = match note::parse(&req.note) {
            Ok(p) => p,
            Err(e) => {
                // A note that does not parse because the log's own signature line is not canonical
                // base64 carries a bad signature by the log's key: 403, as for any bad signature.
                let first = req.note.split(|&b| b == b'\n').next().unwrap_or_default();
                let slot = std::str::from_utf8(first).ok().and_then(|o| self.slot(o));
                if let Some(slot) = slot.filter(|s| bad_line_is_by(&req.note, &e, &s.config.vkey)) {
                    return Err(Refusal::Forbidden(format!(
                        "checkpoint signature by the log's key {}: {e}",
                        slot.config.vkey.name
                    )));
                }
                return Err(Refusal::BadRequest(format!("checkpoint note: {e}")));
            }
        };
        let cp = Checkpoint::parse(&parsed.text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let slot = self.slot(&cp.origin).ok_or_else(|| {
            Refusal::UnknownLog(format!(
                "unknown log origin {:?}",
                note::snippet(&cp.origin)
            ))
        })?;
        let vkey = &slot.config.vkey;
        // Keep the log's own signature (the first line by its key, the one verified) for the stored
        // checkpoint; other witnesses' cosignatures and unknown lines are not ours to vouch for.
        let log_sig = parsed
            .signatures
            .iter()
            .find(|s| s.name == vkey.name && s.id == vkey.id)
            .cloned();
        let opened = note::verify_note(parsed, std::slice::from_ref(vkey))
            .map_err(|e| Refusal::Forbidden(format!("checkpoint signature: {e}")))?;
        let Some(log_sig) = log_sig else {
            return Err(Refusal::Forbidden(
                "checkpoint has no signature by the log's key".into(),
            ));
        };
        // The budget counts only requests that carry the log's valid signature: anyone can send junk
        // in a log's name, and that must not use up the log's budget. (Anyone can also resend a
        // log's published checkpoints, which do carry it: the budget protects the witness's
        // capacity, not the log's access.)
        if let (Some(budget), Some(qpd)) = (&slot.budget, slot.config.qpd) {
            let mut b = budget.lock().unwrap_or_else(PoisonError::into_inner);
            if let Err(wait_ms) = b.take(self.clock_ms()) {
                return Err(Refusal::TooManyRequests {
                    qpd,
                    retry_after: wait_ms.div_ceil(1000).max(1),
                });
            }
        }
        if req.old > cp.size {
            return Err(Refusal::BadRequest(format!(
                "old size {} is larger than the checkpoint size {}",
                req.old, cp.size
            )));
        }
        if now == 0 || now > cosignature::MAX_TIMESTAMP {
            return Err(Refusal::Internal(
                "the witness's clock is unusable for a cosignature timestamp".into(),
            ));
        }
        let text = opened.note.text;

        // The critical section: from reading the size held to the durable write of the new one.
        let mut st = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        if req.old != st.size {
            return Err(Refusal::Conflict(st.size));
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Inconsistent(
                "checkpoint of size 0 whose root is not SHA-256 of the empty string".into(),
            ));
        }
        verify_consistency(st.size, cp.size, &st.root, &cp.root, &req.proof).map_err(|e| {
            Refusal::Inconsistent(format!(
                "not consistent with the checkpoint of size {} this witness cosigned: {e}",
                st.size
            ))
        })?;
        let cosig = cosignature::sign(&self.signer, &text, now)
            .map_err(|e| Refusal::Internal(e.to_string()))?;
        // Same tree again: answer, and store only if the stored cosignature is over an hour old, so
        // that the monitoring endpoint serves a cosignature at most an hour staler than the latest
        // (tlog-witness: a witness "SHOULD NOT delay for more than an hour"). Otherwise the new
        // state is durable first.
        let stale = st.cosigned_at.saturating_add(MAX_MONITORING_DELAY) < now;
        if st.note.is_none() || cp.size != st.size || stale {
            let stored = Note {
                text,
                signatures: vec![log_sig, cosig.clone()],
            }
            .to_bytes();
            if let Err(e) = state::store(&self.dir, &cp.origin, &stored) {
                // The rename may or may not have happened: take what is on disk as the truth (a
                // state not answered with is harmless either way), or keep the old one.
                if let Ok(reloaded) = state::load(&self.dir, &cp.origin, &self.cosigner) {
                    *st = reloaded;
                }
                return Err(Refusal::Internal(format!(
                    "cannot store the new state of the log: {e}"
                )));
            }
            *st = LogState {
                size: cp.size,
                root: cp.root,
                note: Some(stored),
                cosigned_at: now,
            };
        }
        drop(st);
        Ok(Cosigned {
            origin: cp.origin,
            old: req.old,
            size: cp.size,
            lines: cosig.to_line(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parsing_is_strict() {
        let h = Hash([7; 32]).to_base64();
        let ok = parse_request(format!("old 5\n{h}\n{h}\n\nnote\n").as_bytes()).unwrap();
        assert_eq!(ok.old, 5);
        assert_eq!(ok.proof, vec![Hash([7; 32]); 2]);
        assert_eq!(ok.note, b"note\n");
        let none = parse_request(b"old 0\n\n").unwrap();
        assert_eq!((none.old, none.proof.len(), none.note.len()), (0, 0, 0));
        let max = format!("old {MAX_TREE_SIZE}\n\nx");
        assert_eq!(parse_request(max.as_bytes()).unwrap().old, MAX_TREE_SIZE);
        let proof63 = format!("old 1\n{}\nx", format!("{h}\n").repeat(63));
        assert_eq!(parse_request(proof63.as_bytes()).unwrap().proof.len(), 63);
        let proof64 = format!("old 1\n{}\nx", format!("{h}\n").repeat(64));
        for bad in [
            "".to_string(),
            "old 5".into(),
            "old 5\n".into(),
            "old 05\n\n".into(),
            "old -1\n\n".into(),
            "old +1\n\n".into(),
            "old  1\n\n".into(),
            "Old 1\n\n".into(),
            "old 1\r\n\r\n".into(),
            "old 9223372036854775808\n\n".into(),
            format!("old 1\n{h}\n"),
            format!("old 1\n{h} \n\n"),
            format!("old 1\n{}\n\n", &h[..43]),
            "old 1\nAAAA\n\n".into(),
            proof64,
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

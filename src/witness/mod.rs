//! The witness (`rget witness init|serve`): a C2SP tlog-witness that cosigns a log's checkpoint only
//! when it is consistent with the latest checkpoint it cosigned for that log, so that a log cannot show
//! two different histories to two parties that both require this witness's cosignature.
//!
//! A witness directory `DIR` holds:
//! ```text
//! DIR/witness.key   the Ed25519 key, an ordinary note signer key PRIVATE+KEY+<name>+…, mode 0600
//!                   (as transparency-dev's NewSignerForCosignatureV1 uses); its cosigner identity is
//!                   the same key under signature type 0x04
//! DIR/witness.pub   the cosigner verifier key (type 0x04) that `rget witness init` prints
//! DIR/lock          held (flock) by the one process serving this witness
//! DIR/logs/<hex>    per log: the latest checkpoint it cosigned, hex = lowercase SHA-256 of the origin
//!                   (see `state`)
//! ```
//!
//! The logs witnessed are the `log` lines of a tlog-policy file given to `serve`; a log's key name is
//! its origin.
//!
//! Checking and updating a log's state is one critical section: one mutex per log is held from reading
//! the stored size to the durable write of the new state, and the answer is sent only after that. Two
//! concurrent requests therefore cannot both be checked against the same old state, and a crash cannot
//! lose a state the witness answered with.

pub mod server;
pub mod state;

use crate::secret::{self, Secret};
use rget_core::checkpoint::{Checkpoint, MAX_TREE_SIZE};
use rget_core::cosignature;
use rget_core::digest::Hash;
use rget_core::merkle::{empty_root, verify_consistency};
use rget_core::note::{self, KeyError, Note, SignerKey, VerifierKey};
use rget_core::policy::Policy;
use rget_fetch::durable::{self, sync_dir, write_atomic};
use state::{LogState, StateError};
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

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
    pub old: u64,
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
    /// 404: no policy log has this origin.
    UnknownLog(String),
    /// 409: the old size is not the size this witness holds, which is given.
    Conflict(u64),
    /// 422: a size-0 checkpoint whose root is not the empty tree's, an unexpected or failing
    /// consistency proof, or a different root for the size held: evidence of a misbehaving log.
    Inconsistent(String),
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
        }
    }
}

/// A cosigned checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    pub origin: String,
    pub old: u64,
    pub size: u64,
    /// The answer body: the `cosignature/v1` line(s), each ending in a newline.
    pub lines: String,
}

// ---- the witness ----------------------------------------------------------------------------------

/// One witnessed log: its key and its state behind the mutex that makes check-and-update atomic.
struct Slot {
    vkey: VerifierKey,
    state: Mutex<LogState>,
}

/// An open witness: its key, the logs it witnesses with their states, and the directory lock.
pub struct Witness {
    dir: PathBuf,
    signer: SignerKey,
    cosigner: VerifierKey,
    /// By origin.
    logs: HashMap<String, Slot>,
    /// Lowercase hex SHA-256 of the origin → origin, for the monitoring endpoint.
    by_hash: HashMap<String, String>,
    _lock: File,
}

/// Why `rget witness init` could not create a witness.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{0} already holds a witness (witness.key exists); refusing to overwrite it")]
    Exists(String),
    #[error("name {0:?} is not a valid key name (non-empty, no spaces, no '+')")]
    BadName(String),
    #[error("cannot generate a key: {0}")]
    Rng(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

/// Why a witness could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0} is not a witness directory (no witness.key; create one with 'rget witness init')")]
    NotWitness(String),
    #[error("{path}: not a signer key: {source}")]
    Key { path: String, source: KeyError },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    /// The key file is not one only this user controls, or not a file at all.
    #[error("{0}")]
    Secret(crate::secret::SecretError),
    #[error("the policy has no 'log' lines: there is nothing to witness")]
    NoLogs,
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

impl Witness {
    /// Opens the witness in `dir` for the `log` lines of `policy`: takes the directory lock (a second
    /// process on the same directory is refused), reads the key, and loads every log's state.
    pub fn open(dir: &Path, policy: &Policy) -> Result<Witness, OpenError> {
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
        if policy.logs.is_empty() {
            return Err(OpenError::NoLogs);
        }
        let lock = lock(dir).map_err(|source| OpenError::Io {
            path: dir.join("lock").display().to_string(),
            source,
        })?;
        // Leftovers of a write interrupted by a crash; the renamed files are the state.
        let logs_dir = state::logs_dir(dir);
        durable::sweep_temporaries(&logs_dir, true).map_err(|source| OpenError::Io {
            path: logs_dir.display().to_string(),
            source,
        })?;
        let cosigner = cosignature::verifier_key(&signer);
        let mut logs = HashMap::new();
        let mut by_hash = HashMap::new();
        for l in &policy.logs {
            let origin = l.vkey.name.clone();
            let st = state::load(dir, &origin, &cosigner)?;
            by_hash.insert(state::origin_hash(&origin), origin.clone());
            logs.insert(
                origin,
                Slot {
                    vkey: l.vkey.clone(),
                    state: Mutex::new(st),
                },
            );
        }
        Ok(Witness {
            dir: dir.to_path_buf(),
            signer,
            cosigner,
            logs,
            by_hash,
            _lock: lock,
        })
    }

    /// The cosigner verifier key (type 0x04).
    pub fn cosigner(&self) -> &VerifierKey {
        &self.cosigner
    }

    /// The witnessed logs: (origin, size held), sorted by origin.
    pub fn sizes(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .logs
            .iter()
            .map(|(o, s)| {
                let st = s.state.lock().unwrap_or_else(PoisonError::into_inner);
                (o.clone(), st.size)
            })
            .collect();
        v.sort();
        v
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hex`, if any.
    pub fn latest(&self, hex: &str) -> Option<Vec<u8>> {
        let slot = self.logs.get(self.by_hash.get(hex)?)?;
        let st = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.note.clone()
    }

    /// Handles an `add-checkpoint` body at time `now` (POSIX seconds): every check of
    /// C2SP tlog-witness, then, for a consistent checkpoint, the durable update of the log's state and
    /// the cosignature. Blocking (it fsyncs); call it off the async workers.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<Cosigned, Refusal> {
        let req = parse_request(body).map_err(Refusal::BadRequest)?;
        let parsed = note::parse(&req.note)
            .map_err(|e| Refusal::BadRequest(format!("checkpoint note: {e}")))?;
        let cp = Checkpoint::parse(&parsed.text).map_err(|e| Refusal::BadRequest(e.to_string()))?;
        let slot = self.logs.get(&cp.origin).ok_or_else(|| {
            Refusal::UnknownLog(format!(
                "unknown log origin {:?}",
                note::snippet(&cp.origin)
            ))
        })?;
        // Keep the log's own signature (the first line by its key, the one verified) for the stored
        // checkpoint; other witnesses' cosignatures and unknown lines are not ours to vouch for.
        let log_sig = parsed
            .signatures
            .iter()
            .find(|s| s.name == slot.vkey.name && s.id == slot.vkey.id)
            .cloned();
        let opened = note::verify_note(parsed, std::slice::from_ref(&slot.vkey))
            .map_err(|e| Refusal::Forbidden(format!("checkpoint signature: {e}")))?;
        let Some(log_sig) = log_sig else {
            return Err(Refusal::Forbidden(
                "checkpoint has no signature by the log's key".into(),
            ));
        };
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
        // Same tree again: answer, nothing to store. Otherwise the new state is durable first.
        if st.note.is_none() || cp.size != st.size {
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

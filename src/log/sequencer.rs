//! The sequencer: turns submitted records into durable, published tree growth, one batch at a time.
//!
//! A batch commits in this order, each step durable before the next starts:
//! 1. the entry bundles and hash tiles the batch adds or changes, all in one `durable::write_many`:
//!    temporary files written, one file-system-wide sync (`syncfs`), every rename, a second sync, so a
//!    batch costs two barriers however many files and directories it touches;
//! 2. `tree-state` (size and root): from here on the batch is part of the log for good;
//! 3. the signed checkpoint in `public/checkpoint`;
//! 4. only then are the submitters answered, each with a `c2sp.org/tlog-proof@v1`.
//!
//! With witnesses, step 3 waits for their quorum (`witnessing`): meanwhile the sequencer goes on
//! making batches durable (steps 1 and 2), holding their answers, and the checkpoint it publishes
//! once the quorum is met covers them all. That is how a log whose witnesses grant it a budget of
//! requests batches checkpoints instead of failing. At most `queue_size` answers are held; beyond
//! that, submissions wait in the queue, and past it they get 503.
//!
//! A crash before step 2 loses only unanswered submissions: no checkpoint ever covered their files,
//! and the next open removes them (`published::repair`), as a failed batch does at once. A crash
//! between 2 and 3 is finished on the next open by
//! signing the checkpoint for the durable state. Signing is deterministic (Ed25519 over the same text),
//! and a checkpoint is only ever signed for the durable state, so the log never signs two different
//! roots for one size, whatever the crash.

use super::dir::LogDir;
use super::index::Index;
use super::metrics::Metrics;
use super::published;
use super::state::TreeState;
use super::witnessing::{Waiting, Witnesses};
use crate::secret::{self, Secret};
use crate::serve::logfmt::{Level, event};
use rget_core::checkpoint::Checkpoint;
use rget_core::digest::Hash;
use rget_core::merkle::{self, MemoryTree, MerkleError};
use rget_core::note::{self, SignerKey, VerifierKey};
use rget_core::tile::{self, Tile};
use rget_core::tlog_proof::TlogProof;
use rget_fetch::durable;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Batching and back-pressure settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Most records per batch.
    pub batch_size: usize,
    /// Longest a record waits for its batch to fill before the batch commits anyway.
    pub batch_delay: Duration,
    /// Submissions that may wait for the sequencer; beyond that, `SubmitError::QueueFull` (HTTP 503).
    pub queue_size: usize,
}

impl Default for Config {
    /// Suits a public log: a batch per 256 records or 500 ms, whichever comes first.
    fn default() -> Self {
        Config {
            batch_size: 256,
            batch_delay: Duration::from_millis(500),
            queue_size: 16_384,
        }
    }
}

/// Why a log directory could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A file or directory of the log cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: io::Error,
    },
    /// `log.key` does not parse as a note signer key.
    #[error("{path} is not a log private key: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Why it does not parse.
        reason: String,
    },
    /// `tree-state` does not parse (holds its path).
    #[error("{0} is not a valid tree-state file")]
    State(String),
    /// The key file cannot be read, or is not one only this user controls.
    #[error("{0}")]
    Secret(#[from] crate::secret::SecretError),
    /// The files disagree: a published checkpoint that does not verify or is ahead of
    /// `tree-state`, an entry bundle that does not decode, or bundles that do not hash to the
    /// recorded root. Serving from them could publish a tree that contradicts a published
    /// checkpoint.
    #[error("log storage is inconsistent: {0}")]
    Corrupt(String),
}

/// A submission could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The queue holds `queue_size` submissions already (HTTP 503: try again later).
    #[error("the log's queue is full")]
    QueueFull,
    /// The log is shutting down, or its sequencer stopped after a storage failure.
    #[error("the log is not accepting submissions (shutting down or storage failure)")]
    Closed,
}

/// A batch could not be made durable: the submission is not in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the log could not commit the batch: {0}")]
pub struct CommitError(pub String);

/// A record in the log, with its proof under the published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proved {
    /// The record's leaf index.
    pub index: u64,
    /// `c2sp.org/tlog-proof@v1` bytes.
    pub proof: Vec<u8>,
}

/// What HTTP handlers read while the sequencer writes.
struct Shared {
    tree: MemoryTree,
    /// Size of the published checkpoint (the tree may already hold leaves of the batch in flight).
    published: u64,
    checkpoint: Vec<u8>,
    index: Index,
    /// While the durable tree is ahead of the published checkpoint: why (the witnesses that failed
    /// and what the quorum needs, or their budgets), for the submitters kept waiting.
    unpublished_why: Option<String>,
}

impl Shared {
    fn proof(&self, index: u64) -> Result<Proved, MerkleError> {
        let hashes = merkle::inclusion_proof(index, self.published, &mut &self.tree)?;
        let file = TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: self.checkpoint.clone(),
        };
        Ok(Proved {
            index,
            proof: file.to_bytes(),
        })
    }
}

fn io_err(p: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: p.display().to_string(),
        source,
    }
}

/// An open log: the only writer of its directory while it lives (it holds the lock).
pub struct Log {
    dir: LogDir,
    key: SignerKey,
    _lock: File,
    shared: Arc<RwLock<Shared>>,
    state: TreeState,
    /// Entries of the current partial entry bundle (fewer than 256), needed to rewrite it wider.
    edge: Vec<Vec<u8>>,
    metrics: Arc<Metrics>,
    /// Set when a failed batch could not even be rolled back by reloading from disk: the log then
    /// refuses all further submissions rather than guess at its own state.
    broken: bool,
    /// The witnesses whose quorum a checkpoint needs before it is published, if any.
    witnesses: Option<Witnesses>,
    /// The durable tree is ahead of the published checkpoint: the witnesses' quorum is still missing.
    unpublished: bool,
    /// Set on shutdown: waiting for witnesses gives up.
    stop: Arc<AtomicBool>,
}

impl Log {
    /// Opens (and, after a crash, repairs) the log in `dir`: takes the lock, removes temporary files,
    /// rebuilds the tree and the indexes from the entry bundles, checks them against `tree-state`,
    /// makes `public/` hold exactly the tiles that tree vouches for (`published::repair`), signs and
    /// publishes the checkpoint for the durable state if the published one is older, and removes
    /// superseded partial tiles.
    pub fn open(dir: &Path) -> Result<Log, OpenError> {
        Self::open_with(dir, None)
    }

    /// [`Log::open`] for a log whose checkpoints need the cosignatures of `witnesses` (their policy's
    /// quorum) before they are published. If the quorum cannot be had at open, the last published
    /// checkpoint stays and the sequencer keeps trying before it takes new submissions.
    pub fn open_with(dir: &Path, witnesses: Option<Witnesses>) -> Result<Log, OpenError> {
        let dir = LogDir::new(dir);
        let key_text = secret::read_text(&dir.key(), Secret::Key, secret::MAX_NOTE_KEY_FILE)?;
        let key = SignerKey::parse(key_text.trim_end()).map_err(|e| OpenError::Key {
            path: dir.key().display().to_string(),
            reason: e.to_string(),
        })?;
        let lock = durable::lock_exclusive(&dir.lock()).map_err(io_err(&dir.lock()))?;
        durable::sweep_temporaries(dir.root(), true).map_err(io_err(dir.root()))?;
        let state_text = fs::read_to_string(dir.state()).map_err(io_err(&dir.state()))?;
        let state = TreeState::parse(&state_text)
            .ok_or_else(|| OpenError::State(dir.state().display().to_string()))?;
        let (tree, index, edge) = rebuild(&dir, state)?;
        // Before anything is served: only what the durable tree vouches for stays in public/.
        published_checkpoint(&dir, &key, state)?;
        published::repair(&dir, &tree, state.size, &edge).map_err(io_err(&dir.public()))?;
        let mut log = Log {
            dir,
            key,
            _lock: lock,
            shared: Arc::new(RwLock::new(Shared {
                tree,
                published: 0,
                checkpoint: Vec::new(),
                index,
                unpublished_why: None,
            })),
            state,
            edge,
            metrics: Arc::new(Metrics::default()),
            broken: false,
            witnesses,
            unpublished: false,
            stop: Arc::new(AtomicBool::new(false)),
        };
        log.finish_checkpoint()?;
        let published = read(&log.shared).published;
        published::collect_all_garbage(&log.dir, published).map_err(io_err(&log.dir.public()))?;
        Ok(log)
    }

    /// The log's verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier_key()
    }

    /// The durable tree state.
    pub fn state(&self) -> TreeState {
        self.state
    }

    /// The published checkpoint note.
    pub fn checkpoint(&self) -> Vec<u8> {
        read(&self.shared).checkpoint.clone()
    }

    /// Counters for `/metrics`.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Publishes the checkpoint for the durable state unless the published one already is it.
    fn finish_checkpoint(&mut self) -> Result<(), OpenError> {
        if let Some((cp, bytes)) = published_checkpoint(&self.dir, &self.key, self.state)? {
            if let Some(w) = self.witnesses.as_mut() {
                w.observe_published(&bytes, &cp);
                self.metrics.set_witnesses(w.stats());
            }
            if cp.size == self.state.size {
                let mut s = write(&self.shared);
                s.published = cp.size;
                s.checkpoint = bytes;
                self.metrics.tree_size.store(cp.size, Relaxed);
                return Ok(());
            }
        }
        if self
            .publish_checkpoint()
            .map_err(io_err(&self.dir.checkpoint()))?
            .is_some()
        {
            self.unpublished = true;
        }
        Ok(())
    }

    /// Publishes the checkpoint for the durable state, cosigned as the witnesses' quorum requires.
    /// Returns `None` once published; else (publishing nothing) why the quorum is not met yet and
    /// when to try again.
    fn publish_checkpoint(&mut self) -> io::Result<Option<(Waiting, Duration)>> {
        let cp = Checkpoint {
            origin: self.key.name().to_string(),
            size: self.state.size,
            root: self.state.root,
            extensions: Vec::new(),
        };
        let mut bytes =
            note::sign(&cp.format(), &[&self.key]).map_err(|e| io::Error::other(e.to_string()))?;
        if let Some(w) = self.witnesses.as_mut() {
            let shared = self.shared.clone();
            let proof = move |old: u64, new: u64| {
                merkle::consistency_proof(old, new, &mut &read(&shared).tree)
            };
            let cosigned = w.cosign(&bytes, &cp, &proof);
            self.metrics.set_witnesses(w.stats());
            self.metrics
                .witness_failures
                .fetch_add(cosigned.failures.len() as u64, Relaxed);
            if let Some((why, after)) = cosigned.waiting {
                let (missing, budget) = match why {
                    Waiting::Failures => (1, 0),
                    Waiting::Budget => (0, 1),
                };
                self.metrics.quorum_missing.store(missing, Relaxed);
                self.metrics.budget_wait.store(budget, Relaxed);
                let why_text = match why {
                    Waiting::Failures if cosigned.failures.is_empty() => format!(
                        "the witness quorum is not reached (it needs {}): the witnesses are in \
                         their back-off after failing",
                        w.describe_quorum()
                    ),
                    Waiting::Failures => format!(
                        "the witness quorum is not reached (it needs {}): {}",
                        w.describe_quorum(),
                        cosigned.failures.join("; ")
                    ),
                    Waiting::Budget => format!(
                        "the witnesses' budgets (qpd) allow the next checkpoint in {} s",
                        after.as_secs().max(1)
                    ),
                };
                // Keep the last failures seen: a round skipped during the back-off has none.
                {
                    let mut shared = write(&self.shared);
                    let in_backoff = why == Waiting::Failures && cosigned.failures.is_empty();
                    if !in_backoff || shared.unpublished_why.is_none() {
                        shared.unpublished_why = Some(why_text);
                    }
                }
                // Waiting for budget is the normal course of a busy log: not worth a line each time.
                if why == Waiting::Failures {
                    let size = cp.size.to_string();
                    let cosigners = cosigned.cosigners.join(",");
                    let failures = cosigned.failures.join("; ");
                    let needs = w.describe_quorum();
                    event(
                        Level::Warn,
                        "witness quorum not met; the last cosigned checkpoint stays published",
                        &[
                            ("size", &size),
                            ("cosigned_by", &cosigners),
                            ("needs", &needs),
                            ("failures", &failures),
                            ("retry_ms", &after.as_millis()),
                        ],
                    );
                }
                return Ok(Some((why, after)));
            }
            bytes = cosigned.note;
        }
        self.install_checkpoint(cp.size, bytes)?;
        self.metrics.quorum_missing.store(0, Relaxed);
        self.metrics.budget_wait.store(0, Relaxed);
        self.unpublished = false;
        Ok(None)
    }

    /// Makes `bytes` (a checkpoint of `size`) the published checkpoint: durable in
    /// `public/checkpoint`, then served and used in every proof.
    fn install_checkpoint(&mut self, size: u64, bytes: Vec<u8>) -> io::Result<()> {
        durable::write_atomic(&self.dir.checkpoint(), &bytes, 0o644)?;
        let before = {
            let mut s = write(&self.shared);
            let before = s.published;
            s.published = size;
            s.checkpoint = bytes;
            s.unpublished_why = None;
            before
        };
        self.metrics.tree_size.store(size, Relaxed);
        // Superseded partial tiles go once the new checkpoint is out (clients of the old one fall
        // back to what stays). A failure costs disk, not correctness: say so and go on.
        if let Err(e) = published::collect_garbage(&self.dir, before, size) {
            event(
                Level::Warn,
                "cannot remove superseded partial tiles",
                &[("error", &e), ("tree_size", &size)],
            );
        }
        Ok(())
    }

    /// Retries publication until the witnesses' quorum is met, or shutdown: each retry when the
    /// witnesses say (their back-off after failures, or their budget).
    fn publish_until_quorum(&mut self) -> io::Result<()> {
        loop {
            let Some((_, after)) = self.publish_checkpoint()? else {
                return Ok(());
            };
            self.unpublished = true;
            let until = Instant::now() + after;
            while Instant::now() < until {
                if self.stop.load(Relaxed) {
                    return Err(io::Error::other(
                        "shutting down before the witnesses' quorum was met",
                    ));
                }
                std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
            }
        }
    }

    /// When the published checkpoint should next go to witnesses that did not cosign it (skipped
    /// for their budget, or failing): `None` if every witness did, or there are none.
    fn catch_up_due(&mut self) -> Option<Instant> {
        let size = read(&self.shared).published;
        self.witnesses.as_mut()?.catch_up_due(size)
    }

    /// Sends the published checkpoint to the witnesses that did not cosign it and may be asked now,
    /// and merges the cosignatures they give into it: the checkpoint served and the proofs answered
    /// from then on carry them. The checkpoint itself (text, size, root) does not change.
    fn catch_up(&mut self) -> io::Result<()> {
        let (note_bytes, size) = {
            let s = read(&self.shared);
            (s.checkpoint.clone(), s.published)
        };
        let Some(w) = self.witnesses.as_mut() else {
            return Ok(());
        };
        let Ok(mut parsed) = note::parse(&note_bytes) else {
            return Ok(());
        };
        let Ok(cp) = Checkpoint::parse(&parsed.text) else {
            return Ok(());
        };
        let shared = self.shared.clone();
        let proof =
            move |old: u64, new: u64| merkle::consistency_proof(old, new, &mut &read(&shared).tree);
        let (sigs, failures) = w.catch_up(&note_bytes, &cp, &proof);
        self.metrics.set_witnesses(w.stats());
        self.metrics
            .witness_failures
            .fetch_add(failures.len() as u64, Relaxed);
        if sigs.is_empty() {
            return Ok(());
        }
        // A witness's line is added once: a second line by one key would be ignored by verifiers at
        // best.
        let fresh: Vec<_> = sigs
            .into_iter()
            .filter(|s| {
                !parsed
                    .signatures
                    .iter()
                    .any(|o| o.name == s.name && o.id == s.id)
            })
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        parsed.signatures.extend(fresh);
        self.install_checkpoint(size, parsed.to_bytes())
    }

    /// Sequences `records` as one batch and returns each one's index. Records already in the log (or
    /// twice in the batch) get their existing index and do not grow the log. When this returns `Ok`,
    /// the batch is durable and a checkpoint covering it is published.
    pub fn sequence(&mut self, records: &[Vec<u8>]) -> Result<Vec<u64>, CommitError> {
        self.sequence_then(records, Self::publish_until_quorum)
    }

    /// [`Log::sequence`] without publishing: when this returns `Ok`, the batch is durable, and
    /// `self.unpublished` says whether the published checkpoint lags behind it.
    fn sequence_durable(&mut self, records: &[Vec<u8>]) -> Result<Vec<u64>, CommitError> {
        self.sequence_then(records, |_| Ok(()))
    }

    fn sequence_then(
        &mut self,
        records: &[Vec<u8>],
        publish: fn(&mut Log) -> io::Result<()>,
    ) -> Result<Vec<u64>, CommitError> {
        if self.broken {
            return Err(CommitError(
                "the log stopped after a storage failure; restart it".into(),
            ));
        }
        let old = self.state.size;
        let mut indices = Vec::with_capacity(records.len());
        let mut fresh: Vec<(Hash, &[u8])> = Vec::new();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        {
            let s = read(&self.shared);
            for r in records {
                let leaf = merkle::leaf_hash(r);
                if let Some(i) = s
                    .index
                    .leaf_index(&leaf)
                    .or_else(|| in_batch.get(&leaf).copied())
                {
                    self.metrics.duplicates.fetch_add(1, Relaxed);
                    indices.push(i);
                } else {
                    let i = old + fresh.len() as u64;
                    in_batch.insert(leaf, i);
                    fresh.push((leaf, r));
                    indices.push(i);
                }
            }
        }
        if fresh.is_empty() {
            return Ok(indices);
        }
        let mut written = Vec::new();
        match self
            .commit(&fresh, &mut written)
            .and_then(|()| publish(self))
        {
            Ok(()) => Ok(indices),
            Err(e) => {
                self.metrics.commit_failures.fetch_add(1, Relaxed);
                // The in-memory tree may hold leaves that never became durable: rebuild from disk.
                if let Err(r) = self.reload() {
                    self.broken = true;
                    return Err(CommitError(format!(
                        "{e}; reloading the log from disk failed too: {r}"
                    )));
                }
                // What the failed batch wrote beyond the durable tree goes now: once the tree grows
                // past such a partial tile without rewriting it, it would be served.
                if let Err(r) = self.remove_beyond_state(&written) {
                    self.broken = true;
                    return Err(CommitError(format!(
                        "{e}; removing the failed batch's tiles failed too: {r}"
                    )));
                }
                Err(CommitError(e.to_string()))
            }
        }
    }

    /// Removes the tiles of `written` that the durable tree does not cover.
    fn remove_beyond_state(&self, written: &[Tile]) -> io::Result<()> {
        for t in written.iter().filter(|t| !t.is_covered_by(self.state.size)) {
            match fs::remove_file(self.dir.tile(t)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Makes `fresh` durable; `written` receives every tile it writes (or tries to), so that a
    /// failure can take them back.
    fn commit(&mut self, fresh: &[(Hash, &[u8])], written: &mut Vec<Tile>) -> io::Result<()> {
        let old = self.state.size;
        let new = old + fresh.len() as u64;
        let other = |e: MerkleError| io::Error::other(e.to_string());
        let (root, hash_tiles) = {
            let mut s = write(&self.shared);
            for (leaf, _) in fresh {
                s.tree.append(*leaf);
            }
            let tiles = tile::tiles_to_publish(old, new, &mut s.tree).map_err(other)?;
            (merkle::tree_hash(new, &mut s.tree).map_err(other)?, tiles)
        };
        // Entry bundles: every bundle holding a new entry, at its width for the new size. The first
        // one grows the partial bundle the last batch left, whose entries `self.edge` holds.
        let first = old - self.edge.len() as u64;
        let entries: Vec<&[u8]> = (self.edge.iter().map(Vec::as_slice))
            .chain(fresh.iter().map(|(_, r)| *r))
            .collect();
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut edge = None;
        for t in tile::entry_bundles(old, new) {
            let start = (t.first_entry() - first) as usize;
            let bundle = entries
                .get(start..start + usize::from(t.width))
                .ok_or_else(|| io::Error::other("an entry bundle reaches beyond the batch"))?;
            let bytes = tile::encode_bundle(bundle).map_err(|e| io::Error::other(e.to_string()))?;
            written.push(t);
            files.push((self.dir.tile(&t), bytes));
            // The new right edge: the last bundle's entries if it is partial, none if it is full.
            edge = Some(if t.is_full() {
                Vec::new()
            } else {
                bundle.iter().map(|e| e.to_vec()).collect()
            });
        }
        for (t, b) in hash_tiles {
            written.push(t);
            files.push((self.dir.tile(&t), b));
        }
        durable::write_many(&files, 0o644)?;
        let state = TreeState { size: new, root };
        durable::write_atomic(&self.dir.state(), state.format().as_bytes(), 0o644)?;
        self.state = state;
        if let Some(edge) = edge {
            self.edge = edge;
        }
        {
            let mut s = write(&self.shared);
            for (k, (leaf, r)) in fresh.iter().enumerate() {
                s.index.insert(old + k as u64, *leaf, r);
            }
        }
        self.unpublished = true;
        self.metrics.entries.fetch_add(fresh.len() as u64, Relaxed);
        self.metrics.batches.fetch_add(1, Relaxed);
        Ok(())
    }

    fn reload(&mut self) -> Result<(), OpenError> {
        let text = fs::read_to_string(self.dir.state()).map_err(io_err(&self.dir.state()))?;
        let state = TreeState::parse(&text)
            .ok_or_else(|| OpenError::State(self.dir.state().display().to_string()))?;
        let (tree, index, edge) = rebuild(&self.dir, state)?;
        {
            let mut s = write(&self.shared);
            s.tree = tree;
            s.index = index;
        }
        self.state = state;
        self.edge = edge;
        self.finish_checkpoint()
    }

    /// Starts the sequencer thread. Submissions go through the returned [`Handle`].
    pub fn start(self, config: Config) -> io::Result<(Handle, JoinHandle<()>)> {
        let (tx, rx) = mpsc::sync_channel(config.queue_size.max(1));
        let handle = Handle {
            tx,
            shared: self.shared.clone(),
            metrics: self.metrics.clone(),
            closed: self.stop.clone(),
            origin: self.key.name().to_string(),
        };
        let closed = handle.closed.clone();
        let thread = std::thread::Builder::new()
            .name("rget-sequencer".into())
            .spawn(move || run(self, config, rx, closed))?;
        Ok((handle, thread))
    }
}

fn read(s: &RwLock<Shared>) -> std::sync::RwLockReadGuard<'_, Shared> {
    // A panic while holding the lock would be a bug; the data is still consistent for reading.
    s.read().unwrap_or_else(|p| p.into_inner())
}

fn write(s: &RwLock<Shared>) -> std::sync::RwLockWriteGuard<'_, Shared> {
    s.write().unwrap_or_else(|p| p.into_inner())
}

/// The published checkpoint and its bytes, if there is one; an error if it is not the log's or is
/// ahead of (or beside) the durable state, which only storage that lies can bring about. Checked
/// before anything in `public/` is repaired: a durable state that is behind the published
/// checkpoint must not be taken as the authority over what stays.
fn published_checkpoint(
    dir: &LogDir,
    key: &SignerKey,
    state: TreeState,
) -> Result<Option<(Checkpoint, Vec<u8>)>, OpenError> {
    let path = dir.checkpoint();
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let opened = note::open(&bytes, &[key.verifier_key()])
        .map_err(|e| OpenError::Corrupt(format!("published checkpoint: {e}")))?;
    let cp = Checkpoint::parse(&opened.note.text)
        .map_err(|e| OpenError::Corrupt(format!("published checkpoint: {e}")))?;
    if cp.size > state.size || (cp.size == state.size && cp.root != state.root) {
        return Err(OpenError::Corrupt(format!(
            "published checkpoint (size {}) is ahead of or different from tree-state (size {})",
            cp.size, state.size
        )));
    }
    Ok(Some((cp, bytes)))
}

/// Rebuilds the tree and the indexes from the entry bundles up to `state.size`, and checks that they
/// hash to `state.root`.
fn rebuild(dir: &LogDir, state: TreeState) -> Result<(MemoryTree, Index, Vec<Vec<u8>>), OpenError> {
    let mut tree = MemoryTree::new();
    let mut index = Index::default();
    let mut edge = Vec::new();
    for t in tile::entry_bundles(0, state.size) {
        let bytes = read_bundle(dir, &t)?;
        let entries = tile::decode_bundle(&bytes, t.width)
            .map_err(|e| OpenError::Corrupt(format!("{}: {e}", t.path())))?;
        for e in &entries {
            let leaf = merkle::leaf_hash(e);
            let i = tree.append(leaf);
            index.insert(i, leaf, e);
        }
        if !t.is_full() {
            edge = entries.iter().map(|e| e.to_vec()).collect();
        }
    }
    if tree.root() != state.root {
        // Nothing on disk vouches for the lost entries; name where they were lost, so the operator
        // knows what to restore from a backup (or a mirror of public/).
        let culprit = published::disagreeing_bundle(dir, &tree, state.size)
            .map(|(bundle, tile)| format!(": {bundle} disagrees with the hash tile {tile}"))
            .unwrap_or_default();
        return Err(OpenError::Corrupt(format!(
            "the entry bundles hash to {}, not to the root {} that tree-state holds for size {}{culprit}; \
             restore the log directory from a backup",
            tree.root().to_base64(),
            state.root.to_base64(),
            state.size
        )));
    }
    Ok((tree, index, edge))
}

/// Reads an entry bundle; a partial one may be replaced by the full bundle (logs may delete partials),
/// whose first entries are then used.
pub(crate) fn read_bundle(dir: &LogDir, t: &Tile) -> Result<Vec<u8>, OpenError> {
    let path = dir.tile(t);
    match fs::read(&path) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == io::ErrorKind::NotFound && !t.is_full() => {
            let full = t.full();
            let b = fs::read(dir.tile(&full)).map_err(io_err(&path))?;
            let entries = tile::decode_bundle(&b, full.width)
                .map_err(|e| OpenError::Corrupt(format!("{}: {e}", full.path())))?;
            tile::encode_bundle(&entries[..t.width as usize])
                .map_err(|e| OpenError::Corrupt(e.to_string()))
        }
        Err(e) => Err(io_err(&path)(e)),
    }
}

struct Submission {
    record: Vec<u8>,
    at: Instant,
    reply: oneshot::Sender<Result<Proved, CommitError>>,
}

enum Msg {
    Submit(Submission),
    Shutdown,
}

/// The way into a running sequencer: cheap to clone, used by every HTTP handler.
#[derive(Clone)]
pub struct Handle {
    tx: SyncSender<Msg>,
    shared: Arc<RwLock<Shared>>,
    metrics: Arc<Metrics>,
    closed: Arc<AtomicBool>,
    origin: String,
}

impl Handle {
    /// Queues a record. The receiver resolves once a checkpoint covering it is durable and published
    /// (with its proof), or with the reason its batch failed.
    pub fn submit(
        &self,
        record: Vec<u8>,
    ) -> Result<oneshot::Receiver<Result<Proved, CommitError>>, SubmitError> {
        if self.closed.load(Relaxed) {
            return Err(SubmitError::Closed);
        }
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Msg::Submit(Submission {
            record,
            at: Instant::now(),
            reply,
        })) {
            Ok(()) => {
                self.metrics.queue_depth.fetch_add(1, Relaxed);
                Ok(rx)
            }
            Err(TrySendError::Full(_)) => Err(SubmitError::QueueFull),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed),
        }
    }

    /// The proof for a record already published, if there is one (the fast path for duplicates: no
    /// need to wait for a batch).
    pub fn existing(&self, leaf: &Hash) -> Option<Proved> {
        let s = read(&self.shared);
        let i = s.index.leaf_index(leaf).filter(|i| *i < s.published)?;
        s.proof(i).ok()
    }

    /// The index of a published entry with this leaf hash (`get-inclusion-proof`, `add-leaf`).
    pub fn published_index(&self, leaf: &Hash) -> Option<u64> {
        let s = read(&self.shared);
        s.index.leaf_index(leaf).filter(|i| *i < s.published)
    }

    /// The inclusion proof of the entry with leaf hash `leaf` in the tree of `size` entries, which
    /// must be a size the log has published (`None` if it is not, or the entry is not in it).
    pub fn inclusion_proof(&self, size: u64, leaf: &Hash) -> Option<(u64, Vec<Hash>)> {
        let s = read(&self.shared);
        let index = s.index.leaf_index(leaf).filter(|i| *i < size)?;
        if size > s.published {
            return None;
        }
        let path = merkle::inclusion_proof(index, size, &mut &s.tree).ok()?;
        Some((index, path))
    }

    /// The consistency proof from the tree of `old` entries to that of `new` (0 < old < new ≤ the
    /// published size; `None` otherwise).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        let s = read(&self.shared);
        if old == 0 || old >= new || new > s.published {
            return None;
        }
        merkle::consistency_proof(old, new, &mut &s.tree).ok()
    }

    /// Every published record of this canonical URL: (index, SHA-256 of its SHA256SUMS), oldest first.
    pub fn lookup(&self, url: &str) -> Vec<(u64, Hash)> {
        let s = read(&self.shared);
        s.index
            .lookup(url)
            .iter()
            .copied()
            .filter(|(i, _)| *i < s.published)
            .collect()
    }

    /// The published checkpoint note.
    pub fn checkpoint(&self) -> Vec<u8> {
        read(&self.shared).checkpoint.clone()
    }

    /// Why no checkpoint covers the durable tree yet, while that is so: the witnesses' failures and
    /// the quorum they miss, or their budgets.
    pub fn unpublished_why(&self) -> Option<String> {
        read(&self.shared).unpublished_why.clone()
    }

    /// The size of the published checkpoint: tiles and bundles beyond it are not served.
    pub fn published_size(&self) -> u64 {
        read(&self.shared).published
    }

    /// The log's origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The log's counters and gauges, for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Stops accepting submissions; the sequencer finishes what is queued, then its thread ends.
    pub fn shutdown(&self) {
        self.closed.store(true, Relaxed);
        let _ = self.tx.send(Msg::Shutdown);
    }
}

/// How long the log stays without new batches before it sends the published checkpoint to witnesses
/// that did not cosign it.
const CATCH_UP_IDLE: Duration = Duration::from_secs(1);
/// Least time between two such rounds.
const CATCH_UP_PAUSE: Duration = Duration::from_millis(200);

/// Submissions whose batch is durable, waiting for a published checkpoint to cover them.
#[derive(Default)]
struct Pending {
    /// Each submission with its index.
    answers: Vec<(Submission, u64)>,
    /// When each of their batches started (its first submission), for the latency histogram.
    batches: Vec<Instant>,
}

impl Pending {
    /// Answers everything with its proof under the published checkpoint.
    fn answer(&mut self, log: &Log) {
        for started in self.batches.drain(..) {
            log.metrics.batch(started.elapsed());
        }
        let s = read(&log.shared);
        for (sub, i) in self.answers.drain(..) {
            let _ = sub
                .reply
                .send(s.proof(i).map_err(|e| CommitError(e.to_string())));
        }
    }

    /// Answers everything with `e`.
    fn fail(&mut self, e: &CommitError) {
        self.batches.clear();
        for (sub, _) in self.answers.drain(..) {
            let _ = sub.reply.send(Err(e.clone()));
        }
    }
}

fn run(mut log: Log, config: Config, rx: mpsc::Receiver<Msg>, closed: Arc<AtomicBool>) {
    let metrics = log.metrics.clone();
    let take = |m: Msg, batch: &mut Vec<Submission>| match m {
        Msg::Submit(s) => {
            metrics.queue_depth.fetch_sub(1, Relaxed);
            batch.push(s);
            false
        }
        Msg::Shutdown => true,
    };
    let mut pending = Pending::default();
    // While the durable tree is unpublished: when to ask the witnesses again.
    let mut retry_at: Option<Instant> = None;
    let mut last_batch = Instant::now();
    let mut stopping = false;
    loop {
        // Publish the durable tree as soon as the witnesses allow; on shutdown, one last try.
        if log.unpublished && (stopping || retry_at.is_none_or(|t| Instant::now() >= t)) {
            match log.publish_checkpoint() {
                Ok(None) => retry_at = None,
                Ok(Some((_, after))) => retry_at = Some(Instant::now() + after),
                Err(e) => {
                    // The checkpoint file could not be written: nothing new is published, and the
                    // next attempt comes after the usual pause.
                    event(
                        Level::Error,
                        "cannot write the published checkpoint",
                        &[("error", &e)],
                    );
                    retry_at = Some(Instant::now() + Duration::from_secs(1));
                }
            }
        }
        if !log.unpublished {
            pending.answer(&log);
        }
        if stopping {
            break;
        }
        // Idle and published: bring witnesses that did not cosign the checkpoint up to date (while
        // busy, the next checkpoint goes to them anyway).
        let mut catch_up_at = None;
        if !log.unpublished {
            catch_up_at = log
                .catch_up_due()
                .map(|t| t.max(last_batch + CATCH_UP_IDLE));
            if catch_up_at.is_some_and(|t| t <= Instant::now()) {
                if let Err(e) = log.catch_up() {
                    event(
                        Level::Error,
                        "cannot write the published checkpoint with new cosignatures",
                        &[("error", &e)],
                    );
                }
                // At most one round per pause, whatever the witnesses' budgets say.
                catch_up_at = log
                    .catch_up_due()
                    .map(|t| t.max(Instant::now() + CATCH_UP_PAUSE));
            }
        }
        let wake = [retry_at, catch_up_at].into_iter().flatten().min();
        // Too many answers held already: let the queue take the strain (503 when it is full).
        if pending.answers.len() >= config.queue_size.max(1) {
            let until = wake.unwrap_or_else(|| Instant::now() + Duration::from_millis(100));
            while Instant::now() < until && !log.stop.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
            }
            stopping = log.stop.load(Relaxed);
            continue;
        }
        let mut batch = Vec::new();
        let first = match wake {
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => rx.recv_timeout(t.saturating_duration_since(Instant::now())),
        };
        match first {
            Ok(m) => stopping = take(m, &mut batch),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => stopping = true,
        }
        if let Some(first) = batch.first() {
            let deadline = first.at + config.batch_delay;
            while batch.len() < config.batch_size && !stopping {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match rx.recv_timeout(deadline - now) {
                    Ok(m) => stopping = take(m, &mut batch),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => stopping = true,
                }
            }
        }
        // On shutdown, what is already queued still gets sequenced.
        if stopping {
            while let Ok(m) = rx.try_recv() {
                take(m, &mut batch);
            }
        }
        if batch.is_empty() {
            continue;
        }
        let started = batch
            .iter()
            .map(|s| s.at)
            .min()
            .unwrap_or_else(Instant::now);
        let records: Vec<Vec<u8>> = batch
            .iter_mut()
            .map(|s| std::mem::take(&mut s.record))
            .collect();
        // Durable now, published at the top of the loop: at once, or, when the witnesses' quorum
        // is being waited for already, with the checkpoint that is waited for.
        last_batch = Instant::now();
        match log.sequence_durable(&records) {
            Ok(indices) => {
                pending.batches.push(started);
                pending.answers.extend(batch.into_iter().zip(indices));
            }
            Err(e) => {
                for sub in batch {
                    let _ = sub.reply.send(Err(e.clone()));
                }
                if log.broken {
                    break;
                }
            }
        }
    }
    if log.unpublished {
        pending.fail(&CommitError(
            "shutting down before the witnesses' quorum was met; the record is in the log and \
             will be published with its next checkpoint"
                .into(),
        ));
    } else {
        pending.answer(&log);
    }
    closed.store(true, Relaxed);
}

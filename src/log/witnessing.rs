//! The log's side of C2SP tlog-witness: before a checkpoint is published, it goes to the witnesses of
//! the `--witnesses` policy with a consistency proof from the size each last cosigned; the
//! cosignatures that verify are attached, and the checkpoint is published only once the policy's
//! quorum is met. A witness cosigns only a checkpoint consistent with everything it saw, so a log
//! that published a fork could not gather the quorum for it.
//!
//! **Budgets.** A witness of the public network grants each log a budget, `qpd` add-checkpoint
//! requests a day, and answers 429 past it. The witnesses file gives a witness its budget with a
//! line `qpd <witness name> <requests a day>`, and the log keeps within it by the token bucket
//! `rget_core::qpd` defines for logs (the witness's own bucket holds more, so a log within its bucket
//! is never refused). A checkpoint goes only to the witnesses whose budget has a request left; the
//! others are skipped for it, and it is published as soon as those asked meet the quorum. When they
//! cannot, nobody is asked: the log waits until enough budget has come back, meanwhile sequencing
//! new submissions, so that one checkpoint then covers them all (the sequencer batches checkpoints
//! instead of failing). A witness skipped for the published checkpoint gets it once its budget allows
//! and the log is idle ([`Witnesses::catch_up`]), and its cosignature is merged into the published
//! checkpoint and every proof answered from then on.
//!
//! **Failures** (a witness down, a bad answer, a 429) put that witness in a back-off of its own
//! (200 ms, doubling to 30 s), so a witness that is down is neither asked in a tight loop nor makes
//! the log spend the other witnesses' budgets on checkpoints that cannot meet the quorum.
//!
//! **Bastions** (C2SP https-bastion): a witness that accepts no connections from the Internet is
//! reached at `https://<bastion>/<lowercase hex SHA-256 of its backend key>/`; the bastion relays
//! the request over the connection the witness keeps open to it. For the log that is an ordinary
//! https submission prefix (the spec's point: no change to clients), so the URL is all it needs; the
//! statuses only a bastion sends (421 unknown witness, 502 or 503 witness not connected) are named
//! as such in messages.

use rget_core::checkpoint::Checkpoint;
use rget_core::digest::Hash;
use rget_core::merkle::MerkleError;
use rget_core::note::{self, Note, NoteError, NoteSignature, VerifierKey};
use rget_core::policy::{Policy, PolicyError};
use rget_core::qpd::{self, Budget};
use rget_fetch::{Client, Config, FetchError};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// First back-off after a witness failed; it doubles with each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest back-off.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The largest answer a witness gives (a few cosignature lines).
const MAX_ANSWER: u64 = 16 * 1024;

/// One witness the log asks.
#[derive(Debug)]
struct Target {
    /// Its name in the policy (what the quorum counts).
    name: String,
    vkey: VerifierKey,
    /// The witness's submission prefix, ending in `/`.
    url: String,
    /// The prefix is an https-bastion route (its first path segment is a key hash).
    bastion: bool,
    /// The size this witness holds, as far as the log knows (learned from 200 and 409).
    held: Option<u64>,
    /// The size of the latest checkpoint of this log it cosigned.
    cosigned: Option<u64>,
    /// Its budget, when the witnesses file gives one.
    budget: Option<Budget>,
    /// Not asked before this time (after a failure or a 429).
    not_before: Option<Instant>,
    /// Failures in a row, for the back-off.
    failures: u32,
    /// Requests sent, and checkpoints it was not sent for want of budget.
    requests: u64,
    deferred: u64,
}

/// What a witness did for the log so far, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessStats {
    /// The witness's name in the witnesses file.
    pub name: String,
    /// The size of the latest checkpoint of this log it cosigned (0: none yet).
    pub cosigned_size: u64,
    /// Its budget in requests a day, if it has one.
    pub qpd: Option<u32>,
    /// add-checkpoint requests sent to it.
    pub requests: u64,
    /// Checkpoints published without asking it, its budget being spent.
    pub deferred: u64,
}

/// The witnesses of a log and the quorum it needs.
pub struct Witnesses {
    policy: Policy,
    targets: Vec<Target>,
    client: Client,
    /// The clock budgets are counted on.
    started: Instant,
}

/// Why a checkpoint is not published yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// Witnesses were asked and too few cosigned.
    Failures,
    /// Not enough witnesses had budget left to meet the quorum; nobody was asked.
    Budget,
}

/// The outcome of one round of witnessing.
#[derive(Debug, Clone)]
pub struct Cosigned {
    /// The checkpoint note with every cosignature that verified appended.
    pub note: Vec<u8>,
    /// Policy names of the witnesses that cosigned.
    pub cosigners: Vec<String>,
    /// `None` when the quorum is met; else why not, and when to try again.
    pub waiting: Option<(Waiting, Duration)>,
    /// One line per witness asked that did not cosign, saying why.
    pub failures: Vec<String>,
}

/// Why a witnesses file cannot be used (`line` is 1-based).
#[derive(Debug, thiserror::Error)]
pub enum WitnessesError {
    /// A `qpd` line without exactly two fields after `qpd` (holds the line number).
    #[error("line {0}: a qpd line is 'qpd <witness name> <requests a day>'")]
    QpdLine(usize),
    /// A `qpd` budget that is not a decimal from 1 to 2^31 − 1.
    #[error("line {line}: qpd {value:?} is not a number from 1 to 2147483647")]
    QpdValue {
        /// The 1-based line number.
        line: usize,
        /// The value as written (bounded, escaped).
        value: String,
    },
    /// A `qpd` line naming no witness of the file.
    #[error("line {line}: qpd for {name:?}, which is not a witness")]
    QpdNotAWitness {
        /// The 1-based line number.
        line: usize,
        /// The name given.
        name: String,
    },
    /// A second `qpd` line for one witness: which one holds would be a guess.
    #[error("line {line}: a second qpd for witness {name:?}")]
    SecondQpd {
        /// The 1-based line of the second `qpd`.
        line: usize,
        /// The witness's name.
        name: String,
    },
    /// The file (without its `qpd` lines) is not a valid C2SP tlog-policy.
    #[error(transparent)]
    Policy(PolicyError),
    /// A `witness` line has no URL (holds the witness's name).
    #[error("witness {0:?} has no URL: the log must know where to send checkpoints")]
    NoUrl(String),
    /// The HTTP client for the witnesses cannot be built (a CA file or proxy setting is bad).
    #[error(transparent)]
    Client(FetchError),
}

/// Why one witness did not cosign a checkpoint (one line in the log's report of the round).
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// Only the resend after a 409 can meet an empty budget (the first request is made only with
    /// budget left).
    #[error("its budget has no request left for the resend after its 409")]
    NoBudgetForResend,
    /// The log could not build the consistency proof from the size the witness holds.
    #[error("no consistency proof from {old}: {err}")]
    NoProof {
        /// The size the witness holds (the proof's old size).
        old: u64,
        /// Why the proof could not be built.
        err: MerkleError,
    },
    /// The witness cosigned a larger tree than this log has.
    #[error("holds size {held}, larger than this log's {size}: a fork or a rollback")]
    HoldsLarger {
        /// The size the witness's 409 says it holds.
        held: u64,
        /// This checkpoint's size.
        size: u64,
    },
    /// A 409 whose body is not a size, or names the size just sent from (holds the body).
    #[error("answered 409 with {0:?}")]
    Bad409(String),
    /// The witness answered 409 again to the resend with a consistency proof from the size it
    /// named.
    #[error("kept answering 409")]
    Kept409,
    /// An HTTP failure, with what the status means coming from a bastion or a budget (or nothing).
    #[error("{err}{hint}")]
    Fetch {
        /// The request's failure.
        err: FetchError,
        /// What the status likely means, or empty.
        hint: &'static str,
    },
    /// A 200 answer that holds no valid cosignature by the witness's key.
    #[error(transparent)]
    Answer(AnswerError),
    /// The thread asking this witness panicked; the round goes on without it.
    #[error("witness thread panicked")]
    Panicked,
}

/// Why a witness's answer holds no cosignature to keep.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The answer body is not UTF-8.
    #[error("answer is not UTF-8")]
    NotUtf8,
    /// The answer is not signed-note signature lines.
    #[error("answer is not signature lines: {0}")]
    NotSignatureLines(NoteError),
    /// No signature line carries the witness key's name and key ID.
    #[error("answer has no cosignature by this witness's key")]
    NoCosignature,
    /// The witness key's line does not verify over this checkpoint: kept, it would make every
    /// client refuse the published checkpoint.
    #[error("cosignature does not verify: {0}")]
    DoesNotVerify(NoteError),
}

/// Whether the first path segment of `url` is a lowercase hex SHA-256: the route an https-bastion
/// gives a backend.
fn is_bastion_route(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .and_then(|r| r.split_once('/').map(|(_, path)| path))
    else {
        return false;
    };
    let seg = rest.split('/').next().unwrap_or_default();
    seg.len() == 64 && seg.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A `qpd <witness> <n>` line of a witnesses file: the witness's name, its budget, the line number.
type BudgetLine = (String, u32, usize);

/// Splits the log's own lines (`qpd <witness> <n>`) from a witnesses file, leaving a blank line in
/// their place so the policy parser's line numbers stay those of the file.
fn split_budgets(text: &str) -> Result<(String, Vec<BudgetLine>), WitnessesError> {
    let mut policy = String::with_capacity(text.len());
    let mut budgets = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let fields: Vec<&str> = line.split([' ', '\t']).filter(|f| !f.is_empty()).collect();
        if fields.first() == Some(&"qpd") {
            let [_, name, n] = fields.as_slice() else {
                return Err(WitnessesError::QpdLine(i + 1));
            };
            let n = qpd::parse(n).ok_or_else(|| WitnessesError::QpdValue {
                line: i + 1,
                value: note::snippet(n),
            })?;
            budgets.push(((*name).to_owned(), n, i + 1));
        } else {
            policy.push_str(line);
        }
        policy.push('\n');
    }
    policy.pop();
    Ok((policy, budgets))
}

impl Witnesses {
    /// Reads a witnesses file: a C2SP tlog-policy whose `witness` lines all carry the witness's URL,
    /// and `qpd <witness name> <requests a day>` lines giving witnesses a budget (at most one each,
    /// after the witness's line). `log` lines, if any, are ignored (the log knows its own key).
    pub fn parse(text: &str) -> Result<Witnesses, WitnessesError> {
        Self::parse_trusting(text, &[])
    }

    /// [`Witnesses::parse`], trusting the CA certificates in the PEM files `ca_files` (`rget log
    /// serve --cacert`) besides the built-in roots and `SSL_CERT_FILE` for https witnesses: witnesses
    /// on a private network often have a private CA.
    pub fn parse_trusting(
        text: &str,
        ca_files: &[std::path::PathBuf],
    ) -> Result<Witnesses, WitnessesError> {
        let (policy_text, budgets) = split_budgets(text)?;
        let policy = Policy::parse(&policy_text).map_err(WitnessesError::Policy)?;
        let started = Instant::now();
        let mut targets = Vec::new();
        for w in &policy.witnesses {
            let url = w
                .url
                .clone()
                .ok_or_else(|| WitnessesError::NoUrl(w.name.clone()))?;
            let url = if url.ends_with('/') {
                url
            } else {
                format!("{url}/")
            };
            targets.push(Target {
                name: w.name.clone(),
                vkey: w.vkey.clone(),
                bastion: is_bastion_route(&url),
                url,
                held: None,
                cosigned: None,
                budget: None,
                not_before: None,
                failures: 0,
                requests: 0,
                deferred: 0,
            });
        }
        for (name, n, line) in budgets {
            let t = targets.iter_mut().find(|t| t.name == name).ok_or_else(|| {
                WitnessesError::QpdNotAWitness {
                    line,
                    name: name.clone(),
                }
            })?;
            if t.budget.is_some() {
                return Err(WitnessesError::SecondQpd { line, name });
            }
            t.budget = Some(Budget::for_log(n, 0));
        }
        // Witness URLs are the operator's explicit configuration (often a private network), and every
        // cosignature is verified, so plain http is allowed here.
        let config = Config {
            allow_http: true,
            attempts: 1,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(10),
            ..Config::from_env()
        };
        let mut config = config;
        config.ca_files.extend(ca_files.iter().cloned());
        let client = Client::new(config).map_err(WitnessesError::Client)?;
        Ok(Witnesses {
            policy,
            targets,
            client,
            started,
        })
    }

    /// The witnesses' verifier keys: which signature lines of a published checkpoint are
    /// cosignatures (a Sigsum log's `get-tree-head` lists them by key hash).
    pub fn verifier_keys(&self) -> Vec<VerifierKey> {
        self.targets.iter().map(|t| t.vkey.clone()).collect()
    }

    /// What the quorum requires, for messages.
    pub fn describe_quorum(&self) -> String {
        self.policy.describe_quorum()
    }

    /// Milliseconds on the budgets' clock.
    fn clock_ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// How long until target `i` may be asked (zero: now).
    fn wait_for(&mut self, i: usize, now: Instant) -> Duration {
        let ms = self.clock_ms(now);
        let Some(t) = self.targets.get_mut(i) else {
            return Duration::ZERO;
        };
        let budget = t
            .budget
            .as_mut()
            .map_or(Duration::ZERO, |b| Duration::from_millis(b.wait_ms(ms)));
        let backoff = t
            .not_before
            .map_or(Duration::ZERO, |nb| nb.saturating_duration_since(now));
        budget.max(backoff)
    }

    /// The sizes the witnesses cosigned, from the checkpoint the log published last (at start): a
    /// valid cosignature by a witness in it means the witness holds that size or, after a crash
    /// between asking and publishing, a larger one (a 409 then says which).
    pub fn observe_published(&mut self, note_bytes: &[u8], cp: &Checkpoint) {
        for t in &mut self.targets {
            if note::open(note_bytes, std::slice::from_ref(&t.vkey)).is_ok() {
                t.cosigned = Some(cp.size);
                t.held = Some(cp.size);
            }
        }
    }

    /// Asks for cosignatures on `note_bytes` (the checkpoint `cp`, signed by the log): every
    /// witness that may be asked now is, at once, unless those could not meet the quorum even all
    /// together (then nobody is asked, and the answer says how long until they could). `proof(old,
    /// new)` gives consistency proofs from the log's tree.
    pub fn cosign(
        &mut self,
        note_bytes: &[u8],
        cp: &Checkpoint,
        proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
    ) -> Cosigned {
        let now = Instant::now();
        let waits: Vec<Duration> = (0..self.targets.len())
            .map(|i| self.wait_for(i, now))
            .collect();
        let ready: Vec<usize> = (0..waits.len()).filter(|&i| waits[i].is_zero()).collect();
        if !self.quorum_possible(&ready) {
            return Cosigned {
                note: note_bytes.to_vec(),
                cosigners: Vec::new(),
                waiting: Some(self.until_quorum_possible(&waits)),
                failures: Vec::new(),
            };
        }
        // Those that are skipped for want of budget.
        for (t, w) in self.targets.iter_mut().zip(&waits) {
            if !w.is_zero() && t.not_before.is_none_or(|nb| nb <= now) {
                t.deferred += 1;
            }
        }
        let (sigs, cosigners, failures) = self.ask_all(&ready, note_bytes, cp, proof);
        let mut parsed = match note::parse(note_bytes) {
            Ok(n) => n,
            Err(e) => {
                return Cosigned {
                    note: note_bytes.to_vec(),
                    cosigners: Vec::new(),
                    waiting: Some((Waiting::Failures, FIRST_BACKOFF)),
                    failures: vec![e.to_string()],
                };
            }
        };
        parsed.signatures.extend(sigs);
        let names: Vec<&str> = cosigners.iter().map(String::as_str).collect();
        let waiting = if self.policy.quorum_met(&names) {
            None
        } else {
            let waits: Vec<Duration> = (0..self.targets.len())
                .map(|i| self.wait_for(i, Instant::now()))
                .collect();
            let (_, after) = self.until_quorum_possible(&waits);
            Some((Waiting::Failures, after.max(FIRST_BACKOFF)))
        };
        Cosigned {
            note: parsed.to_bytes(),
            cosigners,
            waiting,
            failures,
        }
    }

    /// Whether the witnesses `ready` could meet the quorum if all of them cosigned.
    fn quorum_possible(&self, ready: &[usize]) -> bool {
        let names: Vec<&str> = ready
            .iter()
            .filter_map(|&i| self.targets.get(i))
            .map(|t| t.name.as_str())
            .collect();
        self.policy.quorum_met(&names)
    }

    /// The shortest wait after which the witnesses that may be asked by then could meet the quorum,
    /// and whether budget or back-off is what it waits for.
    fn until_quorum_possible(&self, waits: &[Duration]) -> (Waiting, Duration) {
        let mut order: Vec<usize> = (0..waits.len()).collect();
        order.sort_by_key(|&i| waits[i]);
        let mut ready = Vec::new();
        for &i in &order {
            ready.push(i);
            if self.quorum_possible(&ready) {
                let why = if self.targets.get(i).and_then(|t| t.not_before).is_some() {
                    Waiting::Failures
                } else {
                    Waiting::Budget
                };
                return (why, waits[i]);
            }
        }
        // A quorum no set of these witnesses meets (a policy naming witnesses without URLs is
        // refused at parse, so this is not expected): try again later rather than spin.
        (Waiting::Failures, MAX_BACKOFF)
    }

    /// Asks the witnesses `which` at once; returns the verified cosignature lines, the names of those
    /// that cosigned, and a line per failure.
    fn ask_all(
        &mut self,
        which: &[usize],
        note_bytes: &[u8],
        cp: &Checkpoint,
        proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
    ) -> (Vec<NoteSignature>, Vec<String>, Vec<String>) {
        let client = &self.client;
        let started = self.started;
        let results: Vec<(String, Answer)> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .targets
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| which.contains(i))
                .map(|(_, t)| {
                    s.spawn(move || {
                        let r = ask(client, t, started, note_bytes, cp, proof);
                        (t.name.clone(), r)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| (String::new(), Err(WitnessError::Panicked)))
                })
                .collect()
        });
        let mut sigs = Vec::new();
        let mut cosigners = Vec::new();
        let mut failures = Vec::new();
        for (name, r) in results {
            match r {
                Ok(s) => {
                    sigs.extend(s);
                    cosigners.push(name);
                }
                Err(why) => failures.push(format!("witness {name}: {why}")),
            }
        }
        (sigs, cosigners, failures)
    }

    /// When the next [`Witnesses::catch_up`] for the published checkpoint of size `size` is due:
    /// `None` if every witness cosigned it; else when the first witness that did not may be asked.
    pub fn catch_up_due(&mut self, size: u64) -> Option<Instant> {
        let now = Instant::now();
        let lagging: Vec<usize> = (0..self.targets.len())
            .filter(|&i| {
                self.targets
                    .get(i)
                    .is_some_and(|t| t.cosigned != Some(size))
            })
            .collect();
        lagging
            .into_iter()
            .map(|i| now + self.wait_for(i, now))
            .min()
    }

    /// Sends the published checkpoint `note_bytes` (`cp`) to the witnesses that have not cosigned it
    /// and may be asked now; returns the cosignature lines that verified, to merge into it.
    pub fn catch_up(
        &mut self,
        note_bytes: &[u8],
        cp: &Checkpoint,
        proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
    ) -> (Vec<NoteSignature>, Vec<String>) {
        let now = Instant::now();
        let lagging: Vec<usize> = (0..self.targets.len())
            .filter(|&i| {
                self.targets
                    .get(i)
                    .is_some_and(|t| t.cosigned != Some(cp.size))
                    && self.wait_for(i, now).is_zero()
            })
            .collect();
        if lagging.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let (sigs, _, failures) = self.ask_all(&lagging, note_bytes, cp, proof);
        (sigs, failures)
    }

    /// Each witness's record, in policy order.
    pub fn stats(&self) -> Vec<WitnessStats> {
        self.targets
            .iter()
            .map(|t| WitnessStats {
                name: t.name.clone(),
                cosigned_size: t.cosigned.unwrap_or(0),
                qpd: t.budget.as_ref().map(Budget::qpd),
                requests: t.requests,
                deferred: t.deferred,
            })
            .collect()
    }
}

/// Spends one request of `t`'s budget, if it has one; false if none is left.
fn spend(t: &mut Target, started: Instant) -> bool {
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    t.budget.as_mut().is_none_or(|b| b.take(ms).is_ok())
}

/// What asking one witness gave: its verified cosignature line, or why not.
type Answer = Result<Vec<NoteSignature>, WitnessError>;

/// Records a failure of `t`: its back-off doubles.
fn failed(t: &mut Target, why: WitnessError) -> Answer {
    t.failures = t.failures.saturating_add(1);
    let backoff = FIRST_BACKOFF
        .saturating_mul(1 << t.failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    t.not_before = Some(Instant::now() + backoff);
    Err(why)
}

/// An HTTP error from `t`, with what its status means from a bastion or for a budget.
fn http_failure(t: &Target, e: FetchError) -> WitnessError {
    let hint = match &e {
        FetchError::Http { status: 421, .. } if t.bastion => {
            " (the bastion does not serve this witness: check the key hash in its URL)"
        }
        FetchError::Http {
            status: 502 | 503, ..
        } if t.bastion => " (the witness is not connected to its bastion)",
        FetchError::Http { status: 429, .. } => {
            " (the witness says this log has used its budget: check its qpd line)"
        }
        _ => "",
    };
    WitnessError::Fetch { err: e, hint }
}

/// One witness, one checkpoint: at most two requests (the second after a 409 told us its size), each
/// within its budget. Returns the verified cosignature line.
fn ask(
    client: &Client,
    t: &mut Target,
    started: Instant,
    note_bytes: &[u8],
    cp: &Checkpoint,
    proof: &(dyn Fn(u64, u64) -> Result<Vec<Hash>, MerkleError> + Sync),
) -> Answer {
    let mut old = t.held.filter(|h| *h <= cp.size).unwrap_or(0);
    for _ in 0..2 {
        if !spend(t, started) {
            // Only the resend after a 409 can get here: it waits for the next checkpoint, which then
            // needs one request, the size being known now.
            return Err(WitnessError::NoBudgetForResend);
        }
        let hashes = match proof(old, cp.size) {
            Ok(h) if old > 0 && old < cp.size => h,
            Ok(_) => Vec::new(),
            Err(err) => return failed(t, WitnessError::NoProof { old, err }),
        };
        let mut body = format!("old {old}\n").into_bytes();
        for h in &hashes {
            body.extend_from_slice(h.to_base64().as_bytes());
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(note_bytes);
        t.requests += 1;
        match client.post_bytes(&format!("{}add-checkpoint", t.url), &body, MAX_ANSWER) {
            Ok(answer) => {
                return match verify_answer(&t.vkey, &cp.format(), &answer.bytes) {
                    Ok(sigs) => {
                        t.held = Some(cp.size);
                        t.cosigned = Some(t.cosigned.map_or(cp.size, |c| c.max(cp.size)));
                        t.failures = 0;
                        t.not_before = None;
                        Ok(sigs)
                    }
                    Err(why) => failed(t, WitnessError::Answer(why)),
                };
            }
            // 409: the witness holds another size; resend with a proof from there (C2SP tlog-witness).
            Err(FetchError::Http {
                status: 409,
                detail,
                ..
            }) => match detail.trim().parse::<u64>() {
                Ok(size) if size <= cp.size && size != old => {
                    t.held = Some(size);
                    old = size;
                }
                Ok(size) if size > cp.size => {
                    t.held = Some(size);
                    let held = WitnessError::HoldsLarger {
                        held: size,
                        size: cp.size,
                    };
                    return failed(t, held);
                }
                _ => return failed(t, WitnessError::Bad409(detail)),
            },
            Err(e) => {
                if let (FetchError::Http { status: 429, .. }, Some(b)) = (&e, t.budget.as_mut()) {
                    // Its bucket is empty whatever ours counted (a restart of either side): wait
                    // for ours to refill before asking again.
                    b.drain(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
                }
                let why = http_failure(t, e);
                return failed(t, why);
            }
        }
    }
    failed(t, WitnessError::Kept409)
}

/// Keeps the answer's signature lines that are valid cosignatures by the witness key `vkey` over the
/// checkpoint `text`. Public for the fuzz target of this untrusted input (`fuzz/`), not an API.
#[doc(hidden)]
pub fn verify_answer(
    vkey: &VerifierKey,
    text: &str,
    answer: &[u8],
) -> Result<Vec<note::NoteSignature>, AnswerError> {
    let answer = std::str::from_utf8(answer).map_err(|_| AnswerError::NotUtf8)?;
    let as_note = format!("{text}\n{answer}");
    let parsed = note::parse(as_note.as_bytes()).map_err(AnswerError::NotSignatureLines)?;
    // Only the first line by this key: it is the one `verify_note` checks (signed-note ignores
    // repeated signatures by one key), and a later, unchecked line kept in the published checkpoint
    // would make every client refuse it, since a bad signature by a known key rejects a whole note
    // (found by the `witness_answer` fuzz target).
    let mine = parsed
        .signatures
        .into_iter()
        .find(|s| s.name == vkey.name && s.id == vkey.id)
        .ok_or(AnswerError::NoCosignature)?;
    note::verify_note(
        Note {
            text: text.to_string(),
            signatures: vec![mine.clone()],
        },
        std::slice::from_ref(vkey),
    )
    .map_err(AnswerError::DoesNotVerify)?;
    Ok(vec![mine])
}

/// Prometheus lines for the witnesses' records (`/metrics`).
pub fn render_stats(stats: &[WitnessStats], out: &mut String) {
    if stats.is_empty() {
        return;
    }
    // Label values escaped as the text format requires (backslash, double quote, newline).
    let label = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    type Family = (
        &'static str,
        &'static str,
        &'static str,
        fn(&WitnessStats) -> u64,
    );
    let families: [Family; 4] = [
        (
            "rget_log_witness_cosigned_size",
            "Size of the latest checkpoint of this log the witness cosigned (0: none yet).",
            "gauge",
            |s| s.cosigned_size,
        ),
        (
            "rget_log_witness_qpd",
            "The witness's budget of add-checkpoint requests a day (0: none configured).",
            "gauge",
            |s| s.qpd.map_or(0, u64::from),
        ),
        (
            "rget_log_witness_requests_total",
            "add-checkpoint requests sent to the witness.",
            "counter",
            |s| s.requests,
        ),
        (
            "rget_log_witness_deferred_total",
            "Checkpoints published without asking the witness, its budget being spent.",
            "counter",
            |s| s.deferred,
        ),
    ];
    for (name, help, kind, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in stats {
            let _ = writeln!(out, "{name}{{witness=\"{}\"}} {}", label(&s.name), value(s));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cosignature;
    use crate::core::ed25519::Seed;
    use crate::core::note::SignerKey;

    #[test]
    fn only_the_verified_cosignature_is_kept() {
        let w = SignerKey::from_seed("w.example", Seed([4; 32])).unwrap();
        let vkey = cosignature::verifier_key(&w);
        let text = "log.example\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        let good = cosignature::sign(&w, text, 7).unwrap();
        let mut bad = cosignature::sign(&w, text, 8).unwrap();
        bad.sig[20] ^= 1;
        // Regression from the `witness_answer` fuzz target: a second, invalid line by the same key
        // was kept and would have been published.
        let answer = format!("{}{}", good.to_line(), bad.to_line());
        assert_eq!(
            verify_answer(&vkey, text, answer.as_bytes()),
            Ok(vec![good.clone()])
        );
        // The first line decides: a bad first line is refused whatever follows.
        let answer = format!("{}{}", bad.to_line(), good.to_line());
        assert!(verify_answer(&vkey, text, answer.as_bytes()).is_err());
        assert!(verify_answer(&vkey, text, b"").is_err());
    }

    fn wkey(i: u8) -> VerifierKey {
        cosignature::verifier_key(
            &SignerKey::from_seed(&format!("w{i}.example"), Seed([i; 32])).unwrap(),
        )
    }

    fn file(extra: &str) -> String {
        format!(
            "witness w1 {} https://w1.example/\nwitness w2 {} http://127.0.0.1:1/w2\n\
             witness w3 {} https://bastion.example/{}/\n{extra}group g 2 w1 w2 w3\nquorum g\n",
            wkey(1),
            wkey(2),
            wkey(3),
            "ab".repeat(32)
        )
    }

    #[test]
    fn budgets_and_bastions_in_the_witnesses_file() {
        let w = Witnesses::parse(&file("qpd w3 8640\nqpd\tw1   24\n")).unwrap();
        let stats = w.stats();
        assert_eq!(
            stats.iter().map(|s| s.qpd).collect::<Vec<_>>(),
            [Some(24), None, Some(8640)]
        );
        assert_eq!(
            w.targets.iter().map(|t| t.bastion).collect::<Vec<_>>(),
            [false, false, true]
        );
        assert_eq!(w.targets[1].url, "http://127.0.0.1:1/w2/");
        for (extra, want) in [
            (
                "qpd w4 10\n",
                "line 4: qpd for \"w4\", which is not a witness",
            ),
            ("qpd w1 10\nqpd w1 20\n", "line 5: a second qpd"),
            ("qpd w1 0\n", "line 4: qpd \"0\""),
            ("qpd w1\n", "line 4: a qpd line is"),
            ("qpd w1 10 20\n", "line 4: a qpd line is"),
            ("bogus\n", "line 4: unknown keyword"),
        ] {
            let e = Witnesses::parse(&file(extra)).err().unwrap();
            assert!(e.to_string().contains(want), "{extra:?}: {e}");
        }
        assert!(!is_bastion_route(&format!(
            "http://b.example/{}/",
            "ab".repeat(32)
        )));
        assert!(!is_bastion_route(&format!(
            "https://b.example/{}/",
            "AB".repeat(32)
        )));
        assert!(is_bastion_route(&format!(
            "https://b.example/{}",
            "0f".repeat(32)
        )));
    }

    /// With w3 over budget, a 2-of-3 quorum is still possible now; with w1 and w3 both spent, the
    /// log waits for the first of them to have a request again, asking nobody meanwhile.
    #[test]
    fn the_wait_for_a_quorum_is_the_first_moment_enough_budget_is_back() {
        let mut w = Witnesses::parse(&file("qpd w1 86400\nqpd w3 8640\n")).unwrap();
        let now = Instant::now();
        for t in [0, 2] {
            let b = w.targets[t].budget.as_mut().unwrap();
            b.drain(0);
        }
        let waits: Vec<Duration> = (0..3).map(|i| w.wait_for(i, now)).collect();
        assert!(waits[1].is_zero());
        assert!(waits[0] > Duration::from_millis(900) && waits[0] <= Duration::from_secs(1));
        assert!(waits[2] > Duration::from_millis(9900) && waits[2] <= Duration::from_secs(10));
        assert!(!w.quorum_possible(&[1]));
        assert_eq!(w.until_quorum_possible(&waits), (Waiting::Budget, waits[0]));
        // A witness in back-off is waited for as a failure.
        w.targets[0].budget = None;
        w.targets[0].not_before = Some(now + Duration::from_secs(3));
        let waits: Vec<Duration> = (0..3).map(|i| w.wait_for(i, now)).collect();
        assert_eq!(w.until_quorum_possible(&waits).0, Waiting::Failures);
    }

    #[test]
    fn metrics_name_each_witness() {
        let mut out = String::new();
        render_stats(
            &[WitnessStats {
                name: "w\"1".into(),
                cosigned_size: 42,
                qpd: Some(24),
                requests: 3,
                deferred: 1,
            }],
            &mut out,
        );
        assert!(out.contains("rget_log_witness_cosigned_size{witness=\"w\\\"1\"} 42\n"));
        assert!(out.contains("rget_log_witness_qpd{witness=\"w\\\"1\"} 24\n"));
        assert!(out.contains("rget_log_witness_deferred_total{witness=\"w\\\"1\"} 1\n"));
    }
}

//! The client's trust configuration (`rget::client::trust`) and checkpoint memory
//! (`rget::client::state`): a real Merkle tree of real records in memory, checkpoints signed by a log key
//! and accepted by a policy, consistency proofs from `merkle::consistency_proof` (and forged ones), a
//! real state directory on disk, and threads and child processes racing on it.

use crate::common;
use rget::client::state::{AuditMark, FromHashSource, Observed, StateDir, StateError};
use rget::client::trust::{Env, KeySource, PolicySource, PublisherKeys, TrustError, TrustPolicy};
use rget::core::b64;
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::{Hash, sha256};
use rget::core::ed25519::Seed;
use rget::core::merkle::{self, MemoryTree, MerkleError};
use rget::core::note::{self, SignerKey};
use rget::core::policy::{Policy, VerifiedCheckpoint};
use rget::core::record;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

const ORIGIN: &str = "log.example/test";
/// Trees A and B agree on their first `COMMON` leaves and differ after: B is a fork of A.
const COMMON: u64 = 10;
const SIZE_A: u64 = 40;
const SIZE_B: u64 = 35;

// ---- a log in memory --------------------------------------------------------------------------------

fn sums_for(i: u64) -> Vec<u8> {
    format!("{}  app-{i}.tar.gz\n", sha256(&i.to_be_bytes())).into_bytes()
}

fn tree(size: u64, fork: bool) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..size {
        let host = if fork && i >= COMMON {
            "evil.example"
        } else {
            "rel.example"
        };
        let rec = record::build(&format!("https://{host}/v{i}/SHA256SUMS"), &sums_for(i)).unwrap();
        t.append(merkle::leaf_hash(&rec));
    }
    t
}

struct World {
    key: SignerKey,
    policy: Policy,
    a: MemoryTree,
    b: MemoryTree,
}

fn world() -> World {
    let key = SignerKey::from_seed(ORIGIN, Seed([7; 32])).unwrap();
    let policy = Policy::parse(&format!(
        "log {} https://log.example/\nquorum none\n",
        key.verifier_key()
    ))
    .unwrap();
    World {
        key,
        policy,
        a: tree(SIZE_A, false),
        b: tree(SIZE_B, true),
    }
}

impl World {
    /// The checkpoint of the first `size` leaves of `t`, signed by the log and verified by the policy.
    fn cp(&self, t: &MemoryTree, size: u64) -> VerifiedCheckpoint {
        let root = merkle::tree_hash(size, &mut t.clone()).unwrap();
        let text = Checkpoint {
            origin: ORIGIN.into(),
            size,
            root,
            extensions: vec![],
        }
        .format();
        let bytes = note::sign(&text, &[&self.key]).unwrap();
        self.policy.verify_checkpoint(&bytes).unwrap()
    }
    fn a(&self, size: u64) -> VerifiedCheckpoint {
        self.cp(&self.a, size)
    }
    fn b(&self, size: u64) -> VerifiedCheckpoint {
        self.cp(&self.b, size)
    }
}

/// Honest proofs from tree `t`.
fn honest(t: &MemoryTree) -> FromHashSource<MemoryTree> {
    FromHashSource(t.clone())
}

fn entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn evidence_dirs(state: &StateDir) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = entries(&state.evidence_dir())
        .into_iter()
        .map(|n| state.evidence_dir().join(n))
        .collect();
    v.sort();
    v
}

// ---- checkpoint memory: one update at a time --------------------------------------------------------

#[test]
fn first_use_stores_the_note_and_leaves_no_temporary() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path().join("state")).unwrap();
    assert_eq!(state.stored(ORIGIN).unwrap(), None);
    let cp = w.a(5);
    let got = state.observe_latest(&cp, &mut honest(&w.a)).unwrap();
    assert_eq!(got, Observed::FirstUse { size: 5 });
    assert!(got.to_string().contains("trusted on first use"));
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(cp.note.clone()));
    // The file is the note verbatim, so its first line names the log for a human.
    let path = state.checkpoint_path(ORIGIN);
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .starts_with(&format!("{ORIGIN}\n5\n"))
    );
    // Only the checkpoint and the lock: no temporary file left behind.
    let names = entries(path.parent().unwrap());
    assert_eq!(
        names,
        BTreeSet::from(["checkpoint".to_string(), "lock".to_string()])
    );
    // The same checkpoint again is nothing new.
    assert_eq!(
        state.observe_latest(&cp, &mut honest(&w.a)).unwrap(),
        Observed::Unchanged { size: 5 }
    );
}

#[test]
fn growth_with_a_valid_proof_replaces() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    state.observe_latest(&w.a(5), &mut honest(&w.a)).unwrap();
    let mut asked = Vec::new();
    let mut prover = |old: u64, new: u64| {
        asked.push((old, new));
        merkle::consistency_proof(old, new, &mut w.a.clone())
    };
    let got = state.observe_latest(&w.a(23), &mut prover).unwrap();
    assert_eq!(got, Observed::Advanced { from: 5, to: 23 });
    assert_eq!(asked, vec![(5, 23)]);
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(w.a(23).note));
    let names = entries(state.checkpoint_path(ORIGIN).parent().unwrap());
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn growth_from_the_empty_tree_needs_no_proof() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    state.observe_latest(&w.a(0), &mut honest(&w.a)).unwrap();
    let mut never = |_: u64, _: u64| -> Result<Vec<Hash>, String> { panic!("no proof needed") };
    assert_eq!(
        state.observe_latest(&w.a(7), &mut never).unwrap(),
        Observed::Advanced { from: 0, to: 7 }
    );
}

#[test]
fn an_invalid_proof_is_a_fork_with_evidence_and_the_stored_one_unchanged() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let old = w.a(13);
    state.observe_latest(&old, &mut honest(&w.a)).unwrap();
    let new = w.a(30);
    // A forged proof: the honest one with one hash changed.
    let mut forged = |o: u64, n: u64| -> Result<Vec<Hash>, MerkleError> {
        let mut p = merkle::consistency_proof(o, n, &mut w.a.clone())?;
        p[0].0[0] ^= 1;
        Ok(p)
    };
    let err = state.observe_latest(&new, &mut forged).unwrap_err();
    let StateError::Fork {
        origin,
        stored_size,
        new_size,
        ..
    } = &err
    else {
        panic!("want a fork, got {err}");
    };
    assert_eq!((origin.as_str(), *stored_size, *new_size), (ORIGIN, 13, 30));
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "{msg}");
    let ev = evidence_dirs(&state);
    assert_eq!(ev.len(), 1);
    assert!(
        msg.contains("FORK") && msg.contains(&ev[0].display().to_string()),
        "{msg}"
    );
    assert!(
        ev[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-fork")
    );
    assert_eq!(fs::read(ev[0].join("stored.checkpoint")).unwrap(), old.note);
    assert_eq!(fs::read(ev[0].join("new.checkpoint")).unwrap(), new.note);
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(old.note));
}

#[test]
fn a_forked_tree_is_a_fork() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let old = w.a(12);
    state.observe_latest(&old, &mut honest(&w.a)).unwrap();
    // The log's tiles now are those of tree B: the proof is honest for B, and B does not extend A_12.
    let err = state
        .observe_latest(&w.b(SIZE_B), &mut honest(&w.b))
        .unwrap_err();
    assert!(matches!(err, StateError::Fork { .. }), "{err}");
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(old.note));
    // But a tree that only shares a prefix with A's *stored* part is consistent: B_20 extends A_10.
    let tmp2 = tempfile::tempdir().unwrap();
    let state2 = StateDir::open(tmp2.path()).unwrap();
    state2
        .observe_latest(&w.a(COMMON), &mut honest(&w.a))
        .unwrap();
    assert_eq!(
        state2.observe_latest(&w.b(20), &mut honest(&w.b)).unwrap(),
        Observed::Advanced {
            from: COMMON,
            to: 20
        }
    );
}

#[test]
fn same_size_different_root_is_a_fork() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let old = w.a(20);
    state.observe_latest(&old, &mut honest(&w.a)).unwrap();
    let mut never = |_: u64, _: u64| -> Result<Vec<Hash>, String> { panic!("no proof needed") };
    let err = state.observe_latest(&w.b(20), &mut never).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Fork {
                stored_size: 20,
                new_size: 20,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("same size, different root"),
        "{err}"
    );
    let ev = evidence_dirs(&state);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        fs::read(ev[0].join("new.checkpoint")).unwrap(),
        w.b(20).note
    );
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(old.note));
}

#[test]
fn a_smaller_latest_checkpoint_is_a_rollback_with_evidence() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let newest = w.a(30);
    state.observe_latest(&newest, &mut honest(&w.a)).unwrap();
    let older = w.a(20);
    let err = state.observe_latest(&older, &mut honest(&w.a)).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Rollback {
                stored_size: 30,
                new_size: 20,
                ..
            }
        ),
        "{err}"
    );
    let ev = evidence_dirs(&state);
    assert_eq!(ev.len(), 1);
    assert!(err.to_string().contains("ROLLBACK"));
    assert!(err.to_string().contains(&ev[0].display().to_string()));
    assert!(
        ev[0]
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-rollback")
    );
    assert_eq!(
        fs::read(ev[0].join("stored.checkpoint")).unwrap(),
        newest.note
    );
    assert_eq!(fs::read(ev[0].join("new.checkpoint")).unwrap(), older.note);
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(newest.note.clone()));
    // A second rollback in the same second gets its own evidence directory.
    state.observe_latest(&older, &mut honest(&w.a)).unwrap_err();
    assert_eq!(evidence_dirs(&state).len(), 2);
}

#[test]
fn an_older_proof_checkpoint_is_tied_to_the_newest() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let newest = w.a(SIZE_A);
    state.observe_latest(&newest, &mut honest(&w.a)).unwrap();
    let mut asked = Vec::new();
    let mut prover = |old: u64, new: u64| {
        asked.push((old, new));
        merkle::consistency_proof(old, new, &mut w.a.clone())
    };
    assert_eq!(
        state.tie_to_newest(&w.a(17), &mut prover).unwrap(),
        Observed::TiedToNewer {
            size: 17,
            newest: SIZE_A
        }
    );
    // The proof goes from the proof file's checkpoint to the stored newer one, and the newer one stays.
    assert_eq!(asked, vec![(17, SIZE_A)]);
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(newest.note));
    assert!(evidence_dirs(&state).is_empty());
}

#[test]
fn an_inconsistent_older_proof_checkpoint_is_a_fork() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    let newest = w.a(SIZE_A);
    state.observe_latest(&newest, &mut honest(&w.a)).unwrap();
    // B_20 (from a proof file made on the fork) against the honest tiles of A_40.
    let err = state
        .tie_to_newest(&w.b(20), &mut honest(&w.a))
        .unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Fork {
                stored_size: SIZE_A,
                new_size: 20,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(evidence_dirs(&state).len(), 1);
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(newest.note));
}

#[test]
fn tie_to_newest_observes_newer_and_first_checkpoints() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    assert_eq!(
        state.tie_to_newest(&w.a(9), &mut honest(&w.a)).unwrap(),
        Observed::FirstUse { size: 9 }
    );
    assert_eq!(
        state.tie_to_newest(&w.a(25), &mut honest(&w.a)).unwrap(),
        Observed::Advanced { from: 9, to: 25 }
    );
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(w.a(25).note));
    assert_eq!(
        state.tie_to_newest(&w.a(25), &mut honest(&w.a)).unwrap(),
        Observed::Unchanged { size: 25 }
    );
}

#[test]
fn a_log_that_cannot_serve_a_proof_is_not_a_fork() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    state.observe_latest(&w.a(5), &mut honest(&w.a)).unwrap();
    let mut down =
        |_: u64, _: u64| -> Result<Vec<Hash>, String> { Err("tile/0/000.p/9: HTTP 503".into()) };
    let err = state.observe_latest(&w.a(9), &mut down).unwrap_err();
    assert!(
        matches!(err, StateError::Proof { old: 5, new: 9, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("HTTP 503"));
    assert!(evidence_dirs(&state).is_empty());
    assert_eq!(state.stored(ORIGIN).unwrap(), Some(w.a(5).note));
}

#[test]
fn a_corrupt_stored_checkpoint_is_an_error_not_a_first_use() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    state.observe_latest(&w.a(5), &mut honest(&w.a)).unwrap();
    let path = state.checkpoint_path(ORIGIN);
    fs::write(&path, b"garbage").unwrap();
    let err = state
        .observe_latest(&w.a(9), &mut honest(&w.a))
        .unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(fs::read(&path).unwrap(), b"garbage");
    // Another log's checkpoint under this log's name is refused too.
    let other = SignerKey::from_seed("other.example/log", Seed([8; 32])).unwrap();
    let text = Checkpoint {
        origin: "other.example/log".into(),
        size: 1,
        root: sha256(b"x"),
        extensions: vec![],
    }
    .format();
    fs::write(&path, note::sign(&text, &[&other]).unwrap()).unwrap();
    let err = state.stored(ORIGIN).unwrap_err();
    assert!(err.to_string().contains("not of"), "{err}");
}

#[test]
fn stored_logs_are_listed_and_audit_progress_is_kept() {
    let w = world();
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::open(tmp.path()).unwrap();
    assert!(state.logs().unwrap().is_empty());
    state.observe_latest(&w.a(20), &mut honest(&w.a)).unwrap();
    let logs = state.logs().unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].origin, ORIGIN);
    assert_eq!(logs[0].checkpoint.size, 20);
    assert_eq!(logs[0].note, w.a(20).note);

    assert_eq!(state.audit_mark(ORIGIN).unwrap(), None);
    let root = |n| merkle::tree_hash(n, &mut w.a.clone()).unwrap();
    let m10 = AuditMark {
        size: 10,
        root: root(10),
    };
    state.set_audit_mark(ORIGIN, &m10).unwrap();
    assert_eq!(state.audit_mark(ORIGIN).unwrap(), Some(m10));
    let m20 = AuditMark {
        size: 20,
        root: root(20),
    };
    state.set_audit_mark(ORIGIN, &m20).unwrap();
    assert_eq!(state.audit_mark(ORIGIN).unwrap(), Some(m20));
    // Never backwards, never past the stored checkpoint, never another root at its size.
    let back = state.set_audit_mark(ORIGIN, &m10).unwrap_err();
    assert!(back.to_string().contains("move back"), "{back}");
    let past = AuditMark {
        size: 21,
        root: root(21),
    };
    assert!(state.set_audit_mark(ORIGIN, &past).is_err());
    let wrong = AuditMark {
        size: 20,
        root: root(19),
    };
    assert!(state.set_audit_mark(ORIGIN, &wrong).is_err());
    assert_eq!(state.audit_mark(ORIGIN).unwrap(), Some(m20));
    let names = entries(state.audit_path(ORIGIN).parent().unwrap());
    assert_eq!(
        names,
        BTreeSet::from(["audit".into(), "checkpoint".into(), "lock".into()])
    );
}

// ---- checkpoint memory: races -------------------------------------------------------------------------

const CHILD_DIR: &str = "RGET_CLIENT_STATE_CHILD_DIR";
const CHILD_SIZES: &str = "RGET_CLIENT_STATE_CHILD_SIZES";

/// Updates the state with checkpoints of the given sizes of tree A, and `SIZE_B` meaning the fork.
/// Every outcome must be one a correct client can see in a race; anything else panics.
fn race_updates(state: &StateDir, w: &World, sizes: &[u64], tie: bool) {
    for &size in sizes {
        let fork = size == SIZE_B;
        let cp = if fork { w.b(size) } else { w.a(size) };
        // The log's tiles: B's for growth to the fork's size, A's otherwise. A short sleep while the
        // lock is held widens the race window.
        let mut prover = |old: u64, new: u64| {
            std::thread::sleep(Duration::from_millis(2));
            let t = if fork && new == SIZE_B { &w.b } else { &w.a };
            merkle::consistency_proof(old, new, &mut t.clone())
        };
        let got = if tie {
            state.tie_to_newest(&cp, &mut prover)
        } else {
            state.observe_latest(&cp, &mut prover)
        };
        match (fork, got) {
            (false, Ok(_)) => {}
            // A smaller checkpoint arriving after a bigger one was stored is a rollback for
            // observe_latest (it is what a late `latest` looks like).
            (false, Err(StateError::Rollback { .. })) if !tie => {}
            (true, Err(StateError::Fork { .. })) => {}
            (true, Err(StateError::Rollback { .. })) if !tie => {}
            (fork, other) => panic!("size {size} (fork: {fork}): unexpected {other:?}"),
        }
    }
}

/// Not a test on its own: the body of the child processes of `racing_processes_and_threads...`.
#[test]
fn child_process_helper() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let sizes: Vec<u64> = std::env::var(CHILD_SIZES)
        .unwrap()
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let state = StateDir::open(dir).unwrap();
    race_updates(&state, &world(), &sizes, false);
}

#[test]
fn racing_processes_and_threads_keep_the_largest_consistent_checkpoint() {
    let w = Arc::new(world());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let state = StateDir::open(&dir).unwrap();
    // Stored before the race, beyond the point where B forks off: B is inconsistent with every
    // checkpoint the race can store.
    state.observe_latest(&w.a(12), &mut honest(&w.a)).unwrap();

    // Child processes: this test binary again, in helper mode, with observe_latest.
    let exe = std::env::current_exe().unwrap();
    let child_sizes = ["13,17,21,25,29,33,37", "14,18,22,35,26,30,34,38"];
    let children: Vec<_> = child_sizes
        .iter()
        .map(|sizes| {
            Command::new(&exe)
                .arg("--exact")
                .arg(common::test_name(module_path!(), "child_process_helper"))
                .arg("--test-threads=1")
                .env(CHILD_DIR, &dir)
                .env(CHILD_SIZES, sizes)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();

    // A watcher: what any reader sees must only ever move forward along tree A.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (w, done, state) = (w.clone(), done.clone(), state.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                let cp = state.stored_checkpoint(ORIGIN).unwrap().unwrap();
                assert!(
                    cp.size >= last,
                    "stored size went back from {last} to {}",
                    cp.size
                );
                let want = merkle::tree_hash(cp.size, &mut w.a.clone()).unwrap();
                assert_eq!(cp.root, want, "stored a checkpoint not of tree A");
                last = cp.size;
                reads += 1;
            }
            reads
        })
    };

    // Threads in this process, each with its own open file description for the lock, alternating
    // observe_latest and tie_to_newest, one of them offering the fork.
    let thread_sizes: [&[u64]; 4] = [
        &[15, 19, 23, 27, 31, 39],
        &[16, 20, SIZE_B, 24, 28, 32, 36, 40],
        &[40, 13, 14, 15],
        &[SIZE_B, 39, 38, 37],
    ];
    let barrier = Arc::new(Barrier::new(thread_sizes.len()));
    let threads: Vec<_> = thread_sizes
        .iter()
        .enumerate()
        .map(|(i, sizes)| {
            let (w, barrier, dir) = (w.clone(), barrier.clone(), dir.clone());
            let sizes = sizes.to_vec();
            std::thread::spawn(move || {
                let state = StateDir::open(dir).unwrap();
                barrier.wait();
                race_updates(&state, &w, &sizes, i % 2 == 1);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child process failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The helper really ran (it is not filtered out and did not return early).
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);

    assert_eq!(state.stored(ORIGIN).unwrap(), Some(w.a(SIZE_A).note));
    // Every fork attempt left evidence, and no evidence ever holds B as the stored checkpoint.
    let ev = evidence_dirs(&state);
    let b_note = w.b(SIZE_B).note;
    let forks = ev
        .iter()
        .filter(|d| fs::read(d.join("new.checkpoint")).unwrap() == b_note)
        .count();
    assert_eq!(forks, 3, "{ev:?}");
    for d in &ev {
        assert_ne!(fs::read(d.join("stored.checkpoint")).unwrap(), b_note);
    }
    // No temporary file anywhere in the log's directory.
    let names = entries(state.checkpoint_path(ORIGIN).parent().unwrap());
    assert_eq!(
        names,
        BTreeSet::from(["checkpoint".to_string(), "lock".to_string()])
    );
}

// ---- trust configuration ------------------------------------------------------------------------------

fn log_vkey(origin: &str, seed: u8) -> String {
    SignerKey::from_seed(origin, Seed([seed; 32]))
        .unwrap()
        .verifier_key()
        .to_string()
}

fn write_policy(path: &Path, origin: &str, seed: u8) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(
        path,
        format!(
            "# test policy\nlog {} https://{origin}/\nquorum none\n",
            log_vkey(origin, seed)
        ),
    )
    .unwrap();
}

#[test]
fn policy_resolution_order_flag_then_env_then_xdg() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write_policy(&d.join("flag"), "flag.example", 1);
    write_policy(&d.join("env"), "env.example", 2);
    write_policy(&d.join("xdg/rget/policy"), "xdg.example", 3);
    write_policy(&d.join("home/.config/rget/policy"), "home.example", 4);
    let mut env = Env {
        home: Some(d.join("home")),
        xdg_config_home: Some(d.join("xdg")),
        rget_policy: Some(d.join("env")),
        ..Env::default()
    };
    let origin = |p: &TrustPolicy| p.logs().next().unwrap().origin.to_string();

    let p = TrustPolicy::load(Some(&d.join("flag")), &env, false).unwrap();
    assert_eq!(
        (origin(&p), p.via),
        ("flag.example".into(), PolicySource::Flag)
    );
    let p = TrustPolicy::load(None, &env, false).unwrap();
    assert_eq!(
        (origin(&p), p.via),
        ("env.example".into(), PolicySource::EnvVar)
    );
    env.rget_policy = None;
    let p = TrustPolicy::load(None, &env, false).unwrap();
    assert_eq!(
        (origin(&p), p.via),
        ("xdg.example".into(), PolicySource::ConfigDir)
    );
    env.xdg_config_home = None;
    let p = TrustPolicy::load(None, &env, false).unwrap();
    assert_eq!(origin(&p), "home.example");
    assert_eq!(p.path, d.join("home/.config/rget/policy"));

    // A file named by RGET_POLICY that is missing is an error, not a fallback to another policy.
    env.rget_policy = Some(d.join("nope"));
    let err = TrustPolicy::load(None, &env, false).unwrap_err();
    assert!(matches!(err, TrustError::ReadPolicy { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("RGET_POLICY") && msg.contains("nope"), "{msg}");
}

#[test]
fn missing_policy_says_where_it_looked_and_how_to_create_one() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        home: Some(tmp.path().to_path_buf()),
        ..Env::default()
    };
    let err = TrustPolicy::load(None, &env, false).unwrap_err();
    let msg = err.to_string();
    let looked = tmp.path().join(".config/rget/policy");
    assert!(msg.contains(&looked.display().to_string()), "{msg}");
    assert!(
        msg.contains("RGET_POLICY") && msg.contains("--policy"),
        "{msg}"
    );
    assert!(
        msg.contains("log <log vkey> <log URL>") && msg.contains("quorum none"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    let err = TrustPolicy::load(None, &Env::default(), false).unwrap_err();
    assert!(matches!(err, TrustError::NoConfigDir), "{err}");
}

#[test]
fn every_log_needs_a_usable_url() {
    let p = Path::new("/etc/p");
    let a = log_vkey("a.example/log", 1);
    let b = log_vkey("b.example/log", 2);
    let text = format!("log {a} https://a.example/\n\n# b has no URL\nlog {b}\nquorum none\n");
    let err = TrustPolicy::from_text(p, PolicySource::Flag, &text, false).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("/etc/p line 4: log \"b.example/log\" has no URL"),
        "{msg}"
    );

    let text = format!("log {a} http://a.example/tiles\nquorum none\n");
    let err = TrustPolicy::from_text(p, PolicySource::Flag, &text, false).unwrap_err();
    assert!(err.to_string().contains("plain http"), "{err}");
    // Allowed by flag; the prefix gets its trailing slash.
    let ok = TrustPolicy::from_text(p, PolicySource::Flag, &text, true).unwrap();
    assert_eq!(
        ok.log_for_origin("a.example/log").unwrap().url,
        "http://a.example/tiles/"
    );

    let text = format!("log {a} https://A.example:443/x?y\nquorum none\n");
    let err = TrustPolicy::from_text(p, PolicySource::Flag, &text, false).unwrap_err();
    assert!(err.to_string().contains("query"), "{err}");

    let text =
        format!("log {a} HTTPS://A.example:443/log\nlog {b} https://b.example\nquorum none\n");
    let ok = TrustPolicy::from_text(p, PolicySource::Flag, &text, false).unwrap();
    let la = ok.log_for_origin("a.example/log").unwrap();
    assert_eq!(la.url, "https://a.example/log/");
    assert_eq!(la.log.vkey.name, "a.example/log");
    assert_eq!(
        ok.log_for_origin("b.example/log").unwrap().url,
        "https://b.example/"
    );
    assert!(ok.log_for_origin("c.example/log").is_none());

    // Policy syntax errors keep the core's line numbers and gain the file name.
    let err =
        TrustPolicy::from_text(p, PolicySource::Flag, "quorum none\nbogus\n", false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/etc/p: policy line 2: unknown keyword"),
        "{err}"
    );
}

/// A syntactically valid minisign public key (base64 line) with key ID bytes `[n; 8]`.
fn mkey(n: u8) -> String {
    let mut bin = b"Ed".to_vec();
    bin.extend_from_slice(&[n; 8]);
    bin.extend_from_slice(&[n.wrapping_add(100); 32]);
    b64::encode(&bin)
}

fn key_id(n: u8) -> String {
    format!("{:X}", u64::from_le_bytes([n; 8]))
}

#[test]
fn keys_file_longest_prefix_on_segment_boundaries() {
    let path = Path::new("/cfg/keys");
    let text = format!(
        "# publisher keys\n\
         \n\
         https://a.example/ {}\n\
         https://a.example/rel {}\n\
         \thttps://a.example/rel/beta/   {}  \n\
         HTTPS://B.Example:443/x {}\n",
        mkey(1),
        mkey(2),
        mkey(3),
        mkey(4)
    );
    let keys = PublisherKeys::parse_keys_file(path, &text).unwrap();
    let id = |url: &str| keys.key_for(url).map(|k| k.key_id());
    assert_eq!(id("https://a.example/SHA256SUMS"), Some(key_id(1)));
    assert_eq!(id("https://a.example/rel"), Some(key_id(2)));
    assert_eq!(id("https://a.example/rel/v1/SHA256SUMS"), Some(key_id(2)));
    // `rel` does not cover `release`: that falls back to the host-wide prefix.
    assert_eq!(id("https://a.example/release/SHA256SUMS"), Some(key_id(1)));
    assert_eq!(id("https://a.example/rel/beta/SHA256SUMS"), Some(key_id(3)));
    assert_eq!(
        id("https://a.example/rel/betamax/SHA256SUMS"),
        Some(key_id(2))
    );
    // URLs are compared canonically.
    assert_eq!(id("https://b.example/x/SHA256SUMS"), Some(key_id(4)));
    assert_eq!(id("HTTPS://B.EXAMPLE:443/x/SHA256SUMS"), Some(key_id(4)));
    assert_eq!(id("https://b.example/xy/SHA256SUMS"), None);
    assert_eq!(id("https://c.example/SHA256SUMS"), None);
    assert_eq!(id("https://a.example.evil/SHA256SUMS"), None);

    let applied = keys.lookup("https://a.example/rel/v1/SHA256SUMS").unwrap();
    assert_eq!(
        applied.source,
        KeySource::KeysFile {
            path: path.into(),
            line: 4,
            prefix: "https://a.example/rel".into()
        }
    );
    assert_eq!(
        keys.describe("https://a.example/rel/v1/SHA256SUMS"),
        format!(
            "signed by key ID {} (/cfg/keys line 4, prefix https://a.example/rel)",
            key_id(2)
        )
    );
    assert_eq!(
        keys.describe("https://c.example/SHA256SUMS"),
        "unsigned: no key applies to this URL"
    );
}

#[test]
fn malformed_keys_lines_are_named_by_number() {
    let path = Path::new("/cfg/keys");
    let k = mkey(1);
    let cases = [
        (
            format!("# c\nhttps://a.example/ {k} extra\n"),
            "/cfg/keys line 2: want",
        ),
        (format!("\n\n{k}\n"), "/cfg/keys line 3: want"),
        (
            "https://a.example/ RWQ=\n".to_string(),
            "/cfg/keys line 1: minisign public key",
        ),
        (
            format!("ftp://a.example/ {k}\n"),
            "/cfg/keys line 1: URL prefix \"ftp://a.example/\"",
        ),
        (
            format!("a.example/ {k}\n"),
            "line 1: URL prefix \"a.example/\" has no scheme",
        ),
        (format!("https://a.example/?q {k}\n"), "line 1: URL prefix"),
        (
            format!(
                "https://a.example/x {k}\nhttps://A.example:443/x {}\n",
                mkey(2)
            ),
            "/cfg/keys line 2: prefix https://a.example/x already has a key on line 1",
        ),
    ];
    for (text, want) in cases {
        let err = PublisherKeys::parse_keys_file(path, &text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(want), "{text:?}: {msg}");
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn keys_file_is_optional_and_found_in_the_config_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let env = Env {
        xdg_config_home: Some(tmp.path().to_path_buf()),
        ..Env::default()
    };
    let keys = PublisherKeys::load(None, &env).unwrap();
    assert!(keys.is_empty());
    assert_eq!(keys.key_for("https://a.example/SHA256SUMS"), None);
    fs::create_dir_all(tmp.path().join("rget")).unwrap();
    fs::write(
        tmp.path().join("rget/keys"),
        format!("https://a.example/ {}\n", mkey(5)),
    )
    .unwrap();
    let keys = PublisherKeys::load(None, &env).unwrap();
    assert_eq!(
        keys.key_for("https://a.example/SHA256SUMS")
            .unwrap()
            .key_id(),
        key_id(5)
    );
}

#[test]
fn key_flag_as_base64_or_as_a_pub_file_applies_to_every_url() {
    let tmp = tempfile::tempdir().unwrap();
    // A keys file that --key must override (and that is not even read: it is malformed).
    let env = Env {
        xdg_config_home: Some(tmp.path().to_path_buf()),
        ..Env::default()
    };
    fs::create_dir_all(tmp.path().join("rget")).unwrap();
    fs::write(tmp.path().join("rget/keys"), "malformed\n").unwrap();
    assert!(PublisherKeys::load(None, &env).is_err());

    let keys = PublisherKeys::load(Some(&mkey(6)), &env).unwrap();
    let applied = keys
        .lookup("https://anything.example/x/SHA256SUMS")
        .unwrap();
    assert_eq!(applied.key.key_id(), key_id(6));
    assert_eq!(applied.source, KeySource::Flag);
    assert_eq!(
        keys.describe("https://z.example/SHA256SUMS"),
        format!("signed by key ID {} (from --key)", key_id(6))
    );

    let pub_file = tmp.path().join("release.pub");
    fs::write(
        &pub_file,
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            key_id(7),
            mkey(7)
        ),
    )
    .unwrap();
    let keys = PublisherKeys::load(Some(pub_file.to_str().unwrap()), &env).unwrap();
    assert_eq!(
        keys.key_for("https://q.example/SHA256SUMS")
            .unwrap()
            .key_id(),
        key_id(7)
    );

    let err = PublisherKeys::from_key_arg("/no/such/key.pub").unwrap_err();
    assert!(matches!(err, TrustError::BadKeyArg { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("neither a minisign nor an ssh-ed25519 public key")
            && err.to_string().contains("nor a readable file"),
        "{err}"
    );
    fs::write(tmp.path().join("junk.pub"), "not a key\n").unwrap();
    let err =
        PublisherKeys::from_key_arg(tmp.path().join("junk.pub").to_str().unwrap()).unwrap_err();
    assert!(matches!(err, TrustError::BadKeyFile { .. }), "{err}");
}

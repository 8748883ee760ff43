//! The sequencer in process: batches, duplicates, reopening, and every crash window of a batch commit
//! reproduced by leaving the directory exactly as a crash at that point would.

use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::note;
use rget::core::policy::Policy;
use rget::core::record;
use rget::core::tile::{Tile, TileLevel};
use rget::core::verify;
use rget::log::dir::{self, LogDir};
use rget::log::sequencer::{Config, Log, OpenError};
use rget::log::state::TreeState;
use std::fs;
use std::path::Path;
use std::time::Duration;

const ORIGIN: &str = "log.example/seq-test";

fn sums(i: usize) -> Vec<u8> {
    format!("{}  file-{i}.tar.gz\n", sha256(&i.to_be_bytes())).into_bytes()
}

fn url(i: usize) -> String {
    format!("https://r{}.example/SHA256SUMS", i % 5)
}

fn rec(i: usize) -> Vec<u8> {
    record::build(&url(i), &sums(i)).unwrap()
}

fn new_log(d: &Path) -> (Log, Policy) {
    let vkey = dir::init(&LogDir::new(d), ORIGIN, None).unwrap();
    let log = Log::open(d).unwrap();
    (
        log,
        Policy::parse(&format!("log {vkey}\nquorum none\n")).unwrap(),
    )
}

fn published(d: &Path) -> Checkpoint {
    let n = note::parse(&fs::read(d.join("public/checkpoint")).unwrap()).unwrap();
    Checkpoint::parse(&n.text).unwrap()
}

#[test]
fn batches_duplicates_and_reopen() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (mut log, policy) = new_log(d);
    assert_eq!(published(d).size, 0);
    assert_eq!(published(d).root, sha256(b""));

    // Uneven batches across bundle boundaries, with duplicates inside a batch and across batches.
    let mut next = 0usize;
    for size in [1usize, 254, 1, 300, 0, 700] {
        let mut batch: Vec<Vec<u8>> = (next..next + size).map(rec).collect();
        if size > 1 {
            batch.push(rec(next)); // twice in one batch
        }
        if next > 0 {
            batch.push(rec(next - 1)); // already logged
        }
        let got = log.sequence(&batch).unwrap();
        for (k, i) in (next..next + size).enumerate() {
            assert_eq!(got[k], i as u64);
        }
        if size > 1 {
            assert_eq!(got[size], next as u64);
        }
        if next > 0 {
            assert_eq!(*got.last().unwrap(), next as u64 - 1);
        }
        next += size;
        assert_eq!(log.state().size, next as u64);
        assert_eq!(published(d).size, next as u64);
    }
    let state = log.state();
    drop(log);

    // Reopen: same state, nothing to repair, and every record still proves.
    let log = Log::open(d).unwrap();
    assert_eq!(log.state(), state);
    let (handle, thread) = log
        .start(Config {
            batch_delay: Duration::from_millis(5),
            ..Config::default()
        })
        .unwrap();
    for i in [0usize, 1, 255, 256, 511, 1255] {
        let p = handle
            .existing(&rget::core::merkle::leaf_hash(&rec(i)))
            .unwrap();
        assert_eq!(p.index, i as u64);
        verify::verify_logged_sums(&policy, &url(i), &sums(i), &p.proof).unwrap();
    }
    assert_eq!(
        handle
            .lookup(&url(7))
            .iter()
            .map(|(i, _)| *i)
            .collect::<Vec<_>>(),
        (0..next as u64).filter(|i| i % 5 == 2).collect::<Vec<_>>()
    );
    // Through the thread: a new record gets the next index and a proof that verifies.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let p = rt
        .block_on(handle.submit(rec(5000)).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(p.index, next as u64);
    verify::verify_logged_sums(&policy, &url(5000), &sums(5000), &p.proof).unwrap();
    handle.shutdown();
    thread.join().unwrap();
    assert!(handle.submit(rec(5001)).is_err(), "closed after shutdown");
}

/// Crash after the state was written but before the checkpoint: the next open signs and publishes it.
#[test]
fn crash_between_state_and_checkpoint_is_finished_on_open() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (mut log, _) = new_log(d);
    log.sequence(&(0..10).map(rec).collect::<Vec<_>>()).unwrap();
    let old_cp = fs::read(d.join("public/checkpoint")).unwrap();
    log.sequence(&(10..300).map(rec).collect::<Vec<_>>())
        .unwrap();
    let new_cp = fs::read(d.join("public/checkpoint")).unwrap();
    drop(log);
    fs::write(d.join("public/checkpoint"), &old_cp).unwrap();
    let log = Log::open(d).unwrap();
    assert_eq!(log.state().size, 300);
    // Deterministic signing: exactly the checkpoint the lost step would have written.
    assert_eq!(fs::read(d.join("public/checkpoint")).unwrap(), new_cp);
    drop(log);
    // The checkpoint missing altogether (crash during `log init`'s first open) is also finished.
    fs::remove_file(d.join("public/checkpoint")).unwrap();
    Log::open(d).unwrap();
    assert_eq!(fs::read(d.join("public/checkpoint")).unwrap(), new_cp);
}

/// Crash after some files of a batch were written but before the state: the batch never happened; the
/// next batch overwrites its files, and leftovers (temporary files) are swept.
#[test]
fn crash_before_state_loses_only_the_unacknowledged_batch() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (mut log, policy) = new_log(d);
    log.sequence(&(0..100).map(rec).collect::<Vec<_>>())
        .unwrap();
    let state = log.state();
    let cp = fs::read(d.join("public/checkpoint")).unwrap();
    log.sequence(&(100..600).map(rec).collect::<Vec<_>>())
        .unwrap();
    drop(log);
    // Roll the state and checkpoint back to size 100, as if the crash came before `tree-state` was
    // replaced; the batch's bundles and tiles stay on disk, plus a temporary file mid-write.
    rget::fetch::durable::write_atomic(&d.join("tree-state"), state.format().as_bytes(), 0o644)
        .unwrap();
    fs::write(d.join("public/checkpoint"), &cp).unwrap();
    fs::write(d.join("public/tile/0/.000.tmp-1-1"), b"half").unwrap();
    let mut log = Log::open(d).unwrap();
    assert_eq!(log.state(), state);
    assert!(!d.join("public/tile/0/.000.tmp-1-1").exists());
    // Other records now take indices 100.., overwriting the stale files.
    let got = log
        .sequence(&(1000..1300).map(rec).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(got[0], 100);
    let (h, th) = log.start(Config::default()).unwrap();
    for i in [1000usize, 1155, 1299] {
        let p = h.existing(&rget::core::merkle::leaf_hash(&rec(i))).unwrap();
        verify::verify_logged_sums(&policy, &url(i), &sums(i), &p.proof).unwrap();
    }
    assert!(
        h.existing(&rget::core::merkle::leaf_hash(&rec(150)))
            .is_none(),
        "the lost batch is not in the log"
    );
    h.shutdown();
    th.join().unwrap();
}

#[test]
fn missing_right_edge_tiles_are_rewritten() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (mut log, _) = new_log(d);
    log.sequence(&(0..70).map(rec).collect::<Vec<_>>()).unwrap();
    drop(log);
    let partial = Tile {
        level: TileLevel::Hash(0),
        index: 0,
        width: 70,
    };
    let p = LogDir::new(d).tile(&partial);
    let good = fs::read(&p).unwrap();
    fs::remove_file(&p).unwrap();
    Log::open(d).unwrap();
    assert_eq!(fs::read(&p).unwrap(), good);
    fs::write(&p, vec![0u8; good.len()]).unwrap();
    Log::open(d).unwrap();
    assert_eq!(fs::read(&p).unwrap(), good);
}

#[test]
fn corruption_is_refused_loudly() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let (mut log, _) = new_log(d);
    log.sequence(&(0..300).map(rec).collect::<Vec<_>>())
        .unwrap();
    let state = log.state();
    drop(log);

    // A changed entry bundle no longer hashes to the durable root.
    let bundle = LogDir::new(d).tile(&Tile {
        level: TileLevel::Entries,
        index: 0,
        width: 256,
    });
    let good = fs::read(&bundle).unwrap();
    let mut bad = good.clone();
    bad[100] ^= 1;
    fs::write(&bundle, &bad).unwrap();
    assert!(matches!(Log::open(d), Err(OpenError::Corrupt(_))));
    fs::write(&bundle, &good).unwrap();

    // A published checkpoint ahead of the durable state (impossible unless storage lies).
    // (The state is rolled back to a consistent size-10 tree, so only the checkpoint check can fail.)
    let root10 = rget::core::merkle::MemoryTree::from_leaf_hashes(
        (0..10).map(|i| rget::core::merkle::leaf_hash(&rec(i))),
    )
    .root();
    let small = TreeState {
        size: 10,
        root: root10,
    };
    fs::write(d.join("tree-state"), small.format()).unwrap();
    match Log::open(d) {
        Err(OpenError::Corrupt(m)) => assert!(m.contains("ahead of"), "{m}"),
        other => panic!("expected a corruption error, got {:?}", other.err()),
    }
    fs::write(d.join("tree-state"), state.format()).unwrap();

    // A garbled state file.
    fs::write(d.join("tree-state"), "nonsense").unwrap();
    assert!(matches!(Log::open(d), Err(OpenError::State(_))));
    fs::write(d.join("tree-state"), state.format()).unwrap();

    // A second sequencer on the same directory is refused while the first holds the lock.
    let first = Log::open(d).unwrap();
    assert!(matches!(Log::open(d), Err(OpenError::Io { .. })));
    drop(first);
    assert_eq!(Log::open(d).unwrap().state(), state);
}

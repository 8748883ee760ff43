//! Crash test: under continuous concurrent load, kill -9 the real `rget log serve` process at random
//! moments (20 times), restarting it each time. After every restart:
//! - every acknowledged (index, record) is in the log at that index;
//! - the published checkpoint's size never went down;
//! - the whole log verifies from its files: the entry bundles hash to the level-0 tiles, the tiles to
//!   the checkpoint root, and the checkpoint verifies with the log key.
//!
//! The random schedule is printed with its seed; `RGET_CRASH_SEED=<n>` replays it.

use crate::common::log as logc;
use crate::common::rng::{Rng, crash_seed};
use logc::{Server, init_log, pct};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::merkle::{self, MemoryTree};
use rget::core::note::{self, VerifierKey};
use rget::core::policy::Policy;
use rget::core::record;
use rget::core::tile::{self, Tile, TileError, TileHashSource, TileLevel, TileReader};
use rget::core::verify;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ORIGIN: &str = "crash.example/log";

fn start(dir: &Path) -> Server {
    Server::start(dir, &["--batch-size", "64", "--batch-delay", "5"])
}

fn sums(n: u64) -> Vec<u8> {
    format!("{}  artifact-{n}.tar.gz\n", sha256(&n.to_be_bytes())).into_bytes()
}

fn url(n: u64) -> String {
    format!("https://crash{}.example/SHA256SUMS", n % 7)
}

/// Reads tiles and bundles straight from the log directory.
struct DirTiles(PathBuf);
impl TileReader for DirTiles {
    fn read_tile(&mut self, t: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(self.0.join("public").join(t.path()))
            .map_err(|_| TileError::NotFound { path: t.path() })
    }
}

fn published(dir: &Path, vkey: &VerifierKey) -> Checkpoint {
    let bytes = std::fs::read(dir.join("public/checkpoint")).unwrap();
    let opened = note::open(&bytes, std::slice::from_ref(vkey))
        .expect("checkpoint verifies with the log key");
    Checkpoint::parse(&opened.note.text).unwrap()
}

/// All entries of the log at `size`, read from the entry bundles a client would fetch.
fn entries(dir: &Path, size: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut r = DirTiles(dir.to_path_buf());
    for b in 0..size.div_ceil(256) {
        let width = if (b + 1) * 256 <= size {
            256
        } else {
            (size % 256) as u16
        };
        let bytes = r
            .read_tile(&Tile {
                level: TileLevel::Entries,
                index: b,
                width,
            })
            .unwrap();
        out.extend(
            tile::decode_bundle(&bytes, width)
                .unwrap()
                .into_iter()
                .map(<[u8]>::to_vec),
        );
    }
    out
}

/// The whole log verifies from its files.
fn check_log(dir: &Path, vkey: &VerifierKey) -> (Checkpoint, Vec<Vec<u8>>) {
    let cp = published(dir, vkey);
    let all = entries(dir, cp.size);
    let from_entries = MemoryTree::from_leaf_hashes(all.iter().map(|e| merkle::leaf_hash(e)));
    assert_eq!(
        from_entries.root(),
        cp.root,
        "entry bundles do not hash to the checkpoint root"
    );
    let mut src = TileHashSource::new(DirTiles(dir.to_path_buf()), cp.size);
    assert_eq!(
        merkle::tree_hash(cp.size, &mut src).unwrap(),
        cp.root,
        "tiles do not hash to the checkpoint root"
    );
    for e in &all {
        record::parse(e).expect("every entry is a valid record");
    }
    (cp, all)
}

#[test]
fn kill_9_under_load_never_loses_an_acknowledged_record() {
    let seed = crash_seed();
    let mut rng = Rng(seed);

    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey_line) = init_log(tmp.path(), ORIGIN);
    let vkey = VerifierKey::parse(&vkey_line).unwrap();
    let policy = Policy::parse(&format!("log {vkey}\nquorum none\n")).unwrap();

    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::new(Mutex::new(Vec::new())); // (index, record number)
    let counter = Arc::new(AtomicU64::new(0));
    let mut last_size = 0u64;
    let kills = 20;
    for round in 0..kills {
        let server = start(&dir);
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (base, stop, acked, counter) = (
                    server.base.clone(),
                    stop.clone(),
                    acked.clone(),
                    counter.clone(),
                );
                let policy = policy.clone();
                std::thread::spawn(move || {
                    let agent = ureq::Agent::config_builder()
                        .timeout_global(Some(Duration::from_secs(5)))
                        .http_status_as_error(false)
                        .build()
                        .new_agent();
                    while !stop.load(Ordering::Relaxed) {
                        let n = counter.fetch_add(1, Ordering::Relaxed);
                        let body = sums(n);
                        let u = url(n);
                        let target = format!("{base}/add?url={}", pct(&u));
                        let Ok(mut resp) = agent.post(&target).send(&body[..]) else {
                            continue; // the server died mid-request: not acknowledged
                        };
                        if resp.status() != 200 {
                            continue;
                        }
                        let Ok(proof) = resp.body_mut().read_to_vec() else {
                            continue;
                        };
                        // An acknowledgement is a proof that verifies: remember what it promised.
                        let logged = verify::verify_logged_sums(&policy, &u, &body, &proof)
                            .expect("acknowledged proof verifies");
                        acked.lock().unwrap().push((logged.index, n));
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        drop(server); // SIGKILL, and reaped
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }

        // Restart: opening repairs whatever the kill left; then check the files.
        drop(start(&dir)); // it listens only once the log is open and repaired
        let (cp, all) = check_log(&dir, &vkey);
        assert!(
            cp.size >= last_size,
            "round {round}: checkpoint size went down from {last_size} to {}",
            cp.size
        );
        last_size = cp.size;
        let acked = acked.lock().unwrap();
        for &(index, n) in acked.iter() {
            let want = record::build(&url(n), &sums(n)).unwrap();
            assert_eq!(
                all.get(index as usize),
                Some(&want),
                "round {round}: acknowledged record {n} is not at index {index}"
            );
        }
        eprintln!(
            "round {round}: {} acknowledged so far, log size {}",
            acked.len(),
            cp.size
        );
    }
    let acked = acked.lock().unwrap().len();
    assert!(
        acked > 100,
        "the load was too light to test anything ({acked} acknowledgements)"
    );
}

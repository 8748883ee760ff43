//! The start of a large log (`cargo bench --bench log_open`): a log of `RGET_BENCH_RECORDS` records
//! (default 1,000,000, about 500 bytes each) filled in process with `Log::sequence` in batches of
//! 4,096, then opened again `RGET_BENCH_RUNS` times (default 3). Each open rebuilds the tree and
//! the indexes from every entry bundle and checks the durable root, then checks every file under
//! `public/tile/` against that tree before anything is served (`rget::log::published::repair`).
//! The check alone is timed too, on the rebuilt tree, and so is the real `rget log serve` from its
//! start to its `listening on` line.
//!
//! `RGET_BENCH_DIR` (default `target/`) holds the log.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::log::Server;
use rget::core::digest::sha256;
use rget::core::merkle::{self, MemoryTree};
use rget::core::record;
use rget::core::tile::{self, Tile, TileError, TileReader};
use rget::log::dir::{self, LogDir};
use rget::log::published;
use rget::log::sequencer::Log;
use std::time::Instant;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn record(i: u64) -> Vec<u8> {
    let sums: String = (0..4u8)
        .map(|k| {
            format!(
                "{}  project-{i}-{k}.tar.gz\n",
                sha256(&[(i % 251) as u8, (i / 251 % 251) as u8, k])
            )
        })
        .collect();
    record::build(
        &format!("https://releases.example/p{}/v{i}/SHA256SUMS", i % 100),
        sums.as_bytes(),
    )
    .unwrap()
}

struct Files<'a>(&'a LogDir);
impl TileReader for Files<'_> {
    fn read_tile(&mut self, t: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(self.0.tile(t)).map_err(|_| TileError::NotFound { path: t.path() })
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let total = env("RGET_BENCH_RECORDS", 1_000_000);
    let runs = env("RGET_BENCH_RUNS", 3) as usize;
    let base = std::env::var("RGET_BENCH_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    std::fs::create_dir_all(&base).unwrap();
    let tmp = tempfile::tempdir_in(&base).unwrap();
    let logdir = tmp.path().join("log");
    let d = LogDir::new(&logdir);
    dir::init(&d, "bench.example/open", None).unwrap();
    let t = Instant::now();
    let mut log = Log::open(&logdir).unwrap();
    let mut next = 0u64;
    while next < total {
        let batch: Vec<Vec<u8>> = (next..total.min(next + 4096)).map(record).collect();
        next += batch.len() as u64;
        log.sequence(&batch).unwrap();
    }
    drop(log);
    println!(
        "log of {total} records filled in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut opens = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let log = Log::open(&logdir).unwrap();
        opens.push(t.elapsed().as_secs_f64());
        assert_eq!(log.state().size, total);
    }

    // The check alone, on the tree the open rebuilds (here rebuilt the way a client reads it).
    let mut entries = Vec::new();
    let mut tree = MemoryTree::new();
    for t in tile::entry_bundles(0, total) {
        let bundle = tile::read_entry_bundle(&mut Files(&d), &t).unwrap();
        for e in &bundle {
            tree.append(merkle::leaf_hash(e));
        }
        entries = bundle;
    }
    let edge = if total.is_multiple_of(tile::TILE_WIDTH) {
        Vec::new()
    } else {
        entries
    };
    let mut checks = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = published::repair(&d, &tree, total, &edge).unwrap();
        checks.push(t.elapsed().as_secs_f64());
        report = Some(r);
    }
    let report = report.unwrap();
    assert!(report.removed.is_empty() && report.rewritten.is_empty() && report.written.is_empty());

    let mut serves = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let server = Server::start(&logdir, &[]);
        serves.push(t.elapsed().as_secs_f64());
        let _ = server.stop();
    }
    println!(
        "Log::open: median {:.3} s of {opens:.3?}; of which checking all {} tile files: median {:.3} s of {checks:.3?}; rget log serve until listening: median {:.3} s of {serves:.3?}",
        median(opens.clone()),
        report.checked,
        median(checks.clone()),
        median(serves.clone()),
    );
}

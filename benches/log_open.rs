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

use common::log::{Server, fill_large_log};
use common::{bench_tempdir, env_u64, median};
use rget::core::merkle::{self, MemoryTree};
use rget::core::tile::{self, Tile, TileError, TileReader};
use rget::log::dir::{self, LogDir};
use rget::log::published;
use rget::log::sequencer::Log;
use std::time::Instant;

struct Files<'a>(&'a LogDir);
impl TileReader for Files<'_> {
    fn read_tile(&mut self, t: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(self.0.tile(t)).map_err(|_| TileError::NotFound { path: t.path() })
    }
}

fn main() {
    let total = env_u64("RGET_BENCH_RECORDS", 1_000_000);
    let runs = env_u64("RGET_BENCH_RUNS", 3) as usize;
    let tmp = bench_tempdir();
    let logdir = tmp.path().join("log");
    let d = LogDir::new(&logdir);
    dir::init(&d, "bench.example/open", None).unwrap();
    let t = Instant::now();
    fill_large_log(&logdir, total);
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

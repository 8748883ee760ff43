//! The log's sequencer alone, in process (`cargo bench --bench sequencer`): records per second with
//! durable batches (every batch's bundles, tiles, tree state and checkpoint fsynced before the next
//! starts), for several batch sizes. Target: at least 100,000 records/s.
//! The log lives in a temporary directory under `RGET_BENCH_DIR` (default: `target/`), i.e. on the
//! disk that a real log would use, not tmpfs.
//!
//! On ext4 without a journal (this machine's root file system), allocating an inode skips every inode
//! deleted in the last ~30 s, so a run right after a mass deletion (such as the previous run's cleanup)
//! is several times slower. The logs of all runs are therefore deleted only at the end, and the bench
//! waits `RGET_BENCH_SETTLE` seconds (default 35) before starting.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rget::core::digest::sha256;
use rget::core::record;
use rget::log::dir::{self, LogDir};
use rget::log::sequencer::Log;
use std::time::Instant;

fn main() {
    let base = std::env::var("RGET_BENCH_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    let total = 200_000usize;
    // Realistic records: a SHA256SUMS of 4 release files each.
    let records: Vec<Vec<u8>> = (0..total)
        .map(|i| {
            let sums: String = (0..4)
                .map(|k| {
                    format!(
                        "{}  project-{i}-{k}.tar.gz\n",
                        sha256(&[(i % 251) as u8, k])
                    )
                })
                .collect();
            record::build(
                &format!("https://releases.example/p{}/v{i}/SHA256SUMS", i % 100),
                sums.as_bytes(),
            )
            .unwrap()
        })
        .collect();
    let avg = records.iter().map(Vec::len).sum::<usize>() / total;
    println!("{total} records of {avg} bytes on average");
    let settle: u64 = std::env::var("RGET_BENCH_SETTLE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(35);
    std::thread::sleep(std::time::Duration::from_secs(settle));
    let mut keep = Vec::new();
    // Warm-up: the first log a process writes after a quiet period runs up to twice as slow (ext4
    // inode-table and block-group caches are cold); measure the steady state a running log sees.
    {
        let tmp = tempfile::tempdir_in(&base).unwrap();
        dir::init(&LogDir::new(tmp.path()), "warmup.example/log", None).unwrap();
        let mut log = Log::open(tmp.path()).unwrap();
        for chunk in records[..50_000].chunks(256) {
            log.sequence(chunk).unwrap();
        }
        keep.push(tmp);
    }
    for batch in [256usize, 1024, 4096] {
        let tmp = tempfile::tempdir_in(&base).unwrap();
        dir::init(&LogDir::new(tmp.path()), "bench.example/log", None).unwrap();
        let mut log = Log::open(tmp.path()).unwrap();
        let t = Instant::now();
        for chunk in records.chunks(batch) {
            log.sequence(chunk).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(log.state().size, total as u64);
        println!(
            "batch size {batch:>5}: {:>9.0} records/s ({:.2} ms per durable batch)",
            total as f64 / secs,
            secs * 1e3 / total.div_ceil(batch) as f64
        );
        keep.push(tmp);
    }
    // Reopening rebuilds the tree and the indexes from the entry bundles (and checks them against the
    // durable root): the start-up cost of a log of this size.
    let last = keep.last().unwrap().path().to_path_buf();
    let t = Instant::now();
    let log = Log::open(&last).unwrap();
    assert_eq!(log.state().size, total as u64);
    println!(
        "reopening a log of {total} records: {:.2} s",
        t.elapsed().as_secs_f64()
    );
}

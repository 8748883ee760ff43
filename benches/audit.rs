//! `rget audit` of a large log (`cargo bench --bench audit`): a log of `RGET_BENCH_RECORDS` records
//! (default 1,000,000, about 500 bytes each, a `SHA256SUMS` of 4 files) filled in process with
//! `Log::sequence` in batches of 4,096, then served by the real `rget log serve` process on
//! 127.0.0.1 (plain http, its defaults), and audited by the real `rget audit` process with a fresh
//! state directory: every entry bundle is downloaded, every entry hashed into the tree and checked
//! against the signed root, every record parsed. One record in 100 is under the audited prefix.
//! Then a second run on the same state, with nothing new. Target: at least 500,000 records verified
//! per second on the first run.
//!
//! `RGET_BENCH_DIR` (default `target/`) holds the log; `RGET_BENCH_RUNS` (default 3) runs of each.
//! Peak RSS of each run comes from `/usr/bin/time -f %M`. `RGET_BENCH_PROFILE=FILE` adds one more
//! first audit under `perf record -g` (FILE is its `perf.data`).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The tests' shared helpers (the serving `rget log serve` process); this bench uses a few of them.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::log::{Server, fill_large_log};
use common::{bench_tempdir, env_u64, median};
use rget::log::dir::{self, LogDir};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const PREFIX: &str = "https://releases.example/p7/";

/// One `rget audit` run under `/usr/bin/time`: (seconds, peak RSS in KiB, stdout).
fn audit(policy: &Path, state: &Path) -> (f64, u64, String) {
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(common::RGET)
        .args(["audit", "--prefix", PREFIX, "--allow-http", "--policy"])
        .arg(policy)
        .arg("--state")
        .arg(state)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rget audit failed: {stderr}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rss = stderr.trim().lines().last().unwrap().parse().unwrap();
    (secs, rss, String::from_utf8(out.stdout).unwrap())
}

fn main() {
    let total = env_u64("RGET_BENCH_RECORDS", 1_000_000);
    let runs = env_u64("RGET_BENCH_RUNS", 3) as usize;
    let tmp = bench_tempdir();
    let logdir = tmp.path().join("log");
    let vkey = dir::init(&LogDir::new(&logdir), "bench.example/audit", None).unwrap();

    let t = Instant::now();
    let bytes = fill_large_log(&logdir, total);
    println!(
        "log of {total} records of {} bytes on average filled in {:.1} s",
        bytes as u64 / total,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let server = Server::start(&logdir, &[]);
    let base_url = server.base.clone();
    println!(
        "rget log serve listening on {base_url} after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let policy = tmp.path().join("policy");
    std::fs::write(&policy, format!("log {vkey} {base_url}/\nquorum none\n")).unwrap();

    let under = (0..total).filter(|i| i % 100 == 7).count();
    let (mut first, mut second, mut rss1, mut rss2) = (vec![], vec![], 0, 0);
    for run in 0..runs {
        let state = tmp.path().join(format!("state-{run}"));
        let (secs, rss, out) = audit(&policy, &state);
        if run == 0 {
            let lines: Vec<&str> = out.lines().collect();
            println!(
                "first run's report: {} / {} lines of new records / {}",
                lines[0],
                lines.len() - 2,
                lines[lines.len() - 1]
            );
        }
        let listed = out.lines().filter(|l| l.starts_with("  new ")).count();
        assert_eq!(listed, under, "records reported under {PREFIX}");
        first.push(secs);
        rss1 = rss1.max(rss);
        let (secs, rss, _) = audit(&policy, &state);
        second.push(secs);
        rss2 = rss2.max(rss);
    }
    // `RGET_BENCH_PROFILE=FILE`: one more first audit under `perf record -g`, written to FILE.
    if let Ok(file) = std::env::var("RGET_BENCH_PROFILE") {
        let state = tmp.path().join("state-profile");
        let st = Command::new("perf")
            .args([
                "record",
                "-g",
                "--call-graph",
                "dwarf",
                "-F",
                "999",
                "-o",
                &file,
                "--",
            ])
            .arg(common::RGET)
            .args(["audit", "--prefix", PREFIX, "--allow-http", "--policy"])
            .arg(&policy)
            .arg("--state")
            .arg(&state)
            .env("XDG_CONFIG_HOME", state.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "perf record failed");
    }
    let _ = server.stop();

    let f = median(first.clone());
    println!(
        "first audit (all {total} records, {under} under {PREFIX}): median {f:.3} s of {first:.3?} = {:.0} records/s, {:.0} MB/s of entries; peak RSS {} KiB",
        total as f64 / f,
        bytes as f64 / f / 1e6,
        rss1
    );
    println!(
        "second audit (nothing new): median {:.3} s of {second:.3?}; peak RSS {rss2} KiB",
        median(second.clone())
    );
}

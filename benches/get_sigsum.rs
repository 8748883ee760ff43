//! `rget get` proved by a Sigsum proof against `rget get` proved by a tlog-proof, for the same file
//! (`cargo bench --bench get_sigsum`).
//!
//! Two worlds, each with real parts from the tests' helpers: an rget log (`rget log serve`) with the
//! release signed by a minisign key (`SHA256SUMS`, `.minisig`, `.tlog-proof`), and a Sigsum log
//! (`rget log init --sigsum`, `rget log serve`) with the same files released by
//! `rget release --sigsum-…` (`SHA256SUMS`, `.proof`), both with policy quorum `none`, both over
//! HTTPS on loopback from the tests' file server, the logs on plain http (`--allow-http`). Each
//! client run is a real `rget get URL -o FILE` with the publisher key (`--key`: the minisign key, or
//! the ssh-ed25519 key) and a state directory that already remembers the log (the usual case), so
//! each run checks: the listing, the proof (leaf and log signatures, inclusion) and the memory, and
//! for the tlog path the minisign signature (one more request).
//!
//! The two are timed in interleaved rounds (the order alternating) so that both see the same load,
//! per file: `small.bin` (1 KiB: the verification is the cost) and `big.bin` (16 MiB: the download
//! is). `RGET_BENCH_ROUNDS` (default 21).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::assert_ok;
use common::release::{World, data};
use common::sigsum_log::SigsumWorld;
use std::path::Path;
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("RGET_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(21);
    let files = [
        ("small-1.0.bin", data(1024, 1)),
        ("big-1.0.bin", data(16 << 20, 2)),
    ];
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (*n, b.clone())).collect();

    let tlog = World::new();
    tlog.publish("/bench/v1.0", &refs, true);
    let sigsum = SigsumWorld::new(0);
    sigsum.release("/bench/v1.0", &refs, &[]);

    let out_dir = tlog.dir("bench-out");
    let tlog_state = tlog.dir("bench-state");
    let sigsum_state = sigsum.dir("bench-state");
    let run_tlog = |name: &str, out: &Path| {
        let url = tlog.url(&format!("/bench/v1.0/{name}"));
        let o = tlog
            .client(
                &tlog_state,
                &["get", &url, "-o", out.to_str().expect("UTF-8")],
            )
            .run();
        assert_ok(&o);
    };
    let run_sigsum = |name: &str, out: &Path| {
        let url = sigsum.url(&format!("/bench/v1.0/{name}"));
        assert_ok(&sigsum.get(&url, out, &sigsum_state));
    };
    for (name, bytes) in &files {
        let out = out_dir.join(name);
        // Warm up: the states remember the logs, the page cache holds the files.
        for _ in 0..2 {
            run_tlog(name, &out);
            std::fs::remove_file(&out).expect("rm");
            run_sigsum(name, &out);
            assert_eq!(&std::fs::read(&out).expect("saved"), bytes);
            std::fs::remove_file(&out).expect("rm");
        }
        let (mut t, mut s, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let time = |f: &dyn Fn(&str, &Path)| {
                let start = Instant::now();
                f(name, &out);
                let secs = start.elapsed().as_secs_f64();
                std::fs::remove_file(&out).expect("rm");
                secs
            };
            let (a, b) = if round % 2 == 0 {
                let a = time(&run_sigsum);
                (a, time(&run_tlog))
            } else {
                let b = time(&run_tlog);
                (time(&run_sigsum), b)
            };
            s.push(a * 1e3);
            t.push(b * 1e3);
            ratios.push(a / b);
        }
        let (lo, hi) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!(
            "{name} ({} bytes), {rounds} interleaved rounds, medians per rget get:",
            bytes.len()
        );
        println!(
            "  with SHA256SUMS.tlog-proof (+ .minisig)   {:8.1} ms",
            median(&mut t)
        );
        println!(
            "  with SHA256SUMS.proof (Sigsum)            {:8.1} ms",
            median(&mut s)
        );
        println!(
            "  ratio Sigsum / tlog-proof per round: median {:.3}, min {lo:.3}, max {hi:.3}",
            median(&mut ratios)
        );
    }
}

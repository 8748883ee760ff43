//! Witnessing costs (`cargo bench --bench witness`), with real processes on loopback:
//! 1. `POST /add-checkpoint` requests per second to one `rget witness serve`, each a new checkpoint
//!    with a consistency proof from the previous one (log signature check, proof check, durable state
//!    write, cosignature), from 1 and from 4 logs at once;
//! 2. the latency witnessing adds to a submission: `rget log serve` with no witnesses against the same
//!    log setup with three witnesses and a 2-of-3 policy, sequential submissions (batch delay 1 ms), p50
//!    and p99 of the answer time;
//! 3. the witness network's log lists: parsing the largest real list (the staging list of the 100 qps
//!    / 40,000 logs profile), and a list of 40,000 logs, the most that profile asks a witness to hold:
//!    its parse, and `rget witness serve --log-list` with it (start-up until it listens, and the
//!    process's peak resident memory against the same witness with one log).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The tests' shared helpers (serving `rget` processes, the HTTP client); this bench uses a few.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::log::{Server, agent, init_log, init_witness};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::log_list;
use rget::core::merkle::{self, MemoryTree};
use rget::core::note::{self, SignerKey};
use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

fn witness(dir: &Path, name: &str, policy: &Path) -> (String, Server) {
    let d = dir.to_str().unwrap();
    let vkey = init_witness(dir, name);
    let args = ["witness", "serve", d, "--listen", "127.0.0.1:0", "--policy"];
    let mut all: Vec<&OsStr> = args.map(OsStr::new).to_vec();
    all.push(policy.as_os_str());
    (vkey, Server::spawn(&all))
}

/// Drives `n` checkpoints of one log through a witness, each extending the tree by 1..=64 leaves.
fn drive(base: &str, key: &SignerKey, n: usize) -> Duration {
    let a = agent();
    let mut tree = MemoryTree::new();
    let mut held = 0u64;
    let t = Instant::now();
    for i in 0..n {
        for k in 0..(1 + i % 64) {
            tree.append(merkle::leaf_hash(format!("{i}/{k}").as_bytes()));
        }
        let size = tree.size();
        let cp = Checkpoint {
            origin: key.name().into(),
            size,
            root: tree.root(),
            extensions: vec![],
        };
        let note = note::sign(&cp.format(), &[key]).unwrap();
        let proof = if held == 0 {
            vec![]
        } else {
            merkle::consistency_proof(held, size, &mut tree.clone()).unwrap()
        };
        let mut body = format!("old {held}\n").into_bytes();
        for h in &proof {
            body.extend_from_slice(format!("{}\n", h.to_base64()).as_bytes());
        }
        body.push(b'\n');
        body.extend_from_slice(&note);
        let mut resp = a
            .post(&format!("{base}/add-checkpoint"))
            .send(&body[..])
            .unwrap();
        let mut out = Vec::new();
        resp.body_mut().as_reader().read_to_end(&mut out).unwrap();
        assert_eq!(resp.status(), 200, "{}", String::from_utf8_lossy(&out));
        held = size;
    }
    t.elapsed()
}

fn latencies(base: &str, n: u64, tag: &str) -> (Duration, Duration) {
    let a = agent();
    let mut lat = Vec::new();
    for i in 0..n {
        let sums = format!("{}  f-{tag}-{i}\n", sha256(&i.to_be_bytes()));
        let url = format!("https%3A%2F%2Fr.example%2F{tag}{i}%2FSHA256SUMS");
        let t = Instant::now();
        let resp = a
            .post(&format!("{base}/add?url={url}"))
            .send(sums.as_bytes())
            .unwrap();
        assert_eq!(resp.status(), 200);
        lat.push(t.elapsed());
    }
    lat.sort();
    (lat[lat.len() / 2], lat[lat.len() * 99 / 100])
}

/// The peak resident memory of process `pid` (VmHWM, kB).
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The median of `n` timings of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[n / 2]
}

fn lists(t: &Path) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/witness-network/staging-log-list-100qps-40klogs.1");
    let bytes = std::fs::read(&real).unwrap();
    let logs = log_list::parse(&bytes).unwrap().logs.len();
    let d = median(1001, || {
        std::hint::black_box(log_list::parse(std::hint::black_box(&bytes)).unwrap());
    });
    println!(
        "log list, largest real one ({} bytes, {logs} logs): parse {:.1} µs",
        bytes.len(),
        d.as_secs_f64() * 1e6
    );
    // 40,000 logs, written as the real lists are.
    let mut text = String::from("# 40,000 logs\nlogs/v0\n");
    for i in 0..40_000 {
        let k = SignerKey::generate(&format!("log{i}.bench.example/tlog")).unwrap();
        text.push_str(&format!(
            "\nvkey {}\nqpd 86400\ncontact ops{i}@bench.example | https://bench.example/log{i}\n",
            k.verifier_key()
        ));
    }
    let d = median(11, || {
        std::hint::black_box(log_list::parse(text.as_bytes()).unwrap());
    });
    println!(
        "log list of 40,000 logs ({:.1} MB): parse {:.0} ms",
        text.len() as f64 / 1e6,
        d.as_secs_f64() * 1e3
    );
    let big = t.join("list-40k");
    std::fs::write(&big, &text).unwrap();
    let one = t.join("list-1");
    let first_log: String = text.split("\n\n").nth(1).unwrap().to_owned();
    std::fs::write(&one, format!("logs/v0\n{first_log}\n")).unwrap();
    let mut rss = Vec::new();
    for (name, list) in [
        ("1 log", &one),
        ("the largest real list", &real),
        ("40,000 logs", &big),
    ] {
        let dir = t.join(format!("wlist-{}", rss.len()));
        let d = dir.to_str().unwrap();
        init_witness(&dir, "bench.example/lists");
        let args = [
            "witness",
            "serve",
            d,
            "--listen",
            "127.0.0.1:0",
            "--log-list",
        ];
        let mut all: Vec<&OsStr> = args.map(OsStr::new).to_vec();
        all.push(list.as_os_str());
        let started = Instant::now();
        let w = Server::spawn(&all);
        let up = started.elapsed();
        let kb = peak_rss_kb(w.pid());
        println!(
            "rget witness serve --log-list with {name}: listening after {:.0} ms, peak RSS {:.1} MB",
            up.as_secs_f64() * 1e3,
            kb as f64 / 1024.0
        );
        rss.push(kb);
        // A restart reads DIR/discovered-logs too: the same logs, configured already.
        drop(w);
        let started = Instant::now();
        let w = Server::spawn(&all);
        println!(
            "  restarted (discovered-logs and the list read again): listening after {:.0} ms, peak RSS {:.1} MB",
            started.elapsed().as_secs_f64() * 1e3,
            peak_rss_kb(w.pid()) as f64 / 1024.0
        );
    }
    println!(
        "  memory for 40,000 logs: {:.1} MB ({:.0} bytes a log)",
        (rss[2] - rss[0]) as f64 / 1024.0,
        (rss[2] - rss[0]) as f64 * 1024.0 / 40_000.0
    );
}

fn main() {
    let tmp = tempfile::tempdir_in(concat!(env!("CARGO_MANIFEST_DIR"), "/target")).unwrap();
    let t = tmp.path();
    if std::env::args().any(|a| a == "lists") {
        lists(t);
        return;
    }

    // 1. add-checkpoint throughput.
    let keys: Vec<SignerKey> = (0..4)
        .map(|i| SignerKey::generate(&format!("bench{i}.example/log")).unwrap())
        .collect();
    let policy = t.join("wpolicy");
    let mut p = String::new();
    for k in &keys {
        p.push_str(&format!("log {}\n", k.verifier_key()));
    }
    p.push_str("quorum none\n");
    std::fs::write(&policy, p).unwrap();
    let (_, w) = witness(&t.join("wbench"), "bench.example/witness", &policy);
    let n = 2000;
    let one = drive(&w.base, &keys[0], n);
    println!(
        "add-checkpoint, 1 log: {:.0} requests/s ({:.2} ms each)",
        n as f64 / one.as_secs_f64(),
        one.as_secs_f64() * 1e3 / n as f64
    );
    let t4 = Instant::now();
    std::thread::scope(|s| {
        for k in &keys[1..4] {
            let base = w.base.clone();
            s.spawn(move || drive(&base, k, n));
        }
    });
    let e = t4.elapsed();
    println!(
        "add-checkpoint, 3 logs at once: {:.0} requests/s",
        (3 * n) as f64 / e.as_secs_f64()
    );
    drop(w);

    // 2. Latency a submission pays for witnessing.
    let (plain_dir, _) = init_log(&t.join("plain"), "plain.example/log");
    let plain = Server::start(&plain_dir, &["--batch-delay", "1"]);
    let (p50, p99) = latencies(&plain.base, 400, "p");
    println!(
        "submission latency without witnesses: p50 {:.2} ms, p99 {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    drop(plain);

    let (wit_dir, log_vkey) = init_log(&t.join("witnessed"), "witnessed.example/log");
    let wp = t.join("wpolicy2");
    std::fs::write(&wp, format!("log {log_vkey}\nquorum none\n")).unwrap();
    let mut file = String::new();
    let mut procs = Vec::new();
    for i in 0..3 {
        let (vk, p) = witness(&t.join(format!("w{i}")), &format!("w{i}.example/w"), &wp);
        file.push_str(&format!("witness w{i} {vk} {}/\n", p.base));
        procs.push(p);
    }
    file.push_str("group two 2 w0 w1 w2\nquorum two\n");
    std::fs::write(t.join("witnesses"), file).unwrap();
    let witnesses = t.join("witnesses");
    let wl = Server::start(
        &wit_dir,
        &[
            "--batch-delay",
            "1",
            "--witnesses",
            witnesses.to_str().unwrap(),
        ],
    );
    let (q50, q99) = latencies(&wl.base, 400, "w");
    println!(
        "submission latency with 3 witnesses (2-of-3): p50 {:.2} ms, p99 {:.2} ms (+{:.2} ms at p50)",
        q50.as_secs_f64() * 1e3,
        q99.as_secs_f64() * 1e3,
        (q50.as_secs_f64() - p50.as_secs_f64()) * 1e3
    );
    drop(wl);
    drop(procs);

    // 3. Log lists.
    lists(t);
}

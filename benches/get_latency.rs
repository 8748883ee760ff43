//! `rget get` against `curl` over a link with real latency (`cargo bench --bench get_latency`).
//!
//! Sets up, in this process and its children:
//! - the HTTPS file server of `get_https` (`support/file_server.rs`) and a real log (`rget log
//!   init` + `rget log serve` on plain http, so the clients run with `--allow-http` for the log),
//!   policy `log <vkey> http://PROXY/` + `quorum none`, no publisher key (unsigned);
//! - in front of each, a latency-injecting TCP proxy on 127.0.0.1 (here, `Proxy`): every byte is
//!   passed on `RGET_BENCH_DELAY_MS` (default 50) after it arrived, in each direction, so a round
//!   trip takes twice that (100 ms) more than on loopback; bandwidth is not limited. The TCP
//!   handshake with the proxy itself is local, so a connection's first bytes wait one round trip
//!   more, as they would behind a real handshake. Clients reach
//!   both servers only through the proxies, and `curl` goes through the same one as rget;
//! - release directories, each with its `SHA256SUMS` recorded by `rget submit` (through the
//!   proxy's URL: that is the URL clients fetch) and its `SHA256SUMS.tlog-proof`: `/one/` with one
//!   10 MiB file, `/a/` and `/b/` with ten 5 MiB files each (recorded one after the other, so their
//!   proofs are under different checkpoints, as two releases' are).
//!
//! Then `RGET_BENCH_ROUNDS` (default 5) interleaved rounds, after one warm-up round, of:
//! - `curl -o FILE` and `rget get -o FILE` of the 10 MiB file (target: rget at most one round trip
//!   more than curl);
//! - `curl -Z --parallel-max 4 --remote-name-all --output-dir DIR` and `rget get -P 4 --output-dir
//!   DIR` of the twenty 5 MiB files (target: rget at most 1.1 times curl, which verifies nothing).
//!
//! Each rget scenario keeps its own checkpoint memory across rounds, as a build host does.
//! `RGET_BENCH_BASELINE=PATH` adds that rget binary's `get -o FILE` of the 10 MiB file (an older
//! build, one file at a time). Finally the peak RSS (`/usr/bin/time -f %M`) of `rget get -P 4` of
//! the twenty files, and, unless `RGET_BENCH_BIG=0`, of
//! `rget get -P 4` of four 1 GiB files (the `get_https` file, `BENCH_FILE`, under four names).
//! Output files go to `RGET_BENCH_OUT` (default `target/`).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

// The HTTPS file server the `get_*` benchmarks share.
#[path = "support/file_server.rs"]
mod file_server;

use common::assert_ok;
use common::env_u64;
use common::https::TestCa;
use common::log::{Server, init_log};
use rget::core::digest::sha256_reader;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// A TCP proxy on 127.0.0.1 to `upstream` that holds every chunk of bytes for `delay` before
/// passing it on, in each direction: a fixed one-way latency, without limiting bandwidth.
fn proxy(upstream: SocketAddr, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            for s in [&client, &server] {
                s.set_nodelay(true).unwrap();
            }
            let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            // The TCP handshake with this proxy was local: the client's first bytes wait the round
            // trip it would have taken on the real link.
            pump(client, server, delay, 2 * delay);
            pump(s2, c2, delay, Duration::ZERO);
        }
    });
    addr
}

/// Passes what `from` sends on to `to`, each chunk `delay` after it was read (the first one `first`
/// later still); an end of stream is passed on (as a shutdown of writing) with the same delay.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration, first: Duration) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 256 * 1024];
        let mut extra = first;
        loop {
            let n = from.read(&mut buf).unwrap_or(0);
            let due = Instant::now() + delay + std::mem::take(&mut extra);
            if tx.send((due, buf[..n].to_vec())).is_err() || n == 0 {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, bytes) in rx {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if bytes.is_empty() || to.write_all(&bytes).is_err() {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
        }
    });
}

fn main() {
    let rget_bin = std::env::var("RGET_BENCH_RGET").unwrap_or(common::RGET.into());
    let rounds = env_u64("RGET_BENCH_ROUNDS", 5).max(1);
    let delay = Duration::from_millis(env_u64("RGET_BENCH_DELAY_MS", 50));
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/target");
    std::fs::create_dir_all(base).unwrap();
    let tmp = tempfile::tempdir_in(base).unwrap();
    let root = tmp.path();
    let out_dir =
        tempfile::tempdir_in(std::env::var("RGET_BENCH_OUT").unwrap_or(base.into())).unwrap();
    let out = out_dir.path();
    let config_home = root.join("config"); // empty: no publisher keys file, so unsigned
    std::fs::create_dir_all(&config_home).unwrap();
    let s = |p: &Path| p.display().to_string();

    // The release directories: /one/ (10 MiB), /a/ and /b/ (ten 5 MiB files each), and /big/ (the
    // 1 GiB file under four names, for the peak RSS of -P 4).
    let mut dirs: Vec<(&str, Vec<(String, PathBuf)>)> = Vec::new();
    let one = root.join("ten.bin");
    common::random_file(&one, 10 * MIB);
    dirs.push(("one", vec![("ten.bin".into(), one)]));
    for (d, first) in [("a", 1), ("b", 11)] {
        let files = (first..first + 10)
            .map(|i| {
                let name = format!("f{i:02}.bin");
                let p = root.join(&name);
                common::random_file(&p, 5 * MIB);
                (name, p)
            })
            .collect();
        dirs.push((d, files));
    }
    let big_rss = env_u64("RGET_BENCH_BIG", 1) != 0;
    if big_rss {
        let big = PathBuf::from(
            std::env::var("BENCH_FILE")
                .unwrap_or_else(|_| s(&std::env::temp_dir().join("rget-bench-1GiB"))),
        );
        if std::fs::metadata(&big).map(|m| m.len()).ok() != Some(GIB) {
            common::random_file(&big, GIB);
        }
        let four = (1..=4)
            .map(|i| (format!("g{i}.bin"), big.clone()))
            .collect();
        dirs.push(("big", four));
    }
    let mut routes: HashMap<String, PathBuf> = HashMap::new();
    for (d, files) in &dirs {
        let dir = root.join(format!("rel-{d}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut sums = String::new();
        for (name, path) in files {
            let (digest, _) = sha256_reader(std::fs::File::open(path).unwrap()).unwrap();
            sums.push_str(&format!("{digest}  {name}\n"));
            routes.insert(format!("/{d}/{name}"), path.clone());
        }
        std::fs::write(dir.join("SHA256SUMS"), sums).unwrap();
        for n in ["SHA256SUMS", "SHA256SUMS.tlog-proof"] {
            routes.insert(format!("/{d}/{n}"), dir.join(n));
        }
    }

    let test_ca = TestCa::new();
    let ca = s(&test_ca.pem_path());
    let direct = file_server::serve(routes, test_ca.server_config());
    let far = proxy(direct, delay);
    let (logdir, vkey) = init_log(root, "bench.example/latency");
    let log = Server::start(&logdir, &["--batch-delay", "10"]);
    let log_addr: SocketAddr = log
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let log_far = proxy(log_addr, delay);
    let policy = root.join("policy");
    std::fs::write(
        &policy,
        format!("log {vkey} http://{log_far}/\nquorum none\n"),
    )
    .unwrap();
    let policy = s(&policy);

    // Each SHA256SUMS recorded under the URL the clients fetch it from (through the proxy), one
    // after the other, straight to the log.
    for (d, _) in &dirs {
        let o = Command::new(&rget_bin)
            .args(["submit", &format!("https://{far}/{d}/SHA256SUMS"), "--file"])
            .arg(root.join(format!("rel-{d}/SHA256SUMS")))
            .args(["--log", &format!("{}/", log.base), "--allow-http"])
            .args(["--policy", &policy, "--state"])
            .arg(root.join("publisher-state"))
            .env("XDG_CONFIG_HOME", &config_home)
            .output()
            .unwrap();
        assert_ok(&o);
    }

    let url = |host: SocketAddr, d: &str, name: &str| format!("https://{host}/{d}/{name}");
    let twenty: Vec<String> = dirs
        .iter()
        .filter(|(d, _)| *d == "a" || *d == "b")
        .flat_map(|(d, files)| files.iter().map(move |(n, _)| (d, n)))
        .map(|(d, n)| url(far, d, n))
        .collect();
    let rget = |bin: &str, state: &str, args: &[String]| -> Vec<String> {
        let mut v: Vec<String> = vec![bin.into(), "get".into()];
        v.extend_from_slice(args);
        v.extend(
            [
                "--policy",
                &policy,
                "--state",
                state,
                "--cacert",
                &ca,
                "--allow-http",
            ]
            .map(String::from),
        );
        v
    };
    let state = |n: &str| s(&root.join(format!("state-{n}")));
    let (one_out, c20, r20) = (out.join("one.bin"), out.join("c20"), out.join("r20"));
    let one_url = url(far, "one", "ten.bin");
    let sh = |v: Vec<String>| v.join(" ");
    let mut commands: Vec<(&str, String)> = vec![
        (
            "curl -o (10 MiB)",
            format!("curl -sS --fail --cacert {ca} -o {} {one_url}", s(&one_out)),
        ),
        (
            "rget get -o (10 MiB)",
            sh(rget(
                &rget_bin,
                &state("one"),
                &[one_url.clone(), "-o".into(), s(&one_out)],
            )),
        ),
        (
            "curl -Z -P4 (20x5 MiB)",
            format!(
                "mkdir -p {d} && curl -sS --fail --cacert {ca} -Z --parallel-max 4 --remote-name-all --output-dir {d} {}",
                twenty.join(" "),
                d = s(&c20)
            ),
        ),
        (
            "rget get -P 4 (20x5 MiB)",
            format!(
                "mkdir -p {d} && {}",
                sh(rget(
                    &rget_bin,
                    &state("twenty"),
                    &[
                        vec!["-P".into(), "4".into(), "--output-dir".into(), s(&r20)],
                        twenty.clone()
                    ]
                    .concat()
                )),
                d = s(&r20)
            ),
        ),
    ];
    if let Ok(bin) = std::env::var("RGET_BENCH_BASELINE") {
        commands.push((
            "baseline get -o (10 MiB)",
            sh(rget(
                &bin,
                &state("baseline"),
                &[one_url.clone(), "-o".into(), s(&one_out)],
            )),
        ));
    }

    // Interleaved rounds (the first a warm-up, which also gives each memory its first checkpoint).
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
    for round in 0..=rounds {
        for (i, (name, cmd)) in commands.iter().enumerate() {
            let _ = std::fs::remove_file(&one_out);
            let _ = std::fs::remove_dir_all(&c20);
            let _ = std::fs::remove_dir_all(&r20);
            let t = Instant::now();
            let o = Command::new("sh")
                .args(["-c", cmd])
                .env("XDG_CONFIG_HOME", &config_home)
                .stdout(Stdio::null())
                .output()
                .unwrap();
            let took = t.elapsed().as_secs_f64();
            assert!(
                o.status.success(),
                "{name} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            if name.starts_with("rget get -P") {
                // Every file of the run is there, whole (rget checked each digest).
                assert_eq!(std::fs::read_dir(&r20).unwrap().count(), 20);
            }
            if round > 0 {
                times[i].push(took);
            }
        }
    }
    let rtt = 2.0 * delay.as_secs_f64();
    println!(
        "\n{rounds} interleaved rounds through a proxy adding {} ms each way (RTT +{:.0} ms): medians, per-round min-max",
        delay.as_millis(),
        rtt * 1e3
    );
    for (i, (name, _)) in commands.iter().enumerate() {
        let (lo, hi) = times[i]
            .iter()
            .fold((f64::MAX, 0f64), |(l, h), &t| (l.min(t), h.max(t)));
        println!(
            "{name:>26}: {:.3} s ({lo:.3}-{hi:.3})",
            common::median(times[i].clone())
        );
    }
    let per_round = |a: usize, b: usize, f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        times[a]
            .iter()
            .zip(&times[b])
            .map(|(x, y)| f(*x, *y))
            .collect()
    };
    let extra = per_round(1, 0, &|r, c| (r - c) / rtt);
    let ratio = per_round(3, 2, &|r, c| r / c);
    let range = |v: &[f64]| {
        v.iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &x| (l.min(x), h.max(x)))
    };
    let (el, eh) = range(&extra);
    let (rl, rh) = range(&ratio);
    println!(
        "one 10 MiB file: rget takes {:.2} RTT more than curl (per round {el:.2}-{eh:.2}); target <= 1",
        common::median(extra)
    );
    println!(
        "twenty 5 MiB files: rget -P 4 / curl -Z = {:.2} (per round {rl:.2}-{rh:.2}); target <= 1.10",
        common::median(ratio)
    );

    // Peak RSS of -P 4 (through the proxy too: the records are of its URLs).
    std::fs::create_dir_all(&r20).unwrap();
    let env = ("XDG_CONFIG_HOME", config_home.as_path());
    let rss = common::peak_rss(
        &rget(
            &rget_bin,
            &state("twenty"),
            &[
                vec!["-P".into(), "4".into(), "--output-dir".into(), s(&r20)],
                twenty.clone(),
            ]
            .concat(),
        ),
        &[env],
    );
    println!("peak RSS of rget get -P 4, twenty 5 MiB files: {rss} KiB; target < 64 MiB");
    let _ = std::fs::remove_dir_all(&r20);
    if big_rss {
        let big_dir = out.join("big");
        std::fs::create_dir_all(&big_dir).unwrap();
        let four: Vec<String> = (1..=4)
            .map(|i| url(far, "big", &format!("g{i}.bin")))
            .collect();
        let rss = common::peak_rss(
            &rget(
                &rget_bin,
                &state("big"),
                &[
                    vec!["-P".into(), "4".into(), "--output-dir".into(), s(&big_dir)],
                    four,
                ]
                .concat(),
            ),
            &[env],
        );
        println!("peak RSS of rget get -P 4, four 1 GiB files: {rss} KiB; target < 64 MiB");
        let _ = std::fs::remove_dir_all(&big_dir);
    }
    let _ = log.stop();
}

//! `rget get` over HTTPS on loopback against `curl` (`cargo bench --bench get_https`).
//!
//! Sets up, in this process and its children:
//! - an HTTPS file server on 127.0.0.1 in threads of this process: rustls (ring) with a certificate
//!   from the tests' CA (`TestCa`, made with rcgen), HTTP/1.1 with keep-alive, each file streamed
//!   from the page cache in 256 KiB reads with `Content-Length`. The same server and the same bytes
//!   for every client;
//! - a real transparency log (`rget log init`, `rget log serve` of this build on plain http on
//!   127.0.0.1, so the clients run with `--allow-http` for the log), policy
//!   `log <vkey> http://127.0.0.1:PORT/` + `quorum none`, and `SHA256SUMS` (listing the test files)
//!   recorded in it by `rget submit`, which writes the `SHA256SUMS.tlog-proof` served next to the
//!   files;
//! - the files: `big.bin` = `BENCH_FILE` (default `$TMPDIR/rget-bench-1GiB`, 1 GiB of random bytes,
//!   shared with `bench/sha256.sh`), `small.bin` (1 KiB) and, unless `RGET_BENCH_HUGE=0`, `huge.bin`
//!   (4 GiB, sparse but for 1 MiB of random bytes at each end).
//!
//! Then one hyperfine run (`RGET_BENCH_RUNS`, default 5, after 1 warm-up) of, on `big.bin`:
//! `curl -o /dev/null` (the server's ceiling), `curl -o FILE`, `curl -o FILE && sha256sum FILE`,
//! `curl -o FILE && sync FILE` (curl made as durable as rget, which fsyncs before its rename), and
//! `rget get -o FILE`; every output file is removed before each run. Files are written to
//! `RGET_BENCH_OUT` (default `target/`, i.e. the disk; `/dev/shm` shows the cost without the disk).
//! Finally the peak RSS (`/usr/bin/time -f %M`) of `rget get` for each file size, and of curl.
//! `RGET_BENCH_RGET=PATH` measures that rget binary instead of this build's;
//! `RGET_BENCH_BASELINE=PATH` measures that one as well, as one more command.
//! `RGET_BENCH_ROUNDS=N` first runs N interleaved rounds of the same commands (each once per round)
//! and reports per-round ratios to `curl`: steadier than hyperfine's one command after the other
//! when other work shares the machine. `RGET_BENCH_RUNS=0` skips hyperfine.
//! `RGET_BENCH_PROFILE=FILE` adds one more `rget get` under `perf record -g` (FILE is its perf.data).
//! Targets: `rget get` at most 1.1 times `curl` alone; peak RSS under 16 MiB for any file size.

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The tests' shared helpers (the test CA, the serving `rget log serve` process, output checks);
// this bench uses a few of them.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::env_u64;

// The HTTPS file server the `get_*` benchmarks share.
#[path = "support/file_server.rs"]
mod file_server;
use file_server::serve;

use common::assert_ok;
use common::https::TestCa;
use common::log::{Server, init_log};
use rget::core::digest::sha256_reader;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const GIB: u64 = 1 << 30;

/// 4 GiB, all holes but 1 MiB of random bytes at each end.
fn huge_file(path: &Path) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::create(path).unwrap();
    let mut r = vec![0u8; 1 << 20];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut r)
        .unwrap();
    f.write_all_at(&r, 0).unwrap();
    f.write_all_at(&r, 4 * GIB - r.len() as u64).unwrap();
}

fn main() {
    // `RGET_BENCH_RGET=PATH`: measure another build of rget (e.g. a candidate change) in its place.
    let rget_bin = std::env::var("RGET_BENCH_RGET").unwrap_or(common::RGET.into());
    let rget_bin: &str = &rget_bin;
    let runs = env_u64("RGET_BENCH_RUNS", 5);
    let huge = env_u64("RGET_BENCH_HUGE", 1) != 0;
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/target");
    let tmp = tempfile::tempdir_in(base).unwrap();
    let root = tmp.path();
    let out_dir =
        tempfile::tempdir_in(std::env::var("RGET_BENCH_OUT").unwrap_or(base.into())).unwrap();
    let out = out_dir.path();
    let config_home = root.join("config"); // empty: no publisher keys file, so the sums are unsigned
    std::fs::create_dir_all(&config_home).unwrap();

    // The files.
    let big = PathBuf::from(std::env::var("BENCH_FILE").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("rget-bench-1GiB")
            .display()
            .to_string()
    }));
    if std::fs::metadata(&big).map(|m| m.len()).ok() != Some(GIB) {
        common::random_file(&big, GIB);
    }
    let small = root.join("small.bin");
    common::random_file(&small, 1024);
    let mut files = vec![("big.bin", big.clone()), ("small.bin", small)];
    if huge {
        let h = root.join("huge.bin");
        huge_file(&h);
        files.push(("huge.bin", h));
    }
    let mut sums = String::new();
    for (name, path) in &files {
        let (digest, _) = sha256_reader(std::fs::File::open(path).unwrap()).unwrap();
        sums.push_str(&format!("{digest}  {name}\n"));
    }
    let rel = root.join("rel");
    std::fs::create_dir_all(&rel).unwrap();
    std::fs::write(rel.join("SHA256SUMS"), &sums).unwrap();

    let test_ca = TestCa::new();
    let (ca, config) = (test_ca.pem_path(), test_ca.server_config());
    let mut routes: HashMap<String, PathBuf> = files
        .iter()
        .map(|(n, p)| (format!("/rel/{n}"), p.clone()))
        .collect();
    for n in ["SHA256SUMS", "SHA256SUMS.tlog-proof"] {
        routes.insert(format!("/rel/{n}"), rel.join(n));
    }
    let addr = serve(routes, config);
    let url = |name: &str| format!("https://{addr}/rel/{name}");

    // The log, and SHA256SUMS recorded in it.
    let (logdir, vkey) = init_log(root, "bench.example/get");
    let log = Server::start(&logdir, &["--batch-delay", "10"]);
    let log_url = format!("{}/", log.base);
    let policy = root.join("policy");
    std::fs::write(&policy, format!("log {vkey} {log_url}\nquorum none\n")).unwrap();
    let state = root.join("state");
    let o = Command::new(rget_bin)
        .args(["submit", &url("SHA256SUMS"), "--file"])
        .arg(rel.join("SHA256SUMS"))
        .args(["--log", &log_url, "--allow-http", "--policy"])
        .arg(&policy)
        .arg("--state")
        .arg(&state)
        .env("XDG_CONFIG_HOME", &config_home)
        .output()
        .unwrap();
    assert_ok(&o);

    let s = |p: &Path| p.display().to_string();
    let (ca_s, policy_s, state_s) = (s(&ca), s(&policy), s(&state));
    let rget_get_with = |bin: &str, name: &str, dest: &Path| -> Vec<String> {
        [
            bin,
            "get",
            &url(name),
            "-o",
            &s(dest),
            "--max-size",
            &(8 * GIB).to_string(),
            "--policy",
            &policy_s,
            "--state",
            &state_s,
            "--cacert",
            &ca_s,
            "--allow-http",
        ]
        .map(String::from)
        .to_vec()
    };
    let rget_get = |name: &str, dest: &Path| rget_get_with(rget_bin, name, dest);
    let curl =
        |name: &str, dest: &str| format!("curl -sS --fail --cacert {ca_s} -o {dest} {}", url(name));

    // Once, checked: rget accepts the file and writes the same bytes.
    let rget_out = out.join("rget.bin");
    let curl_out = out.join("curl.bin");
    let args = rget_get("big.bin", &rget_out);
    let o = Command::new(&args[0])
        .args(&args[1..])
        .env("XDG_CONFIG_HOME", &config_home)
        .output()
        .unwrap();
    assert_ok(&o);
    eprint!("{}", String::from_utf8_lossy(&o.stderr));
    let (a, _) = sha256_reader(std::fs::File::open(&rget_out).unwrap()).unwrap();
    let (b, _) = sha256_reader(std::fs::File::open(&big).unwrap()).unwrap();
    assert_eq!(a, b, "rget wrote other bytes");

    // One hyperfine run.
    let csv = root.join("hyperfine.csv");
    let (co, ro) = (s(&curl_out), s(&rget_out));
    let commands = [
        ("curl -o /dev/null", curl("big.bin", "/dev/null")),
        ("curl", curl("big.bin", &co)),
        (
            "curl + sha256sum",
            format!("{} && sha256sum {co}", curl("big.bin", &co)),
        ),
        (
            "curl + sync",
            format!("{} && sync {co}", curl("big.bin", &co)),
        ),
        ("rget get", rget_get("big.bin", &rget_out).join(" ")),
    ];
    // `RGET_BENCH_BASELINE=PATH`: that build of rget too, as "rget get (baseline)" (an A/B in one run).
    let mut commands: Vec<(&str, String)> = commands.into();
    if let Ok(bin) = std::env::var("RGET_BENCH_BASELINE") {
        let cmd = rget_get_with(&bin, "big.bin", &rget_out).join(" ");
        commands.push(("rget get (baseline)", cmd));
    }
    // `RGET_BENCH_ROUNDS=N`: N interleaved rounds (every command once per round, in order, after one
    // round of warm-up), so that load from elsewhere on the machine hits every command alike; the
    // ratio to `curl` is taken per round. Then the hyperfine run, unless `RGET_BENCH_RUNS=0`.
    let rounds = env_u64("RGET_BENCH_ROUNDS", 0);
    if rounds > 0 {
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
        for _ in 0..=rounds {
            for (i, (_, cmd)) in commands.iter().enumerate() {
                let _ = std::fs::remove_file(&curl_out);
                let _ = std::fs::remove_file(&rget_out);
                let t = std::time::Instant::now();
                let st = Command::new("sh")
                    .args(["-c", cmd])
                    .env("XDG_CONFIG_HOME", &config_home)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.success(), "{cmd} failed");
                times[i].push(t.elapsed().as_secs_f64());
            }
        }
        let median = |v: &mut Vec<f64>| common::median(std::mem::take(v));
        let curl_i = commands.iter().position(|c| c.0 == "curl").unwrap();
        // The first round is a warm-up.
        let times: Vec<Vec<f64>> = times.into_iter().map(|v| v[1..].to_vec()).collect();
        println!(
            "\n{rounds} interleaved rounds (medians; per-round ratio to curl: median, min-max):"
        );
        for (i, (name, _)) in commands.iter().enumerate() {
            let mut ratios: Vec<f64> = times[i]
                .iter()
                .zip(&times[curl_i])
                .map(|(a, b)| a / b)
                .collect();
            let (lo, hi) = ratios
                .iter()
                .fold((f64::MAX, 0f64), |(l, h), &r| (l.min(r), h.max(r)));
            println!(
                "{name:>18}: median {:.3} s; {:.2} x curl ({lo:.2}-{hi:.2})",
                median(&mut times[i].clone()),
                median(&mut ratios)
            );
        }
    }
    if runs > 0 {
        let mut hf = Command::new("hyperfine");
        hf.args(["--warmup", "1", "--runs", &runs.to_string()])
            .args(["--prepare", &format!("rm -f {co} {ro}")])
            .arg("--export-csv")
            .arg(&csv)
            .env("XDG_CONFIG_HOME", &config_home);
        for (name, cmd) in &commands {
            hf.args(["-n", name, cmd]);
        }
        assert!(hf.status().unwrap().success(), "hyperfine failed");
        let _ = std::fs::remove_file(&curl_out);
        let _ = std::fs::remove_file(&rget_out);

        // command,mean,stddev,median,user,system,min,max
        let text = std::fs::read_to_string(&csv).unwrap();
        let rows: Vec<(String, f64, f64, f64)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let p = |i: usize| f[i].parse::<f64>().unwrap();
                (f[0].trim_matches('"').to_owned(), p(3), p(6), p(7))
            })
            .collect();
        let median = |name: &str| rows.iter().find(|r| r.0 == name).unwrap().1;
        let curl_alone = median("curl");
        println!(
            "\n1 GiB over HTTPS on 127.0.0.1 (rustls server in the bench process), files written to {}:",
            out.display()
        );
        for (name, med, min, max) in &rows {
            println!(
                "{name:>18}: median {med:.3} s (min {min:.3}, max {max:.3}) = {:>5.0} MB/s; {:.2} x curl alone",
                GIB as f64 / med / 1e6,
                med / curl_alone
            );
        }
        println!(
            "rget get / (curl + sha256sum) = {:.2}; rget get / (curl + sync) = {:.2}",
            median("rget get") / median("curl + sha256sum"),
            median("rget get") / median("curl + sync"),
        );
    }

    // Peak RSS for each size.
    let envs = [("XDG_CONFIG_HOME", config_home.as_path())];
    for (name, path) in &files {
        let len = std::fs::metadata(path).unwrap().len();
        let args = rget_get(name, &rget_out);
        let rss = common::peak_rss(&args, &envs);
        println!("peak RSS of rget get, {name} ({len} bytes): {rss} KiB");
        let _ = std::fs::remove_file(&rget_out);
    }
    let c = curl("big.bin", &co);
    let rss = common::peak_rss(&c.split(' ').collect::<Vec<_>>(), &[]);
    println!("peak RSS of curl, big.bin: {rss} KiB");
    let _ = std::fs::remove_file(&curl_out);

    // `RGET_BENCH_PROFILE=FILE`: one more `rget get` of big.bin under `perf record -g` (FILE is its
    // `perf.data`).
    if let Ok(file) = std::env::var("RGET_BENCH_PROFILE") {
        let st = Command::new("perf")
            .args(["record", "-g", "-F", "999", "-o", &file, "--"])
            .args(rget_get("big.bin", &rget_out))
            .env("XDG_CONFIG_HOME", &config_home)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "perf record failed");
        let _ = std::fs::remove_file(&rget_out);
    }
    let _ = log.stop();
}

//! The whole `rget-bootstrap` install against doing the same by hand (`cargo bench --bench bootstrap`).
//!
//! Sets up, with the integration tests' helpers (`tests/common/`):
//! - a real transparency log (`rget log init` + `rget log serve`, plain http on 127.0.0.1), an HTTPS
//!   file server on 127.0.0.1 in threads of this process (rustls/ring, certificate from a test CA made
//!   with rcgen, one request per connection), and a minisign key pair made by the real `minisign -G`;
//! - a release of the `rget` binary Cargo built for this benchmark (or `RGET_BENCH_RELEASE=PATH`) as
//!   `rget-<version>-<target>` at `/rel/v<version>/`: `SHA256SUMS` by `rget sums`, `SHA256SUMS.minisig`
//!   by the real `minisign -S`, `SHA256SUMS.tlog-proof` by `rget submit` to the log;
//! - a bootstrap pinned to that release (`RGET_PINNED_DIR`: the release's `SHA256SUMS`, the minisign
//!   key, policy `log <vkey> <url>` + `quorum none`, source `https://127.0.0.1:PORT/rel/v{version}/`),
//!   built by the static release build `bootstrap/build.sh` (in `<target>/bootstrap-bench`).
//!
//! Then `RGET_BENCH_RUNS` (default 20) rounds, after 2 warm-up rounds; each round runs, one after the
//! other, each into a new empty directory (removed after the round, outside the timing):
//! 1. `rget-bootstrap --prefix DIR --cacert CA -- --version`: the whole install (four downloads, the
//!    four checks incl. the log proof, the sealed memfd, the durable atomic install) and the exec;
//! 2. by hand, in `sh -c`: `curl --cacert CA -fsSO` four times (binary, `SHA256SUMS`,
//!    `SHA256SUMS.minisig`, `SHA256SUMS.tlog-proof`), `sha256sum -c --ignore-missing SHA256SUMS`,
//!    `minisign -Vm SHA256SUMS -P KEY`, `chmod +x`, `mv` into `DIR/rget`, `DIR/rget --version`. It
//!    does NOT check the log proof (no standard tool does) and does not fsync;
//! 3. the same by hand plus `sync DIR/rget DIR` (as durable as the bootstrap's install), for reference.
//!
//! Every process runs with an empty environment but `PATH` and `HOME` (an empty directory: no
//! `.curlrc`). Prints the median, min and max of each and the ratio bootstrap / by hand (target: at
//! most 1.2), the size of the measured bootstrap and its start-up (median of 200 `--version` runs,
//! timed around spawn and wait in this process).
//! `RGET_BENCH_PROFILE=DIR`: afterwards, one more bootstrap run under `strace -f -tt -T` and one
//! under `strace -f -c` (`DIR/strace.txt`, `DIR/strace-c.txt`) and one under `perf record -g`
//! (`DIR/perf.data`, if perf is installed).

// Test code: a failed unwrap, expect or assertion is how it reports a failure (the house rule
// against panics, in Cargo.toml's [workspace.lints], is for code that handles input).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The tests' shared helpers (the published release world, output checks); this bench uses a few.
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;

use common::env_u64;

use common::release::{VERSION, World, rget_file, target};
use common::{RGET, assert_ok};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `bootstrap/build.sh` with `RGET_PINNED_DIR=pins` in `<target>/bootstrap-bench`; returns the binary.
fn build_bootstrap(pins: &Path) -> PathBuf {
    let target_dir = common::target_dir("bootstrap-bench");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bootstrap/build.sh");
    eprintln!(
        "building the bootstrap: RGET_PINNED_DIR={} CARGO_TARGET_DIR={} {}",
        pins.display(),
        target_dir.display(),
        script.display()
    );
    let out = Command::new("sh")
        .arg(&script)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RGET_PINNED_DIR", pins)
        .stdin(Stdio::null())
        .output()
        .expect("run bootstrap/build.sh");
    assert_ok(&out);
    eprint!("{}", String::from_utf8_lossy(&out.stdout));
    target_dir
        .join(target())
        .join("bootstrap")
        .join("rget-bootstrap")
}

/// A command with the isolated environment.
fn isolated(w: &World, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", w.root.join("home"))
        .current_dir(&w.root)
        .stdin(Stdio::null());
    c
}

/// Runs `c` to completion; returns its wall time and output (checked: success, `rget VERSION`).
fn timed(c: &mut Command, what: &str) -> (Duration, Output) {
    let t = Instant::now();
    let out = c.output().unwrap_or_else(|e| panic!("run {what}: {e}"));
    let dt = t.elapsed();
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(VERSION),
        "{what}: the installed rget did not print its version: {stdout:?}"
    );
    (dt, out)
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(v: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 {
        ms[n / 2]
    } else {
        (ms[n / 2 - 1] + ms[n / 2]) / 2.0
    };
    Stats {
        median,
        min: ms[0],
        max: ms[n - 1],
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    // `cargo test --benches` runs bench targets with `--bench`-less arguments; do nothing there.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("bootstrap bench: run with `cargo bench --bench bootstrap`");
        return;
    }
    let runs = env_u64("RGET_BENCH_RUNS", 20) as usize;
    let name = rget_file(VERSION);

    // The world and the release of rget.
    let w = World::new();
    let release_bin = std::env::var("RGET_BENCH_RELEASE").unwrap_or(RGET.into());
    let bytes = std::fs::read(&release_bin).expect("read the release binary");
    let rel = w.publish(&format!("/rel/v{VERSION}"), &[(&name, bytes)], true);
    let pins = w.write_pins("pins", &rel.sums, &w.policy_text(), "/rel/v{version}/");
    let boot = w.root.join("rget-bootstrap");
    std::fs::copy(build_bootstrap(&pins), &boot).expect("copy the bootstrap");
    // The bootstrap verifies offline (from the proof file): the log is no longer needed.
    let _ = Command::new("kill").arg(w.log.pid().to_string()).status();

    let ca = w.ca.pem_path();
    let key = std::fs::read_to_string(&w.key_pub)
        .unwrap()
        .lines()
        .find(|l| !l.starts_with("untrusted comment:") && !l.is_empty())
        .expect("minisign public key line")
        .to_owned();
    let base = format!("{}/", w.url(&format!("/rel/v{VERSION}")));
    let by_hand = |dir: &Path, sync: bool| -> String {
        let dir = dir.display();
        let ca = ca.display();
        let mut s = String::from("set -e\n");
        for f in [
            name.as_str(),
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            "SHA256SUMS.tlog-proof",
        ] {
            s += &format!("curl --cacert {ca} -fsSO {base}{f}\n");
        }
        s += "sha256sum -c --quiet --ignore-missing SHA256SUMS\n";
        s += &format!("minisign -Vqm SHA256SUMS -P {key}\n");
        s += &format!("chmod +x {name}\nmv {name} {dir}/rget\n");
        if sync {
            s += &format!("sync {dir}/rget {dir}\n");
        }
        s += &format!("{dir}/rget --version\n");
        s
    };
    let runs_dir = w.dir("runs");
    let fresh = |tag: &str| -> PathBuf {
        let d = runs_dir.join(tag);
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let boot_cmd = |dir: &Path| {
        let mut c = isolated(&w, &boot);
        c.arg("--prefix")
            .arg(dir)
            .arg("--cacert")
            .arg(&ca)
            .args(["--", "--version"]);
        c
    };
    let hand_cmd = |sync: bool| {
        // The downloads land in the shell's working directory; the binary is moved to `inst`.
        let work = fresh("hand-work");
        let inst = fresh("hand-install");
        let mut c = isolated(&w, "sh");
        c.arg("-c").arg(by_hand(&inst, sync)).current_dir(&work);
        c
    };

    // Once, shown: what each side prints.
    let (_, o) = timed(&mut boot_cmd(&fresh("boot")), "rget-bootstrap");
    eprint!("{}", String::from_utf8_lossy(&o.stderr));
    let installed = std::fs::read(runs_dir.join("boot").join("rget")).unwrap();
    assert!(
        installed == rel.file(&name),
        "the bootstrap installed other bytes"
    );
    let (_, o) = timed(&mut hand_cmd(false), "by hand");
    eprint!("{}", String::from_utf8_lossy(&o.stderr));
    eprintln!("by hand:\n{}", by_hand(Path::new("DIR"), false));

    // Alternating rounds.
    let load_start = load_average();
    let (mut tb, mut th, mut ts) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs + 2 {
        let (b, _) = timed(&mut boot_cmd(&fresh("boot")), "rget-bootstrap");
        let (h, _) = timed(&mut hand_cmd(false), "by hand");
        let (s, _) = timed(&mut hand_cmd(true), "by hand + sync");
        if round >= 2 {
            tb.push(b);
            th.push(h);
            ts.push(s);
        }
    }
    let load_end = load_average();

    // Start-up of the measured bootstrap.
    let mut st = Vec::new();
    for i in 0..220 {
        let t = Instant::now();
        let o = isolated(&w, &boot).arg("--version").output().unwrap();
        if i >= 20 {
            st.push(t.elapsed());
        }
        assert_ok(&o);
    }

    let (b, h, s) = (stats(&tb), stats(&th), stats(&ts));
    let size = std::fs::metadata(&boot).unwrap().len();
    println!(
        "\nrelease: {name}, {} bytes (from {release_bin}); over HTTPS on 127.0.0.1; {runs} rounds \
         after 2 warm-up; load average {load_start} at the start, {load_end} at the end",
        rel.file(&name).len()
    );
    let row = |what: &str, x: &Stats| {
        println!(
            "{what:>40}: median {:8.2} ms (min {:8.2}, max {:8.2}); {:.2} x by hand",
            x.median,
            x.min,
            x.max,
            x.median / h.median
        );
    };
    row("rget-bootstrap (incl. log proof, fsync)", &b);
    row("by hand (no log proof, no fsync)", &h);
    row("by hand + sync", &s);
    println!(
        "ratio bootstrap / by hand = {:.2} (target: at most 1.2); bootstrap / (by hand + sync) = {:.2}",
        b.median / h.median,
        b.median / s.median
    );
    let su = stats(&st);
    println!(
        "bootstrap: {size} bytes ({:.2} MiB), built by bootstrap/build.sh; start-up (--version, 200 \
         runs, spawn to wait): median {:.2} ms (min {:.2}, max {:.2})",
        size as f64 / 1048576.0,
        su.median,
        su.min,
        su.max
    );

    // `RGET_BENCH_PROFILE=DIR`: where the bootstrap's time goes.
    if let Ok(dir) = std::env::var("RGET_BENCH_PROFILE") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        // The run profiled: an install into a fresh prefix, then `rget --version`.
        let run_bootstrap = |c: &mut Command| {
            c.arg(&boot)
                .arg("--prefix")
                .arg(fresh("boot"))
                .arg("--cacert")
                .arg(&ca)
                .args(["--", "--version"]);
        };
        let strace = |extra: &[&str], out: &Path| {
            let mut c = isolated(&w, "strace");
            c.args(["-f", "-o"]).arg(out).args(extra).arg("--");
            run_bootstrap(&mut c);
            assert_ok(&c.output().unwrap());
        };
        strace(&["-tt", "-T"], &dir.join("strace.txt"));
        strace(&["-c", "-w"], &dir.join("strace-c.txt"));
        let mut perf = Command::new("perf");
        perf.args(["record", "-g", "-F", "4999", "-o"])
            .arg(dir.join("perf.data"))
            .arg("--");
        run_bootstrap(&mut perf);
        let perf = perf
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", w.root.join("home"))
            .stdin(Stdio::null())
            .output();
        match perf {
            Ok(o) if o.status.success() => {}
            other => eprintln!("perf record did not run: {other:?}"),
        }
        println!("profiles written to {}", dir.display());
    }
    let _ = std::fs::remove_dir_all(&runs_dir);
}

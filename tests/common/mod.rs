//! Helpers shared by the integration tests: run the real `rget` binary and real tools, and read
//! what they printed.
//!
//! - [`https`]: an HTTPS (or plain HTTP) file server on loopback with a test CA;
//! - [`log`]: serving `rget` processes (`rget log serve`, `rget witness serve`), an HTTP client for
//!   the log, records to submit;
//! - [`release`]: a published, logged, signed release and the clients that fetch it ([`release::World`]);
//! - [`minisign`]: minisign keys and signatures, from the `minisign` crate or the `minisign` tool;
//! - [`sigsum_log`]: a real Sigsum log cosigned by real witnesses, and releases published into it;
//! - [`cosig`]: an independent verifier of cosignatures;
//! - [`relay`]: a counting reverse proxy, plain or as the client side of an https-bastion;
//! - [`go`]: Go's reference x/mod packages as a command (interop tests only);
//! - [`rng`]: a replayable random number generator for randomised schedules.

pub mod cosig;
pub mod go;
pub mod https;
pub mod log;
pub mod minisign;
pub mod relay;
pub mod release;
pub mod rng;
pub mod sigsum;
pub mod sigsum_log;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The documented exit codes (README.md "Exit codes"), declared once in `rget_core::exit`.
pub mod exit {
    use rget::core::exit::ExitCode;
    pub const VERIFICATION_FAILED: i32 = ExitCode::VerificationFailed.code();
    pub const USAGE: i32 = ExitCode::Usage.code();
    pub const MALFORMED: i32 = ExitCode::Malformed.code();
    pub const NETWORK: i32 = ExitCode::Network.code();
    pub const NOT_FOUND: i32 = ExitCode::NotFound.code();
    pub const TRUST_ANOMALY: i32 = ExitCode::TrustAnomaly.code();
    pub const LOCAL_IO: i32 = ExitCode::LocalIo.code();
}

/// The `rget` binary Cargo built for these tests.
pub const RGET: &str = env!("CARGO_BIN_EXE_rget");

/// Runs `rget` with `args` in `cwd`, stdin closed.
pub fn rget<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S]) -> Output {
    run(Command::new(RGET).args(args).current_dir(cwd))
}

/// Runs `rget` with `args` (stdin closed), asserts that it succeeded, and returns the last line of
/// its standard output: what the `init` commands end with, the new key's verifier key.
#[track_caller]
pub fn rget_last_line<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> String {
    let out = run(Command::new(RGET).args(args));
    let stdout = assert_ok(&out);
    stdout.lines().last().unwrap_or_default().to_owned()
}

/// Runs a command with stdin closed and collects its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Spawns `cmd`, retrying while the kernel says the file is busy: an executable this
/// (multi-threaded) test process just wrote may still be open for writing in a child that another
/// test forked and has not yet exec'd (the descriptor is close-on-exec, but only from exec on), and
/// exec fails with ETXTBSY for that instant.
pub fn spawn(cmd: &mut Command) -> Child {
    for _ in 0..50 {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r.unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}")),
        }
    }
    panic!("the executable stayed busy (ETXTBSY): {cmd:?}");
}

/// [`spawn`] with stdout and stderr collected: `Command::output` for an executable just written.
pub fn output(cmd: &mut Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    spawn(cmd).wait_with_output().expect("wait for the child")
}

/// Runs `cmd` with `input` on its standard input (a pipe, closed after it) and collects its output;
/// an error only if it cannot be started. A child that exits before reading all of `input` (a tool
/// refusing a bad key) is judged by its exit status, not by the broken pipe.
pub fn try_output_with_stdin(cmd: &mut Command, input: &[u8]) -> std::io::Result<Output> {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("the child's stdin");
    match stdin.write_all(input) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            panic!("write to the standard input of {cmd:?}: {e}")
        }
        _ => drop(stdin),
    }
    Ok(child.wait_with_output().expect("wait for the child"))
}

/// [`try_output_with_stdin`] of a command that must start.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    try_output_with_stdin(cmd, input).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Bytes as text, for messages (invalid UTF-8 replaced).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// The exit code; a death by signal fails the test.
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {out:?}"))
}

/// Asserts the exit code, showing both streams when it is wrong.
#[track_caller]
pub fn assert_code(out: &Output, want: i32) {
    assert_eq!(
        code(out),
        want,
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asserts that the command succeeded, showing its status and both streams if not; returns its
/// standard output.
#[track_caller]
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The command failed with `code` and its standard error names `needle`; returns standard error.
#[track_caller]
pub fn assert_failed(out: &Output, code: i32, needle: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{err}",
        text(&out.stdout)
    );
    assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    err
}

/// A refusal as every rget command makes one: exit `code`, nothing on standard output, and exactly
/// one line `rget: ...` on standard error naming each of `words`. Returns that line.
#[track_caller]
pub fn assert_one_line_refusal(o: &Output, code: i32, words: &[&str]) -> String {
    let err = text(&o.stderr);
    eprint!("refused as expected: {err}");
    assert_eq!(
        o.status.code(),
        Some(code),
        "want exit {code}; stdout:\n{}\nstderr:\n{err}",
        text(&o.stdout)
    );
    assert!(
        o.stdout.is_empty(),
        "nothing on stdout: {:?}",
        text(&o.stdout)
    );
    assert!(
        err.starts_with("rget: ") && err.ends_with('\n') && err.lines().count() == 1,
        "exactly one line on stderr: {err:?}"
    );
    for word in words {
        assert!(
            err.contains(word),
            "{err:?} should name the reason ({word:?})"
        );
    }
    err
}

/// Makes a FIFO at `path` with `mkfifo`, and asserts that it did.
#[track_caller]
pub fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(st.success(), "mkfifo {}", path.display());
}

/// The names in `dir`, sorted.
#[track_caller]
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One JSON value, as `--json` prints it (one line; the newline and nothing else after it).
#[track_caller]
pub fn parse_json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not one JSON value ({e}): {out:?}"))
}

/// `len` random bytes (from `/dev/urandom`, as `head -c` reads them) in a new file at `path`: the
/// benchmarks' payloads, which no compression or deduplication along the way can shrink. Only the
/// benchmarks use it.
#[allow(dead_code)]
pub fn random_file(path: &Path, len: u64) {
    let out = Command::new("head")
        .args(["-c", &len.to_string(), "/dev/urandom"])
        .stdout(std::fs::File::create(path).expect("create the file"))
        .status()
        .expect("run head");
    assert!(out.success(), "head -c {len} /dev/urandom failed");
}

/// A number from the environment (the benchmarks' `RGET_BENCH_*` settings), or `default` when it is
/// unset or not a number. Only the benchmarks (which include this module) use it.
#[allow(dead_code)]
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A temporary directory in `RGET_BENCH_DIR` (default: `target/`), for the benchmarks' large data.
#[allow(dead_code)]
pub fn bench_tempdir() -> tempfile::TempDir {
    let base = std::env::var("RGET_BENCH_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    std::fs::create_dir_all(&base).expect("create RGET_BENCH_DIR");
    tempfile::tempdir_in(&base).expect("temp dir")
}

/// Peak RSS in KiB of `cmd` (program and arguments) run under `/usr/bin/time -f %M` with `envs`
/// added, standard input and output closed: for the benchmarks' memory targets.
#[allow(dead_code)]
pub fn peak_rss<S: AsRef<std::ffi::OsStr>>(cmd: &[S], envs: &[(&str, &Path)]) -> u64 {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .args(cmd)
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("run /usr/bin/time");
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stderr);
    let last = text.trim().lines().last().unwrap_or_default();
    last.parse()
        .unwrap_or_else(|e| panic!("no peak RSS in the last line {last:?} ({e})"))
}

/// The median of `v` (the upper one of an even count), for the benchmarks' rounds.
#[allow(dead_code)]
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A port on 127.0.0.1 nobody listens on now: bound, then released (a server a test starts next
/// binds it, or a client's connection to it is refused).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// `<cargo's target directory>/<name>`, beside `debug/`: for nested cargo builds and worlds kept
/// between runs.
pub fn target_dir(name: &str) -> PathBuf {
    Path::new(RGET)
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join(name)
}

/// The name the test harness gives the test `test` of the module `module` (pass `module_path!()`),
/// for running it again in a child process of this test binary: the module path without the crate's
/// name (`client::state::child_process_helper`).
pub fn test_name(module: &str, test: &str) -> String {
    let path = module.split_once("::").map_or("", |(_, path)| path);
    format!("{path}::{test}")
}

/// Runs `cmd` with standard error on a new pseudo-terminal (standard input and output null);
/// returns the exit code and everything the terminal received.
pub fn on_a_terminal(cmd: &mut Command) -> (i32, String) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::io::Read;
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let path = ptsname(&master, Vec::new()).expect("ptsname");
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path.to_str().expect("UTF-8 pty path"))
        .expect("open the terminal side");
    cmd.env("TERM", "xterm")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(terminal);
    let mut child = spawn(cmd);
    // Only the child holds the terminal side now (the Command's copy is replaced), so reading ends
    // (EIO) once it exits.
    cmd.stderr(std::process::Stdio::null());
    let mut screen = Vec::new();
    let _ = std::fs::File::from(master).read_to_end(&mut screen);
    let status = child.wait().expect("wait for rget");
    (status.code().unwrap_or(-1), text(&screen))
}

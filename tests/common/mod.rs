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

/// The `rget` binary Cargo built for these tests.
pub const RGET: &str = env!("CARGO_BIN_EXE_rget");

/// Runs `rget` with `args` in `cwd`, stdin closed.
pub fn rget<S: AsRef<std::ffi::OsStr>>(cwd: &Path, args: &[S]) -> Output {
    run(Command::new(RGET).args(args).current_dir(cwd))
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

/// `"key":<value>` from a flat JSON rendering, the first one anywhere: the string's content, or
/// the raw token (number, `true`, ...).
#[track_caller]
pub fn json_field<'a>(json: &'a str, key: &str) -> &'a str {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"))
        + key.len()
        + 3;
    let rest = &json[at..];
    match rest.strip_prefix('"') {
        Some(s) => &s[..s.find('"').expect("string end")],
        None => &rest[..rest.find([',', '}', ']']).expect("token end")],
    }
}

/// A JSON number field, as [`json_field`] finds it.
#[track_caller]
pub fn json_number(json: &str, key: &str) -> u64 {
    json_field(json, key)
        .parse()
        .unwrap_or_else(|e| panic!("{key} in {json}: {e}"))
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

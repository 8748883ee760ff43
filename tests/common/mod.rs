//! Helpers shared by the integration tests: run the real `rget` binary and real tools.
#![allow(dead_code)] // each test crate uses a different subset

pub mod cosig;
pub mod go;
pub mod https;
pub mod log;
pub mod minisign;
pub mod release;

use std::path::Path;
use std::process::{Command, Output, Stdio};

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
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The name the test harness gives the test `test` of the module `module` (pass `module_path!()`),
/// for running it again in a child process of this test binary: the module path without the crate's
/// name (`client::state::child_process_helper`).
pub fn test_name(module: &str, test: &str) -> String {
    let path = module.split_once("::").map_or("", |(_, path)| path);
    format!("{path}::{test}")
}

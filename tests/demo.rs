//! `rget demo` run as a newcomer would, checked from the outside: its JSON account (the install, the
//! executed binary's digest, the three attacks refused for the right reasons), and that no process
//! or file is left behind, also when it is interrupted with Ctrl-C (SIGINT to its process group, as
//! a terminal sends it).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::common::{self, RGET, parse_json, text};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

/// The demos share one cargo target directory for their bootstrap builds: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn target_dir() -> PathBuf {
    common::target_dir("demo-e2e")
}

fn demo(tmp: &Path) -> Command {
    let mut c = Command::new(RGET);
    c.arg("demo")
        .arg("--target-dir")
        .arg(target_dir())
        .env("TMPDIR", tmp)
        .stdin(Stdio::null());
    c
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
        .unwrap_or(false)
}

fn leftovers(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_demo_installs_the_verified_rget_and_refuses_three_attacks() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let out: Output = demo(tmp.path()).arg("--json").output().unwrap();
    let (json, steps) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout:\n{json}\nstderr:\n{steps}");

    let account = parse_json(&json);
    assert_eq!(account["installed"], true, "{json}");
    let released = account["released_sha256"].as_str().unwrap_or_default();
    assert_eq!(released.len(), 64);
    // The released binary is this rget, and the executed one hashed itself to the same digest.
    assert_eq!(
        released,
        rget::core::digest::sha256(&std::fs::read(RGET).unwrap()).to_hex()
    );
    assert_eq!(account["executed_sha256"], released, "{json}");
    assert_eq!(account["log_index"], 0);

    // The three attacks, each refused by the check that should stop it, with exit code 1 and the
    // installed rget untouched.
    let attacks = account["attacks"].as_array().unwrap();
    let expected = [
        (
            "a binary swapped on the release server",
            "but this bootstrap pins",
        ),
        (
            "an unlogged SHA256SUMS signed with a stolen release key",
            "SHA256SUMS is not in the log",
        ),
        (
            "a forked checkpoint signed by the log's own key",
            "quorum not met: cosigned by 0 of 2",
        ),
    ];
    for (name, reason) in expected {
        let a = attacks
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {json}"));
        assert!(a["refused"] == true, "{a}");
        assert!(a["exit_code"] == 1, "{a}");
        assert!(a["destination_untouched"] == true, "{a}");
        let error = a["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{name}: {reason:?} not in {a}");
    }

    // The Sigsum path: a release logged in the Sigsum log, cosigned by both witnesses, verified by
    // rget get.
    let sigsum = &account["sigsum"];
    assert_eq!(sigsum["verified"], true, "{json}");
    assert!(
        sigsum["log"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sigsum.org/v1/tree/"),
        "{json}"
    );
    assert_eq!(
        sigsum["witnesses"],
        serde_json::json!(["w1", "w2"]),
        "{json}"
    );
    assert!(steps.contains("11. sigsum"), "{steps}");

    // Nothing left behind: every server stopped, the workspace removed.
    assert_eq!(account["cleaned_up"], true);
    let pids: Vec<u64> = account["server_pids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert_eq!(
        pids.len(),
        4,
        "a log, two witnesses and the Sigsum log: {json}"
    );
    for pid in pids {
        assert!(!alive(pid as u32), "server {pid} is still running");
    }
    let workspace = account["workspace"].as_str().unwrap();
    assert!(!Path::new(workspace).exists());
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

#[test]
fn ctrl_c_stops_every_process_and_removes_every_file() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut child = demo(tmp.path())
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pgid = child.id();
    // Wait until the log and both witnesses run, then press Ctrl-C.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut pids = Vec::new();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.split("(pid ").nth(1) {
            pids.push(p[..p.find(')').unwrap()].parse::<u32>().unwrap());
        }
        seen.push_str(&line);
        seen.push('\n');
        if line.starts_with("4. release server") {
            break;
        }
    }
    assert!(pids.len() >= 4, "the demo and its three servers: {seen}");
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    let stderr = text(&{
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut child.stderr.take().unwrap(), &mut b).unwrap();
        b
    });
    assert_eq!(status.code(), Some(130), "{seen}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    for pid in pids {
        assert!(!alive(pid), "process {pid} outlived the demo:\n{seen}");
    }
    assert_eq!(
        leftovers(tmp.path()),
        Vec::<String>::new(),
        "files left behind"
    );
}

/// A bootstrap that does not build: the demo shows cargo's error lines (bounded), names the first in
/// its one-line error, exits non-zero and removes its workspace.
#[test]
fn a_bootstrap_that_does_not_build_shows_cargos_errors() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src-tree");
    std::fs::create_dir_all(src.join("src")).unwrap();
    // What the demo checks a source tree by (its tree has the bootstrap's build script).
    std::fs::create_dir_all(src.join("bootstrap")).unwrap();
    std::fs::write(src.join("bootstrap/build.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        src.join("Cargo.toml"),
        "[package]\nname = \"rget-bootstrap\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        src.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"rget-bootstrap\"\nversion = \"0.0.0\"\n",
    )
    .unwrap();
    std::fs::write(
        src.join("src/main.rs"),
        "fn main() {\n    let n: u32 = \"not a number\";\n    println!(\"{n}\");\n}\n",
    )
    .unwrap();
    let out = Command::new(RGET)
        .arg("demo")
        .arg("--source")
        .arg(&src)
        .arg("--target-dir")
        .arg(work.path().join("target"))
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("  cargo: error[E0308]: mismatched types"),
        "{err}"
    );
    assert!(err.contains("  cargo:  --> src/main.rs:2:"), "{err}");
    assert!(err.matches("  cargo: ").count() <= 20, "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("building the bootstrap failed: error[E0308]: mismatched types"),
        "{last}"
    );
    assert_eq!(leftovers(tmp.path()), Vec::<String>::new());
}

//! End-to-end tests of `rget self verify | upgrade | rollback` with real processes: releases of the
//! `rget` binary Cargo built for these tests, `SHA256SUMS` signed as `minisign` does, recorded
//! in a real `rget log serve`, served over HTTPS with a test CA, and a pin directory (`--pins`) with
//! the release key, the policy and the source template (the binary's compiled-in pins are the
//! committed placeholders, which no test can sign for).
//!
//! Newer releases are the same program with bytes appended (an ELF runs the same with trailing data):
//! a different digest, a release marker naming the new version, and still a working rget.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::common::{RGET, assert_failed, assert_ok, https, output, parse_json, release, spawn};

use https::Reply;
use release::{Release, VERSION, World, rget_file, target};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sha256_hex(b: &[u8]) -> String {
    rget::core::digest::sha256(b).to_hex()
}

/// The rget binary, with `extra` bytes appended and, for a version other than this one, a release
/// marker naming it (as a real build of that version would carry).
fn binary(version: &str, extra: &[u8]) -> Vec<u8> {
    let mut b = std::fs::read(RGET).expect("read the rget binary");
    if version != VERSION {
        b.extend_from_slice(format!("\0rget-release {version} {}\0", target()).as_bytes());
    }
    b.extend_from_slice(extra);
    b
}

/// A world with releases of rget published at `/rel/v<version>/`, a pin directory and an install
/// directory holding this rget as `rget`.
struct Fixture {
    w: World,
    pins: PathBuf,
    install: PathBuf,
    state: PathBuf,
}

impl Fixture {
    fn new(versions: &[&str]) -> Fixture {
        let w = World::new();
        for v in versions {
            publish(&w, v, binary(v, b""));
        }
        // `rget self` reads no SHA256SUMS from its pins (it pins no digest of itself).
        let pins = w.write_pins("pins", b"", &w.policy_text(), "/rel/v{version}/");
        let install = w.dir("bin");
        put_executable(&install.join("rget"), &std::fs::read(RGET).unwrap());
        let state = w.dir("self-state");
        Fixture {
            w,
            pins,
            install,
            state,
        }
    }

    /// `<program> self ARGS --pins --cacert --allow-http --state` with the world's environment.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.w.root.join("home"))
            .env("XDG_STATE_HOME", self.w.root.join("state"))
            .current_dir(&self.w.root)
            .stdin(Stdio::null())
            .arg("self")
            .args(args)
            .arg("--pins")
            .arg(&self.pins)
            .arg("--cacert")
            .arg(self.w.ca.pem_path())
            .arg("--allow-http")
            .arg("--state")
            .arg(&self.state);
        cmd
    }

    fn run(&self, program: &Path, args: &[&str]) -> Output {
        output(&mut self.command(program, args))
    }

    fn installed(&self) -> PathBuf {
        self.install.join("rget")
    }

    /// `rget self upgrade|rollback --prefix <install>` run by the installed rget.
    fn run_installed(&self, args: &[&str]) -> Output {
        let mut a = args.to_vec();
        let prefix = self.install.to_str().unwrap().to_owned();
        a.extend(["--prefix", &prefix]);
        self.run(&self.installed(), &a)
    }

    fn latest(&self, v: &str) {
        self.w
            .srv
            .route("/rel/LATEST", Reply::body(format!("{v}\n")));
    }

    /// The names in the install directory.
    fn listing(&self) -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(&self.install)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }
}

/// `PROGRAM --version`.
fn run_version(program: &Path) -> Output {
    output(Command::new(program).arg("--version"))
}

/// Writes an executable through a temporary name and a rename, so the path never names a file that
/// is half-written.
fn put_executable(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = path.with_extension("put-tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn publish(w: &World, version: &str, bytes: Vec<u8>) -> Release {
    w.publish(
        &format!("/rel/v{version}"),
        &[(&rget_file(version), bytes)],
        true,
    )
}

#[track_caller]
fn assert_fails(out: &Output, code: i32, needle: &str) {
    let err = assert_failed(out, code, needle);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line:\n{err}");
}

#[test]
fn self_verify_reports_the_running_binary_its_key_and_log_index() {
    let f = Fixture::new(&[VERSION]);
    let rel = RGET.as_ref();
    let out = f.run(rel, &["verify", "--json"]);
    let json = assert_ok(&out);
    let bytes = std::fs::read(RGET).unwrap();
    assert!(
        json.contains(&format!("\"sha256\":\"{}\"", sha256_hex(&bytes))),
        "{json}"
    );
    assert!(json.contains("\"outcome\":\"verified\""), "{json}");
    assert!(
        json.contains(&format!(
            "\"sums_url\":\"{}\"",
            f.w.url(&format!("/rel/v{VERSION}/SHA256SUMS"))
        )),
        "{json}"
    );
    // The index the log gave the record: the one in the published proof.
    let proof = std::fs::read_to_string(
        f.w.root
            .join("pub")
            .join(format!("rel_v{VERSION}"))
            .join("SHA256SUMS.tlog-proof"),
    )
    .unwrap();
    let index: u64 = proof
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("index ")
        .parse()
        .unwrap();
    assert_eq!(parse_json(&json)["log"]["index"], index);

    // The human report says the same.
    let human = assert_ok(&f.run(rel, &["verify"]));
    assert!(human.contains(&sha256_hex(&bytes)), "{human}");
    assert!(human.contains(&format!("index {index}")), "{human}");
    assert!(human.contains("release key"), "{human}");

    // A modified rget is not the released one, whatever it says about itself.
    let tampered = f.w.root.join("rget-tampered");
    put_executable(&tampered, &binary(VERSION, b"\npatched"));
    assert_fails(&f.run(&tampered, &["verify"]), 1, "but SHA256SUMS lists");
}

#[test]
fn self_verify_refuses_sums_that_were_never_logged_or_signed_by_another_key() {
    let f = Fixture::new(&[]);
    // Published and signed, but not logged: no SHA256SUMS.tlog-proof.
    f.w.publish(
        &format!("/rel/v{VERSION}"),
        &[(&rget_file(VERSION), binary(VERSION, b""))],
        false,
    );
    assert_fails(
        &f.run(RGET.as_ref(), &["verify"]),
        5,
        "SHA256SUMS.tlog-proof",
    );

    // Logged, but the pins trust another release key.
    let f = Fixture::new(&[VERSION]);
    let (other_pub, _) = f.w.minisign.keypair(&f.w.root.join("other"), "other");
    std::fs::copy(other_pub, f.pins.join("release.pub")).unwrap();
    assert_fails(
        &f.run(RGET.as_ref(), &["verify"]),
        1,
        "which is not a pinned release key",
    );
}

#[test]
fn upgrade_then_rollback_and_back_again() {
    let f = Fixture::new(&[VERSION, "0.2.0"]);
    let v1 = std::fs::read(RGET).unwrap();
    let v2 = binary("0.2.0", b"");
    f.latest("0.2.0");

    let out = f.run_installed(&["upgrade"]);
    let report = assert_ok(&out);
    assert!(
        report.contains(&format!("from rget {VERSION} to rget 0.2.0")),
        "{report}"
    );
    assert!(
        std::fs::read(f.installed()).unwrap() == v2,
        "rget is not the 0.2.0 release"
    );
    assert!(std::fs::read(f.install.join("rget.previous")).unwrap() == v1);
    assert_eq!(f.listing(), ["rget", "rget.previous"]);
    // The new binary runs.
    assert_ok(&run_version(&f.installed()));

    let out = f.run_installed(&["rollback", "--json"]);
    let json = assert_ok(&out);
    assert!(json.contains("\"outcome\":\"rolled-back\""), "{json}");
    assert!(
        json.contains(&format!("\"name\":\"{}\"", rget_file(VERSION))),
        "{json}"
    );
    assert!(
        std::fs::read(f.installed()).unwrap() == v1,
        "rollback did not restore 0.1.0"
    );
    assert!(std::fs::read(f.install.join("rget.previous")).unwrap() == v2);

    // The kept one is now 0.2.0, and it verifies as 0.2.0 (the newest version it claims).
    let out = f.run_installed(&["rollback"]);
    assert!(assert_ok(&out).contains("back to rget 0.2.0"));
    assert!(std::fs::read(f.installed()).unwrap() == v2);
    assert_eq!(f.listing(), ["rget", "rget.previous"]);
}

/// The install directory still holds exactly this rget and nothing else.
#[track_caller]
fn assert_untouched(f: &Fixture) {
    assert!(
        std::fs::read(f.installed()).unwrap() == std::fs::read(RGET).unwrap(),
        "the installed rget changed"
    );
    assert_eq!(f.listing(), ["rget"], "the install directory changed");
}

#[test]
fn upgrade_refuses_downgrades_unless_asked_and_swapped_binaries() {
    let f = Fixture::new(&["0.0.9", "0.3.0"]);

    // The release source's LATEST names an older version: a rollback attempt (exit 6).
    f.latest("0.0.9");
    assert_fails(&f.run_installed(&["upgrade"]), 6, "refusing a downgrade");
    assert_untouched(&f);
    // The user asks for an older version without the flag: exit 2.
    assert_fails(
        &f.run_installed(&["upgrade", "--to", "0.0.9"]),
        2,
        "--allow-downgrade",
    );
    assert_untouched(&f);
    // The same version: nothing to do.
    f.latest(VERSION);
    assert!(assert_ok(&f.run_installed(&["upgrade"])).contains("already installed"));
    assert_untouched(&f);

    // The 0.3.0 binary swapped on the server after release: its digest is not the logged one.
    f.latest("0.3.0");
    f.w.srv.route(
        &format!("/rel/v0.3.0/{}", rget_file("0.3.0")),
        Reply::body(binary("0.3.0", b"evil")),
    );
    assert_fails(&f.run_installed(&["upgrade"]), 1, "but SHA256SUMS lists");
    assert_untouched(&f);

    // With the flag, the older (logged, signed) release is installed.
    let out = f.run_installed(&["upgrade", "--to", "0.0.9", "--allow-downgrade"]);
    assert!(assert_ok(&out).contains("to rget 0.0.9"));
    assert!(std::fs::read(f.installed()).unwrap() == binary("0.0.9", b""));
}

#[test]
fn rollback_refuses_a_previous_that_is_not_a_release() {
    let f = Fixture::new(&[VERSION]);
    assert_fails(
        &f.run_installed(&["rollback"]),
        5,
        "no previous rget was kept",
    );
    std::fs::write(
        f.install.join("rget.previous"),
        binary(VERSION, b"tampered"),
    )
    .unwrap();
    assert_fails(&f.run_installed(&["rollback"]), 1, "but SHA256SUMS lists");
    assert!(std::fs::read(f.installed()).unwrap() == std::fs::read(RGET).unwrap());
    assert_eq!(f.listing(), ["rget", "rget.previous"]);
}

#[test]
fn kill_9_during_self_upgrade_never_leaves_a_partial_rget() {
    let f = Fixture::new(&["0.2.0"]);
    let v1 = std::fs::read(RGET).unwrap();
    let v2 = binary("0.2.0", b"");
    f.latest("0.2.0");
    // How long a whole upgrade takes here, to spread the kills over it.
    let t = std::time::Instant::now();
    assert_ok(&f.run_installed(&["upgrade"]));
    let whole = t.elapsed().as_millis() as u64;
    let (mut seen_old, mut seen_new) = (0, 0);
    // Twenty kills spread deterministically over the whole run, a little past its end. The tests
    // share the machine, so a run may now take longer than the one measured: while no kill has yet
    // landed after the swap, up to ten more rounds wait one more run's length each time.
    let mut i = 0u64;
    while i < 20 || (seen_new == 0 && i < 30) {
        let delay = if i < 20 {
            i * (whole + whole / 4) / 20
        } else {
            (i - 18) * (whole + whole / 4)
        };
        put_executable(&f.installed(), &v1);
        let _ = std::fs::remove_file(f.install.join("rget.previous"));
        let mut c = f.command(
            &f.installed(),
            &["upgrade", "--prefix", f.install.to_str().unwrap()],
        );
        let mut child = spawn(c.stdout(Stdio::null()).stderr(Stdio::null()));
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(f.installed()).expect("rget is always there");
        assert!(
            now == v1 || now == v2,
            "kill {i}: rget is neither the old nor the new binary"
        );
        seen_new += usize::from(now == v2);
        seen_old += usize::from(now == v1);
        let ran = run_version(&f.installed());
        assert!(ran.status.success(), "kill {i}: rget does not run");
        // Whatever was kept as previous is complete too.
        if let Ok(p) = std::fs::read(f.install.join("rget.previous")) {
            assert!(p == v1, "kill {i}: rget.previous is not the old binary");
        }
        i += 1;
    }
    assert!(
        seen_new > 0,
        "no run got as far as the swap: the kills were all too early"
    );
    assert!(
        seen_old > 0,
        "every run finished: no kill landed during an upgrade"
    );
}

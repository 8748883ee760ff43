//! End-to-end tests of `rget-bootstrap`: a real release of the `rget` binary Cargo built for these
//! tests, its `SHA256SUMS` signed as `minisign` does, recorded in a real `rget log serve`,
//! served over HTTPS with a test CA; a bootstrap built with those pins (`RGET_PINNED_DIR`), run with
//! `--cacert` and `--prefix`. Then the refusals, each ending non-zero with the destination untouched.
//!
//! The bootstrap is built (debug, `cargo build -p rget-bootstrap`, in `<target>/bootstrap-e2e`) once
//! per pin set and test binary: the shared world below has one release, so the pins are the same
//! for every test but the quorum one.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::common::rng::{Rng, crash_seed};
use crate::common::{self, RGET, assert_failed, https, listing, release, text};

use release::{Release, VERSION, World, build_bootstrap, rget_file};
use rget::core::note::SignerKey;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The name of the release file: rget for this machine.
fn name() -> String {
    rget_file(VERSION)
}

/// The shared world: one log, one HTTPS server, one signed and logged release of rget.
struct Shared {
    w: World,
    /// The release of the real rget binary at `/rel/v<VERSION>/`.
    rel: Release,
    /// A signed SHA256SUMS listing another digest for the same name, logged at the canonical URL.
    disagree: Release,
    /// The bootstrap built with the honest pins.
    boot: PathBuf,
    /// Those pins.
    pins: PathBuf,
}

// Shared by all tests of this binary: the servers are used through `&self` (routes behind a mutex).
static SHARED: OnceLock<Shared> = OnceLock::new();
static QUORUM_BOOT: OnceLock<PathBuf> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        // A static is never dropped: its directory lives under the target directory and the next
        // run removes it.
        let w = World::in_swept_dir(&common::target_dir("bootstrap-e2e-worlds"));
        let bytes = std::fs::read(RGET).expect("read the rget binary");
        let rel = w.publish(&format!("/rel/v{VERSION}"), &[(&name(), bytes)], true);
        let pins = write_pins(&w, "pins", &w.policy_text(), &rel);
        let boot = build_bootstrap(&pins, &w.root.join("boot-honest"));
        let disagree = logged_disagreeing_sums(&w, &rel);
        // Everything that needs the log is done (the bootstrap verifies offline, from the proof
        // files); a static is never dropped, so its server would outlive the test process: stop it.
        let _ = std::process::Command::new("kill")
            .arg(w.log.pid().to_string())
            .status();
        Shared {
            w,
            rel,
            disagree,
            boot,
            pins,
        }
    })
}

/// A pin directory for `rel`: its SHA256SUMS, the release key, `policy`, the `/rel/v{version}/` source.
fn write_pins(w: &World, dir: &str, policy: &str, rel: &Release) -> PathBuf {
    w.write_pins(dir, &rel.sums, policy, "/rel/v{version}/")
}

/// The honest bootstrap installing into `dir` from the mirror at `mirror` (a URL ending in `/`).
fn install_from_mirror(s: &Shared, dir: &Path, mirror: &str) -> Output {
    bootstrap(
        &s.boot,
        &s.w,
        &["--prefix", dir.to_str().unwrap(), "--mirror", mirror],
    )
}

/// Runs a bootstrap with the world's isolated environment and the test CA.
fn bootstrap(boot: &Path, w: &World, args: &[&str]) -> Output {
    common::output(
        Command::new(boot)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", w.root.join("home"))
            .arg("--cacert")
            .arg(w.ca.pem_path())
            .args(args)
            .stdin(Stdio::null()),
    )
}

/// A fresh install directory holding an "old rget".
fn old_install(w: &World, tag: &str) -> PathBuf {
    let d = w.dir(&format!("install-{tag}"));
    std::fs::write(d.join("rget"), b"old rget\n").unwrap();
    d
}

/// The run failed with `code`, its error mentions `needle`, and the install directory holds only the
/// untouched old rget (no temporary file, no rget.previous).
#[track_caller]
fn assert_refused(out: &Output, code: i32, needle: &str, dir: &Path) {
    assert_failed(out, code, needle);
    assert_eq!(std::fs::read(dir.join("rget")).unwrap(), b"old rget\n");
    assert_eq!(listing(dir), ["rget"], "the install directory changed");
}

/// Serves a mirror of the honest release at `prefix`; returns its URL (ending in `/`).
fn mirror(s: &Shared, prefix: &str) -> String {
    let mut m = s.rel.clone();
    m.prefix = prefix.to_owned();
    s.w.serve(&m);
    format!("{}/", s.w.url(prefix))
}

#[test]
fn installs_and_runs_exactly_the_logged_release() {
    let s = shared();
    let dir = old_install(&s.w, "ok");
    // ARGS: the executed rget verifies itself (the bootstrap's default ARGS are `self verify`, with
    // the pins compiled into rget; these tests' rget carries the placeholder pins, so the test's pins
    // are passed explicitly).
    let state = s.w.dir("self-verify-state");
    let pem = s.w.ca.pem_path();
    let out = bootstrap(
        &s.boot,
        &s.w,
        &[
            "--prefix",
            dir.to_str().unwrap(),
            "--",
            "self",
            "verify",
            "--pins",
            s.pins.to_str().unwrap(),
            "--cacert",
            pem.to_str().unwrap(),
            "--allow-http",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "stderr:\n{err}");
    // Each check printed as it passed.
    for line in [
        "ok: ".to_owned() + &name() + " has the pinned SHA-256",
        "ok: SHA256SUMS lists the same digest".to_owned(),
        "ok: SHA256SUMS is signed by pinned release key".to_owned(),
        format!("ok: {} is in log", s.rel.sums_url),
        "sealed memfd".to_owned(),
    ] {
        assert!(err.contains(&line), "{line:?} not in:\n{err}");
    }
    // The executed program is rget, and what it hashed as itself (/proc/self/exe: the sealed memfd)
    // is the release: `self verify` prints that digest and the log index of the release's record.
    let stdout = text(&out.stdout);
    let digest = rget::core::digest::sha256(s.rel.file(&name())).to_hex();
    assert!(
        stdout.contains(&format!("rget {VERSION}")) && stdout.contains(&digest),
        "stdout: {stdout}"
    );
    assert!(stdout.contains("index "), "stdout: {stdout}");
    let installed = std::fs::read(dir.join("rget")).unwrap();
    assert!(installed == s.rel.file(&name()), "installed bytes differ");
    assert_eq!(
        std::fs::read(dir.join("rget.previous")).unwrap(),
        b"old rget\n"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.join("rget"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    // ARGS after `--` go to the executed rget; the installed one becomes the previous one.
    let out = bootstrap(
        &s.boot,
        &s.w,
        &["--prefix", dir.to_str().unwrap(), "--", "sums", "--help"],
    );
    assert!(out.status.success(), "stderr:\n{}", text(&out.stderr));
    assert!(text(&out.stdout).to_lowercase().contains("usage"));
    assert!(std::fs::read(dir.join("rget.previous")).unwrap() == installed);
}

#[test]
fn dry_run_verifies_without_installing() {
    let s = shared();
    let dir = old_install(&s.w, "dry");
    let m = mirror(s, &format!("/mirror-dry/v{VERSION}"));
    let out = bootstrap(
        &s.boot,
        &s.w,
        &[
            "--prefix",
            dir.to_str().unwrap(),
            "--dry-run",
            "--mirror",
            &m,
        ],
    );
    assert!(out.status.success(), "stderr:\n{}", text(&out.stderr));
    let err = text(&out.stderr);
    // The record is checked at the canonical URL, not the mirror's.
    assert!(
        err.contains(&format!("ok: {} is in log", s.rel.sums_url)),
        "{err}"
    );
    assert!(err.contains(&format!("downloaded: from {m}")), "{err}");
    assert_eq!(std::fs::read(dir.join("rget")).unwrap(), b"old rget\n");
}

#[test]
fn refuses_a_binary_swapped_on_the_mirror() {
    let s = shared();
    let dir = old_install(&s.w, "swap");
    let prefix = format!("/mirror-swap/v{VERSION}");
    let m = mirror(s, &prefix);
    s.w.srv.route(
        &format!("{prefix}/{}", name()),
        https::Reply::body(b"#!/bin/sh\necho evil\n"),
    );
    let out = install_from_mirror(s, &dir, &m);
    assert_refused(&out, 1, "but this bootstrap pins", &dir);
}

#[test]
fn refuses_sums_swapped_for_an_unlogged_one() {
    let s = shared();
    let dir = old_install(&s.w, "unlogged");
    // Same binary, SHA256SUMS with one more file, signed by the release key, never logged.
    let prefix = format!("/mirror-unlogged/v{VERSION}");
    let other = s.w.publish(
        &prefix,
        &[
            (&name(), s.rel.file(&name()).to_vec()),
            ("extra.txt", b"extra\n".to_vec()),
        ],
        false,
    );
    s.w.srv.route(
        &other.path("SHA256SUMS.tlog-proof"),
        https::Reply::body(&s.rel.proof),
    );
    let m = format!("{}/", s.w.url(&prefix));
    let out = install_from_mirror(s, &dir, &m);
    assert_refused(&out, 1, "is not in the log", &dir);
}

/// A signed SHA256SUMS listing another digest for the release's name, logged at the canonical URL,
/// served with the pinned binary by a mirror.
fn logged_disagreeing_sums(w: &World, rel: &Release) -> Release {
    let prefix = format!("/mirror-disagree/v{VERSION}");
    let mut other = w.publish(&prefix, &[(&name(), b"another build\n".to_vec())], false);
    let out = w.submit(
        &rel.sums_url,
        &other.dir.join("SHA256SUMS"),
        &w.root.join("publisher-state-disagree"),
    );
    assert!(out.status.success(), "submit: {}", text(&out.stderr));
    other.proof = std::fs::read(other.dir.join("SHA256SUMS.tlog-proof")).unwrap();
    other.files = vec![(name(), rel.file(&name()).to_vec())];
    other
}

#[test]
fn refuses_logged_sums_that_disagree_with_the_pinned_digest() {
    let s = shared();
    let dir = old_install(&s.w, "disagree");
    s.w.serve(&s.disagree);
    let m = format!("{}/", s.w.url(&format!("/mirror-disagree/v{VERSION}")));
    let out = install_from_mirror(s, &dir, &m);
    assert_refused(&out, 1, "but SHA256SUMS lists", &dir);
}

#[test]
fn refuses_a_signature_by_another_key() {
    let s = shared();
    let dir = old_install(&s.w, "key");
    let (_, sec) = s.w.minisign.keypair(&s.w.root.join("other-keys"), "other");
    let signed = s.w.dir("other-signed");
    std::fs::write(signed.join("SHA256SUMS"), &s.rel.sums).unwrap();
    s.w.minisign.sign(&sec, &signed.join("SHA256SUMS"), None);
    let prefix = format!("/mirror-key/v{VERSION}");
    let m = mirror(s, &prefix);
    s.w.srv.route(
        &format!("{prefix}/SHA256SUMS.minisig"),
        https::Reply::body(std::fs::read(signed.join("SHA256SUMS.minisig")).unwrap()),
    );
    let out = install_from_mirror(s, &dir, &m);
    assert_refused(&out, 1, "which is not a pinned release key", &dir);
}

#[test]
fn refuses_when_the_quorum_is_not_met() {
    let s = shared();
    let boot = QUORUM_BOOT.get_or_init(|| {
        let witness = SignerKey::generate("w1").unwrap();
        let wkey = rget::core::cosignature::verifier_key(&witness);
        let policy = format!(
            "log {} {}\nwitness w1 {wkey}\nquorum w1\n",
            s.w.vkey, s.w.log_url
        );
        let pins = write_pins(&s.w, "pins-quorum", &policy, &s.rel);
        build_bootstrap(&pins, &s.w.root.join("boot-quorum"))
    });
    let dir = old_install(&s.w, "quorum");
    let out = bootstrap(boot, &s.w, &["--prefix", dir.to_str().unwrap()]);
    assert_refused(&out, 1, "quorum", &dir);
}

#[test]
fn refuses_an_unpinned_version() {
    let s = shared();
    let dir = old_install(&s.w, "unpinned");
    let out = bootstrap(
        &s.boot,
        &s.w,
        &["--prefix", dir.to_str().unwrap(), "--version", "9.9.9"],
    );
    assert_refused(&out, 2, "is not pinned", &dir);
    assert_eq!(text(&out.stderr).lines().count(), 1, "one-line error");
}

#[test]
fn the_build_refuses_a_malformed_pin_set() {
    let s = shared();
    let pins = write_pins(&s.w, "pins-bad", "quorum none\n", &s.rel);
    let out = release::bootstrap_build_output(&pins);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "a policy without a log was accepted");
    assert!(
        err.contains("malformed pin set") && err.contains("policy: no `log` line"),
        "{err}"
    );
}

/// What runs is the sealed memfd holding the verified bytes, not the installed file: the process's
/// executable is a memfd, and replacing the installed file while it runs changes nothing about it.
#[test]
fn the_executed_program_is_the_sealed_memfd_not_the_installed_file() {
    use std::io::{BufRead, BufReader};
    let s = shared();
    let dir = old_install(&s.w, "memfd");
    let log_dir = s.w.root.join("memfd-log");
    let init = Command::new(RGET)
        .args(["log", "init", "--origin", "memfd.example/log"])
        .arg(&log_dir)
        .output()
        .unwrap();
    assert!(init.status.success());
    // ARGS: a long-running rget (a log server), so its process can be inspected while it runs.
    let mut child = common::spawn(
        Command::new(&s.boot)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", s.w.root.join("home"))
            .arg("--cacert")
            .arg(s.w.ca.pem_path())
            .args(["--prefix", dir.to_str().unwrap(), "--", "log", "serve"])
            .arg(&log_dir)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    );
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child = Kill(child);
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    // exec replaced the bootstrap in the same process: its executable is now the memfd.
    let exe = std::fs::read_link(format!("/proc/{}/exe", child.0.id())).unwrap();
    assert!(
        exe.to_string_lossy().starts_with("/memfd:"),
        "executable is {exe:?}"
    );
    // Swap the installed file: the running program does not change.
    std::fs::write(dir.join("rget"), b"#!/bin/sh\necho tampered\n").unwrap();
    let body = ureq::get(&format!("{base}/checkpoint"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(body.starts_with("memfd.example/log\n0\n"), "{body}");
    let exe_bytes = std::fs::read(format!("/proc/{}/exe", child.0.id())).unwrap();
    assert!(
        exe_bytes == s.rel.file(&name()),
        "the running image is the verified release"
    );
}

/// kill -9 at random moments of a bootstrap run (20 times) never leaves a partial `rget`: what is
/// installed is always the old program or the complete new release, and it runs.
#[test]
fn kill_9_never_leaves_a_partial_rget() {
    use std::os::unix::fs::PermissionsExt;
    let s = shared();
    let dir = s.w.dir("install-kill");
    let old = b"#!/bin/sh\necho old rget\n";
    std::fs::write(dir.join("rget"), old).unwrap();
    std::fs::set_permissions(dir.join("rget"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut rng = Rng(crash_seed());
    // Spread the kills over a whole run (download, checks, install, exec), and a little past it.
    let t = std::time::Instant::now();
    let probe = bootstrap(
        &s.boot,
        &s.w,
        &[
            "--prefix",
            s.w.dir("install-probe").to_str().unwrap(),
            "--",
            "--version",
        ],
    );
    assert!(probe.status.success(), "{}", text(&probe.stderr));
    let span = (t.elapsed().as_millis() as u64 * 6 / 5).max(10);
    let (mut saw_old, mut saw_new) = (0, 0);
    for round in 0..20 {
        let mut child = common::spawn(
            Command::new(&s.boot)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("HOME", s.w.root.join("home"))
                .arg("--cacert")
                .arg(s.w.ca.pem_path())
                .args(["--prefix", dir.to_str().unwrap()])
                .args(if round % 5 == 4 {
                    &["--dry-run"][..]
                } else {
                    &[][..]
                })
                // The executed rget only prints its version: nothing here may reach the network.
                .args(["--", "--version"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        std::thread::sleep(std::time::Duration::from_millis(rng.below(span)));
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(dir.join("rget")).unwrap();
        let run = common::output(Command::new(dir.join("rget")).arg("--version"));
        assert!(
            run.status.success(),
            "round {round}: the installed rget does not run"
        );
        if now == old {
            saw_old += 1;
            assert_eq!(text(&run.stdout), "old rget\n");
        } else {
            assert!(
                now == s.rel.file(&name()),
                "round {round}: a partial or foreign rget is installed"
            );
            assert!(text(&run.stdout).contains(VERSION));
            saw_new += 1;
            // Put the old one back so every round can catch the swap.
            std::fs::write(dir.join("rget.tmp-restore"), old).unwrap();
            std::fs::set_permissions(
                dir.join("rget.tmp-restore"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
            std::fs::rename(dir.join("rget.tmp-restore"), dir.join("rget")).unwrap();
        }
    }
    eprintln!("run takes ~{span} ms; old kept {saw_old} times, new installed {saw_new} times");
}

/// The bootstrap with the test CA (`--cacert`) and no `--` arguments, so that the executed rget runs
/// its default `self verify` under the pins compiled into it (the committed placeholders, whose
/// source is example.org). So that nothing leaves this machine, every https request but those to
/// 127.0.0.1 goes to a proxy that refuses connections. State under `s.w.root/<state>`.
fn offline_bootstrap(s: &Shared, state: &str) -> Command {
    let mut c = Command::new(&s.boot);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", s.w.root.join("home"))
        .env("HTTPS_PROXY", "http://127.0.0.1:1")
        .env("NO_PROXY", "127.0.0.1")
        .env("XDG_STATE_HOME", s.w.root.join(state))
        .arg("--cacert")
        .arg(s.w.ca.pem_path())
        .stdin(Stdio::null());
    c
}

#[test]
fn default_args_run_self_verify_under_the_pins_compiled_into_rget() {
    let s = shared();
    let dir = old_install(&s.w, "default-args");
    // No `--`: the executed rget runs `self verify` with the pins compiled into it (the committed
    // placeholders, whose source is example.org). So that nothing leaves this machine, every https
    // request but those to 127.0.0.1 goes to a proxy that refuses connections.
    let out = common::output(
        offline_bootstrap(s, "default-args-state").args(["--prefix", dir.to_str().unwrap()]),
    );
    let err = text(&out.stderr);
    // The bootstrap installed the verified rget, which then failed to reach the placeholder source:
    // rget's exit code (4, network), and its message naming the compiled-in source.
    assert!(err.contains("installed: "), "stderr:\n{err}");
    assert_eq!(out.status.code(), Some(4), "stderr:\n{err}");
    assert!(
        err.contains("rget: https://example.org/rget/releases/download/v"),
        "stderr:\n{err}"
    );
    assert!(std::fs::read(dir.join("rget")).unwrap() == s.rel.file(&name()));
}

/// The default `self verify` reaches the release the way the bootstrap did: with its `--cacert` and
/// `--mirror`. Here the mirror (HTTPS with the test CA) serves the test's release, which the rget's
/// compiled-in placeholder pins do not trust: the executed rget gets past the network (it would
/// end with exit 4 without the CA, or without the mirror: the placeholder source is example.org,
/// refused by the proxy) and stops at the release key, exit 1.
#[test]
fn default_self_verify_gets_the_bootstraps_cacert_and_mirror() {
    let s = shared();
    let dir = old_install(&s.w, "default-args-mirror");
    let m = mirror(s, &format!("/mirror-default-args/v{VERSION}"));
    let out = common::output(offline_bootstrap(s, "default-args-mirror-state").args([
        "--prefix",
        dir.to_str().unwrap(),
        "--mirror",
        &m,
    ]));
    let err = text(&out.stderr);
    assert!(err.contains("installed: "), "stderr:\n{err}");
    let pem = s.w.ca.pem_path();
    let running = format!(
        "running: rget self verify --cacert {} --mirror {m}",
        pem.display()
    );
    assert!(err.contains(&running), "{running:?} not in:\n{err}");
    let last = err.lines().last().unwrap_or_default();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{err}");
    assert!(last.starts_with("rget: "), "{last}");
    assert!(!last.contains("example.org"), "{last}");
}

/// Where memfd execution is refused (`vm.memfd_noexec=2`, set here in a new pid namespace so the host
/// is unaffected: the sysctl is per pid namespace), the bootstrap still installs the verified rget,
/// says that it runs the installed file instead, and runs it. Needs root for `unshare` (CI runs as
/// root on this machine).
#[test]
fn where_memfd_execution_is_refused_it_runs_the_installed_file_and_says_so() {
    let s = shared();
    let dir = old_install(&s.w, "noexec");
    let script = format!(
        "echo 2 > /proc/sys/vm/memfd_noexec && exec {} --cacert {} --prefix {} -- --version",
        s.boot.display(),
        s.w.ca.pem_path().display(),
        dir.display()
    );
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", &script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", s.w.root.join("home"))
        .stdin(Stdio::null())
        .output()
        .expect("run unshare");
    let err = text(&out.stderr);
    assert!(out.status.success(), "stderr:\n{err}");
    assert!(
        err.contains("note: memfd execution is not available here"),
        "{err}"
    );
    assert!(err.contains("running the installed file"), "{err}");
    assert!(
        !err.contains("sealed memfd (SHA-256 re-checked there)"),
        "{err}"
    );
    assert!(text(&out.stdout).contains(VERSION), "{}", text(&out.stdout));
    assert!(std::fs::read(dir.join("rget")).unwrap() == s.rel.file(&name()));
    // The host's setting is untouched.
    if let Ok(v) = std::fs::read_to_string("/proc/sys/vm/memfd_noexec") {
        assert_ne!(v.trim(), "2", "the test changed the host's vm.memfd_noexec");
    }
}

//! End-to-end tests of `rget self verify | upgrade | rollback` with real processes: releases of the
//! `rget` binary Cargo built for these tests, `SHA256SUMS` signed as `minisign` does, recorded
//! in a real `rget log serve`, served over HTTPS with a test CA, and a pin directory (`--pins`) with
//! the release key, the policy and the source template (the binary's compiled-in pins are the
//! committed placeholders, which no test can sign for).
//!
//! Newer releases are the same program with bytes appended (an ELF runs the same with trailing data):
//! a different digest, a release marker naming the new version, and still a working rget.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

use crate::common::{
    RGET, assert_failed, assert_ok, https, mkfifo, output, parse_json, release, spawn, text,
};

use https::Reply;
use release::rget_binary as binary;
use release::{Release, VERSION, World, rget_file};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sha256_hex(b: &[u8]) -> String {
    rget::core::digest::sha256(b).to_hex()
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

/// `--prefix` naming an empty directory (or one not made yet) gets the release installed, also when
/// it is this rget's own version: "already installed" is said only of a DIR/rget that is this very
/// binary.
#[test]
fn upgrade_into_an_empty_or_absent_prefix_installs_the_release() {
    let f = Fixture::new(&[VERSION]);
    f.latest(VERSION);
    let released = binary(VERSION, b"");
    for name in ["empty", "absent/bin"] {
        let dir = f.w.root.join(name);
        if name == "empty" {
            std::fs::create_dir(&dir).unwrap();
        }
        let prefix = dir.to_str().unwrap();
        let out = f.run(RGET.as_ref(), &["upgrade", "--prefix", prefix]);
        let said = assert_ok(&out);
        assert!(
            said.contains(&format!("installed rget {VERSION} as ")),
            "{said}"
        );
        assert_eq!(std::fs::read(dir.join("rget")).unwrap(), released);
        assert!(!dir.join("rget.previous").exists(), "nothing was replaced");
        // Now it is there: nothing to do.
        let again = assert_ok(&f.run(RGET.as_ref(), &["upgrade", "--prefix", prefix]));
        assert!(again.contains("already installed"), "{again}");
    }
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

/// The versions of the fixtures below, and their binaries.
const V2: &str = "0.2.0";
const V3: &str = "0.3.0";

fn known(f: &Fixture) -> [(String, Vec<u8>); 3] {
    let _ = f;
    [
        (VERSION.to_owned(), std::fs::read(RGET).unwrap()),
        (V2.to_owned(), binary(V2, b"")),
        (V3.to_owned(), binary(V3, b"")),
    ]
}

/// Which known version `bytes` are; panics naming `what` if none.
#[track_caller]
fn version_of(known: &[(String, Vec<u8>)], bytes: &[u8], what: &str) -> String {
    known
        .iter()
        .find(|(_, b)| b == bytes)
        .map(|(v, _)| v.clone())
        .unwrap_or_else(|| panic!("{what} is none of the released binaries"))
}

/// (`rget`, `rget.previous`) in the install directory, as versions.
fn installed_versions(f: &Fixture, known: &[(String, Vec<u8>)]) -> (String, Option<String>) {
    let cur = std::fs::read(f.installed()).expect("rget is always there");
    let prev = std::fs::read(f.install.join("rget.previous")).ok();
    (
        version_of(known, &cur, "rget"),
        prev.map(|p| version_of(known, &p, "rget.previous")),
    )
}

/// Names in the install directory that start with a dot.
fn hidden(f: &Fixture) -> Vec<String> {
    f.listing()
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

/// Two or three `self upgrade --to` and `self rollback` at once, in several rounds: they take turns
/// (a lock on the install directory), so each reports what it did to what the one before it left,
/// and the last one to finish reports exactly what is installed. None leaves a hidden file.
#[test]
fn concurrent_upgrades_and_rollbacks_report_what_is_installed() {
    let f = Fixture::new(&[VERSION, V2, V3]);
    let known = known(&f);
    let mut rng = crate::common::rng::Rng(crate::common::rng::crash_seed());
    let prefix = f.install.to_str().unwrap().to_owned();
    for round in 0..5 {
        let mut ops: Vec<Vec<&str>> = vec![
            vec!["upgrade", "--to", V2],
            vec!["upgrade", "--to", V3],
            vec!["rollback"],
        ];
        // Two or three of them, in a random order.
        let n = 2 + rng.below(2) as usize;
        for i in (1..ops.len()).rev() {
            ops.swap(i, rng.below(i as u64 + 1) as usize);
        }
        ops.truncate(n);
        let mut running: Vec<(Vec<&str>, std::process::Child)> = ops
            .into_iter()
            .map(|op| {
                let mut args = op.clone();
                args.extend(["--json", "--prefix", &prefix]);
                let mut c = f.command(RGET.as_ref(), &args);
                c.stdout(Stdio::piped()).stderr(Stdio::piped());
                (op, spawn(&mut c))
            })
            .collect();
        // Collect them in the order they finish.
        let mut finished = Vec::new();
        while !running.is_empty() {
            let mut i = 0;
            while i < running.len() {
                if running[i].1.try_wait().unwrap().is_some() {
                    let (op, child) = running.remove(i);
                    finished.push((op, child.wait_with_output().unwrap()));
                } else {
                    i += 1;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let (cur, prev) = installed_versions(&f, &known);
        let mut last = None;
        for (op, out) in &finished {
            let err = text(&out.stderr);
            match out.status.code() {
                Some(0) => {
                    let json = text(&out.stdout);
                    let name = parse_json(&json)["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    last = Some((op.clone(), name));
                }
                // A rollback with nothing kept, in the first round: a clean refusal.
                Some(5) if op[0] == "rollback" => {
                    assert!(err.contains("no previous rget"), "{err}")
                }
                code => panic!("round {round}: {op:?} exited {code:?}: {err}"),
            }
        }
        let (op, name) = last.expect("at least one run succeeded");
        assert_eq!(
            name,
            rget_file(&cur),
            "round {round}: the last run ({op:?}) reported {name}, but rget {cur} is installed"
        );
        assert!(hidden(&f).is_empty(), "round {round}: {:?}", f.listing());
        eprintln!(
            "round {round}: {:?} -> rget {cur}, previous {prev:?}",
            finished
                .iter()
                .map(|(o, out)| (o.join(" "), out.status.code()))
                .collect::<Vec<_>>()
        );
    }
}

/// 40 `self upgrade` and `self rollback` runs killed (SIGKILL) at random moments of their run
/// (seeded: `RGET_CRASH_SEED` replays a schedule). After each kill `rget` is a whole released
/// binary; the next run (here a cheap `self upgrade --to 0.0.1`, which takes the lock, cleans up,
/// and refuses the downgrade) leaves no hidden file; and no binary is lost: a killed rollback leaves the two
/// binaries it swaps under the two names, a killed upgrade the old or the new one in place with the
/// old one kept.
#[test]
fn forty_killed_upgrades_and_rollbacks_leave_no_hidden_files_and_lose_no_binary() {
    let f = Fixture::new(&[VERSION, V2, V3]);
    let known = known(&f);
    let prefix = f.install.to_str().unwrap().to_owned();
    let mut rng = crate::common::rng::Rng(crate::common::rng::crash_seed());
    // How long each takes here, to spread the kills over it.
    let timed = |args: &[&str]| {
        let t = std::time::Instant::now();
        assert_ok(&f.run_installed(args));
        t.elapsed().as_millis() as u64
    };
    let up = timed(&["upgrade", "--to", V2]);
    let back = timed(&["rollback"]);
    let (mut changed, mut unchanged) = (0, 0);
    for kill in 0..40 {
        let before = installed_versions(&f, &known);
        // Always a change: an upgrade to the version not installed, or a rollback.
        let other = if before.0 == V2 { V3 } else { V2 };
        let (args, whole): (Vec<&str>, u64) = match rng.below(2) {
            0 => (vec!["upgrade", "--to", other], up),
            _ => (vec!["rollback"], back),
        };
        let mut all = args.clone();
        all.extend(["--prefix", &prefix]);
        let mut c = f.command(RGET.as_ref(), &all);
        let mut child = spawn(c.stdout(Stdio::null()).stderr(Stdio::null()));
        // Over two and a half times the measured run: the machine is shared, and a run may take
        // twice as long as the one measured; some kills must land after the swap too.
        let delay = rng.below(whole * 5 / 2 + 1);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let now = installed_versions(&f, &known);
        assert!(
            run_version(&f.installed()).status.success(),
            "kill {kill}: rget does not run"
        );
        // The next run cleans up what the killed one left (this one stops right after, refusing
        // a downgrade it was not allowed).
        let clean = f.run(
            RGET.as_ref(),
            &["upgrade", "--to", "0.0.1", "--prefix", &prefix],
        );
        assert_fails(&clean, 2, "--allow-downgrade");
        assert!(
            hidden(&f).is_empty(),
            "kill {kill} ({args:?} after {delay} ms): hidden files stay: {:?}",
            f.listing()
        );
        let after = installed_versions(&f, &known);
        assert_eq!(after.0, now.0, "kill {kill}: the clean-up changed rget");
        if args[0] == "rollback" {
            // Both binaries it swaps are kept, in one order or the other.
            let mut was = vec![Some(before.0.clone()), before.1.clone()];
            let mut is = vec![Some(after.0.clone()), after.1.clone()];
            was.sort();
            is.sort();
            assert_eq!(
                is, was,
                "kill {kill} ({args:?} after {delay} ms): a binary was lost"
            );
        } else if after.0 == before.0 {
            assert!(
                after.1 == before.1 || after.1.as_deref() == Some(&before.0),
                "kill {kill} ({args:?} after {delay} ms): {before:?} became {after:?}"
            );
        } else {
            assert_eq!(
                after.0, args[2],
                "kill {kill}: rget is neither the old nor the new"
            );
            assert_eq!(
                after.1.as_deref(),
                Some(before.0.as_str()),
                "kill {kill}: the old one is not kept"
            );
        }
        eprintln!("kill {kill}: {args:?} after {delay} of {whole} ms: {before:?} -> {after:?}");
        if after == before {
            unchanged += 1;
        } else {
            changed += 1;
        }
    }
    eprintln!("{changed} killed runs had changed the install, {unchanged} had not");
    assert!(
        changed > 0 && unchanged > 0,
        "the kills all landed before or all after the swap"
    );
}

/// A FIFO, a directory, a symbolic link or (as root) a device at `rget.previous`: `self rollback`
/// and `self upgrade` refuse it at once (never waiting on the FIFO), in one line that names
/// `rget.previous`, and leave `rget` as it was.
#[test]
fn special_files_at_rget_previous_are_refused_without_hanging() {
    let f = Fixture::new(&[VERSION, V2]);
    let previous = f.install.join("rget.previous");
    type Make<'a> = Box<dyn Fn() + 'a>;
    let mut kinds: Vec<(&str, Make)> = vec![
        ("a FIFO", Box::new(|| mkfifo(&previous))),
        (
            "a directory",
            Box::new(|| std::fs::create_dir(&previous).unwrap()),
        ),
        (
            "a symbolic link",
            Box::new(|| std::os::unix::fs::symlink("rget", &previous).unwrap()),
        ),
    ];
    if rget::fetch::sys::effective_uid() == 0 {
        kinds.push((
            "a device",
            Box::new(|| {
                assert!(
                    Command::new("mknod")
                        .arg(&previous)
                        .args(["c", "1", "3"])
                        .status()
                        .unwrap()
                        .success()
                )
            }),
        ));
    }
    let before = std::fs::read(f.installed()).unwrap();
    for (what, make) in &kinds {
        make();
        for args in [&["rollback"][..], &["upgrade", "--to", V2][..]] {
            let t = std::time::Instant::now();
            let out = f.run_installed(args);
            assert!(
                t.elapsed().as_secs() < 30,
                "{what}: {args:?} took {:?}",
                t.elapsed()
            );
            assert_fails(
                &out,
                7,
                &format!("rget.previous is {what}, not a regular file"),
            );
            assert!(
                std::fs::read(f.installed()).unwrap() == before,
                "{what}: rget changed"
            );
        }
        let m = std::fs::symlink_metadata(&previous).unwrap();
        if m.is_dir() {
            std::fs::remove_dir(&previous).unwrap();
        } else {
            std::fs::remove_file(&previous).unwrap();
        }
    }
}

/// A run that finds another one holding the install lock says so at once, on one line naming the
/// directory, instead of sitting silent: then it waits, and when the lock is free it goes on and
/// upgrades; when --max-time runs out first it stops with exit 4, one line saying why, and leaves
/// `rget` as it was. (The lock is held here by the test, as a running `self upgrade` holds it.)
#[test]
fn a_run_behind_another_says_it_waits_and_then_goes_on_or_times_out() {
    use std::io::{BufRead, BufReader};
    let f = Fixture::new(&[VERSION, V2]);
    let before = std::fs::read(f.installed()).unwrap();
    let held = std::fs::File::open(&f.install).unwrap();
    held.lock().unwrap();

    let t = std::time::Instant::now();
    let out = f.run_installed(&["upgrade", "--to", V2, "--max-time", "2"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("another rget is upgrading or rolling back")
            && lines[0].contains("waiting for it to finish"),
        "{err}"
    );
    assert!(lines[1].contains("ran out while waiting"), "{err}");
    assert!(t.elapsed() >= std::time::Duration::from_secs(2), "{err}");
    assert!(
        std::fs::read(f.installed()).unwrap() == before,
        "rget changed"
    );

    let prefix = f.install.to_str().unwrap().to_owned();
    let mut c = f.command(
        &f.installed(),
        &["upgrade", "--to", V2, "--json", "--prefix", &prefix],
    );
    let mut child = spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("waiting for it to finish"), "{first}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "it did not wait for the lock"
    );
    assert!(
        std::fs::read(f.installed()).unwrap() == before,
        "rget changed while locked"
    );
    drop(held);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let json = text(&out.stdout);
    assert_eq!(parse_json(&json)["name"], rget_file(V2));
    let (cur, _) = installed_versions(&f, &known(&f));
    assert_eq!(cur, V2);
}

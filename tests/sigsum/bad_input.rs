//! Bad input on the Sigsum path, each against the real binaries (a real Sigsum log and witness, an
//! HTTPS server serving the spoiled files): proof files with extra or missing lines, a wrong
//! version, hex of the wrong length, more than 64 cosignatures, an inclusion path longer than the
//! tree allows, a leaf signed by a key that is not trusted, a tree head from a log not in the
//! policy, a log answering 202 for ever, huge and endless answers. Each gets one line on standard
//! error naming the problem, its documented exit code, and nothing at the destination (no file, no
//! temporary file).

use crate::common::https::Reply;
use crate::common::release::data;
use crate::common::sigsum_log::{SigsumWorld, keygen_ssh, submit_args};
use crate::common::{assert_code, assert_ok, stderr};
use rget::core::digest::sha256;
use rget::core::sigsum::key_hash;
use rget::core::sigsum::proof::{Cosignature, SigsumProof};
use std::path::Path;
use std::process::Output;

/// Asserts a refusal: `code`, one line on standard error containing every one of `want`, and an
/// empty output directory.
#[track_caller]
fn refused(o: &Output, code: i32, want: &[&str], out_dir: &Path) {
    assert_code(o, code);
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for w in want {
        assert!(err.contains(w), "{w:?} not in: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(out_dir)
        .expect("read out dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "nothing may be written: {left:?}");
}

#[test]
fn spoiled_proofs_untrusted_signers_and_foreign_logs_are_refused_with_their_exit_codes() {
    let w = SigsumWorld::new(1);
    w.release("/rel/v0.9", &[("app-0.9.tar.gz", data(100, 9))], &[]);
    let rel = w.release("/rel/v1.0", &[("app-1.0.tar.gz", data(4000, 1))], &[]);
    let url = w.url("/rel/v1.0/app-1.0.tar.gz");
    let good = String::from_utf8(rel.proof.clone()).expect("ASCII");
    let proof = SigsumProof::parse(good.as_bytes()).expect("proof");
    let out_dir = w.dir("out");
    let out = out_dir.join("app");
    let state = w.dir("state");
    let serve_proof = |text: &str| {
        w.srv
            .route("/rel/v1.0/SHA256SUMS.proof", Reply::body(text.as_bytes()))
    };
    let get = || w.get(&url, &out, &state);

    // The honest proof verifies (the state is then at the log's size 2).
    assert_ok(&get());
    std::fs::remove_file(&out).expect("rm");

    let root = format!("root_hash={}", proof.root_hash);
    let many_cosignatures: String = (0..65u8)
        .map(|i| Cosignature {
            key_hash: sha256(&[i]),
            timestamp: 1,
            signature: [i; 64],
        })
        .map(|c| {
            format!(
                "cosignature={} {} {}\n",
                c.key_hash,
                c.timestamp,
                hex::encode(c.signature)
            )
        })
        .collect();
    let node = format!("node_hash={}", proof.path[0]);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "an extra line",
            format!("{good}extra=1\n"),
            vec!["SHA256SUMS.proof: sigsum proof line", "node_hash"],
        ),
        (
            "a missing line",
            good.replacen(&format!("{root}\n"), "", 1),
            vec!["SHA256SUMS.proof: sigsum proof line 6: expected \"root_hash=<hex>\""],
        ),
        (
            "a wrong version",
            good.replacen("version=2", "version=3", 1),
            vec!["sigsum proof version \"3\" is not supported"],
        ),
        (
            "hex of the wrong length",
            good.replacen(&root, &root[..root.len() - 1], 1),
            vec!["root_hash is not 64 lowercase hex digits"],
        ),
        (
            "more than 64 cosignatures",
            good.replacen(
                "\n\nleaf_index",
                &format!("\n{many_cosignatures}\nleaf_index"),
                1,
            ),
            vec!["more than 64 cosignatures"],
        ),
        (
            "an inclusion path longer than the tree allows",
            good.replacen(&node, &format!("{node}\n{node}\n{node}"), 1),
            vec!["more node hashes than a tree of size 2 allows (1)"],
        ),
        (
            "a huge proof file",
            "version=2\n".repeat(10_000),
            vec!["SHA256SUMS.proof: body is larger than the limit of 32768 bytes"],
        ),
    ];
    for (what, text, want) in &cases {
        serve_proof(text);
        let o = get();
        eprintln!("{what}");
        refused(&o, 3, want, &out_dir);
    }
    // An endless proof file (no Content-Length, never ends).
    w.srv.route("/rel/v1.0/SHA256SUMS.proof", Reply::Endless);
    refused(
        &get(),
        3,
        &["body is larger than the limit of 32768 bytes"],
        &out_dir,
    );

    // A leaf whose key hash is not a trusted key: the same SHA256SUMS logged with another key.
    let other_key = w.root.join("keys").join("other.key");
    keygen_ssh(&mut w.command(&w.root), &other_key);
    let other = w.dir("other");
    std::fs::write(other.join("SHA256SUMS"), &rel.sums).expect("write");
    let publisher_state = w.root.join("publisher-state");
    assert_ok(
        &submit_args(
            &mut w.command(&w.root),
            &other.join("SHA256SUMS"),
            &w.policy,
            &other_key,
            &publisher_state,
        )
        .arg("--allow-http")
        .output()
        .expect("submit"),
    );
    let by_other = std::fs::read_to_string(other.join("SHA256SUMS.proof")).expect("proof");
    serve_proof(&by_other);
    refused(
        &get(),
        1,
        &[
            "the leaf is signed by key hash",
            "which is none of the 1 submitter keys",
        ],
        &out_dir,
    );

    // A tree head from a log not in the policy.
    let foreign = good.replacen(
        &format!("log={}", proof.log_key_hash),
        &format!("log={}", key_hash(&[7; 32])),
        1,
    );
    serve_proof(&foreign);
    refused(
        &get(),
        1,
        &[
            "the tree head is from log key hash",
            "which is not a log of the policy",
        ],
        &out_dir,
    );

    // No proof at all: not found (exit 5), as for a SHA256SUMS in no trusted log.
    w.srv
        .route("/rel/v1.0/SHA256SUMS.proof", Reply::status(404));
    refused(&get(), 5, &["SHA256SUMS.proof is not found"], &out_dir);

    // A minisign key where the policy is a Sigsum policy: a usage error, before any proof is read.
    w.serve(&rel);
    let minisign_pub = Path::new(env!("CARGO_MANIFEST_DIR")).join("pinned/release.pub");
    let o = w
        .client_command(&w.root, &state, &w.policy, &["get", &url])
        .arg("-o")
        .arg(&out)
        .arg("--key")
        .arg(&minisign_pub)
        .output()
        .expect("run rget get");
    refused(
        &o,
        2,
        &["a minisign key applies to", "Sigsum policy"],
        &out_dir,
    );
}

#[test]
fn a_log_answering_202_for_ever_or_without_end_ends_within_max_time_and_writes_nothing() {
    let w = SigsumWorld::new(0);
    // A log that accepts every leaf and never logs it.
    w.srv.route("/forever/add-leaf", Reply::status(202));
    // A log whose tree head never ends.
    w.srv.route("/endless/add-leaf", Reply::body(""));
    w.srv.route("/endless/get-tree-head", Reply::Endless);
    for (log, code, want) in [
        (
            "/forever/",
            4,
            vec![
                "/forever/add-leaf",
                "the time limit of 3 s for the whole command (--max-time) ran out while the log said the leaf was accepted, not yet logged",
            ],
        ),
        (
            "/endless/",
            3,
            vec!["/endless/get-tree-head: body is larger than the limit of 16384 bytes"],
        ),
    ] {
        let policy = w.root.join(format!("policy{}", log.replace('/', "-")));
        std::fs::write(&policy, w.policy_text().replace(&w.log_url, &w.url(log))).expect("policy");
        let dir = w.dir(&format!("rel{}", log.replace('/', "-")));
        std::fs::write(dir.join("app-1.0.tar.gz"), data(100, 1)).expect("write");
        let start = std::time::Instant::now();
        let o = w
            .command(&w.root)
            .arg("release")
            .arg(&dir)
            .args(["--url", &w.url("/rel/v1.0/"), "--sigsum-policy"])
            .arg(&policy)
            .arg("--sigsum-key")
            .arg(&w.key)
            .arg("--state")
            .arg(w.root.join("publisher-state"))
            .arg("--cacert")
            .arg(w.ca.pem_path())
            .args(["--max-time", "3"])
            .output()
            .expect("run rget release");
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        assert_code(&o, code);
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        for want in &want {
            assert!(err.contains(want), "{want:?} not in {err}");
        }
        // The release directory is as it was: only the release file.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["app-1.0.tar.gz"]);
    }
}

#[test]
fn an_older_release_replayed_under_a_newer_url_is_refused_by_its_versioned_names() {
    let w = SigsumWorld::new(0);
    let old = w.release(
        "/rel/v1.0",
        &[
            ("app-1.0.tar.gz", data(2000, 1)),
            ("install.sh", b"#!/bin/sh\necho 1.0\n".to_vec()),
        ],
        &[],
    );
    // rget release warns about the name that does not carry the version.
    assert!(
        old.stderr
            .contains("rget: warning: \"install.sh\" does not carry the release's version \"1.0\""),
        "{}",
        old.stderr
    );
    assert!(!old.stderr.contains("\"app-1.0.tar.gz\" does not carry"));
    let new = w.release(
        "/rel/v1.1",
        &[
            ("app-1.1.tar.gz", data(2000, 2)),
            ("install.sh", b"#!/bin/sh\necho 1.1\n".to_vec()),
        ],
        &[],
    );
    let out_dir = w.dir("out");
    let out = out_dir.join("f");
    let state = w.dir("state");
    assert_ok(&w.get(&w.url("/rel/v1.1/app-1.1.tar.gz"), &out, &state));
    std::fs::remove_file(&out).expect("rm");

    // The server replays v1.0's list, proof and files under v1.1's URL: the proof is real.
    for (name, bytes) in &old.files {
        w.srv
            .route(&format!("/rel/v1.1/{name}"), Reply::body(bytes));
    }
    w.srv.route("/rel/v1.1/SHA256SUMS", Reply::body(&old.sums));
    w.srv
        .route("/rel/v1.1/SHA256SUMS.proof", Reply::body(&old.proof));
    // A versioned name is not in the older list: refused, nothing written.
    let o = w.get(&w.url("/rel/v1.1/app-1.1.tar.gz"), &out, &state);
    refused(
        &o,
        5,
        &[
            "\"app-1.1.tar.gz\" is not listed in",
            "/rel/v1.1/SHA256SUMS",
        ],
        &out_dir,
    );
    // The name without the version is what the warning was about: the older file is handed over.
    let o = w.get(&w.url("/rel/v1.1/install.sh"), &out, &state);
    assert_ok(&o);
    assert_eq!(
        std::fs::read(&out).expect("saved"),
        b"#!/bin/sh\necho 1.0\n"
    );
    let _ = new;
}

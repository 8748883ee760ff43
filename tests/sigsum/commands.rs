//! The other client commands on the Sigsum path, against a real Sigsum log and witness: `rget
//! verify` (a file already on disk) and `rget cat` (standard output only after every check) prove
//! `SHA256SUMS` by `SHA256SUMS.proof` exactly as `rget get` does; and the commands whose plain form
//! is about URL records (`rget audit --prefix`, `rget submit` without `--sigsum-…`) refuse a Sigsum
//! policy as a usage error naming the form that applies, instead of reading a Sigsum log as a
//! tlog-tiles log; and the progress line `rget submit --sigsum-…` shows on a terminal (only there)
//! while the log answers 202.

use crate::common::https::Reply;
use crate::common::release::data;
use crate::common::sigsum_log::{SigsumWorld, keygen_ssh, submit_args};
use crate::common::{assert_code, assert_ok, on_a_terminal, parse_json, stderr, text};
use rget::core::sigsum::key_hash;

/// The one line of standard error of a refusal.
#[track_caller]
fn one_line(o: &std::process::Output) -> String {
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    err
}

#[test]
fn verify_and_cat_prove_the_sums_by_the_sigsum_proof() {
    let w = SigsumWorld::new(1);
    let bytes = data(3000, 7);
    let script = b"#!/bin/sh\necho 2.0\n".to_vec();
    let rel = w.release(
        "/rel/v2.0",
        &[
            ("app-2.0.tar.gz", bytes.clone()),
            ("install-2.0.sh", script.clone()),
        ],
        &[],
    );
    let url = w.url("/rel/v2.0/app-2.0.tar.gz");
    let script_url = w.url("/rel/v2.0/install-2.0.sh");
    let state = w.dir("state");
    let disk = w.dir("disk").join("app");
    std::fs::write(&disk, &bytes).expect("write");
    let verify = |file: &std::path::Path| {
        w.client(
            &w.root,
            &state,
            &w.policy,
            &[
                "verify".as_ref(),
                url.as_ref(),
                file.as_os_str(),
                "--json".as_ref(),
            ],
        )
    };
    let cat = |u: &str| w.client(&w.root, &state, &w.policy, &["cat", u, "--json"]);

    // rget verify: the file on disk, its SHA256SUMS proved by the Sigsum proof.
    let json = parse_json(&assert_ok(&verify(&disk)));
    assert_eq!(json["log"]["proof"], "sigsum-proof", "{json}");
    assert_eq!(json["signature"]["kind"], "sigsum-leaf", "{json}");
    assert_eq!(
        json["sigsum"]["log_key_hash"],
        key_hash(&w.log_key).to_hex(),
        "{json}"
    );
    assert_eq!(json["sigsum"]["leaf_index"], 0, "{json}");
    assert_eq!(json["sigsum"]["tree_size"], 1, "{json}");

    // A file that is not the published one: verification failed (exit 1).
    let other = w.dir("disk2").join("app");
    std::fs::write(&other, data(3000, 8)).expect("write");
    let o = verify(&other);
    assert_code(&o, 1);
    one_line(&o);

    // rget cat: the exact bytes on standard output, the report (with the Sigsum log) on standard
    // error.
    let o = cat(&script_url);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(o.stdout, script);
    let report = text(&o.stderr);
    assert_eq!(
        parse_json(&report)["log"]["proof"],
        "sigsum-proof",
        "{report}"
    );

    // A proof of another leaf (the same log's, valid on its own) is refused for these bytes by
    // both, and cat writes nothing to standard output.
    let other_rel = w.release("/rel/v2.1", &[("app-2.1.tar.gz", data(10, 1))], &[]);
    w.srv
        .route("/rel/v2.0/SHA256SUMS.proof", Reply::body(&other_rel.proof));
    let o = cat(&script_url);
    assert_code(&o, 1);
    assert!(o.stdout.is_empty(), "nothing on standard output");
    assert!(one_line(&o).contains("SHA256SUMS"), "{}", stderr(&o));
    assert_code(&verify(&disk), 1);

    // No proof at all: not found (exit 5), before anything reaches standard output.
    w.srv
        .route("/rel/v2.0/SHA256SUMS.proof", Reply::status(404));
    let o = cat(&script_url);
    assert_code(&o, 5);
    assert!(o.stdout.is_empty());
    assert!(
        one_line(&o).contains("SHA256SUMS.proof is not found"),
        "{}",
        stderr(&o)
    );
    let o = verify(&disk);
    assert_code(&o, 5);
    assert!(one_line(&o).contains("SHA256SUMS.proof is not found"));
    w.serve(&rel);
    assert_ok(&verify(&disk));
}

#[test]
fn audit_by_prefix_and_submit_without_sigsum_refuse_a_sigsum_policy() {
    let w = SigsumWorld::new(0);
    let state = w.dir("state");
    let o = w.client(
        &w.root,
        &state,
        &w.policy,
        &["audit", "--prefix", &w.url("/rel/")],
    );
    assert_code(&o, 2);
    let err = one_line(&o);
    assert!(
        err.contains("the policy is a Sigsum policy") && err.contains("--sigsum --key"),
        "{err}"
    );

    let dir = w.dir("rel");
    let sums = dir.join("SHA256SUMS");
    std::fs::write(&sums, "x\n").expect("write");
    let o = w
        .command(&w.root)
        .arg("submit")
        .arg(w.url("/rel/v1.0/SHA256SUMS"))
        .arg("--file")
        .arg(&sums)
        .arg("--policy")
        .arg(&w.policy)
        .arg("--state")
        .arg(&state)
        .arg("--allow-http")
        .output()
        .expect("run rget submit");
    assert_code(&o, 2);
    let err = one_line(&o);
    assert!(
        err.contains("the policy is a Sigsum policy")
            && err.contains("--sigsum-policy and --sigsum-key"),
        "{err}"
    );
    // Nothing was written beside the SHA256SUMS, and the log has no leaf.
    assert_eq!(
        std::fs::read_dir(&dir).expect("read dir").count(),
        1,
        "only SHA256SUMS"
    );
    let head = crate::common::log::get(
        &crate::common::log::agent(),
        &format!("{}get-tree-head", w.log_url),
    );
    assert_eq!(head.status, 200);
    assert!(
        text(&head.body).starts_with("size=0\n"),
        "{}",
        text(&head.body)
    );
}

#[test]
fn submit_shows_what_it_waits_for_on_a_terminal_only() {
    let w = SigsumWorld::new(0);
    // A log that accepts the leaf and never logs it.
    w.srv.route("/forever/add-leaf", Reply::status(202));
    let policy = w.root.join("forever-policy");
    std::fs::write(
        &policy,
        w.policy_text().replace(&w.log_url, &w.url("/forever/")),
    )
    .expect("policy");
    let sums = w.dir("rel").join("SHA256SUMS");
    std::fs::write(&sums, "x\n").expect("write");
    let submit = || {
        let mut c = w.command(&w.root);
        submit_args(&mut c, &sums, &policy, &w.key, &w.root.join("state"))
            .arg("--cacert")
            .arg(w.ca.pem_path())
            .args(["--max-time", "2"]);
        c
    };
    let (code, seen) = on_a_terminal(&mut submit());
    assert_eq!(code, 4, "{seen}");
    // The line rewritten in place: what is awaited, from which log, for how long.
    let progress = format!("{}: accepted, not yet logged (", w.url("/forever/"));
    let at = seen
        .find(&progress)
        .unwrap_or_else(|| panic!("no progress line: {seen:?}"));
    // After the spinner, which turns every 250 ms.
    assert!(
        ['|', '/', '-', '\\']
            .iter()
            .any(|c| seen[..at].ends_with(&format!("\r\x1b[K{c} "))),
        "{seen:?}"
    );
    let secs: String = seen[at + progress.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(
        !secs.is_empty() && seen[at + progress.len() + secs.len()..].starts_with(" s)"),
        "{seen:?}"
    );
    // ... cleared before the one-line error.
    assert!(seen.contains("\r\x1b[Krget: "), "{seen:?}");
    assert!(
        seen.contains("ran out while the log said the leaf was accepted"),
        "{seen:?}"
    );
    // Not a terminal: the error line alone.
    let o = submit().output().expect("run rget submit");
    assert_code(&o, 4);
    let err = one_line(&o);
    assert!(!err.contains('\r') && !err.contains("\x1b"), "{err:?}");
}

#[test]
fn the_keys_file_gives_the_ssh_ed25519_key_of_each_url_prefix() {
    let w = SigsumWorld::new(0);
    let a = w.release("/a/v1.0", &[("a-1.0.tar.gz", data(500, 1))], &[]);
    let b = w.release("/b/v1.0", &[("b-1.0.tar.gz", data(500, 2))], &[]);
    let key_line = std::fs::read_to_string(&w.key_pub).expect("key.pub");
    let other_key = w.root.join("keys").join("other.key");
    keygen_ssh(&mut w.command(&w.root), &other_key);
    let other_line =
        std::fs::read_to_string(other_key.with_extension("key.pub")).expect("other.key.pub");
    // /a/ is ours; /b/ is said to be another publisher's (whose key did not sign its leaf).
    let keys_dir = w.dir("config/rget");
    std::fs::write(
        keys_dir.join("keys"),
        format!(
            "# publishers\n{} {}{} {}",
            w.url("/a/"),
            key_line,
            w.url("/b/"),
            other_line
        ),
    )
    .expect("keys file");
    let state = w.dir("state");
    let out_dir = w.dir("out");
    let get = |path: &str| {
        w.client_command(&w.root, &state, &w.policy, &["get", &w.url(path), "--json"])
            .arg("-o")
            .arg(out_dir.join("f"))
            .output()
            .expect("run rget get")
    };
    let json = parse_json(&assert_ok(&get("/a/v1.0/a-1.0.tar.gz")));
    assert_eq!(json["log"]["proof"], "sigsum-proof", "{json}");
    assert_eq!(
        std::fs::read(out_dir.join("f")).expect("saved"),
        a.files[0].1
    );
    std::fs::remove_file(out_dir.join("f")).expect("rm");
    // The leaf of /b/ is signed by our key, not the one the keys file names for /b/: refused.
    let o = get("/b/v1.0/b-1.0.tar.gz");
    assert_code(&o, 1);
    assert!(
        one_line(&o).contains("which is none of the 1 submitter keys"),
        "{}",
        stderr(&o)
    );
    // A URL no line of the keys file covers: under a Sigsum policy a key must apply (usage).
    w.srv.route("/c/v1.0/SHA256SUMS", Reply::body(&b.sums));
    let o = get("/c/v1.0/b-1.0.tar.gz");
    assert_code(&o, 2);
    one_line(&o);
    assert!(std::fs::read_dir(&out_dir).expect("out").next().is_none());
}

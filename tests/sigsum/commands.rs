//! The other client commands on the Sigsum path, against a real Sigsum log and witness: `rget
//! verify` (a file already on disk) and `rget cat` (standard output only after every check) prove
//! `SHA256SUMS` by `SHA256SUMS.proof` exactly as `rget get` does; and the commands whose plain form
//! is about URL records (`rget audit --prefix`, `rget submit` without `--sigsum-…`) refuse a Sigsum
//! policy as a usage error naming the form that applies, instead of reading a Sigsum log as a
//! tlog-tiles log.

use crate::common::https::Reply;
use crate::common::release::data;
use crate::common::sigsum_log::SigsumWorld;
use crate::common::{assert_code, assert_ok, json_field, json_number, stderr, text};
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
    let json = assert_ok(&verify(&disk));
    assert_eq!(json_field(&json, "proof"), "sigsum-proof");
    assert_eq!(json_field(&json, "kind"), "sigsum-leaf");
    assert_eq!(
        json_field(&json, "log_key_hash"),
        key_hash(&w.log_key).to_hex()
    );
    assert_eq!(json_number(&json, "leaf_index"), 0);
    assert_eq!(json_number(&json, "tree_size"), 1);

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
    assert_eq!(json_field(&report, "proof"), "sigsum-proof", "{report}");

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

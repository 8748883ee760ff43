//! The Sigsum path end to end, with real parts: a Sigsum log (`rget log init --sigsum`, `rget log
//! serve`) whose tree heads two `rget witness serve` processes cosign, a release published into it
//! with `rget release --sigsum-…`, and the clients that check it: `rget get`, the `sigsum` crate on
//! the written `SHA256SUMS.proof`, and a bootstrap pinned to the release (Sigsum policy,
//! ssh-ed25519 release key), which installs and runs it. Then the trust anomalies: a fork of the
//! log (same size, another root, under the log's real key and cosigned), a rollback of its
//! `get-tree-head`, an older tree head tied by `get-consistency-proof` (and a log that cannot be
//! reached for it), and `rget audit --sigsum` seeing a leaf made with the publisher's key that the
//! publisher did not expect.

use crate::common::https::Reply;
use crate::common::log::{agent, get};
use crate::common::release::{VERSION, build_bootstrap, data, rget_file};
use crate::common::sigsum_log::{SigsumWorld, keygen_ssh, submit_args};
use crate::common::{RGET, assert_code, assert_ok, output, parse_json, stderr, text};
use rget::core::cosignature;
use rget::core::digest::sha256;
use rget::core::merkle::{self, MemoryTree};
use rget::core::openssh;
use rget::core::sigsum::api::TreeHead;
use rget::core::sigsum::key_hash;
use rget::core::sigsum::proof::{Cosignature, SigsumProof};
use rget::core::sigsum::verify::checkpoint_text;
use std::path::Path;
use std::process::Command;

/// The files of `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The evidence directories of a state directory.
fn evidence(state: &Path) -> Vec<String> {
    match std::fs::read_dir(state.join("evidence")) {
        Ok(rd) => {
            let mut v: Vec<String> = rd
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

/// The one line of a refusal on standard error.
#[track_caller]
fn one_line(out: &std::process::Output) -> String {
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    err
}

fn publisher_key(w: &SigsumWorld) -> [u8; 32] {
    openssh::parse_public_keys(&std::fs::read(&w.key_pub).expect("key.pub"))
        .expect("ssh key")
        .keys[0]
}

#[test]
fn a_release_logged_in_sigsum_is_verified_by_get_the_sigsum_crate_and_the_bootstrap() {
    let w = SigsumWorld::new(2);
    // An earlier release first, so that the tree has more than one leaf (the sigsum crate reads
    // only proofs with an inclusion block, which a one-leaf tree's proof has not).
    w.release("/rel/v0.9", &[("app-0.9.tar.gz", data(100, 9))], &[]);
    let name = rget_file(VERSION);
    let notes = format!("notes-{VERSION}.txt");
    let rget_bytes = std::fs::read(RGET).expect("read rget");
    let prefix = format!("/rget/v{VERSION}");
    let rel = w.release(
        &prefix,
        &[(&name, rget_bytes.clone()), (&notes, b"notes\n".to_vec())],
        &[],
    );
    // Only the list and its Sigsum proof were added: no .minisig (no minisign key), no tlog-proof.
    let mut want = vec![
        name.clone(),
        notes.clone(),
        "SHA256SUMS".to_owned(),
        "SHA256SUMS.proof".to_owned(),
    ];
    want.sort();
    assert_eq!(names(&rel.dir), want);
    assert!(!rel.stderr.contains("warning"), "{}", rel.stderr);
    assert!(
        rel.stderr.contains("cosigned   by w0, w1"),
        "{}",
        rel.stderr
    );

    // The sigsum crate, an independent verifier, accepts the written proof for these bytes, under
    // the same policy and key, and refuses it for other bytes.
    let proof_text = String::from_utf8(rel.proof.clone()).expect("ASCII proof");
    assert!(proof_text.starts_with("version=2\n"), "{proof_text}");
    let sig = sigsum::SigsumSignature::from_ascii(&proof_text).expect("the sigsum crate parses it");
    let policy =
        sigsum::Policy::parse(&w.policy_text()).expect("the sigsum crate parses the policy");
    let signer: sigsum::PublicKey = publisher_key(&w).into();
    sigsum::verify(
        &sigsum::Hash::new(&rel.sums),
        &sig,
        std::slice::from_ref(&signer),
        &policy,
    )
    .expect("the sigsum crate verifies the proof");
    assert!(
        sigsum::verify(&sigsum::Hash::new(b"other"), &sig, &[signer], &policy).is_err(),
        "and refuses it for other data"
    );

    // rget get, which reports the Sigsum log, the leaf index, the tree size and the witnesses.
    let state = w.dir("client-state");
    let out = w.dir("out").join(&name);
    let o = w.client(
        &w.root,
        &state,
        &w.policy,
        &[
            "get".as_ref(),
            w.url(&format!("{prefix}/{name}")).as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            "--json".as_ref(),
        ],
    );
    let json = parse_json(&assert_ok(&o));
    assert_eq!(std::fs::read(&out).expect("saved"), rget_bytes);
    assert_eq!(json["log"]["proof"], "sigsum-proof", "{json}");
    assert_eq!(json["signature"]["kind"], "sigsum-leaf", "{json}");
    assert_eq!(
        json["signature"]["key_id"],
        key_hash(&publisher_key(&w)).to_hex(),
        "{json}"
    );
    assert_eq!(
        json["sigsum"]["log_key_hash"],
        key_hash(&w.log_key).to_hex(),
        "{json}"
    );
    assert_eq!(json["sigsum"]["leaf_index"], 1, "{json}");
    assert_eq!(json["sigsum"]["tree_size"], 2, "{json}");
    let witnesses: Vec<&str> = json["sigsum"]["witnesses"]
        .as_array()
        .expect("witnesses")
        .iter()
        .filter_map(|w| w["name"].as_str())
        .collect();
    assert!(
        witnesses.contains(&"w0") && witnesses.contains(&"w1"),
        "{json}"
    );

    // The bootstrap, pinned to this release (Sigsum policy, ssh-ed25519 release key), downloads
    // the binary, SHA256SUMS and SHA256SUMS.proof, checks them, installs and runs the binary.
    let pins = w.dir("pins");
    std::fs::write(
        pins.join("SHA256SUMS"),
        format!("{}  {name}\n", sha256(&rget_bytes)),
    )
    .expect("pins");
    std::fs::copy(&w.key_pub, pins.join("release.pub")).expect("pins");
    std::fs::write(pins.join("policy"), w.policy_text()).expect("pins");
    std::fs::write(
        pins.join("source"),
        format!("{}\n", w.url("/rget/v{version}/")),
    )
    .expect("pins");
    let boot = build_bootstrap(&pins, &w.root.join("rget-bootstrap"));
    let bin = w.dir("bin");
    let ca = w.ca.pem_path();
    // The bootstrap installing into BIN, trusting the test CA; ARGS after `--` go to the rget it
    // installed.
    let bootstrap = || {
        let mut c = Command::new(&boot);
        c.env("HOME", w.root.join("home"))
            .arg("--prefix")
            .arg(&bin)
            .arg("--cacert")
            .arg(&ca);
        c
    };
    let o = output(
        bootstrap()
            .args(["--", "self", "verify", "--json", "--pins"])
            .arg(&pins)
            .arg("--cacert")
            .arg(&ca)
            .arg("--allow-http")
            .arg("--state")
            .arg(w.root.join("host-state")),
    );
    let report = parse_json(&assert_ok(&o));
    let log = text(&o.stderr);
    assert!(
        log.contains(&format!("ok: {name} has the pinned SHA-256")),
        "{log}"
    );
    assert!(
        log.contains("ok: SHA256SUMS is signed by pinned release key ssh-ed25519"),
        "{log}"
    );
    assert!(
        log.contains("ok: the leaf is in Sigsum log sigsum.org/v1/tree/"),
        "{log}"
    );
    assert_eq!(
        std::fs::read(bin.join("rget")).expect("installed"),
        rget_bytes
    );
    // The installed rget verified itself under the same Sigsum pins.
    assert_eq!(report["sha256"], sha256(&rget_bytes).to_hex(), "{report}");
    assert!(
        report["key_id"]
            .as_str()
            .is_some_and(|k| k.starts_with("ssh-ed25519 ")),
        "{report}"
    );

    // A binary swapped on the server is refused by the bootstrap, which installs nothing.
    let mut evil = rget_bytes.clone();
    evil.extend_from_slice(b"\n# a backdoor\n");
    w.srv.route(&format!("{prefix}/{name}"), Reply::body(&evil));
    let o = output(bootstrap().args(["--", "--version"]));
    assert_code(&o, 1);
    assert_eq!(
        std::fs::read(bin.join("rget")).expect("installed"),
        rget_bytes
    );
}

/// A tree head of `size` leaves, the leaf `honest` proves first and filler after, signed with the
/// log's key and cosigned with the witnesses' keys: what a log and witnesses that collude to fork
/// produce. `honest` is the proof of the log's first leaf (size 1: its root is the leaf hash).
fn forged_proof(w: &SigsumWorld, honest: &SigsumProof, size: u64) -> SigsumProof {
    assert_eq!(honest.size, 1, "the first release is the log's first leaf");
    let mut tree = MemoryTree::new();
    tree.append(honest.root_hash);
    for i in 1..size {
        tree.append(sha256(format!("forged filler {i}").as_bytes()));
    }
    let mut p = SigsumProof {
        size,
        root_hash: tree.root(),
        signature: [0; 64],
        cosignatures: Vec::new(),
        leaf_index: 0,
        path: merkle::inclusion_proof(0, size, &mut tree).expect("proof"),
        ..honest.clone()
    };
    let text = checkpoint_text(&p);
    p.signature = w.log_signer().sign(&text).sig.try_into().expect("64 bytes");
    for (i, key) in w.witness_keys.iter().enumerate() {
        let sig = cosignature::sign(&w.witness_signer(i), &text, 1_770_000_000).expect("cosign");
        p.cosignatures.push(Cosignature {
            key_hash: key_hash(key),
            timestamp: 1_770_000_000,
            signature: sig.sig[8..].try_into().expect("64 bytes"),
        });
    }
    p
}

#[test]
fn a_fork_and_a_rollback_of_a_sigsum_log_are_refused_with_evidence_kept() {
    let w = SigsumWorld::new(2);
    let a = w.release("/rel/v1.0", &[("app-1.0.tar.gz", data(5000, 1))], &[]);
    // The log's tree head now (size 1), kept to play a log that rolls back later.
    let stale = get(&agent(), &format!("{}get-tree-head", w.log_url));
    assert_eq!(stale.status, 200);
    let stale_head = TreeHead::parse(&stale.body).expect("a tree head");
    assert_eq!(stale_head.size, 1);
    let b = w.release("/rel/v1.1", &[("app-1.1.tar.gz", data(5000, 2))], &[]);
    let url_a = w.url("/rel/v1.0/app-1.0.tar.gz");
    let url_b = w.url("/rel/v1.1/app-1.1.tar.gz");

    // This host has seen the tree head of size 2.
    let state = w.dir("state");
    let out = w.dir("out").join("app");
    assert_ok(&w.get(&url_b, &out, &state));

    // An older tree head (v1.0's proof, size 1) is tied to it with the log's consistency proof.
    let o = w.client(
        &w.root,
        &state,
        &w.policy,
        &["get", &url_a, "-o", out.to_str().expect("UTF-8"), "--json"],
    );
    let json = parse_json(&assert_ok(&o));
    assert!(
        json["log"]["seen"]
            .as_str()
            .is_some_and(|s| s.contains("consistent with the newest one seen (size 2)")),
        "{json}"
    );
    // ... and when the log cannot be reached for that proof, a clear network error (exit 4).
    let down = w.root.join("down-policy");
    std::fs::write(
        &down,
        w.policy_text().replace(&w.log_url, "http://127.0.0.1:1/"),
    )
    .expect("policy");
    std::fs::remove_file(&out).expect("rm");
    let o = w.client(
        &w.root,
        &state,
        &down,
        &["get", &url_a, "-o", out.to_str().expect("UTF-8")],
    );
    assert_code(&o, 4);
    let err = one_line(&o);
    assert!(
        err.contains("cannot get a consistency proof from tree size 1 to 2")
            && err.contains("http://127.0.0.1:1/get-consistency-proof/1/2"),
        "{err}"
    );
    assert!(!out.exists());

    // FORK: a tree head of the size remembered (2), with another root, signed by the log's real
    // key and cosigned by both witnesses' keys, whose proof includes v1.0's leaf.
    let honest = SigsumProof::parse(&a.proof).expect("proof");
    let forged = forged_proof(&w, &honest, 2);
    // It is a valid, cosigned Sigsum proof: the sigsum crate accepts it on its own.
    let sig = sigsum::SigsumSignature::from_ascii(&forged.to_text()).expect("parses");
    let policy = sigsum::Policy::parse(&w.policy_text()).expect("policy");
    sigsum::verify(
        &sigsum::Hash::new(&a.sums),
        &sig,
        &[publisher_key(&w).into()],
        &policy,
    )
    .expect("a cosigned fork verifies alone");
    w.srv
        .route("/rel/v1.0/SHA256SUMS.proof", Reply::body(forged.to_text()));
    let before = evidence(&state).len();
    let o = w.get(&url_a, &out, &state);
    assert_code(&o, 6);
    let err = one_line(&o);
    assert!(
        err.contains("FORK of log sigsum.org/v1/tree/")
            && err.contains("same size, different root hashes")
            && err.contains("kept as evidence"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written");
    let ev = evidence(&state);
    assert_eq!(ev.len(), before + 1);
    let fork_dir = state.join("evidence").join(
        ev.iter()
            .find(|d| d.ends_with("-fork"))
            .expect("fork evidence"),
    );
    let kept = names(&fork_dir);
    assert_eq!(kept, ["new.checkpoint", "stored.checkpoint"]);
    let new = std::fs::read_to_string(fork_dir.join("new.checkpoint")).expect("new");
    assert!(new.contains(&forged.root_hash.to_base64()), "{new}");
    w.serve(&a);
    let _ = b;

    // ROLLBACK: a log (here a mirror of its API) whose get-tree-head answers the older tree head,
    // signed and cosigned as it was. The auditor remembers size 2.
    w.srv.route(
        "/stale-log/get-tree-head",
        Reply::body(stale_head.to_text()),
    );
    let stale_policy = w.root.join("stale-policy");
    std::fs::write(
        &stale_policy,
        w.policy_text().replace(&w.log_url, &w.url("/stale-log/")),
    )
    .expect("policy");
    let before = evidence(&state).len();
    let o = w.client(&w.root, &state, &stale_policy, &["audit", "--sigsum"]);
    assert_code(&o, 6);
    let err = stderr(&o);
    assert!(
        err.contains("ROLLBACK of log sigsum.org/v1/tree/")
            && err.contains("size 1, older than the checkpoint of size 2"),
        "{err}"
    );
    let ev = evidence(&state);
    assert_eq!(ev.len(), before + 1);
    assert!(ev.iter().any(|d| d.ends_with("-rollback")), "{ev:?}");

    // The publisher's side refuses it too: a submission answered by the stale log is not written.
    w.srv.route("/stale-log/add-leaf", Reply::body(""));
    let dir = w.dir("stale-release");
    std::fs::write(dir.join("SHA256SUMS"), b"x").expect("write");
    let sums = dir.join("SHA256SUMS");
    std::fs::write(&sums, format!("{}  app-1.2.tar.gz\n", sha256(b"1.2"))).expect("write");
    let o = submit_args(
        &mut w.command(&w.root),
        &sums,
        &stale_policy,
        &w.key,
        &state,
    )
    .arg("--cacert")
    .arg(w.ca.pem_path())
    .arg("--allow-http")
    .output()
    .expect("run rget submit");
    assert_code(&o, 6);
    assert!(stderr(&o).contains("ROLLBACK"), "{}", stderr(&o));
    assert!(!dir.join("SHA256SUMS.proof").exists());
}

#[test]
fn audit_sigsum_reports_a_leaf_made_with_the_publishers_key_that_it_did_not_expect() {
    let w = SigsumWorld::new(1);
    let v1 = w.release("/rel/v1.0", &[("app-1.0.tar.gz", data(3000, 1))], &[]);
    // Another publisher's leaf in the same log: not ours, never reported.
    let other_key = w.root.join("keys").join("other.key");
    keygen_ssh(&mut w.command(&w.root), &other_key);
    let other = w.dir("other");
    std::fs::write(other.join("SHA256SUMS"), format!("{}  x-1\n", sha256(b"x"))).expect("write");
    let publisher_state = w.root.join("publisher-state");
    let submit = |sums: &Path, key: &Path| {
        submit_args(
            &mut w.command(&w.root),
            sums,
            &w.policy,
            key,
            &publisher_state,
        )
        .arg("--allow-http")
        .output()
        .expect("run rget submit")
    };
    assert_ok(&submit(&other.join("SHA256SUMS"), &other_key));

    let expect = w.dir("published");
    std::fs::write(expect.join("SHA256SUMS"), &v1.sums).expect("write");
    let audit_state = w.dir("audit-state");
    let audit = |json: bool| {
        let mut args = vec![
            "audit",
            "--sigsum",
            "--expect",
            expect.to_str().expect("UTF-8"),
        ];
        if json {
            args.push("--json");
        }
        w.client(&w.root, &audit_state, &w.policy, &args)
    };
    let o = audit(true);
    let json = parse_json(&assert_ok(&o));
    assert_eq!(json["anomalies"], 0, "{json}");
    assert_eq!(json["logs"][0]["from"], 0, "{json}");
    assert_eq!(json["logs"][0]["to"], 2, "{json}");
    let checksum = |sums: &[u8]| sha256(&sha256(sums).0).to_hex();
    assert_eq!(
        json["logs"][0]["new"],
        serde_json::json!([{"index": 0, "checksum": checksum(&v1.sums)}]),
        "{json}"
    );

    // The publisher's key is stolen: a SHA256SUMS nobody published is logged with it.
    let evil = w.dir("evil");
    let evil_sums = format!("{}  app-1.0.tar.gz\n", sha256(b"a backdoor"));
    std::fs::write(evil.join("SHA256SUMS"), &evil_sums).expect("write");
    assert_ok(&submit(&evil.join("SHA256SUMS"), &w.key));
    let o = audit(false);
    assert_code(&o, 6);
    let report = text(&o.stdout);
    assert!(
        report.contains(&format!(
            "UNEXPECTED leaf 2 checksum {}",
            checksum(evil_sums.as_bytes())
        )),
        "{report}"
    );
    assert!(report.contains("verified leaves 2..3"), "{report}");
    let err = one_line(&o);
    assert!(
        err.contains("audit found 1 anomaly for ssh-ed25519 key")
            && err.contains("leaf 2 of sigsum.org/v1/tree/"),
        "{err}"
    );
    // A second run fetches only what is new (nothing), and reports nothing again.
    let o = audit(true);
    let json = parse_json(&assert_ok(&o));
    assert_eq!(json["logs"][0]["from"], 3, "{json}");
    assert_eq!(json["logs"][0]["requests"], 0, "{json}");
}

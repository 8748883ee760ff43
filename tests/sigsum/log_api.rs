//! The Sigsum v1 API of `rget log serve` on a Sigsum log (`rget log init --sigsum`), over HTTP on
//! loopback: `add-leaf` (400 malformed, 403 bad signature, 202 until published then 200, the same
//! leaf again), `get-tree-head`, `get-inclusion-proof`, `get-consistency-proof`, `get-leaves` and
//! their bounds, rget's own `/add` closed, the tile read API still open; and `--sigsum-tokens`:
//! `add-leaf` needs a `Sigsum-Token` by a key of its domain, made for this very log, which
//! `rget submit --sigsum-token DOMAIN:KEYFILE` sends.

use crate::common::log::{Server, agent, get, pct};
use crate::common::sigsum_log::{keygen_ssh, submit_args};
use crate::common::{RGET, assert_ok, tempdir};
use rget::core::digest::{Hash, sha256};
use rget::core::ed25519::Seed;
use rget::core::merkle;
use rget::core::openssh;
use rget::core::sigsum::api::{self, InclusionProof, LeafRequest, TreeHead};
use rget::core::sigsum::token::SubmitToken;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `rget log init --sigsum DIR`: the log's public key.
fn init(dir: &Path) -> [u8; 32] {
    let out = Command::new(RGET)
        .args(["log", "init", "--sigsum"])
        .arg(dir)
        .output()
        .expect("rget log init");
    let text = assert_ok(&out);
    let line = text
        .lines()
        .find(|l| l.contains("in a Sigsum policy: log "))
        .expect("the Sigsum policy line");
    let hex_key = line.split_whitespace().rev().nth(1).expect("key");
    hex::decode(hex_key)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

fn post(base: &str, body: &str, token: Option<&str>) -> (u16, String) {
    let mut req = agent().post(format!("{base}/add-leaf"));
    if let Some(t) = token {
        req = req.header("Sigsum-Token", t);
    }
    let mut r = req.send(body).expect("POST add-leaf");
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

/// Posts `req` until the log answers 200 (at most 10 s).
fn until_logged(base: &str, req: &LeafRequest, token: Option<&str>) {
    let start = Instant::now();
    loop {
        let (status, body) = post(base, &req.to_text(), token);
        match status {
            200 => return,
            202 => assert!(start.elapsed() < Duration::from_secs(10), "202 for 10 s"),
            s => panic!("add-leaf answered {s}: {body}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_sigsum_api_of_rget_log_serve() {
    let tmp = tempdir();
    let dir = tmp.path().join("log");
    let log_key = init(&dir);
    let log = Server::start(&dir, &["--batch-delay", "10"]);
    let base = log.base.clone();
    let a = agent();

    // A malformed request and a bad signature never reach the sequencer.
    let (status, body) = post(&base, "message=00\n", None);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("add-leaf: line 1: message is not 64 lowercase hex digits"),
        "{body}"
    );
    let seed = Seed([5; 32]);
    let mut forged = LeafRequest::sign(&seed, &sha256(b"data 0"));
    forged.message = sha256(b"other data");
    let (status, body) = post(&base, &forged.to_text(), None);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signature does not verify"), "{body}");

    // Three leaves: 202 until published, then 200; the same leaf again does not grow the log.
    let reqs: Vec<LeafRequest> = (0..3u8)
        .map(|i| LeafRequest::sign(&seed, &sha256(&[i])))
        .collect();
    for r in &reqs {
        let (status, body) = post(&base, &r.to_text(), None);
        assert!(status == 202 || status == 200, "{status} {body}");
        until_logged(&base, r, None);
    }
    until_logged(&base, &reqs[0], None);
    let th = TreeHead::parse(&get(&a, &format!("{base}/get-tree-head")).body).expect("tree head");
    assert_eq!(th.size, 3);
    // The tree head is the published checkpoint, signed by the log's key.
    let vkey = rget::core::sigsum::policy::log_verifier_key(&log_key);
    let note = th.note(&vkey, &[]);
    let policy =
        rget::core::sigsum::policy::parse(&format!("log {}\nquorum none\n", hex::encode(log_key)))
            .expect("policy");
    assert_eq!(
        policy
            .verify_checkpoint(&note)
            .expect("verifies")
            .checkpoint
            .size,
        3
    );

    // Inclusion and consistency proofs verify against it; leaves rebuild its root.
    let leaves: Vec<Hash> = reqs
        .iter()
        .map(|r| r.leaf().expect("leaf").merkle_hash())
        .collect();
    let p = InclusionProof::parse(
        &get(&a, &format!("{base}/get-inclusion-proof/3/{}", leaves[1])).body,
    )
    .expect("inclusion proof");
    assert_eq!(p.leaf_index, 1);
    merkle::verify_inclusion(1, 3, &leaves[1], &p.path, &th.root_hash).expect("included");
    let got =
        api::parse_leaves(&get(&a, &format!("{base}/get-leaves/0/3")).body, 3).expect("leaves");
    assert_eq!(
        got.iter().map(|l| l.merkle_hash()).collect::<Vec<_>>(),
        leaves
    );
    let one =
        api::parse_leaves(&get(&a, &format!("{base}/get-leaves/2/100")).body, 98).expect("leaves");
    assert_eq!(one.len(), 1, "no leaf beyond the published tree");
    let mut t = merkle::MemoryTree::new();
    for l in &leaves {
        t.append(*l);
    }
    let c =
        api::parse_consistency_proof(&get(&a, &format!("{base}/get-consistency-proof/1/3")).body)
            .expect("consistency proof");
    merkle::verify_consistency(1, 3, &leaves[0], &th.root_hash, &c).expect("consistent");

    // Bounds, and what a Sigsum log does not serve.
    for (path, status) in [
        (format!("get-inclusion-proof/1/{}", leaves[0]), 400),
        (format!("get-inclusion-proof/4/{}", leaves[0]), 404),
        (format!("get-inclusion-proof/3/{}", sha256(b"absent")), 404),
        ("get-inclusion-proof/3/xyz".to_owned(), 400),
        ("get-consistency-proof/0/3".to_owned(), 400),
        ("get-consistency-proof/2/2".to_owned(), 400),
        ("get-consistency-proof/2/9".to_owned(), 404),
        ("get-leaves/3/4".to_owned(), 404),
        ("get-leaves/2/2".to_owned(), 400),
        ("get-leaves/01/2".to_owned(), 400),
        ("get-leaves".to_owned(), 400),
        (
            format!("lookup?url={}", pct("https://a.example/SHA256SUMS")),
            404,
        ),
    ] {
        let r = get(&a, &format!("{base}/{path}"));
        assert_eq!(r.status, status, "{path}: {}", r.text());
    }
    let r = agent()
        .post(format!(
            "{base}/add?url={}",
            pct("https://a.example/SHA256SUMS")
        ))
        .send("x")
        .expect("POST /add");
    assert_eq!(r.status(), 404);
    // The tile read API is every log's: the checkpoint and the entry bundle are served.
    assert_eq!(get(&a, &format!("{base}/checkpoint")).status, 200);
    assert_eq!(get(&a, &format!("{base}/tile/entries/000.p/3")).status, 200);
    drop(log);
}

#[test]
fn with_sigsum_tokens_add_leaf_needs_a_token_of_its_domain_for_this_log() {
    let tmp = tempdir();
    let dir = tmp.path().join("log");
    let log_key = init(&dir);
    // The token key of example.org, as `rget keygen --ssh` makes it (and sigsum-token would use it).
    let token_key_file = tmp.path().join("token.key");
    keygen_ssh(&mut Command::new(RGET), &token_key_file);
    let token_seed = openssh::parse_private_key(&std::fs::read(&token_key_file).expect("key"))
        .expect("private key")
        .seed;
    let tokens = tmp.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "# what _sigsum_v1.example.org holds\nexample.org {}\n",
            hex::encode(token_seed.public_key())
        ),
    )
    .expect("tokens");
    let log = Server::start(
        &dir,
        &[
            "--batch-delay",
            "10",
            "--sigsum-tokens",
            tokens.to_str().expect("UTF-8"),
        ],
    );
    let base = log.base.clone();
    let req = LeafRequest::sign(&Seed([6; 32]), &sha256(b"SHA256SUMS"));
    let token = |seed: &Seed, domain: &str, key: &[u8; 32]| {
        SubmitToken::sign(seed, domain, key)
            .expect("token")
            .header_value()
    };
    for (what, header, status, want) in [
        ("no token", None, 403, "Sigsum-Token header is required"),
        (
            "another domain",
            Some(token(&token_seed, "example.net", &log_key)),
            403,
            "no submit-token key is known for \"example.net\"",
        ),
        (
            "a token made for another log",
            Some(token(&token_seed, "example.org", &[9; 32])),
            403,
            "is not signed by a key of that domain for this log",
        ),
        (
            "a token by another key",
            Some(token(&Seed([8; 32]), "example.org", &log_key)),
            403,
            "is not signed by a key of that domain for this log",
        ),
        (
            "garbage",
            Some("example.org zz".to_owned()),
            400,
            "Sigsum-Token value",
        ),
    ] {
        let (s, body) = post(&base, &req.to_text(), header.as_deref());
        assert_eq!(s, status, "{what}: {body}");
        assert!(body.contains(want), "{what}: {body}");
    }
    let good = token(&token_seed, "example.org", &log_key);
    until_logged(&base, &req, Some(&good));

    // rget submit sends the token it is given, made for the log of the policy.
    let policy = tmp.path().join("policy");
    std::fs::write(
        &policy,
        format!("log {} {}/\nquorum none\n", hex::encode(log_key), base),
    )
    .expect("policy");
    let key = tmp.path().join("sigsum.key");
    keygen_ssh(&mut Command::new(RGET), &key);
    let sums = tmp.path().join("SHA256SUMS");
    std::fs::write(&sums, format!("{}  app-1.0\n", sha256(b"app"))).expect("sums");
    let submit = |token: Option<String>| {
        let mut c = Command::new(RGET);
        submit_args(&mut c, &sums, &policy, &key, &tmp.path().join("state")).arg("--allow-http");
        if let Some(t) = token {
            c.args(["--sigsum-token", &t]);
        }
        c.output().expect("rget submit")
    };
    let o = submit(None);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("HTTP 403: a Sigsum-Token header is required"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!tmp.path().join("SHA256SUMS.proof").exists());
    assert_ok(&submit(Some(format!(
        "example.org:{}",
        token_key_file.display()
    ))));
    assert!(tmp.path().join("SHA256SUMS.proof").exists());
    drop(log);
}

/// `add-leaf` costs disk for good like `/add`: a new leaf counts against the same per-client limit
/// (`--add-rate`, `--add-burst`: 429 with Retry-After), while asking again for a leaf already queued
/// or published, as every submitter does until it is logged, does not.
#[test]
fn add_leaf_counts_new_leaves_against_the_per_client_rate_limit() {
    let tmp = tempdir();
    let dir = tmp.path().join("log");
    init(&dir);
    let log = Server::start(
        &dir,
        &["--batch-delay", "10", "--add-rate", "1", "--add-burst", "2"],
    );
    let base = log.base.clone();
    let seed = Seed([6; 32]);
    let reqs: Vec<LeafRequest> = (0..3u8)
        .map(|i| LeafRequest::sign(&seed, &sha256(&[i, 1])))
        .collect();
    // The burst of two new leaves is accepted; polling for them costs nothing.
    for r in &reqs[..2] {
        let (status, body) = post(&base, &r.to_text(), None);
        assert!(status == 202 || status == 200, "{status} {body}");
        until_logged(&base, r, None);
    }
    // A third new leaf is over the limit, and is not queued.
    let mut r = agent()
        .post(format!("{base}/add-leaf"))
        .send(reqs[2].to_text())
        .expect("POST add-leaf");
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let body = r.body_mut().read_to_string().unwrap_or_default();
    assert!(
        body.contains("too many submissions from 127.0.0.1"),
        "{body}"
    );
    // A leaf already in the log is answered 200 at once, over the limit or not.
    assert_eq!(post(&base, &reqs[0].to_text(), None).0, 200);
    let th = TreeHead::parse(&get(&agent(), &format!("{base}/get-tree-head")).body).expect("th");
    assert_eq!(th.size, 2, "the refused leaf was not logged");
    let metrics = get(&agent(), &format!("{base}/metrics")).text();
    assert!(
        metrics.contains("rget_log_rejected_total{reason=\"rate_limited\"} 1\n"),
        "{metrics}"
    );
}

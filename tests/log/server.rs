//! `rget log init` and `rget log serve` as real processes, driven over plain HTTP on loopback: the
//! write path (concurrent submissions, idempotence, lookups, bad input, back-pressure), the read path
//! (checkpoint and tiles, served by us or by a plain static web server), limits, restarts and
//! graceful shutdown, and Go's reference `tlog` over the resulting directory.

use crate::common::go::gointerop;
use crate::common::https::TestServer;
use crate::common::log::*;
use crate::common::{RGET, tempdir};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::merkle::{inclusion_proof, leaf_hash, tree_hash, verify_inclusion};
use rget::core::note::{self, VerifierKey};
use rget::core::policy::Policy;
use rget::core::record;
use rget::core::tile::{Tile, TileHashSource, TileLevel, decode_bundle};
use rget::core::tlog_proof::TlogProof;
use rget::core::verify::verify_logged_sums;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ORIGIN: &str = "log.test.example/rget";

fn policy(vkey: &str) -> Policy {
    Policy::parse(&format!("log {vkey}\nquorum none\n")).expect("policy")
}

/// The verified (size, root) of a checkpoint note.
fn open_checkpoint(bytes: &[u8], vkey: &str) -> Checkpoint {
    let v = VerifierKey::parse(vkey).expect("vkey");
    let opened = note::open(bytes, &[v]).expect("checkpoint verifies with the log key");
    Checkpoint::parse(&opened.note.text).expect("checkpoint parses")
}

fn checkpoint_of(server: &Server, vkey: &str) -> Checkpoint {
    open_checkpoint(&get(&agent(), &server.url("/checkpoint")).body, vkey)
}

/// One accepted submission.
#[derive(Clone, Debug)]
struct Logged {
    url: String,
    sums: Vec<u8>,
    index: u64,
    proof: Vec<u8>,
}

/// Submits records `0..threads*per_thread` from `threads` concurrent clients; record `i` goes to
/// `release_url(i, urls)`. Every answer must be 200.
fn fill(server: &Server, threads: u64, per_thread: u64, urls: u64) -> Vec<Logged> {
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                let agent = agent();
                (0..per_thread)
                    .map(|k| {
                        let i = t * per_thread + k;
                        let url = release_url(i, urls);
                        let body = sums(i);
                        let a = submit(&agent, &base, &url, &body);
                        assert_eq!(a.status, 200, "submission {i}: {}", a.text());
                        let proof = TlogProof::parse(&a.body).expect("answer is a tlog-proof");
                        Logged {
                            url,
                            sums: body,
                            index: proof.index,
                            proof: a.body,
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().expect("submitter thread"))
        .collect()
}

/// Every proof verifies offline under the log's key; indices are exactly 0..n.
fn check_proofs(logged: &[Logged], vkey: &str) {
    let p = policy(vkey);
    let mut seen = BTreeSet::new();
    for l in logged {
        let v = verify_logged_sums(&p, &l.url, &l.sums, &l.proof)
            .unwrap_or_else(|e| panic!("proof for index {} does not verify: {e}", l.index));
        assert_eq!(v.index, l.index);
        assert!(seen.insert(l.index), "index {} answered twice", l.index);
    }
    let n = logged.len() as u64;
    assert_eq!(
        seen,
        (0..n).collect::<BTreeSet<_>>(),
        "indices are not 0..{n}"
    );
}

/// `/lookup` lists exactly the records of each URL, oldest first, with their SHA-256s.
fn check_lookups(server: &Server, logged: &[Logged]) {
    let mut want: BTreeMap<&str, Vec<(u64, String)>> = BTreeMap::new();
    for l in logged {
        want.entry(&l.url)
            .or_default()
            .push((l.index, sha256(&l.sums).to_hex()));
    }
    let agent = agent();
    for (url, mut records) in want {
        records.sort();
        let expected: String = records.iter().map(|(i, h)| format!("{i} {h}\n")).collect();
        // A non-canonical spelling of the same URL finds the same records.
        let spelled = url.replace("https://releases.example/", "HTTPS://Releases.Example:443/");
        for u in [url, spelled.as_str()] {
            let a = get(&agent, &server.url(&format!("/lookup?url={}", pct(u))));
            assert_eq!(a.status, 200);
            assert_eq!(a.text(), expected, "lookup of {u}");
        }
    }
}

#[test]
fn init_prints_the_key_and_publishes_the_empty_tree() {
    let t = tempdir();
    let (dir, vkey) = init_log(t.path(), ORIGIN);
    assert!(vkey.starts_with(&format!("{ORIGIN}+")), "{vkey}");
    assert_eq!(
        std::fs::read_to_string(dir.join("log.pub"))
            .unwrap()
            .trim_end(),
        vkey
    );
    let mode = std::fs::metadata(dir.join("log.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "log.key mode {mode:o}");
    let cp = open_checkpoint(
        &std::fs::read(dir.join("public/checkpoint")).unwrap(),
        &vkey,
    );
    assert_eq!(cp.origin, ORIGIN);
    assert_eq!(cp.size, 0);
    assert_eq!(cp.root, sha256(b""));
    // Nothing secret under public/.
    let public: Vec<_> = std::fs::read_dir(dir.join("public"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(public, ["checkpoint"]);

    // Refusals: one line each, usage exit code, the existing log untouched.
    let key_before = std::fs::read(dir.join("log.key")).unwrap();
    let again = Command::new(RGET)
        .args(["log", "init", "--origin", ORIGIN])
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8(again.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already holds a log"), "{err}");
    assert_eq!(std::fs::read(dir.join("log.key")).unwrap(), key_before);
    let bad = Command::new(RGET)
        .args(["log", "init", "--origin", "bad origin"])
        .arg(t.path().join("other"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(String::from_utf8(bad.stderr).unwrap().lines().count(), 1);

    // --key: an existing signer key is used (the printed vkey is its verifier key).
    let key_dir = t.path().join("keyed");
    assert_eq!(
        init_log_with_key(&key_dir, ORIGIN, &dir.join("log.key")),
        vkey
    );
}

#[test]
fn concurrent_submissions_lookups_duplicates_metrics_and_restart() {
    let t = tempdir();
    let (dir, vkey) = init_log(t.path(), ORIGIN);
    let server = Server::start(&dir, &["--batch-delay", "20"]);
    // 16 clients × 25 records over 40 URLs: every URL gets 10 records from different clients.
    let logged = fill(&server, 16, 25, 40);
    check_proofs(&logged, &vkey);
    check_lookups(&server, &logged);
    let cp = checkpoint_of(&server, &vkey);
    assert_eq!(cp.size, 400);

    // Resubmitting every record: same index, a proof that verifies, and the log does not grow.
    let p = policy(&vkey);
    let handles: Vec<_> = logged
        .chunks(100)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let base = server.base.clone();
            let p = p.clone();
            std::thread::spawn(move || {
                let agent = agent();
                for l in chunk {
                    let a = submit(&agent, &base, &l.url, &l.sums);
                    assert_eq!(a.status, 200, "{}", a.text());
                    let v = verify_logged_sums(&p, &l.url, &l.sums, &a.body).unwrap();
                    assert_eq!(v.index, l.index, "a duplicate got a new index");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(checkpoint_of(&server, &vkey), cp, "duplicates grew the log");

    // Metrics: plausible counts of entries, batches, duplicates and batch latency.
    let m = get(&agent(), &server.url("/metrics"));
    assert_eq!(m.status, 200);
    assert_eq!(m.content_type.as_deref(), Some("text/plain; version=0.0.4"));
    let metrics = m.text();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{metrics}"))
    };
    assert_eq!(value("rget_log_entries_total"), 400.0);
    assert_eq!(value("rget_log_tree_size"), 400.0);
    let batches = value("rget_log_batches_total");
    // 20 ms batches under 16 eager clients: many records per batch, but more than one batch.
    assert!((2.0..400.0).contains(&batches), "batches {batches}");
    assert_eq!(value("rget_log_batch_seconds_count"), batches);
    let sum = value("rget_log_batch_seconds_sum");
    assert!(sum > 0.0 && sum < batches * 5.0, "batch seconds sum {sum}");
    assert!(value("rget_log_duplicate_submissions_total") >= 400.0);
    assert_eq!(value("rget_log_rejected_total{reason=\"queue_full\"}"), 0.0);
    assert!(value("rget_http_responses_total{code=\"2xx\"}") >= 800.0);

    // Restart: SIGTERM → exit 0 with a logfmt shutdown line; everything answered is still there.
    let (status, stderr) = server.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("level=info msg=\"shutting down\" signal=SIGTERM"),
        "{stderr}"
    );
    assert!(
        stderr.lines().all(|l| l.starts_with("ts=")),
        "stderr is not all logfmt:\n{stderr}"
    );
    let server = Server::start(&dir, &["--batch-delay", "20"]);
    assert_eq!(checkpoint_of(&server, &vkey), cp);
    check_lookups(&server, &logged);
    let agent = agent();
    for l in logged.iter().step_by(7) {
        let a = submit(&agent, &server.base, &l.url, &l.sums);
        assert_eq!(a.status, 200);
        let v = verify_logged_sums(&p, &l.url, &l.sums, &a.body).unwrap();
        assert_eq!(v.index, l.index);
        assert_eq!(v.checkpoint.checkpoint, cp);
    }
    // And the log still grows from there.
    let a = submit(
        &agent,
        &server.base,
        "https://new.example/SHA256SUMS",
        &sums(10_000),
    );
    assert_eq!(a.status, 200);
    assert_eq!(TlogProof::parse(&a.body).unwrap().index, 400);
    let (status, _) = server.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_input_gets_a_one_line_4xx_and_leaves_the_log_unchanged() {
    let t = tempdir();
    let (dir, vkey) = init_log(t.path(), ORIGIN);
    let server = Server::start(&dir, &["--batch-delay", "20"]);
    let agent = agent();
    let good_url = "https://a.example/v1/SHA256SUMS";
    // One record so that a tile exists and "beyond the checkpoint" is meaningful.
    assert_eq!(submit(&agent, &server.base, good_url, &sums(1)).status, 200);
    let before = get(&agent, &server.url("/checkpoint")).body;

    let add = |query: &str, body: &[u8]| try_submit_raw(&agent, &server.base, query, body);
    let big = {
        let mut v = Vec::new();
        let mut i = 0;
        while v.len() < 70_000 {
            v.extend_from_slice(&sums(i));
            i += 1;
        }
        v
    };
    let cases: Vec<(&str, Answer, u16, &str)> = vec![
        ("no url", add("", &sums(2)), 400, "missing url"),
        ("empty url", add("url=", &sums(2)), 400, "missing url"),
        (
            "http URL",
            add(&format!("url={}", pct("http://a.example/S")), &sums(2)),
            400,
            "not https",
        ),
        (
            "query",
            add(&format!("url={}", pct("https://a.example/S?x=1")), &sums(2)),
            400,
            "query",
        ),
        (
            "fragment",
            add(&format!("url={}", pct("https://a.example/S#f")), &sums(2)),
            400,
            "fragment",
        ),
        (
            "userinfo",
            add(&format!("url={}", pct("https://u@a.example/S")), &sums(2)),
            400,
            "user info",
        ),
        (
            "bad escape",
            add("url=https%3A%2F%2Fa.example%2FS%G1", &sums(2)),
            400,
            "percent-escape",
        ),
        (
            "truncated escape",
            add("url=https%3A%2F%2Fa.example%2FS%4", &sums(2)),
            400,
            "percent-escape",
        ),
        (
            "not UTF-8",
            add("url=https%3A%2F%2Fa.example%2F%FF", &sums(2)),
            400,
            "UTF-8",
        ),
        (
            "second url",
            add(&format!("url={0}&url={0}", pct(good_url)), &sums(2)),
            400,
            "more than once",
        ),
        (
            "unknown parameter",
            add(&format!("url={}&x=1", pct(good_url)), &sums(2)),
            400,
            "unknown query parameter",
        ),
        (
            "long URL",
            add(
                &format!(
                    "url={}",
                    pct(&format!("https://a.example/{}", "x".repeat(2100)))
                ),
                &sums(2),
            ),
            400,
            "longer than",
        ),
        (
            "not SHA256SUMS",
            add(&format!("url={}", pct(good_url)), b"hello world\n"),
            400,
            "SHA256SUMS",
        ),
        (
            "empty body",
            add(&format!("url={}", pct(good_url)), b""),
            400,
            "SHA256SUMS",
        ),
        (
            "dot-dot name",
            add(
                &format!("url={}", pct(good_url)),
                format!("{}  ../evil\n", sha256(b"x").to_hex()).as_bytes(),
            ),
            400,
            "SHA256SUMS",
        ),
        (
            "body over the limit",
            add(&format!("url={}", pct(good_url)), &big),
            413,
            "larger than",
        ),
    ];
    for (what, a, status, needle) in &cases {
        let text = a.text();
        assert_eq!(a.status, *status, "{what}: {text}");
        assert!(
            text.ends_with('\n') && text.lines().count() == 1,
            "{what}: not one line: {text:?}"
        );
        assert!(
            text.contains(needle),
            "{what}: {text:?} does not mention {needle:?}"
        );
    }
    // A body within the body limit whose record (header + body) is over 65,535 bytes: 413 too.
    let mut near = Vec::new();
    for i in 0.. {
        let line = format!("{}  file-{i:06}\n", sha256(b"p").to_hex());
        if near.len() + line.len() > record::MAX_RECORD {
            break;
        }
        near.extend_from_slice(line.as_bytes());
    }
    let a = add(&format!("url={}", pct(good_url)), &near);
    assert_eq!(a.status, 413, "{}", a.text());
    assert!(a.text().contains("record would be"), "{}", a.text());

    // Wrong methods: 405 with Allow.
    let put = answer_of(agent.put(server.url("/add?url=x")).send(&b"x"[..]));
    assert_eq!(put.status, 405);
    assert_eq!(put.allow.as_deref(), Some("POST"));
    let del = answer_of(agent.delete(server.url("/checkpoint")).call());
    assert_eq!(del.status, 405);
    assert_eq!(del.allow.as_deref(), Some("GET, HEAD"));
    let post = answer_of(agent.post(server.url("/tile/0/000.p/1")).send(&b""[..]));
    assert_eq!(post.status, 405);
    let get_add = get(&agent, &server.url(&format!("/add?url={}", pct(good_url))));
    assert_eq!(get_add.status, 405);

    // Tiles beyond the checkpoint exist on disk after a crash mid-batch (and are rewritten by the
    // next batch): plant some, as such leftovers, to show they are still not served.
    for rel in [
        "tile/entries/000.p/2",
        "tile/0/000.p/2",
        "tile/0/000",
        "tile/1/000.p/1",
    ] {
        let path = dir.join("public").join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, [7u8; 64]).unwrap();
    }
    // Unknown paths and tile-path tricks: 404, sent raw so no client normalises them.
    for path in [
        "/",
        "/nope",
        "/log.key",
        "/tree-state",
        "/public/checkpoint",
        "/tile/../log.key",
        "/tile/0/../../log.key",
        "/tile/0/%2e%2e",
        "/tile/0/%2e%2e/log.key",
        "/tile/0/000.p/0",
        "/tile/0/00",
        "/tile/0/000.p/01",
        "/tile/0/x000/000",
        "/tile/entries/000.p/2", // beyond the checkpoint (size 1)
        "/tile/0/000.p/2",
        "/tile/0/000", // the full tile: far beyond
        "/tile/1/000.p/1",
        "/tile/0/000.p/1/",
        "/tile//0/000.p/1",
        "/checkpoint/",
        "//checkpoint",
    ] {
        let (resp, _) = raw(
            &server.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(5),
        );
        assert_eq!(raw_status(&resp), 404, "{path}: {resp}");
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
        assert!(
            body.ends_with('\n') && body.lines().count() == 1,
            "{path}: {body:?}"
        );
        assert!(!body.contains("PRIVATE"), "{path} leaked the key");
    }
    // The covered tiles are served, immutable.
    for path in ["/tile/0/000.p/1", "/tile/entries/000.p/1"] {
        let a = get(&agent, &server.url(path));
        assert_eq!(a.status, 200, "{path}");
        assert_eq!(a.content_type.as_deref(), Some("application/octet-stream"));
        assert_eq!(
            a.cache_control.as_deref(),
            Some("public, max-age=31536000, immutable")
        );
    }
    let cp = get(&agent, &server.url("/checkpoint"));
    assert_eq!(
        cp.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(cp.cache_control.as_deref(), Some("no-cache"));
    // HEAD answers without a body.
    let head = answer_of(agent.head(server.url("/checkpoint")).call());
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    // Lookups with bad URLs are 400 too.
    for q in ["", "url=http%3A%2F%2Fa.example%2FS", "url=%zz"] {
        let a = get(&agent, &server.url(&format!("/lookup?{q}")));
        assert_eq!(a.status, 400, "lookup {q}: {}", a.text());
    }

    // Nothing above changed the log; the refusals were counted by reason.
    assert_eq!(get(&agent, &server.url("/checkpoint")).body, before);
    assert_eq!(open_checkpoint(&before, &vkey).size, 1);
    let metrics = get(&agent, &server.url("/metrics")).text();
    for (reason, at_least) in [("bad_url", 12), ("bad_sums", 3), ("too_large", 2)] {
        let n: u64 = metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!("rget_log_rejected_total{{reason=\"{reason}\"}} "))?
                    .parse()
                    .ok()
            })
            .unwrap();
        assert!(n >= at_least, "{reason}: {n} < {at_least}\n{metrics}");
    }
    let (status, stderr) = server.stop();
    assert_eq!(status.code(), Some(0));
    assert!(
        stderr.contains("msg=\"submission rejected\" reason=bad_url status=400"),
        "{stderr}"
    );
}

fn answer_of(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    answer(r).unwrap_or_else(|e| panic!("no HTTP answer: {e}"))
}

fn try_submit_raw(agent: &ureq::Agent, base: &str, query: &str, body: &[u8]) -> Answer {
    answer_of(agent.post(format!("{base}/add?{query}")).send(body))
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let t = tempdir();
    let (dir, _vkey) = init_log(t.path(), ORIGIN);
    let server = Server::start(
        &dir,
        &[
            "--queue-size",
            "1",
            "--batch-delay",
            "2000",
            "--batch-size",
            "1000",
        ],
    );
    // 24 concurrent submissions into a one-slot queue whose batch waits 2 s: the sequencer takes
    // the first into its batch and at most a few more slip in as it drains, the rest bounce.
    let handles: Vec<_> = (0..24u64)
        .map(|i| {
            let base = server.base.clone();
            std::thread::spawn(move || submit(&agent(), &base, &release_url(i, 5), &sums(i)))
        })
        .collect();
    let answers: Vec<Answer> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let full: Vec<&Answer> = answers.iter().filter(|a| a.status == 503).collect();
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert!(!full.is_empty(), "no 503 from a full queue");
    assert!(ok >= 1, "nothing got through");
    assert_eq!(ok + full.len(), answers.len());
    for a in &full {
        assert_eq!(a.retry_after.as_deref(), Some("1"));
        assert!(a.text().contains("queue is full"), "{}", a.text());
    }
    let metrics = get(&agent(), &server.url("/metrics")).text();
    assert!(
        metrics.contains(&format!(
            "rget_log_rejected_total{{reason=\"queue_full\"}} {}\n",
            full.len()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("rget_log_entries_total {ok}\n")),
        "{metrics}"
    );
    let (status, stderr) = server.stop();
    assert_eq!(status.code(), Some(0));
    assert!(stderr.contains("reason=queue_full status=503"), "{stderr}");
}

/// `POST /add` with a header, for the reverse-proxy mode.
fn submit_as(base: &str, client: Option<&str>, i: u64) -> Answer {
    let mut req = agent().post(format!("{base}/add?url={}", pct(&release_url(i, 50))));
    if let Some(c) = client {
        req = req.header("X-Real-IP", c);
    }
    answer_of(req.send(&sums(i)[..]))
}

/// The default per-client limit: 60 submissions at once, then 30 a minute; the next one gets 429
/// with Retry-After (2 s at 30 a minute) and one line naming the client, is counted in /metrics,
/// and does not reach the log. Behind a proxy (`--client-address-header`) each address named in
/// the header has its own allowance, and a request without the header is refused.
#[test]
fn submissions_are_rate_limited_per_client() {
    let t = tempdir();
    let (dir, _) = init_log(t.path(), ORIGIN);
    // No --add-rate: the documented default (the test helper turns it off otherwise).
    let listen = [
        "log",
        "serve",
        dir.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--batch-delay",
        "0",
    ];
    let args: Vec<&std::ffi::OsStr> = listen.iter().map(std::ffi::OsStr::new).collect();
    let server = Server::spawn(&args);
    // 66 at once from 6 connections: the burst of 60, plus one for every 2 s they take.
    let start = Instant::now();
    let handles: Vec<_> = (0..6u64)
        .map(|t| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                (0..11)
                    .map(|k| {
                        let i = t * 11 + k;
                        submit(&agent(), &base, &release_url(i, 50), &sums(i))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<Answer> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let agent = agent();
    let refilled = start.elapsed().as_secs() / 2 + 1;
    let ok = answers.iter().filter(|a| a.status == 200).count() as u64;
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(ok + limited.len() as u64, 66);
    assert!((60..=60 + refilled).contains(&ok), "{ok} accepted");
    assert!(
        !limited.is_empty() || refilled >= 6,
        "no 429 after the burst"
    );
    for a in &limited {
        let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "Retry-After {wait}");
        assert_eq!(
            a.text(),
            format!("too many submissions from 127.0.0.1; retry after {wait} s\n")
        );
    }
    let metrics = get(&agent, &server.url("/metrics")).text();
    assert!(
        metrics.contains(&format!(
            "rget_log_rejected_total{{reason=\"rate_limited\"}} {}\n",
            limited.len()
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("rget_log_entries_total {ok}\n")),
        "{metrics}"
    );
    // Used up: one more waits for its turn.
    let a = submit(&agent, &server.base, &release_url(70, 50), &sums(70));
    assert_eq!(a.status, 429, "{}", a.text());
    let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    std::thread::sleep(Duration::from_secs(wait));
    let a = submit(&agent, &server.base, &release_url(70, 50), &sums(70));
    assert_eq!(a.status, 200, "after Retry-After: {}", a.text());
    let (status, stderr) = server.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("reason=rate_limited status=429"),
        "{stderr}"
    );

    let server = Server::start(
        &dir,
        &[
            "--add-rate",
            "1",
            "--add-burst",
            "2",
            "--client-address-header",
            "X-Real-IP",
            "--batch-delay",
            "0",
        ],
    );
    for i in 100..102 {
        assert_eq!(submit_as(&server.base, Some("192.0.2.1"), i).status, 200);
    }
    let a = submit_as(&server.base, Some("192.0.2.1"), 102);
    // One a minute: the next turn is about a minute away.
    assert_eq!(a.status, 429, "{}", a.text());
    let wait: u64 = a.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((50..=60).contains(&wait), "Retry-After {wait}");
    assert!(a.text().contains("from 192.0.2.1;"), "{}", a.text());
    assert_eq!(submit_as(&server.base, Some("192.0.2.2"), 103).status, 200);
    let a = submit_as(&server.base, None, 104);
    assert_eq!(a.status, 400, "{}", a.text());
    assert_eq!(
        a.text(),
        "missing x-real-ip header (the reverse proxy must set it)\n"
    );
    drop(server);
}

#[test]
fn slow_and_idle_clients_are_disconnected_and_connections_are_capped() {
    let t = tempdir();
    let (dir, _vkey) = init_log(t.path(), ORIGIN);
    let server = Server::start(
        &dir,
        &[
            "--header-timeout",
            "500",
            "--body-timeout",
            "500",
            "--max-connections",
            "2",
        ],
    );
    // A client that connects and sends nothing is closed within the header timeout.
    let started = Instant::now();
    let (resp, closed) = raw(&server.addr, b"", Duration::from_secs(5));
    assert!(closed, "idle connection still open after 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(!resp.contains("200 OK"));

    // A client that sends its headers one byte every 100 ms, forever, is cut off too.
    let started = Instant::now();
    let mut s = TcpStream::connect(&server.addr).unwrap();
    let head = b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec();
    let mut cut = false;
    for b in head.iter().chain(std::iter::repeat(&b'a')) {
        if s.write_all(&[*b]).is_err() {
            cut = true;
            break;
        }
        // A closed connection also shows as EOF on read.
        s.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 512];
        let r = s.read(&mut buf);
        s.set_nonblocking(false).unwrap();
        if matches!(r, Ok(0)) || matches!(&r, Ok(n) if *n > 0) {
            cut = true;
            break;
        }
        if started.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(cut, "a byte-by-byte client was not disconnected");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A body that never completes: 408 (or a close) within the body timeout.
    let started = Instant::now();
    let (resp, closed) = raw(
        &server.addr,
        b"POST /add?url=https%3A%2F%2Fa.example%2FS HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
        Duration::from_secs(5),
    );
    assert!(closed, "a stalled body kept its connection");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(raw_status(&resp) == 408 || resp.is_empty(), "{resp}");

    // A request head over the limit is refused.
    let huge = format!(
        "GET /checkpoint HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let (resp, closed) = raw(&server.addr, huge.as_bytes(), Duration::from_secs(5));
    assert!(closed);
    assert!(raw_status(&resp) == 431 || resp.is_empty(), "{resp}");

    // At the cap (2), a third client waits until a slot frees: hold two idle connections and the
    // third gets no answer; when they are closed, it does.
    let a = TcpStream::connect(&server.addr).unwrap();
    let b = TcpStream::connect(&server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let mut c = TcpStream::connect(&server.addr).unwrap(); // the kernel backlog accepts it
    c.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        c.read(&mut buf).is_err(),
        "the server answered a connection beyond its cap"
    );
    drop(a);
    drop(b);
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    assert_eq!(raw_status(&out), 200, "{out}");

    let (status, _) = server.stop();
    assert_eq!(status.code(), Some(0));
}

/// The tiles and bundles of `DIR/public`, fetched over HTTP from `base`, reproduce the checkpoint's
/// root and prove the inclusion of the logged records.
fn verify_over_http(base: &str, vkey: &str, logged: &[Logged]) {
    let agent = agent();
    let cp = open_checkpoint(&get(&agent, &format!("{base}/checkpoint")).body, vkey);
    assert_eq!(cp.size, logged.len() as u64);
    let mut src = TileHashSource::new(
        HttpTiles {
            agent: agent.clone(),
            base: base.to_owned(),
            fetched: 0,
        },
        cp.size,
    );
    assert_eq!(tree_hash(cp.size, &mut src).unwrap(), cp.root);
    for l in logged.iter().step_by(37).chain(logged.last()) {
        // The entry itself, from its bundle (the width the checkpoint implies).
        let b = l.index / 256;
        let width = (cp.size - b * 256).min(256) as u16;
        let t = Tile::new(TileLevel::Entries, b, width).unwrap();
        let bundle = get(&agent, &format!("{base}/{}", t.path()));
        assert_eq!(bundle.status, 200, "{}", t.path());
        let entries = decode_bundle(&bundle.body, width).unwrap();
        let entry = entries[(l.index % 256) as usize];
        assert_eq!(entry, record::build(&l.url, &l.sums).unwrap());
        let proof = inclusion_proof(l.index, cp.size, &mut src).unwrap();
        verify_inclusion(l.index, cp.size, &leaf_hash(entry), &proof, &cp.root).unwrap();
    }
    assert!(src.into_inner().fetched > 0);
}

/// A log of 300 records served by `rget log serve` (one full bundle and a partial one; batches leave
/// partial tiles behind), then stopped: its directory, key and records.
fn served_and_stopped_log(parent: &Path) -> (PathBuf, String, Vec<Logged>) {
    let (dir, vkey) = init_log(parent, ORIGIN);
    let server = Server::start(&dir, &["--batch-delay", "20"]);
    let logged = fill(&server, 6, 50, 30);
    check_proofs(&logged, &vkey);
    // The server's own read API gives the same answers as the static server below.
    verify_over_http(&server.base, &vkey, &logged);
    let (status, _) = server.stop();
    assert_eq!(status.code(), Some(0));
    (dir, vkey, logged)
}

#[test]
fn public_dir_is_a_static_log_for_a_plain_web_server() {
    let t = tempdir();
    let (dir, vkey, logged) = served_and_stopped_log(t.path());
    // A plain static web server over DIR/public, no rget running.
    let web = TestServer::http();
    web.serve_dir("", &dir.join("public"));
    verify_over_http(&web.url(""), &vkey, &logged);
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn public_dir_checks_in_go() {
    let t = tempdir();
    let (dir, vkey, _) = served_and_stopped_log(t.path());
    // Go's reference tlog recomputes the root from our tiles and bundles.
    let out = Command::new(gointerop())
        .arg("checklog")
        .arg(dir.join("public"))
        .arg(&vkey)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cp = open_checkpoint(
        &std::fs::read(dir.join("public/checkpoint")).unwrap(),
        &vkey,
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("ok 300 {}\n", cp.root.to_base64())
    );
}

#[test]
fn sigterm_with_submissions_in_flight_loses_no_acknowledged_record() {
    let t = tempdir();
    let (dir, vkey) = init_log(t.path(), ORIGIN);
    // Long batches, so that SIGTERM arrives while submissions wait in the queue and in the batch.
    let server = Server::start(&dir, &["--batch-delay", "400", "--batch-size", "100000"]);
    let handles: Vec<_> = (0..12u64)
        .map(|th| {
            let base = server.base.clone();
            std::thread::spawn(move || {
                let agent = agent();
                let mut acked = Vec::new();
                for k in 0..20u64 {
                    let i = th * 20 + k;
                    let url = release_url(i, 9);
                    let body = sums(i);
                    match try_submit(&agent, &base, &url, &body) {
                        Ok(a) if a.status == 200 => acked.push((url, body, a.body, Instant::now())),
                        Ok(a) => assert_eq!(a.status, 503, "{}", a.text()),
                        Err(_) => break, // the server is gone: connection refused or closed
                    }
                }
                acked
            })
        })
        .collect();
    // Mid-batch: the first batch committed at ~400 ms, the second is filling.
    std::thread::sleep(Duration::from_millis(600));
    let term = Instant::now();
    server.sigterm();
    let (status, stderr) = server.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("msg=stopped"), "{stderr}");
    let acked: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    // The batch in flight was finished and answered after the signal, not dropped.
    let after = acked.iter().filter(|(.., at)| *at > term).count();
    assert!(
        after > 0,
        "no submission in flight at SIGTERM got its answer"
    );
    assert!(
        acked.len() > after,
        "the first batch was not acknowledged before SIGTERM"
    );
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged before the shutdown"
    );

    let server = Server::start(&dir, &["--batch-delay", "20"]);
    let p = policy(&vkey);
    let cp = checkpoint_of(&server, &vkey);
    let agent = agent();
    for (url, body, proof, _) in &acked {
        let v = verify_logged_sums(&p, url, body, proof).unwrap();
        assert!(v.index < cp.size);
        // Still there at the same index: the lookup lists it and a resubmission finds it.
        let look = get(&agent, &server.url(&format!("/lookup?url={}", pct(url)))).text();
        assert!(
            look.contains(&format!("{} {}\n", v.index, sha256(body).to_hex())),
            "index {} missing after restart: {look}",
            v.index
        );
        let again = submit(&agent, &server.base, url, body);
        assert_eq!(TlogProof::parse(&again.body).unwrap().index, v.index);
    }
    assert_eq!(
        checkpoint_of(&server, &vkey),
        cp,
        "resubmissions grew the log"
    );
    let (status, _) = server.stop();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serve_refuses_a_locked_log_a_busy_port_and_a_missing_log() {
    let t = tempdir();
    let (dir, _vkey) = init_log(t.path(), ORIGIN);
    let server = Server::start(&dir, &[]);
    let run = |dir: &std::path::Path, listen: &str| {
        Command::new(RGET)
            .args(["log", "serve"])
            .arg(dir)
            .args(["--listen", listen])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Two sequencers on one directory could sign two trees of one size: the second must refuse.
    let locked = run(&dir, "127.0.0.1:0");
    assert_eq!(locked.status.code(), Some(7));
    let err = String::from_utf8(locked.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("locked"), "{err}");
    assert!(locked.stdout.is_empty());

    // A second log on the first server's port.
    let (other, _) = init_log(&t.path().join("second"), "other.example/log");
    let busy = run(&other, &server.addr);
    assert_eq!(busy.status.code(), Some(4));
    let err = String::from_utf8(busy.stderr).unwrap();
    assert!(
        err.starts_with("rget: cannot listen on") && err.lines().count() == 1,
        "{err}"
    );

    let missing = run(&t.path().join("nothing-here"), "127.0.0.1:0");
    assert_eq!(missing.status.code(), Some(7));
    assert_eq!(
        String::from_utf8(missing.stderr).unwrap().lines().count(),
        1
    );
    let (status, _) = server.stop();
    assert_eq!(status.code(), Some(0));
}

//! `rget witness init` and `rget witness serve` as real processes: every C2SP tlog-witness status code,
//! cosignatures checked by rget's note verifier and by an independent verifier (`common::cosig`, on
//! ring), state across restarts, split views, a check-and-update race, kill -9 under load, and a log
//! written by Go's reference code (that test needs `golang-go golang-golang-x-mod-dev`: ignored by
//! default, `.ci/run` runs it).

use crate::common::rng::{Rng, crash_seed};
use crate::common::{RGET, cosig, go, log as logc, tempdir};

use rget::core::checkpoint::Checkpoint;
use rget::core::digest::{Hash, sha256};
use rget::core::merkle::{
    MemoryTree, consistency_proof, empty_root, leaf_hash, verify_consistency,
};
use rget::core::note::{self, SignerKey, VerifierKey};
use rget::core::tile::{Tile, TileError, TileHashSource, TileReader};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

const ORIGIN: &str = "log.test.example/witnessed";

// ---- processes ------------------------------------------------------------------------------------

/// `rget witness init --name NAME parent/witness`: the directory and the cosigner key.
fn init_witness(parent: &Path, name: &str) -> (PathBuf, VerifierKey) {
    let dir = parent.join("witness");
    let vkey = logc::init_witness(&dir, name);
    (dir, VerifierKey::parse(&vkey).expect("a vkey"))
}

/// A policy file witnessing the logs of `vkeys`.
fn write_policy(parent: &Path, vkeys: &[&VerifierKey]) -> PathBuf {
    let mut text = String::new();
    for v in vkeys {
        text.push_str(&format!("log {v}\n"));
    }
    text.push_str("quorum none\n");
    let p = parent.join("witness.policy");
    std::fs::write(&p, text).expect("write policy");
    p
}

/// A running `rget witness serve` (the tests' common serving-process helper); SIGKILLed on drop.
type Witness = logc::Server;

fn try_start_witness(
    dir: &Path,
    policy: &Path,
    args: &[&str],
) -> Result<Witness, (ExitStatus, String)> {
    let mut all: Vec<&std::ffi::OsStr> =
        vec!["witness".as_ref(), "serve".as_ref(), dir.as_os_str()];
    all.extend(["--listen", "127.0.0.1:0", "--policy"].map(std::ffi::OsStr::new));
    all.push(policy.as_os_str());
    all.extend(args.iter().copied().map(std::ffi::OsStr::new));
    logc::Server::try_spawn(&all)
}

fn start_witness(dir: &Path, policy: &Path) -> Witness {
    try_start_witness(dir, policy, &[])
        .unwrap_or_else(|(st, err)| panic!("witness did not start ({st}): {err}"))
}

// ---- HTTP -----------------------------------------------------------------------------------------

#[derive(Debug)]
struct Resp {
    status: u16,
    content_type: Option<String>,
    body: Vec<u8>,
}

impl Resp {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}

fn response(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Resp, String> {
    let mut r = r.map_err(|e| e.to_string())?;
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_vec().map_err(|e| e.to_string())?;
    Ok(Resp {
        status,
        content_type,
        body,
    })
}

fn try_add(a: &ureq::Agent, base: &str, body: &[u8]) -> Result<Resp, String> {
    response(a.post(format!("{base}/add-checkpoint")).send(body))
}

fn add(a: &ureq::Agent, base: &str, body: &[u8]) -> Resp {
    try_add(a, base, body).unwrap_or_else(|e| panic!("POST /add-checkpoint: {e}"))
}

fn get(a: &ureq::Agent, url: &str) -> Resp {
    response(a.get(url).call()).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn monitor_path(origin: &str) -> String {
    format!("/{}/checkpoint", sha256(origin.as_bytes()).to_hex())
}

/// The add-checkpoint body: `old N`, the proof lines, an empty line, the note.
fn body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    let mut b = format!("old {old}\n").into_bytes();
    for h in proof {
        b.extend_from_slice(h.to_base64().as_bytes());
        b.push(b'\n');
    }
    b.push(b'\n');
    b.extend_from_slice(note);
    b
}

#[track_caller]
fn assert_status(r: &Resp, want: u16) {
    assert_eq!(r.status, want, "answer: {}", r.text());
}

#[track_caller]
fn assert_conflict(r: &Resp, size: u64) {
    assert_eq!(r.status, 409, "answer: {}", r.text());
    assert_eq!(r.text(), format!("{size}\n"));
    assert_eq!(r.content_type.as_deref(), Some("text/x.tlog.size"));
}

// ---- trees and checkpoints ------------------------------------------------------------------------

/// A log's history: leaf hashes and the root at every size.
#[derive(Clone)]
struct History {
    tree: MemoryTree,
    roots: Vec<Hash>,
    leaves: Vec<Hash>,
}

impl History {
    fn new() -> History {
        History {
            tree: MemoryTree::new(),
            roots: vec![empty_root()],
            leaves: Vec::new(),
        }
    }
    /// `entry i` for i < `n`, as Go's helper writes.
    fn honest(n: u64) -> History {
        let mut h = History::new();
        h.extend_with(n, |i| format!("entry {i}\n"));
        h
    }
    /// The first `at` leaves of `self`, then leaves named by `tag` up to size `n`.
    fn fork(&self, at: u64, n: u64, tag: &str) -> History {
        let mut h = History::new();
        for l in &self.leaves[..at as usize] {
            h.push(*l);
        }
        h.extend_with(n, |i| format!("{tag} {i}\n"));
        h
    }
    fn push(&mut self, leaf: Hash) {
        self.tree.append(leaf);
        self.leaves.push(leaf);
        self.roots.push(self.tree.root());
    }
    fn extend_with(&mut self, n: u64, entry: impl Fn(u64) -> String) {
        while self.size() < n {
            let i = self.size();
            self.push(leaf_hash(entry(i).as_bytes()));
        }
    }
    fn size(&self) -> u64 {
        self.tree.size()
    }
    fn root(&self, size: u64) -> Hash {
        self.roots[size as usize]
    }
    fn proof(&mut self, old: u64, new: u64) -> Vec<Hash> {
        consistency_proof(old, new, &mut self.tree).expect("proof")
    }
    /// The checkpoint of `size`, signed by `key`.
    fn checkpoint(&self, key: &SignerKey, size: u64) -> Vec<u8> {
        note::sign(&checkpoint_text(key.name(), size, &self.root(size)), &[key]).expect("sign")
    }
}

fn checkpoint_text(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", root.to_base64())
}

/// The note with the answer's cosignature lines appended.
fn cosigned(note: &[u8], answer: &Resp) -> Vec<u8> {
    let mut n = note.to_vec();
    n.extend_from_slice(&answer.body);
    n
}

/// Checks a 200 answer: one cosignature line by `witness`, over the checkpoint, with a timestamp
/// within a minute of now; verified by rget's note verifier and by the independent verifier.
#[track_caller]
fn check_cosignature(note: &[u8], answer: &Resp, log: &VerifierKey, witness: &VerifierKey) {
    assert_status(answer, 200);
    let text = answer.text();
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert!(
        text.starts_with(&format!("— {} ", witness.name)),
        "{text:?}"
    );
    let full = cosigned(note, answer);
    let opened = note::open(&full, &[log.clone(), witness.clone()]).expect("cosigned note opens");
    assert_eq!(opened.verified.len(), 2);
    let ts = opened.verified[1]
        .timestamp
        .expect("a cosignature timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(ts > 0 && ts.abs_diff(now) < 60, "timestamp {ts}, now {now}");
    // The cosignature alone verifies too (rget ignores the unknown log key).
    assert!(note::open(&full, std::slice::from_ref(witness)).is_ok());
    assert_eq!(independent_verify(witness, &full), Ok(ts));
}

/// The independent verifier (`common::cosig`): the timestamp, or the verifier's complaint.
fn independent_verify(witness: &VerifierKey, note: &[u8]) -> Result<u64, String> {
    cosig::verify(&witness.to_string(), note)
}

// ---- tests ----------------------------------------------------------------------------------------

#[test]
fn init_refuses_an_existing_witness_and_serve_one_process() {
    let t = tempdir();
    let (dir, vkey) = init_witness(t.path(), "witness.test/w1");
    assert_eq!(vkey.name, "witness.test/w1");
    assert_eq!(vkey.alg, 0x04, "a cosigner key (type 0x04)");
    assert!(vkey.to_string().split('+').nth(2).unwrap().starts_with('B'));
    let key = dir.join("witness.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let skey = SignerKey::parse(std::fs::read_to_string(&key).unwrap().trim_end()).unwrap();
    assert_eq!(
        rget::core::cosignature::verifier_key(&skey),
        vkey,
        "the printed key is the key file's cosigner identity"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("witness.pub")).unwrap(),
        format!("{vkey}\n")
    );
    // A second init, a bad name: exit 2, the key untouched.
    let before = std::fs::read(&key).unwrap();
    for (name, d) in [("witness.test/w1", &dir), ("bad name", &t.path().join("x"))] {
        let out = Command::new(RGET)
            .args(["witness", "init", "--name", name])
            .arg(d)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // Serve: a second process on the same directory is refused (exit 7), the first keeps serving;
    // SIGTERM exits 0.
    let log = SignerKey::generate(ORIGIN).unwrap();
    let policy = write_policy(t.path(), &[&log.verifier_key()]);
    let w = start_witness(&dir, &policy);
    let (st, err) = try_start_witness(&dir, &policy, &[])
        .err()
        .expect("second process refused");
    assert_eq!(st.code(), Some(7), "{err}");
    assert!(err.contains("locked"), "{err}");
    let a = agent(Duration::from_secs(10));
    assert_status(&get(&a, &w.url(&monitor_path(ORIGIN))), 404);
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
    assert!(err.contains("level=info msg=serving"), "{err}");
    // A policy without logs, a directory without a witness: usage errors.
    let empty = t.path().join("empty.policy");
    std::fs::write(&empty, "quorum none\n").unwrap();
    let (st, _) = try_start_witness(&dir, &empty, &[]).err().expect("no logs");
    assert_eq!(st.code(), Some(2));
    let (st, _) = try_start_witness(&t.path().join("none"), &policy, &[])
        .err()
        .expect("no witness");
    assert_eq!(st.code(), Some(2));
}

#[test]
fn every_status_code_and_state_across_restarts() {
    let t = tempdir();
    let (dir, wkey) = init_witness(t.path(), "witness.test/codes");
    let log = SignerKey::generate(ORIGIN).unwrap();
    let lv = log.verifier_key();
    let other = SignerKey::generate("other.test/log").unwrap();
    let policy = write_policy(t.path(), &[&lv, &other.verifier_key()]);
    let mut w = start_witness(&dir, &policy);
    let a = agent(Duration::from_secs(10));
    let mut h = History::honest(20);

    // 400: malformed bodies.
    let cp5 = h.checkpoint(&log, 5);
    for bad in [
        b"".to_vec(),
        b"old 0\n".to_vec(),
        b"new 0\n\n".to_vec(),
        body(0, &[], b"not a note\n"),
        [b"old 00\n\n".as_slice(), &cp5].concat(),
        [b"old 0\nAAAA\n\n".as_slice(), &cp5].concat(),
        [b"old 0\r\n\r\n".as_slice(), &cp5].concat(),
        body(0, &vec![Hash([1; 32]); 64], &cp5),
        // A note whose text is not a checkpoint.
        body(0, &[], &note::sign("hello\n", &[&log]).unwrap()),
    ] {
        assert_status(&add(&a, &w.base, &bad), 400);
    }
    // 404: unknown origin (a key the policy does not know, named like no policy log).
    let stranger = SignerKey::generate("stranger.test/log").unwrap();
    let r = add(&a, &w.base, &body(0, &[], &h.checkpoint(&stranger, 5)));
    assert_status(&r, 404);
    // 403: signed by another key under the log's name (unknown key id); the log key's signature
    // broken, alone or beside a valid unknown one.
    let impostor = SignerKey::generate(ORIGIN).unwrap();
    assert_status(
        &add(&a, &w.base, &body(0, &[], &h.checkpoint(&impostor, 5))),
        403,
    );
    let mut broken = note::parse(&cp5).unwrap();
    broken.signatures[0].sig[10] ^= 1;
    assert_status(&add(&a, &w.base, &body(0, &[], &broken.to_bytes())), 403);
    let mut both = note::parse(&h.checkpoint(&impostor, 5)).unwrap();
    both.signatures.push(broken.signatures[0].clone());
    assert_status(&add(&a, &w.base, &body(0, &[], &both.to_bytes())), 403);
    // 400: old size larger than the checkpoint's (checked after the signature).
    assert_status(&add(&a, &w.base, &body(6, &[], &cp5)), 400);
    // 409: old size not the one held (0: never cosigned).
    assert_conflict(&add(&a, &w.base, &body(3, &h.proof(3, 5), &cp5)), 0);
    // 422: size 0 whose root is not SHA-256("").
    let bad_empty = note::sign(&checkpoint_text(ORIGIN, 0, &sha256(b"x")), &[&log]).unwrap();
    assert_status(&add(&a, &w.base, &body(0, &[], &bad_empty)), 422);
    // 200: the empty tree.
    let cp0 = h.checkpoint(&log, 0);
    let r = add(&a, &w.base, &body(0, &[], &cp0));
    check_cosignature(&cp0, &r, &lv, &wkey);
    // 422: old 0 with a non-empty proof.
    assert_status(&add(&a, &w.base, &body(0, &[Hash([2; 32])], &cp5)), 422);
    // 200: 0 → 5; idempotent again (old == new == held, same root).
    let r = add(&a, &w.base, &body(0, &[], &cp5));
    check_cosignature(&cp5, &r, &lv, &wkey);
    let r = add(&a, &w.base, &body(5, &[], &cp5));
    check_cosignature(&cp5, &r, &lv, &wkey);
    // 422: a failing proof; a wrong-length proof; a different root for size 5.
    let cp8 = h.checkpoint(&log, 8);
    let mut bad_proof = h.proof(5, 8);
    bad_proof[0] = Hash([9; 32]);
    assert_status(&add(&a, &w.base, &body(5, &bad_proof, &cp8)), 422);
    assert_status(&add(&a, &w.base, &body(5, &h.proof(5, 8)[1..], &cp8)), 422);
    let other5 = History::honest(0).fork(0, 5, "other").checkpoint(&log, 5);
    assert_status(&add(&a, &w.base, &body(5, &[], &other5)), 422);
    // 409 from the held size 5.
    assert_conflict(&add(&a, &w.base, &body(0, &[], &cp8)), 5);
    assert_conflict(&add(&a, &w.base, &body(7, &h.proof(7, 8), &cp8)), 5);
    // 200: 5 → 8 with a good proof. The second log is independent: it starts from 0.
    let r = add(&a, &w.base, &body(5, &h.proof(5, 8), &cp8));
    check_cosignature(&cp8, &r, &lv, &wkey);
    let o3 = History::honest(3).checkpoint(&other, 3);
    check_cosignature(
        &o3,
        &add(&a, &w.base, &body(0, &[], &o3)),
        &other.verifier_key(),
        &wkey,
    );
    // The cosignature is over the whole checkpoint: on another checkpoint it fails, in rget and in
    // the independent verifier.
    let r = add(&a, &w.base, &body(8, &[], &cp8));
    let forged = cosigned(&h.checkpoint(&log, 7), &r);
    assert!(note::open(&forged, std::slice::from_ref(&wkey)).is_err());
    assert!(independent_verify(&wkey, &forged).is_err());

    // Monitoring: the latest cosigned checkpoint, with the log's signature and the cosignature.
    let m = get(&a, &w.url(&monitor_path(ORIGIN)));
    assert_status(&m, 200);
    let opened = note::open(&m.body, &[lv.clone(), wkey.clone()]).unwrap();
    assert_eq!(opened.verified.len(), 2);
    assert_eq!(Checkpoint::parse(&opened.note.text).unwrap().size, 8);
    assert!(independent_verify(&wkey, &m.body).is_ok());
    assert_status(&get(&a, &w.url(&monitor_path("nobody.test/log"))), 404);
    assert_status(&get(&a, &w.url("/checkpoint")), 404);
    assert_status(&get(&a, &w.url("/add-checkpoint")), 405);
    // Limits: a body over 64 KiB is refused with 413.
    let mut huge = body(8, &[], &cp8);
    huge.resize(70 * 1024, b'a');
    assert_status(&add(&a, &w.base, &huge), 413);

    // Restart (graceful): the state survived.
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
    assert!(
        err.contains("evidence"),
        "422s are logged as evidence: {err}"
    );
    w = start_witness(&dir, &policy);
    assert_conflict(&add(&a, &w.base, &body(5, &h.proof(5, 8), &cp8)), 8);
    assert_conflict(&add(&a, &w.base, &body(0, &[], &o3)), 3);
    assert_eq!(get(&a, &w.url(&monitor_path(ORIGIN))).body, m.body);
    let cp20 = h.checkpoint(&log, 20);
    let r = add(&a, &w.base, &body(8, &h.proof(8, 20), &cp20));
    check_cosignature(&cp20, &r, &lv, &wkey);
    // The state files are named by the origins' hashes.
    let files: BTreeSet<String> = std::fs::read_dir(dir.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let want: BTreeSet<String> = [ORIGIN, "other.test/log"]
        .iter()
        .map(|o| sha256(o.as_bytes()).to_hex())
        .collect();
    assert_eq!(files, want);
    let (st, _) = w.stop();
    assert!(st.success());
}

/// Sends `request` on a fresh connection; reads until the server closes it or 10 s pass.
fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn request_time_limits_and_connection_cap() {
    let t = tempdir();
    let (dir, _) = init_witness(t.path(), "witness.test/limits");
    let log = SignerKey::generate(ORIGIN).unwrap();
    let policy = write_policy(t.path(), &[&log.verifier_key()]);
    let w = try_start_witness(
        &dir,
        &policy,
        &[
            "--body-timeout",
            "300",
            "--header-timeout",
            "300",
            "--max-connections",
            "1",
            "--max-body",
            "1000",
        ],
    )
    .unwrap_or_else(|(st, err)| panic!("start ({st}): {err}"));
    let addr = w.base.strip_prefix("http://").unwrap().to_owned();
    // A body that never completes: 408 once the body timeout passes.
    let start = Instant::now();
    let r = raw(
        &addr,
        b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nold 0\n",
    );
    assert!(r.starts_with("HTTP/1.1 408 "), "{r}");
    assert!(start.elapsed() >= Duration::from_millis(250));
    // Over --max-body: 413.
    let a = agent(Duration::from_secs(10));
    assert_status(&add(&a, &w.base, &vec![b'a'; 1001]), 413);
    drop(a);
    // At the cap of one connection, an idle connection holds the only slot until the header
    // timeout closes it; only then is the next request served.
    std::thread::sleep(Duration::from_millis(400)); // the agent's pooled connection times out
    let idle = TcpStream::connect(&addr).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let r = raw(
        &addr,
        b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "served while the only slot was taken ({:?})",
        start.elapsed()
    );
    drop(idle);
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");
}

#[test]
fn split_view_is_refused() {
    let t = tempdir();
    let (dir, wkey) = init_witness(t.path(), "witness.test/split");
    let log = SignerKey::generate(ORIGIN).unwrap();
    let lv = log.verifier_key();
    let policy = write_policy(t.path(), &[&lv]);
    let w = start_witness(&dir, &policy);
    let a = agent(Duration::from_secs(10));
    let mut honest = History::honest(9);
    let cp5 = honest.checkpoint(&log, 5);
    check_cosignature(&cp5, &add(&a, &w.base, &body(0, &[], &cp5)), &lv, &wkey);

    // The log's key signs a second history that rewrites entry 3.
    let mut evil = honest.fork(3, 9, "evil");
    let evil7 = evil.checkpoint(&log, 7);
    let evil5 = evil.checkpoint(&log, 5);
    // With a proof from its own size-5 tree, from the honest tree, or none: 422.
    assert_status(&add(&a, &w.base, &body(5, &evil.proof(5, 7), &evil7)), 422);
    assert_status(
        &add(&a, &w.base, &body(5, &honest.proof(5, 7), &evil7)),
        422,
    );
    // Same size, other root: 422. Claiming another old size: 409 with the size held.
    assert_status(&add(&a, &w.base, &body(5, &[], &evil5)), 422);
    assert_conflict(&add(&a, &w.base, &body(0, &[], &evil7)), 5);
    assert_conflict(&add(&a, &w.base, &body(7, &[], &evil7)), 5);
    assert_conflict(&add(&a, &w.base, &body(3, &evil.proof(3, 7), &evil7)), 5);
    // The witness still holds (and serves) the honest checkpoint, and extends it.
    let m = get(&a, &w.url(&monitor_path(ORIGIN)));
    let held = note::open(&m.body, &[lv.clone(), wkey.clone()]).unwrap();
    assert_eq!(held.note.text, note::parse(&cp5).unwrap().text);
    let cp9 = honest.checkpoint(&log, 9);
    check_cosignature(
        &cp9,
        &add(&a, &w.base, &body(5, &honest.proof(5, 9), &cp9)),
        &lv,
        &wkey,
    );
    // Now even the fork's longer checkpoint is refused.
    let evil9 = evil.checkpoint(&log, 9);
    assert_status(&add(&a, &w.base, &body(9, &[], &evil9)), 422);
    let (_, err) = w.stop();
    assert!(
        err.matches("evidence of log misbehaviour").count() >= 4,
        "{err}"
    );
}

#[test]
fn concurrent_inconsistent_histories_one_is_cosigned() {
    let t = tempdir();
    let (dir, wkey) = init_witness(t.path(), "witness.test/race");
    let log = Arc::new(SignerKey::generate(ORIGIN).unwrap());
    let lv = log.verifier_key();
    let policy = write_policy(t.path(), &[&lv]);
    let w = start_witness(&dir, &policy);
    let a = agent(Duration::from_secs(10));
    let mut base = History::honest(5);
    let cp5 = base.checkpoint(&log, 5);
    assert_status(&add(&a, &w.base, &body(0, &[], &cp5)), 200);

    const THREADS: usize = 12;
    for round in 0..8u64 {
        let old = base.size();
        // Two histories from the held size: consistent with it, not with each other.
        let histories: Vec<History> = (0..2)
            .map(|k| {
                let mut h = base.clone();
                h.extend_with(old + 6, |i| {
                    format!("round {round} history {k} entry {i}\n")
                });
                h
            })
            .collect();
        let histories = Arc::new(histories);
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let (histories, barrier, log) = (histories.clone(), barrier.clone(), log.clone());
                let base_url = w.base.clone();
                std::thread::spawn(move || {
                    let a = agent(Duration::from_secs(20));
                    let k = i % 2;
                    let mut h = histories[k].clone();
                    let new = old + 3 + (i as u64 / 2) % 3;
                    let req = body(old, &h.proof(old, new), &h.checkpoint(&log, new));
                    barrier.wait();
                    let r = add(&a, &base_url, &req);
                    let mut won = Vec::new();
                    match r.status {
                        200 => won.push(new),
                        409 => {
                            // Resend from the size the witness holds, with this history's proof: it
                            // only succeeds if the size held is on this history.
                            let held: u64 = r.text().trim().parse().unwrap();
                            assert!(held > old);
                            let end = old + 6;
                            let req = body(held, &h.proof(held, end), &h.checkpoint(&log, end));
                            let r2 = add(&a, &base_url, &req);
                            match r2.status {
                                200 => won.push(end),
                                409 | 422 => {}
                                s => panic!("unexpected {s}: {}", r2.text()),
                            }
                        }
                        s => panic!("unexpected {s}: {}", r.text()),
                    }
                    (k, won)
                })
            })
            .collect();
        let mut winners: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
        for hd in handles {
            let (k, won) = hd.join().unwrap();
            if !won.is_empty() {
                winners.entry(k).or_default().extend(won);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one history is cosigned: {winners:?}"
        );
        let (&k, sizes) = winners.iter().next().unwrap();
        // What the witness holds is on the winning history.
        let m = get(&a, &w.url(&monitor_path(ORIGIN)));
        let held = Checkpoint::parse(
            &note::open(&m.body, &[lv.clone(), wkey.clone()])
                .unwrap()
                .note
                .text,
        )
        .unwrap();
        assert!(sizes.contains(&held.size));
        assert_eq!(held.root, histories[k].root(held.size));
        // The next round starts from exactly the size held.
        base = histories[k].fork(held.size, held.size, "");
    }
}

/// A C2SP log's tiles in a directory.
struct DirTiles(PathBuf);
impl TileReader for DirTiles {
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        std::fs::read(self.0.join(tile.path())).map_err(|e| TileError::Read {
            path: tile.path(),
            reason: e.to_string(),
        })
    }
}

#[test]
#[ignore = "needs go and Go's x/mod: see .ci/run"]
fn witnesses_a_log_written_by_go() {
    let t = tempdir();
    let origin = "go.test.example/log";
    let out = Command::new(go::gointerop())
        .args(["keygen", origin])
        .output()
        .expect("run gointerop keygen");
    assert!(out.status.success(), "{out:?}");
    let keys = String::from_utf8(out.stdout).unwrap();
    let mut lines = keys.lines();
    let (skey, vkey) = (lines.next().unwrap(), lines.next().unwrap());
    let lv = VerifierKey::parse(vkey).unwrap();
    let kf = t.path().join("go.key");
    std::fs::write(&kf, format!("{skey}\n")).unwrap();
    let mut logs = Vec::new();
    for n in [300u64, 1000] {
        let d = t.path().join(format!("go-{n}"));
        let out = Command::new(go::gointerop())
            .arg("writelog")
            .arg(&d)
            .arg(n.to_string())
            .arg(&kf)
            .arg(origin)
            .output()
            .expect("run gointerop writelog");
        assert!(out.status.success(), "{out:?}");
        logs.push(d);
    }
    let (dir, wkey) = init_witness(t.path(), "witness.test/go");
    let policy = write_policy(t.path(), &[&lv]);
    let w = start_witness(&dir, &policy);
    let a = agent(Duration::from_secs(10));
    let cp300 = std::fs::read(logs[0].join("checkpoint")).unwrap();
    let cp1000 = std::fs::read(logs[1].join("checkpoint")).unwrap();
    let r = add(&a, &w.base, &body(0, &[], &cp300));
    check_cosignature(&cp300, &r, &lv, &wkey);
    // The proof 300 → 1000, from Go's tiles of the bigger log.
    let mut tiles = TileHashSource::new(DirTiles(logs[1].clone()), 1000);
    let proof = consistency_proof(300, 1000, &mut tiles).unwrap();
    // A proof from the wrong size fails; the right one is accepted.
    let wrong = consistency_proof(299, 1000, &mut tiles).unwrap();
    assert_status(&add(&a, &w.base, &body(300, &wrong, &cp1000)), 422);
    let r = add(&a, &w.base, &body(300, &proof, &cp1000));
    check_cosignature(&cp1000, &r, &lv, &wkey);
    // Go's size-300 checkpoint again is now stale.
    assert_conflict(&add(&a, &w.base, &body(0, &[], &cp300)), 1000);
    let (st, _) = w.stop();
    assert!(st.success());
}

// ---- kill -9 under load -----------------------------------------------------------------------------

/// Histories the load generator offers: forks of each other at many points.
struct Family {
    histories: Vec<History>,
}

impl Family {
    /// The index of a history whose root at `size` is `root`.
    fn find(&self, size: u64, root: &Hash) -> Option<usize> {
        self.histories
            .iter()
            .position(|h| h.size() >= size && h.root(size) == *root)
    }
}

/// One cosigned answer: the history offered, the checkpoint, the answer's cosignature lines.
struct Cosigned {
    size: u64,
    root: Hash,
    note: Vec<u8>,
    lines: Vec<u8>,
}

#[test]
fn kill_9_under_load_never_forks_or_loses_state() {
    let seed = crash_seed();
    let t = tempdir();
    let (dir, wkey) = init_witness(t.path(), "witness.test/crash");
    let log = Arc::new(SignerKey::generate(ORIGIN).unwrap());
    let lv = log.verifier_key();
    let policy = write_policy(t.path(), &[&lv]);

    let family = Arc::new(Mutex::new(Family {
        histories: vec![History::new()],
    }));
    let answers: Arc<Mutex<Vec<Cosigned>>> = Arc::default();
    let base = Arc::new(Mutex::new(String::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (refused, conflicts) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut w = start_witness(&dir, &policy);
    *base.lock().unwrap() = w.base.clone();

    let loaders: Vec<_> = (0..4u64)
        .map(|i| {
            let (family, answers, base, stop, log) = (
                family.clone(),
                answers.clone(),
                base.clone(),
                stop.clone(),
                log.clone(),
            );
            let (refused, conflicts) = (refused.clone(), conflicts.clone());
            let monitor = monitor_path(ORIGIN);
            let lv = lv.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                let a = agent(Duration::from_secs(5));
                // What this client believes the witness holds: a size and the history it is on.
                let (mut known, mut on) = (0u64, 0usize);
                while !stop.load(Ordering::Relaxed) {
                    let url = base.lock().unwrap().clone();
                    // Offer the next checkpoint of the history it is on, or fork it here (with
                    // some probability, and not too many forks overall).
                    let (old, new, proof, note, root) = {
                        let mut fam = family.lock().unwrap();
                        let mut k = on;
                        if rng.below(5) == 0 {
                            // Any history, most often one that forked off before `known`: an
                            // inconsistent offer the witness must refuse.
                            k = rng.below(fam.histories.len() as u64) as usize;
                        } else if rng.below(6) == 0 && fam.histories.len() < 64 {
                            let tag = format!("fork {} by {i}", fam.histories.len());
                            let f = fam.histories[on].fork(known, known, &tag);
                            fam.histories.push(f);
                            k = fam.histories.len() - 1;
                        }
                        let new = known + 1 + rng.below(6);
                        let h = &mut fam.histories[k];
                        if h.size() < new {
                            let tag = format!("history {k}");
                            h.extend_with(new, |j| format!("{tag} entry {j}\n"));
                        }
                        // A history shorter than `known` cannot be on the witness's state.
                        let proof = h.proof(known, new);
                        let note = h.checkpoint(&log, new);
                        (known, new, proof, note, h.root(new))
                    };
                    let r = match try_add(&a, &url, &body(old, &proof, &note)) {
                        Ok(r) => r,
                        Err(_) => {
                            // Killed, restarting, or a connection reset: try again shortly.
                            std::thread::sleep(Duration::from_millis(3));
                            continue;
                        }
                    };
                    match r.status {
                        200 => {
                            answers.lock().unwrap().push(Cosigned {
                                size: new,
                                root,
                                note,
                                lines: r.body,
                            });
                            known = new;
                            let fam = family.lock().unwrap();
                            on = fam.find(new, &root).expect("offered history");
                        }
                        409 | 422 => {
                            if r.status == 409 {
                                conflicts.fetch_add(1, Ordering::Relaxed);
                            } else {
                                refused.fetch_add(1, Ordering::Relaxed);
                            }
                            // Learn what the witness holds from its monitoring endpoint.
                            let Ok(m) = response(a.get(format!("{url}{monitor}")).call()) else {
                                continue;
                            };
                            if m.status != 200 {
                                continue;
                            }
                            let opened = note::open(&m.body, std::slice::from_ref(&lv))
                                .expect("served checkpoint verifies");
                            let cp = Checkpoint::parse(&opened.note.text).unwrap();
                            let fam = family.lock().unwrap();
                            known = cp.size;
                            on = fam
                                .find(cp.size, &cp.root)
                                .expect("the witness holds an offered checkpoint");
                        }
                        s => panic!("unexpected {s}: {}", r.text()),
                    }
                }
            })
        })
        .collect();

    let mut rng = Rng(seed);
    let state_file = dir.join("logs").join(sha256(ORIGIN.as_bytes()).to_hex());
    let a = agent(Duration::from_secs(10));
    for kill in 0..20 {
        std::thread::sleep(Duration::from_millis(30 + rng.below(120)));
        w.kill9();
        // Nothing can be answered any more; what was answered is final. The state file is what
        // the next process starts from.
        let answered: Vec<(u64, Hash)> = answers
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.size, c.root))
            .collect();
        if let Ok(stored) = std::fs::read(&state_file) {
            let opened = note::open(&stored, &[lv.clone(), wkey.clone()])
                .unwrap_or_else(|e| panic!("kill {kill}: stored checkpoint: {e}"));
            let cp = Checkpoint::parse(&opened.note.text).unwrap();
            let mut fam = family.lock().unwrap();
            let k = fam
                .find(cp.size, &cp.root)
                .expect("the stored checkpoint was offered");
            for (size, root) in &answered {
                assert!(
                    *size <= cp.size,
                    "kill {kill}: answered size {size} > stored {}",
                    cp.size
                );
                let proof = fam.histories[k].proof(*size, cp.size);
                verify_consistency(*size, cp.size, root, &cp.root, &proof).unwrap_or_else(|e| {
                    panic!(
                        "kill {kill}: answered {size} inconsistent with stored {}: {e}",
                        cp.size
                    )
                });
            }
        } else {
            assert!(
                answered.is_empty(),
                "kill {kill}: answered but no state stored"
            );
        }
        w = start_witness(&dir, &policy);
        // The restarted witness serves what was stored (checked before the load finds it).
        if let Ok(stored) = std::fs::read(&state_file) {
            assert!(get(&a, &w.url(&monitor_path(ORIGIN))).body == stored);
        }
        *base.lock().unwrap() = w.base.clone();
    }
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        l.join().unwrap();
    }
    let (st, err) = w.stop();
    assert!(st.success(), "{err}");

    // All answers together: at most one root per size, every cosignature valid, and every answer a
    // prefix of the final state (so any two answers are consistent with each other: prefixes of one
    // tree); each pair of successive sizes is also checked directly.
    let answers = answers.lock().unwrap();
    let stored = std::fs::read(&state_file).unwrap();
    let opened = note::open(&stored, &[lv.clone(), wkey.clone()]).unwrap();
    let fin = Checkpoint::parse(&opened.note.text).unwrap();
    let mut fam = family.lock().unwrap();
    let k = fam.find(fin.size, &fin.root).unwrap();
    let mut by_size: BTreeMap<u64, Hash> = BTreeMap::new();
    for c in answers.iter() {
        if let Some(prev) = by_size.insert(c.size, c.root) {
            assert_eq!(prev, c.root, "two roots cosigned for size {}", c.size);
        }
        let full = [c.note.as_slice(), &c.lines].concat();
        note::open(&full, &[lv.clone(), wkey.clone()]).expect("cosignature verifies");
        let proof = fam.histories[k].proof(c.size, fin.size);
        verify_consistency(c.size, fin.size, &c.root, &fin.root, &proof).unwrap();
    }
    let sizes: Vec<(u64, Hash)> = by_size.into_iter().collect();
    for pair in sizes.windows(2) {
        let [(s1, r1), (s2, r2)] = pair else { continue };
        let proof = fam.histories[k].proof(*s1, *s2);
        verify_consistency(*s1, *s2, r1, r2, &proof).unwrap();
    }
    // The independent verifier on a sample.
    for c in answers.iter().step_by(answers.len().div_ceil(5).max(1)) {
        let full = [c.note.as_slice(), &c.lines].concat();
        assert!(independent_verify(&wkey, &full).is_ok());
    }
    let (n, refused, conflicts) = (
        answers.len(),
        refused.load(Ordering::Relaxed),
        conflicts.load(Ordering::Relaxed),
    );
    eprintln!(
        "{n} cosigned, {refused} refused (422), {conflicts} conflicts (409), {} histories, final size {}",
        fam.histories.len(),
        fin.size
    );
    assert!(n >= 20, "too little load: {n} cosigned");
    assert!(refused > 0, "no inconsistent checkpoint was offered");
}

/// A flood of refused `add-checkpoint` requests (8 connections for 3 s, as fast as the witness
/// answers) writes a bounded log: each kind of event writes its burst, then 10 lines a second, and
/// once a second one line says how many were left out, so the lines on stderr grow with time, not
/// with requests, and every refused request is still counted.
#[test]
fn a_flood_of_requests_writes_a_bounded_log() {
    let t = tempdir();
    let (dir, _) = init_witness(t.path(), "witness.example/flood");
    let log = SignerKey::generate(ORIGIN).unwrap();
    let policy = write_policy(t.path(), &[&log.verifier_key()]);
    let w = start_witness(&dir, &policy);
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let flooders: Vec<_> = (0..8)
        .map(|_| {
            let (base, stop, sent) = (w.base.clone(), stop.clone(), sent.clone());
            std::thread::spawn(move || {
                let a = agent(Duration::from_secs(10));
                while !stop.load(Ordering::Relaxed) {
                    // A body that is no add-checkpoint request at all: 400, logged as refused.
                    let r = add(&a, &base, b"old 0\n\nnot a checkpoint\n");
                    assert_eq!(r.status, 400, "{}", r.text());
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        f.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    // One more second, so the last count of what was left out is written.
    std::thread::sleep(Duration::from_millis(1500));
    w.sigterm();
    let (status, stderr) = w.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{stderr}");
    let sent = sent.load(Ordering::Relaxed);
    let refused: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("msg=\"add-checkpoint refused\""))
        .collect();
    let left_out: u64 = stderr
        .lines()
        .filter(|l| l.contains("msg=\"events left out\" event=\"add-checkpoint refused\""))
        .map(|l| {
            l.split(" count=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    let lines = stderr.lines().count();
    eprintln!(
        "{sent} refused requests in {secs:.1} s ({:.0}/s): {lines} lines, {} bytes on stderr ({:.1} lines/s)",
        sent as f64 / secs,
        stderr.len(),
        lines as f64 / (secs + 1.5)
    );
    assert!(
        sent > 500,
        "the flood was too light to test anything ({sent} requests)"
    );
    assert_eq!(
        refused.len() as u64 + left_out,
        sent,
        "every refusal is logged or counted"
    );
    // The burst, then 10 a second (over 3 s and the wait), the counts, start and stop.
    assert!(
        refused.len() <= 50 + 10 * 5,
        "{} refusal lines",
        refused.len()
    );
    assert!(
        lines <= 150 && stderr.len() < 64 * 1024,
        "{lines} lines, {} bytes",
        stderr.len()
    );
}

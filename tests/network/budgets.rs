//! The log's side of the network: `rget log serve --witnesses` asks each witness within the budget
//! its witnesses file gives it (`qpd <name> <n>`), while the witnesses enforce the same budgets from
//! their log lists (429 past them). A counting relay in front of each witness counts every request
//! of the run. A witness over budget is skipped and the log keeps publishing with the others, then
//! catches it up when idle; a quorum that needs witnesses over budget gets one checkpoint for many
//! batches; a witness behind an https-bastion is reached through it, and the bastion's own statuses
//! are named.

use super::{witness, witness_init};
use crate::common::https::TestCa;
use crate::common::log::{Server, agent, get, init_log, submit, sums};
use crate::common::relay::{Relay, Seen};
use crate::common::{cosig, tempdir};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::note::{self, VerifierKey};
use rget::core::policy::Policy;
use rget::core::verify::verify_logged_sums;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A witness of the run: its cosigner key, its process, and the relay the log reaches it through.
struct Witness {
    vkey: String,
    server: Server,
    relay: Relay,
    qpd: u32,
}

/// A log and `qpds.len()` witnesses, witness i listing the log with budget `qpds[i]`.
fn world(t: &Path, qpds: &[u32]) -> (PathBuf, String, Vec<Witness>) {
    let (log_dir, log_vkey) = init_log(t, "budget.test/log");
    let mut ws = Vec::new();
    for (i, &qpd) in qpds.iter().enumerate() {
        let dir = t.join(format!("w{i}"));
        let vkey = witness_init(&dir, &format!("w{i}.test/witness"));
        let list = t.join(format!("list-{i}"));
        std::fs::write(
            &list,
            format!("logs/v0\nvkey {log_vkey}\nqpd {qpd}\ncontact ops@budget.test\n"),
        )
        .unwrap();
        let server = witness(&dir, &["--log-list".as_ref(), list.as_os_str()]);
        let relay = Relay::http(&server.base);
        ws.push(Witness {
            vkey,
            server,
            relay,
            qpd,
        });
    }
    (log_dir, log_vkey, ws)
}

/// The witnesses file of the log and the client's policy, with `group` as the quorum's group line.
fn policies(
    t: &Path,
    log_vkey: &str,
    ws: &[Witness],
    urls: &[String],
    group: &str,
) -> (PathBuf, Policy) {
    let mut file = String::new();
    let mut client = format!("log {log_vkey}\n");
    for (i, w) in ws.iter().enumerate() {
        file.push_str(&format!(
            "witness w{i} {} {}\nqpd w{i} {}\n",
            w.vkey, urls[i], w.qpd
        ));
        client.push_str(&format!("witness w{i} {}\n", w.vkey));
    }
    file.push_str(&format!("{group}\nquorum q\n"));
    client.push_str(&format!("{group}\nquorum q\n"));
    let path = t.join("witnesses");
    std::fs::write(&path, file).unwrap();
    (path, Policy::parse(&client).unwrap())
}

fn start_log(dir: &Path, witnesses: &Path, env: &[(&str, &OsStr)]) -> Server {
    let mut args: Vec<&OsStr> = vec!["log".as_ref(), "serve".as_ref(), dir.as_os_str()];
    args.extend(
        [
            "--listen",
            "127.0.0.1:0",
            "--batch-delay",
            "10",
            // Every submitter here is 127.0.0.1, and the load is far above one client's share.
            "--add-rate",
            "0",
            "--witnesses",
        ]
        .map(OsStr::new),
    );
    args.push(witnesses.as_os_str());
    Server::try_spawn_env(&args, env)
        .unwrap_or_else(|(s, e)| panic!("log did not start ({s}): {e}"))
}

/// Submits from `threads` threads for `run`, each waiting up to `spread` (a different time each)
/// before each submission: every answer (url, record number, status, body).
fn load(
    base: &str,
    threads: u64,
    run: Duration,
    spread: Duration,
) -> Vec<(String, u64, u16, Vec<u8>)> {
    let until = Instant::now() + run;
    let next = Arc::new(AtomicU64::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (base, next, answers) = (base.to_owned(), next.clone(), answers.clone());
            std::thread::spawn(move || {
                let a = agent();
                while Instant::now() < until {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let ms = spread.as_millis() as u64;
                    if ms > 0 {
                        std::thread::sleep(Duration::from_millis(i * 37 % ms));
                    }
                    let url = format!("https://rel.budget.test/v{i}/SHA256SUMS");
                    let r = submit(&a, &base, &url, &sums(i));
                    answers.lock().unwrap().push((url, i, r.status, r.body));
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    Arc::try_unwrap(answers).unwrap().into_inner().unwrap()
}

/// Polls the published checkpoint until `stop`: every size seen.
fn watch(base: String, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<BTreeSet<u64>> {
    std::thread::spawn(move || {
        let a = agent();
        let mut sizes = BTreeSet::new();
        while !stop.load(Ordering::SeqCst) {
            let cp = get(&a, &format!("{base}/checkpoint"));
            let n = note::parse(&cp.body).unwrap();
            sizes.insert(Checkpoint::parse(&n.text).unwrap().size);
            std::thread::sleep(Duration::from_millis(20));
        }
        sizes
    })
}

/// The budget check, over the whole run: the add-checkpoint requests a witness received from the
/// log's start to its last one are at most the log's reserve of 2 plus `qpd` a day for that time,
/// and none was refused with 429.
#[track_caller]
fn assert_within_budget(name: &str, seen: &[Seen], qpd: u32, log_start: Instant) -> usize {
    let adds: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.path.ends_with("/add-checkpoint"))
        .collect();
    assert!(
        adds.iter().all(|s| s.status != 429),
        "{name} refused a request for its budget: {adds:?}"
    );
    if let Some(last) = adds.last() {
        let days = (last.at - log_start).as_secs_f64() / 86_400.0;
        let allowed = 2.0 + f64::from(qpd) * days;
        assert!(
            adds.len() as f64 <= allowed,
            "{name}: {} requests in {:?}, its budget allows {allowed:.2}",
            adds.len(),
            last.at - log_start
        );
    }
    adds.len()
}

/// `<name>{witness="<w>"} <value>` from the log's metrics.
fn metric(base: &str, name: &str, w: &str) -> u64 {
    let m = get(&agent(), &format!("{base}/metrics")).text();
    let key = format!("{name}{{witness=\"{w}\"}} ");
    let line = m
        .lines()
        .find(|l| l.starts_with(&key))
        .unwrap_or_else(|| panic!("no {key} in\n{m}"));
    line[key.len()..].parse().unwrap()
}

#[test]
fn a_witness_over_budget_is_skipped_the_log_keeps_publishing_and_catches_it_up() {
    let tmp = tempdir();
    let t = tmp.path();
    // w0 and w1: 100 requests a second; w2: one every 5 s, far less than this log asks for.
    let (log_dir, log_vkey, ws) = world(t, &[8_640_000, 8_640_000, 17_280]);
    let urls: Vec<String> = ws.iter().map(|w| w.relay.url("/")).collect();
    let (wfile, policy) = policies(t, &log_vkey, &ws, &urls, "group q 2 w0 w1 w2");
    let log_start = Instant::now();
    let log = start_log(&log_dir, &wfile, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(log.base.clone(), stop.clone());
    let answers = load(&log.base, 3, Duration::from_secs(6), Duration::ZERO);
    stop.store(true, Ordering::SeqCst);
    let sizes = watcher.join().unwrap();

    // Every submission answered with a proof under a checkpoint meeting the 2-of-3 policy.
    assert!(
        answers.len() >= 30,
        "only {} submissions in 6 s",
        answers.len()
    );
    for (url, i, status, body) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        let v = verify_logged_sums(&policy, url, &sums(*i), body).expect("proof verifies");
        assert!(v.checkpoint.cosigners.len() >= 2);
    }
    // The log kept publishing all along: many checkpoints, not one per w2's budget.
    assert!(sizes.len() >= 10, "published sizes {sizes:?}");
    let n = answers.len() as u64;
    // Nobody's budget was exceeded, w2 least of all; w2 got few requests, and was skipped for most
    // checkpoints.
    let counts: Vec<usize> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| assert_within_budget(&format!("w{i}"), &w.relay.seen(), w.qpd, log_start))
        .collect();
    assert!(counts[2] <= 4 && counts[0] >= 10, "requests {counts:?}");
    assert!(metric(&log.base, "rget_log_witness_deferred_total", "w2") >= 5);

    // Idle now: w2 gets the published checkpoint once its budget allows, and its cosignature is
    // merged into the checkpoint the log serves, and into the proofs it answers.
    let final_note = || get(&agent(), &log.url("/checkpoint")).body;
    let until = Instant::now() + Duration::from_secs(15);
    while cosig::verify(&ws[2].vkey, &final_note()).is_err() {
        assert!(
            Instant::now() < until,
            "w2 never cosigned the published checkpoint"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let published = final_note();
    let cp = Checkpoint::parse(&note::parse(&published).unwrap().text).unwrap();
    assert_eq!(cp.size, n);
    let v = policy.verify_checkpoint(&published).unwrap();
    assert_eq!(v.cosigners.len(), 3, "all three witnesses now");
    let again = submit(&agent(), &log.base, &answers[0].0, &sums(answers[0].1));
    let proved =
        verify_logged_sums(&policy, &answers[0].0, &sums(answers[0].1), &again.body).unwrap();
    assert_eq!(
        proved.checkpoint.cosigners.len(),
        3,
        "the proofs carry it too"
    );
    for i in 0..3 {
        assert_eq!(
            metric(
                &log.base,
                "rget_log_witness_cosigned_size",
                &format!("w{i}")
            ),
            n
        );
    }
    // Each witness's monitoring endpoint serves that checkpoint with its own cosignature.
    for w in &ws {
        let m = get(
            &agent(),
            &w.server.url(&super::monitoring("budget.test/log")),
        );
        assert_eq!(m.status, 200);
        let cp = Checkpoint::parse(&note::parse(&m.body).unwrap().text).unwrap();
        assert_eq!(cp.size, n);
        cosig::verify(&w.vkey, &m.body).unwrap();
    }
    for (i, w) in ws.iter().enumerate() {
        assert_within_budget(&format!("w{i}"), &w.relay.seen(), w.qpd, log_start);
    }
}

#[test]
fn a_quorum_of_witnesses_over_budget_gets_one_checkpoint_for_many_batches() {
    let tmp = tempdir();
    let t = tmp.path();
    // Both witnesses: one request every 5 s; the quorum needs both.
    let (log_dir, log_vkey, ws) = world(t, &[17_280, 17_280]);
    let urls: Vec<String> = ws.iter().map(|w| w.relay.url("/")).collect();
    let (wfile, policy) = policies(t, &log_vkey, &ws, &urls, "group q all w0 w1");
    let log_start = Instant::now();
    let log = start_log(&log_dir, &wfile, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(log.base.clone(), stop.clone());
    let answers = load(
        &log.base,
        8,
        Duration::from_secs(8),
        Duration::from_millis(2000),
    );
    stop.store(true, Ordering::SeqCst);
    let sizes = watcher.join().unwrap();
    // Nothing failed: each submission waited for the next checkpoint the budgets allowed.
    for (url, i, status, body) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(body));
        let v = verify_logged_sums(&policy, url, &sums(*i), body).unwrap();
        assert_eq!(v.checkpoint.cosigners.len(), 2);
    }
    let counts: Vec<usize> = ws
        .iter()
        .enumerate()
        .map(|(i, w)| assert_within_budget(&format!("w{i}"), &w.relay.seen(), w.qpd, log_start))
        .collect();
    // A few checkpoints, each one request to each witness (the sizes they hold are known after
    // the first), and many submissions and batches in each: made durable while the budgets refilled.
    let checkpoints = counts[0];
    assert!(
        sizes.len() <= checkpoints + 1 && checkpoints <= 6,
        "sizes {sizes:?}, {counts:?}"
    );
    assert!(
        answers.len() >= 3 * checkpoints,
        "{} answers, {checkpoints} checkpoints",
        answers.len()
    );
    let m = get(&agent(), &log.url("/metrics")).text();
    let batches: usize = m
        .lines()
        .find_map(|l| l.strip_prefix("rget_log_batches_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        batches >= 2 * checkpoints,
        "{batches} batches, {checkpoints} checkpoints"
    );
}

#[test]
fn a_witness_behind_an_https_bastion_is_reached_and_the_bastions_refusals_are_named() {
    let tmp = tempdir();
    let t = tmp.path();
    let (log_dir, log_vkey, ws) = world(t, &[8_640_000, 8_640_000]);
    // w1 is reachable only through the bastion, under the hash of its key (the backend key may be
    // the witness key itself: https-bastion, appendix A).
    let ca = TestCa::new();
    let bastion = Relay::bastion(&ca);
    let key = VerifierKey::parse(&ws[1].vkey).unwrap().public_key;
    let hash = sha256(&key).to_hex();
    bastion.route(&hash, Some(&ws[1].server.base));
    let urls = vec![ws[0].relay.url("/"), bastion.url(&format!("/{hash}/"))];
    assert!(urls[1].starts_with("https://"));
    let (wfile, policy) = policies(t, &log_vkey, &ws, &urls, "group q all w0 w1");
    let ca_file = ca.pem_path().into_os_string();
    let log = start_log(&log_dir, &wfile, &[("SSL_CERT_FILE", ca_file.as_os_str())]);
    let a = agent();
    let url = "https://rel.budget.test/bastion/SHA256SUMS";
    let r = submit(&a, &log.base, url, &sums(1));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = verify_logged_sums(&policy, url, &sums(1), &r.body).unwrap();
    assert_eq!(v.checkpoint.cosigners.len(), 2);
    let through: Vec<Seen> = bastion.seen();
    assert!(
        through
            .iter()
            .any(|s| s.path == format!("/{hash}/add-checkpoint") && s.status == 200),
        "{through:?}"
    );

    // The bastion forgets the witness (421), then knows it but it is not connected (503): the log
    // waits, saying which; when the witness is back, the waiting submission is answered.
    bastion.unroute(&hash);
    let base = log.base.clone();
    let waiting = std::thread::spawn(move || {
        submit(
            &agent(),
            &base,
            "https://rel.budget.test/late/SHA256SUMS",
            &sums(2),
        )
    });
    let seen_status = |status: u16| {
        let until = Instant::now() + Duration::from_secs(20);
        while !bastion.seen().iter().any(|s| s.status == status) {
            assert!(Instant::now() < until, "the log never got a {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    seen_status(421);
    bastion.route(&hash, None);
    seen_status(503);
    assert!(!waiting.is_finished(), "no answer while w1 is unreachable");
    bastion.route(&hash, Some(&ws[1].server.base));
    let r = waiting.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let (status, stderr) = log.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("the bastion does not serve this witness")
            && stderr.contains("the witness is not connected to its bastion"),
        "{stderr}"
    );
}

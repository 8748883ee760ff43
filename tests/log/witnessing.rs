//! The log with witnesses, end to end, with real processes: three `rget witness serve` and a 2-of-3
//! policy. Checkpoints carry valid cosignatures and proofs verify under the policy; with two witnesses
//! stopped the log stops publishing (submissions wait, the last cosigned checkpoint stays published
//! and still verifies); when a witness comes back, the waiting submission is answered.

use crate::common::{RGET, https, log as logc};

use https::{Reply, TestCa, TestServer};
use logc::{Server, agent, init_log, submit, sums};
use rget::core::checkpoint::Checkpoint;
use rget::core::note;
use rget::core::policy::Policy;
use rget::core::verify::verify_logged_sums;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn witness_serve(dir: &Path, policy: &Path, listen: &str) -> Server {
    let args: [&std::ffi::OsStr; 7] = [
        "witness".as_ref(),
        "serve".as_ref(),
        dir.as_os_str(),
        "--listen".as_ref(),
        listen.as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ];
    Server::spawn(&args)
}

fn published(base: &str) -> Vec<u8> {
    let mut b = Vec::new();
    agent()
        .get(&format!("{base}/checkpoint"))
        .call()
        .unwrap()
        .body_mut()
        .as_reader()
        .read_to_end(&mut b)
        .unwrap();
    b
}

#[test]
fn two_of_three_witnesses_cosign_and_the_log_waits_for_the_quorum() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (log_dir, log_vkey) = init_log(t, "witnessed.example/log");
    let witness_policy = t.join("witness-policy");
    std::fs::write(&witness_policy, format!("log {log_vkey}\nquorum none\n")).unwrap();

    let mut vkeys = Vec::new();
    let mut witnesses = Vec::new();
    for i in 0..3 {
        let d = t.join(format!("w{i}"));
        vkeys.push(logc::init_witness(&d, &format!("w{i}.example/witness")));
        witnesses.push(Some(witness_serve(&d, &witness_policy, "127.0.0.1:0")));
    }
    let mut wfile = String::new();
    let mut client_policy = format!("log {log_vkey}\n");
    for (i, w) in witnesses.iter().enumerate() {
        let w = w.as_ref().unwrap();
        wfile.push_str(&format!("witness w{i} {} {}/\n", vkeys[i], w.base));
        client_policy.push_str(&format!("witness w{i} {}\n", vkeys[i]));
    }
    wfile.push_str("group two 2 w0 w1 w2\nquorum two\n");
    client_policy.push_str("group two 2 w0 w1 w2\nquorum two\n");
    std::fs::write(t.join("witnesses"), &wfile).unwrap();
    let policy = Policy::parse(&client_policy).unwrap();

    let wpath = t.join("witnesses");
    let log = Server::start(
        &log_dir,
        &[
            "--batch-delay",
            "10",
            "--witnesses",
            wpath.to_str().unwrap(),
        ],
    );
    let a = agent();

    // Every answer is a proof under a checkpoint cosigned by at least two witnesses.
    for i in 0..6u64 {
        let url = format!("https://rel.example/v{i}/SHA256SUMS");
        let ans = submit(&a, &log.base, &url, &sums(i));
        assert_eq!(ans.status, 200, "{}", ans.text());
        let v = verify_logged_sums(&policy, &url, &sums(i), &ans.body)
            .expect("proof verifies under the 2-of-3 policy");
        assert!(
            v.checkpoint.cosigners.len() >= 2,
            "{:?}",
            v.checkpoint.cosigners
        );
        assert_eq!(v.index, i);
    }
    // `rget get` accepts a release logged under these cosigned checkpoints (and names the witnesses).
    let ca = TestCa::new();
    let files = TestServer::https(&ca);
    let artifact = b"#!/bin/sh\necho release\n".to_vec();
    let release_sums = format!("{}  tool.sh\n", rget::core::digest::sha256(&artifact)).into_bytes();
    let sums_url = files.url("/rel/SHA256SUMS");
    let ans = submit(&a, &log.base, &sums_url, &release_sums);
    assert_eq!(ans.status, 200, "{}", ans.text());
    files.route("/rel/tool.sh", Reply::body(&artifact));
    files.route("/rel/SHA256SUMS", Reply::body(&release_sums));
    files.route("/rel/SHA256SUMS.tlog-proof", Reply::body(&ans.body));
    let get_policy = t.join("get-policy");
    std::fs::write(
        &get_policy,
        client_policy.replacen(&log_vkey, &format!("{log_vkey} {}/", log.base), 1),
    )
    .unwrap();
    let out = Command::new(RGET)
        .args(["get", "--allow-http", "-o"])
        .arg(t.join("tool.sh"))
        .arg("--policy")
        .arg(&get_policy)
        .arg("--state")
        .arg(t.join("get-state"))
        .arg("--cacert")
        .arg(ca.pem_path())
        .arg(files.url("/rel/tool.sh"))
        .env("HOME", t)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    assert_eq!(std::fs::read(t.join("tool.sh")).unwrap(), artifact);
    assert!(summary.contains("cosigned   by w0, w1, w2"), "{summary}");

    let before = published(&log.base);
    let cp = policy.verify_checkpoint(&before).unwrap();
    assert_eq!(cp.checkpoint.size, 7);
    assert_eq!(cp.cosigners.len(), 3, "all three witnesses are up");

    // Two witnesses down: the log cannot publish; the submission waits; reads keep the old checkpoint.
    let port1 = witnesses[1]
        .as_ref()
        .unwrap()
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    witnesses[1] = None;
    witnesses[2] = None;
    let base = log.base.clone();
    let waiting = std::thread::spawn(move || {
        let url = "https://rel.example/late/SHA256SUMS";
        let started = Instant::now();
        let ans = submit(&agent(), &base, url, &sums(100));
        (ans, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !waiting.is_finished(),
        "no answer while the quorum is missing"
    );
    let during = published(&log.base);
    assert_eq!(
        during, before,
        "the last cosigned checkpoint stays published"
    );
    assert!(
        policy.verify_checkpoint(&during).is_ok(),
        "and clients still verify against it"
    );
    let mut metrics = String::new();
    a.get(&log.url("/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .as_reader()
        .read_to_string(&mut metrics)
        .unwrap();
    assert!(metrics.contains("rget_log_quorum_missing 1"), "{metrics}");

    // One witness back (same directory and port): the quorum is met, the submission is answered.
    let d1 = t.join("w1");
    witnesses[1] = Some(witness_serve(
        &d1,
        &witness_policy,
        &format!("127.0.0.1:{port1}"),
    ));
    let (ans, waited) = waiting.join().unwrap();
    assert_eq!(ans.status, 200, "{}", ans.text());
    assert!(waited >= Duration::from_millis(1500));
    let v = verify_logged_sums(
        &policy,
        "https://rel.example/late/SHA256SUMS",
        &sums(100),
        &ans.body,
    )
    .unwrap();
    assert_eq!(v.index, 7);
    let names: Vec<&str> = v
        .checkpoint
        .cosigners
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["w0", "w1"]);
    let real_note = published(&log.base);
    let after = Checkpoint::parse(&note::parse(&real_note).unwrap().text).unwrap();
    assert_eq!(after.size, 8);
    witnesses[2] = Some(witness_serve(&t.join("w2"), &witness_policy, "127.0.0.1:0"));
    drop(log);

    // Split view: someone with the log's private key signs a size-8 checkpoint of another tree.
    let key_text = std::fs::read_to_string(log_dir.join("log.key")).unwrap();
    let key = note::SignerKey::parse(key_text.trim_end()).unwrap();
    let fake = Checkpoint {
        root: rget::core::digest::sha256(b"another history"),
        ..after.clone()
    };
    let fake_note = note::sign(&fake.format(), &[&key]).unwrap();
    // Every witness refuses it: w0 and w1 hold size 8 (same size, other root: 422); w2 holds 7 and no
    // consistency proof from its tree to this one can exist (422 for a bad proof, or 409 if it wants
    // another old size — never 200).
    for (i, w) in witnesses.iter().enumerate() {
        let w = w.as_ref().unwrap();
        for old in [7u64, 8] {
            let mut body = format!("old {old}\n\n").into_bytes();
            body.extend_from_slice(&fake_note);
            let mut resp = a
                .post(&format!("{}/add-checkpoint", w.base))
                .send(&body[..])
                .unwrap();
            let status = resp.status().as_u16();
            let mut text = String::new();
            let _ = resp.body_mut().as_reader().read_to_string(&mut text);
            assert!(
                matches!(status, 409 | 422),
                "witness w{i} answered {status} to the forked checkpoint (old {old}): {text}"
            );
        }
    }
    // A client shown the forked checkpoint rejects it for want of quorum...
    let e = policy.verify_checkpoint(&fake_note).unwrap_err();
    assert!(e.to_string().contains("quorum"), "{e}");
    // ...and, remembering the real one, as a fork (even if the quorum were somehow met).
    let state = rget::client::state::StateDir::open(t.join("client-state")).unwrap();
    let real = policy.verify_checkpoint(&real_note).unwrap();
    let none = |_: u64, _: u64| -> Result<Vec<rget::core::digest::Hash>, String> {
        Err("no proofs needed".into())
    };
    state.observe_latest(&real, &mut none.clone()).unwrap();
    let no_quorum = Policy::parse(&format!("log {log_vkey}\nquorum none\n")).unwrap();
    let forged = no_quorum.verify_checkpoint(&fake_note).unwrap();
    let err = state
        .observe_latest(&forged, &mut none.clone())
        .unwrap_err();
    assert!(err.to_string().contains("FORK"), "{err}");
}

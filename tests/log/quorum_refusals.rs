//! What a submitter hears when the log cannot reach its witness quorum, and `rget log serve
//! --cacert` for witnesses behind a private CA. Real processes: `rget log serve`, `rget witness
//! serve` behind an HTTPS relay with the test CA, `rget submit`.
//!
//! The log keeps a submission it cannot publish yet and, after `--answer-timeout`, answers it 503
//! with one line naming the cause (each failing witness and why); `rget submit` prints that line,
//! escaped, and exits 4 at once rather than after its read timeout, drawing a waiting line only on a
//! terminal. With `--cacert` the same witness cosigns, and submitting again gets the proof of the
//! record the log kept.

use crate::common::exit::NETWORK;
use crate::common::https::TestCa;
use crate::common::log::{Server, init_log, init_witness, sums};
use crate::common::relay::Relay;
use crate::common::{RGET, assert_ok, on_a_terminal, output, tempdir, text};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `rget submit URL --file SUMS --log LOG --policy POLICY --state STATE --allow-http`.
fn submit(t: &Path, log: &str, url: &str, sums: &Path) -> Command {
    let mut c = Command::new(RGET);
    c.env_remove("SSL_CERT_FILE")
        .args(["submit", url, "--file"])
        .arg(sums)
        .args(["--log", log, "--policy"])
        .arg(t.join("policy"))
        .arg("--state")
        .arg(t.join("state"))
        .arg("--allow-http");
    c
}

/// The submitter's policy `t/policy`: the log at `log_base`, its one witness required.
fn write_policy(t: &Path, log_vkey: &str, log_base: &str, witness_vkey: &str) {
    std::fs::write(
        t.join("policy"),
        format!("log {log_vkey} {log_base}/\nwitness w1 {witness_vkey}\nquorum w1\n"),
    )
    .unwrap();
}

#[test]
fn an_unreachable_quorum_is_named_in_the_answer_and_cacert_lets_the_log_reach_it() {
    let tmp = tempdir();
    let t = tmp.path();
    let (log_dir, log_vkey) = init_log(t, "quorum.example/log");
    let wdir = t.join("w1");
    let wvkey = init_witness(&wdir, "w1.example/witness");
    std::fs::write(t.join("wpolicy"), format!("log {log_vkey}\nquorum none\n")).unwrap();
    let witness = Server::spawn(&[
        "witness".as_ref(),
        "serve".as_ref(),
        wdir.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--policy".as_ref(),
        t.join("wpolicy").as_os_str(),
    ]);
    // The witness is reached over HTTPS with a certificate of the test's private CA.
    let ca = TestCa::new();
    let front = Relay::bastion(&ca);
    front.route("w1", Some(&witness.base));
    let wfile = t.join("witnesses");
    std::fs::write(
        &wfile,
        format!("witness w1 {wvkey} {}\nquorum w1\n", front.url("/w1/")),
    )
    .unwrap();
    let sums_file = t.join("SHA256SUMS");
    std::fs::write(&sums_file, sums(1)).unwrap();
    let url = "https://rel.quorum.example/v1/SHA256SUMS";

    // Without --cacert: the log cannot get the cosignature, and says why.
    let wpath = wfile.to_str().unwrap();
    let log = Server::start(
        &log_dir,
        &[
            "--batch-delay",
            "10",
            "--answer-timeout",
            "1500",
            "--witnesses",
            wpath,
        ],
    );
    write_policy(t, &log_vkey, &log.base, &wvkey);
    let started = Instant::now();
    let o = output(&mut submit(t, &log.base, url, &sums_file));
    let took = started.elapsed();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(NETWORK), "{err}");
    assert!(took < Duration::from_secs(20), "answered after {took:?}");
    // One line (no waiting line: standard error is not a terminal), from the log's answer.
    assert_eq!(err.lines().count(), 1, "{err:?}");
    for want in [
        "rget: ",
        "HTTP 503",
        "the witness quorum is not reached",
        "witness w1: ",
        "certificate",
        "--cacert",
        "submit it again later",
    ] {
        assert!(err.contains(want), "{want:?} not in {err:?}");
    }
    assert!(!t.join("SHA256SUMS.tlog-proof").exists());

    // On a terminal, a line says what is awaited while the log has not answered, and is cleared
    // before the error, which starts a clean line.
    let (code, screen) = on_a_terminal(&mut submit(t, &log.base, url, &sums_file));
    assert_eq!(code, NETWORK, "{screen:?}");
    assert!(
        screen.contains("waiting for the log's witnesses to cosign the record ("),
        "{screen:?}"
    );
    let error = screen.find("rget: ").expect("the error line");
    assert!(
        screen[..error].ends_with("\r\x1b[2K") || screen[..error].ends_with("\r\x1b[2K\x1b[1A"),
        "{screen:?}"
    );
    let (_, log_err) = log.stop();
    assert!(log_err.contains("not_published"), "{log_err}");

    // With --cacert: the witness cosigns; submitting again gets the record the log kept.
    let pem = ca.pem_path();
    let log = Server::start(
        &log_dir,
        &[
            "--batch-delay",
            "10",
            "--witnesses",
            wpath,
            "--cacert",
            pem.to_str().unwrap(),
        ],
    );
    write_policy(t, &log_vkey, &log.base, &wvkey);
    let o = output(&mut submit(t, &log.base, url, &sums_file));
    assert_ok(&o);
    let err = text(&o.stderr);
    assert!(err.contains("at index 0"), "{err}");
    assert!(t.join("SHA256SUMS.tlog-proof").exists());
}

/// A witness that refuses connections: the answer names it and the quorum it leaves unmet.
#[test]
fn a_witness_that_refuses_connections_is_named_in_the_answer() {
    let tmp = tempdir();
    let t = tmp.path();
    let (log_dir, log_vkey) = init_log(t, "refused.example/log");
    let wvkey = init_witness(&t.join("w1"), "w1.example/witness");
    let port = crate::common::free_port();
    let wfile = t.join("witnesses");
    std::fs::write(
        &wfile,
        format!("witness w1 {wvkey} http://127.0.0.1:{port}/\nquorum w1\n"),
    )
    .unwrap();
    let log = Server::start(
        &log_dir,
        &[
            "--batch-delay",
            "10",
            "--answer-timeout",
            "1000",
            "--witnesses",
            wfile.to_str().unwrap(),
        ],
    );
    write_policy(t, &log_vkey, &log.base, &wvkey);
    let sums_file = t.join("SHA256SUMS");
    std::fs::write(&sums_file, sums(2)).unwrap();
    let o = output(&mut submit(
        t,
        &log.base,
        "https://rel.refused.example/v1/SHA256SUMS",
        &sums_file,
    ));
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(NETWORK), "{err}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains(
            "the witness quorum is not reached (it needs a cosignature by witness w1): witness w1: "
        ),
        "{err}"
    );
    assert!(err.contains("connection refused"), "{err}");
}

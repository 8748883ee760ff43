//! Getting a log witnessed, end to end with real processes: `rget log participation` prints the
//! request and the log-list entry; a witness that reads a list carrying that entry cosigns the log's
//! checkpoints, within the rate the request promised.

use super::{witness, witness_init};
use crate::common::log::{agent, init_log, submit, sums};
use crate::common::{RGET, assert_code, assert_ok, cosig, parse_json, run, tempdir};
use rget::core::log_list;
use rget::core::note::VerifierKey;
use std::process::Command;

#[test]
fn the_printed_entry_gets_the_log_witnessed_within_its_rate() {
    let t = tempdir();
    let (log_dir, log_vkey) = init_log(t.path(), "participate.test/log");
    let out = assert_ok(&run(Command::new(RGET)
        .args(["log", "participation"])
        .arg(&log_dir)
        .args(["--qpd", "1440", "--contact", "ops (at) participate.test"])));
    for want in [
        "To: participate (at) lists.witness-network.org",
        "Origin line:   participate.test/log",
        &format!("Public key:    {log_vkey}"),
        "at most 1440 add-checkpoint requests a day to each witness (one every 60 s on average)",
        "Log list:      testing",
        "Contact:       ops (at) participate.test",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    // The entry, as the list's maintainers would paste it into the testing list.
    let entry = out.split("Log-list entry:\n\n").nth(1).unwrap();
    let real = std::fs::read_to_string(super::data("witness-network/testing-log-list.1")).unwrap();
    let list_path = t.path().join("testing-log-list.1");
    std::fs::write(&list_path, format!("{real}\n{entry}")).unwrap();
    let list = log_list::parse(&std::fs::read(&list_path).unwrap()).unwrap();
    let mine = list.logs.last().unwrap();
    assert_eq!(mine.vkey, VerifierKey::parse(&log_vkey).unwrap());
    assert_eq!(
        (mine.origin.as_str(), mine.qpd),
        ("participate.test/log", 1440)
    );

    // A witness of the network reads that list; the log keeps to the rate it promised.
    let wdir = t.path().join("w");
    let wkey = witness_init(&wdir, "w.participate.test/witness");
    let w = witness(&wdir, &["--log-list".as_ref(), list_path.as_os_str()]);
    let wfile = t.path().join("witnesses");
    std::fs::write(
        &wfile,
        format!("witness net {wkey} {}/\nqpd net 1440\nquorum net\n", w.base),
    )
    .unwrap();
    let log = crate::common::log::Server::start(
        &log_dir,
        &[
            "--batch-delay",
            "10",
            "--witnesses",
            wfile.to_str().unwrap(),
        ],
    );
    let r = submit(
        &agent(),
        &log.base,
        "https://participate.test/v1/SHA256SUMS",
        &sums(1),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let published = crate::common::log::get(&agent(), &log.url("/checkpoint")).body;
    cosig::verify(&wkey, &published).unwrap();

    // --json: the same, for machines.
    let out = assert_ok(&run(Command::new(RGET)
        .args(["log", "participation"])
        .arg(&log_dir)
        .args([
            "--qpd",
            "86400",
            "--contact",
            "https://participate.test/about",
        ])
        .args(["--list", "staging", "--json"])));
    let report = parse_json(&out);
    assert_eq!(report["origin"], "participate.test/log");
    assert_eq!(report["qpd"], 86400);
    assert_eq!(report["list"], "staging");
    let entry = report["log_list_entry"].as_str().unwrap_or_default();
    assert!(entry.starts_with("vkey participate.test/log+"), "{out}");
    // A contact a list cannot carry, a qpd out of range: usage errors.
    for bad in [
        ["--qpd", "1", "--contact", " padded "],
        ["--qpd", "0", "--contact", "x"],
        ["--qpd", "2147483648", "--contact", "x"],
    ] {
        let o = run(Command::new(RGET)
            .args(["log", "participation"])
            .arg(&log_dir)
            .args(bad));
        assert_code(&o, 2);
    }
    // No log there: 7.
    let o = run(Command::new(RGET)
        .args(["log", "participation"])
        .arg(t.path().join("nothing"))
        .args(["--qpd", "1", "--contact", "x"]));
    assert_code(&o, 7);
}

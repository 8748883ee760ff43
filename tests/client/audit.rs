//! `rget audit` against a real log server holding thousands of records: the prefix's records, a
//! changed URL and an unexpected record are reported; a second run fetches nothing already verified;
//! a log whose bundles do not match its signed root is an anomaly.

use crate::common::https::TestServer;
use crate::common::log::{Server, init_log};
use crate::common::{RGET, mkfifo, parse_json};
use rget::core::digest::sha256;
use rget::core::record;
use rget::log::sequencer::Log;
use std::path::Path;
use std::process::{Command, Output};

const PREFIX: &str = "https://rel.example/proj/";

fn sums(tag: &str) -> Vec<u8> {
    format!("{}  proj-{tag}.tar.gz\n", sha256(tag.as_bytes())).into_bytes()
}

/// Appends records to the log directly (the server must not be running: the log is locked by it).
fn append(dir: &Path, records: &[(String, Vec<u8>)]) {
    let mut log = Log::open(dir).unwrap();
    let recs: Vec<Vec<u8>> = records
        .iter()
        .map(|(u, s)| record::build(u, s).unwrap())
        .collect();
    for chunk in recs.chunks(700) {
        log.sequence(chunk).unwrap();
    }
}

fn audit(tmp: &Path, policy: &Path, extra: &[&str]) -> Output {
    Command::new(RGET)
        .args([
            "audit",
            "--prefix",
            PREFIX,
            "--json",
            "--allow-http",
            "--policy",
        ])
        .arg(policy)
        .arg("--state")
        .arg(tmp.join("state"))
        .args(extra)
        .env("HOME", tmp)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap()
}

#[test]
fn audit_reports_prefix_records_changes_and_unexpected_and_is_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (dir, vkey) = init_log(t, "audit.example/log");

    // 3,000 records: most under other prefixes (including a look-alike "proj-x/"), 20 under ours.
    let mut recs = Vec::new();
    for i in 0..3000 {
        let url = match i % 150 {
            0 => format!("{PREFIX}v{}/SHA256SUMS", i / 150),
            1 => format!("https://rel.example/proj-x/v{i}/SHA256SUMS"),
            _ => format!("https://other{}.example/r{i}/SHA256SUMS", i % 7),
        };
        recs.push((url, sums(&format!("r{i}"))));
    }
    // A URL under the prefix whose content changes, and one nobody published.
    recs.push((format!("{PREFIX}v5/SHA256SUMS"), sums("v5-replaced")));
    recs.push((format!("{PREFIX}rogue/SHA256SUMS"), sums("rogue")));
    append(&dir, &recs);

    // What the release team published: the 20 good SHA256SUMS files, in a directory tree.
    let expect = t.join("published");
    for (i, (url, s)) in recs
        .iter()
        .enumerate()
        .filter(|(_, (u, _))| u.starts_with(PREFIX))
        .take(20)
    {
        let d = expect.join(format!("v{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("SHA256SUMS"), s).unwrap();
        assert!(url.ends_with("/SHA256SUMS"));
    }

    let policy = t.join("policy");
    let server = serve(&dir, &vkey, &policy);
    let expect_arg = expect.to_str().unwrap();

    let out = audit(t, &policy, &["--expect", expect_arg]);
    let json = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "anomalies exit 6: {json} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = parse_json(&json);
    let log = &report["logs"][0];
    assert_eq!(log["to"], 3002);
    assert_eq!(log["from"], 0);
    // 20 originals + the replacement + the rogue one are new; proj-x is not under the prefix.
    let new = log["new"].to_string();
    assert_eq!(log["new"].as_array().map(Vec::len), Some(22), "{new}");
    assert!(
        !new.contains("proj-x"),
        "segment boundary: proj-x is not under proj/"
    );
    let changed = log["changed"].to_string();
    assert!(
        changed.contains(&format!("{PREFIX}v5/SHA256SUMS")),
        "{changed}"
    );
    assert_eq!(
        changed.matches("\"url\":").count(),
        3,
        "one changed URL listing its two records: {changed}"
    );
    let unexpected = log["unexpected"].to_string();
    assert!(
        unexpected.contains("rogue") && unexpected.contains("v5/SHA256SUMS"),
        "{unexpected}"
    );
    assert_eq!(log["unexpected"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["anomalies"], 3);
    assert_eq!(log["bundles_fetched"], 12, "3002 entries = 12 bundles");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().count(),
        1,
        "one-line summary of the anomaly"
    );

    // Second run (cron, an hour later): nothing new, nothing fetched, and the anomalies, not
    // acknowledged, are reported again with exit 6.
    let out = audit(t, &policy, &["--expect", expect_arg]);
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(6), "{json}");
    let report = parse_json(&json);
    assert_eq!(report["logs"][0]["bundles_fetched"], 0);
    assert_eq!(report["logs"][0]["from"], 3002);
    assert_eq!(report["anomalies"], 3, "{json}");
    assert_eq!(
        report["logs"][0]["reported_before"].to_string(),
        "[3000,3001]",
        "{json}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("reported before and not acknowledged"),
        "{err}"
    );
    assert!(err.contains("--acknowledge INDEX"), "{err}");

    // Acknowledging an index with no open anomaly is refused (exit 2), and acknowledges nothing.
    let out = audit(t, &policy, &["--expect", expect_arg, "--acknowledge", "17"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--acknowledge 17: no log has an open anomaly"),
        "{err}"
    );
    // Both acknowledged: exit 0, and they are named as acknowledged.
    let out = audit(
        t,
        &policy,
        &[
            "--expect",
            expect_arg,
            "--acknowledge",
            "3000",
            "--acknowledge",
            "3001",
        ],
    );
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    let report = parse_json(&json);
    assert_eq!(report["anomalies"], 0);
    assert_eq!(report["logs"][0]["acknowledged"].to_string(), "[3000,3001]");
    // And they stay acknowledged.
    let out = audit(t, &policy, &["--expect", expect_arg]);
    assert_eq!(out.status.code(), Some(0));

    // The log grows by 600 (one expected record under the prefix): only the new bundles are fetched.
    drop(server);
    let good = sums("v-new");
    let v = expect.join("v-new");
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("SHA256SUMS"), &good).unwrap();
    let mut more: Vec<(String, Vec<u8>)> = (0..599)
        .map(|i| {
            (
                format!("https://other.example/m{i}/SHA256SUMS"),
                sums(&format!("m{i}")),
            )
        })
        .collect();
    more.push((format!("{PREFIX}v-new/SHA256SUMS"), good));
    append(&dir, &more);
    let server = serve(&dir, &vkey, &policy);
    let out = audit(t, &policy, &["--expect", expect_arg]);
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    let log = &parse_json(&json)["logs"][0];
    assert_eq!(
        (log["from"].as_u64(), log["to"].as_u64()),
        (Some(3002), Some(3602))
    );
    // Entries 3002..3602 live in bundles 11 (partial before, now full) through 14.
    assert_eq!(log["bundles_fetched"], 4);
    let new = log["new"].to_string();
    assert_eq!(log["new"].as_array().map(Vec::len), Some(1));
    assert!(new.contains("v-new"));

    // A new anomaly after the acknowledged ones: exit 6 again, on this run and the next.
    drop(server);
    append(
        &dir,
        &[(format!("{PREFIX}rogue2/SHA256SUMS"), sums("rogue2"))],
    );
    let server = serve(&dir, &vkey, &policy);
    for _ in 0..2 {
        let out = audit(t, &policy, &["--expect", expect_arg]);
        let json = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(6), "{json}");
        let report = parse_json(&json);
        assert_eq!(report["anomalies"], 1, "{json}");
        assert!(
            report["logs"][0]["unexpected"]
                .to_string()
                .contains("rogue2"),
            "{json}"
        );
    }
    let out = audit(
        t,
        &policy,
        &["--expect", expect_arg, "--acknowledge", "3602"],
    );
    assert_eq!(out.status.code(), Some(0));

    // A log whose bundle does not match its signed root: an anomaly, and the progress is not advanced.
    drop(server);
    append(
        &dir,
        &[(
            "https://other.example/late/SHA256SUMS".to_string(),
            sums("late"),
        )],
    );
    let bundle = dir.join("public/tile/entries/014.p/20");
    let mut b = std::fs::read(&bundle).unwrap();
    let last = b.len() - 3;
    b[last] ^= 1;
    std::fs::write(&bundle, &b).unwrap();
    // `rget log serve` would refuse to start on it (it checks its bundles); a static web server or a
    // CDN serves whatever is on disk.
    let web = TestServer::http();
    web.serve_dir("", &dir.join("public"));
    let base = web.url("");
    std::fs::write(&policy, format!("log {vkey} {base}/\nquorum none\n")).unwrap();
    for _ in 0..2 {
        let out = audit(t, &policy, &[]);
        assert_eq!(out.status.code(), Some(6));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("do not hash to its signed root"), "{err}");
    }
}

/// `--expect` says what it skipped, one line each on standard error, and never waits on a FIFO: a
/// FIFO named SHA256SUMS (and one given by name), a file that is not a SHA256SUMS, one larger than a
/// log record can carry, and a link that leads nowhere. What it could read still counts: the one
/// published record is expected, so the audit is clean.
#[test]
fn expect_reports_what_it_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (dir, vkey) = init_log(t, "audit.example/log");
    let good = sums("v1");
    append(&dir, &[(format!("{PREFIX}v1/SHA256SUMS"), good.clone())]);
    let expect = t.join("published");
    for d in ["v1", "fifo", "garbage", "huge", "dangling"] {
        std::fs::create_dir_all(expect.join(d)).unwrap();
    }
    std::fs::write(expect.join("v1/SHA256SUMS"), &good).unwrap();
    let fifo = expect.join("fifo/SHA256SUMS");
    mkfifo(&fifo);
    std::fs::write(
        expect.join("garbage/SHA256SUMS"),
        b"<html>not found</html>\n",
    )
    .unwrap();
    let huge: String = (0..2000)
        .map(|i| format!("{}  f{i}\n", sha256(&[i as u8, (i / 256) as u8])))
        .collect();
    std::fs::write(expect.join("huge/SHA256SUMS"), huge).unwrap();
    std::os::unix::fs::symlink("nowhere", expect.join("dangling/SHA256SUMS")).unwrap();

    let policy = t.join("policy");
    let _server = serve(&dir, &vkey, &policy);
    let start = std::time::Instant::now();
    let out = audit(
        t,
        &policy,
        &[
            "--expect",
            expect.to_str().unwrap(),
            "--expect",
            fifo.to_str().unwrap(),
        ],
    );
    assert!(start.elapsed().as_secs() < 60, "waited on the FIFO");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let d = expect.display();
    let want = [
        format!("rget: --expect: skipped {d}/dangling/SHA256SUMS: a link that leads nowhere"),
        format!("rget: --expect: skipped {d}/fifo/SHA256SUMS: a FIFO, not a regular file"),
        format!(
            "rget: --expect: skipped {d}/garbage/SHA256SUMS: not a SHA256SUMS (SHA256SUMS line 1: "
        ),
        format!(
            "rget: --expect: skipped {d}/huge/SHA256SUMS: larger than 65535 bytes, more than a log record can carry"
        ),
        format!("rget: --expect: skipped {d}/fifo/SHA256SUMS: a FIFO, not a regular file"),
    ];
    assert_eq!(lines.len(), want.len(), "{err}");
    for (line, want) in lines.iter().zip(&want) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
}

/// Serves the log in `dir` with `rget log serve`, and writes `policy` for it (its verifier key
/// `vkey`, no witnesses).
fn serve(dir: &Path, vkey: &str, policy: &Path) -> Server {
    let server = Server::start(dir, &[]);
    std::fs::write(
        policy,
        format!("log {vkey} {}/\nquorum none\n", server.base),
    )
    .unwrap();
    server
}

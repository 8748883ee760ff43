//! `rget::fetch` over real sockets on 127.0.0.1: an HTTPS test server with a test CA
//! (`tests/common/https.rs`) and a real `rget log serve` process. Every failure case asserts the
//! error kind and that the message names the problem.

use crate::common::{self, https, log as logc};

use https::{Reply, SilentServer, TestCa, TestServer, files_with_prefix};
use rget::core::checkpoint::Checkpoint;
use rget::core::digest::sha256;
use rget::core::merkle::{inclusion_proof, leaf_hash, verify_inclusion};
use rget::core::note::{self, VerifierKey};
use rget::core::record;
use rget::core::tile::TileHashSource;
use rget::core::tlog_proof::TlogProof;
use rget::fetch::{Client, Config, FetchError, Kind, LogClient, TEMP_PREFIX, limits};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Trusts the test CA; short timeouts and backoff so failures are quick.
fn config(ca: &TestCa) -> Config {
    Config {
        ca_files: vec![ca.pem_path()],
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(2),
        retry_backoff: Duration::from_millis(20),
        ..Config::default()
    }
}

fn client(ca: &TestCa) -> Client {
    Client::new(config(ca)).expect("client")
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(r: Result<T, FetchError>, kind: Kind, words: &[&str]) -> String {
    let e = r.expect_err("expected an error");
    let msg = e.to_string();
    assert_eq!(e.kind(), kind, "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    for w in words {
        assert!(msg.contains(w), "{msg:?} should mention {w:?}");
    }
    msg
}

/// Deterministic bytes that are not all alike.
fn data(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i ^ (i >> 7) ^ (i >> 13)) as u8)
        .collect()
}

fn no_progress() -> impl FnMut(u64, Option<u64>) {
    |_, _| {}
}

// ---- trust ----------------------------------------------------------------------------------------

#[test]
fn https_with_the_test_ca() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/hello", Reply::body("hello\n"));
    let f = client(&ca).get_bytes(&srv.url("/hello"), 100).unwrap();
    assert_eq!(f.bytes, b"hello\n");
    assert_eq!(f.final_url, srv.url("/hello"));
}

#[test]
fn untrusted_certificate_is_a_network_error_about_the_certificate() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/hello", Reply::body("hello\n"));
    let c = Client::new(Config {
        ca_files: vec![],
        ..config(&ca)
    })
    .unwrap();
    expect_err(
        c.get_bytes(&srv.url("/hello"), 100),
        Kind::Network,
        &["certificate", "UnknownIssuer", "--cacert", "/hello"],
    );
    assert_eq!(srv.count("/hello"), 0, "no request got through");
    // Not retried: a certificate does not become trusted by asking again.
    assert_eq!(srv.connections(), 1);
}

#[test]
fn unusable_ca_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    for (path, word) in [
        (junk, "no PEM certificate"),
        (dir.path().join("missing.pem"), "cannot read"),
    ] {
        let r = Client::new(Config {
            ca_files: vec![path.clone()],
            ..Config::default()
        });
        let e = expect_err(r.map(|_| ()), Kind::Config, &[word]);
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}

/// Runs this test binary's `env_child` test in a child process with `env` (and without any
/// inherited proxy or CA variables); returns its `RESULT` line.
fn run_child(url: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.arg(common::test_name(module_path!(), "env_child"))
        .args(["--exact", "--nocapture", "--test-threads=1"]);
    for v in [
        "SSL_CERT_FILE",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("RGET_FETCH_CHILD_URL", url)
        .envs(env.iter().copied());
    let out = cmd.output().expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}");
    stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r))
        .unwrap_or_else(|| panic!("no RESULT line in {stdout}"))
        .to_owned()
}

/// Not a test on its own: the child of the tests below (does nothing without its variable).
#[test]
fn env_child() {
    let Ok(url) = std::env::var("RGET_FETCH_CHILD_URL") else {
        return;
    };
    let r = Client::new(Config::from_env()).and_then(|c| c.get_bytes(&url, 1000));
    match r {
        Ok(f) => println!("RESULT ok {}", String::from_utf8_lossy(&f.bytes).trim()),
        Err(e) => println!("RESULT err {:?} {e}", e.kind()),
    }
}

#[test]
fn ssl_cert_file_adds_a_root_and_proxies_follow_the_environment() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/env", Reply::body("from env\n"));
    let url = srv.url("/env");
    let pem = ca.pem_path();
    let pem = pem.to_str().unwrap();
    // Without SSL_CERT_FILE the test CA is not trusted; with it, it is (added to webpki-roots).
    let r = run_child(&url, &[]);
    assert!(
        r.starts_with("err Network") && r.contains("certificate"),
        "{r}"
    );
    assert_eq!(run_child(&url, &[("SSL_CERT_FILE", pem)]), "ok from env");
    // A proxy that refuses connections is used for https URLs...
    let dead_proxy = "http://127.0.0.1:1";
    let r = run_child(&url, &[("SSL_CERT_FILE", pem), ("HTTPS_PROXY", dead_proxy)]);
    assert!(r.starts_with("err Network"), "{r}");
    // ... except for hosts in NO_PROXY.
    let r = run_child(
        &url,
        &[
            ("SSL_CERT_FILE", pem),
            ("HTTPS_PROXY", dead_proxy),
            ("NO_PROXY", "example.org, 127.0.0.1"),
        ],
    );
    assert_eq!(r, "ok from env");
    assert_eq!(srv.count("/env"), 2);
}

// ---- http and redirects ---------------------------------------------------------------------------

#[test]
fn plain_http_is_refused_unless_allowed() {
    let ca = TestCa::new();
    let srv = TestServer::http();
    srv.route("/plain", Reply::body("plain\n"));
    expect_err(
        client(&ca).get_bytes(&srv.url("/plain"), 100),
        Kind::Insecure,
        &["plain http", "--allow-http", "/plain"],
    );
    assert_eq!(srv.count("/plain"), 0);
    let c = Client::new(Config {
        allow_http: true,
        ..config(&ca)
    })
    .unwrap();
    assert_eq!(
        c.get_bytes(&srv.url("/plain"), 100).unwrap().bytes,
        b"plain\n"
    );
}

#[test]
fn https_to_http_redirect_is_refused_even_when_http_is_allowed() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let plain = TestServer::http();
    plain.route("/target", Reply::body("downgraded\n"));
    srv.route("/start", Reply::redirect(&plain.url("/target")));
    let c = Client::new(Config {
        allow_http: true,
        ..config(&ca)
    })
    .unwrap();
    expect_err(
        c.get_bytes(&srv.url("/start"), 100),
        Kind::Insecure,
        &["redirect from https to http", "/start", "/target"],
    );
    assert_eq!(plain.count("/target"), 0);
}

#[test]
fn five_redirects_are_followed_six_are_not() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    for i in 0..6 {
        srv.route(
            &format!("/r{i}"),
            Reply::redirect(&srv.url(&format!("/r{}", i + 1))),
        );
    }
    srv.route("/r6", Reply::body("end\n"));
    let c = client(&ca);
    let f = c.get_bytes(&srv.url("/r1"), 100).unwrap();
    assert_eq!(f.bytes, b"end\n");
    assert_eq!(f.final_url, srv.url("/r6"));
    expect_err(
        c.get_bytes(&srv.url("/r0"), 100),
        Kind::TooManyRedirects,
        &["more than 5 redirects", "/r0"],
    );
    assert_eq!(srv.count("/r6"), 1, "the sixth redirect was not followed");
}

#[test]
fn relative_redirects_resolve_against_the_answering_url() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/a/b/start", Reply::redirect_with(301, "../c/next?x=1"));
    srv.route("/a/c/next", Reply::redirect_with(307, "/d/last"));
    srv.route("/d/last", Reply::redirect_with(308, "final"));
    srv.route("/d/final", Reply::body("relative\n"));
    let f = client(&ca).get_bytes(&srv.url("/a/b/start"), 100).unwrap();
    assert_eq!(f.bytes, b"relative\n");
    assert_eq!(f.final_url, srv.url("/d/final"));
}

#[test]
fn bad_urls_are_refused_before_any_request() {
    let ca = TestCa::new();
    let c = client(&ca);
    for u in [
        "ftp://example.org/x",
        "example.org/x",
        "https://user:pw@example.org/",
    ] {
        expect_err(c.get_bytes(u, 10), Kind::BadUrl, &["bad URL"]);
    }
}

// ---- statuses and retries -------------------------------------------------------------------------

#[test]
fn not_found_is_not_retried() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    expect_err(
        client(&ca).get_bytes(&srv.url("/missing"), 100),
        Kind::NotFound,
        &["not found", "404", "/missing"],
    );
    assert_eq!(srv.count("/missing"), 1);
    srv.route("/gone", Reply::status(410));
    expect_err(
        client(&ca).get_bytes(&srv.url("/gone"), 100),
        Kind::NotFound,
        &["410"],
    );
    srv.route("/teapot", Reply::status(418));
    expect_err(
        client(&ca).get_bytes(&srv.url("/teapot"), 100),
        Kind::Http,
        &["HTTP 418", "status 418"],
    );
    assert_eq!(srv.count("/teapot"), 1);
}

#[test]
fn a_503_is_retried_and_then_succeeds() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route(
        "/flaky",
        Reply::Sequence(vec![Reply::status(503), Reply::body("second time\n")]),
    );
    let f = client(&ca).get_bytes(&srv.url("/flaky"), 100).unwrap();
    assert_eq!(f.bytes, b"second time\n");
    assert_eq!(srv.count("/flaky"), 2);
    // Always 502: three attempts, then the error.
    srv.route("/down", Reply::status(502));
    expect_err(
        client(&ca).get_bytes(&srv.url("/down"), 100),
        Kind::Http,
        &["HTTP 502"],
    );
    assert_eq!(srv.count("/down"), 3);
}

#[test]
fn a_post_is_not_retried_after_it_was_sent() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/add", Reply::status(503));
    let c = client(&ca);
    let log = LogClient::new(&srv.url("/"), &c);
    expect_err(
        log.submit("https://example.org/SHA256SUMS", b"x"),
        Kind::Http,
        &[
            "HTTP 503",
            "/add?url=https%3A%2F%2Fexample.org%2FSHA256SUMS",
        ],
    );
    assert_eq!(srv.count("/add"), 1);
    // Nothing listening: retried (the request was never sent), then a network error.
    let dead = Client::new(Config {
        allow_http: true,
        ..config(&ca)
    })
    .unwrap();
    expect_err(
        LogClient::new("http://127.0.0.1:1", &dead).submit("https://example.org/S", b"x"),
        Kind::Network,
        &["connection refused", "http://127.0.0.1:1/add"],
    );
}

// ---- limits, truncation, timeouts -----------------------------------------------------------------

#[test]
fn bodies_over_the_limit_are_refused_and_leave_nothing() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let c = client(&ca);
    srv.route("/exact", Reply::body(data(1000)));
    srv.route("/unsized", Reply::body_unsized(data(1000)));
    assert_eq!(
        c.get_bytes(&srv.url("/exact"), 1000).unwrap().bytes,
        data(1000)
    );
    assert_eq!(
        c.get_bytes(&srv.url("/unsized"), 1000).unwrap().bytes,
        data(1000)
    );
    // Declared too large: refused before reading; undeclared: refused at byte 1000.
    expect_err(
        c.get_bytes(&srv.url("/exact"), 999),
        Kind::TooLarge,
        &[
            "larger than the limit of 999 bytes",
            "Content-Length: 1000",
            "/exact",
        ],
    );
    expect_err(
        c.get_bytes(&srv.url("/unsized"), 999),
        Kind::TooLarge,
        &["larger than the limit of 999 bytes"],
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file");
    for path in ["/exact", "/unsized"] {
        expect_err(
            c.download(&srv.url(path), &dest, 999, &mut no_progress()),
            Kind::TooLarge,
            &["999"],
        );
    }
    assert!(!dest.exists());
    assert_eq!(files_with_prefix(dir.path(), ""), Vec::<String>::new());
}

#[test]
fn an_endless_body_stops_at_the_limit() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/endless", Reply::Endless);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("endless");
    let mut seen = 0;
    let limit = 3 * 1024 * 1024 + 7;
    expect_err(
        client(&ca).download(&srv.url("/endless"), &dest, limit, &mut |n, total| {
            assert_eq!(total, None);
            seen = n;
        }),
        Kind::TooLarge,
        &["larger than the limit of 3145735 bytes"],
    );
    // The read that crossed the limit was refused whole; nothing beyond the limit was written.
    assert!(seen <= limit && seen > limit - 256 * 1024, "{seen}");
    assert_eq!(files_with_prefix(dir.path(), ""), Vec::<String>::new());
    assert_eq!(srv.count("/endless"), 1, "not retried");
}

#[test]
fn a_body_cut_short_is_a_network_error_and_the_destination_is_untouched() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route(
        "/short",
        Reply::CutShort {
            declared: 5000,
            body: data(1234),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("short");
    std::fs::write(&dest, "old contents\n").unwrap();
    expect_err(
        client(&ca).download(&srv.url("/short"), &dest, 1 << 20, &mut no_progress()),
        Kind::Network,
        &["body cut short after 1234 of 5000 bytes", "/short"],
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"old contents\n");
    assert_eq!(
        files_with_prefix(dir.path(), TEMP_PREFIX),
        Vec::<String>::new()
    );
    assert_eq!(srv.count("/short"), 3, "a truncated GET is retried");
    expect_err(
        client(&ca).get_bytes(&srv.url("/short"), 1 << 20),
        Kind::Network,
        &["body cut short after 1234 of 5000 bytes"],
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/hang", Reply::Hang);
    let silent = SilentServer::start();
    let c = Client::new(Config {
        read_timeout: Duration::from_millis(700),
        attempts: 1,
        ..config(&ca)
    })
    .unwrap();
    // After the request (TLS done), and before the TLS handshake (a silent TCP peer).
    for url in [srv.url("/hang"), silent.url("/x")] {
        let start = Instant::now();
        expect_err(c.get_bytes(&url, 100), Kind::Network, &["timed out"]);
        let t = start.elapsed();
        assert!(
            t >= Duration::from_millis(600) && t < Duration::from_secs(5),
            "{t:?}"
        );
    }
}

#[test]
fn a_slow_body_within_the_read_timeout_is_fine() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let body = data(4000);
    srv.route(
        "/slow",
        Reply::Slow {
            body: body.clone(),
            chunk: 500,
            delay: Duration::from_millis(150),
        },
    );
    let c = Client::new(Config {
        read_timeout: Duration::from_millis(600),
        ..config(&ca)
    })
    .unwrap();
    // 8 chunks, 1.2 s in all: longer than the read timeout, but no single read waits that long.
    let mut calls = 0;
    let dir = tempfile::tempdir().unwrap();
    let d = c
        .download(
            &srv.url("/slow"),
            &dir.path().join("slow"),
            1 << 20,
            &mut |_, _| calls += 1,
        )
        .unwrap();
    assert_eq!(d.sha256, sha256(&body));
    assert!(
        calls >= 4,
        "progress reported as bytes trickled in ({calls} calls)"
    );
}

// ---- download and persist -------------------------------------------------------------------------

#[test]
fn download_hashes_while_streaming_and_persist_moves_it_into_place() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let body = data(3 * 1024 * 1024 + 5);
    srv.route("/big", Reply::body(&body));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.bin");
    std::fs::write(&dest, "previous version\n").unwrap();
    let mut last = (0, None);
    let d = client(&ca)
        .download(
            &srv.url("/big"),
            &dest,
            limits::DEFAULT_MAX_ARTIFACT,
            &mut |n, t| last = (n, t),
        )
        .unwrap();
    let n = body.len() as u64;
    assert_eq!(last, (n, Some(n)));
    assert_eq!((d.sha256, d.len), (sha256(&body), n));
    assert_eq!(d.final_url, srv.url("/big"));
    // Until persisted, the destination is untouched and the data sits in a private temporary file.
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous version\n");
    let temp = d.temp_path().to_owned();
    assert_eq!(temp.parent(), Some(dir.path()));
    let name = temp.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(".rget-") && name.ends_with(".part"),
        "{name}"
    );
    assert_eq!(
        std::fs::metadata(&temp).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut again = Vec::new();
    d.reader().unwrap().read_to_end(&mut again).unwrap();
    assert_eq!(
        again, body,
        "reader() yields the downloaded bytes from the start"
    );
    d.persist(&dest, 0o640).unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(
        std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        files_with_prefix(dir.path(), TEMP_PREFIX),
        Vec::<String>::new()
    );
}

#[test]
fn a_download_past_the_write_behind_mark_is_whole() {
    // More than twice the 16 MiB after which writeback starts, in buffers that make the round trip
    // to the hashing thread many times over.
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let body = data((33 << 20) + 5);
    srv.route("/big", Reply::body(&body));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.bin");
    let d = client(&ca)
        .download(&srv.url("/big"), &dest, 1 << 30, &mut no_progress())
        .unwrap();
    assert_eq!((d.sha256, d.len), (sha256(&body), body.len() as u64));
    d.persist(&dest, 0o644).unwrap();
    assert!(std::fs::read(&dest).unwrap() == body);
}

#[test]
fn a_dropped_download_leaves_no_file() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    srv.route("/f", Reply::body("some bytes\n"));
    let dir = tempfile::tempdir().unwrap();
    let d = client(&ca)
        .download(
            &srv.url("/f"),
            &dir.path().join("f"),
            100,
            &mut no_progress(),
        )
        .unwrap();
    assert!(d.temp_path().exists());
    drop(d);
    assert_eq!(files_with_prefix(dir.path(), ""), Vec::<String>::new());
}

#[test]
fn a_transfer_streams_on_its_own_thread_and_dropping_it_removes_its_file_at_once() {
    let ca = TestCa::new();
    let srv = TestServer::https(&ca);
    let body = data(400_000);
    // 40 pieces, 50 ms apart: two seconds for the whole body.
    srv.route(
        "/slow",
        Reply::Slow {
            body: body.clone(),
            chunk: 10_000,
            delay: Duration::from_millis(50),
        },
    );
    srv.route("/f", Reply::body(&body));
    let dir = tempfile::tempdir().unwrap();
    let c = client(&ca);
    let dest = dir.path().join("f");
    // Still streaming after 200 ms: the transfer comes back, its file already there.
    let t = c
        .start_download(&srv.url("/slow"), &dest, 1 << 20, Box::new(|_, _| {}))
        .unwrap();
    let t = t.wait(Some(Duration::from_millis(200))).unwrap_err();
    assert!(t.temp_path().exists());
    assert_eq!(files_with_prefix(dir.path(), TEMP_PREFIX).len(), 1);
    // Dropped mid-stream (a check failed): the file goes now, not when the body would end.
    let start = Instant::now();
    drop(t);
    assert!(start.elapsed() < Duration::from_millis(100));
    assert_eq!(files_with_prefix(dir.path(), ""), Vec::<String>::new());
    // Waited for to its end: the whole body, hashed, ready to persist.
    let d = c
        .start_download(&srv.url("/f"), &dest, 1 << 20, Box::new(|_, _| {}))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!((d.sha256, d.len), (sha256(&body), body.len() as u64));
    d.persist(&dest, 0o644).unwrap();
    assert!(std::fs::read(&dest).unwrap() == body);
    // A failure on its thread is the transfer's error (and leaves nothing either).
    let e = c
        .start_download(
            &srv.url("/missing"),
            &dir.path().join("m"),
            1 << 20,
            Box::new(|_, _| {}),
        )
        .unwrap()
        .finish();
    expect_err(e, Kind::NotFound, &["/missing"]);
    assert_eq!(
        files_with_prefix(dir.path(), TEMP_PREFIX),
        Vec::<String>::new()
    );
}

// ---- the log client against a real `rget log serve` ----------------------------------------------

fn open_checkpoint(bytes: &[u8], vkey: &str) -> Checkpoint {
    let v = VerifierKey::parse(vkey).expect("vkey");
    let opened = note::open(bytes, &[v]).expect("checkpoint verifies with the log key");
    Checkpoint::parse(&opened.note.text).expect("checkpoint parses")
}

#[test]
fn log_client_submits_proves_and_looks_up() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, vkey) = logc::init_log(tmp.path(), "log.fetch.test/rget");
    let server = logc::Server::start(&dir, &[]);
    let c = Client::new(Config {
        allow_http: true,
        read_timeout: Duration::from_secs(10),
        ..Config::default()
    })
    .unwrap();
    let log = LogClient::new(&format!("{}/", server.base), &c);
    let url = "https://fetch.example/app/SHA256SUMS";
    // A few records, two of them for `url`.
    let mut logged = Vec::new();
    for i in 0..5u64 {
        let u = if i % 3 == 0 {
            url.to_owned()
        } else {
            logc::release_url(i, 10)
        };
        let sums = logc::sums(i);
        let proof = TlogProof::parse(&log.submit(&u, &sums).unwrap()).expect("a tlog-proof");
        logged.push((u, sums, proof.index));
    }
    let cp = open_checkpoint(&log.checkpoint().unwrap(), &vkey);
    assert_eq!(cp.size, 5);
    // Inclusion of every record, proved from tiles fetched by the LogClient (partial tiles here).
    let mut src = TileHashSource::new(log, cp.size);
    for (u, sums, index) in &logged {
        let entry = record::build(u, sums).unwrap();
        let proof = inclusion_proof(*index, cp.size, &mut src).unwrap();
        verify_inclusion(*index, cp.size, &leaf_hash(&entry), &proof, &cp.root).unwrap();
    }
    let mut log = src.into_inner();
    assert!(log.tiles_fetched > 0);
    // Lookup lists the records of `url`, oldest first.
    let want: Vec<_> = logged
        .iter()
        .filter(|(u, _, _)| u == url)
        .map(|(_, s, i)| (*i, sha256(s)))
        .collect();
    assert_eq!(want.len(), 2);
    assert_eq!(log.lookup(url).unwrap(), want);
    assert_eq!(log.lookup("https://releases.example/none").unwrap(), vec![]);
    // A tile the checkpoint does not cover is NotFound (the full-tile fallback relies on it).
    use rget::core::tile::{Tile, TileError, TileLevel, TileReader};
    let t = Tile::new(TileLevel::Hash(0), 7, 256).unwrap();
    assert!(matches!(log.read_tile(&t), Err(TileError::NotFound { .. })));
    // A bad submission is an HTTP error carrying the log's one-line reason.
    expect_err(
        log.submit("http://insecure.example/SHA256SUMS", b"x"),
        Kind::Http,
        &["HTTP 400"],
    );
}

//! Hardening, classes 1 and 6: a replayed older release, and two spellings of one URL.
//!
//! Real processes throughout: a real `rget log serve`, releases made with `rget release` (a trusted
//! comment that binds the URL) or signed by the real `minisign` tool (a plain trusted comment), and a
//! hostile HTTPS server on loopback with a CA the test makes (`tests/common/release.rs`).
//!
//! The replay: anyone can record any SHA256SUMS under any URL, so the attacker records v1's genuine,
//! signed SHA256SUMS again under v2's URL and serves v1's files, SHA256SUMS and signature at v2, with
//! the proof of that record or without it (then the client uses the log's lookup). Every refusal
//! leaves nothing in the output directory and no temporary file anywhere.

use crate::common::exit::{TRUST_ANOMALY, USAGE, VERIFICATION_FAILED};
use crate::common::relay::Tunnel;
use crate::common::{
    RGET, assert_ok, assert_one_line_refusal, https, listing, log as logc, release, text,
};

use https::{Reply, TestServer, files_with_prefix};
use release::{Release, World, data, proof_index};
use rget::core::digest::sha256;
use rget::core::record;
use std::path::Path;
use std::process::Output;

const TOOL: &str = "tool.sh";

/// A refusal: exit `code`, exactly one line `rget: ...` on stderr containing every one of `words`,
/// nothing on stdout, `dl` empty, and no `.rget-` temporary in `TMPDIR`.
#[track_caller]
fn assert_refused(w: &World, o: &Output, code: i32, words: &[&str], dl: &Path) -> String {
    let err = assert_one_line_refusal(o, code, words);
    assert_eq!(
        listing(dl),
        Vec::<String>::new(),
        "nothing in the output directory"
    );
    assert_eq!(files_with_prefix(&w.tmpdir, ".rget-"), Vec::<String>::new());
    err
}

fn files(version: u8) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            TOOL,
            format!("#!/bin/sh\necho tool {version}.0\n").into_bytes(),
        ),
        ("tool.tar.gz", data(40_000, version)),
    ]
}

/// Two releases, v1 and v2, signed by `rget release` (`bound`) or by the `minisign` tool, logged.
fn two_releases(w: &World, bound: bool) -> (Release, Release) {
    let publish = |prefix: &str, version: u8| {
        let f = files(version);
        if bound {
            w.release_with_rget(prefix, None, prefix, &f)
        } else {
            w.publish(prefix, &f, true)
        }
    };
    (publish("/v1", 1), publish("/v2", 2))
}

/// What the attacker does: records v1's SHA256SUMS under v2's URL (anyone may submit), and serves
/// v1's files, SHA256SUMS and signature at v2 with the proof of that record (or a 404 for it).
/// Returns the replayed record's index.
fn replay(w: &World, v1: &Release, v2: &Release, with_proof: bool) -> u64 {
    let dir = w.dir("attacker");
    let sums = dir.join("SHA256SUMS");
    std::fs::write(&sums, &v1.sums).unwrap();
    let o = w.submit(&v2.sums_url, &sums, &dir.join("state"));
    assert_ok(&o);
    let proof = std::fs::read(dir.join("SHA256SUMS.tlog-proof")).unwrap();
    let replayed = Release {
        proof: if with_proof {
            proof.clone()
        } else {
            Vec::new()
        },
        ..v1.clone()
    };
    let at_v2 = Release {
        prefix: v2.prefix.clone(),
        ..replayed
    };
    w.serve(&at_v2);
    proof_index(&proof)
}

fn get(w: &World, state: &Path, dl: &Path, extra: &[&str]) -> Output {
    let url = w.url(&format!("/v2/{TOOL}"));
    let dest = dl.join(TOOL);
    let mut args = vec!["get", url.as_str(), "-o", dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    w.client(state, &args).run()
}

// ---- class 1: a replayed older release ----------------------------------------------------------

#[test]
fn replay_with_a_url_bound_signature_and_its_proof_file_is_refused_by_the_binding() {
    let w = World::new();
    let (v1, v2) = two_releases(&w, true);
    replay(&w, &v1, &v2, true);
    let v1_url = w.url("/v1/SHA256SUMS");
    let v2_url = w.url("/v2/SHA256SUMS");
    let words = ["trusted comment", v1_url.as_str(), v2_url.as_str()];

    let (state, dl) = w.fresh("get");
    let o = get(&w, &state, &dl, &[]);
    assert_refused(&w, &o, VERIFICATION_FAILED, &words, &dl);

    // `rget verify` of v1's file on disk, claimed as v2's: the same refusal.
    let on_disk = w.dir("disk").join(TOOL);
    std::fs::write(&on_disk, v1.file(TOOL)).unwrap();
    let url = w.url(&format!("/v2/{TOOL}"));
    let o = w
        .client(&state, &["verify", url.as_str(), on_disk.to_str().unwrap()])
        .run();
    assert_refused(&w, &o, VERIFICATION_FAILED, &words, &dl);

    // `rget cat`: nothing reaches standard output.
    let o = w.client(&state, &["cat", url.as_str()]).run();
    assert_refused(&w, &o, VERIFICATION_FAILED, &words, &dl);

    // The honest v2 still verifies, and its output names the record and the binding comment.
    w.serve(&v2);
    let o = get(&w, &state, &dl, &["--json"]);
    let json = assert_ok(&o);
    assert_eq!(std::fs::read(dl.join(TOOL)).unwrap(), v2.file(TOOL));
    assert!(
        json.contains(&format!("\"index\":{},", proof_index(&v2.proof))),
        "{json}"
    );
    assert!(
        json.contains(&format!("\\turl:{v2_url}\",\"bound_url\":\"{v2_url}\"")),
        "{json}"
    );
}

#[test]
fn replay_with_a_url_bound_signature_without_a_proof_file_is_a_trust_anomaly() {
    let w = World::new();
    let (v1, v2) = two_releases(&w, true);
    let replayed = replay(&w, &v1, &v2, false);
    let (state, dl) = w.fresh("lookup");
    let o = get(&w, &state, &dl, &[]);
    let v2_index = format!("index {}", proof_index(&v2.proof));
    let replay_index = format!("index {replayed}");
    assert_refused(
        &w,
        &o,
        TRUST_ANOMALY,
        &["more than one SHA256SUMS", &v2_index, &replay_index],
        &dl,
    );
}

#[test]
fn replay_with_a_minisign_signature_without_a_proof_file_is_a_trust_anomaly_with_evidence() {
    let w = World::new();
    let (v1, v2) = two_releases(&w, false);
    let replayed = replay(&w, &v1, &v2, false);
    let v2_index = proof_index(&v2.proof);
    let (d1, d2) = (sha256(&v1.sums).to_hex(), sha256(&v2.sums).to_hex());
    let (state, dl) = w.fresh("minisign-lookup");
    let o = get(&w, &state, &dl, &[]);
    let err = assert_refused(
        &w,
        &o,
        TRUST_ANOMALY,
        &[
            &w.url("/v2/SHA256SUMS"),
            &format!("index {replayed} (sha256 {d1}, the one served)"),
            &format!("index {v2_index} (sha256 {d2})"),
            "evidence kept in",
        ],
        &dl,
    );

    // The evidence: the checkpoint, both records as the log holds them, and the list.
    let evidence = state.join("evidence");
    let dirs = listing(&evidence);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(dirs[0].ends_with("-records"), "{dirs:?}");
    let dir = evidence.join(&dirs[0]);
    assert!(err.contains(&dir.display().to_string()), "{err}");
    assert_eq!(
        listing(&dir),
        [
            "log1.checkpoint".to_owned(),
            format!("log1.record-{v2_index}"),
            format!("log1.record-{replayed}"),
            "records".to_owned(),
        ]
    );
    for (index, sums) in [(v2_index, &v2.sums), (replayed, &v1.sums)] {
        let entry = std::fs::read(dir.join(format!("log1.record-{index}"))).unwrap();
        let r = record::parse(&entry).expect("a record");
        assert_eq!(r.url, w.url("/v2/SHA256SUMS"));
        assert_eq!(r.sums, &sums[..]);
    }
    let records = std::fs::read_to_string(dir.join("records")).unwrap();
    assert!(
        records.contains(&format!("{v2_index} {d2} proved"))
            && records.contains(&format!("{replayed} {d1} proved")),
        "{records}"
    );
    let cp = std::fs::read_to_string(dir.join("log1.checkpoint")).unwrap();
    assert!(cp.starts_with(&format!("{}\n", release::ORIGIN)), "{cp}");

    // Fail closed: while the log lists two SHA256SUMS for v2, the honest v2 is refused on the
    // lookup path too; published with its proof file, it verifies.
    let honest_without_proof = Release {
        proof: Vec::new(),
        ..v2.clone()
    };
    w.serve(&honest_without_proof);
    let o = get(&w, &state, &dl, &[]);
    assert_refused(&w, &o, TRUST_ANOMALY, &["more than one SHA256SUMS"], &dl);
    assert_eq!(listing(&evidence).len(), 2, "a new evidence directory");
    w.serve(&v2);
    assert_ok(&get(&w, &state, &dl, &[]));
    assert_eq!(std::fs::read(dl.join(TOOL)).unwrap(), v2.file(TOOL));
}

#[test]
fn replay_with_a_minisign_signature_and_its_proof_file_is_named_in_the_output_and_audit_finds_it() {
    let w = World::new();
    let (v1, v2) = two_releases(&w, false);
    let replayed = replay(&w, &v1, &v2, true);

    // What SECURITY.md says: a proof file alone cannot show a replay whose signature names no URL.
    // The output names what was handed over: the replayed record's index, and a comment that
    // binds no URL.
    let (state, dl) = w.fresh("proof");
    let json = assert_ok(&get(&w, &state, &dl, &["--json"]));
    assert!(json.contains(&format!("\"index\":{replayed},")), "{json}");
    assert!(
        json.contains("\\tfile:SHA256SUMS\\thashed\",\"bound_url\":null"),
        "{json}"
    );
    let o = get(&w, &state, &dl, &[]);
    assert_ok(&o);
    let summary = text(&o.stderr);
    assert!(
        summary.contains(&format!("index {replayed} ")) && summary.contains("names no URL"),
        "{summary}"
    );

    // The publisher's audit sees the URL with two records: exit 6, both indexes and digests.
    let audit_state = w.dir("audit-state");
    let prefix = w.url("/");
    let o = w
        .client(
            &audit_state,
            &["audit", "--prefix", prefix.as_str(), "--json"],
        )
        .no_key()
        .run();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(TRUST_ANOMALY), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let v2_index = proof_index(&v2.proof);
    for want in [
        w.url("/v2/SHA256SUMS"),
        format!("index {v2_index} (sha256 {})", sha256(&v2.sums)),
        format!("index {replayed} (sha256 {})", sha256(&v1.sums)),
        "evidence kept in".to_owned(),
    ] {
        assert!(err.contains(&want), "{want} in {err}");
    }
    let out = text(&o.stdout);
    assert!(out.contains("\"changed\":[{\"url\":"), "{out}");
    let evidence = audit_state.join("evidence");
    let dirs = listing(&evidence);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let records = std::fs::read_to_string(evidence.join(&dirs[0]).join("records")).unwrap();
    assert_eq!(
        records,
        format!(
            "{v2_index} {} {}\n{replayed} {} {}\n",
            sha256(&v2.sums),
            w.url("/v2/SHA256SUMS"),
            sha256(&v1.sums),
            w.url("/v2/SHA256SUMS")
        )
    );
    assert!(
        std::fs::read(evidence.join(&dirs[0]).join("checkpoint"))
            .unwrap()
            .starts_with(release::ORIGIN.as_bytes())
    );
}

#[test]
fn a_url_recorded_many_times_is_refused_proving_only_the_first_records() {
    let w = World::new();
    let v2 = w.publish("/v2", &files(2), true);
    // Anyone may record anything under v2's URL, as often as they like.
    let agent = logc::agent();
    for i in 0..30 {
        let a = logc::submit(&agent, &w.log.base, &v2.sums_url, &logc::sums(i));
        assert_eq!(a.status, 200, "{}", a.text());
    }
    w.serve(&Release {
        proof: Vec::new(),
        ..v2.clone()
    });
    let (state, dl) = w.fresh("flood");
    let o = get(&w, &state, &dl, &[]);
    let err = assert_refused(
        &w,
        &o,
        TRUST_ANOMALY,
        &[
            "more than one SHA256SUMS",
            "and 22 more (all listed in the evidence)",
        ],
        &dl,
    );
    assert_eq!(
        err.matches("index ").count(),
        1 + 8,
        "ours and the first 8 others: {err}"
    );
    let evidence = state.join("evidence");
    let dir = evidence.join(&listing(&evidence)[0]);
    let records = std::fs::read_to_string(dir.join("records")).unwrap();
    assert_eq!(records.lines().count(), 31, "{records}");
    assert_eq!(records.matches(" proved\n").count(), 1 + 16, "{records}");
    assert_eq!(records.matches("not checked").count(), 14, "{records}");
    let kept = listing(&dir);
    assert_eq!(
        kept.iter().filter(|n| n.contains(".record-")).count(),
        17,
        "{kept:?}"
    );
}

/// `rget self verify` (the routine the bootstrap runs, `core::release::verify_release`): a release
/// whose signature binds another release directory's URL is refused, though its SHA256SUMS lists
/// this binary and is logged under this version's URL.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn self_verify_refuses_a_signature_bound_to_another_release_directory() {
    let version = env!("CARGO_PKG_VERSION");
    let name = format!(
        "rget-{version}-{}-unknown-linux-gnu",
        std::env::consts::ARCH
    );
    let w = World::new();
    let bin = std::fs::read(RGET).unwrap();
    let here = format!("/rel/v{version}");
    // Released (signed, logged) for another directory, then recorded and served under this one.
    let other = w.release_with_rget("/rel/v9.9.9", None, "/rel/v9.9.9", &[(&name, bin.clone())]);
    let fake_v = Release {
        prefix: here.clone(),
        sums_url: w.url(&format!("{here}/SHA256SUMS")),
        ..other.clone()
    };
    replay(&w, &other, &fake_v, true);
    let pins = w.write_pins("pins", b"", &w.policy_text(), "/rel/v{version}/");
    let state = w.dir("self-state");
    let run = || {
        w.command(&w.root)
            .args(["self", "verify", "--json", "--pins"])
            .arg(&pins)
            .arg("--cacert")
            .arg(w.ca.pem_path())
            .arg("--allow-http")
            .arg("--state")
            .arg(&state)
            .output()
            .unwrap()
    };
    let o = run();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(VERIFICATION_FAILED), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for want in [
        w.url("/rel/v9.9.9/SHA256SUMS"),
        w.url(&format!("{here}/SHA256SUMS")),
    ] {
        assert!(err.contains(&want), "{want} in {err}");
    }
    // Released for this directory, it verifies, and the report carries the binding comment.
    w.release_with_rget(&here, None, &here, &[(&name, bin)]);
    let json = assert_ok(&run());
    assert!(
        json.contains(&format!(
            "\\turl:{}\"",
            w.url(&format!("{here}/SHA256SUMS"))
        )),
        "{json}"
    );
}

// ---- class 6: two spellings of one URL ----------------------------------------------------------

#[test]
fn respelled_urls_verify_as_the_same_record() {
    let w = World::new();
    let port = w.srv.addr.port();
    let index = proof_index(&w.rel.proof);

    // 1. The world's /rel release (logged as https://127.0.0.1:PORT/rel/SHA256SUMS), asked for with
    // the scheme in capitals and the path's unreserved characters percent-encoded in lowercase hex.
    // The test server does not decode paths, so the file is also routed under that spelling (a real
    // server decodes both to the same file).
    let spelled = "/%72%65%6c/app-1.0.tar.gz";
    w.srv
        .route(spelled, Reply::body(w.rel.file("app-1.0.tar.gz")));
    for (name, proof) in [("proof", true), ("lookup", false)] {
        if !proof {
            w.srv
                .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::status(404));
        }
        let (state, dl) = w.fresh(&format!("respelled-{name}"));
        let dest = dl.join("app");
        let url = format!("HTTPS://127.0.0.1:{port}{spelled}");
        let o = w
            .client(
                &state,
                &["get", &url, "-o", dest.to_str().unwrap(), "--json"],
            )
            .run();
        let json = assert_ok(&o);
        assert!(json.contains(&format!("\"index\":{index},")), "{json}");
        assert!(
            json.contains(&format!("\"sums_url\":\"{}\"", w.url("/rel/SHA256SUMS"))),
            "{json}"
        );
        assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file("app-1.0.tar.gz"));
    }
    w.serve(&w.rel);

    // 2. A directory whose name holds a reserved character (`rel+x`, escaped): released with the
    // escape in lowercase hex, logged and served under the canonical `%2B`, asked for with `%72`
    // for `r` and `%2b`. The signature binds the canonical URL, and it matches.
    let f = files(3);
    let rel = w.release_with_rget("/rel%2Bx", None, "/rel%2bx", &f);
    let spelled = format!("/%72el%2bx/{TOOL}");
    w.srv.route(&spelled, Reply::body(rel.file(TOOL)));
    let (state, dl) = w.fresh("reserved");
    let o = w
        .client(
            &state,
            &[
                "get",
                &format!("https://127.0.0.1:{port}{spelled}"),
                "-o",
                dl.join(TOOL).to_str().unwrap(),
                "--json",
            ],
        )
        .run();
    let json = assert_ok(&o);
    let canonical = w.url("/rel%2Bx/SHA256SUMS");
    assert!(
        json.contains(&format!("\"index\":{},", proof_index(&rel.proof))),
        "{json}"
    );
    assert!(
        json.contains(&format!("\"bound_url\":\"{canonical}\"")),
        "{json}"
    );
    assert_eq!(std::fs::read(dl.join(TOOL)).unwrap(), rel.file(TOOL));

    // 3. Host in capitals and an explicit default port: released as https://localhost/h/, reached
    // as https://LOCALHOST:443/%68/ through a proxy that tunnels to the test server.
    let rel = w.release_with_rget("/h", Some("localhost"), "/h", &f);
    w.srv
        .route(&format!("/%68/{TOOL}"), Reply::body(rel.file(TOOL)));
    let proxy = Tunnel::start(w.srv.addr);
    let (state, dl) = w.fresh("host");
    let url = format!("https://LOCALHOST:443/%68/{TOOL}");
    let o = w
        .client(&state, &["get", &url, "--json"])
        .cwd(&dl)
        .command()
        .env("HTTPS_PROXY", proxy.url())
        .output()
        .unwrap();
    let json = assert_ok(&o);
    assert!(
        json.contains(&format!("\"index\":{},", proof_index(&rel.proof))),
        "{json}"
    );
    assert!(
        json.contains("\"sums_url\":\"https://localhost/h/SHA256SUMS\""),
        "{json}"
    );
    assert_eq!(std::fs::read(dl.join(TOOL)).unwrap(), rel.file(TOOL));
}

#[test]
fn numeric_hosts_and_encoded_separators_are_refused_before_any_connection() {
    let w = World::new();
    let port = w.srv.addr.port();
    let connections = w.srv.connections();
    let cases = [
        (format!("https://127.1:{port}/rel/{TOOL}"), "dotted-quad"),
        (
            format!("https://0x7f.0.0.1:{port}/rel/{TOOL}"),
            "dotted-quad",
        ),
        (
            format!("https://2130706433:{port}/rel/{TOOL}"),
            "dotted-quad",
        ),
        (
            format!("https://127.000.0.1:{port}/rel/{TOOL}"),
            "dotted-quad",
        ),
        (format!("https://127.0.0.1:{port}/a%2Frel/{TOOL}"), "%2F"),
        (format!("https://127.0.0.1:{port}/a%5crel/{TOOL}"), "%5C"),
        (
            format!("https://127.0.0.1:{port}/a%00/{TOOL}"),
            "control character",
        ),
    ];
    for (i, (url, word)) in cases.iter().enumerate() {
        let (state, dl) = w.fresh(&format!("numeric-{i}"));
        let o = w
            .client(&state, &["get", url, "-o", dl.join(TOOL).to_str().unwrap()])
            .run();
        assert_refused(&w, &o, USAGE, &[word], &dl);
    }
    assert_eq!(w.srv.connections(), connections, "no request was made");
}

#[test]
fn allow_http_with_an_http_file_url_says_to_give_sums_an_https_url() {
    let w = World::new();
    let plain = TestServer::http();
    plain.route(
        "/rel/app-1.0.tar.gz",
        Reply::body(w.rel.file("app-1.0.tar.gz")),
    );
    let url = plain.url("/rel/app-1.0.tar.gz");
    let (state, dl) = w.fresh("http");
    let dest = dl.join("app");
    let o = w
        .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
        .run();
    assert_refused(&w, &o, USAGE, &["is not https", "--sums", "https"], &dl);

    // Doing what it says works: the file over http, its SHA256SUMS over https.
    let sums = w.url("/rel/SHA256SUMS");
    let o = w
        .client(
            &state,
            &["get", &url, "--sums", &sums, "-o", dest.to_str().unwrap()],
        )
        .run();
    assert_ok(&o);
    assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file("app-1.0.tar.gz"));
    assert!(
        text(&o.stderr).contains("NOT authenticated"),
        "{}",
        text(&o.stderr)
    );
}

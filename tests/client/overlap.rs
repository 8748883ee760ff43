//! `rget get` streams the file while the `SHA256SUMS`, its proof and its signature are fetched and
//! checked: a check that fails stops the download at once and leaves nothing, and a proof that never
//! comes is bounded by `--max-time`, with nothing left either.

use crate::common::exit::{NETWORK, VERIFICATION_FAILED};
use crate::common::{assert_ok, assert_one_line_refusal, https, release};
use https::Reply;
use release::{World, data};
use std::time::{Duration, Instant};

const APP: &str = "app-1.0.tar.gz";

/// The release's main file, served in 200 pieces 50 ms apart: ten seconds for the whole body.
fn serve_slowly(w: &World) {
    let body = w.rel.file(APP).to_vec();
    w.srv.route(
        &w.rel.path(APP),
        Reply::Slow {
            chunk: body.len() / 200,
            body,
            delay: Duration::from_millis(50),
        },
    );
}

/// Serves, for the release's SHA256SUMS, the valid proof of another release: its record is not
/// this SHA256SUMS's (exit 1, as in the tamper matrix).
fn serve_another_releases_proof(w: &World) {
    let other = w.publish("/other", &[("x", data(100, 3))], true);
    w.srv.route(
        &w.rel.path("SHA256SUMS.tlog-proof"),
        Reply::body(&other.proof),
    );
}

#[test]
fn a_proof_that_fails_while_the_file_streams_stops_it_and_leaves_nothing() {
    let w = World::new();
    serve_slowly(&w);
    serve_another_releases_proof(&w);
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let start = Instant::now();
    let o = w.get_to(&state, &w.url(&w.rel.path(APP)), &dest);
    let took = start.elapsed();
    assert_one_line_refusal(&o, VERIFICATION_FAILED, &["not in the log"]);
    // The file had started (it is requested with the SHA256SUMS, not after it), and the refusal
    // did not wait for the ten seconds of its body.
    assert_eq!(w.srv.count(&w.rel.path(APP)), 1);
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(!dest.exists());
    w.assert_no_temporaries(&dest);
}

#[test]
fn a_proof_that_never_comes_is_bounded_by_max_time_and_leaves_nothing() {
    let w = World::new();
    // The file answers at once; the proof never does.
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), Reply::Hang);
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let url = w.url(&w.rel.path(APP));
    let args = ["get", &url, "-o", dest.to_str().unwrap(), "--max-time", "3"];
    let start = Instant::now();
    let o = w.client(&state, &args).run();
    let took = start.elapsed();
    assert_one_line_refusal(&o, NETWORK, &["--max-time", "SHA256SUMS.tlog-proof"]);
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    // The file itself had been downloaded whole meanwhile: it is not kept.
    assert_eq!(w.srv.count(&w.rel.path(APP)), 1);
    assert!(!dest.exists());
    w.assert_no_temporaries(&dest);
}

#[test]
fn the_file_and_the_checks_take_the_time_of_the_slower_not_the_sum() {
    let w = World::new();
    // SHA256SUMS and its proof each take 2 s to finish, and so does the file: one after the other
    // that is 6 s at least; overlapped, about 2.
    let slow = |body: &[u8]| Reply::Slow {
        chunk: body.len() - 1,
        body: body.to_vec(),
        delay: Duration::from_secs(2),
    };
    w.srv.route(&w.rel.path("SHA256SUMS"), slow(&w.rel.sums));
    w.srv
        .route(&w.rel.path("SHA256SUMS.tlog-proof"), slow(&w.rel.proof));
    w.srv.route(&w.rel.path(APP), slow(w.rel.file(APP)));
    let (state, dl) = w.fresh("t");
    let dest = dl.join(APP);
    let start = Instant::now();
    let o = w.get_to(&state, &w.url(&w.rel.path(APP)), &dest);
    let took = start.elapsed();
    assert_ok(&o);
    assert_eq!(std::fs::read(&dest).unwrap(), w.rel.file(APP));
    assert!(took < Duration::from_millis(5500), "{took:?}");
}

#[test]
fn cat_stops_too_and_writes_nothing() {
    let w = World::new();
    serve_slowly(&w);
    serve_another_releases_proof(&w);
    let (state, _) = w.fresh("t");
    let start = Instant::now();
    let o = w.client(&state, &["cat", &w.url(&w.rel.path(APP))]).run();
    let took = start.elapsed();
    assert_one_line_refusal(&o, VERIFICATION_FAILED, &["not in the log"]);
    assert!(o.stdout.is_empty());
    assert_eq!(w.srv.count(&w.rel.path(APP)), 1);
    assert!(took < Duration::from_secs(6), "{took:?}");
    // The spool in TMPDIR is gone.
    assert_eq!(
        https::files_with_prefix(&w.tmpdir, ".rget-"),
        Vec::<String>::new()
    );
}

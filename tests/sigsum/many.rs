//! `rget get` of many files under a Sigsum policy: each release directory's `SHA256SUMS` and its
//! Sigsum proof (`SHA256SUMS.proof`) are fetched once, beside the files and at the same time, and
//! shared by the directory's files; the log's memory is written once; a directory whose proof fails
//! fails its own files only.

use crate::common::https::Reply;
use crate::common::release::data;
use crate::common::sigsum_log::SigsumWorld;
use crate::common::{assert_ok, listing, stderr};
use std::path::Path;

#[test]
fn many_files_share_each_directorys_sigsum_proof() {
    let w = SigsumWorld::new(2);
    let a = w.release(
        "/rel/a",
        &[("a1", data(70_000, 1)), ("a2", data(1000, 2))],
        &[],
    );
    let b = w.release("/rel/b", &[("b1", data(5000, 3))], &[]);
    let urls = [w.url("/rel/a/a1"), w.url("/rel/b/b1"), w.url("/rel/a/a2")];
    let get = |state: &Path, out: &Path| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["get".as_ref(), "--output-dir".as_ref(), out.as_os_str()];
        args.extend(urls.iter().map(|u| std::ffi::OsStr::new(u.as_str())));
        w.client(&w.root, state, &w.policy, &args)
    };
    let (state, out) = (w.dir("state"), w.dir("out"));
    let o = get(&state, &out);
    let err = assert_ok(&o);
    let err = if err.is_empty() { stderr(&o) } else { err };
    assert_eq!(listing(&out), ["a1", "a2", "b1"]);
    assert_eq!(std::fs::read(out.join("a1")).unwrap(), a.files[0].1);
    assert_eq!(std::fs::read(out.join("b1")).unwrap(), b.files[0].1);
    for rel in [&a, &b] {
        let path = |n: &str| format!("{}/{n}", rel.prefix);
        assert_eq!(w.srv.count(&path("SHA256SUMS")), 1, "{}", rel.prefix);
        assert_eq!(w.srv.count(&path("SHA256SUMS.proof")), 1, "{}", rel.prefix);
        // The Sigsum proof carries the publisher's signature (its leaf's): nothing else is asked.
        assert_eq!(w.srv.count(&path("SHA256SUMS.minisig")), 0);
        assert_eq!(w.srv.count(&path("SHA256SUMS.tlog-proof")), 0);
    }
    // The memory of the log: written once, with the larger tree head; the older one tied to it.
    assert!(!err.contains(" -> "), "{err}");
    // (Each file's summary says what its directory's check saw: b1 the first use, a1 and a2 the
    // tie of their older tree head to it.)
    assert_eq!(err.matches("trusted on first use").count(), 1, "{err}");
    assert_eq!(
        err.matches("is consistent with the newest one seen")
            .count(),
        2,
        "{err}"
    );

    // /rel/b served /rel/a's proof: its file fails (exit 1), /rel/a's are kept.
    w.srv
        .route("/rel/b/SHA256SUMS.proof", Reply::body(&a.proof));
    let (state, out) = (w.dir("state-2"), w.dir("out-2"));
    let o = get(&state, &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    let failed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("rget: FAILED"))
        .collect();
    assert_eq!(failed.len(), 1, "{err}");
    assert!(failed[0].contains(&urls[1]), "{err}");
    assert!(err.contains("the 2 that verified are kept"), "{err}");
    assert_eq!(listing(&out), ["a1", "a2"]);
}

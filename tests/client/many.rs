//! `rget get URL...` and `rget get -i FILE`: many files in one run, each release directory's
//! `SHA256SUMS`, proof and signature fetched and checked once, at most `-P` transfers at a time;
//! each failure on its own line, the first one's exit code, the files that verified kept.

use crate::common::exit::{NOT_FOUND, USAGE, VERIFICATION_FAILED};
use crate::common::{
    assert_ok, assert_one_line_refusal, https, listing, output_with_stdin, release, stderr, stdout,
    text,
};
use https::{Reply, files_with_prefix};
use release::{Release, World, data};

const APP: &str = "app-1.0.tar.gz";

/// A second release directory, `/rel2`, recorded after `/rel` (so under a larger checkpoint).
fn second_release(w: &World) -> Release {
    w.publish(
        "/rel2",
        &[("tool-a", data(200_000, 7)), ("tool-b", data(50_000, 8))],
        true,
    )
}

#[test]
fn files_of_two_directories_share_their_checks_and_the_memory_is_written_once() {
    let w = World::new();
    let rel2 = second_release(&w);
    let (state, dl) = w.fresh("t");
    let urls = [
        w.url(&w.rel.path(APP)),
        w.url(&w.rel.path("install.sh")),
        w.url(&rel2.path("tool-a")),
        w.url(&rel2.path("tool-b")),
        w.url(&w.rel.path("NOTES.txt")),
    ];
    let mut args = vec!["get", "-P", "2", "--output-dir", dl.to_str().unwrap()];
    args.extend(urls.iter().map(String::as_str));
    let o = w.client(&state, &args).run();
    assert_ok(&o);
    let err = stderr(&o);
    assert!(err.contains("rget: all 5 files verified"), "{err}");
    assert_eq!(
        listing(&dl),
        ["NOTES.txt", APP, "install.sh", "tool-a", "tool-b"]
    );
    assert_eq!(std::fs::read(dl.join(APP)).unwrap(), w.rel.file(APP));
    assert_eq!(
        std::fs::read(dl.join("tool-b")).unwrap(),
        rel2.file("tool-b")
    );
    // Each directory's SHA256SUMS, proof and signature: fetched once for all its files.
    for rel in [&w.rel, &rel2] {
        for f in ["SHA256SUMS", "SHA256SUMS.tlog-proof", "SHA256SUMS.minisig"] {
            assert_eq!(w.srv.count(&rel.path(f)), 1, "{f} of {}", rel.prefix);
        }
    }
    // The memory of the log: the newer directory's checkpoint (size 2) is stored first, on first
    // use, and the older one (size 1) is only tied to it. Never "advanced": that would be a
    // second write of the log's memory in one run.
    assert!(
        err.contains("first checkpoint of this log seen by this host (size 2)"),
        "{err}"
    );
    assert!(
        err.contains("checkpoint of size 1 is consistent with the newest one seen (size 2)"),
        "{err}"
    );
    assert!(!err.contains("size 1 -> 2"), "{err}");
    assert!(!err.contains("(size 1), trusted on first use"), "{err}");
    assert_eq!(files_with_prefix(&dl, ".rget-"), Vec::<String>::new());
}

#[test]
fn a_failure_among_many_is_reported_on_its_line_and_the_others_are_kept() {
    let w = World::new();
    let rel2 = second_release(&w);
    // tool-b is changed on the server (its digest no longer the listed one), and /rel lists no
    // "unlisted.bin".
    let mut bad = rel2.file("tool-b").to_vec();
    bad[100] ^= 1;
    w.srv.route(&rel2.path("tool-b"), Reply::body(&bad));
    w.srv
        .route(&w.rel.path("unlisted.bin"), Reply::body(b"not listed"));
    let (state, dl) = w.fresh("t");
    let (a, b, c, d) = (
        w.url(&w.rel.path(APP)),
        w.url(&rel2.path("tool-b")),
        w.url(&w.rel.path("unlisted.bin")),
        w.url(&rel2.path("tool-a")),
    );
    let o = w
        .client(
            &state,
            &["get", "--output-dir", dl.to_str().unwrap(), &a, &b, &c, &d],
        )
        .run();
    // The first failure in the order given is tool-b's digest: exit 1, though "not listed" (5)
    // may have ended first.
    assert_eq!(o.status.code(), Some(VERIFICATION_FAILED), "{}", stderr(&o));
    let err = stderr(&o);
    let failed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("rget: FAILED"))
        .collect();
    assert_eq!(failed.len(), 2, "{err}");
    assert!(
        failed
            .iter()
            .any(|l| l.contains(&b) && l.contains("(exit code 1, verification failed)")),
        "{err}"
    );
    assert!(
        failed.iter().any(|l| l.contains(&c)
            && l.contains("not listed")
            && l.contains("(exit code 5, not found)")),
        "{err}"
    );
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("rget: 2 of 4 files failed (exit code 1: the first failure's); the 2 that verified are kept"),
        "{last}"
    );
    // Verified files kept, the others absent, no temporary file.
    assert_eq!(listing(&dl), [APP, "tool-a"]);
    assert_eq!(
        std::fs::read(dl.join("tool-a")).unwrap(),
        rel2.file("tool-a")
    );

    // The same run with --json: one object per file on standard output.
    let (state, dl) = w.fresh("j");
    let o = w
        .client(
            &state,
            &[
                "get",
                "--json",
                "--output-dir",
                dl.to_str().unwrap(),
                &c,
                &a,
            ],
        )
        .run();
    assert_eq!(o.status.code(), Some(NOT_FOUND), "{}", stderr(&o));
    let objects: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    let by_url = |u: &str| objects.iter().find(|v| v["url"] == u).unwrap().clone();
    assert_eq!(by_url(&a)["verified"], true);
    assert_eq!(by_url(&a)["path"], dl.join(APP).to_str().unwrap());
    assert_eq!(by_url(&c)["verified"], false);
    assert_eq!(by_url(&c)["exit_code"], 5);
    assert_eq!(by_url(&c)["class"], "not found");
    assert!(by_url(&c)["error"].as_str().unwrap().contains("not listed"));
    assert_eq!(listing(&dl), [APP]);
}

#[test]
fn a_list_of_urls_from_a_file_or_standard_input() {
    let w = World::new();
    let rel2 = second_release(&w);
    let (state, dl) = w.fresh("t");
    let list = format!(
        "# tools for the build\n{}\n\n   {}  \n# {}\n",
        w.url(&w.rel.path("install.sh")),
        w.url(&rel2.path("tool-a")),
        w.url(&rel2.path("tool-b")),
    );
    let mut cmd = w
        .client(
            &state,
            &["get", "-i", "-", "--output-dir", dl.to_str().unwrap()],
        )
        .command();
    let o = output_with_stdin(&mut cmd, list.as_bytes());
    assert_ok(&o);
    assert_eq!(listing(&dl), ["install.sh", "tool-a"]);
    // A list file plus a URL on the command line.
    let (state, dl) = w.fresh("f");
    let file = w.root.join("list.txt");
    std::fs::write(&file, &list).unwrap();
    let o = w
        .client(
            &state,
            &[
                "get",
                "-i",
                file.to_str().unwrap(),
                &w.url(&w.rel.path("NOTES.txt")),
            ],
        )
        .cwd(&dl)
        .run();
    assert_ok(&o);
    assert_eq!(listing(&dl), ["NOTES.txt", "install.sh", "tool-a"]);
}

/// Bad input is refused before anything is downloaded, with exit code 2: not one request is made.
#[test]
fn bad_lists_duplicates_and_clashing_names_are_refused_before_any_download() {
    let w = World::new();
    // /rel3 also has an app-1.0.tar.gz: two URLs, one output name.
    let rel3 = w.publish("/rel3", &[(APP, data(1000, 9))], true);
    let (state, dl) = w.fresh("t");
    let requests = |w: &World| {
        ["SHA256SUMS", APP, "install.sh"]
            .iter()
            .map(|f| w.srv.count(&w.rel.path(f)) + w.srv.count(&rel3.path(f)))
            .sum::<usize>()
    };
    let before = requests(&w);
    let app = w.url(&w.rel.path(APP));
    let list = w.root.join("bad-list");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            {
                std::fs::write(
                    &list,
                    format!("{app}\n{} out.sh\n", w.url(&w.rel.path("install.sh"))),
                )
                .unwrap();
                vec!["-i".into(), list.to_str().unwrap().into()]
            },
            "line 2 holds more than one word",
        ),
        (
            vec![app.clone(), app.replace("https://", "HTTPS://")],
            "is given twice (URL 1 and URL 2 of the command line)",
        ),
        (
            vec![app.clone(), w.url(&rel3.path(APP))],
            "would both be saved as",
        ),
        (
            vec![
                "-o".into(),
                "x".into(),
                app.clone(),
                w.url(&w.rel.path("install.sh")),
            ],
            "-o names one file",
        ),
        (vec![], "no URL to download"),
        (
            vec!["--output-dir".into(), "no-such-dir".into(), app.clone()],
            "not an existing directory",
        ),
        (
            vec![app.clone(), w.url("/rel/")],
            "last path segment is empty",
        ),
    ];
    for (extra, says) in cases {
        let mut args: Vec<String> = vec![
            "get".into(),
            "--output-dir".into(),
            dl.to_str().unwrap().into(),
        ];
        if extra
            .first()
            .is_some_and(|a| a == "-o" || a == "--output-dir")
        {
            args = vec!["get".into()];
        }
        args.extend(extra);
        let o = w.client(&state, &args).cwd(&dl).run();
        assert_one_line_refusal(&o, USAGE, &[says]);
        assert_eq!(requests(&w), before, "{says}: nothing may be requested");
        assert_eq!(listing(&dl), Vec::<String>::new(), "{says}");
    }
}

#[test]
fn a_directory_whose_sums_fail_fails_its_files_only() {
    let w = World::new();
    let rel2 = second_release(&w);
    // /rel2's signature is by another key: its two files fail, /rel's verify and are kept.
    w.srv.route(
        &rel2.path("SHA256SUMS.minisig"),
        Reply::body(&w.rel.minisig),
    );
    let (state, dl) = w.fresh("t");
    let o = w
        .client(
            &state,
            &[
                "get",
                "--output-dir",
                dl.to_str().unwrap(),
                &w.url(&rel2.path("tool-a")),
                &w.url(&w.rel.path("install.sh")),
                &w.url(&rel2.path("tool-b")),
            ],
        )
        .run();
    assert_eq!(o.status.code(), Some(VERIFICATION_FAILED), "{}", stderr(&o));
    let err = text(&o.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("rget: FAILED"))
            .count(),
        2,
        "{err}"
    );
    assert!(err.contains("the 1 that verified is kept"), "{err}");
    assert_eq!(listing(&dl), ["install.sh"]);
    // Checked once, though two files hang on it.
    assert_eq!(w.srv.count(&rel2.path("SHA256SUMS.minisig")), 1);
}

/// `--create-dirs` (curl's): the `--output-dir` DIR, or the directories of `-o PATH`, are made when
/// missing; a path that cannot be a directory is a local I/O error naming it, nothing downloaded.
#[test]
fn create_dirs_makes_the_output_directory_or_the_parent_of_o() {
    let w = World::new();
    let (state, dl) = w.fresh("c");
    let app = w.url(&w.rel.path(APP));
    std::fs::write(dl.join("plain"), b"x").unwrap();
    // (where to, the flag naming it, where the file lands or None: a regular file is in the way)
    let cases = [
        ("new/bin", "--output-dir", Some(format!("new/bin/{APP}"))),
        (
            "other/deeper/app.tgz",
            "-o",
            Some("other/deeper/app.tgz".to_owned()),
        ),
        ("plain/bin", "--output-dir", None),
    ];
    for (to, flag, lands) in cases {
        let to = dl.join(to);
        let args = ["get", "--create-dirs", flag, to.to_str().unwrap(), &app];
        let o = w.client(&state, &args).run();
        match lands {
            Some(file) => {
                assert_ok(&o);
                assert_eq!(std::fs::read(dl.join(file)).unwrap(), w.rel.file(APP));
            }
            None => {
                assert_one_line_refusal(
                    &o,
                    crate::common::exit::LOCAL_IO,
                    &["--create-dirs", "plain/bin"],
                );
            }
        }
    }
    assert_eq!(
        w.srv.count(&w.rel.path(APP)),
        2,
        "nothing downloaded for the refusal"
    );
}

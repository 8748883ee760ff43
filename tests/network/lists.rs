//! The witness network's log lists: the real testing and staging lists load into `rget witness
//! serve` (every listed log is witnessed, no other), every malformed variant of the real testing list
//! is refused at start naming its line, and lists read again from an https URL add logs but never
//! change or remove one, across restarts and without the list.

use super::{add, data, request, signed, try_witness, witness, witness_init};
use crate::common::https::{Reply, TestCa, TestServer};
use crate::common::tempdir;
use rget::core::digest::Hash;
use rget::core::log_list;
use rget::core::merkle::empty_root;
use rget::core::note::SignerKey;
use std::ffi::OsStr;
use std::time::{Duration, Instant};

const REAL_LISTS: [(&str, usize); 3] = [
    ("witness-network/testing-log-list.1", 9),
    ("witness-network/staging-log-list-10qps-4klogs.1", 1),
    ("witness-network/staging-log-list-100qps-40klogs.1", 11),
];

/// Whether the witness at `base` witnesses `origin`: a checkpoint of it signed by a key the witness
/// cannot know is 403 for a witnessed origin (no valid signature by its key), 404 for any other.
fn witnessed(base: &str, origin: &str) -> bool {
    let name = origin.replace(' ', "-");
    let stranger = SignerKey::generate(&name).unwrap();
    let r = add(
        base,
        &request(0, &[], &signed(&stranger, origin, 0, &empty_root())),
    );
    match r.status {
        403 => true,
        404 => false,
        s => panic!("{origin}: {s} {}", r.text()),
    }
}

#[test]
fn the_real_testing_and_staging_lists_load_and_every_listed_log_is_witnessed() {
    let t = tempdir();
    let mut all = Vec::new();
    for (path, count) in REAL_LISTS {
        let bytes = std::fs::read(data(path)).unwrap();
        let list = log_list::parse(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(list.logs.len(), count, "{path}");
        // One witness per list, and one witness with all three (they share logs: the same log in
        // two lists is one log).
        let dir = t.path().join(path.replace('/', "-"));
        witness_init(&dir, "witness.test/lists");
        let w = witness(&dir, &["--log-list".as_ref(), data(path).as_os_str()]);
        for e in &list.logs {
            assert!(witnessed(&w.base, &e.origin), "{path}: {}", e.origin);
        }
        assert!(!witnessed(&w.base, "unlisted.example/log"));
        // What it discovered is its own configuration now: the same logs, as listed.
        let discovered =
            log_list::parse(&std::fs::read(dir.join("discovered-logs")).unwrap()).unwrap();
        let key = |l: &log_list::LogList| {
            let mut v: Vec<_> = l
                .logs
                .iter()
                .map(|e| {
                    (
                        e.origin.clone(),
                        e.vkey.to_string(),
                        e.qpd,
                        e.contact.clone(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(key(&discovered), key(&list), "{path}");
        all.extend(list.logs);
    }
    let dir = t.path().join("all");
    witness_init(&dir, "witness.test/all");
    let mut args: Vec<&OsStr> = Vec::new();
    let paths: Vec<_> = REAL_LISTS.iter().map(|(p, _)| data(p)).collect();
    for p in &paths {
        args.extend(["--log-list".as_ref(), p.as_os_str()]);
    }
    let w = witness(&dir, &args);
    for e in &all {
        assert!(witnessed(&w.base, &e.origin), "{}", e.origin);
    }
    let mut origins: Vec<&str> = all.iter().map(|e| e.origin.as_str()).collect();
    origins.sort();
    origins.dedup();
    let discovered = log_list::parse(&std::fs::read(dir.join("discovered-logs")).unwrap()).unwrap();
    assert_eq!(discovered.logs.len(), origins.len());
}

#[test]
fn every_malformed_variant_of_the_real_list_is_refused_naming_its_line() {
    let real = std::fs::read_to_string(data("witness-network/testing-log-list.1")).unwrap();
    let lines: Vec<&str> = real.lines().collect();
    // 1-based line numbers of the first entry's lines in the real list.
    let vkey = 1 + lines.iter().position(|l| l.starts_with("vkey ")).unwrap();
    let (qpd, contact) = (vkey + 1, vkey + 2);
    let header = 1 + lines.iter().position(|l| *l == "logs/v0").unwrap();
    let edit = |n: usize, with: &str| {
        let mut v: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        v[n - 1] = with.to_owned();
        v.join("\n") + "\n"
    };
    let first_vkey = lines[vkey - 1].to_owned();
    // A witness's key (type 0x04) where a log's (Ed25519, 0x01) must be.
    let cosigner = rget::core::note::VerifierKey::new("w.example", 0x04, [5; 32]).unwrap();
    let variants: Vec<(String, usize, &str)> = vec![
        (edit(header, "logs/v1"), header, "header"),
        (edit(header, ""), vkey, "header"),
        (edit(vkey, "vkey"), vkey, "vkey needs"),
        (
            edit(vkey, &format!("{first_vkey} extra")),
            vkey,
            "vkey needs",
        ),
        (
            edit(vkey, &first_vkey.replace("vkey ", "vkey\t")),
            vkey,
            "unknown keyword",
        ),
        (edit(vkey, &first_vkey.replacen('A', "B", 1)), vkey, "vkey"),
        (edit(vkey, &format!("vkey {cosigner}")), vkey, "type 0x04"),
        (
            edit(vkey, "url https://example.org/"),
            vkey,
            "unknown keyword",
        ),
        (edit(qpd, "qpd 0"), qpd, "qpd"),
        (edit(qpd, "qpd 086400"), qpd, "qpd"),
        (edit(qpd, "qpd 2147483648"), qpd, "qpd"),
        (edit(qpd, "qpd 1.5"), qpd, "qpd"),
        (edit(qpd, "qpd"), qpd, "qpd needs"),
        (edit(qpd, "contact someone"), qpd, "contact line"),
        (edit(qpd, "origin"), qpd, "origin needs"),
        (edit(contact, "contact"), contact, "contact needs"),
        (edit(contact, "qpd 1"), contact, "qpd line"),
        (
            edit(contact, "contact a\u{7}b"),
            contact,
            "control character",
        ),
        (
            edit(contact, ""),
            vkey + 4,
            "vkey line, but a contact line expected",
        ),
        (lines[..qpd].join("\n") + "\n", vkey, "has no contact line"),
        (
            format!("{real}{first_vkey}\nqpd 1\ncontact dup\n"),
            lines.len() + 1,
            "already listed",
        ),
    ];
    let t = tempdir();
    let dir = t.path().join("w");
    witness_init(&dir, "witness.test/malformed");
    let list = t.path().join("list");
    for (text, line, what) in variants {
        std::fs::write(&list, &text).unwrap();
        let (status, err) = match try_witness(&dir, &["--log-list".as_ref(), list.as_os_str()], &[])
        {
            Ok(_) => panic!("a malformed list was accepted:\n{text}"),
            Err(e) => e,
        };
        assert_eq!(status.code(), Some(3), "{err}");
        assert!(
            err.contains(&format!("line {line}")) && err.contains(what),
            "want line {line} and {what:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        // Nothing was taken from it.
        assert!(!dir.join("discovered-logs").exists());
    }
    // A list that is not there at all: 7; the real list, unchanged: it serves.
    let gone = t.path().join("nothing-here");
    let (status, err) = try_witness(&dir, &["--log-list".as_ref(), gone.as_os_str()], &[])
        .err()
        .expect("a missing list file is refused");
    assert_eq!(status.code(), Some(7), "{err}");
    // A list over plain http: refused before anything is read (2).
    let (status, err) = try_witness(
        &dir,
        &["--log-list".as_ref(), "http://127.0.0.1:9/list".as_ref()],
        &[],
    )
    .err()
    .expect("an http list is refused");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("https only"), "{err}");
    std::fs::write(&list, &real).unwrap();
    drop(witness(&dir, &["--log-list".as_ref(), list.as_os_str()]));
}

/// Polls `f` every 100 ms for up to 20 s.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < until, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn lists_read_again_add_logs_and_never_change_or_remove_one() {
    let t = tempdir();
    let dir = t.path().join("w");
    witness_init(&dir, "witness.test/rediscover");
    let ca = TestCa::new();
    let lists = TestServer::https(&ca);
    let a1 = SignerKey::generate("a.test/log").unwrap();
    let a2 = SignerKey::generate("a.test/log").unwrap();
    let b = SignerKey::generate("b.test").unwrap();
    let c = SignerKey::generate("c.test/log").unwrap();
    let entry = |k: &SignerKey, origin: Option<&str>, qpd: u32| {
        let o = origin.map(|o| format!("origin {o}\n")).unwrap_or_default();
        format!(
            "vkey {}\n{o}qpd {qpd}\ncontact ops@example\n",
            k.verifier_key()
        )
    };
    lists.route(
        "/list",
        Reply::body(format!(
            "logs/v0\n{}{}",
            entry(&a1, None, 86400),
            entry(&b, Some("b origin"), 86400)
        )),
    );
    let url = lists.url("/list");
    let env = [("SSL_CERT_FILE", ca.pem_path().into_os_string())];
    let env: Vec<(&str, &OsStr)> = env.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
    let args: [&OsStr; 4] = [
        "--log-list".as_ref(),
        url.as_ref(),
        "--log-list-interval".as_ref(),
        "1".as_ref(),
    ];
    let w = try_witness(&dir, &args, &env).unwrap_or_else(|(s, e)| panic!("{s}: {e}"));
    let leaf = |i: u8| Hash([i; 32]);
    assert_eq!(
        add(
            &w.base,
            &request(0, &[], &signed(&a1, "a.test/log", 1, &leaf(1)))
        )
        .status,
        200
    );
    assert_eq!(
        add(
            &w.base,
            &request(0, &[], &signed(&b, "b origin", 1, &leaf(2)))
        )
        .status,
        200
    );
    assert_eq!(
        add(
            &w.base,
            &request(0, &[], &signed(&c, "c.test/log", 1, &leaf(3)))
        )
        .status,
        404
    );

    // The list now gives a.test/log another key and qpd, drops "b origin" and adds c.test/log.
    lists.route(
        "/list",
        Reply::body(format!(
            "logs/v0\n{}{}",
            entry(&a2, None, 1),
            entry(&c, None, 86400)
        )),
    );
    let c1 = request(0, &[], &signed(&c, "c.test/log", 1, &leaf(3)));
    eventually("c.test/log is witnessed", || {
        add(&w.base, &c1).status != 404
    });
    // a.test/log keeps its first key (the new one is a stranger) and its budget (86400, not 1).
    let by_a2 = signed(&a2, "a.test/log", 1, &leaf(1));
    assert_eq!(add(&w.base, &request(1, &[], &by_a2)).status, 403);
    let by_a1 = request(1, &[], &signed(&a1, "a.test/log", 1, &leaf(1)));
    for _ in 0..5 {
        assert_eq!(add(&w.base, &by_a1).status, 200);
    }
    // "b origin" is still witnessed.
    let b1 = request(1, &[], &signed(&b, "b origin", 1, &leaf(2)));
    assert_eq!(add(&w.base, &b1).status, 200);
    let (status, err) = w.stop();
    assert!(status.success(), "{err}");
    assert!(err.contains("log list changes a configured log"), "{err}");

    // Restarted while the list is gone (404): the three logs are still witnessed, with their state.
    lists.route("/list", Reply::status(404));
    let w = try_witness(&dir, &args, &env).unwrap_or_else(|(s, e)| panic!("{s}: {e}"));
    assert_eq!(add(&w.base, &by_a1).status, 200);
    assert_eq!(add(&w.base, &b1).status, 200);
    let r = add(
        &w.base,
        &request(0, &[], &signed(&c, "c.test/log", 1, &leaf(3))),
    );
    assert_eq!((r.status, r.text().as_str()), (409, "1\n"));
    drop(w);
    // A new witness with only that unreachable list has nothing to witness: it says why and stops.
    let fresh = t.path().join("fresh");
    witness_init(&fresh, "witness.test/fresh");
    let (status, err) = try_witness(&fresh, &args, &env)
        .err()
        .expect("nothing to witness");
    assert_eq!(status.code(), Some(5), "{err}");
    assert!(err.contains(&url) && err.contains("404"), "{err}");
}

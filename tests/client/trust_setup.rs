//! Setting up trust from what operators publish: the policy lines `rget log init` and `rget witness
//! init` print, `rget policy` assembling and checking a policy from them, and `rget keys add`
//! writing the publisher keys file. Every refusal is one line with its exit code, and leaves the
//! file it would have written as it was.

use crate::common::minisign::Minisign;
use crate::common::{
    RGET, assert_ok, assert_one_line_refusal, exit, parse_json, rget, run, tempdir, text,
};
use rget::core::note::VerifierKey;
use rget::core::policy::{Policy, Quorum};
use std::path::Path;
use std::process::Command;

/// `rget ARGS` with HOME (so the default config directory) inside `home`.
fn rget_home(home: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new(RGET)
        .args(args)
        .current_dir(home)
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME"))
}

#[test]
fn init_prints_the_policy_lines_and_rget_policy_assembles_them() {
    let t = tempdir();
    let d = t.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    let log_dir = p("log");
    let log = rget(
        d,
        &[
            "log",
            "init",
            "--origin",
            "log.example.org/rget",
            "--url",
            "HTTPS://Log.Example.ORG:443/rget",
            &log_dir,
        ],
    );
    let line = assert_ok(&log);
    // Standard output is the one line to publish, with the URL canonical and ending in '/'; what
    // was made goes to standard error.
    let vkey = std::fs::read_to_string(d.join("log/log.pub")).unwrap();
    assert_eq!(
        line,
        format!("log {} https://log.example.org/rget/\n", vkey.trim_end())
    );
    assert!(
        text(&log.stderr).contains("log.key (mode 0600"),
        "{}",
        text(&log.stderr)
    );
    std::fs::write(d.join("log.line"), &line).unwrap();
    let mut witness_lines = Vec::new();
    for i in 1..=2 {
        let name = format!("witness{i}.example.net/w{i}");
        let url = format!("https://witness{i}.example.net/w{i}/");
        let out = rget(
            d,
            &[
                "witness",
                "init",
                "--name",
                &name,
                "--url",
                &url,
                &p(&format!("w{i}")),
            ],
        );
        let line = assert_ok(&out);
        let vkey = std::fs::read_to_string(d.join(format!("w{i}/witness.pub"))).unwrap();
        assert_eq!(line, format!("witness {name} {} {url}\n", vkey.trim_end()));
        assert_eq!(VerifierKey::parse(vkey.trim_end()).unwrap().alg, 0x04);
        std::fs::write(d.join(format!("w{i}.line")), &line).unwrap();
        witness_lines.push(line);
    }

    // The users' policy: lines from files, a literal line, the quorum 2 of 2.
    let policy = p("config/rget/policy");
    let w2 = witness_lines[1].trim_end().to_owned();
    let out = rget(
        d,
        &[
            "policy",
            "--log",
            &p("log.line"),
            "--witness",
            &p("w1.line"),
            "--witness",
            &w2,
            "--quorum",
            "2",
            "-o",
            &policy,
        ],
    );
    assert_ok(&out);
    let text_written = std::fs::read_to_string(&policy).unwrap();
    let parsed = Policy::parse(&text_written).unwrap();
    assert_eq!(parsed.logs.len(), 1);
    assert_eq!(
        parsed.logs[0].url.as_deref(),
        Some("https://log.example.org/rget/")
    );
    assert_eq!(parsed.witnesses.len(), 2);
    assert!(matches!(parsed.quorum, Quorum::Member(_)));
    let names: Vec<&str> = parsed.witnesses.iter().map(|w| w.name.as_str()).collect();
    assert!(parsed.quorum_met(&names));
    assert!(!parsed.quorum_met(&names[..1]), "2 of 2 needs both");
    let check = assert_ok(&rget(d, &["policy", "--check", &policy]));
    assert!(check.contains("the policy holds"), "{check}");
    assert!(
        check.contains("log log.example.org/rget at https://log.example.org/rget/"),
        "{check}"
    );

    // The log's witnesses file: witnesses only, and what `rget log serve --witnesses` reads (it
    // starts with it: a file it refused would stop it with exit 3 before it listens).
    let witnesses = assert_ok(&rget(
        d,
        &[
            "policy",
            "--witness",
            &p("w1.line"),
            "--witness",
            &p("w2.line"),
            "--quorum",
            "any",
        ],
    ));
    std::fs::write(d.join("witnesses"), &witnesses).unwrap();
    let server =
        crate::common::log::Server::start(Path::new(&log_dir), &["--witnesses", &p("witnesses")]);
    drop(server);

    // --json: one object with the same line.
    let json = assert_ok(&rget(
        d,
        &[
            "witness",
            "init",
            "--name",
            "w3.example/w",
            "--json",
            &p("w3"),
        ],
    ));
    let v = parse_json(&json);
    assert_eq!(v["name"], "w3.example/w");
    assert!(v["url"].is_null());
    let vkey = std::fs::read_to_string(d.join("w3/witness.pub")).unwrap();
    assert_eq!(
        v["policy_line"],
        format!("witness w3.example/w {}", vkey.trim_end())
    );
}

#[test]
fn rget_policy_refuses_what_readers_would_refuse_and_writes_nothing() {
    let t = tempdir();
    let d = t.path();
    let p = |n: &str| d.join(n).to_str().unwrap().to_owned();
    let log_line = assert_ok(&rget(
        d,
        &["log", "init", "--origin", "l.example/a", &p("l")],
    ));
    let bare_log = log_line.trim_end().to_owned();
    let w_line = assert_ok(&rget(
        d,
        &["witness", "init", "--name", "w.example/1", &p("w")],
    ));
    let w = w_line.trim_end().to_owned();
    let with_url = format!("{bare_log} https://l.example/a/");
    let out = p("policy");
    let (w_file, absent) = (p("w.line"), p("absent"));
    let http_log = format!("{bare_log} http://127.0.0.1:1/");
    let cases: Vec<(Vec<&str>, i32, &[&str])> = vec![
        // Two witnesses asked of one.
        (
            vec!["--log", &with_url, "--witness", &w, "--quorum", "2"],
            exit::USAGE,
            &["cannot be met", "1 witness"],
        ),
        // A quorum with no witness at all.
        (
            vec!["--log", &with_url, "--quorum", "any"],
            exit::USAGE,
            &["add --witness"],
        ),
        // The same witness twice: one party would count twice.
        (
            vec![
                "--log",
                &with_url,
                "--witness",
                &w,
                "--witness",
                &w,
                "--quorum",
                "1",
            ],
            exit::MALFORMED,
            &["already defined"],
        ),
        // A log without a URL: clients could not fetch it.
        (
            vec!["--log", &bare_log, "--quorum", "none"],
            exit::MALFORMED,
            &["has no URL"],
        ),
        // A witness line where a log line belongs (a file of the wrong kind).
        (
            vec!["--log", &w_file, "--quorum", "none"],
            exit::MALFORMED,
            &["want a 'log ...' line"],
        ),
        // Neither a line nor a file.
        (
            vec!["--log", &absent, "--quorum", "none"],
            exit::LOCAL_IO,
            &["neither a 'log ...' line nor a readable file"],
        ),
        // A plain-http log, unless --allow-http.
        (
            vec!["--log", &http_log, "--quorum", "none"],
            exit::MALFORMED,
            &["plain http"],
        ),
        // Quorum 0 is spelled none.
        (
            vec!["--log", &with_url, "--quorum", "0"],
            exit::USAGE,
            &["none"],
        ),
    ];
    std::fs::write(d.join("w.line"), &w_line).unwrap();
    for (args, code, words) in cases {
        let mut all = vec!["policy"];
        all.extend(args.iter().copied());
        all.extend(["-o", out.as_str()]);
        assert_one_line_refusal(&rget(d, &all), code, words);
        assert!(!d.join("policy").exists(), "nothing written for {args:?}");
    }
    assert_ok(&rget(
        d,
        &[
            "policy",
            "--log",
            &http_log,
            "--quorum",
            "none",
            "--allow-http",
        ],
    ));
    // --check of a policy whose only log has no URL.
    std::fs::write(d.join("bare"), format!("{bare_log}\nquorum none\n")).unwrap();
    assert_one_line_refusal(
        &rget(d, &["policy", "--check", &p("bare")]),
        exit::MALFORMED,
        &["has no URL"],
    );
}

#[test]
fn keys_add_writes_the_keys_file_get_reads_and_refuses_repeats() {
    let t = tempdir();
    let home = t.path();
    let (public, _) = Minisign::Crate.keypair(&home.join("k"), "rel");
    let (other, _) = Minisign::Crate.keypair(&home.join("k"), "other");
    let pubs = |p: &Path| p.to_str().unwrap().to_owned();
    let keys = home.join(".config/rget/keys");

    // The default file, created with its directory; the prefix in its canonical spelling.
    let out = rget_home(
        home,
        &["keys", "add", "HTTPS://Example.ORG:443/rel", &pubs(&public)],
    );
    let said = assert_ok(&out);
    assert!(said.contains("for https://example.org/rel to"), "{said}");
    let key_line = std::fs::read_to_string(&public).unwrap();
    let b64 = key_line.lines().nth(1).unwrap();
    assert_eq!(
        std::fs::read_to_string(&keys).unwrap(),
        format!("https://example.org/rel {b64}\n")
    );

    // The same prefix again (with a final '/'), with the same key or another: refused, untouched.
    let before = std::fs::read(&keys).unwrap();
    assert_one_line_refusal(
        &rget_home(
            home,
            &["keys", "add", "https://example.org/rel/", &pubs(&public)],
        ),
        exit::USAGE,
        &["line 1 already has key ID", "nothing to add"],
    );
    assert_one_line_refusal(
        &rget_home(
            home,
            &["keys", "add", "https://example.org/rel", &pubs(&other)],
        ),
        exit::USAGE,
        &["line 1 has another key", "one prefix has one key"],
    );
    assert_eq!(std::fs::read(&keys).unwrap(), before);

    // A nested prefix with another key is added, and the overlap named on standard error.
    let out = rget_home(
        home,
        &["keys", "add", "https://example.org/rel/beta", &pubs(&other)],
    );
    assert_ok(&out);
    assert!(text(&out.stderr).contains("line 1 gives https://example.org/rel"));
    let listed = assert_ok(&rget_home(home, &["keys", "list"]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.starts_with("1\thttps://example.org/rel\tkey ID "),
        "{listed}"
    );

    // A keys file that does not parse is refused as `rget get` refuses it, and left as it was.
    let broken = home.join("broken");
    std::fs::write(&broken, "https://a.example/ not-a-key\n").unwrap();
    assert_one_line_refusal(
        &rget_home(
            home,
            &[
                "keys",
                "add",
                "https://b.example/",
                &pubs(&public),
                "--keys",
                &pubs(&broken),
            ],
        ),
        exit::MALFORMED,
        &["line 1"],
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "https://a.example/ not-a-key\n"
    );
    // KEY that is neither a key nor a file; a prefix without a canonical spelling.
    assert_one_line_refusal(
        &rget_home(home, &["keys", "add", "https://b.example/", "nope"]),
        exit::USAGE,
        &["KEY \"nope\""],
    );
    assert_one_line_refusal(
        &rget_home(home, &["keys", "add", "b.example/rel", &pubs(&public)]),
        exit::USAGE,
        &["no scheme"],
    );
    assert_eq!(std::fs::read_to_string(&keys).unwrap().lines().count(), 2);
}

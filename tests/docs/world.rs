//! The world the documents' examples run in (`examples`): the hosts the examples name, on loopback,
//! and a directory holding every file they name, from which each example gets a fresh copy.
//!
//! The hosts: one TLS front with the test CA's certificate for every name the documents use
//! (`example.org`, `log.example.org`, `witness1.example.net`, …, and `raw.githubusercontent.com`,
//! where the public witness network publishes its lists), reached through a CONNECT proxy given as
//! `HTTPS_PROXY`, so that every URL of an example reaches it as written. The front routes by the first
//! path segment, as an nginx front would: `/rel/` to the web server of the releases, `/rget/` to a
//! real `rget log serve`, `/w1/` and `/w2/` to two real `rget witness serve` (which cosign the log's
//! checkpoints), `/transparency-dev/` to copies of the witness network's published lists. A real
//! Sigsum log cosigned by two real witnesses ([`SigsumWorld`]), at `https://sigsum.example.org/sigsum/`,
//! stands for the public Sigsum logs.
//!
//! Everything in it is made by `rget` as the README says a publisher makes it: `rget log init`,
//! `rget witness init`, `rget policy`, `rget keygen`, `rget keys add`, `rget release` (once with
//! the log, once with the Sigsum log: the release `https://example.org/rel/v1.2/` carries both
//! proofs), with the password [`PASSWORD`] for every encrypted key.
//!
//! The template directory (an example's working directory, `HOME` inside it at `home/`):
//! - `home/.config/rget/policy` (the log, both witnesses, quorum 2) and `keys` (the publisher's key
//!   for `https://example.org/`), `home/.minisign/minisign.key` and `minisign.pub` (`rget keygen`);
//! - `dist/`: the release `https://example.org/rel/v1.2/` as `rget release` left it, and its
//!   `SHA256SUMS`, `SHA256SUMS.proof`, `tool` and `tool-1.2-linux.tar.gz` beside it;
//!   `published-sums/` for `rget audit`;
//! - `srv/`: a fresh log (`srv/rget-log`, with a `witnesses` file), witness (`srv/rget-witness`, with
//!   a `policy`) and Sigsum log (`srv/sigsum-log`), for the `serve` examples;
//! - the lines `log.line`, `w1.line`, `w2.line` the world's log and witnesses printed, the policies
//!   `logs.policy`, `publisher.policy`, `sigsum-policy.txt`; keys `release.key`/`release.pub`
//!   (minisign), `sigsum.key`/`sigsum.key.pub` (the Sigsum publisher's), `token.key`, `log.key`;
//! - real published data, not made here: `testing-log-list.1` (a witness-network list) and
//!   `app.tar.gz`, `app.proof`, `app.tar.gz.proof`, `keys.pub`, `policy.txt` (a Sigsum proof
//!   published with the `sigsum` crate's documentation, its message and submitter key, and the named
//!   policy `sigsum-test-2025-3` it verifies under).
//!
//! For `rget self`: releases of this very rget (versions 0.0.9, this one and 0.3.0, made as the
//! install tests make them) on an HTTPS server of the test CA, and a pin directory naming them.

use crate::common::https::{Reply, TestCa, TestServer};
use crate::common::log::Server;
use crate::common::relay::{Relay, Tunnel};
use crate::common::release::{VERSION, rget_binary, rget_file};
use crate::common::sigsum_log::SigsumWorld;
use crate::common::{RGET, assert_ok, text};
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The password of every encrypted key of the world: what the one example that spells out
/// `RGET_PASSWORD` writes (`RGET_PASSWORD=... rget release`), and what every example finds in the
/// environment, as a CI job's secret would be.
pub const PASSWORD: &str = "...";

/// Every host name the documents' examples reach.
const HOSTS: &[&str] = &[
    "example.org",
    "log.example.org",
    "witness.example.org",
    "witness.example.net",
    "witness1.example.net",
    "witness2.example.com",
    "raw.githubusercontent.com",
    "sigsum.example.org",
    "localhost",
    "127.0.0.1",
];

/// The versions of rget released for `rget self`: an older one, this one, a newer one (`LATEST`).
pub const SELF_VERSIONS: [&str; 3] = ["0.0.9", VERSION, "0.3.0"];

/// The world; dropping it stops every server and removes every file.
pub struct DocWorld {
    // Declaration order is drop order: the servers first, the directory last.
    _log: Server,
    _witnesses: Vec<Server>,
    _sigsum: SigsumWorld,
    _web: TestServer,
    _self_web: TestServer,
    _front: Relay,
    pub tunnel: Tunnel,
    pub ca: TestCa,
    /// What each example's working directory starts as.
    pub template: PathBuf,
    /// The pin directory of the `rget self` releases (`--pins`).
    pub pins: PathBuf,
    /// The web root of the `rget self` releases (`rget-<version>-<target>` under `v<version>/`).
    pub self_root: PathBuf,
    pub root: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The files of the release `https://example.org/rel/v1.2/`, as the examples name them.
fn release_files(root: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let tar_dir = root.join("tar");
    std::fs::create_dir_all(&tar_dir).expect("mkdir");
    std::fs::write(tar_dir.join("unpacked.txt"), b"from tool.tar\n").expect("write");
    let tar = Command::new("tar")
        .arg("-cf")
        .arg(root.join("tool.tar"))
        .arg("-C")
        .arg(&tar_dir)
        .arg("unpacked.txt")
        .status()
        .expect("run tar");
    assert!(tar.success(), "tar -cf");
    let bytes = |n: usize, seed: u8| crate::common::release::data(n, seed);
    vec![
        ("tool", b"#!/bin/sh\necho tool 1.2\n".to_vec()),
        ("tool-1.2-linux.tar.gz", bytes(300_000, 1)),
        ("tool-1.2.tar.gz", bytes(200_000, 2)),
        (
            "tool.tar",
            std::fs::read(root.join("tool.tar")).expect("tool.tar"),
        ),
        ("a", bytes(1000, 3)),
        ("b", bytes(2000, 4)),
        (
            "install.sh",
            b"#!/bin/sh\necho installed by install.sh\n".to_vec(),
        ),
    ]
}

impl DocWorld {
    pub fn new() -> DocWorld {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().to_path_buf();
        let t = root.join("template");
        let (srv, web_root, setup_tmp) = (root.join("srv"), root.join("www"), root.join("tmp"));
        for d in [
            t.join("home/.config/rget"),
            t.join("usr/local/bin"),
            t.join("dist"),
            t.join("published-sums/rel/v1.2"),
            // A clone of rget has `pinned/` (`rget sigsum policy NAME > pinned/policy`).
            t.join("pinned"),
            srv.clone(),
            web_root.join("rel/v1.2"),
            setup_tmp.clone(),
        ] {
            std::fs::create_dir_all(d).expect("mkdir");
        }

        let ca = TestCa::for_names(HOSTS);
        let web = TestServer::http();
        web.serve_dir_live("/rel", &web_root.join("rel"));
        let lists = data_dir().join("witness-network");
        for (list, path) in [
            ("testing-log-list.1", "testing/log-list.1"),
            (
                "staging-log-list-10qps-4klogs.1",
                "staging/log-list-10qps-4klogs.1",
            ),
        ] {
            let body = std::fs::read(lists.join(list)).expect("a witness-network list");
            web.route(
                &format!("/transparency-dev/witness-network/main/lists/{path}"),
                Reply::body(body),
            );
        }
        std::fs::copy(
            lists.join("testing-log-list.1"),
            t.join("testing-log-list.1"),
        )
        .expect("copy the list");
        let front = Relay::front(&ca, Duration::from_secs(10));
        let tunnel = Tunnel::start(front.addr);
        front.route("rel", Some(&web.url("/rel")));
        front.route("transparency-dev", Some(&web.url("/transparency-dev")));

        // Every setup command runs as an example does: in the template, HOME inside it.
        let env = Env {
            ca: ca.pem_path(),
            proxy: tunnel.url(),
            tmp: setup_tmp,
        };
        // Setup commands are written as command lines (split at spaces: the temporary root has none).
        assert!(!root.display().to_string().contains(char::is_whitespace));
        let rget = |line: &str| {
            let args: Vec<&OsStr> = line.split_whitespace().map(OsStr::new).collect();
            env.rget(&t, &t.join("home"), &args)
        };
        let save = |name: &str, out: Output| {
            std::fs::write(t.join(name), assert_ok(&out)).expect("write a line");
        };

        // The log and two witnesses of the world, as README's first deployment makes them.
        let log_dir = srv.join("rget-log");
        save(
            "log.line",
            rget(&format!(
                "log init --origin log.example.org/rget --url https://log.example.org/rget/ {}",
                log_dir.display()
            )),
        );
        let mut witnesses = Vec::new();
        for (i, host) in [(1, "witness1.example.net"), (2, "witness2.example.com")] {
            let dir = srv.join(format!("w{i}"));
            save(
                &format!("w{i}.line"),
                rget(&format!(
                    "witness init --name {host}/w{i} --url https://{host}/w{i}/ {}",
                    dir.display()
                )),
            );
            rget(&format!(
                "policy --log log.line --quorum none -o {}",
                dir.join("policy").display()
            ));
            let s = Server::spawn(&[
                os("witness"),
                os("serve"),
                dir.as_os_str(),
                os("--listen"),
                os("127.0.0.1:0"),
                os("--policy"),
                dir.join("policy").as_os_str(),
            ]);
            front.route(&format!("w{i}"), Some(&s.base));
            witnesses.push(s);
        }
        let log_witnesses = srv.join("witnesses");
        rget(&format!(
            "policy --witness w1.line --witness w2.line --quorum 2 -o {}",
            log_witnesses.display()
        ));
        let log = Server::try_spawn_env(
            &[
                os("log"),
                os("serve"),
                log_dir.as_os_str(),
                os("--listen"),
                os("127.0.0.1:0"),
                os("--add-rate"),
                os("0"),
                os("--batch-delay"),
                os("10"),
                os("--witnesses"),
                log_witnesses.as_os_str(),
            ],
            &[
                ("SSL_CERT_FILE", ca.pem_path().as_os_str()),
                ("HTTPS_PROXY", os(&tunnel.url())),
                ("NO_PROXY", os("127.0.0.1,localhost")),
            ],
        )
        .unwrap_or_else(|(st, err)| panic!("the world's log did not start ({st}): {err}"));
        front.route("rget", Some(&log.base));

        // The users' and publishers' files.
        rget(
            "policy --log log.line --witness w1.line --witness w2.line --quorum 2 -o home/.config/rget/policy",
        );
        std::fs::copy(
            t.join("home/.config/rget/policy"),
            t.join("publisher.policy"),
        )
        .expect("copy the policy");
        rget("policy --log log.line --quorum none -o logs.policy");
        rget("keygen");
        rget("keygen -p release.pub -s release.key");
        rget("keygen --ssh -s token.key");
        rget("keys add https://example.org/ minisign.pub");

        // A fresh log, witness and Sigsum log for the `serve` examples, and a log key for
        // `log init --key`.
        let t_srv = t.join("srv");
        rget(&format!(
            "log init --origin log.example.org/rget --url https://log.example.org/rget/ {}",
            t_srv.join("rget-log").display()
        ));
        std::fs::copy(t_srv.join("rget-log/log.key"), t.join("log.key")).expect("log.key");
        std::fs::copy(&log_witnesses, t_srv.join("rget-log/witnesses")).expect("witnesses");
        rget(&format!(
            "witness init --name witness.example.org/w1 --url https://witness.example.org/w1/ {}",
            t_srv.join("rget-witness").display()
        ));
        std::fs::copy(t.join("logs.policy"), t_srv.join("rget-witness/policy")).expect("policy");
        rget(&format!(
            "log init --sigsum --url https://sigsum.example.org/ {}",
            t_srv.join("sigsum-log").display()
        ));
        std::fs::copy(&log_witnesses, t_srv.join("sigsum-log/witnesses")).expect("witnesses");

        // The release https://example.org/rel/v1.2/: signed, logged, cosigned by both witnesses,
        // then logged in the Sigsum log too (the same SHA256SUMS: a second proof beside the first).
        let sigsum = SigsumWorld::new(2);
        // Its log reached as a public one is, over https at a host name (the front's `/sigsum/`).
        front.route("sigsum", Some(sigsum.log_url.trim_end_matches('/')));
        let policy = std::fs::read_to_string(&sigsum.policy).expect("policy");
        assert!(policy.contains(&sigsum.log_url), "{policy}");
        std::fs::write(
            t.join("sigsum-policy.txt"),
            policy.replace(&sigsum.log_url, "https://sigsum.example.org/sigsum/"),
        )
        .expect("policy");
        std::fs::copy(&sigsum.key, t.join("sigsum.key")).expect("sigsum.key");
        std::fs::copy(&sigsum.key_pub, t.join("sigsum.key.pub")).expect("sigsum.key.pub");
        for (name, bytes) in release_files(&root) {
            std::fs::write(t.join("dist").join(name), bytes).expect("write");
        }
        rget("release dist/ --key home/.minisign/minisign.key --url https://example.org/rel/v1.2/");
        rget(
            "submit --file dist/SHA256SUMS --sigsum-policy sigsum-policy.txt --sigsum-key sigsum.key",
        );
        for e in std::fs::read_dir(t.join("dist")).expect("dist") {
            let p = e.expect("entry").path();
            let name = p.file_name().expect("a name");
            std::fs::copy(&p, web_root.join("rel/v1.2").join(name)).expect("publish");
        }
        for name in [
            "SHA256SUMS",
            "SHA256SUMS.proof",
            "tool",
            "tool-1.2-linux.tar.gz",
        ] {
            std::fs::copy(t.join("dist").join(name), t.join(name)).expect("copy");
        }
        std::fs::copy(
            t.join("dist/SHA256SUMS"),
            t.join("published-sums/rel/v1.2/SHA256SUMS"),
        )
        .expect("copy");

        // Real published Sigsum data, and the other inputs the examples name.
        let sigsum_data = data_dir().join("sigsum");
        for (from, to) in [
            ("hello.txt", "app.tar.gz"),
            ("hello-v2.proof", "app.proof"),
            ("hello-v2.proof", "app.tar.gz.proof"),
            ("hello.pub", "keys.pub"),
        ] {
            std::fs::copy(sigsum_data.join(from), t.join(to)).expect("copy");
        }
        save("policy.txt", rget("sigsum policy sigsum-test-2025-3"));
        std::fs::write(t.join("app.zip"), crate::common::release::data(5000, 9)).expect("write");
        std::fs::write(t.join("pw"), "a password for ci.key\n").expect("write");
        std::fs::copy(ca.pem_path(), t.join("private-ca.pem")).expect("copy");
        std::fs::write(
            t.join("urls.txt"),
            "https://example.org/rel/v1.2/a\nhttps://example.org/rel/v1.2/b\n",
        )
        .expect("write");

        // rget's own releases, for `rget self`.
        let self_web = TestServer::https(&ca);
        let self_root = root.join("self-www");
        self_web.serve_dir_live("/selfrel", &self_root);
        for v in SELF_VERSIONS {
            let dir = self_root.join(format!("v{v}"));
            std::fs::create_dir_all(&dir).expect("mkdir");
            let file = dir.join(rget_file(v));
            std::fs::write(&file, rget_binary(v, b"")).expect("write");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            rget(&format!(
                "release {} --key home/.minisign/minisign.key --url {}",
                dir.display(),
                self_web.url(&format!("/selfrel/v{v}/"))
            ));
        }
        std::fs::write(self_root.join("LATEST"), "0.3.0\n").expect("LATEST");
        let pins = root.join("pins");
        std::fs::create_dir_all(&pins).expect("mkdir");
        std::fs::copy(t.join("minisign.pub"), pins.join("release.pub")).expect("copy");
        std::fs::copy(t.join("home/.config/rget/policy"), pins.join("policy")).expect("copy");
        std::fs::write(
            pins.join("source"),
            format!("{}\n", self_web.url("/selfrel/v{version}/")),
        )
        .expect("source");
        // What setup left in the template's state (checkpoint memory) is not the examples'.
        let _ = std::fs::remove_dir_all(t.join("home/.local"));

        DocWorld {
            _log: log,
            _witnesses: witnesses,
            _sigsum: sigsum,
            _web: web,
            _self_web: self_web,
            _front: front,
            tunnel,
            ca,
            template: t,
            pins,
            self_root,
            root,
            _tmp: tmp,
        }
    }

    /// The environment of an example whose working directory is `scene` (`HOME` at `scene/home`).
    pub fn env(&self, scene: &Path) -> Vec<(&'static str, String)> {
        let tmp = scene.join(".tmp");
        let _ = std::fs::create_dir_all(&tmp);
        vec![
            ("HOME", scene.join("home").display().to_string()),
            ("TMPDIR", tmp.display().to_string()),
            ("SSL_CERT_FILE", self.ca.pem_path().display().to_string()),
            ("HTTPS_PROXY", self.tunnel.url()),
            ("NO_PROXY", "127.0.0.1,localhost".to_owned()),
            ("RGET_PASSWORD", PASSWORD.to_owned()),
            ("LANG", "C.UTF-8".to_owned()),
        ]
    }

    /// The release file of rget `version` as published.
    pub fn self_release(&self, version: &str) -> PathBuf {
        self.self_root
            .join(format!("v{version}"))
            .join(rget_file(version))
    }
}

/// A string as an argument.
fn os(s: &str) -> &OsStr {
    s.as_ref()
}

/// `tests/data`.
fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The environment of the world's setup commands.
struct Env {
    ca: PathBuf,
    proxy: String,
    tmp: PathBuf,
}

impl Env {
    /// Runs `rget ARGS` in `cwd` with `HOME` at `home`, the test CA, the proxy, [`PASSWORD`].
    fn rget(&self, cwd: &Path, home: &Path, args: &[&OsStr]) -> Output {
        let out = Command::new(RGET)
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_STATE_HOME", self.tmp.join("state"))
            .env("TMPDIR", &self.tmp)
            .env("SSL_CERT_FILE", &self.ca)
            .env("HTTPS_PROXY", &self.proxy)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("RGET_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .expect("run rget");
        if !out.status.success() {
            panic!(
                "world setup: rget {:?} failed: {}\n{}",
                args,
                out.status,
                text(&out.stderr)
            );
        }
        out
    }
}

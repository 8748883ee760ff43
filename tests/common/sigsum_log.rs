//! A Sigsum world for end-to-end tests: a real Sigsum log (`rget log init --sigsum`, served by
//! `rget log serve` on loopback) whose tree heads real `rget witness serve` processes cosign over
//! C2SP tlog-witness, a Sigsum policy naming them, an HTTPS release server with a test CA, and a
//! publisher's ssh-ed25519 key made with `rget keygen --ssh`. Releases are published with
//! `rget release --sigsum-…` and fetched with `rget get`, every process with the isolated
//! environment of [`super::release::isolated`].

use super::assert_ok;
use super::https::{Reply, TestCa, TestServer};
use super::log::Server;
use super::release::isolated;
use rget::core::note::{SignerKey, VerifierKey};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A release published into the Sigsum log.
#[derive(Debug, Clone)]
pub struct SigsumRelease {
    /// The URL path prefix, e.g. `/rel/v1.0`.
    pub prefix: String,
    pub dir: PathBuf,
    pub files: Vec<(String, Vec<u8>)>,
    pub sums: Vec<u8>,
    pub proof: Vec<u8>,
    /// `rget release`'s standard error (warnings, summary).
    pub stderr: String,
}

/// Everything a Sigsum test needs; dropping it stops the processes and removes the directory.
pub struct SigsumWorld {
    // Declaration order is drop order: servers first, the directory last.
    pub srv: TestServer,
    /// Held for their drop, which stops them.
    _log: Server,
    _witnesses: Vec<Server>,
    pub ca: TestCa,
    pub log_dir: PathBuf,
    /// `http://127.0.0.1:PORT/`: the log's answers are authenticated by signatures and proofs.
    pub log_url: String,
    /// The log's Ed25519 public key.
    pub log_key: [u8; 32],
    pub witness_dirs: Vec<PathBuf>,
    pub witness_keys: Vec<[u8; 32]>,
    /// The Sigsum policy file: the log, the witnesses, all of them required.
    pub policy: PathBuf,
    /// The publisher's ssh-ed25519 key pair.
    pub key: PathBuf,
    pub key_pub: PathBuf,
    pub tmpdir: PathBuf,
    pub root: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The verifier key an `init` printed: the last word of its last line.
fn init_key(out: &Output) -> String {
    let line = assert_ok(out)
        .lines()
        .last()
        .expect("a line of output")
        .to_owned();
    // `log <vkey>` / `witness <name> <vkey>`: the policy line an init prints without --url.
    line.rsplit(' ').next().expect("a key").to_owned()
}

/// Makes an ssh-ed25519 key pair, `key` and `key.pub`, with `rget keygen --ssh -s KEY` run by
/// `rget` (a world's isolated command, or a bare one), and asserts that it succeeded.
pub fn keygen_ssh(rget: &mut Command, key: &Path) {
    assert_ok(
        &rget
            .args(["keygen", "--ssh", "-s"])
            .arg(key)
            .output()
            .expect("run rget keygen"),
    );
}

/// Adds `submit --file SUMS --sigsum-policy POLICY --sigsum-key KEY --state STATE` to `rget`: a
/// leaf submitted to the log of a Sigsum policy (the caller adds `--allow-http`, `--cacert`, ...).
pub fn submit_args<'c>(
    rget: &'c mut Command,
    sums: &Path,
    policy: &Path,
    key: &Path,
    state: &Path,
) -> &'c mut Command {
    rget.arg("submit")
        .arg("--file")
        .arg(sums)
        .arg("--sigsum-policy")
        .arg(policy)
        .arg("--sigsum-key")
        .arg(key)
        .arg("--state")
        .arg(state)
}

/// The raw key of a verifier key (`name+id+base64(type ‖ key)`).
fn raw_key(vkey: &str) -> [u8; 32] {
    VerifierKey::parse(vkey).expect("verifier key").public_key
}

impl SigsumWorld {
    /// A Sigsum log cosigned by `witnesses` witnesses, all of which the policy requires.
    pub fn new(witnesses: usize) -> SigsumWorld {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().to_path_buf();
        for d in ["home", "config", "state", "cache", "tmp", "pub"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        let ca = TestCa::new();
        let srv = TestServer::https(&ca);
        let tmpdir = root.join("tmp");
        let run = |args: &[&std::ffi::OsStr]| {
            isolated(&root, &tmpdir, &root)
                .args(args)
                .output()
                .expect("run rget")
        };
        let log_dir = root.join("log");
        let init = run(&[
            "log".as_ref(),
            "init".as_ref(),
            "--sigsum".as_ref(),
            log_dir.as_os_str(),
        ]);
        let log_vkey = init_key(&init);
        let log_key = raw_key(&log_vkey);
        assert!(
            assert_ok(&init).contains(&format!("log {} <URL>", hex::encode(log_key))),
            "init names the Sigsum policy line"
        );

        let witness_policy = root.join("witness-policy");
        std::fs::write(&witness_policy, format!("log {log_vkey}\nquorum none\n"))
            .expect("witness policy");
        let mut servers = Vec::new();
        let mut witness_dirs = Vec::new();
        let mut witness_keys = Vec::new();
        let mut log_witnesses = String::new();
        for i in 0..witnesses {
            let dir = root.join(format!("witness{i}"));
            let name = format!("witness{i}.rget.test/w");
            let vkey = init_key(&run(&[
                "witness".as_ref(),
                "init".as_ref(),
                "--name".as_ref(),
                name.as_ref(),
                dir.as_os_str(),
            ]));
            let s = Server::spawn(&[
                "witness".as_ref(),
                "serve".as_ref(),
                dir.as_os_str(),
                "--listen".as_ref(),
                "127.0.0.1:0".as_ref(),
                "--policy".as_ref(),
                witness_policy.as_os_str(),
            ]);
            log_witnesses.push_str(&format!("witness w{i} {vkey} {}/\n", s.base));
            witness_keys.push(raw_key(&vkey));
            witness_dirs.push(dir);
            servers.push(s);
        }
        let names: Vec<String> = (0..witnesses).map(|i| format!("w{i}")).collect();
        let rules = if witnesses == 0 {
            "quorum none\n".to_owned()
        } else {
            format!("group all-of all {}\nquorum all-of\n", names.join(" "))
        };
        let log_witnesses_file = root.join("log-witnesses");
        std::fs::write(&log_witnesses_file, format!("{log_witnesses}{rules}"))
            .expect("log witnesses");
        let log = if witnesses == 0 {
            Server::start(&log_dir, &["--batch-delay", "10"])
        } else {
            Server::start(
                &log_dir,
                &[
                    "--batch-delay",
                    "10",
                    "--witnesses",
                    log_witnesses_file.to_str().expect("UTF-8 path"),
                ],
            )
        };
        let log_url = format!("{}/", log.base);
        let mut policy_text = format!("log {} {log_url}\n", hex::encode(log_key));
        for (i, k) in witness_keys.iter().enumerate() {
            policy_text.push_str(&format!("witness w{i} {}\n", hex::encode(k)));
        }
        policy_text.push_str(&rules);
        let policy = root.join("sigsum-policy");
        std::fs::write(&policy, &policy_text).expect("policy");

        let key = root.join("keys").join("sigsum.key");
        keygen_ssh(&mut isolated(&root, &tmpdir, &root), &key);
        let key_pub = root.join("keys").join("sigsum.key.pub");
        SigsumWorld {
            srv,
            _log: log,
            _witnesses: servers,
            ca,
            log_dir,
            log_url,
            log_key,
            witness_dirs,
            witness_keys,
            policy,
            key,
            key_pub,
            tmpdir,
            root,
            _tmp: tmp,
        }
    }

    /// A command running `rget` in `cwd` with the isolated environment.
    pub fn command(&self, cwd: &Path) -> Command {
        isolated(&self.root, &self.tmpdir, cwd)
    }

    /// The text of the Sigsum policy file.
    pub fn policy_text(&self) -> String {
        std::fs::read_to_string(&self.policy).expect("policy")
    }

    /// The signer key of witness `i` (read from its directory: for tests that play a colluding
    /// witness).
    pub fn witness_signer(&self, i: usize) -> SignerKey {
        let text =
            std::fs::read_to_string(self.witness_dirs[i].join("witness.key")).expect("witness.key");
        SignerKey::parse(text.trim_end()).expect("witness key")
    }

    /// The log's signer key (for tests that play a log forking its tree).
    pub fn log_signer(&self) -> SignerKey {
        let text = std::fs::read_to_string(self.log_dir.join("log.key")).expect("log.key");
        SignerKey::parse(text.trim_end()).expect("log key")
    }

    /// A new empty directory under the world's root.
    pub fn dir(&self, name: &str) -> PathBuf {
        let d = self.root.join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    /// `rget release DIR --url https://…<prefix>/ --sigsum-policy --sigsum-key [ARGS…]`, run to
    /// success, with its files served at `prefix` on the HTTPS server.
    pub fn release(&self, prefix: &str, files: &[(&str, Vec<u8>)], args: &[&str]) -> SigsumRelease {
        let out = self.try_release(prefix, files, args);
        let stderr = super::text(&out.stderr);
        assert_ok(&out);
        let dir = self.release_dir(prefix);
        let read = |n: &str| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
        let rel = SigsumRelease {
            prefix: prefix.to_owned(),
            files: files
                .iter()
                .map(|(n, b)| (n.to_string(), b.clone()))
                .collect(),
            sums: read("SHA256SUMS"),
            proof: read("SHA256SUMS.proof"),
            dir,
            stderr,
        };
        self.serve(&rel);
        rel
    }

    fn release_dir(&self, prefix: &str) -> PathBuf {
        self.root
            .join("pub")
            .join(prefix.trim_matches('/').replace('/', "_"))
    }

    /// `rget release` of `files` as published at `prefix`, whatever its outcome.
    pub fn try_release(&self, prefix: &str, files: &[(&str, Vec<u8>)], args: &[&str]) -> Output {
        let dir = self.release_dir(prefix);
        std::fs::create_dir_all(&dir).expect("release dir");
        for (n, b) in files {
            std::fs::write(dir.join(n), b).expect("write release file");
        }
        self.command(&self.root)
            .arg("release")
            .arg(&dir)
            .args(["--url", &self.srv.url(&format!("{prefix}/"))])
            .arg("--sigsum-policy")
            .arg(&self.policy)
            .arg("--sigsum-key")
            .arg(&self.key)
            .arg("--state")
            .arg(self.root.join("publisher-state"))
            .arg("--allow-http")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run rget release")
    }

    /// (Re)sets the routes of a release to its honest content: no `.minisig`, no `.tlog-proof`.
    pub fn serve(&self, rel: &SigsumRelease) {
        for (n, b) in &rel.files {
            self.srv
                .route(&format!("{}/{n}", rel.prefix), Reply::body(b));
        }
        let path = |n: &str| format!("{}/{n}", rel.prefix);
        self.srv.route(&path("SHA256SUMS"), Reply::body(&rel.sums));
        self.srv
            .route(&path("SHA256SUMS.proof"), Reply::body(&rel.proof));
        self.srv
            .route(&path("SHA256SUMS.minisig"), Reply::status(404));
        self.srv
            .route(&path("SHA256SUMS.tlog-proof"), Reply::status(404));
    }

    /// `rget ARGS… --policy P --state STATE --cacert CA --allow-http --key KEY.pub` in `cwd`.
    pub fn client<S: AsRef<std::ffi::OsStr>>(
        &self,
        cwd: &Path,
        state: &Path,
        policy: &Path,
        args: &[S],
    ) -> Output {
        self.client_command(cwd, state, policy, args)
            .arg("--key")
            .arg(&self.key_pub)
            .stdin(Stdio::null())
            .output()
            .expect("run rget")
    }

    /// `rget ARGS… --policy P --state STATE --cacert CA --allow-http` in `cwd`, without a key: to
    /// add to, then run.
    pub fn client_command<S: AsRef<std::ffi::OsStr>>(
        &self,
        cwd: &Path,
        state: &Path,
        policy: &Path,
        args: &[S],
    ) -> Command {
        let mut c = self.command(cwd);
        c.args(args)
            .arg("--policy")
            .arg(policy)
            .arg("--state")
            .arg(state)
            .arg("--cacert")
            .arg(self.ca.pem_path())
            .arg("--allow-http");
        c
    }

    /// `rget get URL -o OUT` under the world's policy and key.
    pub fn get(&self, url: &str, out: &Path, state: &Path) -> Output {
        self.client(
            &self.root,
            state,
            &self.policy,
            &["get".as_ref(), url.as_ref(), "-o".as_ref(), out.as_os_str()],
        )
    }

    /// The HTTPS URL of a path on the file server.
    pub fn url(&self, path: &str) -> String {
        self.srv.url(path)
    }
}

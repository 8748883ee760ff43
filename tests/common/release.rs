//! A published, logged, signed release for end-to-end tests of `rget get|verify|cat|submit`.
//!
//! [`World::new`] builds, in a fresh temporary directory:
//! - a real transparency log (`rget log init` + `rget log serve --batch-delay 10`) on plain http on
//!   127.0.0.1, and the policy file `log <vkey> http://127.0.0.1:PORT/` + `quorum none`;
//! - an HTTPS [`TestServer`] with a test CA;
//! - a minisign key pair in the `minisign` tool's formats, made by the `minisign` crate (or by the
//!   tool, with [`World::with_minisign`]: the interop tests);
//! - the release `/rel/`: three files, `SHA256SUMS` written by `rget sums`, `SHA256SUMS.minisig` as
//!   `minisign -S` makes it, and `SHA256SUMS.tlog-proof` by `rget submit` to the log, all served
//!   over HTTPS at `/rel/...`.
//!
//! Every `rget` process runs with an empty environment but `PATH`, and `HOME`, `XDG_*` and `TMPDIR`
//! inside the temporary directory, so nothing reads or writes the real home.

use super::https::{Reply, TestCa, TestServer, files_with_prefix};
use super::log::{Server, init_log};
use super::minisign::Minisign;
use super::{RGET, assert_ok};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// rget's version: what the rget built for these tests says it is.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The origin (and key name) of the test log.
pub const ORIGIN: &str = "log.rget.test/e2e";

/// The target triple rget's release files are named after, on this machine.
pub fn target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// The name of rget's release file for `version` on this machine: `rget-<version>-<target>`.
pub fn rget_file(version: &str) -> String {
    format!("rget-{version}-{}", target())
}

/// The rget binary, with `extra` bytes appended and, for a version other than this one, a release
/// marker naming it (as a real build of that version would carry).
pub fn rget_binary(version: &str, extra: &[u8]) -> Vec<u8> {
    let mut b = std::fs::read(RGET).expect("read the rget binary");
    if version != VERSION {
        b.extend_from_slice(format!("\0rget-release {version} {}\0", target()).as_bytes());
    }
    b.extend_from_slice(extra);
    b
}

/// Deterministic bytes that are not all alike; `seed` makes different files.
pub fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i ^ (i >> 7) ^ (i >> 13)) as u8 ^ seed)
        .collect()
}

/// `rget` in `cwd` with an empty environment but `PATH`, and `HOME`, `XDG_*` under `root` (its
/// `home`, `config`, `state`, `cache`) and `TMPDIR` at `tmpdir`: nothing reads or writes the real
/// home.
pub fn isolated(root: &Path, tmpdir: &Path, cwd: &Path) -> Command {
    let mut c = Command::new(RGET);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root.join("home"))
        .env("XDG_CONFIG_HOME", root.join("config"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("TMPDIR", tmpdir)
        .current_dir(cwd)
        .stdin(Stdio::null());
    c
}

/// One published release directory.
#[derive(Debug, Clone)]
pub struct Release {
    /// The URL path prefix, e.g. `/rel`.
    pub prefix: String,
    /// The local directory the release was made in.
    pub dir: PathBuf,
    /// `(name, bytes)` of each file.
    pub files: Vec<(String, Vec<u8>)>,
    pub sums: Vec<u8>,
    pub minisig: Vec<u8>,
    /// Empty when the release was not submitted to the log.
    pub proof: Vec<u8>,
    /// `https://127.0.0.1:PORT<prefix>/SHA256SUMS`
    pub sums_url: String,
}

impl Release {
    /// The release `rget release` wrote into `dir`: `files` and the `SHA256SUMS`, its signature and
    /// its proof read back from there.
    pub fn written(
        prefix: &str,
        dir: &Path,
        files: &[(&str, Vec<u8>)],
        sums_url: String,
    ) -> Release {
        let read = |n: &str| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
        Release {
            prefix: prefix.to_owned(),
            dir: dir.to_owned(),
            files: files
                .iter()
                .map(|(n, b)| (n.to_string(), b.clone()))
                .collect(),
            sums: read("SHA256SUMS"),
            minisig: read("SHA256SUMS.minisig"),
            proof: read("SHA256SUMS.tlog-proof"),
            sums_url,
        }
    }

    pub fn file(&self, name: &str) -> &[u8] {
        &self
            .files
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no file {name} in {}", self.prefix))
            .1
    }

    /// The URL path of one of its files (or of `SHA256SUMS...`).
    pub fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix)
    }
}

/// Everything one test needs; dropping it stops the servers and removes the directory.
pub struct World {
    // Declaration order is drop order: servers first, the directory last.
    pub srv: TestServer,
    pub log: Server,
    pub ca: TestCa,
    /// `http://127.0.0.1:PORT/`, plain http: the log server speaks only http, and its answers are
    /// authenticated by the checkpoint signatures and Merkle proofs, not by the transport. The
    /// clients therefore run with `--allow-http`, which also proves that a redirect from https to
    /// http is refused even then.
    pub log_url: String,
    pub log_dir: PathBuf,
    pub vkey: String,
    /// The policy file: this log, quorum none.
    pub policy: PathBuf,
    /// What makes the release key and signs with it.
    pub minisign: Minisign,
    /// The release signing key (minisign, no password).
    pub key_pub: PathBuf,
    pub key_sec: PathBuf,
    /// The main release, at `/rel`.
    pub rel: Release,
    /// `TMPDIR` of the rget processes (where `rget cat` spools).
    pub tmpdir: PathBuf,
    pub root: PathBuf,
    /// Held for its drop, which removes the directory.
    _tmp: tempfile::TempDir,
}

impl World {
    /// No `.rget-` temporary file left beside `dest` or in the clients' `TMPDIR`.
    #[track_caller]
    pub fn assert_no_temporaries(&self, dest: &Path) {
        let dir = dest.parent().expect("dest has a parent");
        assert_eq!(files_with_prefix(dir, ".rget-"), Vec::<String>::new());
        assert_eq!(
            files_with_prefix(&self.tmpdir, ".rget-"),
            Vec::<String>::new()
        );
    }

    pub fn new() -> World {
        Self::with_minisign(Minisign::Crate)
    }

    /// A world whose release key is made, and whose releases are signed, by `minisign`.
    pub fn with_minisign(minisign: Minisign) -> World {
        Self::with_dir(tempfile::tempdir().expect("temp dir"), minisign)
    }

    /// A world whose directory is `<parent>/<pid>-<random>`, for a world kept in a `static` (never
    /// dropped): directories there whose process is gone are removed first, so each run cleans up
    /// after the previous one.
    pub fn in_swept_dir(parent: &Path) -> World {
        std::fs::create_dir_all(parent).expect("world parent");
        for e in std::fs::read_dir(parent)
            .expect("read world parent")
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.split('-').next().unwrap_or("");
            if !Path::new("/proc").join(pid).exists() || pid.is_empty() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let tmp = tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempdir_in(parent)
            .expect("temp dir");
        Self::with_dir(tmp, Minisign::Crate)
    }

    fn with_dir(tmp: tempfile::TempDir, minisign: Minisign) -> World {
        let root = tmp.path().to_path_buf();
        for d in ["home", "config", "state", "cache", "tmp", "pub"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        let ca = TestCa::new();
        let srv = TestServer::https(&ca);
        let (log_dir, vkey) = init_log(&root, ORIGIN);
        let log = Server::start(&log_dir, &["--batch-delay", "10"]);
        let log_url = format!("{}/", log.base);
        let policy = root.join("policy");
        std::fs::write(&policy, format!("log {vkey} {log_url}\nquorum none\n")).expect("policy");
        let (key_pub, key_sec) = minisign.keypair(&root.join("keys"), "release");
        let placeholder = Release {
            prefix: String::new(),
            dir: PathBuf::new(),
            files: vec![],
            sums: vec![],
            minisig: vec![],
            proof: vec![],
            sums_url: String::new(),
        };
        let mut w = World {
            srv,
            log,
            ca,
            log_url,
            log_dir,
            vkey,
            policy,
            minisign,
            key_pub,
            key_sec,
            rel: placeholder,
            tmpdir: root.join("tmp"),
            root,
            _tmp: tmp,
        };
        w.rel = w.publish(
            "/rel",
            &[
                ("app-1.0.tar.gz", data(300_000, 0)),
                ("install.sh", b"#!/bin/sh\necho installed\n".to_vec()),
                ("NOTES.txt", b"release notes\n".to_vec()),
            ],
            true,
        );
        w
    }

    /// A command running `rget` in `cwd` with the isolated environment.
    pub fn command(&self, cwd: &Path) -> Command {
        isolated(&self.root, &self.tmpdir, cwd)
    }

    /// Writes `files` under `pub/<prefix>`, `SHA256SUMS` with `rget sums`, signs it as
    /// `minisign -S` does, submits it (if `submit`) with `rget submit`, and serves all of it at `prefix`.
    pub fn publish(&self, prefix: &str, files: &[(&str, Vec<u8>)], submit: bool) -> Release {
        let dir = self
            .root
            .join("pub")
            .join(prefix.trim_matches('/').replace('/', "_"));
        std::fs::create_dir_all(&dir).expect("release dir");
        for (n, b) in files {
            std::fs::write(dir.join(n), b).expect("write release file");
        }
        let sums_path = dir.join("SHA256SUMS");
        let out = self
            .command(&self.root)
            .args(["sums", "-o"])
            .arg(&sums_path)
            .arg(&dir)
            .output()
            .expect("run rget sums");
        assert_ok(&out);
        self.minisign.sign(&self.key_sec, &sums_path, None);
        let sums_url = self.srv.url(&format!("{prefix}/SHA256SUMS"));
        let proof = if submit {
            let out = self.submit(&sums_url, &sums_path, &self.root.join("publisher-state"));
            assert_ok(&out);
            std::fs::read(dir.join("SHA256SUMS.tlog-proof")).expect("proof written")
        } else {
            Vec::new()
        };
        let rel = Release {
            prefix: prefix.to_owned(),
            files: files
                .iter()
                .map(|(n, b)| (n.to_string(), b.clone()))
                .collect(),
            sums: std::fs::read(&sums_path).expect("read SHA256SUMS"),
            minisig: std::fs::read(dir.join("SHA256SUMS.minisig")).expect("read minisig"),
            proof,
            sums_url,
            dir,
        };
        self.serve(&rel);
        rel
    }

    /// Publishes `files` with `rget release` (so the signature's trusted comment binds the URL) as
    /// released at `https://<url_host><url_dir>/` (`url_host` defaults to the server's
    /// `127.0.0.1:PORT`; `url_dir` may be spelled in any way the release URL may), and serves them at
    /// `prefix` on the HTTPS server.
    pub fn release_with_rget(
        &self,
        prefix: &str,
        url_host: Option<&str>,
        url_dir: &str,
        files: &[(&str, Vec<u8>)],
    ) -> Release {
        let parent = self.dir("released");
        let n = std::fs::read_dir(&parent).expect("read released/").count();
        let dir = parent.join(format!("{n}{}", prefix.replace('/', "_")));
        std::fs::create_dir_all(&dir).expect("release dir");
        for (n, b) in files {
            std::fs::write(dir.join(n), b).expect("write release file");
        }
        let base = match url_host {
            Some(h) => format!("https://{h}{url_dir}/"),
            None => self.url(&format!("{url_dir}/")),
        };
        let out = self
            .command(&self.root)
            .arg("release")
            .arg(&dir)
            .arg("--key")
            .arg(&self.key_sec)
            .args(["--url", &base, "--log", &self.log_url, "--policy"])
            .arg(&self.policy)
            .arg("--state")
            .arg(self.root.join("publisher-state"))
            .arg("--allow-http")
            .output()
            .expect("run rget release");
        crate::common::assert_ok(&out);
        // The SHA256SUMS URL as spelled in `--url`.
        let rel = Release::written(prefix, &dir, files, format!("{base}SHA256SUMS"));
        self.serve(&rel);
        rel
    }

    /// (Re)sets the routes of a release to its honest content.
    pub fn serve(&self, rel: &Release) {
        for (n, b) in &rel.files {
            self.srv.route(&rel.path(n), Reply::body(b));
        }
        self.srv
            .route(&rel.path("SHA256SUMS"), Reply::body(&rel.sums));
        self.srv
            .route(&rel.path("SHA256SUMS.minisig"), Reply::body(&rel.minisig));
        let proof = if rel.proof.is_empty() {
            Reply::status(404)
        } else {
            Reply::body(&rel.proof)
        };
        self.srv.route(&rel.path("SHA256SUMS.tlog-proof"), proof);
    }

    /// `rget submit URL --file SUMS --log <log> --policy <policy> --allow-http --state STATE`.
    pub fn submit(&self, url: &str, sums: &Path, state: &Path) -> Output {
        self.command(&self.root)
            .args(["submit", url, "--file"])
            .arg(sums)
            .args(["--log", &self.log_url, "--policy"])
            .arg(&self.policy)
            .arg("--allow-http")
            .arg("--state")
            .arg(state)
            .output()
            .expect("run rget submit")
    }

    /// The HTTPS URL of a path on the file server.
    pub fn url(&self, path: &str) -> String {
        self.srv.url(path)
    }

    /// A pin directory `dir` (the format of `pinned/`): `SHA256SUMS` with `sums`, the world's
    /// release key, `policy`, and the source template `https://127.0.0.1:PORT<source_path>`
    /// (which holds `{version}`).
    pub fn write_pins(&self, dir: &str, sums: &[u8], policy: &str, source_path: &str) -> PathBuf {
        let d = self.dir(dir);
        std::fs::write(d.join("SHA256SUMS"), sums).expect("pins SHA256SUMS");
        std::fs::copy(&self.key_pub, d.join("release.pub")).expect("pins release.pub");
        std::fs::write(d.join("policy"), policy).expect("pins policy");
        std::fs::write(d.join("source"), format!("{}\n", self.url(source_path)))
            .expect("pins source");
        d
    }

    /// The world's policy file's text.
    pub fn policy_text(&self) -> String {
        std::fs::read_to_string(&self.policy).expect("read the policy")
    }

    /// A new empty directory under the world's root.
    pub fn dir(&self, name: &str) -> PathBuf {
        let d = self.root.join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    /// A fresh state directory and download directory for one run (`state-NAME`, `dl-NAME`).
    pub fn fresh(&self, name: &str) -> (PathBuf, PathBuf) {
        (
            self.dir(&format!("state-{name}")),
            self.dir(&format!("dl-{name}")),
        )
    }

    /// `rget get URL -o dest` with the release key and the world's policy.
    pub fn get_to(&self, state: &Path, url: &str, dest: &Path) -> Output {
        self.client(state, &["get", url, "-o", dest.to_str().unwrap()])
            .run()
    }

    /// A client run: `rget ARGS... --policy --state --cacert --allow-http [--key]`, in `cwd`.
    pub fn client<S: AsRef<std::ffi::OsStr>>(&self, state: &Path, args: &[S]) -> ClientRun<'_> {
        ClientRun {
            w: self,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
            cwd: self.root.clone(),
            state: state.to_owned(),
            policy: self.policy.clone(),
            key: Some(self.key_pub.clone()),
        }
    }
}

/// One `rget` client invocation being set up.
pub struct ClientRun<'a> {
    w: &'a World,
    args: Vec<OsString>,
    cwd: PathBuf,
    state: PathBuf,
    policy: PathBuf,
    key: Option<PathBuf>,
}

impl ClientRun<'_> {
    pub fn cwd(mut self, cwd: &Path) -> Self {
        self.cwd = cwd.to_owned();
        self
    }
    pub fn policy(mut self, p: &Path) -> Self {
        self.policy = p.to_owned();
        self
    }
    /// `--key FILE` instead of the release key.
    pub fn key(mut self, k: &Path) -> Self {
        self.key = Some(k.to_owned());
        self
    }
    /// No `--key`: no publisher key applies.
    pub fn no_key(mut self) -> Self {
        self.key = None;
        self
    }
    pub fn run(self) -> Output {
        self.command().output().expect("run rget")
    }

    /// The configured command, to spawn (and signal) instead of running it to its end.
    pub fn command(self) -> Command {
        let mut c = self.w.command(&self.cwd);
        c.args(&self.args)
            .arg("--policy")
            .arg(&self.policy)
            .arg("--state")
            .arg(&self.state)
            .arg("--cacert")
            .arg(self.w.ca.pem_path())
            .arg("--allow-http");
        if let Some(k) = &self.key {
            c.arg("--key").arg(k);
        }
        c
    }
}

/// One nested cargo build of the bootstrap at a time: the builds share a target directory and its
/// output path.
static BOOTSTRAP_BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `cargo build -p rget-bootstrap` (debug) with `RGET_PINNED_DIR=pins`, in `<target>/bootstrap-e2e`
/// (persistent, so later runs are incremental); the binary is copied to `out`.
pub fn build_bootstrap(pins: &Path, out: &Path) -> PathBuf {
    cargo_build_bootstrap(pins, |build, built| {
        assert!(
            build.status.success(),
            "building the bootstrap failed:\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        std::fs::copy(built, out).expect("copy bootstrap");
        out.to_owned()
    })
}

/// What `cargo build -p rget-bootstrap` says of the pin set `pins` (a malformed one fails the build).
pub fn bootstrap_build_output(pins: &Path) -> Output {
    cargo_build_bootstrap(pins, |build, _| build)
}

/// Runs the build, one at a time, and hands its output and the built binary's path to `then`
/// (still holding the build's lock).
fn cargo_build_bootstrap<R>(pins: &Path, then: impl FnOnce(Output, &Path) -> R) -> R {
    let _guard = BOOTSTRAP_BUILD.lock().unwrap_or_else(|e| e.into_inner());
    // <target>/debug/rget → <target>/bootstrap-e2e: persistent, so later runs are incremental.
    let target_dir = crate::common::target_dir("bootstrap-e2e");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let build = Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args([
            "build",
            "--offline",
            "-p",
            "rget-bootstrap",
            "--manifest-path",
        ])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("RGET_PINNED_DIR", pins)
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    then(build, &target_dir.join("debug").join("rget-bootstrap"))
}

/// The index line of a `.tlog-proof` file.
pub fn proof_index(proof: &[u8]) -> u64 {
    rget::core::tlog_proof::TlogProof::parse(proof)
        .expect("a proof")
        .index
}

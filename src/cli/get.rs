//! `rget get`, `rget verify` and `rget cat`: hand a file over only when everything holds (see
//! `rget::client::verified`), and say what was verified.

use super::exit::{CliResult, Failure, io_reason};
use super::json::{self, Cosigner, Logged};
use super::summary::cosigned_by;
use super::transfers::{self, Done, Job, Plan};
use super::trust_args::{TrustArgs, client, local};
use super::url_list;
use crate::client::destination;
use crate::client::verified::{self, ProofSource, ReleaseFiles, Signed, VerifiedSums};
use rget_core::digest::{Hash, sha256_reader};
use rget_core::trusted_comment::UrlBinding;
use rget_core::url::{CanonicalUrl, FileUrl};
use rget_core::verify::{VerifyError, check_listed};
use rget_fetch::limits;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(
    about = "Download release files, each verified against its logged SHA256SUMS",
    long_about = "Download URL and keep it only if all of this holds: the SHA256SUMS next to it (or --sums) \
lists its name and digest; that SHA256SUMS is recorded in a trusted transparency log (from \
SHA256SUMS.tlog-proof next to it, or found with the log's lookup and proved from its tiles) under a \
checkpoint signed by the log, cosigned as the policy's quorum requires, and consistent with the last \
checkpoint this host saw of that log (and, when the log's lookup is used, no trusted log lists another \
SHA256SUMS for that URL: exit 6, evidence kept); and its minisign signature holds where a publisher key \
applies, with a trusted comment that names no other URL (rget release writes url:<URL> into it). \
The body is hashed while it streams into a temporary file beside the destination, which is renamed \
into place only after every check. It starts streaming at once, while the SHA256SUMS, its proof and \
its signature are fetched in parallel and checked; a failed check stops it and removes the temporary \
file. On any failure the destination is untouched, and an interrupted \
download (Ctrl-C, SIGTERM, SIGHUP: exit 130, 143, 129) leaves no temporary file; what a killed rget \
left (kill -9) is removed by the next run in that directory.

Without -o, the file is saved in the current directory under the URL's last path segment, \
percent-decoded, only if that is a plain file name: one that is empty, '.' or '..', holds '/', '\\', \
NUL, a control or a bidirectional-text character, starts with '.', '-' or '~', or starts or ends \
with white space is refused before anything is fetched (exit 2): give -o PATH.

The destination (-o, or the derived name) decides how it is written: absent or a regular file, it is \
replaced atomically; a character device or a FIFO is written through, only after the whole file \
verified, from a private spool file in $TMPDIR (the node itself stays); a directory, a socket or a \
block device is refused before anything is downloaded (exit 2). A symbolic link is followed to its \
target, as curl -o does, and the target's kind decides.

Many URLs (on the command line, or listed with -i FILE, one a line, '-' for standard input, blank \
lines and '#' comments skipped) are downloaded -P at a time, each under its own name in --output-dir \
(or the current directory). Each release directory's SHA256SUMS, proof and signature are fetched \
and checked once for all its files. A bad list line, a URL given twice, or two URLs for one output \
name are refused before anything is fetched (exit 2). Each file ends on its own: those that verified \
are kept, each failure is one line naming its URL and exit class, and the exit code is that of the \
first failed file in the order given (0 only if all verified). --json prints one object per file.",
    after_help = "Examples:
  # saves tool-1.2-linux.tar.gz
  rget get https://example.org/rel/v1.2/tool-1.2-linux.tar.gz
  # saves to that path
  rget get -o /usr/local/bin/tool https://example.org/rel/v1.2/tool
  # through a pipe, once verified
  rget get -o /dev/stdout https://example.org/rel/v1.2/tool.tar | tar x
  rget get --json https://example.org/rel/v1.2/tool | jq .sha256
  # two files of one release into bin/ (made if missing)
  rget get --create-dirs --output-dir bin https://example.org/rel/v1.2/a \\
      https://example.org/rel/v1.2/b
  # the URLs listed in urls.txt ('-': standard input), 8 at a time
  rget get -P 8 -i urls.txt"
)]
/// Arguments of `rget get`.
pub struct GetArgs {
    /// The files to download (https). With more than one, each is saved under its own name (in
    /// --output-dir, else the current directory)
    #[arg(value_name = "URL")]
    pub urls: Vec<String>,
    /// Also download the URLs listed in FILE, one per line ('-': standard input); blank lines and
    /// lines starting with '#' are skipped
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Where to save it: a file (replaced once verified), a character device or a FIFO (written
    /// through once verified), or a link to one. Default: its file name, in the current directory
    /// (-O). Only for a single URL
    #[arg(short = 'o', long, value_name = "PATH", conflicts_with_all = ["remote_name", "output_dir"])]
    pub output: Option<PathBuf>,
    /// Save under the URL's file name in the current directory (the default)
    #[arg(short = 'O', long)]
    pub remote_name: bool,
    /// Save each file under its URL's file name in DIR instead of the current directory
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Create the --output-dir DIR, or the directories of -o PATH, if missing (curl's
    /// --create-dirs); without it a missing directory is refused before anything is downloaded
    #[arg(long)]
    pub create_dirs: bool,
    /// Transfers at a time, for many URLs (curl's --parallel-max)
    #[arg(short = 'P', long = "parallel", value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
    /// What `get`, `verify` and `cat` share.
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Check a file on disk as `rget get` would have checked it",
    after_help = "Example:
  rget verify https://example.org/rel/v1.2/tool-1.2-linux.tar.gz \\
      ./tool-1.2-linux.tar.gz"
)]
/// Arguments of `rget verify`.
pub struct VerifyArgs {
    /// The URL the file was published at (names it, and locates its SHA256SUMS)
    pub url: String,
    /// The file to check
    pub file: PathBuf,
    /// What `get`, `verify` and `cat` share.
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args, Debug)]
#[command(
    about = "Write a verified file to standard output, only after all of it verified",
    long_about = "Download URL into a temporary file, verify it exactly as `rget get` does, and only then write \
it to standard output. Nothing reaches standard output unless every check held, so \
`rget cat URL | sh` never runs a partial or unverified script.",
    after_help = "Example:
  rget cat https://example.org/rel/v1.2/install.sh | sh"
)]
/// Arguments of `rget cat`.
pub struct CatArgs {
    /// The file to download
    pub url: String,
    /// What `get`, `verify` and `cat` share.
    #[command(flatten)]
    pub common: Common,
}

/// The options `get`, `verify` and `cat` share: which `SHA256SUMS`, size limit, JSON, and trust.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The SHA256SUMS to check against. Default: SHA256SUMS in the file's directory
    #[arg(long, value_name = "URL")]
    pub sums: Option<String>,
    /// Largest file accepted, in bytes (a digest only speaks at the end of the stream)
    #[arg(long, value_name = "BYTES", default_value_t = limits::DEFAULT_MAX_ARTIFACT)]
    pub max_size: u64,
    /// Print what was verified as one JSON object on standard output (for `cat`, whose standard
    /// output carries the file, on standard error)
    #[arg(long)]
    pub json: bool,
    /// The trust configuration (policy, keys, state, network).
    #[command(flatten)]
    pub trust: TrustArgs,
}

/// `rget get`.
pub fn get(a: GetArgs) -> CliResult {
    interruptible()?;
    let urls = given_urls(&a)?;
    // Where each file goes is settled before anything is fetched: a name or destination that
    // cannot be written, two URLs that are one, or two files that would land on one name, are a
    // usage error with nothing downloaded and nothing written.
    // Without -o, the name saved is the name looked up in SHA256SUMS (`v.name`): both are the
    // URL's decoded last segment, which must then also be a plain file name.
    if a.output.is_some() && urls.len() > 1 {
        return Err(Failure::usage(format!(
            "-o names one file, but {} URLs were given: save them with --output-dir DIR",
            urls.len()
        )));
    }
    // Created only when asked (--create-dirs, as curl): a misspelt directory would otherwise
    // receive the files where nobody looks for them.
    if a.create_dirs {
        let dir = a.output_dir.as_deref().or_else(|| {
            a.output
                .as_deref()
                .and_then(Path::parent)
                .filter(|p| !p.as_os_str().is_empty())
        });
        if let Some(d) = dir {
            std::fs::create_dir_all(d).map_err(|e| {
                Failure::local_io(format!("--create-dirs {}: {}", d.display(), io_reason(&e)))
            })?;
        }
    }
    // Not created otherwise: a misspelt directory would fail every file, after downloading it.
    if let Some(d) = &a.output_dir
        && !std::fs::metadata(d).is_ok_and(|m| m.is_dir())
    {
        return Err(Failure::usage(format!(
            "--output-dir {}: not an existing directory: nothing was downloaded",
            d.display()
        )));
    }
    let mut jobs: Vec<Job> = Vec::with_capacity(urls.len());
    let mut by_dest: HashMap<PathBuf, usize> = HashMap::with_capacity(urls.len());
    let mut releases: Vec<CanonicalUrl> = Vec::new();
    let mut release_of: HashMap<String, usize> = HashMap::new();
    for (given, url) in &urls {
        let named = match (&a.output, &a.output_dir) {
            (Some(p), _) => p.clone(),
            (None, Some(d)) => d.join(output_name(url)?),
            (None, None) => PathBuf::from(output_name(url)?),
        };
        let dest = destination::resolve(&named).map_err(|e| client(e.into()))?;
        if let Some(&j) = by_dest.get(dest.path()) {
            return Err(Failure::usage(format!(
                "{given} and {} would both be saved as {}: nothing was downloaded (give them one at a time with -o, or drop one)",
                jobs[j].url,
                named.display()
            )));
        }
        let (name, sums_url) = verified::locate(url, a.common.sums.as_deref()).map_err(client)?;
        let next = releases.len();
        let release = *release_of
            .entry(sums_url.as_str().to_owned())
            .or_insert(next);
        if release == next {
            releases.push(sums_url);
        }
        by_dest.insert(dest.path().to_owned(), jobs.len());
        jobs.push(Job {
            url: url.clone(),
            name,
            named,
            dest,
            release,
        });
    }
    let ctx = a.common.trust.context()?;
    let single = jobs.len() == 1;
    let plan = Plan {
        jobs: &jobs,
        releases: &releases,
        parallel: usize::from(a.parallel),
        max_size: a.common.max_size,
        progress: single,
    };
    if single {
        let mut outcomes = transfers::run(&ctx, &plan, &|_, _| {});
        let done = outcomes
            .pop()
            .unwrap_or_else(|| Err(local("the download ended without an outcome")))?;
        return report(
            &a.common,
            &done.v,
            &jobs[0].url,
            &done.sha256,
            done.len,
            Some(&jobs[0].named),
        );
    }
    // Many files: each outcome on its own line(s) as it ends, then the summary.
    let outcomes = transfers::run(&ctx, &plan, &|i, outcome| {
        let job = &jobs[i];
        match outcome {
            // A report that cannot be written is not the file's failure: the next ones still go.
            Ok(d) => {
                let _ = report(
                    &a.common,
                    &d.v,
                    &job.url,
                    &d.sha256,
                    d.len,
                    Some(&job.named),
                );
            }
            Err(f) => failed(&a.common, &job.url, f),
        }
    });
    many_summary(&jobs, &outcomes)
}

/// The URLs of the run, in order: the command line's, then the list's; each parsed once, and each
/// only once (two spellings of one URL are one URL).
fn given_urls(a: &GetArgs) -> CliResult<Vec<(String, FileUrl)>> {
    let mut given: Vec<String> = a.urls.iter().map(|u| u.to_string()).collect();
    let mut origin: Vec<String> = (1..=a.urls.len())
        .map(|i| format!("URL {i}{COMMAND_LINE}"))
        .collect();
    if let Some(list) = &a.input_file {
        let bytes = read_list(list)?;
        let shown = list.display();
        let listed = url_list::parse(&bytes)
            .map_err(|e| Failure::usage(format!("{shown}: {e}: nothing was downloaded")))?;
        for l in listed {
            origin.push(format!("line {} of {shown}", l.line));
            given.push(l.url);
        }
    }
    if given.is_empty() {
        return Err(Failure::usage(
            "no URL to download: give one or more URLs, or -i FILE (see 'rget get --help')",
        ));
    }
    let mut out: Vec<(String, FileUrl)> = Vec::with_capacity(given.len());
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(given.len());
    for (i, g) in given.iter().enumerate() {
        let url = file_url(g).map_err(|f| {
            Failure::usage(format!(
                "{} ({}): nothing was downloaded",
                f.message(),
                origin[i]
            ))
        })?;
        // One spelling per URL (RFC 3986 section 6.2.2, as records compare them), so that
        // `HTTPS://Example.ORG/x` and `https://example.org/x` are caught as one.
        let key = CanonicalUrl::parse(g)
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|_| g.clone());
        if let Some(j) = seen.get(&key) {
            let (first, second) = (&origin[*j], &origin[i]);
            let both = match first.strip_suffix(COMMAND_LINE) {
                Some(f) if second.ends_with(COMMAND_LINE) => format!("{f} and {second}"),
                _ => format!("{first} and {second}"),
            };
            return Err(Failure::usage(format!(
                "{g} is given twice ({both}): nothing was downloaded"
            )));
        }
        seen.insert(key, i);
        out.push((g.clone(), url));
    }
    Ok(out)
}

const COMMAND_LINE: &str = " of the command line";

/// The bytes of `-i FILE` (`-`: standard input), at most `limits::URL_LIST`.
fn read_list(list: &Path) -> CliResult<Vec<u8>> {
    let shown = list.display();
    let cap = limits::URL_LIST;
    let mut bytes = Vec::new();
    let read = if list.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(cap + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(list).and_then(|f| f.take(cap + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| local(format!("{shown}: {}", io_reason(&e))))?;
    if bytes.len() as u64 > cap {
        return Err(Failure::usage(format!(
            "{shown}: a list of URLs larger than {cap} bytes: nothing was downloaded"
        )));
    }
    Ok(bytes)
}

/// One file of many failed: one line, naming its URL, its exit code and class (for `--json`, one
/// object on standard output).
fn failed(c: &Common, url: &FileUrl, f: &Failure) {
    let code = f.exit_code();
    if c.json {
        let _ = json::print(&FailedReport {
            verified: false,
            url: url.as_str(),
            exit_code: code.code(),
            class: code.class(),
            error: f.message(),
        });
    } else {
        let line = format!(
            "rget: FAILED {}: {} (exit code {}, {})\n",
            rget_core::escape::for_terminal(url.as_str()),
            f.message(),
            code.code(),
            code.class()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// The `--json` object of a file that failed.
#[derive(Serialize)]
struct FailedReport<'a> {
    verified: bool,
    url: &'a str,
    exit_code: i32,
    class: &'a str,
    error: &'a str,
}

/// The end of a run of many files: success only if every file verified; otherwise the exit code of
/// the first failure in the order the URLs were given, and a line that says what was kept.
fn many_summary(jobs: &[Job], outcomes: &[CliResult<Done>]) -> CliResult {
    let kept: Vec<String> = jobs
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| o.is_ok())
        .map(|(j, _)| j.named.display().to_string())
        .collect();
    let Some(first) = outcomes.iter().find_map(|o| o.as_ref().err()) else {
        let line = format!("rget: all {} files verified\n", jobs.len());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
        return Ok(());
    };
    let failures = jobs.len() - kept.len();
    let kept_text = if kept.is_empty() {
        "none was kept".to_owned()
    } else {
        format!(
            "the {} that verified {} kept: {}",
            kept.len(),
            if kept.len() == 1 { "is" } else { "are" },
            kept.join(", ")
        )
    };
    Err(Failure::new(
        first.exit_code(),
        format!(
            "{failures} of {} files failed (exit code {}: the first failure's); {kept_text}",
            jobs.len(),
            first.code()
        ),
    ))
}

/// The URL of the command line, parsed once: a usage error if it names no file.
fn file_url(url: &str) -> CliResult<FileUrl> {
    FileUrl::parse(url).map_err(|e| Failure::usage(format!("{url}: {e}")))
}

/// The file name `rget get URL` saves to without `-o`, or a usage error that says to use `-o`.
fn output_name(url: &FileUrl) -> CliResult<&str> {
    url.output_name().map_err(|e| {
        Failure::usage(format!(
            "{url}: {e}: not saved under that name; give the destination with -o PATH"
        ))
    })
}

/// Where `rget cat` and a write-through `get` spool the download: a private temporary file in
/// $TMPDIR (only this path's directory is used), never beside a device or a FIFO.
pub(crate) fn spool() -> PathBuf {
    std::env::temp_dir().join("rget-spool")
}

/// Ctrl-C, SIGTERM and SIGHUP remove the temporary file and exit 130, 143 or 129.
pub(crate) fn interruptible() -> CliResult {
    rget_fetch::interrupt::remove_temporaries_on_signals("rget").map_err(|e| {
        local(format!(
            "cannot set up the removal of temporary files on signals: {}",
            io_reason(&e)
        ))
    })
}

/// `rget verify`.
pub fn verify(a: VerifyArgs) -> CliResult {
    let url = file_url(&a.url)?;
    let ctx = a.common.trust.context()?;
    let v = verified::verify_sums(&ctx, &url, a.common.sums.as_deref()).map_err(client)?;
    let f = std::fs::File::open(&a.file)
        .map_err(|e| local(format!("{}: {}", a.file.display(), io_reason(&e))))?;
    // --max-size holds here too: at most one byte more is read (`/dev/zero` ends, exit code 3).
    let max = a.common.max_size;
    let (digest, len) = sha256_reader(f.take(max.saturating_add(1)))
        .map_err(|e| local(format!("{}: {}", a.file.display(), io_reason(&e))))?;
    if len > max {
        return Err(Failure::malformed(format!(
            "{}: larger than the limit of {max} bytes (--max-size)",
            a.file.display()
        )));
    }
    check_listed(&v.release.sums, &v.name, &digest).map_err(mismatch)?;
    report(&a.common, &v, &url, &digest, len, Some(&a.file))
}

/// `rget cat`.
pub fn cat(a: CatArgs) -> CliResult {
    interruptible()?;
    let url = file_url(&a.url)?;
    let (name, sums_url) = verified::locate(&url, a.common.sums.as_deref()).map_err(client)?;
    let ctx = a.common.trust.context()?;
    let spool = spool();
    rget_fetch::sweep_abandoned(&spool);
    // The file streams into the spool while its SHA256SUMS, proof and signature are fetched and
    // checked; a failed check returns, which drops the transfer and removes the spool file.
    let started =
        ctx.fetch
            .start_download(url.as_str(), &spool, a.common.max_size, Box::new(|_, _| {}));
    let files = ReleaseFiles::fetch(&ctx, &sums_url);
    let v = verified::verify_release(&ctx, sums_url, files)
        .and_then(|r| r.file(name))
        .map_err(client)?;
    let dl = started
        .and_then(rget_fetch::Transfer::finish)
        .map_err(|e| client(e.into()))?;
    check_listed(&v.release.sums, &v.name, &dl.sha256).map_err(mismatch)?;
    // Only now, with every byte verified, does anything reach standard output. The reader is the
    // same open file that was hashed, so nothing can swap the bytes in between.
    let mut r = dl
        .reader()
        .map_err(|e| local(format!("{}: {}", dl.temp_path().display(), io_reason(&e))))?;
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut r, &mut out)
        .and_then(|_| out.flush())
        .map_err(super::stdout::write_failed)?;
    // Standard output carries the file, so the report, JSON or not, goes to standard error.
    if a.common.json {
        let line = json::line(&json(&a.common, &v, &url, &dl.sha256, dl.len, None))?;
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    } else {
        summary(&a.common, &v, &url, &dl.sha256, dl.len, None);
    }
    Ok(())
}

fn mismatch(e: VerifyError) -> Failure {
    Failure::verification(e)
}

/// The report of a verified file: one JSON object on standard output with --json, else the human
/// summary on standard error.
fn report(
    c: &Common,
    v: &VerifiedSums,
    url: &FileUrl,
    sha: &Hash,
    len: u64,
    path: Option<&Path>,
) -> CliResult {
    if c.json {
        json::print(&json(c, v, url, sha, len, path))?;
    } else {
        summary(c, v, url, sha, len, path);
    }
    Ok(())
}

/// The human summary, on standard error (standard output may carry the file itself).
fn summary(c: &Common, v: &VerifiedSums, url: &FileUrl, sha: &Hash, len: u64, path: Option<&Path>) {
    let cp = &v.release.checkpoint;
    let mut l: Vec<String> = Vec::new();
    l.push(format!("rget: verified {} ({len} bytes)", v.name));
    l.push(format!("  sha256     {sha}"));
    l.push(format!(
        "  listed in  {} (sha256 {})",
        v.release.sums_url, v.release.sums_sha256
    ));
    l.push(match &v.release.sigsum {
        Some(s) => format!(
            "  logged     Sigsum log {} ({}) leaf index {} in tree size {} (SHA256SUMS.proof)",
            cp.checkpoint.origin, s.log_url, v.release.index, cp.checkpoint.size,
        ),
        None => format!(
            "  logged     {} index {} under checkpoint size {} ({})",
            cp.checkpoint.origin,
            v.release.index,
            cp.checkpoint.size,
            match v.release.proof_source {
                ProofSource::ProofFile => "SHA256SUMS.tlog-proof",
                ProofSource::LogLookup => "log lookup, proved from tiles",
                ProofSource::SigsumProof => "SHA256SUMS.proof",
            }
        ),
    });
    l.push(format!(
        "  cosigned   {}",
        cosigned_by(cp, "the policy's quorum")
    ));
    l.push(format!("  seen       {}", v.release.memory));
    match &v.release.signed {
        Signed::Yes {
            key_source,
            trusted_comment,
            binding,
            ..
        } => {
            l.push(format!("  signature  {key_source}"));
            // The publisher's text: escaped with every other line below.
            l.push(format!(
                "  comment    \"{trusted_comment}\" ({})",
                match binding {
                    UrlBinding::Bound(_) => "binds this URL",
                    UrlBinding::Unbound => "names no URL: not bound to where it was published",
                }
            ));
        }
        Signed::Unsigned => {
            l.push("  signature  UNSIGNED: no publisher key applies to this URL".to_owned())
        }
        Signed::SigsumLeaf { key_source, .. } => {
            l.push(format!("  signature  the Sigsum leaf, {key_source}"));
            l.push(
                "  comment    none: a Sigsum leaf binds no URL (the name was found in this SHA256SUMS)"
                    .to_owned(),
            );
        }
    }
    // (The SHA256SUMS itself is always https: its URL is a record's.)
    if c.trust.allow_http && url.is_plain_http() {
        l.push("  transport  plain http: NOT authenticated (--allow-http)".to_owned());
    }
    if let Some(p) = path {
        l.push(format!("  file       {}", p.display()));
    }
    // Names, URLs and origins come from whoever published them: spelled out, never acted on, and
    // a newline in a name cannot start a line of its own.
    let s = rget_core::escape::lines_for_terminal(&l);
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}

/// The `--json` report of `get`, `verify` and `cat`.
#[derive(Serialize)]
struct Report<'a> {
    verified: bool,
    url: &'a str,
    name: &'a str,
    sha256: String,
    size: u64,
    path: Option<String>,
    sums_url: &'a str,
    sums_sha256: String,
    log: Logged<'a, Cosigner<'a>>,
    signature: SignatureReport<'a>,
    /// Under a Sigsum policy; `null` otherwise.
    sigsum: Option<SigsumReport<'a>>,
    plain_http: bool,
}

/// `"sigsum"`: the Sigsum log, the leaf index, the tree size and the witnesses that cosigned its
/// tree head.
#[derive(Serialize)]
struct SigsumReport<'a> {
    log_key_hash: String,
    log_url: &'a str,
    leaf_index: u64,
    tree_size: u64,
    witnesses: Vec<Cosigner<'a>>,
}

/// `"signature"`: `{"signed":false}`, or the key, the trusted comment and the URL it binds.
#[derive(Serialize)]
#[serde(untagged)]
enum SignatureReport<'a> {
    Signed {
        signed: bool,
        key_id: &'a str,
        trusted_comment: &'a str,
        bound_url: Option<&'a str>,
    },
    Unsigned {
        signed: bool,
    },
    /// The leaf of `SHA256SUMS.proof`, signed by an `ssh-ed25519` key (its key hash): it carries no
    /// comment and binds no URL.
    SigsumLeaf {
        signed: bool,
        kind: &'static str,
        key_id: String,
        trusted_comment: Option<&'a str>,
        bound_url: Option<&'a str>,
    },
}

fn json<'a>(
    c: &Common,
    v: &'a VerifiedSums,
    url: &'a FileUrl,
    sha: &Hash,
    len: u64,
    path: Option<&Path>,
) -> Report<'a> {
    let cp = &v.release.checkpoint;
    let signature = match &v.release.signed {
        Signed::Yes {
            key_id,
            trusted_comment,
            binding,
            ..
        } => SignatureReport::Signed {
            signed: true,
            key_id,
            trusted_comment,
            bound_url: match binding {
                UrlBinding::Bound(u) => Some(u),
                UrlBinding::Unbound => None,
            },
        },
        Signed::Unsigned => SignatureReport::Unsigned { signed: false },
        Signed::SigsumLeaf { key_hash, .. } => SignatureReport::SigsumLeaf {
            signed: true,
            kind: "sigsum-leaf",
            key_id: key_hash.to_hex(),
            trusted_comment: None,
            bound_url: None,
        },
    };
    let sigsum = v.release.sigsum.as_ref().map(|s| SigsumReport {
        log_key_hash: s.log_key_hash.to_hex(),
        log_url: &s.log_url,
        leaf_index: v.release.index,
        tree_size: cp.checkpoint.size,
        witnesses: json::cosigners(cp),
    });
    let log = Logged {
        proof: Some(match v.release.proof_source {
            ProofSource::ProofFile => "tlog-proof",
            ProofSource::LogLookup => "lookup",
            ProofSource::SigsumProof => "sigsum-proof",
        }),
        ..Logged::new(cp, v.release.index, json::cosigners(cp), &v.release.memory)
    };
    Report {
        verified: true,
        url: url.as_str(),
        name: &v.name,
        sha256: sha.to_hex(),
        size: len,
        path: path.map(|p| p.display().to_string()),
        sums_url: v.release.sums_url.as_str(),
        sums_sha256: v.release.sums_sha256.to_hex(),
        log,
        signature,
        sigsum,
        plain_http: c.trust.allow_http && url.is_plain_http(),
    }
}

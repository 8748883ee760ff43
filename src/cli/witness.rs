//! `rget witness init` and `rget witness serve`: create a witness and run its C2SP tlog-witness
//! HTTP server.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::cli::json;
use crate::cli::server_args::{self, ServerArgs};
use crate::cli::trust_args;
use crate::client::error::ClientError;
use crate::client::policy_lines;
use crate::serve::logfmt::{Level, event};
use crate::witness::discovery::{self, DEFAULT_INTERVAL, Discovery, ListError, Source};
use crate::witness::server::{self, DEFAULT_MAX_BODY};
use crate::witness::{self as witness, Added, InitError, LogConfig, OpenError, Witness};
use rget_core::sigsum::policy as sigsum_policy;
use rget_fetch::{Client, Config};
use serde::Serialize;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

const ABOUT: &str = "Run a witness that cosigns consistent log checkpoints";

const LONG_ABOUT: &str = "\
Run a transparency-log witness (C2SP tlog-witness): it cosigns a log's checkpoint only when it is \
consistent with the latest checkpoint it cosigned for that log, so a log cannot show different \
histories to different users who require its cosignature. 'init' creates the witness directory and \
its key; 'serve' runs the HTTP server logs send their checkpoints to. It witnesses any log that signs \
its checkpoints with an Ed25519 note key: rget logs, Go's checksum database, Sigsum, Rekor v2 and \
static CT logs, configured by a policy or discovered in the witness network's log lists.";

const AFTER_HELP: &str = "\
Examples:
  rget witness init --name witness.example.org/w1 \\
      --url https://witness.example.org/w1/ /srv/rget-witness
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 \\
      --policy logs.policy
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 \\
      --log-list testing-log-list.1";

/// Arguments of `rget witness`.
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    Init(InitArgs),
    Serve(ServeArgs),
}

const INIT_LONG_ABOUT: &str = "\
Create a witness in DIR: a fresh Ed25519 key named NAME in DIR/witness.key (an ordinary \
PRIVATE+KEY+NAME+... note signer key, mode 0600) and its cosigner verifier key (signature type 0x04, \
cosignature/v1) in DIR/witness.pub. DIR is created if missing. An existing witness is never \
overwritten. Never use the same key for two witnesses.

Standard output is the one line the operator publishes for the logs it witnesses and their users: \
the witness's line of a C2SP tlog-policy, 'witness <NAME> <vkey> <url>', <url> being --url, the \
https URL logs send add-checkpoint requests to (the TLS proxy in front of 'rget witness serve'). A \
log's --witnesses file needs the URL; a users' policy takes the line with or without it. 'rget \
policy --witness' takes that line (or a file holding it). What was created goes to standard error.";

const INIT_AFTER_HELP: &str = "\
Examples:
  rget witness init --name witness.example.org/w1 \\
      --url https://witness.example.org/w1/ /srv/rget-witness > w1.line
  rget witness init --name witness.example.org/w1 /srv/rget-witness
  rget witness init --name witness.example.org/w1 --json /srv/rget-witness

Exit codes: 0 created, 2 usage (bad name or URL, DIR already holds a witness),
7 local I/O error.";

/// Arguments of `rget witness init`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Create a witness directory with its cosigning key",
    long_about = INIT_LONG_ABOUT,
    after_help = INIT_AFTER_HELP
)]
struct InitArgs {
    /// The witness's key name (e.g. witness.example.org/w1)
    #[arg(long, value_name = "NAME")]
    name: String,

    /// The https URL logs reach the witness at, for its policy line (e.g.
    /// https://witness.example.org/w1/)
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// One JSON object on standard output (name, dir, private_key, vkey, url, policy_line)
    /// instead of the line, and nothing on standard error
    #[arg(long)]
    json: bool,

    /// The witness directory to create
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

const SERVE_LONG_ABOUT: &str = "\
Serve the witness in DIR over HTTP (prefix /) until SIGTERM or SIGINT, for the logs of the policy \
FILE and of the log lists:
  POST /add-checkpoint   C2SP tlog-witness. Body: 'old <size>', up to 63 base64 consistency-proof \
lines, an empty line, the signed checkpoint. 200 with a cosignature/v1 line once the new state is \
durable; 404 unknown log, 403 no valid log signature, 400 malformed or old size larger than the \
checkpoint's, 409 with the size held (text/x.tlog.size) when old is not that size, 422 for a bad \
proof, a different root for the size held or a bad empty-tree root (logged as evidence), 429 with \
Retry-After when a listed log has used its qpd budget.
  GET  /<hex SHA-256(origin)>/checkpoint   the latest checkpoint cosigned for that log.

--policy FILE: the 'log' lines of a tlog-policy (a log's key name is its checkpoint origin) or of a \
Sigsum policy (hex keys; origin sigsum.org/v1/tree/<hex key hash>); the other lines are not used. \
These logs have no request budget.

--log-list FILE_OR_URL (repeatable): a log list of the witness network (logs/v0: vkey, optional \
origin, qpd, contact). Every log of the lists is witnessed, within its qpd (requests a day). The \
lists are read at start and every --log-list-interval; a log not known yet is first recorded in \
DIR/discovered-logs, then witnessed. A log already configured is never changed or removed by a \
list (a changed key or qpd is logged and ignored), and discovered logs stay configured after a list \
drops them or cannot be fetched. At start a list FILE must load (its first bad line is named); a \
list URL that cannot be fetched or parsed is logged and read again later.

The first line of standard output is 'listening on http://ADDR' (useful with port 0). Structured \
logs (logfmt) go to standard error. On SIGTERM or SIGINT the server stops accepting, in-flight \
requests get their answers (within --shutdown-timeout), and the process exits 0. One process at a \
time serves a witness directory.";

const SERVE_AFTER_HELP: &str = "\
Examples:
  rget policy --log log.line --quorum none -o logs.policy
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 \\
      --policy logs.policy
  lists=https://raw.githubusercontent.com/transparency-dev/witness-network
  lists=$lists/main/lists
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 \\
      --log-list \"$lists/testing/log-list.1\" \\
      --log-list \"$lists/staging/log-list-10qps-4klogs.1\"

Exit codes: 0 clean shutdown, 2 usage (no log to witness), 3 the policy, a
list file or the witness state is malformed, 4 cannot listen on ADDR, or the
lists could not be fetched and there is nothing else to witness (5 if a list
URL answered 404), 7 local I/O error (including: another process serves this
witness).";

/// Arguments of `rget witness serve`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Serve a witness over HTTP: add-checkpoint and the latest cosigned checkpoints",
    long_about = SERVE_LONG_ABOUT,
    after_help = SERVE_AFTER_HELP,
    group(clap::ArgGroup::new("logs").required(true).multiple(true).args(["policy", "log_lists"])),
)]
struct ServeArgs {
    /// The witness directory (made by 'rget witness init')
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// A tlog-policy (or Sigsum policy) file whose 'log' lines are logs to witness
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// A witness-network log list (file or https URL) whose logs to witness; repeatable
    #[arg(long = "log-list", value_name = "FILE_OR_URL")]
    log_lists: Vec<String>,

    /// How often the log lists are read again, in seconds (the network asks for hourly to daily, at
    /// most weekly)
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_INTERVAL.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=604_800))]
    log_list_interval: u64,

    /// Largest accepted add-checkpoint body, in bytes [default: 65536]
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    max_body: Option<u64>,

    #[command(flatten)]
    server: ServerArgs,
}

/// Runs `rget witness`.
pub fn run(args: Args) -> CliResult {
    match args.command {
        Sub::Init(a) => init(a),
        Sub::Serve(a) => serve(a),
    }
}

/// The `--json` report of `rget witness init`.
#[derive(Serialize)]
struct InitReport<'a> {
    name: &'a str,
    dir: String,
    private_key: String,
    vkey: String,
    url: Option<&'a str>,
    policy_line: &'a str,
}

fn init(a: InitArgs) -> CliResult {
    // The URL first: a refused one must leave no witness behind.
    let url = match &a.url {
        None => None,
        Some(u) => Some(
            policy_lines::canonical_url(u).map_err(|e| Failure::usage(format!("--url: {e}")))?,
        ),
    };
    let vkey = witness::init(&a.dir, &a.name).map_err(|e| match e {
        InitError::Exists(_) | InitError::BadName(_) => Failure::usage(e),
        InitError::Rng(_) | InitError::Io { .. } => Failure::local_io(e),
    })?;
    let line = policy_lines::witness_line(&vkey, url.as_deref());
    let key = witness::key_path(&a.dir);
    if a.json {
        return json::print(&InitReport {
            name: &a.name,
            dir: a.dir.display().to_string(),
            private_key: key.display().to_string(),
            vkey: vkey.to_string(),
            url: url.as_deref(),
            policy_line: &line,
        });
    }
    let publish = if url.is_some() {
        "publish the line below for the logs it witnesses and their users ('rget policy --witness' \
         takes it)"
    } else {
        "no --url: a log's --witnesses file needs the witness's URL at the end of the line below \
         (a users' policy does not)"
    };
    let mut err = io::stderr().lock();
    // What was created is for the person; standard output carries only the line.
    let _ = writeln!(
        err,
        "created witness {name} in {dir}\n\
         private key: {key} (mode 0600; keep it secret, never use it for another witness)\n\
         cosigner verifier key: {pubkey}\n\
         run 'rget witness serve {dir} --listen ADDR --policy FILE' (or --log-list FILE_OR_URL)\n\
         {publish}:",
        name = a.name,
        dir = a.dir.display(),
        key = key.display(),
        pubkey = witness::vkey_path(&a.dir).display(),
    );
    super::stdout::print(&format!("{line}\n"))
}

fn open_failure(e: OpenError) -> Failure {
    match &e {
        OpenError::NotWitness(_) | OpenError::NoLogs => Failure::usage(e),
        OpenError::Io { .. } | OpenError::Secret(_) => Failure::local_io(e),
        OpenError::Key { .. } | OpenError::State(_) => Failure::malformed(e),
    }
}

fn list_failure(e: ListError) -> Failure {
    match e {
        ListError::Malformed { .. } => Failure::malformed(e),
        ListError::Io { .. } => Failure::local_io(e),
        ListError::Fetch(f) => trust_args::failure(ClientError::from(f)),
    }
}

/// The logs of the policy file: tlog-policy or Sigsum policy `log` lines.
fn policy_logs(path: &Path) -> Result<Vec<LogConfig>, Failure> {
    let text = std::fs::read(path)
        .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::malformed(format!("{}: not UTF-8", path.display())))?;
    let policy = sigsum_policy::parse_any(&text)
        .map_err(|e| Failure::malformed(format!("{}: {e}", path.display())))?;
    Ok(LogConfig::from_policy(&policy))
}

/// Opens the witness for the policy's logs, the logs it discovered before and those of the lists
/// (read once now), in that order: the first configuration of an origin is the one that stays.
fn open_witness(a: &ServeArgs) -> Result<(Arc<Witness>, Option<Arc<Discovery>>), Failure> {
    let sources = (a.log_lists.iter())
        .map(|s| Source::parse(s))
        .collect::<Result<Vec<Source>, String>>()
        .map_err(Failure::usage)?;
    let logs = match &a.policy {
        Some(p) => policy_logs(p)?,
        None => Vec::new(),
    };
    let w = Arc::new(Witness::open(&a.dir, &logs).map_err(open_failure)?);
    if a.log_lists.is_empty() {
        if w.log_count() == 0 {
            return Err(open_failure(OpenError::NoLogs));
        }
        return Ok((w, None));
    }
    let discovered = discovery::load_discovered(&a.dir).map_err(list_failure)?;
    for e in &discovered.logs {
        if let Added::Kept(kept) = w
            .add_log(LogConfig::from_entry(e))
            .map_err(|e| open_failure(OpenError::State(e)))?
        {
            event(
                Level::Warn,
                "a discovered log is also in the policy; the policy's configuration is used",
                &[("origin", &e.origin), ("policy_vkey", &kept.vkey)],
            );
        }
    }
    // Lists are public data, but only https is used to fetch them: a list over plain http could
    // be rewritten on the way to add logs nobody listed.
    let mut config = Config {
        read_timeout: Duration::from_secs(30),
        ..Config::from_env()
    };
    config.ca_files.extend(a.server.cacert.iter().cloned());
    let client = Client::new(config).map_err(|e| trust_args::failure(ClientError::from(e)))?;
    let d = Arc::new(Discovery::new(sources, client, discovered));
    let report = d.refresh(&w);
    let mut failed = report.failed;
    // A list file the operator named must be right at start, and so must this witness's own disk;
    // a URL is someone else's server, read again later.
    let local = |(s, e): &(Source, ListError)| {
        matches!(s, Source::File(_)) || matches!(e, ListError::Io { .. })
    };
    if let Some(i) = failed.iter().position(local) {
        return Err(list_failure(failed.swap_remove(i).1));
    }
    if w.log_count() == 0 {
        return Err(match failed.into_iter().next() {
            Some((_, e)) => list_failure(e),
            None => open_failure(OpenError::NoLogs),
        });
    }
    warn_unread(&failed);
    Ok((w, Some(d)))
}

/// One warning per list that could not be read.
fn warn_unread(failed: &[(Source, ListError)]) {
    for (source, e) in failed {
        event(
            Level::Warn,
            "log list not read; the logs configured before stay",
            &[("list", source), ("error", e)],
        );
    }
}

/// Reads the lists again every `interval` until `stop` is dropped.
fn rediscover(
    w: Arc<Witness>,
    d: Arc<Discovery>,
    interval: Duration,
    stop: mpsc::Receiver<()>,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rget-log-lists".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
                let r = d.refresh(&w);
                warn_unread(&r.failed);
                event(
                    Level::Info,
                    "log lists read",
                    &[
                        ("lists", &d.sources().len()),
                        ("failed", &r.failed.len()),
                        ("added", &r.added.len()),
                        ("logs", &w.log_count()),
                    ],
                );
            }
        })
}

fn serve(a: ServeArgs) -> CliResult {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let limits = a
        .server
        .limits(a.max_body.map_or(DEFAULT_MAX_BODY, as_usize));
    // Open (lock, load every log's state, read the lists) before listening, so a locked or damaged
    // witness fails before any log can connect.
    let (w, discovery) = open_witness(&a)?;
    let (listener, addr) = a.server.bind()?;
    let rt = server_args::runtime()?;
    let (stop_lists, stopped) = mpsc::channel::<()>();
    if let Some(d) = discovery {
        let interval = Duration::from_secs(a.log_list_interval);
        rediscover(w.clone(), d, interval, stopped).map_err(|e| {
            Failure::local_io(format!("cannot start reading log lists: {}", io_reason(&e)))
        })?;
    }
    rt.block_on(async {
        let (listener, signals) = server_args::announce(listener, addr)?;
        event(
            Level::Info,
            "serving",
            &[
                ("addr", &addr),
                ("witness", &w.cosigner()),
                ("dir", &a.dir.display()),
                ("logs", &w.log_count()),
                ("log_lists", &a.log_lists.len()),
                ("max_connections", &limits.max_connections),
                ("max_body", &limits.max_body),
            ],
        );
        server::serve(listener, w.clone(), limits, signals).await;
        Ok::<(), Failure>(())
    })?;
    // The list reader stops at its next wake-up; a reading in flight is not waited for (a list
    // written to DIR/discovered-logs is renamed into place whole, or not at all).
    drop(stop_lists);
    // Dropping the runtime waits for state updates still running on blocking threads.
    drop(rt);
    event(Level::Info, "stopped", &[]);
    Ok(())
}

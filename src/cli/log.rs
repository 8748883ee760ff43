//! `rget log init` and `rget log serve`: create a transparency log and run its HTTP server.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::cli::json;
use crate::cli::server_args::{self, ServerArgs};
use crate::cli::trust_args;
use crate::client::error::ClientError;
use crate::client::policy_lines;
use crate::log::dir::{self, InitError, LogDir};
use crate::log::participation::{self, List, Request};
use crate::log::sequencer::{Config, Log, OpenError};
use crate::log::server::{
    self, Admission, DEFAULT_ADD_BURST, DEFAULT_ADD_RATE, DEFAULT_ANSWER_TIMEOUT, DEFAULT_MAX_BODY,
};
use crate::log::sigsum_api::{SigsumApi, TokenKeys};
use crate::log::witnessing::{Witnesses, WitnessesError};
use crate::secret::{self, Secret};
use crate::serve::logfmt::{Level, event};
use crate::serve::rate::{Rate, RateLimit};
use hyper::header::HeaderName;
use rget_core::note::{SignerKey, VerifierKey};
use serde::Serialize;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Run a transparency log: create one, serve it over HTTP";

const LONG_ABOUT: &str = "\
Run a transparency log of SHA256SUMS files: a C2SP tlog-tiles log whose entries are rget/record/v1 \
records, or (init --sigsum) a Sigsum log whose entries are Sigsum leaves and which also speaks the \
Sigsum v1 API. 'init' creates the log directory and its signing key; 'serve' runs the HTTP server \
that accepts submissions and serves the log; 'participation' prints the request that asks the \
witness network to witness it. DIR/public alone is a complete static log that any web server or \
CDN can serve.";

const AFTER_HELP: &str = "\
Examples:
  rget log init --origin log.example.org/rget \\
    --url https://log.example.org/rget/ /srv/rget-log
  rget log serve /srv/rget-log --listen 127.0.0.1:8080
  rget log init --sigsum /srv/sigsum-log
  rget log participation /srv/rget-log --qpd 1440 --contact ops@example.org";

/// Arguments of `rget log`.
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
    Participation(ParticipationArgs),
}

const PARTICIPATION_LONG_ABOUT: &str = "\
Print the participation request to send the witness network (witness-network.org) so that its \
witnesses cosign the log in DIR: the log's origin, its verifier key (from DIR/log.pub), the rate it \
promises (--qpd add-checkpoint requests a day to each witness), the log list it asks for, and how to \
reach its operator; then the log-list entry for it, as the network's lists write it.

The rate is a promise the witnesses enforce (429 past it): give each network witness in the \
--witnesses file of 'rget log serve' the line 'qpd <witness name> <the same number>', and the log \
keeps to it, putting several batches into one checkpoint when a witness's budget is spent.";

const PARTICIPATION_AFTER_HELP: &str = "\
Examples:
  rget log participation /srv/rget-log --qpd 1440 --contact ops@example.org
  rget log participation /srv/rget-log --qpd 86400 \\
      --contact https://example.org/log --list staging --json

Exit codes: 0 printed, 2 usage (a contact a log list cannot carry),
3 DIR/log.pub is not a verifier key, 7 DIR/log.pub cannot be read.";

/// Arguments of `rget log participation`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Print the witness network participation request and log-list entry for a log",
    long_about = PARTICIPATION_LONG_ABOUT,
    after_help = PARTICIPATION_AFTER_HELP
)]
struct ParticipationArgs {
    /// The log directory (made by 'rget log init')
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// add-checkpoint requests a day the log may send each witness (1 to 2147483647)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    qpd: u32,

    /// How the network's maintainers and witnesses reach the log's operator (e-mail, URL)
    #[arg(long, value_name = "CONTACT")]
    contact: String,

    /// The log list to ask for
    #[arg(long, value_enum, default_value_t = List::Testing)]
    list: List,

    /// One JSON object instead of the text
    #[arg(long)]
    json: bool,
}

const INIT_LONG_ABOUT: &str = "\
Create a log in DIR: a fresh Ed25519 signing key named ORIGIN (or the key in --key FILE, whose name \
must equal ORIGIN), written to DIR/log.key with mode 0600; its verifier key in DIR/log.pub; an empty \
tree; and the signed checkpoint of the empty tree in DIR/public/checkpoint. DIR is created if \
missing. An existing log is never overwritten.

Standard output is the one line the operator publishes for the log's users and witnesses: the \
log's line of a C2SP tlog-policy, 'log <vkey> <url>', <url> being --url, the https URL the log is \
reached at (the TLS proxy in front of 'rget log serve'). 'rget policy --log' takes that line (or a \
file holding it) to assemble a policy. What was created, and where, goes to standard error. Without \
--url the line has no URL and clients cannot use it as it is: add the URL before publishing it.

With --sigsum the log is a Sigsum log: its origin is sigsum.org/v1/tree/<hex SHA-256 of its public \
key> (so its checkpoint signature is Sigsum's tree-head signature), it records Sigsum leaves, and \
'serve' answers the Sigsum v1 API (add-leaf, get-tree-head, get-inclusion-proof, \
get-consistency-proof, get-leaves) besides the tile read API. Standard output then starts with a \
comment line giving the log's line for a Sigsum policy, '# in a Sigsum policy: log <hex public key> \
<url>'; the last line is still the tlog-policy line, which its witnesses need.";

const INIT_AFTER_HELP: &str = "\
Examples:
  rget log init --origin log.example.org/rget \\
      --url https://log.example.org/rget/ /srv/rget-log > log.line
  rget log init --origin log.example.org/rget /srv/rget-log
  rget log init --origin log.example.org/rget --key log.key --json /srv/rget-log
  rget log init --sigsum /srv/sigsum-log

Exit codes: 0 created, 2 usage (bad origin or URL, key name differs from
origin, DIR already holds a log), 3 the --key file is not a signer key, 7 local
I/O error.";

/// Arguments of `rget log init`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Create a log directory with its signing key and empty checkpoint",
    long_about = INIT_LONG_ABOUT,
    after_help = INIT_AFTER_HELP
)]
struct InitArgs {
    /// The log's origin: its checkpoint origin line and key name (e.g. log.example.org/rget)
    #[arg(long, value_name = "ORIGIN", required_unless_present = "sigsum")]
    origin: Option<String>,

    /// A Sigsum log: origin sigsum.org/v1/tree/<key hash>, Sigsum leaves, the Sigsum v1 API
    #[arg(long, conflicts_with_all = ["origin", "key"])]
    sigsum: bool,

    /// Use this existing signer key (PRIVATE+KEY+<origin>+...) instead of generating one
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,

    /// The https URL the log's users reach it at, for its policy line (e.g.
    /// https://log.example.org/rget/)
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// One JSON object on standard output (origin, dir, private_key, vkey, url, policy_line)
    /// instead of the line, and nothing on standard error
    #[arg(long)]
    json: bool,

    /// The log directory to create
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

const SERVE_LONG_ABOUT: &str = "\
Serve the log in DIR over HTTP (URL prefix /) until SIGTERM or SIGINT:
  GET  /checkpoint, /tile/...   the read API (C2SP tlog-tiles), from DIR/public; tiles only once the \
published checkpoint covers them
  POST /add?url=<percent-encoded https URL>   body: the SHA256SUMS bytes; answers with a \
c2sp.org/tlog-proof@v1 once a checkpoint covering the record is durable and published (the same \
record again gets its existing index)
  GET  /lookup?url=<URL>   '<index> <sha256>' per record of that URL, oldest first
  GET  /metrics            Prometheus counters, with each witness's latest cosigned size \
(rget_log_witness_cosigned_size{witness=\"NAME\"})
A Sigsum log (init --sigsum) answers the Sigsum v1 API instead of /add and /lookup:
  POST /add-leaf           a signed leaf; 202 until it is under the published (cosigned) tree head, \
then 200 (with --sigsum-tokens, a valid Sigsum-Token header is required)
  GET  /get-tree-head, /get-inclusion-proof/<size>/<leaf hash>, /get-consistency-proof/<old>/<new>, \
/get-leaves/<start>/<end>

With --witnesses FILE every checkpoint is sent to the witnesses (C2SP tlog-witness) and published \
once their cosignatures meet the file's quorum. A witness with a 'qpd NAME N' line is sent at most N \
add-checkpoint requests a day (2 at once): a checkpoint goes to the witnesses with budget left and \
is published when they meet the quorum; when they cannot, the log keeps sequencing and publishes one \
checkpoint for everything once enough budget is back. A witness skipped for its budget gets the \
published checkpoint when the log is idle and its budget allows, and its cosignature is added to the \
checkpoint served and to the proofs answered from then on.

The first line of standard output is 'listening on http://ADDR' (useful with port 0). Structured \
logs (logfmt) go to standard error. On SIGTERM or SIGINT the server stops accepting, the sequencer \
finishes the batch in flight and what is queued, in-flight requests get their answers (within \
--shutdown-timeout), and the process exits 0.";

const SERVE_AFTER_HELP: &str = "\
Examples:
  rget log serve /srv/rget-log --listen 127.0.0.1:8080
  rget log serve /srv/rget-log --listen [::]:8080 \\
      --batch-size 1024 --batch-delay 200
  rget log serve /srv/rget-log --listen 127.0.0.1:8080 \\
      --witnesses /srv/rget-log/witnesses --cacert private-ca.pem
  curl --data-binary @SHA256SUMS \\
    'http://127.0.0.1:8080/add?url=https%3A%2F%2Fexample.org%2Fv1%2FSHA256SUMS'

A submission the log cannot publish within --answer-timeout (its witness quorum
not reached) is answered 503 with the cause in one line; the log keeps the
record and publishes it with its next checkpoint.

Exit codes: 0 clean shutdown, 2 usage, 3 the log directory is damaged or its
key unreadable, 4 cannot listen on ADDR, 7 local I/O error (including: another
process serves this log; a --cacert file that cannot be read).";

/// Arguments of `rget log serve`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Serve a log over HTTP: read API, submissions, lookups, metrics",
    long_about = SERVE_LONG_ABOUT,
    after_help = SERVE_AFTER_HELP
)]
struct ServeArgs {
    /// The log directory (made by 'rget log init')
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// A tlog-policy naming the witnesses (each 'witness' line with its URL, an https-bastion URL
    /// works too) and the quorum every checkpoint needs before it is published, plus 'qpd <witness
    /// name> <requests a day>' lines for witnesses that grant the log a budget. Submissions are
    /// answered only after that; while the quorum cannot be met, the last cosigned checkpoint stays
    /// published and new batches wait for the next one
    #[arg(long, value_name = "FILE")]
    witnesses: Option<PathBuf>,

    /// Most records per batch [default: 256]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch_size: Option<u64>,

    /// Longest a record waits for its batch to fill, in milliseconds [default: 500]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=600_000))]
    batch_delay: Option<u64>,

    /// Submissions that may wait for the sequencer; beyond that, 503 with Retry-After [default: 16384]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    queue_size: Option<u64>,

    /// Longest a submission waits for a published checkpoint covering it (the witnesses' quorum,
    /// their budgets), in milliseconds; then it is answered 503 with the reason in one line, and the
    /// record, kept by the log, is published with the next checkpoint [default: 20000]
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    answer_timeout: Option<u64>,
    /// A Sigsum log's submit-token keys: '<domain> <hex Ed25519 public key>' lines, what the DNS
    /// records _sigsum_v1.<domain> hold for a public log. add-leaf then requires a Sigsum-Token
    /// header signed by a key of its domain (403 otherwise)
    #[arg(long, value_name = "FILE")]
    sigsum_tokens: Option<PathBuf>,

    /// Largest accepted submission body, in bytes [default: 65535, the largest record]
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..=16_777_216))]
    max_body: Option<u64>,

    /// Submissions a minute one client may make, after its burst: beyond, 429 with Retry-After.
    /// A client is an IPv4 address or an IPv6 /64. 0 turns the limit off
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ADD_RATE,
          value_parser = clap::value_parser!(u32).range(0..=6_000_000))]
    add_rate: u32,

    /// Submissions one client may make at once, before --add-rate applies
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ADD_BURST,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    add_burst: u32,

    /// Behind a reverse proxy, the request header in which it names the client (X-Real-IP, or
    /// X-Forwarded-For, whose last address counts); without it every client would share the
    /// proxy's allowance. Only the proxy must be able to reach the log then (listen on loopback)
    #[arg(long, value_name = "HEADER")]
    client_address_header: Option<String>,

    #[command(flatten)]
    server: ServerArgs,
}

/// Runs `rget log`.
pub fn run(args: Args) -> CliResult {
    match args.command {
        Sub::Init(a) => init(a),
        Sub::Serve(a) => serve(a),
        Sub::Participation(a) => participation(a),
    }
}

/// The `--json` report of `rget log participation`: the request and where it goes.
#[derive(Serialize)]
struct ParticipationReport<'a> {
    origin: &'a str,
    vkey: String,
    qpd: u32,
    contact: &'a str,
    list: &'a str,
    to: &'a str,
    log_list_entry: String,
    request: &'a str,
}

fn participation(a: ParticipationArgs) -> CliResult {
    let path = LogDir::new(&a.dir).verifier_key();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
    let vkey = VerifierKey::parse(text.trim_end())
        .map_err(|e| Failure::malformed(format!("{}: not a verifier key: {e}", path.display())))?;
    let request = Request {
        vkey,
        qpd: a.qpd,
        contact: a.contact,
        list: a.list,
    };
    let body = request
        .text()
        .map_err(|e| Failure::usage(format!("--contact {:?}: {e}", request.contact)))?;
    let out = if a.json {
        let entry = request
            .entry()
            .map_err(|e| Failure::usage(format!("--contact: {e}")))?;
        json::line(&ParticipationReport {
            origin: &request.vkey.name,
            vkey: request.vkey.to_string(),
            qpd: request.qpd,
            contact: &request.contact,
            list: request.list.name(),
            to: participation::ADDRESS,
            log_list_entry: entry.to_lines(),
            request: &body,
        })?
    } else {
        body
    };
    super::stdout::print(&out)
}

/// The `--json` report of `rget log init`.
#[derive(Serialize)]
struct InitReport<'a> {
    origin: &'a str,
    dir: String,
    private_key: String,
    vkey: String,
    url: Option<&'a str>,
    policy_line: &'a str,
    /// For a Sigsum log: its line in a Sigsum policy (`log <hex public key> <url>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    sigsum_policy_line: Option<&'a str>,
}

fn init(a: InitArgs) -> CliResult {
    // The URL first: a refused one must leave no log behind.
    let url = match &a.url {
        None => None,
        Some(u) => Some(
            policy_lines::canonical_url(u).map_err(|e| Failure::usage(format!("--url: {e}")))?,
        ),
    };
    let key = match &a.key {
        None => None,
        Some(path) => {
            let text = secret::read_text(path, Secret::Key, secret::MAX_NOTE_KEY_FILE)
                .map_err(Failure::local_io)?;
            let key = SignerKey::parse(text.trim_end())
                .map_err(|e| Failure::malformed(format!("{path:?} is not a signer key: {e}")))?;
            Some(key)
        }
    };
    let root = a.dir.clone();
    let d = LogDir::new(&root);
    let key = match (a.sigsum, key) {
        (true, _) => Some(dir::sigsum_key().map_err(Failure::local_io)?),
        (false, k) => k,
    };
    let origin = match (&a.origin, &key) {
        (Some(o), _) => o.clone(),
        (None, Some(k)) => k.name().to_owned(),
        (None, None) => return Err(Failure::usage("give --origin ORIGIN or --sigsum")),
    };
    dir::init(&d, &origin, key).map_err(|e| match e {
        InitError::Exists(_) | InitError::BadOrigin(_) | InitError::KeyNameMismatch { .. } => {
            Failure::usage(e)
        }
        InitError::Rng(_) | InitError::Io { .. } => Failure::local_io(e),
    })?;
    // Opening the log signs and publishes the empty tree's checkpoint.
    let log = Log::open(&root).map_err(open_failure)?;
    let vkey = log.verifier_key();
    drop(log);
    let line = policy_lines::log_line(&vkey, url.as_deref());
    // A Sigsum policy names a log by its raw public key in hex, not by its note verifier key.
    let sigsum_line = dir::is_sigsum_key(&vkey).then(|| {
        format!(
            "log {} {}",
            hex::encode(vkey.public_key),
            url.as_deref().unwrap_or("<URL>")
        )
    });
    if a.json {
        return json::print(&InitReport {
            origin: &origin,
            dir: a.dir.display().to_string(),
            private_key: d.key().display().to_string(),
            vkey: vkey.to_string(),
            url: url.as_deref(),
            policy_line: &line,
            sigsum_policy_line: sigsum_line.as_deref(),
        });
    }
    let publish = if url.is_some() {
        "publish the line below for the log's users and witnesses ('rget policy --log' takes it)"
    } else {
        "no --url: the line below has no URL, and clients fetch the log from it; append the log's \
         https URL to it ('log <vkey> https://log.example.org/rget/') before publishing it"
    };
    let mut err = io::stderr().lock();
    // What was created is for the person; standard output carries only the policy lines.
    let _ = writeln!(
        err,
        "created log {origin} in {dir}\n\
         private key: {key} (mode 0600; keep it secret, never serve it)\n\
         verifier key: {pubkey}\n\
         serve {public} (or run 'rget log serve {dir} --listen ADDR')\n\
         {publish}:",
        dir = a.dir.display(),
        key = d.key().display(),
        pubkey = d.verifier_key().display(),
        public = d.public().display(),
    );
    let comment = sigsum_line
        .map(|sigsum| format!("# in a Sigsum policy: {sigsum}\n"))
        .unwrap_or_default();
    super::stdout::print(&format!("{comment}{line}\n"))
}

fn open_failure(e: OpenError) -> Failure {
    match &e {
        OpenError::Io { .. } | OpenError::Secret(_) => Failure::local_io(e),
        OpenError::Key { .. } | OpenError::State(_) | OpenError::Corrupt(_) => {
            Failure::malformed(e)
        }
    }
}

fn serve(a: ServeArgs) -> CliResult {
    let defaults = Config::default();
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let config = Config {
        batch_size: a.batch_size.map_or(defaults.batch_size, as_usize),
        batch_delay: a
            .batch_delay
            .map_or(defaults.batch_delay, Duration::from_millis),
        queue_size: a.queue_size.map_or(defaults.queue_size, as_usize),
    };
    let limits = a
        .server
        .limits(a.max_body.map_or(DEFAULT_MAX_BODY, as_usize));
    // Open (and repair) the log before listening, so a damaged or locked log fails before any
    // client can connect.
    let witnesses = match &a.witnesses {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
            Some(
                Witnesses::parse_trusting(&text, &a.server.cacert).map_err(|e| match e {
                    // A --cacert file that cannot be read or holds no certificate.
                    WitnessesError::Client(e) => trust_args::failure(ClientError::from(e)),
                    e => Failure::malformed(format!("{}: {e}", path.display())),
                })?,
            )
        }
    };
    let witness_keys = witnesses
        .as_ref()
        .map(Witnesses::verifier_keys)
        .unwrap_or_default();
    let client_header = match &a.client_address_header {
        None => None,
        Some(h) => Some(HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
            Failure::usage(format!(
                "--client-address-header {h:?} is not a header name"
            ))
        })?),
    };
    let admission = Admission {
        rate: RateLimit::new(Rate {
            per_minute: a.add_rate,
            burst: a.add_burst,
        }),
        client_header,
    };
    let log = Log::open_with(&a.dir, witnesses).map_err(open_failure)?;
    let size = log.state().size;
    let vkey = log.verifier_key();
    let origin = vkey.name.clone();
    let sigsum = if dir::is_sigsum_key(&vkey) {
        let tokens = match &a.sigsum_tokens {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Failure::local_io(format!("{}: {}", path.display(), io_reason(&e)))
                })?;
                Some(
                    TokenKeys::parse(&text)
                        .map_err(|e| Failure::malformed(format!("{}: {e}", path.display())))?,
                )
            }
        };
        Some(SigsumApi::new(vkey, witness_keys, tokens))
    } else if a.sigsum_tokens.is_some() {
        return Err(Failure::usage(
            "--sigsum-tokens is for a Sigsum log (rget log init --sigsum)",
        ));
    } else {
        None
    };
    let (listener, addr) = a.server.bind()?;
    let rt = server_args::runtime()?;
    let (handle, sequencer) = log
        .start(config.clone())
        .map_err(|e| Failure::local_io(format!("cannot start the sequencer: {}", io_reason(&e))))?;
    let served = rt.block_on(async {
        let (listener, signals) = server_args::announce(listener, addr)?;
        event(
            Level::Info,
            "serving",
            &[
                ("addr", &addr),
                ("origin", &origin),
                ("dir", &a.dir.display()),
                ("tree_size", &size),
                ("batch_size", &config.batch_size),
                ("batch_delay_ms", &config.batch_delay.as_millis()),
                ("queue_size", &config.queue_size),
                ("max_connections", &limits.max_connections),
                ("max_body", &limits.max_body),
                ("add_rate_per_minute", &a.add_rate),
                ("add_burst", &a.add_burst),
            ],
        );
        server::serve(
            listener,
            handle.clone(),
            LogDir::new(&a.dir),
            server::Options {
                limits,
                answer_timeout: a
                    .answer_timeout
                    .map_or(DEFAULT_ANSWER_TIMEOUT, Duration::from_millis),
                sigsum,
                admission,
            },
            signals,
        )
        .await;
        Ok::<(), Failure>(())
    });
    if let Err(f) = served {
        // The sequencer thread must not outlive us holding queued work: stop it and wait.
        handle.shutdown();
        let _ = sequencer.join();
        return Err(f);
    }
    // The sequencer has been told to stop; it ends after the batch in flight and the queue.
    if sequencer.join().is_err() {
        return Err(Failure::local_io(
            "the sequencer thread panicked; restart the log to repair its state",
        ));
    }
    let size = handle
        .metrics()
        .tree_size
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(rt);
    event(Level::Info, "stopped", &[("tree_size", &size)]);
    Ok(())
}

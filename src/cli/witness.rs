//! `rget witness init` and `rget witness serve`: create a witness and run its C2SP tlog-witness
//! HTTP server.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::cli::server_args::{self, ServerArgs};
use crate::serve::logfmt::{Level, event};
use crate::witness::server::{self, DEFAULT_MAX_BODY};
use crate::witness::{self as witness, InitError, OpenError, Witness};
use rget_core::policy::Policy;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

const LONG_ABOUT: &str = "\
Run a transparency-log witness (C2SP tlog-witness): it cosigns a log's checkpoint only when it is \
consistent with the latest checkpoint it cosigned for that log, so a log cannot show different \
histories to different users who require its cosignature. 'init' creates the witness directory and \
its key; 'serve' runs the HTTP server logs send their checkpoints to.";

const AFTER_HELP: &str = "\
Examples:
  rget witness init --name witness.example.org/w1 /srv/rget-witness
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 --policy logs.policy";

/// Arguments of `rget witness`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Run a witness that cosigns consistent log checkpoints",
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP
)]
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
overwritten.

The last line of the output is the cosigner verifier key, for the 'witness' lines of the trust \
policies of the logs' users. Never use the same key for two witnesses.";

const INIT_AFTER_HELP: &str = "\
Examples:
  rget witness init --name witness.example.org/w1 /srv/rget-witness
  vkey=$(rget witness init --name witness.example.org/w1 /srv/rget-witness | tail -n1)

Exit codes: 0 created, 2 usage (bad name, DIR already holds a witness), 7 local I/O error.";

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

    /// The witness directory to create
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

const SERVE_LONG_ABOUT: &str = "\
Serve the witness in DIR over HTTP (prefix /) until SIGTERM or SIGINT, for the logs named by the \
'log' lines of the tlog-policy FILE (a log's key name is its checkpoint origin; the other lines \
of FILE are not used):
  POST /add-checkpoint   C2SP tlog-witness. Body: 'old <size>', up to 63 base64 consistency-proof \
lines, an empty line, the signed checkpoint. 200 with a cosignature/v1 line once the new state is \
durable; 404 unknown log, 403 no valid log signature, 400 malformed or old size larger than the \
checkpoint's, 409 with the size held (text/x.tlog.size) when old is not that size, 422 for a bad \
proof, a different root for the size held or a bad empty-tree root (logged as evidence).
  GET  /<hex SHA-256(origin)>/checkpoint   the latest checkpoint cosigned for that log.

The first line of standard output is 'listening on http://ADDR' (useful with port 0). Structured \
logs (logfmt) go to standard error. On SIGTERM or SIGINT the server stops accepting, in-flight \
requests get their answers (within --shutdown-timeout), and the process exits 0. One process at a \
time serves a witness directory.";

const SERVE_AFTER_HELP: &str = "\
Examples:
  rget witness serve /srv/rget-witness --listen 127.0.0.1:7380 --policy logs.policy
  printf 'log %s\\nquorum none\\n' \"$(cat /srv/rget-log/log.pub)\" > logs.policy

Exit codes: 0 clean shutdown, 2 usage (the policy has no log), 3 the policy or the witness state is
malformed, 4 cannot listen on ADDR, 7 local I/O error (including: another process serves this witness).";

/// Arguments of `rget witness serve`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Serve a witness over HTTP: add-checkpoint and the latest cosigned checkpoints",
    long_about = SERVE_LONG_ABOUT,
    after_help = SERVE_AFTER_HELP
)]
struct ServeArgs {
    /// The witness directory (made by 'rget witness init')
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// Address to listen on, e.g. 127.0.0.1:7380 (port 0 picks a free port)
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,

    /// A tlog-policy file whose 'log' lines are the logs to witness
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,

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

fn init(a: InitArgs) -> CliResult {
    let vkey = witness::init(&a.dir, &a.name).map_err(|e| match e {
        InitError::Exists(_) | InitError::BadName(_) => Failure::usage(e),
        InitError::Rng(_) | InitError::Io { .. } => Failure::local_io(e),
    })?;
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "created witness {name} in {dir}\n\
         private key: {key} (mode 0600; keep it secret, never use it for another witness)\n\
         run 'rget witness serve {dir} --listen ADDR --policy FILE'\n\
         cosigner verifier key:\n{vkey}",
        name = a.name,
        dir = a.dir.display(),
        key = witness::key_path(&a.dir).display(),
    )
    .and_then(|()| out.flush())
    .map_err(|e| Failure::local_io(format!("writing to stdout: {}", io_reason(&e))))
}

fn open_failure(e: OpenError) -> Failure {
    match &e {
        OpenError::NotWitness(_) | OpenError::NoLogs => Failure::usage(e),
        OpenError::Io { .. } | OpenError::Secret(_) => Failure::local_io(e),
        OpenError::Key { .. } | OpenError::State(_) => Failure::malformed(e),
    }
}

fn serve(a: ServeArgs) -> CliResult {
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let limits = a
        .server
        .limits(a.max_body.map_or(DEFAULT_MAX_BODY, as_usize));
    let text = std::fs::read(&a.policy)
        .map_err(|e| Failure::local_io(format!("{}: {}", a.policy.display(), io_reason(&e))))?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::malformed(format!("{}: not UTF-8", a.policy.display())))?;
    let policy = Policy::parse(&text)
        .map_err(|e| Failure::malformed(format!("{}: {e}", a.policy.display())))?;
    // Open (lock, load every log's state) before listening, so a locked or damaged witness fails
    // before any log can connect.
    let w = Arc::new(Witness::open(&a.dir, &policy).map_err(open_failure)?);
    let (listener, addr) = server_args::bind(a.listen)?;
    let rt = server_args::runtime()?;
    rt.block_on(async {
        let (listener, signals) = server_args::announce(listener, addr)?;
        let logs: Vec<String> = w.sizes().iter().map(|(o, n)| format!("{o}@{n}")).collect();
        event(
            Level::Info,
            "serving",
            &[
                ("addr", &addr),
                ("witness", &w.cosigner()),
                ("dir", &a.dir.display()),
                ("logs", &logs.join(",")),
                ("max_connections", &limits.max_connections),
                ("max_body", &limits.max_body),
            ],
        );
        server::serve(listener, w.clone(), limits, signals).await;
        Ok::<(), Failure>(())
    })?;
    // Dropping the runtime waits for state updates still running on blocking threads.
    drop(rt);
    event(Level::Info, "stopped", &[]);
    Ok(())
}

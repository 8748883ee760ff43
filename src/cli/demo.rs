//! `rget demo`: the whole mission on this machine in under a minute (after the build), with real
//! processes, and an account of what each step proved. The work is in `crate::demo`.

use super::exit::{CliResult, Failure};
use crate::demo::{self, Account, Options};
use std::path::PathBuf;

/// `rget demo`.
#[derive(clap::Args, Debug)]
#[command(
    about = "See the whole mission work on this machine: publish, log, witness, bootstrap, attacks",
    long_about = "In a temporary directory: make a release key, start a transparency log and two witnesses \
(real rget processes on loopback, a 2-of-2 witness policy) and an HTTPS release server with its own CA; \
publish this rget binary as a release with `rget release`; build an rget-bootstrap pinned to that release \
(cargo build with RGET_PINNED_DIR, from the rget source tree); run it to install and execute the verified \
rget, which verifies itself; then show three attacks refused with their real error messages: a binary \
swapped on the server, an unlogged SHA256SUMS signed with a stolen release key, and a forked checkpoint \
signed with the log's own key. Last, the Sigsum path: a Sigsum log (rget log init --sigsum) cosigned by \
the same witnesses, a release published into it with `rget release --sigsum-...` and fetched with \
`rget get` against its SHA256SUMS.proof. Every process is stopped and every file removed at the end, \
also on Ctrl-C. Nothing leaves this machine.",
    after_help = "Examples:
  cargo run --release -- demo          from a clone of rget
  rget demo --json | jq .attacks       the account, for machines"
)]
pub struct Args {
    /// The rget source tree, to build the pinned bootstrap from. Default: the tree this rget was
    /// built from
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// Cargo's target directory for that build. Default: target/demo in the source tree (kept, so
    /// later runs build in seconds)
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// Keep the temporary directory (keys, log, release, bootstrap) for inspection
    #[arg(long)]
    pub keep: bool,
    /// Print the account as one JSON object on standard output (the steps still go to stderr)
    #[arg(long)]
    pub json: bool,
}

/// Runs `rget demo` and prints its steps and account (with `--json`: the account as JSON on
/// standard output, the steps on standard error).
pub fn run(a: Args) -> CliResult {
    let source = a
        .source
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let opts = Options {
        exe: std::env::current_exe()
            .map_err(|e| Failure::local_io(format!("cannot find the running rget: {e}")))?,
        target_dir: a
            .target_dir
            .unwrap_or_else(|| source.join("target").join("demo")),
        source,
        keep: a.keep,
        tmp: std::env::temp_dir(),
    };
    let json = a.json;
    let mut say = |line: &str| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    let account = demo::run(&opts, &mut say)
        .map_err(|e| Failure::new(super::exit::ExitCode::LocalIo, format!("demo: {e}")))?;
    if json {
        super::json::print(&account)?;
    } else {
        println!("{}", story(&account, a.keep));
    }
    let all_refused = account.attacks.len() == 3
        && account
            .attacks
            .iter()
            .all(|x| x.refused && x.destination_untouched);
    let sigsum_held = account
        .sigsum
        .as_ref()
        .is_some_and(|s| s.verified && s.witnesses.len() == 2);
    if !(account.installed
        && account.executed_sha256 == account.released_sha256
        && all_refused
        && sigsum_held)
    {
        return Err(Failure::verification(
            "demo: the account above does not show every step holding",
        ));
    }
    Ok(())
}

/// The closing account: what each step proved.
fn story(a: &Account, keep: bool) -> String {
    let mut s = String::from("\nWhat this proved:\n");
    s.push_str(&format!(
        "- The bootstrap ({}) installed rget {} only after four checks: the pinned digest, the same digest in \
SHA256SUMS, the release key's signature, and the SHA256SUMS record in the log under a checkpoint cosigned \
by both witnesses.\n",
        short(&a.bootstrap_sha256),
        a.version
    ));
    s.push_str(&format!(
        "- It executed exactly those bytes from a sealed memfd: the running rget hashed itself to {}, {} the \
released {}{}.\n",
        short(&a.executed_sha256),
        if a.executed_sha256 == a.released_sha256 { "equal to" } else { "NOT equal to" },
        short(&a.released_sha256),
        a.log_index.map_or(String::new(), |i| format!(", and found its record at log index {i}"))
    ));
    for x in &a.attacks {
        s.push_str(&format!(
            "- {}: {} by {}; the installed rget was {}.\n",
            x.name,
            if x.refused { "refused" } else { "NOT refused" },
            x.stopped_by,
            if x.destination_untouched {
                "untouched"
            } else {
                "CHANGED"
            }
        ));
    }
    if let Some(x) = &a.sigsum {
        s.push_str(&format!(
            "- Sigsum: a release logged with rget release --sigsum-… in a Sigsum log (leaf {} of a tree of {}, \
cosigned by {}) was {} by rget get: its SHA256SUMS.proof carries the publisher's ssh-ed25519 signature \
(the leaf), the log's signature and the witnesses' cosignatures, and the tree head was remembered like \
any checkpoint.\n",
            x.leaf_index,
            x.tree_size,
            if x.witnesses.is_empty() {
                "no witness".to_owned()
            } else {
                x.witnesses.join(" and ")
            },
            if x.verified { "verified" } else { "NOT verified" }
        ));
    }
    s.push_str(&format!(
        "- Cleanup: {} server processes stopped, {} ({:.1} s in all).",
        a.server_pids.len(),
        if keep {
            format!("workspace kept in {}", a.workspace.display())
        } else if a.cleaned_up {
            "workspace removed".to_owned()
        } else {
            "SOMETHING WAS LEFT BEHIND".to_owned()
        },
        a.seconds
    ));
    s
}

fn short(hex: &str) -> String {
    hex.get(..16)
        .map_or_else(|| hex.to_owned(), |h| format!("{h}…"))
}

//! `rget policy`: assemble a trust policy from the lines `rget log init` and `rget witness init`
//! print, or check one.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::client::policy_lines::{self, Kind, Line, LinesError, Quorum};
use rget_fetch::durable;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const LONG_ABOUT: &str = "\
Assemble a C2SP tlog-policy from the lines operators publish, and check it as its readers will.

--log takes a log's line, 'log <vkey> <url>' (what 'rget log init' prints), or a file of such \
lines; --witness a witness's line, 'witness <name> <vkey> [<url>]' (what 'rget witness init' \
prints), or a file of them. Both repeat. --quorum says how many of the witnesses listed must cosign \
every checkpoint: a number, 'any', 'all', or 'none' (the log's signature alone).

The policy is written to standard output, or atomically to -o FILE, only once it passes every check: \
each line parses (a log key of type 0x01, a witness key of type 0x04), no key, witness name or log \
origin repeats, every log has a URL a client can fetch it from (https; http with --allow-http), and \
the quorum can be met by the witnesses listed. Otherwise nothing is written and one line names the \
argument at fault.

One command makes the three policies of a deployment:
  the users' policy (what 'rget get' reads: ~/.config/rget/policy): --log, --witness..., --quorum N
  the log's --witnesses file (each witness line with its URL): --witness..., --quorum N
  a witness's --policy (the logs it cosigns): --log, --quorum none

--check FILE checks an existing policy the same way and prints what it trusts.";

const AFTER_HELP: &str = "\
Examples:
  # the users' policy: the log, two witnesses, both must cosign
  rget policy --log log.line --witness w1.line --witness w2.line \\
    --quorum 2 -o ~/.config/rget/policy
  # the log's --witnesses file, and a witness's --policy
  rget policy --witness w1.line --witness w2.line --quorum 2 -o witnesses
  rget policy --log log.line --quorum none -o /srv/rget-witness/policy
  # a published line given as text, quoted whole
  rget policy --quorum none --log \"$(cat log.line)\"
  rget policy --check ~/.config/rget/policy

Exit codes: 0 written (or checked), 2 usage (no line given, a quorum the
witnesses cannot meet, -o names a directory), 3 a line or policy that does not
parse or repeats a key, name or origin, 7 a file cannot be read or written.";

/// Arguments of `rget policy`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Assemble a trust policy from published log and witness lines, or check one",
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    group(clap::ArgGroup::new("lines").multiple(true).args(["log", "witness"])),
)]
pub struct Args {
    /// A log's line, 'log <vkey> <url>', or a file of such lines; repeatable
    #[arg(long, value_name = "LINE_OR_FILE")]
    log: Vec<String>,

    /// A witness's line, 'witness <name> <vkey> [<url>]', or a file of such lines; repeatable
    #[arg(long, value_name = "LINE_OR_FILE")]
    witness: Vec<String>,

    /// How many of the witnesses must cosign: a number, any, all, or none
    #[arg(long, value_name = "N", required_unless_present = "check")]
    quorum: Option<Quorum>,

    /// Write the policy to FILE (atomically) instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,

    /// Allow logs reached over plain http (the client then needs --allow-http too)
    #[arg(long)]
    allow_http: bool,

    /// Check the policy in FILE instead of assembling one
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lines", "quorum", "output"])]
    check: Option<PathBuf>,
}

/// Runs `rget policy`.
pub fn run(a: Args) -> CliResult {
    if let Some(path) = &a.check {
        return check(path, a.allow_http);
    }
    let mut lines: Vec<Line> = Vec::new();
    for (args, kind) in [(&a.log, Kind::Log), (&a.witness, Kind::Witness)] {
        for arg in args {
            lines.extend(policy_lines::lines_from_arg(arg, kind).map_err(failure)?);
        }
    }
    // Clap requires --quorum without --check.
    let quorum = a.quorum.unwrap_or(Quorum::None);
    let text = policy_lines::assemble(&lines, quorum, a.allow_http).map_err(failure)?;
    match &a.output {
        None => super::stdout::print(&text),
        Some(path) => write(path, &text),
    }
}

fn write(path: &Path, text: &str) -> CliResult {
    if path.is_dir() {
        return Err(Failure::usage(format!(
            "-o {}: is a directory; name the policy file",
            path.display()
        )));
    }
    let parent = durable::parent_of(path);
    durable::create_dirs(parent, 0o755)
        .and_then(|()| durable::write_atomic(path, text.as_bytes(), 0o644))
        .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "wrote {}", path.display());
    Ok(())
}

fn check(path: &Path, allow_http: bool) -> CliResult {
    let text = policy_lines::read_small(path).map_err(|reason| {
        Failure::local_io(format!(
            "{}: cannot read the policy: {reason}",
            path.display()
        ))
    })?;
    let checked = policy_lines::check(&text, path, allow_http).map_err(failure)?;
    // Names and URLs come from the file: shown with control characters spelled out.
    let shown = |s: &str| rget_core::escape::for_terminal(s).into_owned();
    let mut report = format!("{}: the policy holds\n", shown(&path.display().to_string()));
    for (origin, url) in &checked.logs {
        report.push_str(&format!("  log {} at {}\n", shown(origin), shown(url)));
    }
    if !checked.witnesses.is_empty() {
        let names: Vec<String> = checked.witnesses.iter().map(|w| shown(w)).collect();
        report.push_str(&format!("  witnesses: {}\n", names.join(", ")));
    }
    report.push_str(&format!("  quorum: {}\n", shown(&checked.quorum)));
    super::stdout::print(&report)
}

fn failure(e: LinesError) -> Failure {
    match e {
        LinesError::Read { .. } => Failure::local_io(e),
        LinesError::Empty | LinesError::Unmeetable { .. } | LinesError::BadUrl { .. } => {
            Failure::usage(e)
        }
        LinesError::Malformed { .. } | LinesError::Conflict { .. } | LinesError::Client(_) => {
            Failure::malformed(e)
        }
    }
}

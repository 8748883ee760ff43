//! The `rget` command line.
//!
//! Each subcommand lives in its own file `src/cli/<name>.rs` with a clap `Args` struct (which carries
//! its own `about`, `long_about` and examples in `after_help`) and a `run(Args) -> CliResult`. Adding
//! one takes three lines here: the `mod`, a variant of [`Command`], and an arm in [`run`].

pub mod audit;
pub mod demo;
pub mod exit;
pub mod get;
pub mod json;
pub mod keygen;
pub mod keys;
pub mod log;
pub mod policy;
pub mod progress;
pub mod release;
pub mod self_cmd;
pub mod server_args;
pub mod sigsum;
pub mod sigsum_args;
pub mod stdout;
pub mod submit;
pub mod summary;
pub mod sums;
pub mod transfers;
pub mod trust_args;
pub mod url_list;
pub mod witness;

use clap::{Parser, Subcommand};
use exit::{CliResult, ExitCode, Failure};
use std::io::Write;

const ABOUT: &str = "Verified downloads of release files";

const LONG_ABOUT: &str = "\
rget downloads release files and refuses to hand over any file whose SHA-256 is not listed in the \
publisher's SHA256SUMS. That SHA256SUMS is itself checked: it must be recorded in a public, \
append-only transparency log (proved by a Merkle inclusion proof under a checkpoint signed by the log \
and cosigned by independent witnesses) and, where the publisher's key is known, carry a valid \
minisign signature. Publishers use rget to write their SHA256SUMS and record it in the log; build \
hosts use it to fetch and check what they run.";

const AFTER_HELP: &str = "\
Examples:
  # see all of it work on this machine, offline
  rget demo
  # download tool, verified against its logged SHA256SUMS
  rget get https://example.org/rel/v1.2/tool
  # publish dist/: SHA256SUMS, signature, log proof
  rget release dist/ --key release.key --url https://example.org/rel/v1.2/
  # check this rget against its own logged release
  rget self verify
  # list every file of dist/ with its SHA-256
  rget sums dist > dist/SHA256SUMS
  # check a Sigsum proof, as sigsum-verify does
  rget sigsum verify -k sigsum.key.pub -P sigsum-generic-2025-1 \\
      SHA256SUMS.proof < SHA256SUMS

Exit codes: 0 ok, 1 verification failed, 2 usage, 3 malformed input, 4 network,
5 not found, 6 trust anomaly (rollback, fork, unexpected record), 7 local I/O.

Run 'rget <command> --help' for a command's details and examples.";

#[derive(Parser, Debug)]
#[command(
    name = "rget",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    Get(get::GetArgs),
    Verify(get::VerifyArgs),
    Cat(get::CatArgs),
    Submit(submit::Args),
    Audit(audit::Args),
    Sums(sums::Args),
    Log(log::Args),
    Witness(witness::Args),
    Keygen(keygen::Args),
    Keys(keys::Args),
    Policy(policy::Args),
    Release(release::Args),
    Sigsum(sigsum::Args),
    Demo(demo::Args),
    #[command(name = "self")]
    SelfCmd(self_cmd::Args),
}

fn run(command: Command) -> CliResult {
    match command {
        Command::Get(args) => get::get(args),
        Command::Verify(args) => get::verify(args),
        Command::Cat(args) => get::cat(args),
        Command::Submit(args) => submit::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Sums(args) => sums::run(args),
        Command::Log(args) => log::run(args),
        Command::Witness(args) => witness::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Keys(args) => keys::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Release(args) => release::run(args),
        Command::Sigsum(args) => sigsum::run(args),
        Command::SelfCmd(args) => self_cmd::run(args),
        Command::Demo(args) => demo::run(args),
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    match run(cli.command) {
        Ok(()) => ExitCode::Ok.code(),
        Err(failure) => {
            report(&failure);
            failure.code()
        }
    }
}

/// Whether `args` (the words after `rget`) make a command line `rget` accepts, without running it:
/// the usage error, on one line, otherwise. `--help` and `--version` are accepted. The tests check
/// every example of every `--help` text with it.
pub fn parses<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::error::ErrorKind;
    let argv =
        std::iter::once(std::ffi::OsString::from("rget")).chain(args.into_iter().map(Into::into));
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(first_line(&e)),
    }
}

/// Prints `rget: <message>` on stderr. A failure to write it cannot be reported anywhere, so it is
/// ignored; the exit code still tells.
fn report(failure: &Failure) {
    let _ = writeln!(std::io::stderr(), "rget: {failure}");
}

/// Turns clap's outcome into ours: `--help` and `--version` print to stdout and exit 0; a bare
/// `rget` prints help to stderr and exits 2; any other usage error becomes one line and exit 2.
fn clap_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::Ok.code()
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::Usage.code()
        }
        _ => {
            let args: Vec<String> = std::env::args().skip(1).collect();
            report(&Failure::usage(format!(
                "{} (see '{} --help')",
                first_line(&e),
                command_path(&args)
            )));
            ExitCode::Usage.code()
        }
    }
}

/// The (sub)command a command line names, as typed (`rget sums`, `rget log serve`), for the pointer
/// to its `--help`: the subcommands that lead the arguments, as far as they are ones rget has.
fn command_path(args: &[String]) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut path = String::from("rget");
    for a in args {
        let Some(sub) = cmd.find_subcommand(a).cloned() else {
            break;
        };
        path.push(' ');
        path.push_str(sub.get_name());
        cmd = sub;
    }
    path
}

/// The first paragraph of clap's rendered error on one line, without its `error: ` prefix, e.g.
/// `unexpected argument '--frob' found` or
/// `the following required arguments were not provided: <PATH>...`. What follows (usage, tips) is
/// left to `--help`.
fn first_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let paragraph: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let joined = paragraph.join(" ");
    let line = joined.strip_prefix("error: ").unwrap_or(&joined);
    if line.is_empty() {
        "invalid arguments".to_owned()
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_become_one_line() {
        let e = Cli::try_parse_from(["rget", "sums", "--frob"]).unwrap_err();
        let line = first_line(&e);
        assert!(line.contains("--frob"), "{line}");
        assert!(!line.contains('\n'));
        assert!(!line.starts_with("error:"));
        let e = Cli::try_parse_from(["rget", "sums"]).unwrap_err();
        assert_eq!(
            first_line(&e),
            "the following required arguments were not provided: <PATH>..."
        );
    }

    #[test]
    fn check_only_flags_need_check() {
        for argv in [
            &["rget", "sums", "--quiet", "f"][..],
            &["rget", "sums", "--json", "f"],
            &["rget", "sums", "--check", "S", "-o", "f"],
            &["rget", "sums", "--check", "S", "--json", "--quiet"],
        ] {
            assert!(Cli::try_parse_from(argv).is_err(), "{argv:?}");
        }
        assert!(Cli::try_parse_from(["rget", "sums", "--check", "S", "--json"]).is_ok());
        // The example of `rget sums --help`: --check is a flag, so the order is free.
        assert!(Cli::try_parse_from(["rget", "sums", "--check", "--json", "S"]).is_ok());
        assert!(Cli::try_parse_from(["rget", "sums", "-o", "S", "a", "b"]).is_ok());
    }

    #[test]
    fn usage_errors_point_at_the_subcommands_help() {
        let path = |a: &[&str]| command_path(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(path(&["sums", "--frob"]), "rget sums");
        assert_eq!(path(&["log", "serve", "DIR", "--frob"]), "rget log serve");
        assert_eq!(path(&["self", "upgrade", "--frob"]), "rget self upgrade");
        assert_eq!(path(&["--frob"]), "rget");
        assert_eq!(path(&["frob", "sums"]), "rget");
    }

    /// Every example line of every `--help` (a line starting with `rget ` in an after-help text)
    /// parses: the examples are what users copy first. Words are split on white space (with single
    /// quotes kept together); a line ends at its comment (two spaces), a pipe or a redirection.
    #[test]
    fn every_help_example_parses() {
        fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
            for help in [cmd.get_after_help(), cmd.get_after_long_help()]
                .into_iter()
                .flatten()
            {
                let text = help.to_string();
                let mut lines = text.lines().peekable();
                while let Some(line) = lines.next() {
                    let mut line = line.trim().to_owned();
                    if !line.starts_with("rget ") {
                        continue;
                    }
                    while line.ends_with('\\') {
                        line.pop();
                        line.push_str(lines.next().unwrap_or("").trim());
                    }
                    out.push(line);
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, out);
            }
        }
        let mut examples = Vec::new();
        walk(&Cli::command(), &mut examples);
        assert!(examples.len() > 30, "{examples:?}");
        for line in examples {
            let cut = ["  ", " | ", " > ", " < ", " 2>"]
                .iter()
                .filter_map(|m| line.find(m))
                .min()
                .unwrap_or(line.len());
            let mut words = Vec::new();
            let mut rest = &line[..cut];
            while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
                rest = &rest[start..];
                let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"');
                let (word, next) = if let Some(q) = quote.and_then(|c| rest.strip_prefix(c)) {
                    let end = q.find(quote.unwrap_or('\'')).unwrap_or(q.len());
                    (&q[..end], q.get(end + 1..).unwrap_or(""))
                } else {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    (&rest[..end], &rest[end..])
                };
                words.push(word.replace('"', ""));
                rest = next;
            }
            if let Err(e) = Cli::try_parse_from(&words) {
                use clap::error::ErrorKind;
                assert!(
                    matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion),
                    "example {line:?} does not parse: {}",
                    first_line(&e)
                );
            }
        }
    }
}

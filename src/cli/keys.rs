//! `rget keys add` and `rget keys list`: the publisher keys file `rget get` reads.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::cli::trust_args;
use crate::client::keys_file::{self, AddError};
use crate::client::trust::{Env, PublisherKeys, TrustError, read_key_arg};
use rget_core::escape::for_terminal;
use rget_fetch::Deadline;
use rget_fetch::durable::{self, LockWait};
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ABOUT: &str = "Add and list publisher keys for URL prefixes (the keys file)";

const LONG_ABOUT: &str = "\
Manage the publisher keys file: which minisign key must have signed the SHA256SUMS under a URL \
prefix. 'rget get', 'verify' and 'cat' read it from $XDG_CONFIG_HOME/rget/keys \
(~/.config/rget/keys) unless --key is given; a URL is covered by the longest prefix that matches it \
on a path-segment boundary, and where a key applies a valid signature by it is required.";

const AFTER_HELP: &str = "\
Examples:
  rget keys add https://example.org/rel/ minisign.pub
  rget keys add https://example.org/rel/ \\
    RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3
  rget keys list";

/// Arguments of `rget keys`.
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(clap::Subcommand, Debug)]
enum Sub {
    Add(AddArgs),
    List(ListArgs),
}

const ADD_LONG_ABOUT: &str = "\
Add the line '<PREFIX> <KEY>' to the keys file, PREFIX in the canonical spelling URLs are compared \
in (lowercase scheme and host, no default port). The file is written atomically (created, with its \
directory, if missing) and only if it still parses as 'rget get' reads it. Runs at the same time \
take turns under the lock of '<FILE>.lock' (beside the keys file, mode 0600), held from reading the \
file to renaming the new one into place so that no line is lost; a run waits at most 30 s for it \
(silently unless standard error is a terminal), then fails with exit code 7.

Refused, with the file left as it was: a keys file that does not parse; a PREFIX that has a key \
already (the same key: nothing to add; another key: one prefix has one key, so replacing it is an \
edit for a person to make); a PREFIX without a canonical spelling; a KEY that is not a minisign \
public key. A key for a longer or shorter prefix overlapping PREFIX is allowed (the longest prefix \
wins) and named on standard error.";

const ADD_AFTER_HELP: &str = "\
Examples:
  rget keys add https://example.org/rel/ minisign.pub
  rget keys add https://example.org/rel/ \\
    RWQf6LRCGA9i53mlYecO4IzT51TGPpvWucNSCh1CBM0QTaLn73Y7GFO3
  rget keys add https://example.org/rel/ minisign.pub --keys ./keys

Exit codes: 0 added, 2 usage (PREFIX has a key already, or no canonical
spelling), 3 the keys file or KEY does not parse, 7 a file cannot be read or
written, or another run held the lock for 30 s.";

/// Arguments of `rget keys add`.
#[derive(clap::Args, Debug)]
#[command(
    about = "Add a publisher key for a URL prefix to the keys file",
    long_about = ADD_LONG_ABOUT,
    after_help = ADD_AFTER_HELP
)]
struct AddArgs {
    /// The URL prefix the key applies to (e.g. https://example.org/rel/)
    #[arg(value_name = "PREFIX")]
    prefix: String,

    /// The minisign public key: its base64 line, or a .pub file
    #[arg(value_name = "KEY")]
    key: String,

    #[command(flatten)]
    file: KeysFileArg,
}

const LIST_AFTER_HELP: &str = "\
Examples:
  rget keys list
  rget keys list --keys ./keys

Exit codes: 0 listed (nothing when the file does not exist), 3 the keys file does not parse, 7 it
cannot be read.";

/// Arguments of `rget keys list`.
#[derive(clap::Args, Debug)]
#[command(
    about = "List the keys file: line, URL prefix, key ID",
    after_help = LIST_AFTER_HELP
)]
struct ListArgs {
    #[command(flatten)]
    file: KeysFileArg,
}

#[derive(clap::Args, Debug)]
struct KeysFileArg {
    /// The keys file. Default: $XDG_CONFIG_HOME/rget/keys (~/.config/rget/keys)
    #[arg(long, value_name = "FILE")]
    keys: Option<PathBuf>,
}

impl KeysFileArg {
    fn path(&self) -> CliResult<PathBuf> {
        match &self.keys {
            Some(p) => Ok(p.clone()),
            None => Env::from_process()
                .config_dir()
                .map(|d| d.join("keys"))
                .ok_or_else(|| {
                    Failure::usage(
                        "neither XDG_CONFIG_HOME nor HOME is set to find rget/keys; pass --keys FILE",
                    )
                }),
        }
    }
}

/// Runs `rget keys`.
pub fn run(args: Args) -> CliResult {
    match args.command {
        Sub::Add(a) => add(a),
        Sub::List(a) => list(a),
    }
}

/// The keys file's text, empty if it does not exist.
fn read_current(path: &Path) -> CliResult<String> {
    match PublisherKeys::load_file(path) {
        Err(TrustError::ReadKeys { err, .. }) if err.kind() == io::ErrorKind::NotFound => {
            Ok(String::new())
        }
        Err(e) => Err(trust_args::failure(e.into())),
        // Parsed once to bound and check it; read again as text to append to it unchanged.
        Ok(_) => std::fs::read_to_string(path)
            .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e)))),
    }
}

/// The longest `keys add` waits for another run's lock on the keys file. The command has no
/// `--max-time` (it does no network I/O and is done in milliseconds), but a provisioning script
/// must not hang for ever behind a run that is stuck (stopped with ^Z, say) while holding it.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// `<FILE>.lock` beside the keys file `path`. The keys file itself cannot carry the lock: it is
/// replaced by rename, so a run that opened the old file would lock a file no longer named `path`.
fn lock_path(path: &Path) -> CliResult<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("--keys {}: not a file name", path.display())))?;
    let mut lock = name.to_owned();
    lock.push(".lock");
    Ok(path.with_file_name(lock))
}

/// Takes the exclusive lock of the keys file `path` (its [`lock_path`], created if missing),
/// waiting at most `limit` for another run to release it. Without the lock, two runs both read the
/// old file and the second rename drops the first one's line. On a terminal a wait is announced;
/// in a script it is silent, and only running out of time is reported (exit code 7).
fn lock_keys_file(path: &Path, limit: Duration) -> CliResult<File> {
    let lock = lock_path(path)?;
    let waiting = || {
        if io::stderr().is_terminal() {
            eprintln!(
                "rget: another rget is adding a key to {}; waiting for its lock {} (at most {} s)",
                for_terminal(&path.display().to_string()),
                for_terminal(&lock.display().to_string()),
                limit.as_secs_f64()
            );
        }
    };
    durable::lock_file_within(&lock, &Deadline::after(limit), waiting).map_err(|e| match e {
        LockWait::TimedOut => Failure::local_io(format!(
            "{}: another process held this lock for {} s, the longest 'rget keys add' waits; the \
             keys file was left as it was",
            lock.display(),
            limit.as_secs_f64()
        )),
        LockWait::Failed(e) => Failure::local_io(format!("{}: {}", lock.display(), io_reason(&e))),
    })
}

fn add(a: AddArgs) -> CliResult {
    let path = a.file.path()?;
    let (key, key_line) = read_key_arg(&a.key).map_err(|e| match e {
        // The flag's own wording names --key; here the key is the argument KEY.
        TrustError::BadKeyArg { arg, parse, io } => Failure::usage(format!(
            "KEY {arg:?} is neither a minisign public key ({parse}) nor a readable file ({})",
            io_reason(&io)
        )),
        e => trust_args::failure(e.into()),
    })?;
    // The lock file goes beside the keys file, so its directory is made first.
    durable::create_dirs(durable::parent_of(&path), 0o755)
        .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
    // Held from reading the file to renaming the new one into place; readers (`rget get`) need
    // no lock, as the rename swaps the whole file at once.
    let lock = lock_keys_file(&path, LOCK_WAIT)?;
    let current = read_current(&path)?;
    let added =
        keys_file::add(&path, &current, &a.prefix, &key, &key_line).map_err(|e| match e {
            AddError::Existing(t) | AddError::Result(t) => trust_args::failure(t.into()),
            AddError::BadPrefix { .. } | AddError::Duplicate { .. } | AddError::Conflict { .. } => {
                Failure::usage(e)
            }
        })?;
    // An existing file keeps its mode; a new one is readable by all, like ~/.ssh/known_hosts.
    let mode = std::fs::metadata(&path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
    durable::write_atomic(&path, added.text.as_bytes(), mode)
        .map_err(|e| Failure::local_io(format!("{}: {}", path.display(), io_reason(&e))))?;
    drop(lock);
    let mut err = io::stderr().lock();
    for (prefix, key_id, line) in &added.overlaps {
        let _ = writeln!(
            err,
            "note: line {line} gives {} key ID {key_id}; where both prefixes match a URL, the \
             longer one's key applies",
            for_terminal(prefix)
        );
    }
    super::stdout::print(&format!(
        "added key ID {} for {} to {} (line {})\n",
        key.key_id(),
        for_terminal(&added.prefix),
        for_terminal(&path.display().to_string()),
        added.line
    ))
}

fn list(a: ListArgs) -> CliResult {
    let path = a.file.path()?;
    let keys = match PublisherKeys::load_file(&path) {
        Err(TrustError::ReadKeys { err, .. }) if err.kind() == io::ErrorKind::NotFound => {
            PublisherKeys::none()
        }
        other => other.map_err(|e| trust_args::failure(e.into()))?,
    };
    let mut text = String::new();
    for (prefix, key, line) in keys.entries() {
        text.push_str(&format!(
            "{line}\t{}\tkey ID {}\n",
            for_terminal(prefix),
            key.key_id()
        ));
    }
    super::stdout::print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::exit::ExitCode;

    #[test]
    fn the_lock_sits_beside_the_keys_file_and_a_held_one_times_out_with_exit_7() {
        let t = tempfile::tempdir().unwrap();
        let keys = t.path().join("keys");
        assert_eq!(lock_path(&keys).unwrap(), t.path().join("keys.lock"));
        assert_eq!(
            lock_path(Path::new("./my.keys")).unwrap(),
            Path::new("./my.keys.lock")
        );
        assert_eq!(lock_path(Path::new("/")).unwrap_err().code(), 2);
        // The help tells the wait the code uses.
        let said = format!("at most {} s", LOCK_WAIT.as_secs());
        assert!(ADD_LONG_ABOUT.contains(&said), "{ADD_LONG_ABOUT}");
        // Another open file description holds the lock, as another process would: the wait ends
        // at the limit with one line naming the lock file.
        let held = lock_keys_file(&keys, Duration::from_millis(300)).unwrap();
        let start = std::time::Instant::now();
        let e = lock_keys_file(&keys, Duration::from_millis(300)).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(e.exit_code(), ExitCode::LocalIo);
        let lock = t.path().join("keys.lock");
        assert_eq!(
            e.message(),
            format!(
                "{}: another process held this lock for 0.3 s, the longest 'rget keys add' waits; \
                 the keys file was left as it was",
                lock.display()
            )
        );
        assert!(
            waited >= Duration::from_millis(300) && waited.as_secs() < 5,
            "{waited:?}"
        );
        drop(held);
        lock_keys_file(&keys, Duration::from_millis(300)).unwrap();
    }
}

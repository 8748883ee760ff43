//! `rget sums`: write a `SHA256SUMS` for release files, or check files against one.
//!
//! Writing is what a publisher runs before signing and logging the list; the output is exactly what
//! GNU `sha256sum` writes, so `sha256sum -c` accepts it. Checking mirrors `sha256sum -c` but with our
//! stricter parser, so a list that passes here will pass in `rget get` too.

use crate::cli::exit::{CliResult, Failure, io_reason};
use crate::cli::json;
use rget_core::digest::{Hash, sha256_reader};
use rget_core::sums::{self, Entry, MAX_FILE_BYTES};
use rget_fetch::durable;
use serde::Serialize;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Files that a publisher places next to the release files and that never belong in the list: the
/// list itself, its minisign signature, its transparency-log proof and its Sigsum proof. (Listing
/// the Sigsum proof made a second `rget release` of a directory holding one, to add the other proof,
/// a different SHA256SUMS: refused as a second record for the URL.)
const OWN_ARTIFACTS: [&str; 4] = [
    "SHA256SUMS",
    "SHA256SUMS.minisig",
    "SHA256SUMS.tlog-proof",
    "SHA256SUMS.proof",
];

const ABOUT: &str = "Write a SHA256SUMS for files, or check files against one";

const LONG_ABOUT: &str = "\
Write a SHA256SUMS listing the SHA-256 of each file, in the format of GNU sha256sum. A file argument \
is listed under its final path component, since SHA256SUMS is published beside the files and names \
are matched against the last segment of a download URL. A directory contributes its regular files \
(not recursively; symbolic links and other entries are skipped and reported), except SHA256SUMS, \
SHA256SUMS.minisig, SHA256SUMS.tlog-proof and SHA256SUMS.proof. Entries are sorted by name. The output file itself is \
never listed, also when stdout is redirected into the listed directory. With -o the file is written \
atomically: an interrupted run leaves the old file or none, never half of one.

With --check, read the SHA256SUMS given as the one PATH and check each listed file (relative to \
the current directory), \
printing '<name>: OK' or '<name>: FAILED' per file, like sha256sum -c. Names holding a newline or a \
carriage return are printed escaped, with a leading backslash, as in the file.";

const AFTER_HELP: &str = "\
Examples:
  rget sums dist > dist/SHA256SUMS          list the files of dist/
  rget sums -o SHA256SUMS app.tar.gz app.zip   two files, written atomically
  cd dist && rget sums --check SHA256SUMS   check the files against the list
  cd dist && rget sums --check --json SHA256SUMS   the same, as JSON

Exit codes: 0 all OK, 1 a file did not match or could not be read, 2 usage,
3 the SHA256SUMS does not parse, 7 local I/O error while writing.";

/// Arguments of `rget sums`.
#[derive(clap::Args, Debug)]
#[command(about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Files and directories to list; with --check, the one SHA256SUMS to check ('-' for stdin)
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// Write the list to FILE (atomically) instead of stdout
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "check"
    )]
    output: Option<PathBuf>,

    /// Check the files listed in the SHA256SUMS given as PATH instead of writing a list (a flag, as
    /// in sha256sum -c, so options may come in any order: --check --json SHA256SUMS)
    #[arg(short = 'c', long = "check")]
    check: bool,

    /// With --check: print only the files that failed
    #[arg(long, requires = "check", conflicts_with = "output")]
    quiet: bool,

    /// With --check: print one JSON object with the result of every file
    #[arg(long, requires = "check", conflicts_with_all = ["quiet", "output"])]
    json: bool,
}

/// Runs `rget sums`.
pub fn run(args: Args) -> CliResult {
    if !args.check {
        return write_list(&args.paths, args.output.as_deref());
    }
    match args.paths.as_slice() {
        [list] => check(list, args.quiet, args.json),
        _ => Err(Failure::usage(
            "--check reads one SHA256SUMS: give exactly one PATH (see 'rget sums --help')",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A file to list: the name it is listed under, and where to read it.
struct Candidate {
    name: String,
    path: PathBuf,
}

/// A file's identity on this machine: device and inode. Used to recognise the output file under
/// whatever path it is reached.
pub type FileId = (u64, u64);

fn file_id(meta: &fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

fn write_list(paths: &[PathBuf], output: Option<&Path>) -> CliResult {
    let (_, text) = listing(paths, &output_ids(output), DirRules::Lenient)?;
    match output {
        Some(target) => write_atomically(target, text.as_bytes()),
        None => super::stdout::print(&text),
    }
}

/// How the entries of a listed directory that are not plain release files are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirRules {
    /// `rget sums`: symbolic links, subdirectories and other non-regular entries are skipped, with
    /// a note on stderr; hidden files are listed like any other.
    Lenient,
    /// `rget release`: what is published must be exactly what is listed, so a symbolic link,
    /// subdirectory or other non-regular entry is refused rather than silently left out, and hidden
    /// files (`.DS_Store`, editor leftovers, temporaries of an interrupted run) are skipped, since
    /// they are never release files.
    Release,
}

/// The entries for `paths` (files, and the files directly inside directories), hashed in constant
/// memory and sorted by name, and the `SHA256SUMS` text listing them. Files whose identity is in
/// `excluded` are left out.
pub fn listing(
    paths: &[PathBuf],
    excluded: &[FileId],
    rules: DirRules,
) -> CliResult<(Vec<Entry>, String)> {
    let (entries, text, _) = listing_held(paths, excluded, rules, false)?;
    Ok((entries, text))
}

/// [`listing`], keeping every file open as it was hashed ([`Hashed`]), so that what was listed can
/// be checked again later (`rget release`, just before it logs the list).
pub fn listing_held(
    paths: &[PathBuf],
    excluded: &[FileId],
    rules: DirRules,
    hold: bool,
) -> CliResult<(Vec<Entry>, String, Vec<Hashed>)> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, excluded, rules, &mut files)?;
    }
    // Byte order of the name: `String`'s `Ord` compares bytes. Sorting everything, not per
    // argument, makes the output independent of the order of the arguments.
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in files.windows(2) {
        if let [a, b] = pair
            && a.name == b.name
        {
            return Err(Failure::usage(format!(
                "{:?} and {:?} would both be listed as {:?}",
                a.path, b.path, a.name
            )));
        }
    }
    if files.is_empty() {
        return Err(Failure::usage("no files to list"));
    }

    let mut entries = Vec::with_capacity(files.len());
    let mut held = Vec::new();
    for file in files {
        let (digest, h) = hash_file(&file.path)
            .map_err(|e| Failure::local_io(format!("{:?}: {}", file.path, io_reason(&e))))?;
        if hold {
            held.push(h);
        }
        entries.push(Entry {
            name: file.name,
            digest,
        });
    }
    // Names were checked as they were collected; this also enforces the size limits.
    let text = sums::format(&entries).map_err(Failure::usage)?;
    Ok((entries, text, held))
}

/// The names [`listing`] would list for `paths` now, without hashing anything: to tell whether a
/// directory gained or lost a file since it was listed.
pub fn listed_names(paths: &[PathBuf], rules: DirRules) -> CliResult<Vec<String>> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &[], rules, &mut files)?;
    }
    let mut names: Vec<String> = files.into_iter().map(|c| c.name).collect();
    names.sort();
    Ok(names)
}

/// A listed file as it was hashed: the descriptor it was read through, kept open, and what the file
/// looked like just before it was read.
pub struct Hashed {
    path: PathBuf,
    file: File,
    stamp: Stamp,
}

/// What tells one state of a file from another without reading it: which file (device, inode), its
/// size, and its modification and change times. The change time moves with every write, truncation
/// and `touch`, and only the kernel sets it, so a file rewritten to the same size with its old
/// modification time put back still shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(m: &fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        }
    }
}

impl Hashed {
    /// Why the file is no longer what was hashed, if it is not: written to (its size or times
    /// moved, seen through the descriptor), or replaced (its path now names another file, or
    /// none).
    pub fn changed(&self) -> Option<String> {
        match fs::symlink_metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == (self.stamp.dev, self.stamp.ino) => {}
            Ok(_) => return Some("another file took its name after it was hashed".to_owned()),
            Err(e) => return Some(format!("it is gone ({})", io_reason(&e))),
        }
        let now = match self.file.metadata() {
            Ok(m) => Stamp::of(&m),
            Err(e) => return Some(format!("cannot inspect it again: {}", io_reason(&e))),
        };
        if now.len != self.stamp.len {
            return Some(format!(
                "its size went from {} to {} bytes after it was hashed",
                self.stamp.len, now.len
            ));
        }
        (now != self.stamp).then(|| "it was written to after it was hashed".to_owned())
    }

    /// The path it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The identities of the files the list is being written to, so that they are never listed: the
/// `-o` file if it already exists, and stdout if it is a regular file. The shell creates the file of
/// `rget sums dist > dist/SHA256SUMS` before rget starts, so without this it would list itself
/// (with the digest of an empty file).
fn output_ids(output: Option<&Path>) -> Vec<FileId> {
    let mut ids = Vec::new();
    if let Some(meta) = output.and_then(|p| fs::metadata(p).ok()) {
        ids.push(file_id(&meta));
    }
    let stdout_meta = io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .and_then(|f| f.metadata());
    if let Ok(meta) = stdout_meta
        && meta.is_file()
    {
        ids.push(file_id(&meta));
    }
    ids
}

/// Adds the files named by one argument.
fn collect(
    path: &Path,
    excluded: &[FileId],
    rules: DirRules,
    out: &mut Vec<Candidate>,
) -> CliResult {
    let meta = fs::metadata(path)
        .map_err(|e| Failure::local_io(format!("{path:?}: {}", io_reason(&e))))?;
    if meta.is_dir() {
        return collect_dir(path, excluded, rules, out);
    }
    if !meta.is_file() {
        return Err(Failure::usage(format!(
            "{path:?} is not a regular file or directory"
        )));
    }
    if excluded.contains(&file_id(&meta)) {
        note(&format!("skipping {path:?}: it is the output file"));
        return Ok(());
    }
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("{path:?} has no file name")))?;
    out.push(Candidate {
        name: listable_name(path, name)?,
        path: path.to_path_buf(),
    });
    Ok(())
}

/// Adds the regular files directly inside `dir`.
fn collect_dir(
    dir: &Path,
    excluded: &[FileId],
    rules: DirRules,
    out: &mut Vec<Candidate>,
) -> CliResult {
    let io_err = |e: io::Error| Failure::local_io(format!("{dir:?}: {}", io_reason(&e)));
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let path = entry.path();
        let file_name = entry.file_name();
        if OWN_ARTIFACTS.iter().any(|a| file_name == *a) {
            continue;
        }
        // Silently: a note would be a second line before a one-line refusal of the release.
        if rules == DirRules::Release && file_name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        // `file_type` and `metadata` of a directory entry do not follow symbolic links.
        let meta = entry
            .metadata()
            .map_err(|e| Failure::local_io(format!("{path:?}: {}", io_reason(&e))))?;
        let kind = meta.file_type();
        if !kind.is_file() {
            let what = if kind.is_symlink() {
                "a symbolic link"
            } else if kind.is_dir() {
                "a directory"
            } else {
                "not a regular file"
            };
            if rules == DirRules::Release {
                return Err(Failure::usage(format!(
                    "{path:?} is {what}: only regular files can be released (move it out of the directory)"
                )));
            }
            note(&format!("skipping {path:?}: {what}"));
            continue;
        }
        if excluded.contains(&file_id(&meta)) {
            continue;
        }
        out.push(Candidate {
            name: listable_name(&path, &file_name)?,
            path,
        });
    }
    Ok(())
}

/// The name a file is listed under, if our rules (and UTF-8) allow it.
fn listable_name(path: &Path, name: &std::ffi::OsStr) -> CliResult<String> {
    let name = name.to_str().ok_or_else(|| {
        Failure::usage(format!(
            "{path:?}: the name is not valid UTF-8, which SHA256SUMS requires"
        ))
    })?;
    sums::check_name(name).map_err(|e| Failure::usage(format!("{path:?}: {e}")))?;
    Ok(name.to_owned())
}

/// A note on stderr about something skipped; the run goes on.
fn note(message: &str) {
    let _ = writeln!(
        io::stderr(),
        "rget: {}",
        message.replace('\n', "\\n").replace('\r', "\\r")
    );
}

/// SHA-256 of a file, streamed in constant memory, and the file as it was just before it was read.
fn hash_file(path: &Path) -> io::Result<(Hash, Hashed)> {
    let mut file = File::open(path)?;
    let stamp = Stamp::of(&file.metadata()?);
    let (digest, _) = sha256_reader(&mut file)?;
    Ok((
        digest,
        Hashed {
            path: path.to_path_buf(),
            file,
            stamp,
        },
    ))
}

/// Replaces `target` with `bytes` so that a crash leaves either the old content or the new, never
/// part of it (`durable::write_atomic`: a temporary file beside it, fsync, rename, fsync of the
/// directory). As with `sha256sum > FILE`, the directory must exist: none is created.
fn write_atomically(target: &Path, bytes: &[u8]) -> CliResult {
    let io_err = |e: io::Error| Failure::local_io(format!("{target:?}: {}", io_reason(&e)));
    if target.file_name().is_none() {
        return Err(Failure::usage(format!("{target:?} has no file name")));
    }
    fs::metadata(durable::parent_of(target)).map_err(io_err)?;
    durable::write_atomic(target, bytes, 0o644).map_err(io_err)
}

// ---------------------------------------------------------------------------------------------
// Checking

/// What checking one listed file found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Mismatch { actual: Hash },
    Unreadable { reason: String },
}

fn check(list: &Path, quiet: bool, json: bool) -> CliResult {
    let bytes = read_list(list)?;
    let parsed = sums::parse(&bytes).map_err(|e| Failure::malformed(format!("{list:?}: {e}")))?;

    let mut out = io::stdout().lock();
    let write_err = super::stdout::write_failed;
    let mut outcomes = Vec::with_capacity(parsed.len());
    for entry in parsed.entries() {
        let outcome = check_file(entry);
        let shown = !json && (!quiet || outcome != Outcome::Ok);
        if shown {
            writeln!(out, "{}: {}", display_name(&entry.name), describe(&outcome))
                .map_err(write_err)?;
        }
        outcomes.push(outcome);
    }
    if json {
        let line = json::line(&to_json(list, parsed.entries(), &outcomes))?;
        out.write_all(line.as_bytes()).map_err(write_err)?;
    }
    out.flush().map_err(write_err)?;

    let mismatched = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Mismatch { .. }))
        .count();
    let unreadable = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Unreadable { .. }))
        .count();
    if mismatched + unreadable == 0 {
        return Ok(());
    }
    Err(Failure::verification(format!(
        "{} of {} listed files failed: {mismatched} did not match, {unreadable} could not be read",
        mismatched + unreadable,
        outcomes.len()
    )))
}

/// Reads the list, refusing to read more than the parser would accept.
fn read_list(list: &Path) -> CliResult<Vec<u8>> {
    let io_err = |e: io::Error| Failure::local_io(format!("{list:?}: {}", io_reason(&e)));
    let mut bytes = Vec::new();
    let limit = MAX_FILE_BYTES as u64 + 1;
    if list.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    } else {
        File::open(list)
            .map_err(io_err)?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(io_err)?;
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Failure::malformed(format!(
            "{list:?} is larger than the limit of {MAX_FILE_BYTES} bytes"
        )));
    }
    Ok(bytes)
}

/// Checks one listed file, relative to the current directory as `sha256sum -c` does. Anything that
/// is not a regular file is reported, not opened: opening a FIFO would block forever.
fn check_file(entry: &Entry) -> Outcome {
    let unreadable = |reason: String| Outcome::Unreadable { reason };
    match fs::metadata(&entry.name) {
        Err(e) => return unreadable(io_reason(&e)),
        Ok(meta) if meta.is_dir() => return unreadable("is a directory".into()),
        Ok(meta) if !meta.is_file() => return unreadable("not a regular file".into()),
        Ok(_) => {}
    }
    match hash_file(Path::new(&entry.name)) {
        Err(e) => unreadable(io_reason(&e)),
        Ok((actual, _)) if actual == entry.digest => Outcome::Ok,
        Ok((actual, _)) => Outcome::Mismatch { actual },
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok => "OK".into(),
        Outcome::Mismatch { .. } => "FAILED".into(),
        Outcome::Unreadable { reason } => format!("FAILED open or read ({reason})"),
    }
}

/// A name as the report prints it. Like coreutils, a name holding a newline is printed in the
/// escaped form with a leading backslash, so every report line is one file; unlike coreutils 9.1 we
/// do the same for a carriage return, which could otherwise overwrite the line on a terminal.
fn display_name(name: &str) -> String {
    if name.contains(['\n', '\r']) {
        format!("\\{}", sums::escape_name(name))
    } else {
        name.to_owned()
    }
}

/// The `--json` report of `--check`.
#[derive(Serialize)]
struct CheckReport<'a> {
    sums: String,
    ok: bool,
    total: usize,
    failed: usize,
    files: Vec<FileReport<'a>>,
}

/// One listed file: `status` is `ok`, `failed` (with the `actual` digest) or `unreadable` (with the
/// `error`).
#[derive(Serialize)]
struct FileReport<'a> {
    name: &'a str,
    expected: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

fn to_json<'a>(list: &Path, entries: &'a [Entry], outcomes: &'a [Outcome]) -> CheckReport<'a> {
    let failed = outcomes.iter().filter(|o| **o != Outcome::Ok).count();
    let files = entries
        .iter()
        .zip(outcomes)
        .map(|(entry, outcome)| {
            let (status, actual, error) = match outcome {
                Outcome::Ok => ("ok", None, None),
                Outcome::Mismatch { actual } => ("failed", Some(actual.to_hex()), None),
                Outcome::Unreadable { reason } => ("unreadable", None, Some(reason.as_str())),
            };
            FileReport {
                name: &entry.name,
                expected: entry.digest.to_hex(),
                status,
                actual,
                error,
            }
        })
        .collect();
    CheckReport {
        sums: list.to_string_lossy().into_owned(),
        ok: failed == 0,
        total: outcomes.len(),
        failed,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_escape_line_breaks_only() {
        assert_eq!(display_name("a b\\c"), "a b\\c");
        assert_eq!(display_name("a\nb\\c"), "\\a\\nb\\\\c");
        assert_eq!(display_name("cr\rx"), "\\cr\\rx");
    }

    #[test]
    fn outcomes_are_described_like_sha256sum() {
        assert_eq!(describe(&Outcome::Ok), "OK");
        assert_eq!(
            describe(&Outcome::Mismatch {
                actual: Hash::default()
            }),
            "FAILED"
        );
        assert_eq!(
            describe(&Outcome::Unreadable {
                reason: "no such file or directory".into()
            }),
            "FAILED open or read (no such file or directory)"
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("SHA256SUMS");
        fs::write(&target, b"old").unwrap();
        write_atomically(&target, b"new\n").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new\n");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["SHA256SUMS"]);
    }

    #[test]
    fn atomic_write_into_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomically(&dir.path().join("no/such/SHA256SUMS"), b"x").unwrap_err();
        assert_eq!(err.exit_code(), crate::cli::exit::ExitCode::LocalIo);
        assert!(err.message().contains("no such file or directory"), "{err}");
    }
}

//! `rget sums` end to end: the built binary, real files, and the real GNU `sha256sum`.

use crate::common;

use common::{RGET, assert_code, code, rget, run, stderr, stdout};
use rget::core::digest::sha256;
use rget::core::sums::{self, Entry};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

/// File names that stress every quoting rule: spaces at either end, a backslash, newline, carriage
/// return, tab, UTF-8, and leading `*` or `-` (which look like a binary marker or an option).
const AWKWARD: &[&str] = &[
    "plain.tar.gz",
    "with space",
    " leading",
    "trailing ",
    "back\\slash",
    "new\nline",
    "carriage\rreturn",
    "both\\and\nnewline",
    "tab\there",
    "ünïcødé-日本",
    "*star",
    "-dash",
    "--double",
];

/// A directory holding one file per awkward name, each with distinct content.
fn awkward_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in AWKWARD.iter().enumerate() {
        fs::write(dir.path().join(name), content(i)).unwrap();
    }
    dir
}

fn content(i: usize) -> Vec<u8> {
    format!("release file {i}\n").repeat(i + 1).into_bytes()
}

/// The entries `rget sums` should write for `awkward_dir`, sorted by name.
fn awkward_entries() -> Vec<Entry> {
    let mut entries: Vec<Entry> = AWKWARD
        .iter()
        .enumerate()
        .map(|(i, name)| Entry {
            name: (*name).to_owned(),
            digest: sha256(&content(i)),
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// How GNU `sha256sum -c` 9.1 prints a name in its report: escaped, with a leading backslash, only
/// when it holds a newline.
fn gnu_report_name(name: &str) -> String {
    if name.contains('\n') {
        format!("\\{}", sums::escape_name(name))
    } else {
        name.to_owned()
    }
}

fn sha256sum(cwd: &Path, args: &[&str]) -> std::process::Output {
    run(Command::new("sha256sum").args(args).current_dir(cwd))
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_owned).collect()
}

#[test]
fn written_list_passes_real_sha256sum_check() {
    let dir = awkward_dir();
    let out = rget(dir.path(), &["sums", ".", "-o", "SHA256SUMS"]);
    assert_code(&out, 0);
    assert!(out.stdout.is_empty(), "with -o nothing goes to stdout");

    let written = fs::read(dir.path().join("SHA256SUMS")).unwrap();
    let parsed = sums::parse(&written).unwrap();
    assert_eq!(parsed.entries(), &awkward_entries()[..]);

    let check = sha256sum(dir.path(), &["-c", "--strict", "SHA256SUMS"]);
    assert_code(&check, 0);
    let want: BTreeSet<String> = AWKWARD
        .iter()
        .map(|n| format!("{}: OK", gnu_report_name(n)))
        .collect();
    assert_eq!(lines(&stdout(&check)), want);
    assert_eq!(stdout(&check).lines().count(), AWKWARD.len());
}

#[test]
fn written_list_is_byte_identical_to_sha256sum_output() {
    let dir = awkward_dir();
    let ours = rget(dir.path(), &["sums", "."]);
    assert_code(&ours, 0);
    let mut names: Vec<&str> = AWKWARD.to_vec();
    names.sort();
    let mut args = vec!["--"];
    args.extend(names);
    let theirs = sha256sum(dir.path(), &args);
    assert_code(&theirs, 0);
    assert_eq!(stdout(&ours), stdout(&theirs));
}

#[test]
fn sha256sum_output_parses_with_the_same_digests() {
    let dir = awkward_dir();
    let want = awkward_entries();
    let mut names: Vec<&str> = AWKWARD.to_vec();
    names.sort();
    for mode in ["--text", "--binary", "--tag"] {
        let mut args = vec![mode, "--"];
        args.extend(names.iter().copied());
        let out = sha256sum(dir.path(), &args);
        assert_code(&out, 0);
        let parsed = sums::parse(&out.stdout)
            .unwrap_or_else(|e| panic!("sha256sum {mode} output rejected: {e}"));
        assert_eq!(parsed.entries(), &want[..], "sha256sum {mode}");
    }
}

#[test]
fn check_passes_then_names_exactly_the_changed_file() {
    let dir = awkward_dir();
    assert_code(&rget(dir.path(), &["sums", ".", "-o", "SHA256SUMS"]), 0);

    let ok = rget(dir.path(), &["sums", "--check", "SHA256SUMS"]);
    assert_code(&ok, 0);
    assert_eq!(stdout(&ok).lines().count(), AWKWARD.len());
    assert!(
        stdout(&ok).lines().all(|l| l.ends_with(": OK")),
        "{}",
        stdout(&ok)
    );
    assert!(stdout(&ok).contains("\\new\\nline: OK\n"));
    assert!(stdout(&ok).contains("\\carriage\\rreturn: OK\n"));
    assert!(stderr(&ok).is_empty());

    // Change one byte of one file.
    let victim = dir.path().join("with space");
    let mut bytes = fs::read(&victim).unwrap();
    bytes[0] ^= 1;
    fs::write(&victim, bytes).unwrap();

    let bad = rget(dir.path(), &["sums", "--check", "SHA256SUMS"]);
    assert_code(&bad, 1);
    let report = stdout(&bad);
    let failed: Vec<&str> = report.lines().filter(|l| !l.ends_with(": OK")).collect();
    assert_eq!(failed, ["with space: FAILED"]);
    assert_eq!(report.lines().count(), AWKWARD.len());
    let err = stderr(&bad);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("rget: 1 of {} listed files failed", AWKWARD.len())),
        "{err}"
    );

    // --quiet prints only the failure.
    let quiet = rget(dir.path(), &["sums", "--check", "SHA256SUMS", "--quiet"]);
    assert_code(&quiet, 1);
    assert_eq!(stdout(&quiet), "with space: FAILED\n");
}

#[test]
fn missing_file_is_failed_open_or_read() {
    let dir = awkward_dir();
    assert_code(&rget(dir.path(), &["sums", ".", "-o", "SHA256SUMS"]), 0);
    fs::remove_file(dir.path().join("-dash")).unwrap();
    fs::remove_file(dir.path().join("*star")).unwrap();
    fs::create_dir(dir.path().join("*star")).unwrap();

    let out = rget(dir.path(), &["sums", "-c", "SHA256SUMS", "--quiet"]);
    assert_code(&out, 1);
    assert_eq!(
        stdout(&out),
        "*star: FAILED open or read (is a directory)\n\
         -dash: FAILED open or read (no such file or directory)\n"
    );
    assert!(stderr(&out).contains("0 did not match, 2 could not be read"));
}

#[test]
fn json_report_has_every_file() {
    let dir = awkward_dir();
    assert_code(&rget(dir.path(), &["sums", ".", "-o", "SHA256SUMS"]), 0);
    fs::write(dir.path().join("new\nline"), b"changed").unwrap();
    fs::remove_file(dir.path().join("plain.tar.gz")).unwrap();

    let out = rget(dir.path(), &["sums", "--check", "SHA256SUMS", "--json"]);
    assert_code(&out, 1);
    let json = stdout(&out);
    assert_eq!(json.lines().count(), 1, "one object on one line: {json}");
    assert!(
        json.starts_with("{\"sums\":\"SHA256SUMS\",\"ok\":false,"),
        "{json}"
    );
    assert!(
        json.contains(&format!("\"total\":{},\"failed\":2,", AWKWARD.len())),
        "{json}"
    );
    let changed = format!(
        "{{\"name\":\"new\\nline\",\"expected\":\"{}\",\"status\":\"failed\",\"actual\":\"{}\"}}",
        sha256(&content(5)),
        sha256(b"changed")
    );
    assert!(json.contains(&changed), "{json}");
    assert!(
        json.contains("\"name\":\"plain.tar.gz\",\"expected\":"),
        "{json}"
    );
    assert!(
        json.contains("\"status\":\"unreadable\",\"error\":\"no such file or directory\"}"),
        "{json}"
    );
    assert!(json.contains("{\"name\":\"back\\\\slash\","), "{json}");
    assert_eq!(json.matches("\"status\":\"ok\"").count(), AWKWARD.len() - 2);
}

#[test]
fn malformed_list_exits_3_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let h = sha256(b"x");
    let cases: &[(&str, String, &str)] = &[
        (
            "garbage",
            format!("{h}  a\nnot a checksum line\n"),
            "line 2: not a checksum line",
        ),
        (
            "crlf",
            format!("{h}  a\r\n"),
            "line 1: line ends with a carriage return (CRLF",
        ),
        ("blank", format!("{h}  a\n\n{h}  b\n"), "line 2: blank line"),
        ("empty", String::new(), "SHA256SUMS has no entries"),
        (
            "upper",
            format!("{}  a\n", h.to_hex().to_uppercase()),
            "line 1: digest is not",
        ),
    ];
    for (file, text, want) in cases {
        fs::write(dir.path().join(file), text).unwrap();
        let out = rget(dir.path(), &["sums", "--check", file]);
        assert_code(&out, 3);
        assert!(out.stdout.is_empty(), "{file}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("rget: \"{file}\": ")), "{err}");
        assert!(err.contains(want), "{file}: {err}");
    }
}

#[test]
fn dot_dot_entry_is_rejected_even_when_it_would_match() {
    let outer = tempfile::tempdir().unwrap();
    let inner = outer.path().join("dist");
    fs::create_dir(&inner).unwrap();
    fs::write(outer.path().join("x"), b"secret").unwrap();
    let list = format!("{}  ../x\n", sha256(b"secret"));
    fs::write(inner.join("SHA256SUMS"), list).unwrap();

    // sha256sum itself would follow the `..` and say OK; we refuse the list.
    let out = rget(&inner, &["sums", "--check", "SHA256SUMS"]);
    assert_code(&out, 3);
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "rget: \"SHA256SUMS\": SHA256SUMS line 1: name \"../x\" has a \"..\" component\n"
    );
}

#[test]
fn stdout_redirected_into_the_directory_is_not_listed() {
    let dir = awkward_dir();
    // A name that is not one of our artifacts, so only the device/inode check can exclude it.
    let list = dir.path().join("list.txt");
    let out = Command::new(RGET)
        .args(["sums", "."])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(fs::File::create(&list).unwrap())
        .output()
        .unwrap();
    assert_code(&out, 0);
    let parsed = sums::parse(&fs::read(&list).unwrap()).unwrap();
    assert_eq!(parsed.get("list.txt"), None);
    assert_eq!(parsed.entries(), &awkward_entries()[..]);

    // And the way a publisher types it, through a real shell that creates the file first.
    let parent = tempfile::tempdir().unwrap();
    let dist = parent.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("app.tar.gz"), b"app").unwrap();
    let shell = run(Command::new("sh")
        .arg("-c")
        .arg(format!("'{RGET}' sums dist > dist/SHA256SUMS.txt"))
        .current_dir(parent.path()));
    assert_code(&shell, 0);
    assert_eq!(
        fs::read_to_string(dist.join("SHA256SUMS.txt")).unwrap(),
        format!("{}  app.tar.gz\n", sha256(b"app"))
    );
}

#[test]
fn own_artifacts_links_and_subdirectories_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("app"), b"app").unwrap();
    fs::write(p.join("SHA256SUMS"), b"old list").unwrap();
    fs::write(p.join("SHA256SUMS.minisig"), b"sig").unwrap();
    fs::write(p.join("SHA256SUMS.tlog-proof"), b"proof").unwrap();
    fs::create_dir(p.join("sub")).unwrap();
    fs::write(p.join("sub/inner"), b"inner").unwrap();
    std::os::unix::fs::symlink("app", p.join("link")).unwrap();
    let previous = p.join("previous.list");
    fs::write(&previous, b"stale").unwrap();

    let out = rget(p, &["sums", ".", "-o", "previous.list"]);
    assert_code(&out, 0);
    assert_eq!(
        fs::read_to_string(&previous).unwrap(),
        format!("{}  app\n", sha256(b"app"))
    );
    let err = stderr(&out);
    assert!(
        err.contains("rget: skipping \"./link\": a symbolic link\n"),
        "{err}"
    );
    assert!(
        err.contains("rget: skipping \"./sub\": a directory\n"),
        "{err}"
    );
    // No temporary file is left behind.
    let mut names: Vec<String> = fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            "SHA256SUMS.tlog-proof",
            "app",
            "link",
            "previous.list",
            "sub"
        ]
    );
}

#[test]
fn file_arguments_are_listed_by_final_component() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::create_dir_all(p.join("a")).unwrap();
    fs::create_dir_all(p.join("b")).unwrap();
    fs::write(p.join("a/tool"), b"one").unwrap();
    fs::write(p.join("b/zzz"), b"two").unwrap();
    fs::write(p.join("b/tool"), b"three").unwrap();

    let out = rget(p, &["sums", "b/zzz", "a/tool"]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        format!("{}  tool\n{}  zzz\n", sha256(b"one"), sha256(b"two"))
    );

    // Two arguments with the same final name: refused, nothing written.
    let out = rget(p, &["sums", "a/tool", "b/tool", "-o", "SHA256SUMS"]);
    assert_code(&out, 2);
    assert_eq!(
        stderr(&out),
        "rget: \"a/tool\" and \"b/tool\" would both be listed as \"tool\"\n"
    );
    assert!(!p.join("SHA256SUMS").exists());
}

#[test]
fn unlistable_names_are_refused_and_nothing_is_written() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    fs::write(p.join("good"), b"good").unwrap();
    fs::write(p.join(std::ffi::OsStr::from_bytes(b"bad\xff")), b"bad").unwrap();
    let out = rget(p, &["sums", ".", "-o", "SHA256SUMS"]);
    assert_code(&out, 2);
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
    assert!(!p.join("SHA256SUMS").exists());

    let empty = tempfile::tempdir().unwrap();
    let out = rget(empty.path(), &["sums", "."]);
    assert_code(&out, 2);
    assert_eq!(stderr(&out), "rget: no files to list\n");
}

/// The examples of `rget sums --help` as written: `--check` is a flag, so `--check --json FILE`
/// works as `--check FILE --json` does.
#[test]
fn the_check_examples_of_the_help_run() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), b"a\n").unwrap();
    assert_code(&rget(dir.path(), &["sums", ".", "-o", "SHA256SUMS"]), 0);
    for argv in [
        &["sums", "--check", "SHA256SUMS"][..],
        &["sums", "--check", "--json", "SHA256SUMS"],
        &["sums", "-c", "SHA256SUMS", "--json"],
    ] {
        let out = rget(dir.path(), argv);
        assert_code(&out, 0);
        assert!(stdout(&out).contains("a.txt"), "{argv:?}: {}", stdout(&out));
    }
    let json = stdout(&rget(
        dir.path(),
        &["sums", "--check", "--json", "SHA256SUMS"],
    ));
    assert!(
        json.starts_with("{\"sums\":\"SHA256SUMS\",\"ok\":true,"),
        "{json}"
    );
}

/// On an 80-column terminal the examples and the exit codes of every `--help` are shown as written:
/// not one of their lines is wrapped (the text after `Examples:` is the same at 80 and 400 columns).
#[test]
fn help_examples_are_not_wrapped_at_80_columns() {
    let commands: [&[&str]; 27] = [
        &[],
        &["get"],
        &["verify"],
        &["cat"],
        &["submit"],
        &["audit"],
        &["sums"],
        &["log"],
        &["log", "init"],
        &["log", "serve"],
        &["log", "participation"],
        &["witness"],
        &["witness", "init"],
        &["witness", "serve"],
        &["keygen"],
        &["release"],
        &["sigsum"],
        &["sigsum", "verify"],
        &["demo"],
        &["self"],
        &["self", "verify"],
        &["self", "upgrade"],
        &["self", "rollback"],
        &["sigsum", "policy"],
        &["policy"],
        &["keys"],
        &["keys", "add"],
    ];
    let help = |args: &[&str], columns: &str| {
        let out = Command::new(RGET)
            .args(args)
            .arg("--help")
            .env("COLUMNS", columns)
            .output()
            .unwrap();
        assert_code(&out, 0);
        let text = stdout(&out);
        let at = text
            .find("Examples:\n")
            .or_else(|| text.find("Example:\n"))
            .unwrap_or_else(|| panic!("{args:?}: no examples in {text}"));
        text[at..].to_owned()
    };
    for args in commands {
        let (narrow, wide) = (help(args, "80"), help(args, "400"));
        assert_eq!(
            narrow,
            wide,
            "rget {} --help wraps its examples",
            args.join(" ")
        );
        assert!(narrow.lines().all(|l| l.chars().count() <= 80), "{narrow}");
    }
}

#[test]
fn help_teaches_and_usage_errors_exit_2() {
    let tmp = std::env::temp_dir();
    let top = rget(&tmp, &["--help"]);
    assert_code(&top, 0);
    let text = stdout(&top);
    assert!(text.contains("transparency log"), "{text}");
    assert!(text.contains("\n  rget demo\n"), "{text}");
    assert!(
        text.contains("  rget sums dist > dist/SHA256SUMS"),
        "{text}"
    );

    let sub = rget(&tmp, &["sums", "--help"]);
    assert_code(&sub, 0);
    let text = stdout(&sub);
    assert!(text.contains("Examples:"), "{text}");
    assert!(text.contains("rget sums --check SHA256SUMS"), "{text}");

    // Each usage error points at the help of the command it is about.
    for (argv, help) in [
        (&["--frobnicate"][..], "rget --help"),
        (&["sums", "--frobnicate"], "rget sums --help"),
        (&["sums"], "rget sums --help"),
        (&["sums", "--check", "A", "B"], "rget sums --help"),
        (&["nosuch"], "rget --help"),
        (&["log", "serve", "--frobnicate"], "rget log serve --help"),
    ] {
        let out = rget(&tmp, argv);
        assert_code(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{argv:?}: {err}");
        assert!(err.starts_with("rget: "), "{err}");
        assert!(err.contains(&format!("'{help}'")), "{argv:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(code(&rget(&tmp, &["--version"])), 0);
}

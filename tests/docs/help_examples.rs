//! The examples of every `--help` text are command lines rget accepts: help that cannot drift.
//!
//! Every command and subcommand is found by walking the "Commands:" lists of the real binary's
//! `--help`, from `rget --help` down. From each help text's "Examples:" block, every rget command
//! line is taken as a person would type it: continuation lines (`\`) joined; the description after
//! a run of two spaces dropped; each `rget` invocation of a shell line found (first word, after `|`,
//! `;`, `&&`, or inside `$(...)`; `cargo run ... -- ARGS` runs rget too); redirections dropped;
//! words split as the shell splits them (quotes removed, `$variables` kept as written, which is a
//! placeholder like any other). Each must parse with rget's own command-line definition
//! (`rget::cli::parses`, the parser of the binary): a usage error, exit code 2 for a person, fails
//! the test, naming the command, the example and clap's reason.

use crate::common::{RGET, assert_ok, run};
use std::process::Command;

/// `rget ARGS --help`, the long help.
fn help(path: &[String]) -> String {
    assert_ok(&run(Command::new(RGET).args(path).arg("--help")))
}

/// The subcommands a help text lists under "Commands:" (without clap's own `help`).
fn subcommands(help: &str) -> Vec<String> {
    let Some((_, rest)) = help.split_once("\nCommands:\n") else {
        return Vec::new();
    };
    rest.lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The shell lines of a help text's "Examples:" block, continuation lines joined, descriptions
/// dropped.
fn example_lines(help: &str) -> Vec<String> {
    let Some((_, rest)) = help.split_once("\nExamples:\n") else {
        return Vec::new();
    };
    let mut lines: Vec<String> = Vec::new();
    let mut continued = false;
    for raw in rest.lines().take_while(|l| !l.trim().is_empty()) {
        let deeper = raw.starts_with("   ");
        if !continued && deeper {
            // A description wrapped onto its own line.
            continue;
        }
        let text = raw.trim();
        let (text, next) = continues(text);
        // The description follows the command after two spaces or more.
        let command = text.split("  ").next().unwrap_or_default();
        push_line(&mut lines, command, continued);
        continued = next;
    }
    lines
}

/// A command line's text without its final `\\`, and whether the next line continues it.
fn continues(text: &str) -> (&str, bool) {
    match text.strip_suffix('\\') {
        Some(t) => (t.trim_end(), true),
        None => (text, false),
    }
}

/// Adds `text` to `lines`: to the last one, after a space, when it continues it.
fn push_line(lines: &mut Vec<String>, text: &str, continued: bool) {
    match lines.last_mut() {
        Some(last) if continued => {
            last.push(' ');
            last.push_str(text);
        }
        _ => lines.push(text.to_owned()),
    }
}

/// Shell words: quotes removed, backslash escapes kept as the character, `$...` kept as written.
/// Stops at an unquoted `)` closing a `$(`.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                any = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                any = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => cur.extend(chars.next()),
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                any = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                any = true;
                cur.push(c);
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// The argument lists of the rget invocations in one shell line.
fn invocations(line: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    // `$(rget ...)`: the text inside, up to its closing parenthesis.
    let mut rest = line;
    while let Some(at) = rest.find("$(") {
        let inner = &rest[at + 2..];
        let end = inner.find(')').unwrap_or(inner.len());
        found.extend(invocations(&inner[..end]));
        rest = &inner[end..];
    }
    let outer = strip_substitutions(line);
    // `&&`, and `&` ending a background command, separate commands as `|` and `;` do.
    for segment in outer.split(['|', ';', '&']) {
        let mut ws = words(segment);
        // Redirections and what they name are the shell's, not rget's.
        let mut i = 0;
        while i < ws.len() {
            let w = &ws[i];
            let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
            if op == ">" || op == ">>" || op == "<" {
                ws.drain(i..(i + 2).min(ws.len()));
            } else if op.starts_with('>') || op.starts_with('<') {
                ws.remove(i);
            } else {
                i += 1;
            }
        }
        match ws.first().map(String::as_str) {
            Some("rget") => found.push(ws[1..].to_vec()),
            Some("cargo") => {
                if let Some(dash) = ws.iter().position(|w| w == "--") {
                    found.push(ws[dash + 1..].to_vec());
                }
            }
            _ => {}
        }
    }
    found
}

/// `line` with every `$(...)` replaced by a placeholder word.
fn strip_substitutions(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("$(") {
        out.push_str(&rest[..at]);
        out.push_str("SUBST");
        let inner = &rest[at + 2..];
        rest = inner.find(')').map_or("", |end| &inner[end + 1..]);
    }
    out.push_str(rest);
    out
}

#[test]
fn the_harness_reads_examples_as_the_shell_would() {
    let help = "Usage...\n\nExamples:\n  rget a --x 'b c'    what it does\n                      and more\n  \
                vkey=$(rget log init --origin o d | tail -n1)\n  rget s \\\n    --y \"$v/z\" > out\n  \
                cargo run --release -- demo   from a clone\n\nExit codes: ...\n";
    let lines = example_lines(help);
    assert_eq!(
        lines,
        [
            "rget a --x 'b c'",
            "vkey=$(rget log init --origin o d | tail -n1)",
            "rget s --y \"$v/z\" > out",
            "cargo run --release -- demo",
        ]
    );
    let all: Vec<Vec<String>> = lines.iter().flat_map(|l| invocations(l)).collect();
    assert_eq!(
        all,
        [
            vec!["a", "--x", "b c"],
            vec!["log", "init", "--origin", "o", "d"],
            vec!["s", "--y", "$v/z"],
            vec!["demo"],
        ]
    );
    assert!(rget::cli::parses(["get", "--frob", "u"]).is_err());
    assert!(rget::cli::parses(["get", "https://a.example/f"]).is_ok());
}

#[test]
fn every_example_of_every_help_text_is_a_command_line_rget_accepts() {
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut checked = 0;
    let mut commands = 0;
    let mut failures = Vec::new();
    while let Some(path) = queue.pop() {
        let text = help(&path);
        commands += 1;
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
        for line in example_lines(&text) {
            for args in invocations(&line) {
                checked += 1;
                if let Err(why) = rget::cli::parses(&args) {
                    failures.push(format!("rget {} --help: `{line}`: {why}", path.join(" ")));
                }
            }
        }
    }
    eprintln!("{checked} examples in the help of {commands} commands");
    // Every command is reached (rget, its 15 commands and their subcommands), and the examples are
    // really found: a harness that finds none would pass whatever the help says.
    assert!(commands >= 25, "only {commands} help texts found");
    assert!(checked >= 60, "only {checked} examples found");
    assert!(
        failures.is_empty(),
        "examples rget refuses:\n{}",
        failures.join("\n")
    );
}

/// The shell lines of the ```sh blocks of a Markdown document: continuation lines joined,
/// comment lines dropped, and a trailing comment (after whitespace and `#`) cut off.
fn markdown_shell_lines(doc: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut in_block = false;
    let mut continued = false;
    for raw in doc.lines() {
        let t = raw.trim();
        if t.starts_with("```") {
            in_block = !in_block && t == "```sh";
            continued = false;
            continue;
        }
        if !in_block || (!continued && (t.is_empty() || t.starts_with('#'))) {
            continue;
        }
        let t = match t.find(" #") {
            Some(at) if !t[..at].contains(['\'', '"']) => t[..at].trim_end(),
            _ => t,
        };
        let (text, next) = continues(t);
        push_line(&mut lines, text, continued);
        continued = next;
    }
    lines
}

/// Every rget command line in the shell blocks of README.md, SECURITY.md and docs/operations.md
/// parses with rget's own command-line definition: the documents cannot drift from the flags.
/// (The first deployment's block also runs whole, in `walkthrough`; the systemd units' command
/// lines run in `systemd`.) Environment assignments before `rget` (`RGET_PASSWORD=... rget`) are
/// the shell's.
#[test]
fn every_rget_command_line_of_the_documents_parses() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut checked = 0;
    let mut failures = Vec::new();
    for doc in ["README.md", "SECURITY.md", "docs/operations.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).expect("the document");
        for line in markdown_shell_lines(&text) {
            // `VAR=value rget ...`: the assignments are the shell's.
            let line = line
                .split_whitespace()
                .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                .collect::<Vec<_>>()
                .join(" ");
            for args in invocations(&line) {
                checked += 1;
                if let Err(why) = rget::cli::parses(&args) {
                    failures.push(format!("{doc}: `{line}`: {why}"));
                }
            }
        }
    }
    eprintln!("{checked} rget command lines in the documents");
    assert!(checked >= 40, "only {checked} command lines found");
    assert!(
        failures.is_empty(),
        "command lines of the documents rget refuses:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_markdown_reader_joins_lines_and_drops_comments() {
    let doc = "text\n```sh\n# a comment\nrget get URL   # why\nrget release dist/ \\\n    --url U\n```\n\
               ```\nrget not-shell\n```\n";
    assert_eq!(
        markdown_shell_lines(doc),
        ["rget get URL", "rget release dist/ --url U"]
    );
}

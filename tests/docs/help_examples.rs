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

use super::shell::{
    example_lines, help, invocations, markdown_shell_lines, rget_invocations, subcommands,
};

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
            for args in rget_invocations(&line) {
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

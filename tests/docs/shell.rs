//! Reading shell command lines out of the documents as a person reads them: the "Examples:" blocks
//! of every `--help` text and the ```sh blocks of the Markdown documents, continuation lines joined,
//! descriptions and comments dropped, and the `rget` invocations of a line found as the shell would
//! split it. Shared by the test that parses every example (`help_examples`) and the one that runs
//! them (`examples`).

use crate::common::{RGET, assert_ok, run};
use std::process::Command;

/// `rget ARGS --help`, the long help.
pub fn help(path: &[String]) -> String {
    assert_ok(&run(Command::new(RGET).args(path).arg("--help")))
}

/// The subcommands a help text lists under "Commands:" (without clap's own `help`).
pub fn subcommands(help: &str) -> Vec<String> {
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

/// The shell lines of a help text's "Examples:" (or, with one, "Example:") block, continuation
/// lines joined, descriptions dropped.
pub fn example_lines(help: &str) -> Vec<String> {
    let Some((_, rest)) = help
        .split_once("\nExamples:\n")
        .or_else(|| help.split_once("\nExample:\n"))
    else {
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
pub fn continues(text: &str) -> (&str, bool) {
    match text.strip_suffix('\\') {
        Some(t) => (t.trim_end(), true),
        None => (text, false),
    }
}

/// Adds `text` to `lines`: to the last one, after a space, when it continues it.
pub fn push_line(lines: &mut Vec<String>, text: &str, continued: bool) {
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
pub fn words(s: &str) -> Vec<String> {
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
pub fn invocations(line: &str) -> Vec<Vec<String>> {
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

/// [`invocations`] of a document's line, where `VAR=value rget ...` sets the shell's variables
/// before the command.
pub fn rget_invocations(line: &str) -> Vec<Vec<String>> {
    let line = line
        .split_whitespace()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .collect::<Vec<_>>()
        .join(" ");
    invocations(&line)
}

/// `line` with every `$(...)` replaced by a placeholder word.
pub fn strip_substitutions(line: &str) -> String {
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

/// A ```sh block of a Markdown document: its shell lines, and whether it is the block README.md
/// marks as its first deployment (after `<!-- walkthrough`), which `walkthrough` runs whole.
pub struct ShellBlock {
    pub walkthrough: bool,
    pub lines: Vec<String>,
}

/// The shell lines of the ```sh blocks of a Markdown document: continuation lines joined,
/// comment lines dropped, and a trailing comment (after whitespace and `#`) cut off.
pub fn markdown_shell_lines(doc: &str) -> Vec<String> {
    markdown_shell_blocks(doc)
        .into_iter()
        .flat_map(|b| b.lines)
        .collect()
}

/// [`markdown_shell_lines`], block by block.
pub fn markdown_shell_blocks(doc: &str) -> Vec<ShellBlock> {
    let mut blocks: Vec<ShellBlock> = Vec::new();
    let mut in_block = false;
    let mut continued = false;
    let mut marked = false;
    for raw in doc.lines() {
        let t = raw.trim();
        if t.starts_with("<!-- walkthrough") {
            marked = true;
        }
        if t.starts_with("```") {
            in_block = !in_block && t == "```sh";
            if in_block {
                blocks.push(ShellBlock {
                    walkthrough: std::mem::take(&mut marked),
                    lines: Vec::new(),
                });
            }
            continued = false;
            continue;
        }
        let Some(block) = blocks.last_mut().filter(|_| in_block) else {
            continue;
        };
        if !continued && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        let t = match t.find(" #") {
            Some(at) if !t[..at].contains(['\'', '"']) => t[..at].trim_end(),
            _ => t,
        };
        let (text, next) = continues(t);
        push_line(&mut block.lines, text, continued);
        continued = next;
    }
    blocks
}

//! Every example of the documents runs: each `rget` command line of every `--help` text's
//! "Examples:" block and of the ```sh blocks of README.md, SECURITY.md and docs/operations.md is run
//! with `bash -e -o pipefail`, as written, in a world where what it names exists ([`DocWorld`]):
//! its hosts on loopback (reached through `HTTPS_PROXY`, so URLs stay as written), its files in the
//! working directory, and `HOME` inside it. Each example gets a fresh copy of the world's template
//! directory, and must do what the document says: exit 0 (and leave the file it says it writes),
//! serve until stopped (the `serve` commands: they must announce their address, then exit 0 on
//! SIGTERM), or, for the few examples whose point needs an earlier run (the list is [`EXPECTED`]),
//! fail with the exit code and message the help gives for that case.
//!
//! What differs on loopback, and nothing else, is substituted in the line before it runs:
//! - `/srv/` and `/usr/local/bin/` become directories of the example's copy;
//! - the listen addresses (`127.0.0.1:8080`, `[::]:8080`, …) become free ports;
//! - the public Sigsum logs a named policy lists, which a test cannot reach and whose keys it does
//!   not hold: `-P`/`--policy`/`--sigsum-policy sigsum-generic-2025-1` becomes the policy file of
//!   the world's own Sigsum log and witnesses (`sigsum-policy.txt`; the proof examples under the
//!   named policy `sigsum-test-2025-3` run as written, against a proof that log published);
//! - `rget self ...` gets `--pins DIR`: the pins compiled into rget are placeholders until the first
//!   real release (README says so), and no test holds their key.
//!
//! Lines without an `rget` invocation (`curl`, `systemctl`, `git`, `sudo -u … rget`, the bootstrap's
//! scripts) are the shell's and the system's; README's first deployment runs whole in
//! `walkthrough`; the demo's examples run in `demo`. The examples that pipe into `jq` run in an
//! ignored test of their own (CI installs jq).

use super::shell::{
    example_lines, help, markdown_shell_blocks, rget_invocations, subcommands, words,
};
use super::world::DocWorld;
use crate::common::{RGET, free_port, text};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One example: where it is, the shell variables set by the lines before it in its block, the line.
#[derive(Clone, Debug)]
struct Example {
    sources: Vec<String>,
    preamble: String,
    line: String,
}

/// What an example must do, beyond exit 0.
enum Expect {
    /// Exit 0, leaving these files (relative to the working directory) non-empty, and printing
    /// this on standard output or error (`""`: anything).
    Succeeds(&'static [&'static str], &'static str),
    /// Announce `listening on …`, then exit 0 on SIGTERM.
    Serves,
    /// Exit with this code, saying this: the example's point is a step after an earlier run.
    Refused(i32, &'static str),
    /// Run by the named test, whose function must exist in that file.
    Elsewhere(&'static str, &'static str),
}

/// The examples with more to check than exit 0, matched by a piece of their line (first match).
const EXPECTED: &[(&str, Expect)] = &[
    // The demo builds a bootstrap with cargo: its own test runs it, --json checked field by field.
    (
        "demo",
        Expect::Elsewhere(
            "tests/demo.rs",
            "the_demo_installs_the_verified_rget_and_refuses_three_attacks",
        ),
    ),
    // `--acknowledge INDEX` acknowledges an anomaly an earlier run reported; in a log without
    // anomalies, the index is refused as the help says (exit 2), naming it.
    (
        "--acknowledge 1234",
        Expect::Refused(2, "no log has an open anomaly at index 1234"),
    ),
    (" serve ", Expect::Serves),
    (
        "get https://example.org/rel/v1.2/tool-1.2-linux.tar.gz",
        Expect::Succeeds(&["tool-1.2-linux.tar.gz"], "verified"),
    ),
    (
        "-o /usr/local/bin/tool",
        Expect::Succeeds(&["usr/local/bin/tool"], "verified"),
    ),
    ("| tar x", Expect::Succeeds(&["unpacked.txt"], "")),
    (
        "--create-dirs --output-dir bin",
        Expect::Succeeds(&["bin/a", "bin/b"], ""),
    ),
    ("tools/", Expect::Succeeds(&["tools/a", "tools/b"], "")),
    ("-P 8 -i urls.txt", Expect::Succeeds(&["a", "b"], "")),
    (
        "sigsum policy sigsum-generic-2025-1 > pinned/policy",
        Expect::Succeeds(&["pinned/policy"], ""),
    ),
    (
        "install.sh | sh",
        Expect::Succeeds(&[], "installed by install.sh"),
    ),
    (
        "rget log init --origin log.example.org/rget --url https://log.example.org/rget/ /srv/rget-log > log.line",
        Expect::Succeeds(&["log.line", "srv/rget-log/log.pub"], ""),
    ),
    (
        "witness init --name witness.example.org/w1 --url https://witness.example.org/w1/ /srv/rget-witness > w1.line",
        Expect::Succeeds(&["w1.line", "srv/rget-witness/witness.pub"], ""),
    ),
    (
        "rget keygen -W -p release.pub -s release.key",
        Expect::Succeeds(&["release.pub", "release.key"], ""),
    ),
    (
        "--password-file pw -s ci.key",
        Expect::Succeeds(&["ci.key"], ""),
    ),
    (
        "keygen --ssh -s sigsum.key",
        Expect::Succeeds(&["sigsum.key", "sigsum.key.pub"], ""),
    ),
    (
        "rget keygen",
        Expect::Succeeds(&["minisign.pub", "home/.minisign/minisign.key"], ""),
    ),
    (
        "sums dist/ -o dist/SHA256SUMS",
        Expect::Succeeds(&["dist/SHA256SUMS"], ""),
    ),
    (
        "sums -o SHA256SUMS app.tar.gz app.zip",
        Expect::Succeeds(&["SHA256SUMS"], ""),
    ),
    (
        "-o SHA256SUMS.tlog-proof",
        Expect::Succeeds(&["SHA256SUMS.tlog-proof"], ""),
    ),
    ("keys add", Expect::Succeeds(&[], "added key ID")),
    ("sigsum verify", Expect::Succeeds(&[], "")),
    ("-o witnesses", Expect::Succeeds(&["witnesses"], "")),
    ("-o logs.policy", Expect::Succeeds(&["logs.policy"], "")),
];

/// Lines that need a program a fresh machine may lack; they run in the ignored test.
const OUTSIDE_TOOLS: &[&str] = &["jq"];

/// The examples of every `--help` text, from `rget --help` down, and of the documents' shell
/// blocks (without README's first deployment, which `walkthrough` runs whole); each line once.
fn examples() -> (Vec<Example>, usize) {
    let mut found: Vec<Example> = Vec::new();
    let mut add = |source: String, preamble: &str, line: &str| {
        if let Some(e) = found
            .iter_mut()
            .find(|e| e.line == line && e.preamble == preamble)
        {
            e.sources.push(source);
        } else {
            found.push(Example {
                sources: vec![source],
                preamble: preamble.to_owned(),
                line: line.to_owned(),
            });
        }
    };
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = queue.pop() {
        let text = help(&path);
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            queue.push(p);
        }
        let name = format!("rget {} --help", path.join(" "));
        blocks.push((name.replace("  ", " "), example_lines(&text)));
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let mut walkthrough = 0;
    for doc in ["README.md", "SECURITY.md", "docs/operations.md"] {
        let text = std::fs::read_to_string(format!("{root}/{doc}")).expect("the document");
        for block in markdown_shell_blocks(&text) {
            if block.walkthrough {
                walkthrough += block.lines.len();
                continue;
            }
            blocks.push((doc.to_owned(), block.lines));
        }
    }
    for (source, lines) in blocks {
        // `name=value` lines (no command) set variables for the lines after them in the block.
        let mut preamble = String::new();
        for line in lines {
            if is_assignment(&line) {
                preamble.push_str(&line);
                preamble.push('\n');
            } else if !rget_invocations(&line).is_empty() {
                add(source.clone(), &preamble, &line);
            }
        }
    }
    (found, walkthrough)
}

/// A shell line that only assigns variables.
fn is_assignment(line: &str) -> bool {
    let w = words(line);
    !w.is_empty()
        && w.iter().all(|w| {
            w.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

fn expectation(line: &str) -> &'static Expect {
    EXPECTED
        .iter()
        .find(|(piece, _)| line.contains(piece))
        .map(|(_, e)| e)
        .unwrap_or(&Expect::Succeeds(&[], ""))
}

/// The line with what differs on loopback substituted (see the module documentation).
fn substituted(text: &str, scene: &Path, world: &DocWorld) -> String {
    let dir = scene.display();
    let mut s = text
        .replace("/srv/", &format!("{dir}/srv/"))
        .replace("/usr/local/bin/", &format!("{dir}/usr/local/bin/"));
    for listen in [
        "127.0.0.1:8080",
        "127.0.0.1:8081",
        "127.0.0.1:7380",
        "127.0.0.1:7381",
        "127.0.0.1:7382",
    ] {
        s = s.replace(listen, &format!("127.0.0.1:{}", free_port()));
    }
    let ipv6 = TcpListener::bind("[::1]:0").is_ok();
    s = s.replace(
        "[::]:8080",
        &if ipv6 {
            format!("[::]:{}", free_port())
        } else {
            format!("127.0.0.1:{}", free_port())
        },
    );
    for (from, to) in [
        ("-P sigsum-generic-2025-1", "-p sigsum-policy.txt"),
        (
            "--policy sigsum-generic-2025-1",
            "--policy sigsum-policy.txt",
        ),
        (
            "--sigsum-policy sigsum-generic-2025-1",
            "--sigsum-policy sigsum-policy.txt",
        ),
    ] {
        s = s.replace(from, to);
    }
    for sub in ["verify", "upgrade", "rollback"] {
        s = s.replace(
            &format!("rget self {sub}"),
            &format!("rget self {sub} --pins {}", world.pins.display()),
        );
    }
    s
}

/// Copies the template into `scene` and prepares what the example's command needs there: an empty
/// directory for `keygen` (it refuses to overwrite keys), no `srv/` for `init` (it refuses an
/// existing log), and for `self` an installed rget with an `rget.previous` in `bin/` (on `PATH`)
/// and `~/.local/bin`. Returns the directory to put first on `PATH`.
fn prepare(world: &DocWorld, scene: &Path, args: &[String]) -> PathBuf {
    let rget_dir = Path::new(RGET).parent().expect("the binary's directory");
    let first: Vec<&str> = args.iter().take(2).map(String::as_str).collect();
    if first.first() == Some(&"keygen") {
        std::fs::create_dir_all(scene.join("home")).unwrap();
        std::fs::copy(world.template.join("pw"), scene.join("pw")).unwrap();
        return rget_dir.to_path_buf();
    }
    let cp = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", world.template.display()))
        .arg(scene)
        .status()
        .expect("run cp");
    assert!(cp.success(), "cp -a the template");
    if first == ["log", "init"] || first == ["witness", "init"] {
        std::fs::remove_dir_all(scene.join("srv")).unwrap();
    }
    if first.first() != Some(&"self") {
        return rget_dir.to_path_buf();
    }
    // Hard links, not copies of the 100 MB binary: an upgrade or rollback replaces names by
    // rename and never writes into an installed file (the test checks RGET is untouched).
    for dir in [scene.join("bin"), scene.join("home/.local/bin")] {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::hard_link(RGET, dir.join("rget")).unwrap();
        std::fs::hard_link(world.self_release("0.0.9"), dir.join("rget.previous")).unwrap();
    }
    scene.join("bin")
}

/// Runs one example in a fresh copy of the world; `Err` says how it went wrong.
fn run(world: &DocWorld, scenes: &Path, n: usize, e: &Example) -> Result<(), String> {
    let expect = expectation(&e.line);
    if let Expect::Elsewhere(file, test) = expect {
        let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
            .map_err(|err| format!("{file}: {err}"))?;
        return match source.contains(&format!("fn {test}()")) {
            true => Ok(()),
            false => Err(format!("{file} has no test {test}")),
        };
    }
    let scene = scenes.join(format!("{n:03}"));
    std::fs::create_dir_all(&scene).unwrap();
    let args = rget_invocations(&e.line)
        .into_iter()
        .next()
        .unwrap_or_default();
    let bin = prepare(world, &scene, &args);
    let preamble = substituted(&e.preamble, &scene, world);
    let line = substituted(&e.line, &scene, world);
    let serves = matches!(expect, Expect::Serves);
    let script = match serves {
        true => format!("{preamble}exec {line}\n"),
        false => format!("{preamble}{line}\n"),
    };
    let mut cmd = Command::new("bash");
    // Its own process group: a timeout stops the pipeline's every process, not only bash.
    cmd.process_group(0)
        .args(["-e", "-o", "pipefail", "-c", &script])
        .current_dir(&scene)
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .envs(world.env(&scene))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let rget_before = std::fs::metadata(RGET).and_then(|m| m.modified()).ok();
    let result = match serves {
        true => serve(cmd),
        false => finish(cmd, expect),
    };
    assert_eq!(
        std::fs::metadata(RGET).and_then(|m| m.modified()).ok(),
        rget_before,
        "an example wrote into the rget binary of the tests: {}",
        e.line
    );
    let result = result.map_err(|why| format!("{why}\n  ran: {script}"))?;
    if let Expect::Succeeds(files, _) = expect {
        for f in *files {
            let len = std::fs::metadata(scene.join(f))
                .map(|m| m.len())
                .unwrap_or(0);
            if len == 0 {
                return Err(format!("{f} was not written\n{result}"));
            }
        }
    }
    // Only what a failure shows is kept: a passing example's copy goes (the self ones are big).
    let _ = std::fs::remove_dir_all(&scene);
    Ok(())
}

/// Runs a command that must finish (in 180 s) as `expect` says; returns its output for messages.
fn finish(mut cmd: Command, expect: &Expect) -> Result<String, String> {
    let child = cmd.spawn().map_err(|e| format!("bash: {e}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(out) => out.map_err(|e| format!("wait: {e}"))?,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            return Err("still running after 180 s".into());
        }
    };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let shown = format!("exit {}\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    let said = |piece: &str| stdout.contains(piece) || stderr.contains(piece);
    // `jq .field` prints `null`, and exits 0, for a field the JSON does not have.
    if stdout.trim() == "null" {
        return Err(format!("jq found no such field\n{shown}"));
    }
    match expect {
        Expect::Succeeds(_, says) if out.status.success() && said(says) => Ok(shown),
        Expect::Refused(code, says) if out.status.code() == Some(*code) && said(says) => Ok(shown),
        _ => Err(shown),
    }
}

/// Runs a server command: it must print `listening on ` first, then exit 0 on SIGTERM.
fn serve(mut cmd: Command) -> Result<String, String> {
    let mut child = cmd.spawn().map_err(|e| format!("bash: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let _ = BufReader::new(stdout).read_line(&mut first);
        let _ = tx.send(first);
    });
    let first = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let limit = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > limit {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    let shown = format!("first line {first:?}, then {status} on SIGTERM\nstderr:\n{err}");
    match first.starts_with("listening on ") && status.success() {
        true => Ok(shown),
        false => Err(shown),
    }
}

/// Runs the examples `chosen` picks; every failure is listed, with what it printed.
fn run_examples(chosen: impl Fn(&Example) -> bool, at_least: usize) {
    let (all, walkthrough) = examples();
    let picked: Vec<&Example> = all.iter().filter(|e| chosen(e)).collect();
    eprintln!(
        "{} of {} examples ({walkthrough} lines of the first deployment run in walkthrough)",
        picked.len(),
        all.len()
    );
    assert!(
        picked.len() >= at_least,
        "only {} examples found",
        picked.len()
    );
    // Every entry of the table is still about an example: a reworded example must not leave its
    // check behind, silently unused.
    for (piece, _) in EXPECTED {
        assert!(
            all.iter().any(|e| e.line.contains(piece)),
            "no example contains {piece:?} any more: update EXPECTED in {}",
            file!()
        );
    }
    let world = DocWorld::new();
    let scenes = world.root.join("scenes");
    let mut failures = Vec::new();
    for (n, e) in picked.iter().enumerate() {
        let started = Instant::now();
        let result = run(&world, &scenes, n, e);
        eprintln!(
            "{:>5.1} s  {}  [{}]",
            started.elapsed().as_secs_f64(),
            e.line,
            if result.is_ok() { "ok" } else { "FAILED" }
        );
        if let Err(why) = result {
            failures.push(format!("{} `{}`:\n{why}", e.sources.join(", "), e.line));
        }
    }
    // The hosts were reached as the documents name them, through the proxy.
    let targets = world.tunnel.targets();
    assert!(
        targets.iter().any(|t| t == "example.org:443"),
        "no example reached example.org: {targets:?}"
    );
    assert!(
        failures.is_empty(),
        "{} examples do not do what the documents say:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn needs_outside_tool(e: &Example) -> bool {
    OUTSIDE_TOOLS
        .iter()
        .any(|t| e.line.contains(&format!("| {t}")))
}

#[test]
fn every_example_of_the_help_and_the_documents_runs() {
    run_examples(|e| !needs_outside_tool(e), 80);
}

#[test]
#[ignore = "needs jq: see .ci/run"]
fn the_examples_that_pipe_into_jq_run() {
    let jq = Command::new("jq").arg("--version").output();
    assert!(jq.is_ok_and(|o| o.status.success()), "jq is not installed");
    run_examples(needs_outside_tool, 2);
}

//! The systemd units in `docs/systemd/` work as written: `systemd-analyze verify` accepts every one
//! without a warning (with the binary this test run built in place of `/usr/local/bin/rget`), every
//! flag their `ExecStart=` lines give rget is one its `--help` lists, and the log's and the witness's
//! command lines, run as written (paths moved under a temporary directory, a free port), serve: the
//! log takes a submission through its proxy's client header and has it cosigned by the witness, and
//! both stop with exit 0 on SIGTERM, as the units' `KillSignal=` expects.

use crate::common::log::{Server, agent, answer, init_log, init_witness, pct, sums};
use crate::common::{RGET, exit, run, stderr, tempdir, text};
use rget::core::policy::Policy;
use rget::core::verify::verify_logged_sums;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the units (and docs/operations.md) install rget.
const INSTALLED_RGET: &str = "/usr/local/bin/rget";

/// Every unit the guide ships: a new one must be added here, so that it is checked too.
const UNITS: [&str; 5] = [
    "rget-alert@.service",
    "rget-audit.service",
    "rget-audit.timer",
    "rget-log.service",
    "rget-witness.service",
];

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/systemd")
}

/// `(file name, text)` of every unit in `docs/systemd/`, which must be exactly [`UNITS`].
fn units() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(units_dir())
        .expect("docs/systemd/")
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    found.sort();
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names, UNITS,
        "docs/systemd/ holds other files than the units this test checks"
    );
    found
}

/// The `ExecStart=` command lines of a unit that run rget, as words (systemd's prefixes such as
/// `-` dropped; the units quote nothing).
fn rget_exec_starts(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|l| l.strip_prefix("ExecStart="))
        .map(|cmd| cmd.trim_start_matches(['-', '@', ':', '+', '!']))
        .map(|cmd| {
            cmd.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|words| words.first().map(String::as_str) == Some(INSTALLED_RGET))
        .collect()
}

/// The subcommand words of an rget command line (`log serve`, `audit`): those before the first
/// path or flag.
fn subcommand(words: &[String]) -> Vec<String> {
    words[1..]
        .iter()
        .take_while(|w| !w.starts_with('/') && !w.starts_with('-'))
        .cloned()
        .collect()
}

/// Whether `help` (the output of `--help`) lists the option `flag` (`--listen`) as one of its own.
fn help_lists(help: &str, flag: &str) -> bool {
    help.lines().map(str::trim_start).any(|l| {
        let l = l
            .split_once(", ")
            .filter(|(short, _)| short.len() == 2)
            .map_or(l, |(_, long)| long);
        l.strip_prefix(flag)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '=']))
    })
}

#[test]
fn exec_start_lines_use_only_flags_rget_accepts() {
    let mut checked = Vec::new();
    for (name, unit) in units() {
        for words in rget_exec_starts(&unit) {
            let sub = subcommand(&words);
            let help = run(Command::new(RGET).args(&sub).arg("--help"));
            assert!(
                help.status.success(),
                "{name}: rget {sub:?} --help: {}",
                stderr(&help)
            );
            let help = text(&help.stdout);
            for w in words.iter().filter(|w| w.starts_with("--")) {
                let flag = w.split_once('=').map_or(w.as_str(), |(f, _)| f);
                assert!(
                    help_lists(&help, flag),
                    "{name}: `rget {}` is given {flag}, which its --help does not list:\n{help}",
                    sub.join(" ")
                );
            }
            checked.push(format!("{name}: rget {}", sub.join(" ")));
        }
    }
    assert_eq!(
        checked,
        [
            "rget-audit.service: rget audit",
            "rget-log.service: rget log serve",
            "rget-witness.service: rget witness serve",
        ]
    );
    // The check itself can fail: a flag rget does not have is not found.
    let help = text(&run(Command::new(RGET).args(["log", "serve", "--help"])).stdout);
    assert!(help_lists(&help, "--witnesses") && !help_lists(&help, "--witness"));
}

/// A unit's rget command line as it would run on a host whose root is `root`: every absolute path
/// moved under `root`, `--listen` on a free loopback port.
fn relocated(words: &[String], root: &Path) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut after_listen = false;
    for w in &words[1..] {
        out.push(if after_listen {
            "127.0.0.1:0".into()
        } else if let Some(p) = w.strip_prefix('/') {
            root.join(p).into_os_string()
        } else {
            w.into()
        });
        after_listen = w == "--listen";
    }
    out
}

fn unit_command(name: &str) -> Vec<String> {
    let (_, text) = units().into_iter().find(|(n, _)| n == name).unwrap();
    let mut lines = rget_exec_starts(&text);
    assert_eq!(lines.len(), 1, "{name}: one ExecStart running rget");
    lines.remove(0)
}

#[test]
fn the_log_and_witness_units_serve_as_written() {
    let tmp = tempdir();
    let root = tmp.path();
    // What docs/operations.md has the operator do before enabling the units, under `root`.
    let log_dir = root.join("srv/rget-log");
    let (made, log_vkey) = init_log(&root.join("srv"), "log.example.org/rget");
    std::fs::rename(made, &log_dir).unwrap();
    let witness_vkey = init_witness(&root.join("srv/rget-witness"), "witness.example.org/w1");
    std::fs::create_dir_all(root.join("etc/rget-witness")).unwrap();
    std::fs::write(
        root.join("etc/rget-witness/policy"),
        format!("log {log_vkey}\nquorum none\n"),
    )
    .unwrap();

    let witness_cmd = relocated(&unit_command("rget-witness.service"), root);
    let witness = Server::spawn(
        &witness_cmd
            .iter()
            .map(OsString::as_os_str)
            .collect::<Vec<_>>(),
    );
    std::fs::create_dir_all(root.join("etc/rget-log")).unwrap();
    std::fs::write(
        root.join("etc/rget-log/witnesses"),
        format!("witness w1 {witness_vkey} {}/\nquorum w1\n", witness.base),
    )
    .unwrap();
    let log_cmd = relocated(&unit_command("rget-log.service"), root);
    let log = Server::spawn(&log_cmd.iter().map(OsString::as_os_str).collect::<Vec<_>>());

    // The unit's --client-address-header: the proxy in front names the client.
    let url = "https://example.org/rel/v1/SHA256SUMS";
    let add = format!("{}/add?url={}", log.base, pct(url));
    let without = answer(agent().post(&add).send(&sums(1)[..])).unwrap();
    assert_eq!(without.status, 400, "{}", without.text());
    let proxied = agent().post(&add).header("X-Real-IP", "192.0.2.7");
    let answer = answer(proxied.send(&sums(1)[..])).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let policy = Policy::parse(&format!(
        "log {log_vkey}\nwitness w1 {witness_vkey}\nquorum w1\n"
    ))
    .unwrap();
    let proved = verify_logged_sums(&policy, url, &sums(1), &answer.body)
        .expect("the proof verifies under a policy requiring the witness's cosignature");
    assert_eq!(proved.index, 0);

    for (what, server) in [("log", log), ("witness", witness)] {
        let (status, err) = server.stop();
        assert!(
            status.success(),
            "the {what} did not exit 0 on SIGTERM: {status}: {err}"
        );
        assert!(err.contains("msg=stopped"), "{what}: {err}");
    }
}

#[test]
fn the_audit_unit_command_line_parses() {
    // It needs a reachable https log to run for real; here its arguments must parse (not exit 2)
    // and it must fail on the first file the unit expects the operator to provide, naming it.
    let tmp = tempdir();
    let args = relocated(&unit_command("rget-audit.service"), tmp.path());
    let out = run(Command::new(RGET).args(&args));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(exit::LOCAL_IO), "{err}");
    assert!(err.contains(&tmp.path().display().to_string()), "{err}");
}

#[test]
#[ignore = "needs systemd-analyze: see .ci/run"]
fn units_pass_systemd_analyze_verify() {
    let version = Command::new("systemd-analyze").arg("--version").output();
    let Ok(version) = version else {
        panic!("systemd-analyze is not installed (.ci/run installs the systemd package)");
    };
    assert!(version.status.success(), "systemd-analyze --version failed");

    let tmp = tempdir();
    // `verify` requires every ExecStart= program to exist: the binary this test run built stands
    // in for the installed one.
    let mut paths = Vec::new();
    for (name, text) in units() {
        let path = tmp.path().join(&name);
        std::fs::write(&path, text.replace(INSTALLED_RGET, RGET)).unwrap();
        paths.push(path);
    }
    let verify = |paths: &[PathBuf]| {
        let out = run(Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .args(paths)
            .current_dir(tmp.path()));
        let err = stderr(&out);
        // Only what concerns these units: a host's own units may draw warnings of their own.
        let about_ours: Vec<&str> = err
            .lines()
            .filter(|l| {
                UNITS
                    .iter()
                    .any(|u| l.contains(u.trim_end_matches(".service")))
            })
            .collect();
        (out.status.success(), about_ours.join("\n"), err)
    };
    let (ok, ours, err) = verify(&paths);
    assert!(ok && ours.is_empty(), "systemd-analyze verify: {err}");

    // The check can fail: an unknown setting is reported as a warning (with exit 0, which is why
    // standard error is read).
    let log = tmp.path().join("rget-log.service");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(
        &log,
        text.replace("[Service]\n", "[Service]\nProtectEverything=yes\n"),
    )
    .unwrap();
    let (_, ours, err) = verify(&paths);
    assert!(
        ours.contains("ProtectEverything"),
        "an unknown key went unreported: {err}"
    );
}

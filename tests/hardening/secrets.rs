//! Key and password files others can change are refused, as ssh refuses such private keys: the
//! log's `log.key`, the witness's `witness.key`, `rget log init --key`, the minisign secret key of
//! `rget release` and its `--password-file`. Each refusal is exit 7 and one line naming the file and
//! the fix (`chmod go-w FILE`), before anything is signed, served or logged. A FIFO where a key
//! belongs is refused at once; a password through a pipe still works.

use crate::common::{
    RGET, assert_ok, log as logc, mkfifo, output_with_stdin, release, tempdir, text,
};
use release::World;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LOCAL_IO: i32 = rget::core::exit::ExitCode::LocalIo.code();

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[track_caller]
fn assert_refused_as_writable(o: &Output, file: &Path) {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(LOCAL_IO), "{err}");
    let line = err.lines().last().unwrap_or_default();
    assert!(
        line.contains(&format!("{}", file.display()))
            && line.contains("writable by other users")
            && line.contains(&format!("chmod go-w {}", file.display())),
        "{err}"
    );
}

/// `rget log serve` and `rget witness serve` refuse to start with a key others can write, and
/// start once it is private; `rget log init --key` refuses such a key too.
#[test]
fn log_and_witness_keys_others_can_write_are_refused() {
    let t = tempdir();
    let (dir, vkey) = logc::init_log(t.path(), "secrets.example/log");
    let key = dir.join("log.key");
    for mode in [0o666, 0o620, 0o602] {
        chmod(&key, mode);
        let args = [
            "log",
            "serve",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        match logc::Server::try_spawn(&args) {
            Ok(_) => panic!("the log served with log.key mode {mode:o}"),
            Err((status, err)) => {
                assert_eq!(status.code(), Some(LOCAL_IO), "{err}");
                assert!(
                    err.contains(&format!("chmod go-w {}", key.display())),
                    "{err}"
                );
                assert!(err.contains(&format!("mode {mode:04o}")), "{err}");
            }
        }
    }
    chmod(&key, 0o600);
    drop(logc::Server::start(&dir, &[]));

    let other = t.path().join("other.key");
    std::fs::copy(&key, &other).unwrap();
    chmod(&other, 0o646);
    let o = Command::new(RGET)
        .args(["log", "init", "--origin", "secrets.example/log", "--key"])
        .arg(&other)
        .arg(t.path().join("log2"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_refused_as_writable(&o, &other);
    assert!(!t.path().join("log2/log.key").exists());

    let wdir = t.path().join("witness");
    assert_ok(
        &Command::new(RGET)
            .args(["witness", "init", "--name", "secrets.example/w"])
            .arg(&wdir)
            .output()
            .unwrap(),
    );
    let policy = t.path().join("policy");
    std::fs::write(&policy, format!("log {vkey}\nquorum none\n")).unwrap();
    let wkey = wdir.join("witness.key");
    chmod(&wkey, 0o660);
    let o = Command::new(RGET)
        .args(["witness", "serve"])
        .arg(&wdir)
        .args(["--listen", "127.0.0.1:0", "--policy"])
        .arg(&policy)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_refused_as_writable(&o, &wkey);
}

/// `rget release` refuses a secret key or a password file others can write, and a FIFO where the
/// key belongs (at once), before anything is logged; a password given through a pipe
/// (`--password-file /dev/stdin`) works.
#[test]
fn release_keys_and_password_files_others_can_write_are_refused() {
    let w = World::new();
    let dir = w.dir("dist");
    std::fs::write(dir.join("a.txt"), b"a\n").unwrap();
    let base = w.url("/secrets/");
    let release = |key: &Path, extra: &[&str]| {
        let mut c = w.command(&w.root);
        c.arg("release")
            .arg(&dir)
            .arg("--key")
            .arg(key)
            .args(["--url", &base, "--log", &w.log_url, "--policy"])
            .arg(&w.policy)
            .arg("--allow-http")
            .args(extra);
        c
    };
    let size = || text(&logc::get(&logc::agent(), &format!("{}/checkpoint", w.log.base)).body);
    let before = size();

    // An encrypted key and its password.
    let keys = w.dir("keys");
    let pw = keys.join("pw");
    std::fs::write(&pw, "correct horse\n").unwrap();
    chmod(&pw, 0o600);
    let o = Command::new(RGET)
        .args(["keygen", "-p", "k.pub", "-s", "k.key", "--password-file"])
        .arg(&pw)
        .current_dir(&keys)
        .output()
        .unwrap();
    assert_ok(&o);
    let key = keys.join("k.key");

    chmod(&key, 0o666);
    let o = release(&key, &["--password-file", pw.to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused_as_writable(&o, &key);
    chmod(&key, 0o600);
    chmod(&pw, 0o622);
    let o = release(&key, &["--password-file", pw.to_str().unwrap()])
        .output()
        .unwrap();
    assert_refused_as_writable(&o, &pw);
    assert_eq!(size(), before, "nothing was logged");

    let fifo = keys.join("fifo.key");
    mkfifo(&fifo);
    let start = Instant::now();
    let o = release(&fifo, &[]).output().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "waited on the FIFO"
    );
    assert_eq!(o.status.code(), Some(LOCAL_IO), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("is a FIFO, not a secret key"),
        "{}",
        text(&o.stderr)
    );

    // The password through a pipe.
    let mut c = release(&key, &["--password-file", "/dev/stdin"]);
    let o = output_with_stdin(&mut c, b"correct horse\n");
    assert_ok(&o);
    assert_ne!(size(), before, "released");
}

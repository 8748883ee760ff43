//! README.md's "Your first deployment", run as written: the shell block after the
//! `<!-- walkthrough` marker is taken from README.md when the test runs and executed with `sh -e`,
//! with the built `rget` first on PATH, in a fresh directory. The final `rget get` must succeed and
//! save the very file that was released, verified under a checkpoint both witnesses cosigned.
//!
//! What differs on loopback, and nothing else, is substituted; each pattern must occur in the block
//! (so an edit of the README that drops one fails here rather than silently running something else):
//! - `/srv/` becomes a directory inside the test's temporary directory;
//! - the listen addresses `127.0.0.1:7381`, `127.0.0.1:7382` and `127.0.0.1:8080` become free ports;
//! - the https origins `https://log.example.org`, `https://witness1.example.net`,
//!   `https://witness2.example.com` and `https://releases.example.org` become one TLS front on
//!   loopback (the test CA's certificate) that routes by first path segment, as the README's nginx
//!   front does: `/rget/` to the log, `/w1/` and `/w2/` to the witnesses, `/app/` to a web server
//!   whose document root is `/srv/www/app` (substituted as above). The front waits for a server the
//!   block just started in the background to listen, as the few seconds a person takes between two
//!   commands would.
//!
//! And in the environment, not the text: `HOME` (so `~` and `~/.config/rget`) inside the temporary
//! directory; `SSL_CERT_FILE` naming the test CA, which rget adds to its trusted roots (the log
//! reaching its witnesses, `rget release`, `rget get`); `RGET_PASSWORD`, which `rget keygen` and
//! `rget release` read in place of asking on the terminal.

use crate::common::https::{TestCa, TestServer};
use crate::common::relay::Relay;
use crate::common::{RGET, free_port, tempdir, text};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The marker that precedes the block in README.md.
const MARKER: &str = "<!-- walkthrough";

/// The shell code of the first ```sh block after [`MARKER`] in `readme`.
fn walkthrough_block(readme: &str) -> String {
    let after = readme
        .split_once(MARKER)
        .map(|(_, rest)| rest)
        .expect("README.md has a walkthrough marker");
    let start = after
        .find("```sh\n")
        .expect("a ```sh block after the marker")
        + "```sh\n".len();
    let len = after[start..].find("\n```").expect("the block ends");
    after[start..start + len + 1].to_owned()
}

/// The processes the block leaves running in the background: its process group, stopped with
/// SIGTERM (then SIGKILL) when the test ends, whatever happened.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0);
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }
}

#[test]
fn the_readme_first_deployment_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = walkthrough_block(&readme);

    let t = tempdir();
    let root = t.path();
    let (home, work, tmp) = (root.join("home"), root.join("work"), root.join("tmp"));
    for d in [&home, &work, &tmp] {
        std::fs::create_dir_all(d).unwrap();
    }
    let srv = root.join("srv");
    std::fs::create_dir_all(&srv).unwrap();

    // The web server of the releases: a document root the block copies into.
    let ca = TestCa::new();
    let web = TestServer::http();
    web.serve_dir_live("/app", &srv.join("www/app"));
    let (p_w1, p_w2, p_log) = (free_port(), free_port(), free_port());
    let front = Relay::front(&ca, Duration::from_secs(30));
    front.route("rget", Some(&format!("http://127.0.0.1:{p_log}")));
    front.route("w1", Some(&format!("http://127.0.0.1:{p_w1}")));
    front.route("w2", Some(&format!("http://127.0.0.1:{p_w2}")));
    front.route("app", Some(&web.url("/app")));
    let front_url = front.url("");

    let srv_prefix = format!("{}/", srv.display());
    let substitutions: Vec<(&str, String)> = vec![
        ("/srv/", srv_prefix),
        ("127.0.0.1:7381", format!("127.0.0.1:{p_w1}")),
        ("127.0.0.1:7382", format!("127.0.0.1:{p_w2}")),
        ("127.0.0.1:8080", format!("127.0.0.1:{p_log}")),
        ("https://log.example.org", front_url.clone()),
        ("https://witness1.example.net", front_url.clone()),
        ("https://witness2.example.com", front_url.clone()),
        ("https://releases.example.org", front_url.clone()),
    ];
    let mut script = block.clone();
    for (from, to) in &substitutions {
        assert!(
            script.contains(from),
            "the walkthrough no longer contains {from:?}: update the substitutions in {}",
            file!()
        );
        script = script.replace(from, to);
    }
    // Every URL now points at the front: nothing of the block reaches out of loopback.
    for url in script.split("https://").skip(1) {
        assert!(
            url.starts_with("127.0.0.1:"),
            "a URL left unsubstituted: https://{url}"
        );
    }
    std::fs::write(root.join("walkthrough.sh"), &script).unwrap();

    let bin_dir = Path::new(RGET).parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (out, err) = (root.join("stdout"), root.join("stderr"));
    let mut child = Command::new("sh")
        .arg("-e")
        .arg(root.join("walkthrough.sh"))
        .current_dir(&work)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &home)
        .env("TMPDIR", &tmp)
        .env("SSL_CERT_FILE", ca.pem_path())
        .env("RGET_PASSWORD", "walkthrough password")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .process_group(0)
        .spawn()
        .expect("run sh");
    let _group = Group(child.id());
    let limit = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < limit, "the walkthrough ran for over 300 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let read = |p: &Path| text(&std::fs::read(p).unwrap_or_default());
    let logs = format!(
        "script:\n{script}\nstdout:\n{}\nstderr:\n{}\nlog:\n{}\nwitness 1:\n{}\nwitness 2:\n{}",
        read(&out),
        read(&err),
        read(&srv.join("rget-log.err")),
        read(&srv.join("rget-witness1.err")),
        read(&srv.join("rget-witness2.err")),
    );
    assert!(status.success(), "sh -e stopped: {status}\n{logs}");

    // The file the last command saved is the file released, byte for byte.
    let got = std::fs::read(work.join("hello.sh")).expect("rget get saved hello.sh");
    assert_eq!(got, std::fs::read(work.join("dist/hello.sh")).unwrap());
    assert_eq!(got, b"#!/bin/sh\necho hello\n");
    // Its summary: verified under a checkpoint both witnesses cosigned, signed by the key the
    // block added for the prefix.
    let stderr = read(&err);
    let summary = stderr
        .split("rget: verified hello.sh")
        .nth(1)
        .unwrap_or_else(|| panic!("no summary of hello.sh\n{logs}"));
    let cosigned = summary
        .lines()
        .find(|l| l.trim_start().starts_with("cosigned"))
        .unwrap_or_else(|| panic!("no cosigned line\n{logs}"));
    assert!(
        cosigned.contains("witness1.example.net/w1")
            && cosigned.contains("witness2.example.com/w2"),
        "{cosigned}"
    );
    assert!(
        summary.contains("prefix https://127.0.0.1:"),
        "signed by the keys file's key:\n{summary}"
    );
}

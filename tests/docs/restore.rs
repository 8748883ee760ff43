//! The log restore of `docs/operations.md` ("Backup and restore") works as written: from a copy of
//! `public/` and the key, with `tree-state` written from the checkpoint by the guide's own command
//! line, the log starts at the published size and goes on appending; a copy whose entry bundles do
//! not cover its checkpoint is refused at start, naming the missing bundle.

use crate::common::log::{Server, agent, init_log, submit, sums};
use crate::common::{exit, run, stderr, tempdir};
use std::path::Path;
use std::process::Command;

/// The guide's two lines that write `tree-state` from the checkpoint, for the log in `dir`.
fn tree_state_command(dir: &Path) -> String {
    let guide =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md"))
            .unwrap();
    let lines: Vec<&str> = guide
        .lines()
        .filter(|l| {
            l.starts_with("cp=/srv/rget-log/") || l.starts_with("printf 'rget-log-state/v1")
        })
        .collect();
    assert_eq!(lines.len(), 2, "the guide's tree-state lines: {lines:?}");
    lines
        .join("\n")
        .replace("/srv/rget-log", dir.to_str().unwrap())
}

/// Copies what the guide restores (the key pair and `public/`) from `from` into `to`.
fn copy_backup(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["log.key", "log.pub"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
    let out = run(Command::new("cp")
        .arg("-a")
        .arg(from.join("public"))
        .arg(to));
    assert!(out.status.success(), "cp: {}", stderr(&out));
}

#[test]
fn a_log_restored_from_public_and_its_key_goes_on_at_the_published_size() {
    let tmp = tempdir();
    let t = tmp.path();
    let (dir, _) = init_log(t, "log.example.org/rget");
    let log = Server::start(&dir, &["--batch-delay", "5"]);
    let a = agent();
    for i in 0..3 {
        let url = format!("https://example.org/rel/v{i}/SHA256SUMS");
        assert_eq!(submit(&a, &log.base, &url, &sums(i)).status, 200);
    }
    let backup = t.join("backup");
    copy_backup(&dir, &backup);
    // The log goes on after the backup: a copy of only its newer checkpoint has tiles that do not
    // cover it, which the start must refuse rather than serve.
    assert_eq!(
        submit(
            &a,
            &log.base,
            "https://example.org/rel/v3/SHA256SUMS",
            &sums(3)
        )
        .status,
        200
    );
    let (status, err) = log.stop();
    assert!(status.success(), "{err}");

    let restored = t.join("restored");
    copy_backup(&backup, &restored);
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(tree_state_command(&restored)));
    assert!(out.status.success(), "{}", stderr(&out));
    let state = std::fs::read_to_string(restored.join("tree-state")).unwrap();
    assert!(
        state.starts_with("rget-log-state/v1\nsize 3\nroot "),
        "{state}"
    );

    let log = Server::start(&restored, &["--batch-delay", "5"]);
    let next = submit(
        &a,
        &log.base,
        "https://example.org/rel/v9/SHA256SUMS",
        &sums(9),
    );
    assert_eq!(next.status, 200, "{}", next.text());
    assert!(next.text().contains("\nindex 3\n"), "{}", next.text());
    let (status, err) = log.stop();
    assert!(status.success() && err.contains("tree_size=3"), "{err}");

    let torn = t.join("torn");
    copy_backup(&backup, &torn);
    std::fs::copy(
        dir.join("public/checkpoint"),
        torn.join("public/checkpoint"),
    )
    .unwrap();
    let out = run(Command::new("sh").arg("-c").arg(tree_state_command(&torn)));
    assert!(out.status.success(), "{}", stderr(&out));
    let refused = Server::try_spawn(&[
        "log".as_ref(),
        "serve".as_ref(),
        torn.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    let Err((status, err)) = refused else {
        panic!("a copy whose tiles do not cover its checkpoint was served");
    };
    // The entry bundle the checkpoint needs is not in the copy: named, exit 7.
    assert_eq!(status.code(), Some(exit::LOCAL_IO), "{err}");
    assert!(err.contains("tile/entries/000.p/4"), "{err}");
}

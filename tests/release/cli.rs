//! `rget keygen` and `rget release` with real processes: key files exchanged with minisign in both
//! directions (unencrypted and encrypted) — the `minisign` crate, and, ignored by default (`.ci/run`
//! runs them), the real `minisign` tool — a release recorded in a real `rget log serve` and then
//! downloaded with `rget get` over HTTPS, and the refusals, each of which must leave the release
//! directory exactly as it was.

use crate::common::exit::{LOCAL_IO, NETWORK, USAGE, VERIFICATION_FAILED};
use crate::common::minisign::Minisign;
use crate::common::{RGET, assert_ok, assert_one_line_refusal, listing, release, text};

use release::{Release, World, data};
use rget::core::note::SignerKey;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The password of every encrypted key in these tests.
const PASSWORD: &str = "correct horse battery staple";

/// Signs `file` with `sec` (`minisign -S`, password if any), then verifies it with `public`
/// (`minisign -V`).
fn minisign_sign_and_verify(
    m: Minisign,
    sec: &Path,
    public: &Path,
    file: &Path,
    password: Option<&str>,
) {
    m.sign(sec, file, password);
    m.verify(public, file);
}

/// `rget keygen ARGS` in `dir`, with `HOME` there too so nothing touches the real one.
fn keygen(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(RGET);
    c.arg("keygen")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", dir.join("home"))
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    c.output().expect("run rget keygen")
}

/// The release files of these tests.
fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("tool-2.0.tar.gz", data(200_000, 7)),
        ("install.sh", b"#!/bin/sh\necho 2.0\n".to_vec()),
    ]
}

/// A fresh release directory under the world's root holding `files`.
fn release_dir(w: &World, name: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = w.dir(name);
    for (n, b) in files {
        std::fs::write(dir.join(n), b).expect("write release file");
    }
    dir
}

/// `rget release DIR --key KEY --url BASE --log <log> --policy POLICY --state STATE --allow-http`,
/// with `extra` arguments and environment.
fn rget_release(
    w: &World,
    dir: &Path,
    key: &Path,
    base: &str,
    policy: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Output {
    release_command(w, dir, key, base, policy)
        .args(["--log", &w.log_url])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .expect("run rget release")
}

/// `rget release` as above, without `--log`.
fn release_command(w: &World, dir: &Path, key: &Path, base: &str, policy: &Path) -> Command {
    let mut c = w.command(&w.root);
    c.arg("release")
        .arg(dir)
        .arg("--key")
        .arg(key)
        .args(["--url", base, "--policy"])
        .arg(policy)
        .arg("--state")
        .arg(w.root.join("publisher-state"))
        .arg("--allow-http");
    c
}

/// A refusal: exit `code`, one line `rget: ...` naming `word`, nothing on stdout, and the
/// directory's entries exactly `before` (so no SHA256SUMS, signature, proof or temporary).
#[track_caller]
fn assert_refused(o: &Output, code: i32, word: &str, dir: &Path, before: &[String]) {
    assert_one_line_refusal(o, code, &[word]);
    assert_eq!(listing(dir), before, "the release directory changed");
}

// ---- keys: interchangeable with the `minisign` tool --------------------------------------------

#[test]
fn keygen_unencrypted_key_signs_with_the_minisign_crate() {
    keygen_unencrypted_key_signs_with(Minisign::Crate);
}

#[test]
#[ignore = "needs the minisign tool: see .ci/run"]
fn keygen_unencrypted_key_signs_with_the_minisign_tool() {
    keygen_unencrypted_key_signs_with(Minisign::Tool);
}

fn keygen_unencrypted_key_signs_with(m: Minisign) {
    let t = tempfile::tempdir().unwrap();
    let (public, sec) = (t.path().join("k.pub"), t.path().join("k.key"));
    let o = keygen(t.path(), &["-W", "-p", "k.pub", "-s", "k.key"], &[]);
    assert_ok(&o);
    let pub_text = std::fs::read_to_string(&public).unwrap();
    // Standard output is the public key line, as in the .pub file.
    assert_eq!(
        text(&o.stdout),
        pub_text.lines().nth(1).unwrap().to_owned() + "\n"
    );
    assert!(pub_text.starts_with("untrusted comment: minisign public key "));
    let mode = std::fs::metadata(&sec).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "secret key mode");
    let file = t.path().join("data");
    std::fs::write(&file, b"signed by a key from rget keygen\n").unwrap();
    minisign_sign_and_verify(m, &sec, &public, &file, None);
}

#[test]
fn keygen_encrypted_key_signs_with_the_minisign_crate() {
    keygen_encrypted_key_signs_with(Minisign::Crate);
}

#[test]
#[ignore = "needs the minisign tool: see .ci/run"]
fn keygen_encrypted_key_signs_with_the_minisign_tool() {
    keygen_encrypted_key_signs_with(Minisign::Tool);
}

fn keygen_encrypted_key_signs_with(m: Minisign) {
    let t = tempfile::tempdir().unwrap();
    let pw = t.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let o = keygen(
        t.path(),
        &["-p", "k.pub", "-s", "keys/k.key", "--password-file", "pw"],
        &[],
    );
    assert_ok(&o);
    let (public, sec) = (t.path().join("k.pub"), t.path().join("keys/k.key"));
    let file = t.path().join("data");
    std::fs::write(&file, b"signed by an encrypted key from rget keygen\n").unwrap();
    minisign_sign_and_verify(m, &sec, &public, &file, Some(PASSWORD));
    // The same key from $RGET_PASSWORD, into the default places (./minisign.pub, ~/.minisign/).
    let o = keygen(t.path(), &[], &[("RGET_PASSWORD", PASSWORD)]);
    assert_ok(&o);
    let home_key = t.path().join("home/.minisign/minisign.key");
    let dir_mode = std::fs::metadata(home_key.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "~/.minisign is private");
    minisign_sign_and_verify(
        m,
        &home_key,
        &t.path().join("minisign.pub"),
        &file,
        Some(PASSWORD),
    );
}

#[test]
fn keygen_refusals() {
    let t = tempfile::tempdir().unwrap();
    let o = keygen(t.path(), &["-W", "-p", "k.pub", "-s", "k.key"], &[]);
    assert_ok(&o);
    let before = (
        std::fs::read(t.path().join("k.pub")).unwrap(),
        std::fs::read(t.path().join("k.key")).unwrap(),
    );
    let cases: [(&[&str], &str); 3] = [
        // An existing key pair is never replaced without -f.
        (&["-W", "-p", "k.pub", "-s", "new.key"], "already exists"),
        (&["-W", "-p", "new.pub", "-s", "k.key"], "already exists"),
        // No password source and no terminal: fail at once rather than wait.
        (&["-p", "n.pub", "-s", "n.key"], "no password"),
    ];
    for (args, word) in cases {
        let o = keygen(t.path(), args, &[]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(USAGE), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(word), "{err}");
    }
    let after = (
        std::fs::read(t.path().join("k.pub")).unwrap(),
        std::fs::read(t.path().join("k.key")).unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(listing(t.path()), ["k.key", "k.pub"]);
    // -f replaces both.
    let o = keygen(t.path(), &["-f", "-W", "-p", "k.pub", "-s", "k.key"], &[]);
    assert_ok(&o);
    assert_ne!(std::fs::read(t.path().join("k.pub")).unwrap(), before.0);
}

/// The ID of a key whose little-endian u64 has a leading zero nibble is printed as minisign prints
/// it, without the zero, by `rget keygen` (stderr and the `.pub` comment) and by `rget release`
/// alike. One key in 16 has such an ID; keys are made until one has (300 tries miss with
/// probability 4e-9).
#[test]
fn a_key_id_with_a_leading_zero_is_printed_one_way_by_every_command() {
    use base64::Engine as _;
    let w = World::new();
    let t = w.dir("zero-id");
    let (public, sec) = (t.join("k.pub"), t.join("k.key"));
    let mut found = None;
    for _ in 0..300 {
        let o = keygen(&t, &["-f", "-W", "-p", "k.pub", "-s", "k.key"], &[]);
        assert_ok(&o);
        let line = text(&o.stdout);
        let blob = base64::engine::general_purpose::STANDARD
            .decode(line.trim_end())
            .unwrap();
        let id = u64::from_le_bytes(blob[2..10].try_into().unwrap());
        if id >> 60 == 0 {
            found = Some((id, text(&o.stderr)));
            break;
        }
    }
    let (id, keygen_err) = found.expect("a key ID with a leading zero nibble in 300 keys");
    let want = format!("{id:X}");
    assert!(want.len() < 16, "{want}");
    assert!(
        keygen_err.contains(&format!("(key ID {want})")),
        "{keygen_err}"
    );
    let pub_text = std::fs::read_to_string(&public).unwrap();
    assert!(
        pub_text.starts_with(&format!("untrusted comment: minisign public key {want}\n")),
        "{pub_text}"
    );
    assert_eq!(
        rget::core::minisig::PublicKey::parse(&pub_text)
            .unwrap()
            .key_id(),
        want
    );
    // rget release signs with it and names the same ID.
    let files = files();
    let dir = release_dir(&w, "dist-zero-id", &files);
    let o = rget_release(&w, &dir, &sec, &w.url("/zero"), &w.policy, &[], &[]);
    assert_ok(&o);
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("signed     by key ID {want} (")),
        "{err}"
    );
}

// ---- releases: end to end ----------------------------------------------------------------------

/// Serves a directory released by `rget release` at `prefix` on the world's HTTPS server.
fn serve(w: &World, prefix: &str, dir: &Path, files: &[(&str, Vec<u8>)]) -> Release {
    let rel = Release::written(prefix, dir, files, w.url(&format!("{prefix}/SHA256SUMS")));
    w.serve(&rel);
    rel
}

#[test]
fn release_with_a_minisign_crate_key_then_get_verifies() {
    release_with_a_minisign_key_then_get_verifies(Minisign::Crate);
}

#[test]
#[ignore = "needs the minisign tool: see .ci/run"]
fn release_with_a_minisign_tool_key_then_get_verifies() {
    release_with_a_minisign_key_then_get_verifies(Minisign::Tool);
}

fn release_with_a_minisign_key_then_get_verifies(m: Minisign) {
    let w = World::with_minisign(m);
    let files = files();
    let dir = release_dir(&w, "dist", &files);
    // Junk a publisher's directory may hold: never listed. Nor a Sigsum proof an earlier
    // `rget release --sigsum-…` left there (the release's own file, not a release file).
    std::fs::write(dir.join(".DS_Store"), b"junk").unwrap();
    std::fs::write(dir.join("SHA256SUMS.proof"), b"version=2\n").unwrap();
    // No final slash: rget adds it.
    let base = w.url("/v2");
    let o = rget_release(&w, &dir, &w.key_sec, &base, &w.policy, &["--json"], &[]);
    assert_ok(&o);
    let out = text(&o.stdout);
    assert_eq!(out.lines().count(), 1, "one JSON object: {out}");
    let sums_url = w.url("/v2/SHA256SUMS");
    for want in [
        "{\"released\":true,".to_owned(),
        format!("\"sums_url\":\"{sums_url}\""),
        "\"name\":\"install.sh\"".to_owned(),
        "\"trusted_comment\":\"timestamp:".to_owned(),
        // minisign's fields, then the URL this signature is bound to.
        format!("\\tfile:SHA256SUMS\\thashed\\turl:{sums_url}\""),
        format!("\"origin\":\"{}\"", release::ORIGIN),
    ] {
        assert!(out.contains(&want), "{want} in {out}");
    }
    assert_eq!(
        listing(&dir),
        [
            ".DS_Store",
            "SHA256SUMS",
            "SHA256SUMS.minisig",
            "SHA256SUMS.proof",
            "SHA256SUMS.tlog-proof",
            "install.sh",
            "tool-2.0.tar.gz"
        ]
    );
    // The list is what GNU sha256sum checks, sorted, hidden file and own files left out.
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["install.sh", "tool-2.0.tar.gz"]);
    let o = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&dir)
        .output()
        .expect("run sha256sum");
    assert_ok(&o);
    // minisign verifies the signature made with its own key.
    let said = m.verify(&w.key_pub, &dir.join("SHA256SUMS"));
    assert!(
        said.contains(&format!("file:SHA256SUMS\thashed\turl:{sums_url}")),
        "{said}"
    );

    // A user downloads a released file: SHA256SUMS, signature and log proof all check out.
    serve(&w, "/v2", &dir, &files);
    let state = w.dir("user-state");
    let dest = w.dir("dl").join("install.sh");
    let url = w.url("/v2/install.sh");
    let o = w
        .client(&state, &["get", &url, "-o", dest.to_str().unwrap()])
        .run();
    assert_ok(&o);
    assert_eq!(std::fs::read(&dest).unwrap(), files[1].1);
    let said = text(&o.stderr);
    assert!(said.contains("SHA256SUMS.tlog-proof"), "{said}");
    assert!(!said.contains("UNSIGNED"), "{said}");

    // Releasing the same files again is idempotent in the log: the same record, the same index.
    let first = std::fs::read(dir.join("SHA256SUMS.tlog-proof")).unwrap();
    let o = rget_release(&w, &dir, &w.key_sec, &base, &w.policy, &[], &[]);
    assert_ok(&o);
    assert!(o.stdout.is_empty());
    let index = |p: &[u8]| text(p).lines().nth(1).unwrap().to_owned();
    assert_eq!(
        index(&std::fs::read(dir.join("SHA256SUMS.tlog-proof")).unwrap()),
        index(&first)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap(),
        sums
    );
}

#[test]
fn release_with_encrypted_keys_from_the_minisign_crate_or_rget() {
    release_with_encrypted_keys_from(Minisign::Crate);
}

#[test]
#[ignore = "needs the minisign tool: see .ci/run"]
fn release_with_encrypted_keys_from_either_tool() {
    release_with_encrypted_keys_from(Minisign::Tool);
}

fn release_with_encrypted_keys_from(m: Minisign) {
    let w = World::new();
    let files = files();
    // A key encrypted by minisign (scrypt), password from $RGET_PASSWORD.
    let keys = w.dir("tool-keys");
    let (public, sec) = (keys.join("enc.pub"), keys.join("enc.key"));
    m.encrypted_keypair(&public, &sec, PASSWORD);
    let dir = release_dir(&w, "dist-tool", &files);
    let env = [("RGET_PASSWORD", PASSWORD)];
    let o = rget_release(&w, &dir, &sec, &w.url("/t/"), &w.policy, &[], &env);
    assert_ok(&o);
    m.verify(&public, &dir.join("SHA256SUMS"));

    // A key encrypted by rget keygen, password from --password-file.
    let pw = w.root.join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let pw_arg = pw.to_str().unwrap();
    let o = keygen(
        &keys,
        &[
            "-p",
            "rget.pub",
            "-s",
            "rget.key",
            "--password-file",
            pw_arg,
        ],
        &[],
    );
    assert_ok(&o);
    let dir = release_dir(&w, "dist-rget", &files);
    let extra = ["--password-file", pw_arg];
    let o = rget_release(
        &w,
        &dir,
        &keys.join("rget.key"),
        &w.url("/r/"),
        &w.policy,
        &extra,
        &[],
    );
    assert_ok(&o);
    m.verify(&keys.join("rget.pub"), &dir.join("SHA256SUMS"));
}

// ---- releases: refusals leave the directory as it was -----------------------------------------

#[test]
fn release_refusals_write_nothing() {
    let w = World::new();
    let files = files();
    let keys = w.dir("keys2");
    let pw = w.root.join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let o = keygen(
        &keys,
        &[
            "-p",
            "k.pub",
            "-s",
            "k.key",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        &[],
    );
    assert_ok(&o);
    let enc_key = keys.join("k.key");
    // A policy whose quorum the log cannot meet (it has no witness): its proof must be refused.
    let witness = SignerKey::generate("w1").unwrap();
    let wkey = rget::core::cosignature::verifier_key(&witness);
    let quorum_policy = w.root.join("policy-quorum");
    let policy_text = format!(
        "log {} {}\nwitness w1 {wkey}\nquorum w1\n",
        w.vkey, w.log_url
    );
    std::fs::write(&quorum_policy, policy_text).unwrap();
    let base = w.url("/refused/");

    // An old release in the directory stays exactly as it was.
    let dir = release_dir(&w, "dist", &files);
    std::fs::write(dir.join("SHA256SUMS"), b"old list\n").unwrap();
    let before = listing(&dir);
    let wrong = [("RGET_PASSWORD", "not the password")];
    let o = rget_release(&w, &dir, &enc_key, &base, &w.policy, &[], &wrong);
    assert_refused(&o, VERIFICATION_FAILED, "wrong password", &dir, &before);
    let o = rget_release(
        &w,
        &dir,
        &keys.join("absent.key"),
        &base,
        &w.policy,
        &[],
        &[],
    );
    assert_refused(&o, LOCAL_IO, "no such file", &dir, &before);
    let o = rget_release(&w, &dir, &enc_key, &base, &w.policy, &[], &[]);
    assert_refused(&o, USAGE, "no password", &dir, &before);
    let o = rget_release(
        &w,
        &dir,
        &w.key_sec,
        "http://example.org/rel/",
        &w.policy,
        &[],
        &[],
    );
    assert_refused(&o, USAGE, "--url", &dir, &before);
    let o = rget_release(&w, &dir, &w.key_sec, &base, &quorum_policy, &[], &[]);
    assert_refused(&o, VERIFICATION_FAILED, "quorum", &dir, &before);
    // The log is down.
    let down = format!("http://127.0.0.1:{}/", crate::common::free_port());
    let o = release_command(&w, &dir, &w.key_sec, &base, &w.policy)
        .args(["--log", &down])
        .output()
        .expect("run rget release");
    assert_refused(&o, NETWORK, "127.0.0.1", &dir, &before);
    assert_eq!(
        std::fs::read(dir.join("SHA256SUMS")).unwrap(),
        b"old list\n"
    );

    // Nothing to release: an empty directory, or one with only hidden files and old artifacts.
    let empty = w.dir("empty");
    std::fs::write(empty.join(".hidden"), b"x").unwrap();
    std::fs::write(empty.join("SHA256SUMS.minisig"), b"old").unwrap();
    let before = listing(&empty);
    let o = rget_release(&w, &empty, &w.key_sec, &base, &w.policy, &[], &[]);
    assert_refused(&o, USAGE, "no files", &empty, &before);

    // A subdirectory or a symbolic link is refused, not silently left out of the release.
    let nested = release_dir(&w, "nested", &files);
    std::fs::create_dir(nested.join("docs")).unwrap();
    let before = listing(&nested);
    let o = rget_release(&w, &nested, &w.key_sec, &base, &w.policy, &[], &[]);
    assert_refused(&o, USAGE, "is a directory", &nested, &before);
    let linked = release_dir(&w, "linked", &files);
    std::os::unix::fs::symlink("install.sh", linked.join("latest.sh")).unwrap();
    let before = listing(&linked);
    let o = rget_release(&w, &linked, &w.key_sec, &base, &w.policy, &[], &[]);
    assert_refused(&o, USAGE, "symbolic link", &linked, &before);
}

#[test]
fn help_teaches_with_examples() {
    for cmd in ["keygen", "release"] {
        let o = Command::new(RGET)
            .args([cmd, "--help"])
            .stdin(Stdio::null())
            .output()
            .expect("run rget --help");
        assert_ok(&o);
        let help = text(&o.stdout);
        assert!(help.contains("Examples:"), "{help}");
        assert!(help.contains("Exit codes:"), "{help}");
    }
    let o = Command::new(RGET)
        .args(["release", "--help"])
        .output()
        .expect("run rget release --help");
    assert!(
        text(&o.stdout).contains("quorum"),
        "the policy decides the witnesses"
    );
}
